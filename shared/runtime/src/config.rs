//! Configuration from flat environment variables, validated once at start. Every key has a
//! default that suits a local machine; one error names every key that is invalid.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

/// A value that must never reach a log line: `Debug` prints `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A 256-bit key (AES-256-GCM key-encryption keys): `Debug` prints `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// JSON lines: for Lambda, CloudWatch and any log shipper.
    Json,
    /// Human-readable lines for a terminal.
    Pretty,
}

/// Where carts and storefront idempotency records are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CartStore {
    /// Valkey at `VALKEY_URL` (the default).
    Valkey,
    /// The DynamoDB table `CARTS_TABLE` (on the AWS emulator at `AWS_ENDPOINT_URL` locally).
    DynamoDb,
}

/// Where the outbox is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventBus {
    /// RabbitMQ at `RABBITMQ_URL` (the local default).
    RabbitMq,
    /// SQS (the cloud's bus), e.g. on the AWS emulator at `AWS_ENDPOINT_URL`.
    Sqs,
    /// Nothing is published; events stay in the outbox.
    Off,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`: Postgres as the service logs in to it — the `kassa_service` role,
    /// which is no superuser, cannot bypass row-level security and owns nothing, e.g.
    /// `postgres://kassa_service@127.0.0.1:5432/kassa`.
    pub database_url: Secret,
    /// `DATABASE_OWNER_URL`: Postgres as the owner of the schema, for `kassa migrate` (and
    /// `kassa seed-bench`) only; never used to serve.
    pub database_owner_url: Secret,
    /// `DATABASE_MAX_CONNECTIONS`: pool size per process (keep it at 1–2 in Lambda).
    pub database_max_connections: u32,
    /// `VALKEY_URL`: Valkey (or Redis) for the response cache, rate limits and carts.
    pub valkey_url: Secret,
    /// `VALKEY_TIMEOUT_MS`: the longest a cache call may take before Kassa goes without it.
    pub valkey_timeout: Duration,
    /// `RABBITMQ_URL`: the local event bus.
    pub rabbitmq_url: Secret,
    /// `AWS_ENDPOINT_URL`: an AWS emulator for SQS/DynamoDB; unset in the cloud.
    pub aws_endpoint_url: Option<String>,
    /// `LOG_FORMAT`: `json` or `pretty`; JSON by default inside Lambda.
    pub log_format: LogFormat,
    /// `KASSA_LISTEN`: the address `kassa serve` binds.
    pub listen: SocketAddr,
    /// `TENANT_CACHE_TTL_SECS`: how long a resolved tenant (or an unknown one) is remembered.
    pub tenant_cache_ttl: Duration,
    /// `ZITADEL_ISSUER`: the Zitadel instance staff sign in at; its JWKS is
    /// `{issuer}/oauth/v2/keys`. Defaults to the local stand-in.
    pub zitadel_issuer: String,
    /// `ZITADEL_PROJECT_ID`: the Zitadel project of Kassa; access tokens must name it in `aud`.
    pub zitadel_project_id: String,
    /// `ZITADEL_PLATFORM_ORG_ID`: the organisation whose `platform_admin`s operate Kassa.
    pub zitadel_platform_org_id: String,
    /// `STOREFRONT_CACHE`: `on` (default) or `off` (every read from Postgres, e.g. to measure it).
    pub storefront_cache: bool,
    /// `STOREFRONT_CACHE_TTL_SECS`: how long a cached storefront answer lives at most.
    pub storefront_cache_ttl: Duration,
    /// `STOREFRONT_LOCAL_CACHE_MB`: bytes of storefront answers each process keeps in memory
    /// in front of Valkey (default 64 MiB; `0`: none, every read asks Valkey).
    pub storefront_local_cache_bytes: usize,
    /// `STOREFRONT_MISS_LIMIT`: storefront answers one client IP may have computed (cache
    /// misses) per `STOREFRONT_MISS_WINDOW_SECS`; beyond it a 429. `0` turns the limit off.
    pub storefront_miss_limit: u64,
    pub storefront_miss_window: Duration,
    /// `SIGN_IN_IP_LIMIT`: failed sign-ins (and wrong codes) one client IP may cause per 15
    /// minutes, over all accounts, before sign-in from it answers 429 (default 30). `0` turns
    /// the per-IP limit off (the per-account limit stays), e.g. for a fuzzer on loopback.
    pub sign_in_ip_limit: u64,
    /// `EVENT_BUS`: `rabbitmq` (default), `sqs` or `off`.
    pub event_bus: EventBus,
    /// `EVENTS_QUEUE_URL`: the SQS event queue. When set (in the cloud), a function publishes
    /// the events its request committed to it right after the commit, before it answers;
    /// the scheduled relay publishes whatever that fast path could not.
    pub events_queue_url: Option<String>,
    /// `CART_STORE`: `valkey` (default) or `dynamodb`: where carts and the storefront's
    /// Idempotency-Key records live.
    pub cart_store: CartStore,
    /// `CARTS_TABLE`: the DynamoDB table of carts and idempotency records (default `kassa-carts`).
    pub carts_table: String,
    /// `MEDIA_BUCKET`: the S3 bucket of product media (default `kassa-media`).
    pub media_bucket: String,
    /// `MEDIA_BASE_URL`: the public URL prefix of the bucket's objects, without a trailing
    /// slash (CloudFront in the cloud; outside Lambda defaults to the emulator's bucket URL).
    pub media_base_url: String,
    /// `SMTP_URL`: where workflow emails go, e.g. `smtp://127.0.0.1:1025` (the local sink,
    /// the default) or `smtps://user:password@email-smtp.eu-west-1.amazonaws.com`.
    pub smtp_url: Secret,
    /// `SMTP_FROM`: the sender of workflow emails.
    pub smtp_from: String,
    /// `WEBHOOK_PRIVATE_NETWORKS`: `deny` (default: workflow webhooks reach public
    /// addresses only) or `allow` (local development).
    pub webhook_private_networks: bool,
    /// `WORKFLOW_RETRY_BASE_MS`: a failed workflow step waits this long before its second
    /// attempt, doubling for each further one (at most 5 minutes).
    pub workflow_retry_base: Duration,
    /// `CUSTOMER_TOKEN_KEYS`: the keys that sign shoppers' access tokens, `kid=secret` pairs
    /// separated by commas (each secret at least 32 characters, no commas). The first signs;
    /// every one verifies, so a new key is rolled in first-but-one, promoted to first once
    /// every instance has it, and the old one dropped after the access-token lifetime —
    /// nobody is signed out. Outside Lambda a development key is the default.
    pub customer_token_keys: Vec<(String, Secret)>,
    /// `CUSTOMER_ACCESS_TOKEN_TTL_SECS`: how long a shopper's access token lives (default 900).
    pub customer_access_ttl: Duration,
    /// `CUSTOMER_REFRESH_TOKEN_TTL_DAYS`: how long a refresh token lives unused (default 30).
    pub customer_refresh_ttl: Duration,
    /// `PAYMENT_KEY_ENCRYPTION_KEYS`: the AES-256-GCM keys that encrypt shops' payment
    /// provider API keys at rest, `kid=<base64 of 32 bytes>` pairs separated by commas. The
    /// first encrypts; every one decrypts, so a new key goes first and the old one stays until
    /// every stored key was re-encrypted (README, "Payment settings"). Outside Lambda a
    /// development key is the default; inside Lambda it must be set.
    pub payment_key_encryption_keys: Vec<(String, SecretKey)>,
    /// `MOLLIE_API_URL`: Mollie's API base (default `https://api.mollie.com/v2`; the
    /// simulator's `http://127.0.0.1:9012/v2` locally).
    pub mollie_api_url: String,
    /// `PUBLIC_BASE_URL`: where the internet reaches this deployment's API (no trailing
    /// slash); Mollie's webhooks go to `{PUBLIC_BASE_URL}/webhooks/mollie/{shop}`. Default
    /// `http://127.0.0.1:8080` for `make dev`.
    pub public_base_url: String,
    /// `ADMIN_ORIGINS`: the browser origins (`scheme://host[:port]`, comma-separated) allowed
    /// to call `/management` from a page (CORS); default the local admin,
    /// `http://127.0.0.1:3000,http://localhost:3000`. The storefront answers any origin.
    pub admin_origins: Vec<String>,
}

/// Every invalid key at once, so an operator fixes them in one go.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {}", .0.join("; "))]
pub struct ConfigError(pub Vec<String>);

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads the configuration from any key → value source (the environment, a test's map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut errors = Vec::new();
        let get = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());
        let mut url = |key: &str, schemes: &[&str], default: &str| {
            let value = get(key).unwrap_or_else(|| default.to_owned());
            if !schemes.iter().any(|s| value.starts_with(&format!("{s}://"))) {
                errors.push(format!("{key} must be a URL starting with {}", schemes.join("://, ") + "://"));
            }
            Secret(value)
        };
        let database_url =
            url("DATABASE_URL", &["postgres", "postgresql"], "postgres://kassa_service@127.0.0.1:5432/kassa");
        let database_owner_url = url(
            "DATABASE_OWNER_URL",
            &["postgres", "postgresql"],
            "postgres://postgres@127.0.0.1:5432/kassa",
        );
        let valkey_url =
            url("VALKEY_URL", &["redis", "rediss", "valkey", "valkeys"], "redis://127.0.0.1:6379");
        let rabbitmq_url = url("RABBITMQ_URL", &["amqp", "amqps"], "amqp://guest:guest@127.0.0.1:5672/%2f");
        let smtp_url = url("SMTP_URL", &["smtp", "smtps"], "smtp://127.0.0.1:1025");
        let aws_endpoint_url = get("AWS_ENDPOINT_URL");
        if let Some(endpoint) = &aws_endpoint_url
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            errors.push("AWS_ENDPOINT_URL must be an http:// or https:// URL".to_owned());
        }
        let events_queue_url = get("EVENTS_QUEUE_URL");
        if let Some(queue) = &events_queue_url
            && !(queue.starts_with("http://") || queue.starts_with("https://"))
        {
            errors.push("EVENTS_QUEUE_URL must be an http:// or https:// URL".to_owned());
        }

        let mut parsed = |key: &str, default: &str, what: &str| -> Option<u64> {
            let raw = get(key).unwrap_or_else(|| default.to_owned());
            match raw.parse::<u64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    errors.push(format!("{key} must be {what}, got '{raw}'"));
                    None
                }
            }
        };
        let database_max_connections = parsed("DATABASE_MAX_CONNECTIONS", "5", "a positive whole number");
        let valkey_timeout_ms = parsed("VALKEY_TIMEOUT_MS", "50", "a positive number of milliseconds");
        let tenant_cache_ttl = parsed("TENANT_CACHE_TTL_SECS", "30", "a positive number of seconds");
        let storefront_cache_ttl = parsed("STOREFRONT_CACHE_TTL_SECS", "600", "a positive number of seconds");
        let workflow_retry_base_ms =
            parsed("WORKFLOW_RETRY_BASE_MS", "2000", "a positive number of milliseconds");
        let customer_access_ttl =
            parsed("CUSTOMER_ACCESS_TOKEN_TTL_SECS", "900", "a positive number of seconds");
        let customer_refresh_days =
            parsed("CUSTOMER_REFRESH_TOKEN_TTL_DAYS", "30", "a positive number of days");
        let miss_window = parsed("STOREFRONT_MISS_WINDOW_SECS", "60", "a positive number of seconds");
        let miss_limit_raw = get("STOREFRONT_MISS_LIMIT").unwrap_or_else(|| "600".to_owned());
        let storefront_miss_limit = miss_limit_raw.parse::<u64>().unwrap_or_else(|_| {
            errors.push(format!(
                "STOREFRONT_MISS_LIMIT must be a whole number (0: no limit), got '{miss_limit_raw}'"
            ));
            0
        });
        let local_cache_raw = get("STOREFRONT_LOCAL_CACHE_MB").unwrap_or_else(|| "64".to_owned());
        let storefront_local_cache_bytes = match local_cache_raw.parse::<usize>() {
            Ok(mb) if mb <= 65_536 => mb << 20,
            _ => {
                errors.push(format!(
                    "STOREFRONT_LOCAL_CACHE_MB must be a whole number of MiB up to 65536 (0: none), got '{local_cache_raw}'"
                ));
                0
            }
        };
        let ip_limit_raw = get("SIGN_IN_IP_LIMIT").unwrap_or_else(|| "30".to_owned());
        let sign_in_ip_limit = ip_limit_raw.parse::<u64>().unwrap_or_else(|_| {
            errors
                .push(format!("SIGN_IN_IP_LIMIT must be a whole number (0: no limit), got '{ip_limit_raw}'"));
            0
        });

        let in_lambda = get("AWS_LAMBDA_FUNCTION_NAME").is_some();
        let log_format = match get("LOG_FORMAT").as_deref() {
            None if in_lambda => LogFormat::Json,
            None => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some("pretty" | "text") => LogFormat::Pretty,
            Some(other) => {
                errors.push(format!("LOG_FORMAT must be 'json' or 'pretty', got '{other}'"));
                LogFormat::Pretty
            }
        };
        let customer_token_keys = match get("CUSTOMER_TOKEN_KEYS") {
            None if in_lambda => {
                errors.push("CUSTOMER_TOKEN_KEYS must be set (kid=secret pairs) inside Lambda".to_owned());
                Vec::new()
            }
            None => vec![("dev".to_owned(), Secret("kassa-development-only-customer-token-key".to_owned()))],
            Some(raw) => {
                let keys = parse_token_keys(&raw);
                if keys.is_none() {
                    errors.push(
                        "CUSTOMER_TOKEN_KEYS must be kid=secret pairs separated by commas, distinct \
                         kids of 1-32 letters, digits, '-' or '_', secrets of at least 32 characters"
                            .to_owned(),
                    );
                }
                keys.unwrap_or_default()
            }
        };
        let payment_key_encryption_keys = match get("PAYMENT_KEY_ENCRYPTION_KEYS") {
            None if in_lambda => {
                errors.push(
                    "PAYMENT_KEY_ENCRYPTION_KEYS must be set (kid=base64 key pairs) inside Lambda".to_owned(),
                );
                Vec::new()
            }
            None => vec![("dev".to_owned(), SecretKey(*b"kassa-development-only-kek-32byt"))],
            Some(raw) => {
                let keys = parse_encryption_keys(&raw);
                if keys.is_none() {
                    errors.push(
                        "PAYMENT_KEY_ENCRYPTION_KEYS must be kid=key pairs separated by commas, distinct \
                         kids of 1-32 letters, digits, '-' or '_', each key 32 bytes in standard base64"
                            .to_owned(),
                    );
                }
                keys.unwrap_or_default()
            }
        };
        // An http(s) URL with a host, kept without its trailing '/'.
        let mut web_url = |key: &str, default: &str| {
            let value = get(key).unwrap_or_else(|| default.to_owned()).trim_end_matches('/').to_owned();
            if reqwest::Url::parse(&value)
                .map_or(true, |url| !matches!(url.scheme(), "http" | "https") || url.host_str().is_none())
            {
                errors.push(format!("{key} must be an http(s) URL, got '{value}'"));
            }
            value
        };
        let mollie_api_url = web_url("MOLLIE_API_URL", "https://api.mollie.com/v2");
        let public_base_url = web_url("PUBLIC_BASE_URL", "http://127.0.0.1:8080");
        let admin_origins: Vec<String> = get("ADMIN_ORIGINS")
            .unwrap_or_else(|| "http://127.0.0.1:3000,http://localhost:3000".to_owned())
            .split(',')
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        for origin in &admin_origins {
            if !is_origin(origin) {
                errors.push(format!(
                    "ADMIN_ORIGINS must list origins like https://admin.example.com (no path), got '{origin}'"
                ));
            }
        }
        let zitadel_issuer = get("ZITADEL_ISSUER")
            .unwrap_or_else(|| "http://127.0.0.1:9011".to_owned())
            .trim_end_matches('/')
            .to_owned();
        if let Err(why) = check_issuer(&zitadel_issuer) {
            errors.push(format!("ZITADEL_ISSUER {why}, got '{zitadel_issuer}'"));
        }
        let zitadel_project_id = get("ZITADEL_PROJECT_ID").unwrap_or_else(|| "310000000000000010".to_owned());
        let zitadel_platform_org_id =
            get("ZITADEL_PLATFORM_ORG_ID").unwrap_or_else(|| "310000000000000001".to_owned());

        // A two-valued key: `(when false, when true)`; unset means `default`.
        let mut switch = |key: &str, (no, yes): (&str, &str), default: bool| match get(key).as_deref() {
            None => default,
            Some(v) if v == yes => true,
            Some(v) if v == no => false,
            Some(other) => {
                errors.push(format!("{key} must be '{yes}' or '{no}', got '{other}'"));
                default
            }
        };
        let storefront_cache = switch("STOREFRONT_CACHE", ("off", "on"), true);
        let webhook_private_networks = switch("WEBHOOK_PRIVATE_NETWORKS", ("deny", "allow"), false);

        let event_bus = match get("EVENT_BUS").as_deref() {
            None | Some("rabbitmq") => EventBus::RabbitMq,
            Some("sqs") => EventBus::Sqs,
            Some("off") => EventBus::Off,
            Some(other) => {
                errors.push(format!("EVENT_BUS must be 'rabbitmq', 'sqs' or 'off', got '{other}'"));
                EventBus::Off
            }
        };

        let cart_store = match get("CART_STORE").as_deref() {
            None | Some("valkey") => CartStore::Valkey,
            Some("dynamodb") => CartStore::DynamoDb,
            Some(other) => {
                errors.push(format!("CART_STORE must be 'valkey' or 'dynamodb', got '{other}'"));
                CartStore::Valkey
            }
        };
        let carts_table = get("CARTS_TABLE").unwrap_or_else(|| "kassa-carts".to_owned());
        if !(3..=255).contains(&carts_table.len())
            || !carts_table.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        {
            errors.push(format!("CARTS_TABLE must be a DynamoDB table name, got '{carts_table}'"));
        }

        let media_bucket = get("MEDIA_BUCKET").unwrap_or_else(|| "kassa-media".to_owned());
        if !(3..=63).contains(&media_bucket.len())
            || !media_bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b))
        {
            errors.push(format!("MEDIA_BUCKET must be an S3 bucket name, got '{media_bucket}'"));
        }
        let media_base_url = match get("MEDIA_BASE_URL") {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                url.trim_end_matches('/').to_owned()
            }
            Some(other) => {
                errors.push(format!("MEDIA_BASE_URL must be an http:// or https:// URL, got '{other}'"));
                String::new()
            }
            None if get("AWS_LAMBDA_FUNCTION_NAME").is_some() => {
                errors.push("MEDIA_BASE_URL is required inside Lambda".to_owned());
                String::new()
            }
            None => format!(
                "{}/{media_bucket}",
                aws_endpoint_url.as_deref().unwrap_or("http://127.0.0.1:4566").trim_end_matches('/')
            ),
        };

        let smtp_from = get("SMTP_FROM").unwrap_or_else(|| "Kassa <no-reply@kassa.localhost>".to_owned());
        if !smtp_from.contains('@') {
            errors.push(format!(
                "SMTP_FROM must be an address such as Shop <shop@example.com>, got '{smtp_from}'"
            ));
        }

        let listen_raw = get("KASSA_LISTEN").unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let listen = SocketAddr::from_str(&listen_raw).map_err(|_| {
            errors
                .push(format!("KASSA_LISTEN must be an address such as 127.0.0.1:8080, got '{listen_raw}'"));
        });

        match (
            database_max_connections,
            valkey_timeout_ms,
            tenant_cache_ttl,
            storefront_cache_ttl,
            workflow_retry_base_ms,
            listen,
        ) {
            (Some(max), Some(valkey_ms), Some(ttl), Some(cache_ttl), Some(retry_ms), Ok(listen))
                if errors.is_empty() =>
            {
                Ok(Config {
                    database_url,
                    database_owner_url,
                    database_max_connections: u32::try_from(max).unwrap_or(u32::MAX),
                    valkey_url,
                    valkey_timeout: Duration::from_millis(valkey_ms),
                    rabbitmq_url,
                    aws_endpoint_url,
                    log_format,
                    listen,
                    tenant_cache_ttl: Duration::from_secs(ttl),
                    zitadel_issuer,
                    zitadel_project_id,
                    zitadel_platform_org_id,
                    storefront_cache,
                    storefront_cache_ttl: Duration::from_secs(cache_ttl),
                    event_bus,
                    events_queue_url,
                    cart_store,
                    carts_table,
                    media_bucket,
                    media_base_url,
                    smtp_url,
                    smtp_from,
                    webhook_private_networks,
                    workflow_retry_base: Duration::from_millis(retry_ms),
                    storefront_miss_limit,
                    storefront_local_cache_bytes,
                    storefront_miss_window: Duration::from_secs(miss_window.unwrap_or(60)),
                    sign_in_ip_limit,
                    customer_token_keys,
                    customer_access_ttl: Duration::from_secs(customer_access_ttl.unwrap_or(900)),
                    customer_refresh_ttl: Duration::from_secs(
                        customer_refresh_days.unwrap_or(30).saturating_mul(86_400),
                    ),
                    payment_key_encryption_keys,
                    mollie_api_url,
                    public_base_url,
                    admin_origins,
                })
            }
            _ => Err(ConfigError(errors)),
        }
    }
}

/// `scheme://host[:port]` with scheme http or https and nothing after: what a browser sends
/// as `Origin`.
fn is_origin(raw: &str) -> bool {
    reqwest::Url::parse(raw).is_ok_and(|url| {
        matches!(url.scheme(), "http" | "https")
            && url.host_str().is_some()
            && url.origin().ascii_serialization() == raw
    })
}

impl Config {
    /// The user name and password of DATABASE_URL (percent-decoded).
    pub fn database_login(&self) -> Option<(String, Option<String>)> {
        let url = reqwest::Url::parse(self.database_url.expose()).ok()?;
        let user = percent_decode(url.username());
        Some((user, url.password().map(percent_decode)))
    }

    /// DATABASE_URL's password when it logs in as the service login
    /// ([`kassa_domain::db::SERVICE_ROLE`]): the one migrating sets.
    pub fn service_password(&self) -> Option<String> {
        match self.database_login()? {
            (user, Some(password)) if user == kassa_domain::db::SERVICE_ROLE => Some(password),
            _ => None,
        }
    }
}

/// `kid=secret,kid=secret`: distinct, well-formed kids and long enough secrets, or `None`.
fn parse_token_keys(raw: &str) -> Option<Vec<(String, Secret)>> {
    let mut keys: Vec<(String, Secret)> = Vec::new();
    for pair in raw.split(',') {
        let (kid, secret) = pair.trim().split_once('=')?;
        let kid_ok = (1..=32).contains(&kid.len())
            && kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !kid_ok || secret.len() < 32 || keys.iter().any(|(k, _)| k == kid) {
            return None;
        }
        keys.push((kid.to_owned(), Secret(secret.to_owned())));
    }
    (!keys.is_empty()).then_some(keys)
}

/// `kid=base64,kid=base64`: distinct, well-formed kids, each key exactly 32 bytes.
fn parse_encryption_keys(raw: &str) -> Option<Vec<(String, SecretKey)>> {
    use base64::Engine;
    let mut keys: Vec<(String, SecretKey)> = Vec::new();
    for pair in raw.split(',') {
        let (kid, encoded) = pair.trim().split_once('=')?;
        let kid_ok = (1..=32).contains(&kid.len())
            && kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let key: [u8; 32] =
            base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?.try_into().ok()?;
        if !kid_ok || keys.iter().any(|(k, _)| k == kid) {
            return None;
        }
        keys.push((kid.to_owned(), SecretKey(key)));
    }
    (!keys.is_empty()).then_some(keys)
}

fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An issuer is an `https://` URL, or `http://` on a loopback host (the local stand-in):
/// plain HTTP elsewhere would let anyone on the path swap the signing keys.
fn check_issuer(issuer: &str) -> Result<(), &'static str> {
    let url = reqwest::Url::parse(issuer).map_err(|_| "must be an http(s) URL")?;
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let host = url.host_str().unwrap_or_default();
            let loopback = host.eq_ignore_ascii_case("localhost")
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if loopback { Ok(()) } else { Err("must be https:// unless it is on a loopback address") }
        }
        _ => Err("must be an http(s) URL"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        Config::from_lookup(|key| vars.get(key).cloned())
    }

    #[test]
    fn defaults_suit_a_local_machine() {
        let config = config(&[]).unwrap();
        assert_eq!(config.database_url.expose(), "postgres://kassa_service@127.0.0.1:5432/kassa");
        assert_eq!(config.database_owner_url.expose(), "postgres://postgres@127.0.0.1:5432/kassa");
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert_eq!(config.valkey_timeout, Duration::from_millis(50));
        assert_eq!(config.aws_endpoint_url, None);
        assert_eq!(config.sign_in_ip_limit, 30);
    }

    #[test]
    fn the_per_ip_sign_in_limit_can_be_turned_off_with_zero() {
        assert_eq!(config(&[("SIGN_IN_IP_LIMIT", "0")]).unwrap().sign_in_ip_limit, 0);
        let err = config(&[("SIGN_IN_IP_LIMIT", "lots")]).unwrap_err();
        assert!(err.to_string().contains("SIGN_IN_IP_LIMIT"), "{err}");
    }

    #[test]
    fn admin_origins_are_bare_origins() {
        let origins = config(&[("ADMIN_ORIGINS", "https://admin.example.com, http://127.0.0.1:3000")])
            .unwrap()
            .admin_origins;
        assert_eq!(origins, ["https://admin.example.com", "http://127.0.0.1:3000"]);
        for bad in
            ["https://admin.example.com/", "admin.example.com", "https://a.example.com/x", "*", "ftp://a.b"]
        {
            let err = config(&[("ADMIN_ORIGINS", bad)]).unwrap_err();
            assert!(err.to_string().contains("ADMIN_ORIGINS"), "{bad}: {err}");
        }
    }

    #[test]
    fn logs_are_json_inside_lambda() {
        let key = ("CUSTOMER_TOKEN_KEYS", "k1=0123456789abcdef0123456789abcdef");
        let kek = ("PAYMENT_KEY_ENCRYPTION_KEYS", "k1=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=");
        let media = ("MEDIA_BASE_URL", "https://d111111abcdef8.cloudfront.net/");
        let config = config(&[("AWS_LAMBDA_FUNCTION_NAME", "storefront"), key, kek, media]).unwrap();
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.media_base_url, "https://d111111abcdef8.cloudfront.net", "no trailing slash");
    }

    #[test]
    fn the_media_url_defaults_to_the_emulators_bucket_outside_lambda_only() {
        let local = config(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/"), ("MEDIA_BUCKET", "shop-media")])
            .unwrap();
        assert_eq!(local.media_base_url, "http://127.0.0.1:4566/shop-media");
        let err = config(&[("AWS_LAMBDA_FUNCTION_NAME", "storefront")]).unwrap_err();
        assert!(err.to_string().contains("MEDIA_BASE_URL"), "{err}");
        let err = config(&[("MEDIA_BASE_URL", "cdn.example"), ("MEDIA_BUCKET", "No_Bucket")]).unwrap_err();
        assert!(
            err.to_string().contains("MEDIA_BASE_URL") && err.to_string().contains("MEDIA_BUCKET"),
            "{err}"
        );
    }

    #[test]
    fn inside_lambda_customer_token_keys_have_no_default() {
        let err = config(&[("AWS_LAMBDA_FUNCTION_NAME", "storefront")]).unwrap_err();
        assert!(err.to_string().contains("CUSTOMER_TOKEN_KEYS"), "{err}");
    }

    #[test]
    fn customer_token_keys_are_kid_secret_pairs_the_first_signing() {
        let long = "0123456789abcdef0123456789abcdef";
        let keys = config(&[("CUSTOMER_TOKEN_KEYS", &format!("new={long}x, old={long}"))])
            .unwrap()
            .customer_token_keys;
        assert_eq!(keys.iter().map(|(kid, _)| kid.as_str()).collect::<Vec<_>>(), ["new", "old"]);
        assert_eq!(keys[0].1.expose(), format!("{long}x"));
        for bad in [
            "nokid".to_owned(),
            format!("k1={}", &long[..31]),
            format!("k1={long},k1={long}"),
            format!("bad kid={long}"),
            format!("k1={long},"),
        ] {
            let err = config(&[("CUSTOMER_TOKEN_KEYS", &bad)]).unwrap_err();
            assert!(err.to_string().contains("CUSTOMER_TOKEN_KEYS"), "{bad}: {err}");
        }
    }

    #[test]
    fn payment_key_encryption_keys_are_kid_and_32_base64_bytes_the_first_encrypting() {
        use base64::Engine;
        let b64 = |byte: u8| base64::engine::general_purpose::STANDARD.encode([byte; 32]);
        let keys = config(&[("PAYMENT_KEY_ENCRYPTION_KEYS", &format!("k2={}, k1={}", b64(2), b64(1)))])
            .unwrap()
            .payment_key_encryption_keys;
        assert_eq!(keys.iter().map(|(kid, _)| kid.as_str()).collect::<Vec<_>>(), ["k2", "k1"]);
        assert_eq!(keys[0].1.expose(), &[2u8; 32]);
        let short = base64::engine::general_purpose::STANDARD.encode([1u8; 31]);
        for bad in [
            "nokid".to_owned(),
            format!("k1={short}"),
            "k1=not base64!".to_owned(),
            format!("k1={},k1={}", b64(1), b64(2)),
            format!("bad kid={}", b64(1)),
        ] {
            let err = config(&[("PAYMENT_KEY_ENCRYPTION_KEYS", &bad)]).unwrap_err();
            assert!(err.to_string().contains("PAYMENT_KEY_ENCRYPTION_KEYS"), "{bad}: {err}");
            assert!(!err.to_string().contains(&b64(1)), "the error repeats no key: {err}");
        }
        assert!(!format!("{keys:?}").contains("2, 2"), "keys are redacted in Debug");
        assert_eq!(config(&[]).unwrap().payment_key_encryption_keys.len(), 1, "a development default");
        let err = config(&[
            ("AWS_LAMBDA_FUNCTION_NAME", "checkout"),
            ("CUSTOMER_TOKEN_KEYS", "k1=0123456789abcdef0123456789abcdef"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("PAYMENT_KEY_ENCRYPTION_KEYS"), "{err}");
    }

    #[test]
    fn mollie_api_url_defaults_to_mollie_and_must_be_http() {
        assert_eq!(config(&[]).unwrap().mollie_api_url, "https://api.mollie.com/v2");
        let sim = config(&[("MOLLIE_API_URL", "http://127.0.0.1:9012/v2/")]).unwrap();
        assert_eq!(sim.mollie_api_url, "http://127.0.0.1:9012/v2");
        for bad in ["api.mollie.com", "ftp://x/v2"] {
            let err = config(&[("MOLLIE_API_URL", bad)]).unwrap_err();
            assert!(err.to_string().contains("MOLLIE_API_URL"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_events_queue_is_unset_by_default_and_must_be_an_http_url() {
        assert_eq!(config(&[]).unwrap().events_queue_url, None);
        let queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/kassa-events.fifo";
        assert_eq!(config(&[("EVENTS_QUEUE_URL", queue)]).unwrap().events_queue_url.as_deref(), Some(queue));
        let err = config(&[("EVENTS_QUEUE_URL", "kassa-events.fifo")]).unwrap_err();
        assert!(err.to_string().contains("EVENTS_QUEUE_URL"), "{err}");
    }

    #[test]
    fn one_error_names_every_invalid_key() {
        let err = config(&[
            ("DATABASE_URL", "mysql://x"),
            ("VALKEY_URL", "http://x"),
            ("LOG_FORMAT", "xml"),
            ("KASSA_LISTEN", "everywhere"),
            ("DATABASE_MAX_CONNECTIONS", "0"),
            ("AWS_ENDPOINT_URL", "localhost:4566"),
            ("ZITADEL_ISSUER", "zitadel.example"),
        ])
        .unwrap_err();
        let message = err.to_string();
        for key in [
            "DATABASE_URL",
            "VALKEY_URL",
            "LOG_FORMAT",
            "KASSA_LISTEN",
            "DATABASE_MAX_CONNECTIONS",
            "AWS_ENDPOINT_URL",
            "ZITADEL_ISSUER",
        ] {
            assert!(message.contains(key), "{key} missing from: {message}");
        }
        assert_eq!(err.0.len(), 7);
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let config = config(&[
            ("DATABASE_URL", "postgres://kassa:hunter2@db/kassa"),
            ("VALKEY_URL", "rediss://:s3cret@cache:6379"),
            ("RABBITMQ_URL", "amqp://u:pa55@mq/%2f"),
        ])
        .unwrap();
        let debug = format!("{config:?}");
        for secret in ["hunter2", "s3cret", "pa55"] {
            assert!(!debug.contains(secret), "{secret} leaked: {debug}");
        }
        assert!(debug.contains("[redacted]"));
    }

    #[test]
    fn a_plain_http_issuer_is_refused_unless_it_is_on_loopback() {
        for ok in
            ["https://zitadel.example", "http://127.0.0.1:9011", "http://localhost:8081", "http://[::1]:9011"]
        {
            assert!(config(&[("ZITADEL_ISSUER", ok)]).is_ok(), "{ok} refused");
        }
        for bad in ["http://zitadel.example", "http://10.0.0.5:8080", "http://127.0.0.1.nip.io", "ftp://x"] {
            let err = config(&[("ZITADEL_ISSUER", bad)]).unwrap_err().to_string();
            assert!(err.contains("ZITADEL_ISSUER"), "{bad} accepted: {err}");
        }
    }
}

//! Staff authentication against a real JWKS served over HTTP: every forged, stale or
//! misdirected token is refused with a problem body before any handler runs, and the JWKS
//! is fetched sparingly.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use http::StatusCode;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use kassa_domain::access::Action;
use kassa_http::auth::Authenticator;
use kassa_http::openapi::Doc;
use kassa_http::state::AppState;
use kassa_http::tenancy::TenantResolver;
use kassa_http::valkey::Valkey;
use kassa_http::{Access, FunctionRoutes, Staff, Verb};
use kassa_testkit::issuer::{Issuer, KEY_A, KEY_B, KEY_EC, PLATFORM_ORG, RSA_A_PUBLIC_PEM, now};
use kassa_testkit::{TestApp, TestResponse};
use serde_json::json;
use sqlx::PgPool;

/// A staff app with a read route (any member) and a write route (catalog:write), both
/// counting the requests that reach them.
struct AuthApp {
    app: TestApp,
    issuer: Issuer,
    reached: Arc<AtomicUsize>,
}

async fn auth_app(pool: PgPool, refetch_interval: Duration) -> AuthApp {
    let issuer = Issuer::start().await;
    let config = issuer.config();
    let valkey = Valkey::new(config.valkey_url.expose(), config.valkey_timeout).unwrap();
    let tenants = TenantResolver::new(config.tenant_cache_ttl);
    let auth = Authenticator::with_refetch_interval(&config, refetch_interval).unwrap();
    let state = AppState::from_parts(config, kassa_testkit::service_pool(&pool), valkey, tenants, auth);
    let reached = Arc::new(AtomicUsize::new(0));
    let (read, write) = (reached.clone(), reached.clone());
    let routes = move |state: AppState| -> Router {
        let read_doc = Doc::new("read", "a read");
        let write_doc = Doc::new("write", "a catalog write");
        FunctionRoutes::new("test")
            .staff(Verb::Get, "/management/read", Access::Member, read_doc, move |staff: Staff| async move {
                read.fetch_add(1, Ordering::SeqCst);
                staff.user.user_id.clone()
            })
            .staff(
                Verb::Post,
                "/management/write",
                Access::Allowed(Action::CatalogWrite),
                write_doc,
                move |_: Staff| async move {
                    write.fetch_add(1, Ordering::SeqCst);
                    "written"
                },
            )
            .into_router(state)
    };
    let app = TestApp::with_state(pool, state, routes);
    app.tenant("demo").await;
    app.tenant("other").await;
    AuthApp { app, issuer, reached }
}

impl AuthApp {
    /// `GET /management/read`, or `POST /management/write`, as the demo shop.
    async fn call(&self, path: &str, authorization: Option<&str>) -> TestResponse {
        let method = if path.ends_with("/write") { http::Method::POST } else { http::Method::GET };
        let mut request = http::Request::builder().method(method).uri(path).header("x-tenant-id", "demo");
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        self.app.send(request.body(axum::body::Body::empty()).unwrap()).await
    }

    async fn with_token(&self, path: &str, token: &str) -> TestResponse {
        self.call(path, Some(&format!("Bearer {token}"))).await
    }

    fn reached(&self) -> usize {
        self.reached.load(Ordering::SeqCst)
    }
}

/// Asserts a 401 `invalid_token` problem with an RFC 6750 challenge.
fn assert_invalid_token(response: &TestResponse, case: &str) {
    assert_eq!(
        response.status,
        StatusCode::UNAUTHORIZED,
        "{case}: {:?}",
        String::from_utf8_lossy(&response.body)
    );
    response.problem(StatusCode::UNAUTHORIZED, "invalid_token");
    let challenge = response.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with(r#"Bearer realm="kassa", error="invalid_token""#), "{case}: {challenge}");
}

/// base64url without padding, as JWTs use.
fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_valid_token_with_a_role_in_the_shops_organisation_is_let_through(pool: PgPool) {
    let t = auth_app(pool, Duration::from_secs(30)).await;
    let response =
        t.with_token("/management/read", &t.issuer.token("user-1", &[("viewer", "org-demo")])).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body, b"user-1");
    // ES256 keys work as well as RS256 ones.
    let es = t.issuer.sign(KEY_EC, &t.issuer.claims("user-2", &[("editor", "org-demo")]));
    let response = t.with_token("/management/write", &es).await;
    assert_eq!(response.status, StatusCode::OK, "{:?}", String::from_utf8_lossy(&response.body));
    assert_eq!(t.reached(), 2);
    assert_eq!(t.issuer.fetches(), 1, "one JWKS fetch serves both keys");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_request_without_a_token_is_challenged(pool: PgPool) {
    let t = auth_app(pool, Duration::from_secs(30)).await;
    let response = t.call("/management/read", None).await;
    response.problem(StatusCode::UNAUTHORIZED, "missing_token");
    assert_eq!(response.header("www-authenticate"), Some(r#"Bearer realm="kassa""#));
    assert_eq!(t.reached(), 0);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn forged_stale_and_misdirected_tokens_are_refused_before_any_handler(pool: PgPool) {
    let t = auth_app(pool, Duration::from_secs(30)).await;
    let i = &t.issuer;
    let grants = [("owner", "org-demo")];
    let with = |change: &dyn Fn(&mut serde_json::Value)| {
        let mut claims = i.claims("user-1", &grants);
        change(&mut claims);
        i.sign(KEY_A, &claims)
    };
    let valid = i.token("user-1", &grants);
    let (header, payload, signature) = {
        let parts: Vec<&str> = valid.split('.').collect();
        (parts[0].to_owned(), parts[1].to_owned(), parts[2].to_owned())
    };

    // Malformed Authorization headers.
    for value in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "Token abc"] {
        assert_invalid_token(&t.call("/management/read", Some(value)).await, value);
    }

    let mut cases: Vec<(&str, String)> = vec![
        ("garbage", "garbage".into()),
        ("three garbage parts", "abc.def.ghi".into()),
        ("expired beyond the leeway", with(&|c| c["exp"] = json!(now() - 120))),
        ("not valid before a future nbf", with(&|c| c["nbf"] = json!(now() + 300))),
        ("another issuer", with(&|c| c["iss"] = json!("https://evil.example"))),
        ("another audience", with(&|c| c["aud"] = json!(["some-other-project"]))),
        ("no audience", with(&|c| drop(c.as_object_mut().unwrap().remove("aud")))),
        ("no expiry", with(&|c| drop(c.as_object_mut().unwrap().remove("exp")))),
        ("unknown kid", i.sign(KEY_B, &i.claims("user-1", &grants))),
    ];
    // alg none: an unsigned token naming a real key.
    let none_header = b64(br#"{"alg":"none","typ":"JWT","kid":"key-a"}"#);
    cases.push(("alg none", format!("{none_header}.{payload}.")));
    // Algorithm confusion: HS256 "signed" with the RSA public key's bytes.
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(KEY_A.to_owned());
    let confused =
        jsonwebtoken::encode(&hs, &i.claims("user-1", &grants), &EncodingKey::from_secret(RSA_A_PUBLIC_PEM))
            .unwrap();
    cases.push(("HS256 with the public key as secret", confused));
    // The payload changed after signing (a viewer making themselves owner elsewhere).
    let tampered_claims = i.claims("user-1", &[("owner", "org-demo"), ("owner", "org-other")]);
    let tampered = b64(&serde_json::to_vec(&tampered_claims).unwrap());
    cases.push(("tampered payload", format!("{header}.{tampered}.{signature}")));
    cases.push(("signature removed", format!("{header}.{payload}.")));

    for (case, token) in &cases {
        assert_invalid_token(&t.with_token("/management/read", token).await, case);
    }
    assert_eq!(t.reached(), 0, "no refused request reached a handler");
    // The first token with a kid fetched the JWKS; the unknown kid came within the refetch
    // interval, so it fetched nothing more (a_rotated_key_… shows the refetch after it).
    assert_eq!(t.issuer.fetches(), 1);

    // Inside the 60 s leeway an expired token still passes; the same valid token works.
    assert_eq!(
        t.with_token("/management/read", &with(&|c| c["exp"] = json!(now() - 30))).await.status,
        StatusCode::OK
    );
    assert_eq!(t.with_token("/management/read", &valid).await.status, StatusCode::OK);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn roles_granted_in_another_organisation_do_not_open_this_shop(pool: PgPool) {
    let t = auth_app(pool, Duration::from_secs(30)).await;
    let elsewhere = t.issuer.token("user-1", &[("owner", "org-other"), ("platform_admin", PLATFORM_ORG)]);
    let response = t.with_token("/management/read", &elsewhere).await;
    let problem = response.problem(StatusCode::FORBIDDEN, "tenant_access_denied");
    assert_eq!(problem["detail"], "you hold no role in shop 'demo'");

    // A platform_admin role granted in the shop's own org is still no shop role.
    let odd = t.issuer.token("user-1", &[("platform_admin", "org-demo")]);
    t.with_token("/management/read", &odd).await.problem(StatusCode::FORBIDDEN, "tenant_access_denied");
    assert_eq!(t.reached(), 0);

    // A grant in the shop's org opens it, whatever the user's home org is.
    let guest = t.issuer.token("user-1", &[("owner", "org-other"), ("viewer", "org-demo")]);
    assert_eq!(t.with_token("/management/read", &guest).await.status, StatusCode::OK);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_viewer_cannot_write_and_an_editor_can(pool: PgPool) {
    let t = auth_app(pool, Duration::from_secs(30)).await;
    let viewer = t.issuer.token("viewer-1", &[("viewer", "org-demo")]);
    let response = t.with_token("/management/write", &viewer).await;
    let problem = response.problem(StatusCode::FORBIDDEN, "insufficient_role");
    assert!(problem["detail"].as_str().unwrap().contains("catalog:write"), "{problem}");
    assert_eq!(t.reached(), 0);

    let editor = t.issuer.token("editor-1", &[("editor", "org-demo")]);
    assert_eq!(t.with_token("/management/write", &editor).await.status, StatusCode::OK);
    assert_eq!(t.reached(), 1);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn roles_from_another_zitadel_project_in_the_generic_claim_grant_nothing(pool: PgPool) {
    let t = auth_app(pool, Duration::from_secs(30)).await;
    // A token requested for another project of the same Zitadel instance carries that
    // project's roles in the generic claim (and Kassa's project in `aud` if it asked for it).
    let mut claims = t.issuer.claims("intruder", &[]);
    claims["urn:zitadel:iam:org:project:roles"] = json!({"owner": {"org-demo": "demo.zitadel.test"}});
    let token = t.issuer.sign(KEY_A, &claims);
    t.with_token("/management/read", &token).await.problem(StatusCode::FORBIDDEN, "tenant_access_denied");
    t.with_token("/management/write", &token).await.problem(StatusCode::FORBIDDEN, "tenant_access_denied");
    assert_eq!(t.reached(), 0);

    // The project's own claim still counts, and a stray generic claim beside it adds nothing.
    claims["urn:zitadel:iam:org:project:test-project-1:roles"] =
        json!({"viewer": {"org-demo": "demo.zitadel.test"}});
    let viewer = t.issuer.sign(KEY_A, &claims);
    assert_eq!(t.with_token("/management/read", &viewer).await.status, StatusCode::OK);
    t.with_token("/management/write", &viewer).await.problem(StatusCode::FORBIDDEN, "insufficient_role");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_jwks_emptied_by_an_attacker_or_outage_keeps_the_known_keys(pool: PgPool) {
    let t = auth_app(pool, Duration::from_millis(100)).await;
    let valid = t.issuer.token("u", &[("owner", "org-demo")]);
    assert_eq!(t.with_token("/management/read", &valid).await.status, StatusCode::OK);
    t.issuer.withdraw_all();
    tokio::time::sleep(Duration::from_millis(150)).await;
    // An unknown kid makes Kassa refetch; the answer has no usable key.
    let unknown = t.issuer.sign(KEY_B, &t.issuer.claims("u", &[("owner", "org-demo")]));
    assert_invalid_token(&t.with_token("/management/read", &unknown).await, "JWKS empty");
    assert_eq!(t.issuer.fetches(), 2, "the refetch was made");
    assert_eq!(t.with_token("/management/read", &valid).await.status, StatusCode::OK);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_rotated_key_is_accepted_after_the_refetch(pool: PgPool) {
    let t = auth_app(pool, Duration::from_millis(200)).await;
    let grants = [("owner", "org-demo")];
    assert_eq!(t.with_token("/management/read", &t.issuer.token("u", &grants)).await.status, StatusCode::OK);
    let rotated = t.issuer.sign(KEY_B, &t.issuer.claims("u", &grants));
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_invalid_token(&t.with_token("/management/read", &rotated).await, "not yet published");

    t.issuer.publish(KEY_B);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(t.with_token("/management/read", &rotated).await.status, StatusCode::OK);
    assert_eq!(t.issuer.fetches(), 3);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_failed_refetch_keeps_serving_the_cached_keys(pool: PgPool) {
    let t = auth_app(pool, Duration::from_millis(100)).await;
    let valid = t.issuer.token("u", &[("owner", "org-demo")]);
    assert_eq!(t.with_token("/management/read", &valid).await.status, StatusCode::OK);
    t.issuer.set_failing(true);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let unknown = t.issuer.sign(KEY_B, &t.issuer.claims("u", &[("owner", "org-demo")]));
    assert_invalid_token(&t.with_token("/management/read", &unknown).await, "refetch failed");
    assert_eq!(t.issuer.fetches(), 2, "the refetch was tried");
    assert_eq!(t.with_token("/management/read", &valid).await.status, StatusCode::OK);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_flood_of_random_kids_fetches_the_jwks_at_most_once_per_30_seconds(pool: PgPool) {
    let t = Arc::new(auth_app(pool, Duration::from_secs(30)).await);
    let claims = t.issuer.claims("attacker", &[("owner", "org-demo")]);
    // Forged tokens: a real signature but a kid nobody published.
    let template = t.issuer.sign(KEY_A, &claims);
    let rest = template.split_once('.').unwrap().1.to_owned();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..1_000 {
        let t = t.clone();
        let header = b64(format!(r#"{{"alg":"RS256","typ":"JWT","kid":"forged-{n}"}}"#).as_bytes());
        let token = format!("{header}.{rest}");
        tasks.spawn(async move { t.with_token("/management/read", &token).await.status });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(t.issuer.fetches(), 1, "1,000 unknown kids, one JWKS fetch");
    assert_eq!(t.reached(), 0);
}

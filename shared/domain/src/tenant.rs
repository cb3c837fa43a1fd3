//! Tenants (shops): creation, domains and the one cross-tenant lookup that resolves a
//! request's tenant.

use std::fmt;

use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::ErrorCode;
use crate::currency::Currency;
use crate::db::begin_tenant_tx;
use crate::error::{Constraint, DomainError, Violation, Violations, invalid};
use crate::locale::Locale;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, sqlx::Type)]
#[sqlx(transparent)]
#[serde(transparent)]
pub struct TenantId(Uuid);

impl TenantId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for TenantId {
    fn default() -> Self {
        Self::new()
    }
}

impl From<Uuid> for TenantId {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A tenant's handle: lowercase letters, digits and inner hyphens, 1–63 characters (it can
/// be a DNS label), and never something that reads as a UUID, so `X-Tenant-ID` can carry
/// either without ambiguity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantHandle(String);

impl TenantHandle {
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let well_formed = (1..=63).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-')
            && !raw.ends_with('-');
        if !well_formed {
            return Err(invalid(
                "invalid_handle",
                "a handle is 1–63 lowercase letters, digits or inner hyphens",
            ));
        }
        if Uuid::parse_str(raw).is_ok() {
            return Err(invalid("invalid_handle", "a handle must not look like a tenant id"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A hostname a shop is served on (`shop.example.com`), stored lowercase without a port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hostname(String);

impl Hostname {
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let host = raw.trim_end_matches('.').to_ascii_lowercase();
        let label_ok = |l: &str| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if host.len() > 253 || !host.split('.').all(label_ok) {
            return Err(invalid("invalid_hostname", format!("'{raw}' is not a hostname")));
        }
        Ok(Self(host))
    }

    /// The hostname of an HTTP `Host` header value: port removed, case folded. `None` for
    /// values that are not a hostname (IP literals included: they never name a shop).
    pub fn from_host_header(value: &str) -> Option<Self> {
        let host = match value.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => value,
        };
        Self::parse(host).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A tenant's public profile, as every request sees it once resolved.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Tenant {
    pub id: TenantId,
    pub handle: String,
    pub name: String,
    pub default_locale: String,
    pub locales: Vec<String>,
    pub default_currency: String,
    /// The Zitadel organisation whose members are this tenant's staff.
    pub zitadel_org_id: Option<String>,
    /// Shop settings, e.g. `{"storefront": {"max_age": 60, "stale_while_revalidate": 300}}`.
    pub settings: serde_json::Value,
}

/// What a request names its tenant by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TenantKey {
    Id(TenantId),
    Handle(String),
    Hostname(Hostname),
}

impl TenantKey {
    /// Reads an `X-Tenant-ID` value: a tenant id (UUID) or a handle.
    pub fn from_header(value: &str) -> Self {
        match Uuid::parse_str(value) {
            Ok(id) => TenantKey::Id(id.into()),
            Err(_) => TenantKey::Handle(value.to_owned()),
        }
    }
}

/// Finds the tenant a key names, across all tenants. This is the single cross-tenant read
/// in Kassa: it goes through the `kassa_resolve_tenant` security-definer function, which
/// reads only the tenants' public profile; row-level security stays on for everything else.
pub async fn resolve(pool: &PgPool, key: &TenantKey) -> Result<Option<Tenant>, DomainError> {
    let (id, handle, hostname) = match key {
        TenantKey::Id(id) => (Some(id.as_uuid()), None, None),
        TenantKey::Handle(handle) => (None, Some(handle.as_str()), None),
        TenantKey::Hostname(host) => (None, None, Some(host.as_str())),
    };
    let tenant = sqlx::query_as::<_, Tenant>("select * from kassa_resolve_tenant($1, $2, $3)")
        .bind(id)
        .bind(handle)
        .bind(hostname)
        .fetch_optional(pool)
        .await?;
    Ok(tenant)
}

/// A new tenant as an operator describes it, before validation: `kassa tenant create`'s
/// flags, or the migrations function's `tenant-create` payload, whose field names (and
/// defaults) this deserialises: `currency`, `zitadel_org`, English and euros when left out.
/// An unknown field is refused, so a misspelt one cannot create a shop with a default in its
/// place.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantDraft {
    pub handle: String,
    pub name: String,
    #[serde(default = "english")]
    pub default_locale: String,
    /// Locales besides the default one.
    #[serde(default)]
    pub locales: Vec<String>,
    #[serde(default = "euro", rename = "currency")]
    pub default_currency: String,
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default, rename = "zitadel_org")]
    pub zitadel_org_id: Option<String>,
}

fn english() -> String {
    "en".to_owned()
}

fn euro() -> String {
    "EUR".to_owned()
}

impl TenantDraft {
    /// A draft with Kassa's defaults: English, euros, no domains, no Zitadel organisation.
    pub fn new(handle: &str, name: &str) -> Self {
        Self {
            handle: handle.to_owned(),
            name: name.to_owned(),
            default_locale: english(),
            default_currency: euro(),
            ..Self::default()
        }
    }
}

/// The input for a new tenant, validated as a whole.
#[derive(Debug, Clone)]
pub struct NewTenant {
    pub handle: TenantHandle,
    pub name: String,
    pub default_locale: Locale,
    pub locales: Vec<Locale>,
    pub default_currency: Currency,
    pub domains: Vec<Hostname>,
    pub zitadel_org_id: Option<ZitadelOrgId>,
}

impl NewTenant {
    /// Validates every field and reports every problem at once. The default locale is
    /// always among the tenant's locales.
    pub fn parse(draft: &TenantDraft) -> Result<Self, DomainError> {
        let mut violations = Violations::default();
        let handle = violations.check("/handle", TenantHandle::parse(&draft.handle));
        let name = draft.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            violations.push("/name", "invalid_name", "a name is 1–200 characters");
        }
        let default_locale = violations.check("/default_locale", Locale::parse(&draft.default_locale));
        let mut locales: Vec<Locale> = default_locale.iter().cloned().collect();
        for (i, raw) in draft.locales.iter().enumerate() {
            if let Some(locale) = violations.check(&format!("/locales/{i}"), Locale::parse(raw))
                && !locales.contains(&locale)
            {
                locales.push(locale);
            }
        }
        let default_currency =
            violations.check("/default_currency", Currency::parse(&draft.default_currency));
        let domains: Vec<Hostname> = draft
            .domains
            .iter()
            .enumerate()
            .filter_map(|(i, raw)| violations.check(&format!("/domains/{i}"), Hostname::parse(raw)))
            .collect();
        let zitadel_org_id = match &draft.zitadel_org_id {
            Some(raw) => violations.check("/zitadel_org_id", ZitadelOrgId::parse(raw)),
            None => None,
        };
        match (handle, default_locale, default_currency) {
            (Some(handle), Some(default_locale), Some(default_currency)) if violations.is_empty() => {
                Ok(Self {
                    handle,
                    name: name.to_owned(),
                    default_locale,
                    locales,
                    default_currency,
                    domains,
                    zitadel_org_id,
                })
            }
            _ => Err(DomainError::Validation(violations)),
        }
    }
}

/// A Zitadel organisation id (Zitadel's are numeric strings such as `284733431289724931`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ZitadelOrgId(String);

impl ZitadelOrgId {
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let ok = (1..=64).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(invalid(
                "invalid_zitadel_org_id",
                "a Zitadel organisation id is 1–64 letters, digits, '_' or '-'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const TENANT_CONFLICTS: &[Constraint] = &[
    Constraint::Unique(
        "tenants_handle_key",
        ErrorCode::HandleTaken,
        "another tenant already uses this handle",
    ),
    Constraint::Unique(
        "tenant_domains_pkey",
        ErrorCode::DomainTaken,
        "another tenant already uses this domain",
    ),
    Constraint::Unique(
        "tenants_zitadel_org_id_key",
        ErrorCode::ZitadelOrgTaken,
        "another tenant is bound to this Zitadel organisation",
    ),
];

/// Creates a tenant, its domains and its default workflows ("On order placed") in one
/// transaction, inside the new tenant's own scope.
pub async fn create(pool: &PgPool, new: &NewTenant) -> Result<Tenant, DomainError> {
    let id = TenantId::new();
    let mut tx = begin_tenant_tx(pool, id).await?;
    let locales: Vec<&str> = new.locales.iter().map(Locale::as_str).collect();
    let tenant = sqlx::query_as::<_, Tenant>(
        "insert into tenants (id, handle, name, default_locale, locales, default_currency, zitadel_org_id)
         values ($1, $2, $3, $4, $5, $6, $7)
         returning id, handle, name, default_locale, locales, default_currency::text, zitadel_org_id, settings",
    )
    .bind(id)
    .bind(new.handle.as_str())
    .bind(&new.name)
    .bind(new.default_locale.as_str())
    .bind(&locales)
    .bind(new.default_currency.code())
    .bind(new.zitadel_org_id.as_ref().map(ZitadelOrgId::as_str))
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| DomainError::from_constraint(e, TENANT_CONFLICTS))?;
    for domain in &new.domains {
        add_domain_in(&mut tx, id, domain).await?;
    }
    crate::workflows::add_default_workflows(&mut tx, id).await?;
    tx.commit().await?;
    Ok(tenant)
}

/// Binds a tenant to its Zitadel organisation (replacing an earlier binding).
pub async fn bind_zitadel_org(
    pool: &PgPool,
    tenant: TenantId,
    org: &ZitadelOrgId,
) -> Result<(), DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant).await?;
    sqlx::query("update tenants set zitadel_org_id = $1 where id = $2")
        .bind(org.as_str())
        .bind(tenant)
        .execute(&mut *tx)
        .await
        .map_err(|e| DomainError::from_constraint(e, TENANT_CONFLICTS))?;
    tx.commit().await?;
    Ok(())
}

/// Attaches a hostname to a tenant; attaching one it already has changes nothing.
pub async fn add_domain(pool: &PgPool, tenant: TenantId, host: &Hostname) -> Result<(), DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant).await?;
    add_domain_in(&mut tx, tenant, host).await?;
    tx.commit().await?;
    Ok(())
}

async fn add_domain_in(
    tx: &mut crate::db::TenantTx,
    tenant: TenantId,
    host: &Hostname,
) -> Result<(), DomainError> {
    // Row-level security shows only this tenant's domains: an existing row here is ours,
    // and another tenant's claim on the hostname surfaces as a unique violation.
    let ours: bool = sqlx::query_scalar("select exists (select 1 from tenant_domains where hostname = $1)")
        .bind(host.as_str())
        .fetch_one(&mut **tx)
        .await?;
    if ours {
        return Ok(());
    }
    sqlx::query("insert into tenant_domains (hostname, tenant_id) values ($1, $2)")
        .bind(host.as_str())
        .bind(tenant)
        .execute(&mut **tx)
        .await
        .map_err(|e| DomainError::from_constraint(e, TENANT_CONFLICTS))?;
    Ok(())
}

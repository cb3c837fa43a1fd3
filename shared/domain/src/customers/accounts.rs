//! Accounts: sign-up, mailed one-time codes (email verification, password reset), the
//! credentials sign-in checks, and sessions — families of single-use refresh tokens.
//!
//! Refresh tokens rotate: each exchange marks the presented token used and stores a new one
//! in the same session. A used token presented again means two parties hold the family
//! (a stolen token, or a client that lost a response); the whole session is revoked, so the
//! thief's and the owner's next refresh both fail and the owner signs in again.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::db::{TenantTx, begin_tenant_tx};
use crate::error::DomainError;
use crate::outbox::{self, Event};
use crate::tenant::Tenant;
use crate::types::Email;

/// How many wrong guesses one mailed code survives.
pub const CODE_ATTEMPTS: i32 = 5;

/// What a sign-up found. The caller answers all three the same way (no enumeration) and
/// mails accordingly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignUp {
    /// A new account, unverified.
    New(Uuid),
    /// An account that was never verified: its password was replaced (whoever proves the
    /// mailbox owns it).
    Unverified(Uuid),
    /// A verified account exists: nothing changed.
    Verified(Uuid),
}

/// What sign-in needs to know about an email address.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub customer_id: Uuid,
    /// argon2id PHC string; `None` when no password was ever set.
    pub password_hash: Option<String>,
    pub verified: bool,
    pub blocked: bool,
}

/// A live session: what an access token is minted from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: Uuid,
    pub customer_id: Uuid,
    /// The customer's groups now, sorted.
    pub group_ids: Vec<Uuid>,
    pub expires_at: DateTime<Utc>,
}

/// What a refresh-token exchange came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was current: here is the session with a new refresh token stored.
    Rotated(Session),
    /// The token had been used before: its session is now revoked.
    Reused { session_id: Uuid },
    /// Unknown, expired, revoked, or the customer is blocked.
    Invalid,
}

/// Why a code is mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    VerifyEmail,
    ResetPassword,
}

impl CodePurpose {
    fn as_str(self) -> &'static str {
        match self {
            CodePurpose::VerifyEmail => "verify_email",
            CodePurpose::ResetPassword => "reset_password",
        }
    }
}

/// What redeeming a code does.
#[derive(Debug, Clone, Copy)]
pub enum Redeem<'a> {
    /// Marks the email verified.
    VerifyEmail,
    /// Sets a new password (and verifies the email: the code proved the mailbox) and
    /// revokes every session.
    ResetPassword { password_hash: &'a str },
}

/// A redeemed code: whose, and which sessions it revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redeemed {
    pub customer_id: Uuid,
    pub revoked_sessions: Vec<Uuid>,
}

/// Email addresses are compared case-insensitively: stored lower-case.
pub fn normalise(email: &Email) -> String {
    email.as_str().to_lowercase()
}

/// Registers `email` with a password, or replaces the password of an account nobody has
/// verified yet. A new account appends `customer.created`.
pub async fn sign_up(
    pool: &PgPool,
    tenant: &Tenant,
    email: &Email,
    password_hash: &str,
    names: (&str, &str),
) -> Result<SignUp, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let email = normalise(email);
    let inserted: Option<Uuid> = sqlx::query_scalar(
        "insert into customers (id, tenant_id, email, password_hash, first_name, last_name)
         values ($1, $2, $3, $4, $5, $6) on conflict (tenant_id, email) do nothing returning id",
    )
    .bind(Uuid::now_v7())
    .bind(tenant.id)
    .bind(&email)
    .bind(password_hash)
    .bind(names.0.trim())
    .bind(names.1.trim())
    .fetch_optional(&mut *tx)
    .await?;
    let outcome = match inserted {
        Some(id) => {
            let customer = super::fetch(&mut tx, id).await?;
            outbox::append(
                &mut tx,
                tenant.id,
                Event {
                    event_type: "customer.created",
                    aggregate_type: "customer",
                    aggregate_id: id,
                    data: &customer,
                },
            )
            .await?;
            SignUp::New(id)
        }
        None => {
            let (id, verified): (Uuid, bool) = sqlx::query_as(
                "select id, email_verified_at is not null from customers where email = $1 for update",
            )
            .bind(&email)
            .fetch_one(&mut *tx)
            .await?;
            if verified {
                SignUp::Verified(id)
            } else {
                sqlx::query(
                    "update customers set password_hash = $2, first_name = $3, last_name = $4,
                            version = version + 1 where id = $1",
                )
                .bind(id)
                .bind(password_hash)
                .bind(names.0.trim())
                .bind(names.1.trim())
                .execute(&mut *tx)
                .await?;
                SignUp::Unverified(id)
            }
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

/// Creates a verified customer in `groups` directly (demo data and tests), or returns the
/// existing one with that email unchanged.
pub async fn create_verified(
    pool: &PgPool,
    tenant: &Tenant,
    email: &Email,
    password_hash: &str,
    names: (&str, &str),
    groups: &[Uuid],
) -> Result<Uuid, DomainError> {
    let id = match sign_up(pool, tenant, email, password_hash, names).await? {
        SignUp::New(id) | SignUp::Unverified(id) | SignUp::Verified(id) => id,
    };
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    sqlx::query("update customers set email_verified_at = coalesce(email_verified_at, now()) where id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    super::add_to_groups(&mut tx, tenant, id, groups).await?;
    tx.commit().await?;
    Ok(id)
}

/// Who signs in with `email`, if anyone.
pub async fn credentials(
    pool: &PgPool,
    tenant: &Tenant,
    email: &Email,
) -> Result<Option<Credentials>, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let row: Option<(Uuid, Option<String>, bool, bool)> = sqlx::query_as(
        "select id, password_hash, email_verified_at is not null, blocked_at is not null
           from customers where email = $1",
    )
    .bind(normalise(email))
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.map(|(customer_id, password_hash, verified, blocked)| Credentials {
        customer_id,
        password_hash,
        verified,
        blocked,
    }))
}

/// Stores a new code for `customer_id` (its SHA-256), replacing earlier unused ones of the
/// same purpose.
pub async fn issue_code(
    pool: &PgPool,
    tenant: &Tenant,
    customer_id: Uuid,
    purpose: CodePurpose,
    code_hash: &[u8],
    ttl: Duration,
) -> Result<(), DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    sqlx::query("delete from customer_codes where customer_id = $1 and purpose = $2 and used_at is null")
        .bind(customer_id)
        .bind(purpose.as_str())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "insert into customer_codes (id, tenant_id, customer_id, purpose, code_hash, expires_at)
         values ($1, $2, $3, $4, $5, now() + $6)",
    )
    .bind(Uuid::now_v7())
    .bind(tenant.id)
    .bind(customer_id)
    .bind(purpose.as_str())
    .bind(code_hash)
    .bind(ttl)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Redeems the live code of `purpose` mailed to `email` when `code_hash` matches it; every
/// try counts against [`CODE_ATTEMPTS`]. `None`: no such address, no live code, or a wrong one.
pub async fn redeem_code(
    pool: &PgPool,
    tenant: &Tenant,
    email: &Email,
    code_hash: &[u8],
    action: Redeem<'_>,
) -> Result<Option<Redeemed>, DomainError> {
    let purpose = match action {
        Redeem::VerifyEmail => CodePurpose::VerifyEmail,
        Redeem::ResetPassword { .. } => CodePurpose::ResetPassword,
    };
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let code: Option<(Uuid, Uuid, Vec<u8>)> = sqlx::query_as(
        "select k.id, k.customer_id, k.code_hash from customer_codes k
           join customers c on c.tenant_id = k.tenant_id and c.id = k.customer_id
          where c.email = $1 and k.purpose = $2 and k.used_at is null and k.expires_at > now()
            and k.attempts < $3
          order by k.created_at desc limit 1 for update of k",
    )
    .bind(normalise(email))
    .bind(purpose.as_str())
    .bind(CODE_ATTEMPTS)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((code_id, customer_id, stored)) = code else {
        tx.commit().await?;
        return Ok(None);
    };
    if stored != code_hash {
        sqlx::query("update customer_codes set attempts = attempts + 1 where id = $1")
            .bind(code_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        return Ok(None);
    }
    sqlx::query("update customer_codes set used_at = now(), attempts = attempts + 1 where id = $1")
        .bind(code_id)
        .execute(&mut *tx)
        .await?;
    let revoked_sessions = match action {
        Redeem::VerifyEmail => {
            sqlx::query(
                "update customers set email_verified_at = coalesce(email_verified_at, now()) where id = $1",
            )
            .bind(customer_id)
            .execute(&mut *tx)
            .await?;
            Vec::new()
        }
        Redeem::ResetPassword { password_hash } => {
            sqlx::query(
                "update customers set password_hash = $2, version = version + 1,
                        email_verified_at = coalesce(email_verified_at, now()) where id = $1",
            )
            .bind(customer_id)
            .bind(password_hash)
            .execute(&mut *tx)
            .await?;
            revoke_all(&mut tx, customer_id, "password_changed").await?
        }
    };
    tx.commit().await?;
    Ok(Some(Redeemed { customer_id, revoked_sessions }))
}

/// Starts a session for a signed-in customer with its first refresh token.
pub async fn start_session(
    pool: &PgPool,
    tenant: &Tenant,
    customer_id: Uuid,
    refresh_hash: &[u8],
    ttl: Duration,
) -> Result<Session, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let id = Uuid::now_v7();
    let expires_at: DateTime<Utc> = sqlx::query_scalar(
        "insert into customer_sessions (id, tenant_id, customer_id, expires_at)
         values ($1, $2, $3, now() + $4) returning expires_at",
    )
    .bind(id)
    .bind(tenant.id)
    .bind(customer_id)
    .bind(ttl)
    .fetch_one(&mut *tx)
    .await?;
    store_refresh(&mut tx, tenant, id, refresh_hash).await?;
    let group_ids = group_ids(&mut tx, customer_id).await?;
    tx.commit().await?;
    Ok(Session { id, customer_id, group_ids, expires_at })
}

/// Exchanges the refresh token `old_hash` for `new_hash` (see the module comment).
pub async fn refresh(
    pool: &PgPool,
    tenant: &Tenant,
    old_hash: &[u8],
    new_hash: &[u8],
    ttl: Duration,
) -> Result<RefreshOutcome, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let row: Option<(Uuid, Uuid, bool, bool)> = sqlx::query_as(
        "select s.id, s.customer_id, t.used_at is not null,
                s.revoked_at is null and s.expires_at > now() and c.blocked_at is null
           from customer_refresh_tokens t
           join customer_sessions s on s.tenant_id = t.tenant_id and s.id = t.session_id
           join customers c on c.tenant_id = s.tenant_id and c.id = s.customer_id
          where t.token_hash = $1 for update of t, s",
    )
    .bind(old_hash)
    .fetch_optional(&mut *tx)
    .await?;
    let outcome = match row {
        None | Some((_, _, false, false)) => RefreshOutcome::Invalid,
        Some((session_id, _, true, live)) => {
            if live {
                revoke(&mut tx, session_id, "refresh_token_reused").await?;
            }
            RefreshOutcome::Reused { session_id }
        }
        Some((session_id, customer_id, false, true)) => {
            sqlx::query("update customer_refresh_tokens set used_at = now() where token_hash = $1")
                .bind(old_hash)
                .execute(&mut *tx)
                .await?;
            let expires_at: DateTime<Utc> = sqlx::query_scalar(
                "update customer_sessions set expires_at = now() + $2 where id = $1 returning expires_at",
            )
            .bind(session_id)
            .bind(ttl)
            .fetch_one(&mut *tx)
            .await?;
            store_refresh(&mut tx, tenant, session_id, new_hash).await?;
            let group_ids = group_ids(&mut tx, customer_id).await?;
            RefreshOutcome::Rotated(Session { id: session_id, customer_id, group_ids, expires_at })
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

/// Ends `session_id` if it belongs to `customer_id` (signing out).
pub async fn sign_out(
    pool: &PgPool,
    tenant: &Tenant,
    customer_id: Uuid,
    session_id: Uuid,
) -> Result<(), DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let owned: bool = sqlx::query_scalar(
        "select exists (select 1 from customer_sessions where id = $1 and customer_id = $2)",
    )
    .bind(session_id)
    .bind(customer_id)
    .fetch_one(&mut *tx)
    .await?;
    if owned {
        revoke(&mut tx, session_id, "signed_out").await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Whether `session_id` is live (not revoked, not expired, its customer not blocked).
pub async fn session_live(pool: &PgPool, tenant: &Tenant, session_id: Uuid) -> Result<bool, DomainError> {
    let mut tx = begin_tenant_tx(pool, tenant.id).await?;
    let live: bool = sqlx::query_scalar(
        "select exists (select 1 from customer_sessions s
                          join customers c on c.tenant_id = s.tenant_id and c.id = s.customer_id
                         where s.id = $1 and s.revoked_at is null and s.expires_at > now()
                           and c.blocked_at is null)",
    )
    .bind(session_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(live)
}

/// Revokes every live session of `customer_id`; returns their ids.
pub(crate) async fn revoke_all(
    tx: &mut TenantTx,
    customer_id: Uuid,
    reason: &str,
) -> Result<Vec<Uuid>, DomainError> {
    Ok(sqlx::query_scalar(
        "update customer_sessions set revoked_at = now(), revoked_reason = $2
          where customer_id = $1 and revoked_at is null returning id",
    )
    .bind(customer_id)
    .bind(reason)
    .fetch_all(&mut **tx)
    .await?)
}

async fn revoke(tx: &mut TenantTx, session_id: Uuid, reason: &str) -> Result<(), DomainError> {
    sqlx::query(
        "update customer_sessions set revoked_at = coalesce(revoked_at, now()),
                revoked_reason = coalesce(revoked_reason, $2) where id = $1",
    )
    .bind(session_id)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn store_refresh(
    tx: &mut TenantTx,
    tenant: &Tenant,
    session_id: Uuid,
    hash: &[u8],
) -> Result<(), DomainError> {
    sqlx::query(
        "insert into customer_refresh_tokens (token_hash, tenant_id, session_id) values ($1, $2, $3)",
    )
    .bind(hash)
    .bind(tenant.id)
    .bind(session_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn group_ids(tx: &mut TenantTx, customer_id: Uuid) -> Result<Vec<Uuid>, DomainError> {
    Ok(sqlx::query_scalar(
        "select customer_group_id from customer_group_members where customer_id = $1 order by customer_group_id",
    )
    .bind(customer_id)
    .fetch_all(&mut **tx)
    .await?)
}

//! The customers function: a shop's shoppers. Public routes under `/storefront/customers`
//! (tenant from Host or `X-Tenant-ID`): sign-up with a mailed verification code, sign-in,
//! token refresh, sign-out, password reset by mailed code, profile and address book. Staff
//! routes under `/management/customers`: list, get, update (profile, groups), block and
//! unblock.
//!
//! No account enumeration: sign-up and password reset answer `202` with the same body
//! whether or not the address has an account, and take at least [`ANSWER_FLOOR`]; sign-in
//! verifies a decoy hash for an unknown address, so a wrong password and an unknown address
//! cost the same and answer the same `401 invalid_credentials`. Passwords are hashed on the
//! blocking pool, never on the async runtime's threads.

pub mod mail;
pub mod secrets;

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use kassa_domain::access::Action;
use kassa_domain::customers::accounts::{self, CodePurpose, Redeem, RefreshOutcome, Session, SignUp};
use kassa_domain::customers::{
    self, Address, Customer, CustomerPatch, CustomerQuery, PostalAddress, ProfilePatch,
};
use kassa_domain::customers::{addresses, passwords};
use kassa_domain::pagination::{KeyKind, Page};
use kassa_domain::tenant::Tenant;
use kassa_domain::types::Email;
use kassa_domain::{DomainError, ErrorCode, Violations};
use kassa_http::limits::{ClientIp, SignInLimit};
use kassa_http::list::{ListFilters, ListQuery, params as list_params};
use kassa_http::openapi::{Doc, page, patch, schema};
use kassa_http::rest::{IfMatch, versioned};
use kassa_http::shopper::revoke_sessions;
use kassa_http::{
    Access, ApiError, AppState, CurrentTenant, FunctionRoutes, Json, Path, Shopper, Staff, Verb,
};
use kassa_store::Idempotent;
use kassa_store::idempotency::REPLAY;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Sign-up and password reset answer no sooner than this, whatever they found.
pub const ANSWER_FLOOR: Duration = Duration::from_millis(300);
/// How long a mailed code lives.
pub const CODE_TTL_MINUTES: i64 = 15;

const STAFF_READ: Access = Access::Allowed(Action::OrdersRead);
const STAFF_WRITE: Access = Access::Allowed(Action::OrdersWrite);

/// The function's routes, also read by the template and OpenAPI tests.
pub fn routes() -> FunctionRoutes {
    use Verb::{Delete, Get, Patch, Post, Put};
    const ME: &str = "/storefront/customers/me";
    const ADDRESSES: &str = "/storefront/customers/me/addresses";
    const ADDRESS: &str = "/storefront/customers/me/addresses/{id}";
    FunctionRoutes::new("customers")
        .public(
            Post,
            "/storefront/customers",
            Doc::new(
                "signUp",
                "Sign up: a verification code is mailed (the same answer for a known address)",
            )
            .body(schema::<SignUpRequest>)
            .returns(202, schema::<Accepted>)
            .idempotent(REPLAY),
            Idempotent(sign_up),
        )
        .public(
            Post,
            "/storefront/customers/verify",
            Doc::new("verifyEmail", "Redeem the mailed verification code; signs the customer in")
                .body(schema::<CodeRequest>)
                .returns(200, schema::<Tokens>)
                .idempotent(REPLAY),
            Idempotent(verify_email),
        )
        .public(
            Post,
            "/storefront/customers/sign-in",
            Doc::new("signIn", "Sign in with email and password")
                .body(schema::<SignInRequest>)
                .returns(200, schema::<Tokens>)
                .idempotent(REPLAY),
            Idempotent(sign_in),
        )
        .public(
            Post,
            "/storefront/customers/token",
            Doc::new(
                "refreshToken",
                "Exchange a refresh token for new tokens (each refresh token works once)",
            )
            .body(schema::<RefreshRequest>)
            .returns(200, schema::<Tokens>)
            .idempotent(REPLAY),
            Idempotent(refresh),
        )
        .public(
            Post,
            "/storefront/customers/sign-out",
            Doc::new("signOut", "End this session: its access and refresh tokens stop working")
                .no_content()
                .signed_in()
                .idempotent(REPLAY),
            Idempotent(sign_out),
        )
        .public(
            Post,
            "/storefront/customers/password-reset",
            Doc::new(
                "requestPasswordReset",
                "Mail a password-reset code (the same answer for an unknown address)",
            )
            .body(schema::<EmailRequest>)
            .returns(202, schema::<Accepted>)
            .idempotent(REPLAY),
            Idempotent(request_reset),
        )
        .public(
            Post,
            "/storefront/customers/password-reset/confirm",
            Doc::new("resetPassword", "Set a new password with the mailed code; ends every session")
                .body(schema::<ResetRequest>)
                .no_content()
                .idempotent(REPLAY),
            Idempotent(reset_password),
        )
        .public(
            Get,
            ME,
            Doc::new("getMe", "The signed-in customer").returns(200, schema::<Customer>).signed_in(),
            me,
        )
        .public(
            Patch,
            ME,
            Doc::new("updateMe", "Change the signed-in customer's name or phone")
                .body(schema::<ProfilePatch>)
                .if_match()
                .returns(200, schema::<Customer>)
                .signed_in(),
            update_me,
        )
        .public(
            Get,
            ADDRESSES,
            Doc::new("listMyAddresses", "The signed-in customer's address book")
                .returns(200, schema::<AddressList>)
                .signed_in(),
            list_addresses,
        )
        .public(
            Post,
            ADDRESSES,
            Doc::new("addMyAddress", "Add an address (at most 20)")
                .body(schema::<PostalAddress>)
                .returns(201, schema::<Address>)
                .signed_in()
                .idempotent(REPLAY),
            Idempotent(add_address),
        )
        .public(
            Put,
            ADDRESS,
            Doc::new("replaceMyAddress", "Replace an address")
                .body(schema::<PostalAddress>)
                .returns(200, schema::<Address>)
                .signed_in(),
            replace_address,
        )
        .public(
            Delete,
            ADDRESS,
            Doc::new("removeMyAddress", "Remove an address").no_content().signed_in(),
            remove_address,
        )
        .staff(
            Get,
            "/management/customers",
            STAFF_READ,
            Doc::new("listCustomers", "List customers, oldest first; q searches email and name")
                .query(list_params::<CustomerFilters>)
                .returns(200, page::<Customer>),
            list_customers,
        )
        .staff(
            Get,
            "/management/customers/{id}",
            STAFF_READ,
            Doc::new("getCustomer", "Get a customer").returns(200, schema::<Customer>),
            get_customer,
        )
        .staff(
            Patch,
            "/management/customers/{id}",
            STAFF_WRITE,
            Doc::new(
                "updateCustomer",
                "Change a customer's profile or customer groups (emits customer.updated)",
            )
            .merge_patch(patch::<CustomerPatch>)
            .if_match()
            .returns(200, schema::<Customer>),
            update_customer,
        )
        .staff(
            Post,
            "/management/customers/{id}/block",
            STAFF_WRITE,
            Doc::new("blockCustomer", "Block a customer: sign-in refused, every session ended")
                .returns(200, schema::<Customer>),
            block_customer,
        )
        .staff(
            Post,
            "/management/customers/{id}/unblock",
            STAFF_WRITE,
            Doc::new("unblockCustomer", "Unblock a customer").returns(200, schema::<Customer>),
            unblock_customer,
        )
}

pub fn router(state: AppState) -> Router {
    routes().into_router(state)
}

// ---------------------------------------------------------------------------------------
// Bodies

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUpRequest {
    #[schema(schema_with = kassa_domain::schemas::email)]
    pub email: String,
    /// 10–128 characters.
    #[schema(min_length = 10, max_length = 128)]
    pub password: String,
    #[schema(schema_with = kassa_domain::schemas::person_name)]
    #[serde(default)]
    pub first_name: String,
    #[schema(schema_with = kassa_domain::schemas::person_name)]
    #[serde(default)]
    pub last_name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    #[schema(schema_with = kassa_domain::schemas::email)]
    pub email: String,
    /// The six digits from the mail.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    #[schema(schema_with = kassa_domain::schemas::email)]
    pub email: String,
    #[schema(min_length = 1, max_length = 128)]
    pub password: String,
    /// The shopper's anonymous cart: merged into the customer's cart (or becoming it).
    pub cart: Option<CartToMerge>,
}

/// An anonymous cart and the token that opens it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartToMerge {
    pub id: Uuid,
    #[schema(min_length = 1, max_length = 100)]
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailRequest {
    #[schema(schema_with = kassa_domain::schemas::email)]
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    #[schema(schema_with = kassa_domain::schemas::email)]
    pub email: String,
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
    /// The new password, 10–128 characters.
    #[schema(min_length = 10, max_length = 128)]
    pub password: String,
}

/// The answer to sign-up and reset requests, the same whatever the address.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub status: &'static str,
    pub message: &'static str,
}

const ACCEPTED: Accepted = Accepted {
    status: "accepted",
    message: "If this address can receive mail, a six-digit code is on its way; it is valid for 15 minutes.",
};

/// A signed-in session: a short-lived access token (send it as `Authorization: Bearer …`)
/// and a single-use refresh token.
#[derive(Debug, Serialize, ToSchema)]
pub struct Tokens {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub refresh_token: String,
    pub customer: Customer,
    /// Sign-in with an anonymous cart: the customer's cart after the merge (`null` when
    /// no cart was sent or the token did not open it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cart_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AddressList {
    pub items: Vec<Address>,
}

/// The filters of `GET /management/customers`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CustomerFilters {
    /// Text to find in the email address or name.
    #[param(max_length = 100)]
    pub q: Option<String>,
}

impl ListFilters for CustomerFilters {}

// ---------------------------------------------------------------------------------------
// Helpers

fn email(raw: &str) -> Result<Email, ApiError> {
    Email::parse(raw).map_err(|violation| invalid("/email", violation.code, &violation.message))
}

fn invalid(pointer: &str, code: &'static str, message: &str) -> ApiError {
    let mut v = Violations::default();
    v.push(pointer, code, message);
    DomainError::Validation(v).into()
}

fn checked_password(password: &str) -> Result<(), ApiError> {
    passwords::check(password).map_err(|violation| invalid("/password", violation.code, &violation.message))
}

/// Password hashes computed at once per process: half the cores (at least one). A sign-in
/// storm queues here instead of taking every core from the storefront reads served by the
/// same process (`kassa serve`; a Lambda instance serves one request at a time anyway).
fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        tokio::sync::Semaphore::new((cores / 2).max(1))
    })
}

/// Runs argon2 on the blocking pool (never on the async runtime's threads), in a hashing slot.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    let _slot = hashing_slots()
        .acquire()
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("hashing slots closed: {e}")))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("hashing task: {e}")))
}

async fn hash(password: String) -> Result<String, ApiError> {
    blocking(move || passwords::hash(&password))
        .await?
        .map_err(|e| ApiError::internal(anyhow::anyhow!("cannot hash a password: {e}")))
}

/// The failed-sign-in counters of `email` in `tenant` and of the client's address.
fn sign_in_limit(state: &AppState, tenant: &Tenant, email: &Email, client: ClientIp) -> SignInLimit {
    SignInLimit::new(state, &secrets::account_key(tenant.id.as_uuid(), email.as_str()), client)
}

/// Waits until `floor` has passed since `started`.
async fn floor(started: Instant) {
    tokio::time::sleep(ANSWER_FLOOR.saturating_sub(started.elapsed())).await;
}

fn code_ttl() -> chrono::Duration {
    chrono::Duration::minutes(CODE_TTL_MINUTES)
}

/// Mints tokens for a new or refreshed `session`.
async fn tokens(
    state: &AppState,
    tenant: &Tenant,
    session: &Session,
    refresh_token: String,
) -> Result<Tokens, ApiError> {
    let access = state.customer_tokens.mint(tenant.id, session)?;
    let customer = customers::get(&state.db, tenant, session.customer_id).await?;
    Ok(Tokens {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        refresh_token,
        customer,
        cart_id: None,
    })
}

async fn start_session(state: &AppState, tenant: &Tenant, customer_id: Uuid) -> Result<Tokens, ApiError> {
    let refresh_token = secrets::refresh_token()?;
    let ttl =
        chrono::Duration::from_std(state.config.customer_refresh_ttl).unwrap_or(chrono::Duration::days(30));
    let session =
        accounts::start_session(&state.db, tenant, customer_id, &secrets::token_digest(&refresh_token), ttl)
            .await?;
    tokens(state, tenant, &session, refresh_token).await
}

/// Stores a new code for `customer_id` and mails it; a mail failure is logged, never shown
/// (the answer must not depend on the address).
async fn mail_code(state: &AppState, tenant: &Tenant, customer_id: Uuid, to: &Email, purpose: CodePurpose) {
    let result = async {
        let code = secrets::code()?;
        accounts::issue_code(
            &state.db,
            tenant,
            customer_id,
            purpose,
            &secrets::code_digest(to.as_str(), &code),
            code_ttl(),
        )
        .await?;
        mail::send(state, to, mail::code(tenant, purpose, &code)).await
    }
    .await;
    if let Err(err) = result {
        tracing::error!(error = ?err, "a customer code was not mailed");
    }
}

// ---------------------------------------------------------------------------------------
// Storefront handlers

/// `POST /storefront/customers`.
pub async fn sign_up(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    Json(body): Json<SignUpRequest>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let address = email(&body.email)?;
    checked_password(&body.password)?;
    let mut v = Violations::default();
    for (pointer, value) in [("/first_name", &body.first_name), ("/last_name", &body.last_name)] {
        if value.chars().count() > 100 || value.chars().any(char::is_control) {
            v.push(pointer, "invalid_text", "at most 100 characters, no control characters");
        }
    }
    if !v.is_empty() {
        return Err(DomainError::Validation(v).into());
    }
    // Hashed whatever the address: a known one costs the same.
    let password_hash = hash(body.password).await?;
    let names = (body.first_name.as_str(), body.last_name.as_str());
    match accounts::sign_up(&state.db, &tenant, &address, &password_hash, names).await? {
        SignUp::New(id) | SignUp::Unverified(id) => {
            mail_code(&state, &tenant, id, &address, CodePurpose::VerifyEmail).await
        }
        SignUp::Verified(_) => {
            if let Err(err) = mail::send(&state, &address, mail::already_registered(&tenant)).await {
                tracing::error!(error = ?err, "an already-registered notice was not mailed");
            }
        }
    }
    floor(started).await;
    Ok((StatusCode::ACCEPTED, Json(ACCEPTED)).into_response())
}

/// `POST /storefront/customers/verify`.
pub async fn verify_email(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    client: ClientIp,
    Json(body): Json<CodeRequest>,
) -> Result<Json<Tokens>, ApiError> {
    let address = email(&body.email)?;
    let limit = sign_in_limit(&state, &tenant, &address, client);
    limit.check(&state).await?;
    let digest = secrets::code_digest(address.as_str(), &body.code);
    let Some(redeemed) =
        accounts::redeem_code(&state.db, &tenant, &address, &digest, Redeem::VerifyEmail).await?
    else {
        limit.failed(&state).await;
        return Err(ApiError::new(ErrorCode::InvalidCode, "the code is wrong, expired or used up"));
    };
    let customer = customers::get(&state.db, &tenant, redeemed.customer_id).await?;
    if customer.blocked {
        return Err(ApiError::new(ErrorCode::AccountBlocked, "this account is blocked; contact the shop"));
    }
    Ok(Json(start_session(&state, &tenant, redeemed.customer_id).await?))
}

/// `POST /storefront/customers/sign-in`.
pub async fn sign_in(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    client: ClientIp,
    Json(body): Json<SignInRequest>,
) -> Result<Json<Tokens>, ApiError> {
    let wrong = || ApiError::new(ErrorCode::InvalidCredentials, "the email or password is wrong");
    let Ok(address) = Email::parse(&body.email) else { return Err(wrong()) };
    let limit = sign_in_limit(&state, &tenant, &address, client);
    limit.check(&state).await?;
    let found = accounts::credentials(&state.db, &tenant, &address).await?;
    let phc = found.as_ref().and_then(|c| c.password_hash.clone());
    let password = body.password;
    // An unknown address verifies the decoy: the same work, the same answer.
    let matches = blocking(move || match phc {
        Some(phc) => passwords::verify(&password, &phc),
        None => {
            passwords::verify(&password, passwords::decoy());
            false
        }
    })
    .await?;
    let Some(account) = found.filter(|_| matches) else {
        limit.failed(&state).await;
        return Err(wrong());
    };
    limit.succeeded(&state).await;
    if account.blocked {
        return Err(ApiError::new(ErrorCode::AccountBlocked, "this account is blocked; contact the shop"));
    }
    if !account.verified {
        return Err(ApiError::new(
            ErrorCode::EmailNotVerified,
            "verify the address first: redeem the mailed code, or sign up again for a new one",
        ));
    }
    let mut tokens = start_session(&state, &tenant, account.customer_id).await?;
    if let Some(cart) = body.cart {
        let groups = &tokens.customer.customer_group_ids;
        match kassa_store::carts::merge_at_sign_in(
            &state,
            &tenant,
            cart.id,
            &cart.token,
            account.customer_id,
            groups,
        )
        .await
        {
            Ok(merged) => tokens.cart_id = Some(merged.cart.id),
            // The sign-in stands; the cart stays where it was (a wrong token opens nothing).
            Err(err) => tracing::info!(code = err.code(), "the anonymous cart was not merged at sign-in"),
        }
    }
    Ok(Json(tokens))
}

/// `POST /storefront/customers/token`.
pub async fn refresh(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<Json<Tokens>, ApiError> {
    let next = secrets::refresh_token()?;
    let ttl =
        chrono::Duration::from_std(state.config.customer_refresh_ttl).unwrap_or(chrono::Duration::days(30));
    let old = secrets::token_digest(body.refresh_token.trim());
    match accounts::refresh(&state.db, &tenant, &old, &secrets::token_digest(&next), ttl).await? {
        RefreshOutcome::Rotated(session) => Ok(Json(tokens(&state, &tenant, &session, next).await?)),
        RefreshOutcome::Reused { session_id } => {
            revoke_sessions(&state, &[session_id]).await;
            Err(ApiError::new(
                ErrorCode::InvalidRefreshToken,
                "this refresh token was used before: its session is ended; sign in again",
            ))
        }
        RefreshOutcome::Invalid => Err(ApiError::new(
            ErrorCode::InvalidRefreshToken,
            "the refresh token is unknown, expired or revoked",
        )),
    }
}

/// `POST /storefront/customers/sign-out`.
pub async fn sign_out(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    shopper: Shopper,
) -> Result<StatusCode, ApiError> {
    accounts::sign_out(&state.db, &tenant, shopper.customer_id, shopper.session_id).await?;
    revoke_sessions(&state, &[shopper.session_id]).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /storefront/customers/password-reset`.
pub async fn request_reset(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    Json(body): Json<EmailRequest>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let address = email(&body.email)?;
    if let Some(account) = accounts::credentials(&state.db, &tenant, &address).await? {
        mail_code(&state, &tenant, account.customer_id, &address, CodePurpose::ResetPassword).await;
    }
    floor(started).await;
    Ok((StatusCode::ACCEPTED, Json(ACCEPTED)).into_response())
}

/// `POST /storefront/customers/password-reset/confirm`.
pub async fn reset_password(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    client: ClientIp,
    Json(body): Json<ResetRequest>,
) -> Result<StatusCode, ApiError> {
    let address = email(&body.email)?;
    checked_password(&body.password)?;
    let limit = sign_in_limit(&state, &tenant, &address, client);
    limit.check(&state).await?;
    let password_hash = hash(body.password).await?;
    let digest = secrets::code_digest(address.as_str(), &body.code);
    let action = Redeem::ResetPassword { password_hash: &password_hash };
    let Some(redeemed) = accounts::redeem_code(&state.db, &tenant, &address, &digest, action).await? else {
        limit.failed(&state).await;
        return Err(ApiError::new(ErrorCode::InvalidCode, "the code is wrong, expired or used up"));
    };
    revoke_sessions(&state, &redeemed.revoked_sessions).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /storefront/customers/me`.
pub async fn me(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    shopper: Shopper,
) -> Result<Response, ApiError> {
    let customer = customers::get(&state.db, &tenant, shopper.customer_id).await?;
    Ok(versioned(StatusCode::OK, &customer, customer.version))
}

/// `PATCH /storefront/customers/me`: only the fields sent change; with `If-Match` (the ETag
/// of `GET /storefront/customers/me`) only at that version, so a second tab or device cannot
/// silently undo a change it has not seen (412 `version_conflict`).
pub async fn update_me(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    shopper: Shopper,
    if_match: IfMatch,
    Json(body): Json<ProfilePatch>,
) -> Result<Response, ApiError> {
    let customer =
        customers::update_profile(&state.db, &tenant, shopper.customer_id, if_match.0, &body).await?;
    Ok(versioned(StatusCode::OK, &customer, customer.version))
}

pub async fn list_addresses(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    shopper: Shopper,
) -> Result<Json<AddressList>, ApiError> {
    Ok(Json(AddressList { items: addresses::list(&state.db, &tenant, shopper.customer_id).await? }))
}

pub async fn add_address(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    shopper: Shopper,
    Json(body): Json<PostalAddress>,
) -> Result<Response, ApiError> {
    let address = addresses::add(&state.db, &tenant, shopper.customer_id, &body).await?;
    Ok((StatusCode::CREATED, Json(address)).into_response())
}

pub async fn replace_address(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    shopper: Shopper,
    Path(id): Path<Uuid>,
    Json(body): Json<PostalAddress>,
) -> Result<Json<Address>, ApiError> {
    Ok(Json(addresses::replace(&state.db, &tenant, shopper.customer_id, id, &body).await?))
}

pub async fn remove_address(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    shopper: Shopper,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    addresses::remove(&state.db, &tenant, shopper.customer_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------
// Staff handlers

async fn list_customers(
    staff: Staff,
    State(state): State<AppState>,
    list: ListQuery<CustomerFilters>,
) -> Result<Json<Page<Customer>>, ApiError> {
    let cursor = list.cursor(&staff.tenant, customers::LIST_ORDERING, KeyKind::Time)?;
    let query = CustomerQuery { q: list.filters.q.clone(), limit: list.limit, cursor };
    if query.q.as_ref().is_some_and(|q| q.chars().count() > 100) {
        return Err(ApiError::new(ErrorCode::QueryTooLong, "q is at most 100 characters"));
    }
    Ok(Json(customers::list(&state.db, &staff.tenant, &query).await?))
}

async fn get_customer(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let customer = customers::get(&state.db, &staff.tenant, id).await?;
    Ok(versioned(StatusCode::OK, &customer, customer.version))
}

/// A partial update: only the fields sent change. With `If-Match` (the customer's ETag) it
/// applies only at that version (412 `version_conflict` otherwise).
async fn update_customer(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<CustomerPatch>,
) -> Result<Response, ApiError> {
    let customer = customers::update(&state.db, &staff.tenant, id, if_match.0, &body).await?;
    Ok(versioned(StatusCode::OK, &customer, customer.version))
}

async fn block_customer(
    staff: Staff,
    state: State<AppState>,
    id: Path<Uuid>,
) -> Result<Json<Customer>, ApiError> {
    set_blocked(staff, state, id, true).await
}

async fn unblock_customer(
    staff: Staff,
    state: State<AppState>,
    id: Path<Uuid>,
) -> Result<Json<Customer>, ApiError> {
    set_blocked(staff, state, id, false).await
}

async fn set_blocked(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    blocked: bool,
) -> Result<Json<Customer>, ApiError> {
    let (customer, revoked) = customers::set_blocked(&state.db, &staff.tenant, id, blocked).await?;
    revoke_sessions(&state, &revoked).await;
    Ok(Json(customer))
}

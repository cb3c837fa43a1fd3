//! The closed catalogue of problem codes: every `code` a Kassa problem+json body can carry is
//! one variant here, with its HTTP status and a one-line meaning defined once. The README's
//! table is rendered from [`ErrorCode::ALL`] (a test fails when it is stale), and a snapshot
//! test pins one problem body per code.
//!
//! Field-level codes inside a validation problem's `errors` list (`invalid_handle` at
//! `/handle`, …) are not problem codes and are not listed here.

use std::fmt;

/// A problem code. `as_str` is the wire form (snake_case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorCode {
    // 400: the request cannot be read or names no shop.
    BadRequest,
    MalformedJson,
    UnreadableBody,
    InvalidPathParameter,
    InvalidQuery,
    InvalidTenantHeader,
    TenantRequired,
    TenantMismatch,
    InvalidLimit,
    InvalidCursor,
    InvalidSort,
    InvalidOrder,
    InvalidStatus,
    InvalidWorkflowId,
    InvalidIfMatch,
    InvalidIdempotencyKey,
    UnsupportedLocale,
    UnknownCurrency,
    InvalidHandle,
    QueryTooLong,
    TooManyFilters,
    TooManyFacets,
    // 401 / 403
    MissingToken,
    InvalidToken,
    InvalidCredentials,
    InvalidRefreshToken,
    EmailNotVerified,
    AccountBlocked,
    TenantAccessDenied,
    InsufficientRole,
    // 404 / 405
    NotFound,
    TenantNotFound,
    RouteNotFound,
    MethodNotAllowed,
    // 409: uniqueness and the state of a resource.
    HandleTaken,
    SkuTaken,
    NameTaken,
    TaxRateExists,
    ShippingCountryTaken,
    DomainTaken,
    ZitadelOrgTaken,
    InUse,
    CartBusy,
    InsufficientStock,
    OutOfStock,
    PaymentsNotConfigured,
    StockUntracked,
    IdempotencyKeyReused,
    IdempotencyKeyRace,
    RunNotRetryable,
    OrderNotRefundable,
    BlockTypeInUse,
    TooManyAddresses,
    // 412 / 413 / 415 / 422 / 429
    VersionConflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    InvalidBody,
    ValidationFailed,
    InvalidPatch,
    InvalidCode,
    PaymentKeyRejected,
    UnsupportedPaymentCurrency,
    RateLimited,
    // 5xx
    InternalError,
    PaymentProviderUnavailable,
    NotReady,
}

impl ErrorCode {
    /// Every code, in the order of the README's table.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::BadRequest,
        ErrorCode::MalformedJson,
        ErrorCode::UnreadableBody,
        ErrorCode::InvalidPathParameter,
        ErrorCode::InvalidQuery,
        ErrorCode::InvalidTenantHeader,
        ErrorCode::TenantRequired,
        ErrorCode::TenantMismatch,
        ErrorCode::InvalidLimit,
        ErrorCode::InvalidCursor,
        ErrorCode::InvalidSort,
        ErrorCode::InvalidOrder,
        ErrorCode::InvalidStatus,
        ErrorCode::InvalidWorkflowId,
        ErrorCode::InvalidIfMatch,
        ErrorCode::InvalidIdempotencyKey,
        ErrorCode::UnsupportedLocale,
        ErrorCode::UnknownCurrency,
        ErrorCode::InvalidHandle,
        ErrorCode::QueryTooLong,
        ErrorCode::TooManyFilters,
        ErrorCode::TooManyFacets,
        ErrorCode::MissingToken,
        ErrorCode::InvalidToken,
        ErrorCode::InvalidCredentials,
        ErrorCode::InvalidRefreshToken,
        ErrorCode::EmailNotVerified,
        ErrorCode::AccountBlocked,
        ErrorCode::TenantAccessDenied,
        ErrorCode::InsufficientRole,
        ErrorCode::NotFound,
        ErrorCode::TenantNotFound,
        ErrorCode::RouteNotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::HandleTaken,
        ErrorCode::SkuTaken,
        ErrorCode::NameTaken,
        ErrorCode::TaxRateExists,
        ErrorCode::ShippingCountryTaken,
        ErrorCode::DomainTaken,
        ErrorCode::ZitadelOrgTaken,
        ErrorCode::InUse,
        ErrorCode::CartBusy,
        ErrorCode::InsufficientStock,
        ErrorCode::OutOfStock,
        ErrorCode::PaymentsNotConfigured,
        ErrorCode::StockUntracked,
        ErrorCode::IdempotencyKeyRace,
        ErrorCode::RunNotRetryable,
        ErrorCode::OrderNotRefundable,
        ErrorCode::BlockTypeInUse,
        ErrorCode::TooManyAddresses,
        ErrorCode::VersionConflict,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::InvalidBody,
        ErrorCode::ValidationFailed,
        ErrorCode::InvalidPatch,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::InvalidCode,
        ErrorCode::PaymentKeyRejected,
        ErrorCode::UnsupportedPaymentCurrency,
        ErrorCode::RateLimited,
        ErrorCode::InternalError,
        ErrorCode::PaymentProviderUnavailable,
        ErrorCode::NotReady,
    ];

    /// The wire form, its HTTP status and what it means — defined here once.
    pub const fn spec(self) -> (&'static str, u16, &'static str) {
        use ErrorCode::*;
        match self {
            BadRequest => ("bad_request", 400, "the request was refused before it reached Kassa's handlers"),
            MalformedJson => ("malformed_json", 400, "the body is not valid JSON"),
            UnreadableBody => ("unreadable_body", 400, "the body could not be read"),
            InvalidPathParameter => (
                "invalid_path_parameter",
                400,
                "a path segment is not what the route expects (e.g. not a UUID)",
            ),
            InvalidQuery => ("invalid_query", 400, "an unknown, repeated or malformed query parameter"),
            InvalidTenantHeader => ("invalid_tenant_header", 400, "X-Tenant-ID is empty or not text"),
            TenantRequired => {
                ("tenant_required", 400, "neither X-Tenant-ID nor a shop domain names the tenant")
            }
            TenantMismatch => ("tenant_mismatch", 400, "X-Tenant-ID and the Host name different tenants"),
            InvalidLimit => ("invalid_limit", 400, "limit is not a number from 1 to 100"),
            InvalidCursor => (
                "invalid_cursor",
                400,
                "a cursor this list did not hand out for this sort and shop, or with a key of the wrong type",
            ),
            InvalidSort => ("invalid_sort", 400, "a sort the list does not offer"),
            InvalidOrder => ("invalid_order", 400, "order is neither asc nor desc"),
            InvalidStatus => ("invalid_status", 400, "a status filter the list does not know"),
            InvalidWorkflowId => ("invalid_workflow_id", 400, "the workflow_id filter is not a UUID"),
            InvalidIfMatch => ("invalid_if_match", 400, "If-Match is not a resource's ETag"),
            InvalidIdempotencyKey => (
                "invalid_idempotency_key",
                400,
                "Idempotency-Key is missing where required, empty or too long",
            ),
            UnsupportedLocale => ("unsupported_locale", 400, "a locale that is not one of the shop's"),
            UnknownCurrency => ("unknown_currency", 400, "a currency that is no ISO 4217 code"),
            InvalidHandle => ("invalid_handle", 400, "a handle parameter that is no lowercase slug"),
            QueryTooLong => ("query_too_long", 400, "q is longer than 100 characters"),
            TooManyFilters => {
                ("too_many_filters", 400, "more than 5 attr[…] filters, or more than 20 values in one")
            }
            TooManyFacets => ("too_many_facets", 400, "more than 5 facets"),
            MissingToken => ("missing_token", 401, "no bearer token; see WWW-Authenticate"),
            InvalidToken => {
                ("invalid_token", 401, "a bearer token that is malformed, expired, unsigned or not for Kassa")
            }
            InvalidCredentials => (
                "invalid_credentials",
                401,
                "the email or password is wrong (an unknown email answers the same)",
            ),
            InvalidRefreshToken => (
                "invalid_refresh_token",
                401,
                "a refresh token that is unknown, expired, revoked or used before (reuse revokes its session)",
            ),
            EmailNotVerified => {
                ("email_not_verified", 403, "the password is right but the email is not verified yet")
            }
            AccountBlocked => ("account_blocked", 403, "the shop has blocked this customer account"),
            TenantAccessDenied => {
                ("tenant_access_denied", 403, "the caller holds no role in this shop's organisation")
            }
            InsufficientRole => {
                ("insufficient_role", 403, "the caller's roles here do not permit the action")
            }
            NotFound => {
                ("not_found", 404, "no such resource in this shop (another shop's ids answer the same)")
            }
            TenantNotFound => ("tenant_not_found", 404, "no shop has this id, handle or domain"),
            RouteNotFound => ("route_not_found", 404, "no route matches the path"),
            MethodNotAllowed => ("method_not_allowed", 405, "the route does not take this method; see Allow"),
            HandleTaken => ("handle_taken", 409, "another record of the shop uses this handle"),
            SkuTaken => ("sku_taken", 409, "another variant of the shop uses this SKU"),
            NameTaken => ("name_taken", 409, "another record of the shop uses this name"),
            TaxRateExists => ("tax_rate_exists", 409, "the shop has a rate for this country and tax class"),
            ShippingCountryTaken => {
                ("shipping_country_taken", 409, "another shipping zone of the shop has this country")
            }
            DomainTaken => ("domain_taken", 409, "another shop is served on this domain"),
            ZitadelOrgTaken => {
                ("zitadel_org_taken", 409, "another shop is bound to this Zitadel organisation")
            }
            InUse => ("in_use", 409, "other records still refer to this one"),
            CartBusy => ("cart_busy", 409, "too many requests changed the cart at once; retry"),
            InsufficientStock => ("insufficient_stock", 409, "the adjustment would take stock below zero"),
            OutOfStock => (
                "out_of_stock",
                409,
                "checkout: a line wants more units than are available; nothing was reserved (errors names the line)",
            ),
            PaymentsNotConfigured => (
                "payments_not_configured",
                409,
                "checkout: the shop has not saved its payment settings yet, so nothing can be paid",
            ),
            StockUntracked => ("stock_untracked", 409, "the variant's stock is not tracked"),
            IdempotencyKeyReused => (
                "idempotency_key_reused",
                422,
                "the Idempotency-Key was used for a request with another body",
            ),
            IdempotencyKeyRace => (
                "idempotency_key_race",
                409,
                "a concurrent request with this Idempotency-Key is being handled; retry",
            ),
            RunNotRetryable => {
                ("run_not_retryable", 409, "only failed or stopped workflow runs can be retried")
            }
            BlockTypeInUse => (
                "block_type_in_use",
                409,
                "pages: the change or deletion would make pages invalid (the message names them), or the type is built in",
            ),
            OrderNotRefundable => (
                "order_not_refundable",
                409,
                "refunds: the order has no paid payment (staff orders and unpaid checkouts cannot be refunded)",
            ),
            TooManyAddresses => ("too_many_addresses", 409, "an address book holds at most 20 addresses"),
            VersionConflict => {
                ("version_conflict", 412, "If-Match names another version; current_version says which")
            }
            PayloadTooLarge => ("payload_too_large", 413, "the body is larger than 1 MiB"),
            UnsupportedMediaType => ("unsupported_media_type", 415, "a body that is not JSON"),
            InvalidBody => ("invalid_body", 422, "the body has the wrong shape; see errors"),
            ValidationFailed => {
                ("validation_failed", 422, "invalid values; errors lists every one with its JSON Pointer")
            }
            InvalidPatch => ("invalid_patch", 422, "a merge patch that is not a JSON object"),
            InvalidCode => {
                ("invalid_code", 422, "the mailed code is wrong, expired or used up; request a new one")
            }
            PaymentKeyRejected => (
                "payment_key_rejected",
                422,
                "Mollie does not accept the API key (unknown, revoked or of another account)",
            ),
            UnsupportedPaymentCurrency => (
                "unsupported_payment_currency",
                422,
                "checkout: Mollie does not accept the cart's currency; nothing was ordered or sent to Mollie",
            ),
            RateLimited => (
                "rate_limited",
                429,
                "too many storefront cache misses or failed sign-ins from one address or for one account; see Retry-After",
            ),
            InternalError => {
                ("internal_error", 500, "logged with its cause; the client gets the request id only")
            }
            PaymentProviderUnavailable => (
                "payment_provider_unavailable",
                503,
                "Mollie could not be reached or failed; nothing was changed, retry later",
            ),
            NotReady => ("not_ready", 503, "/ready: Postgres or Valkey does not answer; checks says which"),
        }
    }

    pub const fn as_str(self) -> &'static str {
        self.spec().0
    }

    pub const fn status(self) -> u16 {
        self.spec().1
    }

    pub const fn meaning(self) -> &'static str {
        self.spec().2
    }

    /// The catalogue entry with this wire form.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|code| code.as_str() == raw)
    }

    /// The README's table of codes, rendered from the catalogue.
    pub fn markdown_table() -> String {
        let mut out = String::from("| status | code | meaning |\n|---|---|---|\n");
        for code in Self::ALL {
            out.push_str(&format!("| {} | `{}` | {} |\n", code.status(), code.as_str(), code.meaning()));
        }
        out
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_code_is_listed_once_with_a_snake_case_name_and_an_error_status() {
        let names: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len(), "a wire name is used twice");
        for code in ErrorCode::ALL {
            let name = code.as_str();
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{name}");
            assert!((400..600).contains(&code.status()), "{name}");
            assert_eq!(ErrorCode::parse(name), Some(*code));
        }
        // ALL holds every variant: the match below stops compiling when one is added
        // without being listed, and the count keeps ALL from listing fewer.
        let count = |code: ErrorCode| -> usize {
            match code {
                ErrorCode::BadRequest
                | ErrorCode::MalformedJson
                | ErrorCode::UnreadableBody
                | ErrorCode::InvalidPathParameter
                | ErrorCode::InvalidQuery
                | ErrorCode::InvalidTenantHeader
                | ErrorCode::TenantRequired
                | ErrorCode::TenantMismatch
                | ErrorCode::InvalidLimit
                | ErrorCode::InvalidCursor
                | ErrorCode::InvalidSort
                | ErrorCode::InvalidOrder
                | ErrorCode::InvalidStatus
                | ErrorCode::InvalidWorkflowId
                | ErrorCode::InvalidIfMatch
                | ErrorCode::InvalidIdempotencyKey
                | ErrorCode::UnsupportedLocale
                | ErrorCode::UnknownCurrency
                | ErrorCode::InvalidHandle
                | ErrorCode::QueryTooLong
                | ErrorCode::TooManyFilters
                | ErrorCode::TooManyFacets
                | ErrorCode::MissingToken
                | ErrorCode::InvalidToken
                | ErrorCode::InvalidCredentials
                | ErrorCode::InvalidRefreshToken
                | ErrorCode::EmailNotVerified
                | ErrorCode::AccountBlocked
                | ErrorCode::TenantAccessDenied
                | ErrorCode::InsufficientRole
                | ErrorCode::NotFound
                | ErrorCode::TenantNotFound
                | ErrorCode::RouteNotFound
                | ErrorCode::MethodNotAllowed
                | ErrorCode::HandleTaken
                | ErrorCode::SkuTaken
                | ErrorCode::NameTaken
                | ErrorCode::TaxRateExists
                | ErrorCode::ShippingCountryTaken
                | ErrorCode::DomainTaken
                | ErrorCode::ZitadelOrgTaken
                | ErrorCode::InUse
                | ErrorCode::CartBusy
                | ErrorCode::InsufficientStock
                | ErrorCode::OutOfStock
                | ErrorCode::PaymentsNotConfigured
                | ErrorCode::StockUntracked
                | ErrorCode::IdempotencyKeyReused
                | ErrorCode::IdempotencyKeyRace
                | ErrorCode::RunNotRetryable
                | ErrorCode::OrderNotRefundable
                | ErrorCode::BlockTypeInUse
                | ErrorCode::TooManyAddresses
                | ErrorCode::VersionConflict
                | ErrorCode::PayloadTooLarge
                | ErrorCode::UnsupportedMediaType
                | ErrorCode::InvalidBody
                | ErrorCode::ValidationFailed
                | ErrorCode::InvalidPatch
                | ErrorCode::InvalidCode
                | ErrorCode::PaymentKeyRejected
                | ErrorCode::UnsupportedPaymentCurrency
                | ErrorCode::RateLimited
                | ErrorCode::InternalError
                | ErrorCode::PaymentProviderUnavailable
                | ErrorCode::NotReady => 1,
            }
        };
        assert_eq!(ErrorCode::ALL.iter().map(|c| count(*c)).sum::<usize>(), 66);
    }
}

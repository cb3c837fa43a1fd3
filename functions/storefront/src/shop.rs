//! What a storefront request asks for: locale (query or Accept-Language), currency, the
//! signed-in shopper's customer groups (from the access token, never from the URL) and list
//! parameters — normalised, so equal questions share a cache key.

use std::collections::BTreeSet;

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use kassa_domain::ErrorCode;
use kassa_domain::currency::Currency;
use kassa_domain::storefront::{self, Audience, ShopQuery, ShopSort};
use kassa_domain::tenant::Tenant;
use kassa_http::cache::{Cached, Lookup};
use kassa_http::list::{ListFilters, ListQuery};
use kassa_http::rest::query_error;
use kassa_http::{ApiError, AppState, Shopper};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use uuid::Uuid;

/// The most characters of `q`, attribute filters (`attr[…]`) with their values, and facets a
/// storefront list takes: each distinct combination costs a Postgres query and a cache entry.
pub const MAX_Q_CHARS: usize = 100;
pub const MAX_ATTRIBUTE_FILTERS: usize = 5;
pub const MAX_ATTRIBUTE_VALUES: usize = 20;
pub const MAX_FACETS: usize = 5;
/// The longest attribute name or value in a filter or facet.
pub const MAX_ATTRIBUTE_TEXT: usize = 100;

/// A parsed storefront request: everything that changes the answer, normalised, so equal
/// questions share a cache key and different ones never do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShopRequest {
    pub locale: String,
    pub currency: String,
    /// The audience: the signed-in shopper's customer group ids, sorted (empty when
    /// anonymous). Never the customer: everyone in the same groups shares the answer.
    pub groups: Vec<Uuid>,
    /// The list parameters (list routes only).
    pub list: Option<ShopQuery>,
}

/// Which storefront route a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShopRoute {
    /// `GET /storefront/products`: takes the list parameters and `attr[…]` filters.
    Products,
    /// `GET /storefront/products/{handle}`: locale, currency and group only.
    Product,
    /// `GET /storefront/pages/{handle}`: locale, currency and group only.
    Page,
    /// `GET /storefront/collections`: a page (limit and cursor in the key's handle part).
    Collections,
    /// `GET /storefront/collections/{handle}` (the limit in the key's handle part).
    Collection,
}

impl ShopRoute {
    /// Its name in cache keys and in a shop's per-route cache settings.
    pub fn name(self) -> &'static str {
        match self {
            ShopRoute::Products => "products",
            ShopRoute::Product => "product",
            ShopRoute::Page => "page",
            ShopRoute::Collections => "collections",
            ShopRoute::Collection => "collection",
        }
    }
}

/// The shop's locale that best serves `Accept-Language`: an exact tag, then the same
/// language, in the order of the header's weights.
pub fn negotiate(tenant: &Tenant, accept_language: Option<&str>) -> Option<String> {
    let mut wanted: Vec<(f32, String)> = accept_language?
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next()?.trim().to_ascii_lowercase();
            let weight = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
            (!tag.is_empty() && weight > 0.0).then_some((weight, tag))
        })
        .collect();
    wanted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let language = |tag: &str| tag.split('-').next().unwrap_or_default().to_owned();
    wanted.iter().find_map(|(_, tag)| {
        tenant
            .locales
            .iter()
            .find(|l| l.to_ascii_lowercase() == *tag)
            .or_else(|| tenant.locales.iter().find(|l| language(&l.to_ascii_lowercase()) == language(tag)))
            .cloned()
    })
}

/// Who is asking, on every storefront read: `locale` and `currency`. (Customer groups come
/// from the shopper's access token.)
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AudienceParams {
    /// A locale of the shop (else the best match of Accept-Language, else the default).
    #[param(max_length = 35)]
    pub locale: Option<String>,
    /// An ISO 4217 code (default: the shop's currency).
    #[param(pattern = "^[A-Za-z]{3}$")]
    pub currency: Option<String>,
}

/// The filters of `GET /storefront/products` (besides `limit`, `cursor` and `attr[name]=…`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ShopFilters {
    /// `newest` (default), `title`, `price_asc` or `price_desc`.
    #[param(inline)]
    pub sort: Option<ShopSort>,
    /// Cheapest base price at least this (minor units).
    #[param(minimum = 0)]
    pub price_min: Option<i64>,
    /// Cheapest base price at most this (minor units).
    #[param(minimum = 0)]
    pub price_max: Option<i64>,
    /// Text to find in titles (at most 100 characters).
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Attributes to count values of, comma-separated or repeated (at most 5).
    pub facets: Option<String>,
    #[param(max_length = 35)]
    pub locale: Option<String>,
    #[param(pattern = "^[A-Za-z]{3}$")]
    pub currency: Option<String>,
    /// Only the products of the collection with this handle (404 when the shop has none).
    #[param(pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 100)]
    pub collection: Option<String>,
}

/// The parameters of `GET /storefront/collections` (besides `limit` and `cursor`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CollectionFilters {
    #[param(max_length = 35)]
    pub locale: Option<String>,
    #[param(pattern = "^[A-Za-z]{3}$")]
    pub currency: Option<String>,
}

impl ListFilters for CollectionFilters {}

/// The parameters of `GET /storefront/collections/{handle}`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CollectionParams {
    #[param(max_length = 35)]
    pub locale: Option<String>,
    #[param(pattern = "^[A-Za-z]{3}$")]
    pub currency: Option<String>,
    /// How many products to include (1–100, default 24).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// The products a collection page shows unless told otherwise.
pub const COLLECTION_PRODUCTS: i64 = 24;

impl ListFilters for ShopFilters {
    const ATTRIBUTES: bool = true;
    const REPEATABLE: &'static [&'static str] = &["facets"];
}

impl ShopRequest {
    /// A product page's request.
    pub fn for_product(
        tenant: &Tenant,
        headers: &HeaderMap,
        shopper: Option<&Shopper>,
        params: AudienceParams,
    ) -> Result<Self, ApiError> {
        let (locale, currency) = audience(tenant, headers, params)?;
        Ok(ShopRequest { locale, currency, groups: groups(shopper), list: None })
    }

    /// A collection list's request and its cursor.
    pub fn for_collections(
        tenant: &Tenant,
        headers: &HeaderMap,
        shopper: Option<&Shopper>,
        list: &ListQuery<CollectionFilters>,
    ) -> Result<(Self, Option<kassa_domain::pagination::Cursor>), ApiError> {
        let params =
            AudienceParams { locale: list.filters.locale.clone(), currency: list.filters.currency.clone() };
        let request = Self::for_product(tenant, headers, shopper, params)?;
        let ordering = kassa_domain::resource::list_ordering::<kassa_domain::collections::Collection>();
        let cursor = list.cursor(tenant, &ordering, kassa_domain::pagination::KeyKind::Time)?;
        Ok((request, cursor))
    }

    /// A collection page's request and how many products it shows.
    pub fn for_collection(
        tenant: &Tenant,
        headers: &HeaderMap,
        shopper: Option<&Shopper>,
        params: CollectionParams,
    ) -> Result<(Self, i64), ApiError> {
        let limit = params.limit.unwrap_or(COLLECTION_PRODUCTS);
        if !(1..=100).contains(&limit) {
            return Err(ApiError::new(ErrorCode::InvalidLimit, "limit is a number from 1 to 100"));
        }
        let audience = AudienceParams { locale: params.locale, currency: params.currency };
        Ok((Self::for_product(tenant, headers, shopper, audience)?, limit))
    }

    /// A product list's request, within the limits above.
    pub fn for_list(
        tenant: &Tenant,
        headers: &HeaderMap,
        shopper: Option<&Shopper>,
        list: ListQuery<ShopFilters>,
    ) -> Result<Self, ApiError> {
        let filters = &list.filters;
        let audience_params =
            AudienceParams { locale: filters.locale.clone(), currency: filters.currency.clone() };
        let (locale, currency) = audience(tenant, headers, audience_params)?;
        let attributes = list.attributes.clone();
        if attributes.len() > MAX_ATTRIBUTE_FILTERS
            || attributes.values().any(|v| v.len() > MAX_ATTRIBUTE_VALUES)
        {
            return Err(ApiError::new(
                ErrorCode::TooManyFilters,
                format!(
                    "at most {MAX_ATTRIBUTE_FILTERS} attr[…] filters with {MAX_ATTRIBUTE_VALUES} values each"
                ),
            ));
        }
        let mut facets = BTreeSet::new();
        for facet in filters.facets.as_deref().unwrap_or_default().split(',').filter(|f| !f.is_empty()) {
            if facet.chars().count() > MAX_ATTRIBUTE_TEXT {
                return Err(ApiError::new(
                    ErrorCode::InvalidQuery,
                    format!("facets: attribute names are at most {MAX_ATTRIBUTE_TEXT} characters"),
                ));
            }
            facets.insert(facet.to_owned());
        }
        if facets.len() > MAX_FACETS {
            return Err(ApiError::new(ErrorCode::TooManyFacets, format!("at most {MAX_FACETS} facets")));
        }
        let q = filters.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_owned);
        if q.as_ref().is_some_and(|q| q.chars().count() > MAX_Q_CHARS) {
            return Err(ApiError::new(
                ErrorCode::QueryTooLong,
                format!("q is at most {MAX_Q_CHARS} characters"),
            ));
        }
        let amount = |key: &str, value: Option<i64>| match value {
            Some(n) if n < 0 => {
                Err(ApiError::new(ErrorCode::InvalidQuery, format!("{key} is a whole number ≥ 0")))
            }
            other => Ok(other),
        };
        let collection = match filters.collection.as_deref() {
            Some(handle) => Some(
                kassa_domain::types::Handle::parse(handle, 100)
                    .map_err(|_| ApiError::new(ErrorCode::InvalidHandle, "collection is no handle"))?
                    .to_string(),
            ),
            None => None,
        };
        let sort = filters.sort.unwrap_or(ShopSort::Newest);
        let ordering = ShopQuery::ordering(sort, &locale, &currency);
        let query = ShopQuery {
            limit: list.limit,
            sort,
            cursor: list.cursor(tenant, &ordering, sort.key_kind())?,
            attributes,
            price_min: amount("price_min", filters.price_min)?,
            price_max: amount("price_max", filters.price_max)?,
            q,
            facets,
            collection,
        };
        Ok(ShopRequest { locale, currency, groups: groups(shopper), list: Some(query) })
    }

    /// The cache key of this request on `route` (a product page names its `handle`): the
    /// request's JSON form, which no two different requests share.
    pub fn cache_key(&self, route: ShopRoute, handle: Option<&str>) -> String {
        #[derive(Serialize)]
        struct Key<'a> {
            route: &'static str,
            handle: Option<&'a str>,
            request: &'a ShopRequest,
        }
        let route = route.name();
        // Serialising plain strings, numbers and maps cannot fail.
        serde_json::to_string(&Key { route, handle, request: self }).unwrap_or_default()
    }

    /// Whether the answer depends on who is signed in (then it is `Cache-Control: private`).
    pub fn is_private(&self) -> bool {
        !self.groups.is_empty()
    }

    /// Who is asking: the groups' handles are looked up (only when computing an answer).
    pub async fn audience(&self, state: &AppState, tenant: &Tenant) -> Result<Audience, ApiError> {
        Ok(Audience {
            locale: self.locale.clone(),
            currency: self.currency.clone(),
            groups: storefront::customer_groups(&state.db, tenant, &self.groups).await?,
            at: chrono::Utc::now(),
            media_base_url: state.config.media_base_url.clone(),
        })
    }
}

/// The shopper's customer groups (sorted, no repeats), none when anonymous.
fn groups(shopper: Option<&Shopper>) -> Vec<Uuid> {
    shopper.map(|s| s.group_ids.clone()).unwrap_or_default()
}

/// Locale (the shop's best match) and currency (canonical).
fn audience(
    tenant: &Tenant,
    headers: &HeaderMap,
    params: AudienceParams,
) -> Result<(String, String), ApiError> {
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    let locale = params
        .locale
        .and_then(|l| negotiate(tenant, Some(&l)))
        .or_else(|| negotiate(tenant, accept))
        .unwrap_or_else(|| tenant.default_locale.clone());
    let currency = match params.currency {
        None => tenant.default_currency.clone(),
        Some(raw) => Currency::parse(&raw).map_err(query_error)?.code().to_owned(),
    };
    Ok((locale, currency))
}

/// Default lifetimes of storefront answers in seconds: browsers (`max-age`), shared caches
/// such as a CDN (`s-maxage`), and how long a stale answer may be served while the cache
/// fetches a fresh one (`stale-while-revalidate`).
pub const DEFAULT_MAX_AGE: u64 = 60;
pub const DEFAULT_S_MAXAGE: u64 = 30;
pub const DEFAULT_STALE_WHILE_REVALIDATE: u64 = 300;

/// `Cache-Control` for `route` from the shop's settings: `settings.storefront.routes.<route>.
/// <name>`, else `settings.storefront.<name>`, else the default. A signed-in shopper's answer
/// carries their groups' prices: browsers may keep it, shared caches must not.
pub fn cache_control(tenant: &Tenant, route: ShopRoute, private: bool) -> String {
    let storefront = tenant.settings.get("storefront");
    let setting = |name: &str, default: u64| {
        storefront
            .and_then(|s| s.get("routes")?.get(route.name())?.get(name)?.as_u64())
            .or_else(|| storefront?.get(name)?.as_u64())
            .unwrap_or(default)
    };
    let max_age = setting("max_age", DEFAULT_MAX_AGE);
    let stale = setting("stale_while_revalidate", DEFAULT_STALE_WHILE_REVALIDATE);
    if private {
        format!("private, max-age={max_age}, stale-while-revalidate={stale}")
    } else {
        let shared = setting("s_maxage", DEFAULT_S_MAXAGE);
        format!("public, max-age={max_age}, s-maxage={shared}, stale-while-revalidate={stale}")
    }
}

/// The HTTP answer for a (cached) response: `Cache-Control` from the shop's settings, the
/// strong ETag (304 when the client has it), the language, what it varies on and, for a
/// shared cache, its surrogate keys.
pub fn respond(
    tenant: &Tenant,
    route: ShopRoute,
    shop_request: &ShopRequest,
    request: &HeaderMap,
    cached: Cached,
    lookup: Lookup,
) -> Response {
    let private = shop_request.is_private();
    let cache_control = cache_control(tenant, route, private);
    let not_modified = request.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(',').any(|tag| tag.trim().trim_start_matches("W/") == cached.etag || tag.trim() == "*")
    });
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut ok = cached.body.into_response();
        ok.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        ok
    };
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(header::ETAG, &cached.etag);
    set(header::CACHE_CONTROL, &cache_control);
    set(header::CONTENT_LANGUAGE, &cached.content_language);
    set(header::VARY, "Accept-Language, X-Tenant-ID, Authorization");
    if !private && !cached.tags.is_empty() {
        set(header::HeaderName::from_static("surrogate-key"), &cached.tags);
    }
    set(header::HeaderName::from_static("x-cache"), lookup.as_str());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop(locales: &[&str]) -> Tenant {
        Tenant {
            id: kassa_domain::tenant::TenantId::new(),
            handle: "demo".into(),
            name: "Demo".into(),
            default_locale: locales[0].into(),
            locales: locales.iter().map(|l| (*l).to_owned()).collect(),
            default_currency: "EUR".into(),
            zitadel_org_id: None,
            settings: serde_json::json!({}),
        }
    }

    fn parse(tenant: &Tenant, params: &[(String, String)]) -> Result<ShopRequest, ApiError> {
        let list = kassa_http::list::parse::<ShopFilters>(params.to_vec())?;
        ShopRequest::for_list(tenant, &HeaderMap::new(), None, list)
    }

    fn pairs(raw: &[(&str, &str)]) -> Vec<(String, String)> {
        raw.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn a_filter_value_holding_an_encoded_ampersand_gets_its_own_cache_key() {
        let demo = shop(&["en", "nl"]);
        // `?attr%5Bcolor%5D=blue%26limit%3D7` decodes to one filter whose value has `&limit=7`.
        let smuggled = parse(&demo, &pairs(&[("attr[color]", "blue&limit=7")])).unwrap();
        let plain = parse(&demo, &pairs(&[("attr[color]", "blue"), ("limit", "7")])).unwrap();
        assert_ne!(smuggled, plain);
        assert_ne!(smuggled.cache_key(ShopRoute::Products, None), plain.cache_key(ShopRoute::Products, None));
        // A handle with a separator in it is no other route's key either.
        let product =
            ShopRequest::for_product(&demo, &HeaderMap::new(), None, AudienceParams::default()).unwrap();
        assert_ne!(
            product.cache_key(ShopRoute::Product, Some("mug\",\"route\":\"products")),
            product.cache_key(ShopRoute::Products, None)
        );
    }

    #[test]
    fn list_parameters_beyond_their_limits_are_refused() {
        let demo = shop(&["en"]);
        let refused = |raw: Vec<(String, String)>, code: &str| {
            let err = parse(&demo, &raw).unwrap_err();
            assert_eq!(err.code(), code, "{raw:?}");
        };
        refused(pairs(&[("q", &"x".repeat(MAX_Q_CHARS + 1))]), "query_too_long");
        let filters: Vec<(String, String)> =
            (0..=MAX_ATTRIBUTE_FILTERS).map(|n| (format!("attr[a{n}]"), "v".to_owned())).collect();
        refused(filters, "too_many_filters");
        let values = (0..=MAX_ATTRIBUTE_VALUES).map(|n| n.to_string()).collect::<Vec<_>>().join(",");
        refused(pairs(&[("attr[color]", &values)]), "too_many_filters");
        let facets = (0..=MAX_FACETS).map(|n| format!("f{n}")).collect::<Vec<_>>().join(",");
        refused(pairs(&[("facets", &facets)]), "too_many_facets");
        refused(pairs(&[("limit", "5"), ("limit", "7")]), "invalid_query");
        refused(pairs(&[("attr[]", "x")]), "invalid_query");
        // At the limits, fine.
        assert!(parse(&demo, &pairs(&[("q", &"x".repeat(MAX_Q_CHARS))])).is_ok());
    }

    /// Query strings over a small alphabet rich in separators, as (key, value) pairs.
    fn arbitrary_params() -> impl proptest::strategy::Strategy<Value = Vec<(String, String)>> {
        use proptest::prelude::*;
        let key = prop_oneof![
            Just("attr[color]".to_owned()),
            Just("attr[size]".to_owned()),
            Just("attr[a&b=c]".to_owned()),
            Just("facets".to_owned()),
            Just("q".to_owned()),
            Just("limit".to_owned()),
            Just("sort".to_owned()),
            Just("price_min".to_owned()),
        ];
        let value = proptest::string::string_regex("[a-c1&=,|%]{0,6}").unwrap();
        proptest::collection::vec((key, value), 0..5)
    }

    proptest::proptest! {
        #[test]
        fn requests_share_a_cache_key_exactly_when_they_parse_the_same(
            a in arbitrary_params(),
            b in arbitrary_params(),
            seed in 0u64..1_000,
        ) {
            let demo = shop(&["en", "nl"]);
            let (Ok(first), Ok(second)) = (parse(&demo, &a), parse(&demo, &b)) else { return Ok(()) };
            let key = |r: &ShopRequest| r.cache_key(ShopRoute::Products, None);
            proptest::prop_assert_eq!(first == second, key(&first) == key(&second));
            // The same parameters in another order (repeats of filters and facets add up)
            // ask the same question.
            let mut shuffled = a.clone();
            let len = shuffled.len().max(1);
            shuffled.rotate_left(usize::try_from(seed).unwrap_or(0) % len);
            shuffled.reverse();
            let again = parse(&demo, &shuffled).unwrap();
            proptest::prop_assert_eq!(key(&first), key(&again));
        }
    }

    #[test]
    fn accept_language_picks_the_best_locale_the_shop_has() {
        let demo = shop(&["en", "nl", "de-CH"]);
        assert_eq!(negotiate(&demo, Some("nl-BE,nl;q=0.9,en;q=0.8")).as_deref(), Some("nl"));
        assert_eq!(negotiate(&demo, Some("fr;q=0.9, de;q=0.5, en;q=0.7")).as_deref(), Some("en"));
        assert_eq!(negotiate(&demo, Some("de-DE")).as_deref(), Some("de-CH"));
        assert_eq!(negotiate(&demo, Some("fr, es")), None);
        assert_eq!(negotiate(&demo, Some("nl;q=0")), None);
        assert_eq!(negotiate(&demo, Some("")), None);
    }
}

//! The storefront function: the public, read-only API a shop's frontend calls. The tenant
//! comes from the Host header or `X-Tenant-ID`; no staff token is needed. Product reads are
//! answered from the Valkey response cache when they can be, with HTTP caching headers.

pub mod openapi;
pub mod shop;

use anyhow::anyhow;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use kassa_domain::storefront;
use kassa_http::cache::Cached;
use kassa_http::limits::{self, ClientIp};
use kassa_http::openapi::{Doc, schema};
use kassa_http::{ApiError, AppState, CurrentTenant, FunctionRoutes, Json, Path, Query, Shopper};
use serde::Serialize;

use crate::shop::{
    AudienceParams, CollectionFilters, CollectionParams, ShopFilters, ShopRequest, ShopRoute, respond,
};
use kassa_http::list::{ListQuery, params as list_params};

/// The function's routes, also read by the test that checks `template.yaml`.
pub fn routes() -> FunctionRoutes {
    FunctionRoutes::new("storefront")
        .public_get(
            "/storefront/tenant",
            Doc::new("getShop", "The shop: its name, locales and default currency")
                .returns(200, schema::<TenantProfile>),
            tenant_profile,
        )
        .public_get(
            "/storefront/products",
            Doc::new("listShopProducts", "A page of the shop's active products, with facets on request")
                .query(list_params::<ShopFilters>)
                .returns(200, schema::<storefront::ShopPage>)
                .shopper_optional(),
            list_products,
        )
        .public_get(
            "/storefront/products/{handle}",
            Doc::new("getShopProduct", "An active product's page: variants, prices, stock flags")
                .query(audience_params)
                .returns(200, schema::<storefront::ShopProduct>)
                .shopper_optional(),
            product,
        )
        .public_get(
            "/storefront/pages/{handle}",
            Doc::new(
                "getShopPage",
                "A published page: sections and blocks with texts in the request's locale and product blocks filled in \
                 for the shopper; ?preview=<token> shows the draft (never cached)",
            )
            .query(page_params)
            .returns(200, schema::<kassa_domain::pages::render::ShopPageDocument>)
            .shopper_optional(),
            page,
        )
        .public_get(
            "/storefront/collections",
            Doc::new("listShopCollections", "A page of the shop's collections")
                .query(list_params::<CollectionFilters>)
                .returns(200, schema::<storefront::ShopCollectionPage>)
                .shopper_optional(),
            list_collections,
        )
        .public_get(
            "/storefront/collections/{handle}",
            Doc::new("getShopCollection", "A collection and its first products, in the collection's order")
                .query(collection_params)
                .returns(200, schema::<storefront::ShopCollection>)
                .shopper_optional(),
            collection,
        )
        .open_get("/storefront/openapi.json", openapi::openapi_json)
}

/// The query parameters of a page: who is asking, and a preview token.
fn page_params() -> Vec<utoipa::openapi::path::Parameter> {
    use utoipa::IntoParams;
    PageParams::into_params(|| Some(utoipa::openapi::path::ParameterIn::Query))
}

/// `GET /storefront/pages/{handle}`'s query.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// A locale of the shop (else the best match of Accept-Language, else the default).
    #[param(max_length = 35)]
    pub locale: Option<String>,
    /// An ISO 4217 code (default: the shop's currency).
    #[param(pattern = "^[A-Za-z]{3}$")]
    pub currency: Option<String>,
    /// A preview token of this page (`POST /management/pages/{id}/preview-token`): the draft.
    #[param(max_length = 2048)]
    pub preview: Option<String>,
}

/// `GET /storefront/pages/{handle}`: the published page, cached like products (any catalog
/// write or publish changes the shop's catalog version, so product blocks never go stale);
/// with `?preview=` the draft, for that page's token only, never cached.
pub async fn page(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    Path(handle): Path<String>,
    shopper: Option<Shopper>,
    Query(params): Query<PageParams>,
) -> Result<Response, ApiError> {
    use kassa_domain::pages::render::{Source, render};
    let PageParams { locale, currency, preview } = params;
    let request =
        ShopRequest::for_product(&tenant, &headers, shopper.as_ref(), AudienceParams { locale, currency })?;
    if let Some(token) = preview {
        let page_id = kassa_http::preview::PreviewTokens::new(&state.config).verify(&token, &tenant)?;
        limits::storefront_miss(&state, client).await?;
        let audience = request.audience(&state, &tenant).await?;
        let document = render(&state.db, &tenant, &audience, &handle, Source::Draft).await?;
        if document.id != page_id {
            return Err(
                kassa_http::auth::AuthError::InvalidToken("this preview token is for another page").into()
            );
        }
        return Ok(([(http::header::CACHE_CONTROL, "private, no-store")], Json(document)).into_response());
    }
    let (cached, lookup) = state
        .cache
        .fetch(tenant.id, &request.cache_key(ShopRoute::Page, Some(&handle)), || async {
            limits::storefront_miss(&state, client).await?;
            let audience = request.audience(&state, &tenant).await?;
            let document = render(&state.db, &tenant, &audience, &handle, Source::Published).await?;
            let changes = storefront::next_price_change(&state.db, &tenant, &audience).await?;
            Ok::<_, ApiError>(answer(&tenant, &document, &audience.locale)?.expiring_at(changes))
        })
        .await?;
    Ok(respond(&tenant, ShopRoute::Page, &request, &headers, cached, lookup))
}

/// The query parameters of a product page: who is asking.
fn audience_params() -> Vec<utoipa::openapi::path::Parameter> {
    use utoipa::IntoParams;
    AudienceParams::into_params(|| Some(utoipa::openapi::path::ParameterIn::Query))
}

/// The query parameters of a collection page.
fn collection_params() -> Vec<utoipa::openapi::path::Parameter> {
    use utoipa::IntoParams;
    CollectionParams::into_params(|| Some(utoipa::openapi::path::ParameterIn::Query))
}

/// A storefront answer to cache: its JSON, language and surrogate keys (the shop and every
/// product it shows), by which a CDN may purge it.
fn answer<T: Serialize + storefront::ShowsProducts>(
    tenant: &kassa_domain::tenant::Tenant,
    value: &T,
    locale: &str,
) -> Result<Cached, ApiError> {
    let mut keys = vec![format!("shop-{}", tenant.id)];
    let mut products = value.product_ids();
    products.sort_unstable();
    products.dedup();
    keys.extend(products.into_iter().map(|id| format!("product-{id}")));
    Ok(Cached::json(value, locale)?.tagged(&keys.join(" ")))
}

pub fn router(state: AppState) -> Router {
    routes().into_router(state)
}

/// What a shop shows the public about itself.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TenantProfile {
    pub id: String,
    pub handle: String,
    pub name: String,
    pub default_locale: String,
    pub locales: Vec<String>,
    pub default_currency: String,
}

pub async fn tenant_profile(CurrentTenant(tenant): CurrentTenant) -> Json<TenantProfile> {
    Json(TenantProfile {
        id: tenant.id.to_string(),
        handle: tenant.handle.clone(),
        name: tenant.name.clone(),
        default_locale: tenant.default_locale.clone(),
        locales: tenant.locales.clone(),
        default_currency: tenant.default_currency.clone(),
    })
}

/// `GET /storefront/products`: a page of active products, with facets on request.
pub async fn list_products(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    client: ClientIp,
    shopper: Option<Shopper>,
    headers: HeaderMap,
    list: ListQuery<ShopFilters>,
) -> Result<Response, ApiError> {
    let request = ShopRequest::for_list(&tenant, &headers, shopper.as_ref(), list)?;
    let query =
        request.list.as_ref().ok_or_else(|| ApiError::internal(anyhow!("a list without parameters")))?;
    let (cached, lookup) = state
        .cache
        .fetch(tenant.id, &request.cache_key(ShopRoute::Products, None), || async {
            limits::storefront_miss(&state, client).await?;
            let audience = request.audience(&state, &tenant).await?;
            let page = storefront::list(&state.db, &tenant, &audience, query).await?;
            let changes = storefront::next_price_change(&state.db, &tenant, &audience).await?;
            Ok::<_, ApiError>(answer(&tenant, &page, &audience.locale)?.expiring_at(changes))
        })
        .await?;
    Ok(respond(&tenant, ShopRoute::Products, &request, &headers, cached, lookup))
}

/// `GET /storefront/products/{handle}`: a product page with its variants.
pub async fn product(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    Path(handle): Path<String>,
    shopper: Option<Shopper>,
    Query(params): Query<AudienceParams>,
) -> Result<Response, ApiError> {
    let request = ShopRequest::for_product(&tenant, &headers, shopper.as_ref(), params)?;
    let (cached, lookup) = state
        .cache
        .fetch(tenant.id, &request.cache_key(ShopRoute::Product, Some(&handle)), || async {
            limits::storefront_miss(&state, client).await?;
            let audience = request.audience(&state, &tenant).await?;
            let product = storefront::product(&state.db, &tenant, &audience, &handle).await?;
            let changes = storefront::next_price_change(&state.db, &tenant, &audience).await?;
            Ok::<_, ApiError>(answer(&tenant, &product, &audience.locale)?.expiring_at(changes))
        })
        .await?;
    Ok(respond(&tenant, ShopRoute::Product, &request, &headers, cached, lookup))
}

/// `GET /storefront/collections`: a page of the shop's collections.
pub async fn list_collections(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    client: ClientIp,
    shopper: Option<Shopper>,
    headers: HeaderMap,
    list: ListQuery<CollectionFilters>,
) -> Result<Response, ApiError> {
    let (request, cursor) = ShopRequest::for_collections(&tenant, &headers, shopper.as_ref(), &list)?;
    let key = serde_json::json!([list.limit, cursor]).to_string();
    let (cached, lookup) = state
        .cache
        .fetch(tenant.id, &request.cache_key(ShopRoute::Collections, Some(&key)), || async {
            limits::storefront_miss(&state, client).await?;
            let audience = request.audience(&state, &tenant).await?;
            let page =
                storefront::collections(&state.db, &tenant, &audience, list.limit, cursor.as_ref()).await?;
            answer(&tenant, &page, &audience.locale)
        })
        .await?;
    Ok(respond(&tenant, ShopRoute::Collections, &request, &headers, cached, lookup))
}

/// `GET /storefront/collections/{handle}`: a collection and its first products.
pub async fn collection(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    Path(handle): Path<String>,
    shopper: Option<Shopper>,
    Query(params): Query<CollectionParams>,
) -> Result<Response, ApiError> {
    let (request, limit) = ShopRequest::for_collection(&tenant, &headers, shopper.as_ref(), params)?;
    let key = format!("{limit}:{handle}");
    let (cached, lookup) = state
        .cache
        .fetch(tenant.id, &request.cache_key(ShopRoute::Collection, Some(&key)), || async {
            limits::storefront_miss(&state, client).await?;
            let audience = request.audience(&state, &tenant).await?;
            let page = storefront::collection(&state.db, &tenant, &audience, &handle, limit).await?;
            let changes = storefront::next_price_change(&state.db, &tenant, &audience).await?;
            Ok::<_, ApiError>(answer(&tenant, &page, &audience.locale)?.expiring_at(changes))
        })
        .await?;
    Ok(respond(&tenant, ShopRoute::Collection, &request, &headers, cached, lookup))
}

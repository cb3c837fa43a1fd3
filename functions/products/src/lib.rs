//! The products function: products, their variants and stock, their images and uploads,
//! and collections. Staff API: catalog readers read, catalog writers write.

pub mod merchandising;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use kassa_domain::access::Action;
use kassa_domain::collections::{Collection, CollectionProducts};
use kassa_domain::media::{MediaDraft, MediaOrder, MediaUpdate, ProductMedia, UploadRequest};
use kassa_domain::pagination::{Page, SortOrder};
use kassa_domain::products::{
    self, DeleteOutcome, Product, ProductDraft, ProductQuery, ProductSortKey, ProductStatus,
};
use kassa_domain::variants::{self, StockAdjustment, StockLevel, Variant, VariantDraft};
use kassa_http::list::{ListFilters, ListQuery};
use kassa_http::openapi::{Doc, schema};
use kassa_http::rest::{IfMatch, created, patched, query_error, versioned};
use kassa_http::{Access, ApiError, AppState, FunctionRoutes, Json, Path, Staff, Verb};
use kassa_runtime::media::UploadTicket;
use merchandising::MediaList;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::IntoParams;
use uuid::Uuid;

const READ: Access = Access::Allowed(Action::CatalogRead);
const WRITE: Access = Access::Allowed(Action::CatalogWrite);

/// The filters of `GET /management/products` (besides `limit`, `cursor` and
/// `attr[name]=value`, which may repeat or list values separated by commas: any matches).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProductFilters {
    /// What to sort by (default `created_at`).
    #[param(inline)]
    pub sort: Option<ProductSortKey>,
    /// `asc` (default) or `desc`.
    #[param(inline)]
    pub order: Option<SortOrder>,
    /// The locale to sort titles by (default: the shop's).
    #[param(max_length = 35)]
    pub locale: Option<String>,
    #[param(inline)]
    pub status: Option<ProductStatus>,
    /// Text to find in titles, the handle or SKUs.
    #[param(max_length = 100)]
    pub q: Option<String>,
}

impl ListFilters for ProductFilters {
    const ATTRIBUTES: bool = true;
}

/// The function's routes, also read by the template and OpenAPI tests.
pub fn routes() -> FunctionRoutes {
    use Verb::{Delete, Get, Patch, Post, Put};
    const PRODUCTS: &str = "/management/products";
    const PRODUCT: &str = "/management/products/{id}";
    const VARIANTS: &str = "/management/products/{id}/variants";
    const VARIANT: &str = "/management/products/{id}/variants/{variant_id}";
    const MEDIA: &str = "/management/products/{id}/media";
    const IMAGE: &str = "/management/products/{id}/media/{media_id}";
    FunctionRoutes::new("products")
        .staff(
            Get,
            PRODUCTS,
            READ,
            Doc::new("listProducts", "List products; filter attributes with attr[name]=value")
                .lists::<ProductFilters, Product>(),
            list_products,
        )
        .staff(
            Post,
            PRODUCTS,
            WRITE,
            Doc::new("createProduct", "Create a product").creates::<ProductDraft, Product>(),
            create_product,
        )
        .staff(
            Get,
            PRODUCT,
            READ,
            Doc::new("getProduct", "Get a product").returns(200, schema::<Product>),
            get_product,
        )
        .staff(
            Patch,
            PRODUCT,
            WRITE,
            Doc::new(
                "updateProduct",
                "Update a product (JSON merge patch; If-Match for optimistic concurrency)",
            )
            .patches::<ProductDraft, Product>(),
            update_product,
        )
        .staff(
            Delete,
            PRODUCT,
            WRITE,
            Doc::new("deleteProduct", "Delete a product, or archive it once it has been active")
                .returns(200, schema::<ProductDeletion>),
            delete_product,
        )
        .staff(
            Get,
            VARIANTS,
            READ,
            Doc::new("listVariants", "List a product's variants").returns(200, schema::<VariantList>),
            list_variants,
        )
        .staff(
            Post,
            VARIANTS,
            WRITE,
            Doc::new("createVariant", "Add a variant").creates::<VariantDraft, Variant>(),
            create_variant,
        )
        .staff(
            Get,
            VARIANT,
            READ,
            Doc::new("getVariant", "Get a variant").returns(200, schema::<Variant>),
            get_variant,
        )
        .staff(
            Patch,
            VARIANT,
            WRITE,
            Doc::new("updateVariant", "Update a variant (JSON merge patch)")
                .patches::<VariantDraft, Variant>(),
            update_variant,
        )
        .staff(
            Delete,
            VARIANT,
            WRITE,
            Doc::new("deleteVariant", "Delete a variant").no_content(),
            delete_variant,
        )
        .staff(
            Post,
            "/management/variants/{id}/stock-adjustments",
            WRITE,
            Doc::new("adjustStock", "Add or remove stock; never below zero")
                .body(schema::<StockAdjustment>)
                .returns(200, schema::<StockLevel>),
            adjust_stock,
        )
        .staff(
            Get,
            MEDIA,
            READ,
            Doc::new("listMedia", "List a product's images").returns(200, schema::<MediaList>),
            merchandising::list_media,
        )
        .staff(
            Post,
            MEDIA,
            WRITE,
            Doc::new("attachMedia", "Attach an image: an upload's key, or an external https URL")
                .creates::<MediaDraft, ProductMedia>(),
            merchandising::attach_media,
        )
        .staff(
            Put,
            MEDIA,
            WRITE,
            Doc::new("reorderMedia", "Put a product's images in order (every image once)")
                .body(schema::<MediaOrder>)
                .returns(200, schema::<MediaList>),
            merchandising::reorder_media,
        )
        .staff(
            Get,
            IMAGE,
            READ,
            Doc::new("getMedia", "Get an image").returns(200, schema::<ProductMedia>),
            merchandising::get_media,
        )
        .staff(
            Patch,
            IMAGE,
            WRITE,
            Doc::new("updateMedia", "Update an image's alt text or variant (JSON merge patch)")
                .patches::<MediaUpdate, ProductMedia>(),
            merchandising::update_media,
        )
        .staff(
            Delete,
            IMAGE,
            WRITE,
            Doc::new("deleteMedia", "Remove an image (its uploaded object is deleted by the worker)")
                .no_content(),
            merchandising::delete_media,
        )
        .staff(
            Post,
            "/management/uploads",
            WRITE,
            Doc::new("createUpload", "A presigned S3 PUT for one image (type and size fixed, 15 minutes)")
                .body(schema::<UploadRequest>)
                .returns(201, schema::<UploadTicket>),
            merchandising::create_upload,
        )
        .crud::<Collection>("/management/collections", (READ, WRITE))
        .staff(
            Put,
            "/management/collections/{id}/products",
            WRITE,
            Doc::new("setCollectionProducts", "Set a manual collection's products, in order")
                .body(schema::<CollectionProducts>)
                .returns(200, schema::<Collection>),
            merchandising::set_collection_products,
        )
}

pub fn router(state: AppState) -> Router {
    routes().into_router(state)
}

/// What `DELETE /management/products/{id}` did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductDeletion {
    pub id: Uuid,
    pub outcome: DeleteOutcome,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VariantList {
    pub items: Vec<Variant>,
}

/// The product list `list` asks for, validated for the staff member's shop.
fn product_query(staff: &Staff, list: ListQuery<ProductFilters>) -> Result<ProductQuery, ApiError> {
    let tenant = &staff.tenant;
    let filters = &list.filters;
    let sort = products::sort_by(filters.sort.unwrap_or_default(), filters.locale.as_deref(), tenant)
        .map_err(query_error)?;
    let mut query = ProductQuery {
        limit: list.limit,
        sort,
        descending: filters.order == Some(SortOrder::Desc),
        cursor: None,
        status: filters.status,
        q: filters.q.clone(),
        attributes: list.attributes.iter().map(|(k, v)| (k.clone(), v.iter().cloned().collect())).collect(),
    };
    query.cursor = list.cursor(tenant, &query.ordering(), query.key_kind())?;
    Ok(query)
}

async fn list_products(
    staff: Staff,
    State(state): State<AppState>,
    list: ListQuery<ProductFilters>,
) -> Result<Json<Page<Product>>, ApiError> {
    let query = product_query(&staff, list)?;
    Ok(Json(products::list(&state.db, &staff.tenant, &query).await?))
}

async fn create_product(
    staff: Staff,
    State(state): State<AppState>,
    Json(draft): Json<ProductDraft>,
) -> Result<Response, ApiError> {
    let product = products::create(&state.db, &staff.tenant, &draft).await?;
    state.cache.bump(staff.tenant.id).await;
    Ok(created(format!("/management/products/{}", product.id), &product, product.version))
}

async fn get_product(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let product = products::get(&state.db, &staff.tenant, id).await?;
    Ok(versioned(StatusCode::OK, &product, product.version))
}

async fn update_product(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let current = products::get(&state.db, &staff.tenant, id).await?;
    let draft = patched(if_match, "product", current.version, &ProductDraft::from(&current), &body)?;
    let product = products::update(&state.db, &staff.tenant, id, current.version, &draft).await?;
    state.cache.bump(staff.tenant.id).await;
    Ok(versioned(StatusCode::OK, &product, product.version))
}

async fn delete_product(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Json<ProductDeletion>, ApiError> {
    let outcome = products::delete(&state.db, &staff.tenant, id).await?;
    state.cache.bump(staff.tenant.id).await;
    Ok(Json(ProductDeletion { id, outcome }))
}

async fn list_variants(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Json<VariantList>, ApiError> {
    Ok(Json(VariantList { items: variants::list(&state.db, &staff.tenant, id).await? }))
}

async fn create_variant(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Json(draft): Json<VariantDraft>,
) -> Result<Response, ApiError> {
    let variant = variants::create(&state.db, &staff.tenant, id, &draft).await?;
    state.cache.bump(staff.tenant.id).await;
    Ok(created(format!("/management/products/{id}/variants/{}", variant.id), &variant, variant.version))
}

async fn get_variant(
    staff: Staff,
    State(state): State<AppState>,
    Path((id, variant_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let variant = variants::get(&state.db, &staff.tenant, id, variant_id).await?;
    Ok(versioned(StatusCode::OK, &variant, variant.version))
}

async fn update_variant(
    staff: Staff,
    State(state): State<AppState>,
    Path((id, variant_id)): Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let current = variants::get(&state.db, &staff.tenant, id, variant_id).await?;
    let draft = patched(if_match, "variant", current.version, &VariantDraft::from(&current), &body)?;
    let variant = variants::update(&state.db, &staff.tenant, id, variant_id, current.version, &draft).await?;
    state.cache.bump(staff.tenant.id).await;
    Ok(versioned(StatusCode::OK, &variant, variant.version))
}

async fn delete_variant(
    staff: Staff,
    State(state): State<AppState>,
    Path((id, variant_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    variants::delete(&state.db, &staff.tenant, id, variant_id).await?;
    state.cache.bump(staff.tenant.id).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn adjust_stock(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Json(adjustment): Json<StockAdjustment>,
) -> Result<Json<StockLevel>, ApiError> {
    let level = variants::adjust_stock(&state.db, &staff.tenant, id, &adjustment).await?;
    state.cache.bump(staff.tenant.id).await;
    Ok(Json(level))
}

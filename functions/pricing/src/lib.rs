//! The pricing function: customer groups, subscription plans, price lists and their tier
//! prices. Staff API: catalog readers read, catalog writers write.

use axum::Router;
use axum::extract::State;
use http::StatusCode;
use kassa_domain::access::Action;
use kassa_domain::pagination::{KeyKind, Page};
use kassa_domain::pricing::{
    self, CustomerGroup, ListPriceRow, PRICES_ORDERING, PriceList, PriceUpsert, PriceUpsertResult,
    SubscriptionPlan,
};
use kassa_http::list::{ListQuery, NoFilters};
use kassa_http::openapi::{Doc, schema};
use kassa_http::{Access, ApiError, AppState, FunctionRoutes, Json, Path, Staff, Verb};
use uuid::Uuid;

const ACCESS: (Access, Access) =
    (Access::Allowed(Action::CatalogRead), Access::Allowed(Action::CatalogWrite));

/// The function's routes, also read by the template and OpenAPI tests.
pub fn routes() -> FunctionRoutes {
    let (read, write) = ACCESS;
    FunctionRoutes::new("pricing")
        .crud::<CustomerGroup>("/management/customer-groups", ACCESS)
        .crud::<SubscriptionPlan>("/management/subscription-plans", ACCESS)
        .crud::<PriceList>("/management/price-lists", ACCESS)
        .staff(
            Verb::Get,
            "/management/price-lists/{id}/prices",
            read,
            Doc::new("listPrices", "List a price list's prices").lists::<NoFilters, ListPriceRow>(),
            list_prices,
        )
        .staff(
            Verb::Post,
            "/management/price-lists/{id}/prices",
            write,
            Doc::new("upsertPrices", "Insert or replace up to 1,000 prices, all or nothing")
                .body(schema::<PriceUpsert>)
                .returns(200, schema::<PriceUpsertResult>),
            upsert_prices,
        )
        .staff(
            Verb::Delete,
            "/management/price-lists/{id}/prices/{variant_id}/{min_quantity}",
            write,
            Doc::new("deletePrice", "Remove one tier price").no_content(),
            delete_price,
        )
}

pub fn router(state: AppState) -> Router {
    routes().into_router(state)
}

async fn list_prices(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    query: ListQuery<NoFilters>,
) -> Result<Json<Page<ListPriceRow>>, ApiError> {
    let cursor = query.cursor(&staff.tenant, PRICES_ORDERING, KeyKind::Integer)?;
    Ok(Json(pricing::list_prices(&state.db, &staff.tenant, id, query.limit, cursor.as_ref()).await?))
}

async fn upsert_prices(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Json(upsert): Json<PriceUpsert>,
) -> Result<Json<PriceUpsertResult>, ApiError> {
    let result = pricing::upsert_prices(&state.db, &staff.tenant, id, &upsert).await?;
    state.cache.bump(staff.tenant.id).await;
    Ok(Json(result))
}

async fn delete_price(
    staff: Staff,
    State(state): State<AppState>,
    Path((id, variant_id, min_quantity)): Path<(Uuid, Uuid, i64)>,
) -> Result<StatusCode, ApiError> {
    pricing::delete_price(&state.db, &staff.tenant, id, variant_id, min_quantity).await?;
    state.cache.bump(staff.tenant.id).await;
    Ok(StatusCode::NO_CONTENT)
}

//! Collections' product lists, uploads and product media: the handlers next to the
//! collections' generic CRUD in [`crate::routes`].

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use kassa_domain::collections::{self, Collection, CollectionProducts};
use kassa_domain::media::{self, MediaDraft, MediaOrder, MediaUpdate, ProductMedia, UploadRequest};
use kassa_domain::resource;
use kassa_http::rest::{IfMatch, created, patched, versioned};
use kassa_http::{ApiError, AppState, Json, Path, Staff};
use kassa_runtime::media::{MediaStore, UploadTicket};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// A product's images, in order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MediaList {
    pub items: Vec<ProductMedia>,
}

pub async fn set_collection_products(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Json(products): Json<CollectionProducts>,
) -> Result<Response, ApiError> {
    let collection = collections::set_products(&state.db, &staff.tenant, id, &products).await?;
    state.cache.bump(staff.tenant.id).await;
    Ok(versioned(StatusCode::OK, &resource::public_json::<Collection>(&collection), collection.version))
}

pub async fn create_upload(
    staff: Staff,
    State(state): State<AppState>,
    Json(request): Json<UploadRequest>,
) -> Result<(StatusCode, Json<UploadTicket>), ApiError> {
    let store = MediaStore::shared(&state.config).await;
    let ticket = kassa_runtime::media::issue_upload(&state.db, &store, &staff.tenant, &request).await?;
    Ok((StatusCode::CREATED, Json(ticket)))
}

pub async fn list_media(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Json<MediaList>, ApiError> {
    Ok(Json(MediaList { items: media::list(&state.db, &staff.tenant, id).await? }))
}

pub async fn attach_media(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Json(draft): Json<MediaDraft>,
) -> Result<Response, ApiError> {
    let store = MediaStore::shared(&state.config).await;
    let image = kassa_runtime::media::attach(&state.db, &store, &staff.tenant, id, &draft).await?;
    state.cache.bump(staff.tenant.id).await;
    Ok(created(format!("/management/products/{id}/media/{}", image.id), &image, image.version))
}

pub async fn reorder_media(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Json(order): Json<MediaOrder>,
) -> Result<Json<MediaList>, ApiError> {
    let items = media::reorder(&state.db, &staff.tenant, id, &order).await?;
    state.cache.bump(staff.tenant.id).await;
    Ok(Json(MediaList { items }))
}

pub async fn get_media(
    staff: Staff,
    State(state): State<AppState>,
    Path((id, media_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let image = media::get(&state.db, &staff.tenant, id, media_id).await?;
    Ok(versioned(StatusCode::OK, &image, image.version))
}

pub async fn update_media(
    staff: Staff,
    State(state): State<AppState>,
    Path((id, media_id)): Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let current = media::get(&state.db, &staff.tenant, id, media_id).await?;
    let draft = patched(if_match, "image", current.version, &MediaUpdate::from(&current), &body)?;
    let image = media::update(&state.db, &staff.tenant, id, media_id, current.version, &draft).await?;
    state.cache.bump(staff.tenant.id).await;
    Ok(versioned(StatusCode::OK, &image, image.version))
}

pub async fn delete_media(
    staff: Staff,
    State(state): State<AppState>,
    Path((id, media_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    media::delete(&state.db, &staff.tenant, id, media_id).await?;
    state.cache.bump(staff.tenant.id).await;
    Ok(StatusCode::NO_CONTENT)
}

//! The pages function: a shop's pages under `/management/pages…` (fields through the generic
//! CRUD; the document through `PUT …/draft`; `POST …/publish` makes an immutable revision;
//! revisions, restore, scheduling, preview tokens), the shop's page JSON Schema at
//! `/management/schemas/page.json`, and its block types under `/management/block-types…`.
//! The storefront's `GET /storefront/pages/{handle}` is the storefront function's.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::StatusCode;
use kassa_domain::access::Action;
use kassa_domain::pages::blocks::{self, BlockType, BlockTypeDraft};
use kassa_domain::pages::{self, Page, Revision, RevisionSummary};
use kassa_http::openapi::{Doc, schema};
use kassa_http::preview::PreviewTokens;
use kassa_http::rest::{IfMatch, versioned};
use kassa_http::{Access, ApiError, AppState, FunctionRoutes, Json, Path, Staff, Verb};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

const READ: Access = Access::Allowed(Action::ContentRead);
const WRITE: Access = Access::Allowed(Action::ContentWrite);

/// The function's routes, also read by the template and OpenAPI tests.
pub fn routes() -> FunctionRoutes {
    use Verb::{Delete, Get, Post, Put};
    FunctionRoutes::new("pages")
        .crud::<Page>("/management/pages", (READ, WRITE))
        .staff(
            Get,
            "/management/pages/{id}/draft",
            READ,
            Doc::new("getPageDraft", "The page's draft document (ETag: the page's version)")
                .returns(200, document_schema),
            get_draft,
        )
        .staff(
            Put,
            "/management/pages/{id}/draft",
            WRITE,
            Doc::new(
                "savePageDraft",
                "Save the page's draft document (If-Match: the page's ETag); validated against /management/schemas/page.json, \
                 rich text made safe; every violation is a 422 with a pointer into the document; answers the draft as stored",
            )
            .if_match()
            .body(document_schema)
            .returns(200, document_schema),
            save_draft,
        )
        .staff(
            Post,
            "/management/pages/{id}/publish",
            WRITE,
            Doc::new("publishPage", "Publish the draft now as a new immutable revision (emits page.published)")
                .returns(200, schema::<Page>),
            publish,
        )
        .staff(
            Post,
            "/management/pages/{id}/schedule",
            WRITE,
            Doc::new("schedulePage", "Publish the draft at a moment (`at`), or cancel the schedule (`at`: null)")
                .body(schema::<ScheduleRequest>)
                .returns(200, schema::<Page>),
            schedule,
        )
        .staff(
            Get,
            "/management/pages/{id}/revisions",
            READ,
            Doc::new("listPageRevisions", "The page's published revisions, newest first")
                .returns(200, schema::<RevisionList>),
            revisions,
        )
        .staff(
            Get,
            "/management/pages/{id}/revisions/{number}",
            READ,
            Doc::new("getPageRevision", "A published revision and its document").returns(200, schema::<Revision>),
            revision,
        )
        .staff(
            Post,
            "/management/pages/{id}/revisions/{number}/restore",
            WRITE,
            Doc::new(
                "restorePageRevision",
                "Copy a revision into the draft; with publish: true also publish it as a new revision (old revisions never change)",
            )
            .body(schema::<RestoreRequest>)
            .returns(200, schema::<Page>),
            restore,
        )
        .staff(
            Post,
            "/management/pages/{id}/preview-token",
            READ,
            Doc::new(
                "createPagePreviewToken",
                "A token (15 minutes, this page of this shop only) that shows the draft at GET /storefront/pages/{handle}?preview=<token>",
            )
            .returns(201, schema::<PreviewToken>),
            preview_token,
        )
        .staff(
            Get,
            "/management/schemas/page.json",
            READ,
            Doc::new(
                "getPageSchema",
                "The shop's page document JSON Schema (draft 2020-12): structure, layouts, its section and block types and their settings",
            )
            .returns(200, document_schema),
            page_schema,
        )
        .staff(
            Get,
            "/management/block-types",
            READ,
            Doc::new("listBlockTypes", "The built-in section and block types, then the shop's own")
                .returns(200, schema::<BlockTypeList>),
            list_block_types,
        )
        .staff(
            Get,
            BLOCK_TYPE,
            READ,
            Doc::new("getBlockType", "A section or block type").returns(200, schema::<BlockType>),
            get_block_type,
        )
        .staff(
            Put,
            BLOCK_TYPE,
            WRITE,
            Doc::new(
                "putBlockType",
                "Create or replace one of the shop's own types (If-Match for a replace); refused with 409 block_type_in_use \
                 when a page would become invalid",
            )
            .if_match()
            .body(schema::<BlockTypeDraft>)
            .returns(200, schema::<BlockType>),
            put_block_type,
        )
        .staff(
            Delete,
            BLOCK_TYPE,
            WRITE,
            Doc::new("deleteBlockType", "Delete one of the shop's own types no page uses").no_content(),
            delete_block_type,
        )
}

const BLOCK_TYPE: &str = "/management/block-types/{name}";

/// A page document: `{layout, sections: [{id, type, settings, blocks: [{id, type, settings}]}]}`
/// (the shop's exact schema is `GET /management/schemas/page.json`).
fn document_schema(
    _: &mut kassa_http::openapi::Schemas,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "A page document; GET /management/schemas/page.json is the shop's exact JSON Schema",
        ))
        .into()
}

pub fn router(state: AppState) -> Router {
    routes().into_router(state)
}

async fn save_draft(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(document): Json<Value>,
) -> Result<Response, ApiError> {
    let expected = match if_match.0 {
        Some(version) => version,
        None => kassa_domain::resource::get::<Page>(&state.db, &staff.tenant, id).await?.version,
    };
    let draft = pages::save_draft(&state.db, &staff.tenant, id, expected, &document).await?;
    Ok(versioned(StatusCode::OK, &draft.document, draft.version))
}

async fn get_draft(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let draft = pages::draft(&state.db, &staff.tenant, id).await?;
    Ok(versioned(StatusCode::OK, &draft.document, draft.version))
}

async fn publish(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let page = pages::publish(&state.db, &staff.tenant, id).await?;
    state.cache.bump(staff.tenant.id).await;
    Ok(versioned(StatusCode::OK, &page, page.version))
}

/// `POST /management/pages/{id}/schedule`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    /// When to publish the draft (as it is then); `null` cancels the schedule.
    pub at: Option<DateTime<Utc>>,
}

async fn schedule(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Json(request): Json<ScheduleRequest>,
) -> Result<Response, ApiError> {
    let page = pages::schedule(&state.db, &staff.tenant, id, request.at).await?;
    Ok(versioned(StatusCode::OK, &page, page.version))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RevisionList {
    pub items: Vec<RevisionSummary>,
}

async fn revisions(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Json<RevisionList>, ApiError> {
    Ok(Json(RevisionList { items: pages::revisions(&state.db, &staff.tenant, id).await? }))
}

async fn revision(
    staff: Staff,
    State(state): State<AppState>,
    Path((id, number)): Path<(Uuid, i32)>,
) -> Result<Json<Revision>, ApiError> {
    Ok(Json(pages::revision(&state.db, &staff.tenant, id, number).await?))
}

/// `POST /management/pages/{id}/revisions/{number}/restore`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// Also publish the restored draft as a new revision (default false).
    #[serde(default)]
    pub publish: bool,
}

async fn restore(
    staff: Staff,
    State(state): State<AppState>,
    Path((id, number)): Path<(Uuid, i32)>,
    Json(request): Json<RestoreRequest>,
) -> Result<Response, ApiError> {
    let page = pages::restore(&state.db, &staff.tenant, id, number, request.publish).await?;
    if request.publish {
        state.cache.bump(staff.tenant.id).await;
    }
    Ok(versioned(StatusCode::OK, &page, page.version))
}

/// A preview token and where it shows the draft.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PreviewToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    /// The storefront path that shows the draft with this token.
    #[schema(example = "/storefront/pages/about?preview=eyJ…")]
    pub path: String,
}

async fn preview_token(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let page = kassa_domain::resource::get::<Page>(&state.db, &staff.tenant, id).await?;
    let (token, expires_at) = PreviewTokens::new(&state.config).mint(&staff.tenant, page.id)?;
    let path = format!("/storefront/pages/{}?preview={token}", page.handle);
    Ok((StatusCode::CREATED, Json(PreviewToken { token, expires_at, path })).into_response())
}

async fn page_schema(staff: Staff, State(state): State<AppState>) -> Result<Response, ApiError> {
    let types = pages::types(&state.db, &staff.tenant).await?;
    let schema = pages::schema::page_schema(&staff.tenant, &types);
    Ok(([(http::header::CONTENT_TYPE, "application/schema+json")], axum::Json(schema)).into_response())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BlockTypeList {
    pub items: Vec<BlockType>,
}

async fn list_block_types(
    staff: Staff,
    State(state): State<AppState>,
) -> Result<Json<BlockTypeList>, ApiError> {
    Ok(Json(BlockTypeList { items: blocks::list(&state.db, &staff.tenant).await? }))
}

async fn get_block_type(
    staff: Staff,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let found = blocks::get(&state.db, &staff.tenant, &name).await?;
    let mut response = Json(&found).into_response();
    if let Some(version) = found.version {
        response = versioned(StatusCode::OK, &found, version);
    }
    Ok(response)
}

async fn put_block_type(
    staff: Staff,
    State(state): State<AppState>,
    Path(name): Path<String>,
    if_match: IfMatch,
    Json(draft): Json<BlockTypeDraft>,
) -> Result<Response, ApiError> {
    let (found, _created) = blocks::put(&state.db, &staff.tenant, &name, &draft, if_match.0).await?;
    state.cache.bump(staff.tenant.id).await;
    Ok(versioned(StatusCode::OK, &found, found.version.unwrap_or_default()))
}

async fn delete_block_type(
    staff: Staff,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    blocks::delete(&state.db, &staff.tenant, &name).await?;
    state.cache.bump(staff.tenant.id).await;
    Ok(StatusCode::NO_CONTENT)
}

//! The five routes of a plain management resource (customer groups, subscription plans,
//! price lists, workflows, tax rates), written once: list, create, get, merge-patch update,
//! delete. Writes call the resource's `Editable::create` / `update`, where its SQL is.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use kassa_domain::pagination::{KeyKind, Page};
use kassa_domain::resource::{self, Editable};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::extract::{Json, Path};
use crate::list::{ListQuery, NoFilters, params as list_params};
use crate::openapi::{Doc, page, patch, schema};
use crate::problem::ApiError;
use crate::rest::{IfMatch, created, patched, versioned};
use crate::routes::{FunctionRoutes, Verb};
use crate::staff::{Access, Staff};
use crate::state::AppState;

/// Operation ids and summaries of a resource's five routes.
pub struct CrudDocs {
    pub list: (&'static str, &'static str),
    pub create: (&'static str, &'static str),
    pub get: (&'static str, &'static str),
    pub update: (&'static str, &'static str),
    pub delete: (&'static str, &'static str),
}

impl FunctionRoutes {
    /// Adds `GET`/`POST collection` and `GET`/`PATCH`/`DELETE item` for `R`; reads need
    /// `read`, writes `write`.
    pub fn crud<R>(
        self,
        collection: &'static str,
        item: &'static str,
        (read, write): (Access, Access),
        docs: CrudDocs,
    ) -> Self
    where
        R: Editable + ToSchema + Sync + 'static,
        R::Draft: ToSchema + 'static,
    {
        let doc = |(id, summary): (&'static str, &'static str)| Doc::new(id, summary);
        self.staff(
            Verb::Get,
            collection,
            read,
            doc(docs.list).query(list_params::<NoFilters>).returns(200, page::<R>),
            list::<R>,
        )
        .staff(
            Verb::Post,
            collection,
            write,
            doc(docs.create).body(schema::<R::Draft>).returns(201, schema::<R>),
            move |staff: Staff, state: State<AppState>, body: Json<R::Draft>| {
                create::<R>(collection, staff, state, body)
            },
        )
        .staff(Verb::Get, item, read, doc(docs.get).returns(200, schema::<R>), get::<R>)
        .staff(
            Verb::Patch,
            item,
            write,
            doc(docs.update).merge_patch(patch::<R::Draft>).returns(200, schema::<R>),
            update::<R>,
        )
        .staff(Verb::Delete, item, write, doc(docs.delete).no_content(), delete::<R>)
    }
}

async fn list<R: Editable>(
    staff: Staff,
    State(state): State<AppState>,
    query: ListQuery<NoFilters>,
) -> Result<Json<Page<Value>>, ApiError> {
    let cursor = query.cursor(&staff.tenant, &resource::list_ordering::<R>(), KeyKind::Time)?;
    let page = resource::list::<R>(&state.db, &staff.tenant, query.limit, cursor.as_ref()).await?;
    Ok(Json(page.map(|row| resource::public_json(&row))))
}

async fn create<R: Editable>(
    collection: &'static str,
    staff: Staff,
    State(state): State<AppState>,
    Json(draft): Json<R::Draft>,
) -> Result<Response, ApiError> {
    let row = R::create(&state.db, &staff.tenant, &draft).await?;
    if R::SHOWN_IN_STOREFRONT {
        state.cache.bump(staff.tenant.id).await;
    }
    Ok(created(format!("{collection}/{}", row.id()), &resource::public_json(&row), row.version()))
}

async fn get<R: Editable>(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let row = resource::get::<R>(&state.db, &staff.tenant, id).await?;
    Ok(versioned(StatusCode::OK, &resource::public_json(&row), row.version()))
}

async fn update<R: Editable>(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let current = resource::get::<R>(&state.db, &staff.tenant, id).await?;
    let draft = patched(if_match, R::NAME, current.version(), &R::Draft::from(&current), &body)?;
    let row = R::update(&state.db, &staff.tenant, id, current.version(), &draft).await?;
    if R::SHOWN_IN_STOREFRONT {
        state.cache.bump(staff.tenant.id).await;
    }
    Ok(versioned(StatusCode::OK, &resource::public_json(&row), row.version()))
}

async fn delete<R: Editable>(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<impl IntoResponse, ApiError> {
    resource::delete::<R>(&state.db, &staff.tenant, id).await?;
    if R::SHOWN_IN_STOREFRONT {
        state.cache.bump(staff.tenant.id).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

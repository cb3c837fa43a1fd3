//! The five routes of a plain management resource (customer groups, subscription plans,
//! price lists, workflows, tax rates), written once: list, create, get, merge-patch update,
//! delete. Writes call the resource's `Editable::create` / `update`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use kassa_domain::pagination::{KeyKind, Page};
use kassa_domain::resource::{self, Editable, Resource};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::extract::{Json, Path};
use crate::list::{ListQuery, NoFilters};
use crate::openapi::{Doc, schema};
use crate::problem::ApiError;
use crate::rest::{IfMatch, created, patched, versioned};
use crate::routes::{FunctionRoutes, Verb};
use crate::staff::{Access, Staff};
use crate::state::AppState;

impl FunctionRoutes {
    /// Adds `GET`/`POST collection` and `GET`/`PATCH`/`DELETE collection/{id}` for `R`; reads
    /// need `read`, writes `write`. Operation ids and summaries are named after the resource
    /// ([`docs`]).
    pub fn crud<R>(self, collection: &'static str, (read, write): (Access, Access)) -> Self
    where
        R: Editable + ToSchema + Sync + 'static,
        R::Draft: ToSchema + 'static,
    {
        let item = format!("{collection}/{{id}}");
        let [list_doc, create_doc, get_doc, update_doc, delete_doc] = docs::<R>();
        self.staff(Verb::Get, collection, read, list_doc.lists::<NoFilters, R>(), list::<R>)
            .staff(
                Verb::Post,
                collection,
                write,
                create_doc.creates::<R::Draft, R>(),
                move |staff: Staff, state: State<AppState>, body: Json<R::Draft>| {
                    create::<R>(collection, staff, state, body)
                },
            )
            .staff(Verb::Get, item.clone(), read, get_doc.returns(200, schema::<R>), get::<R>)
            .staff(Verb::Patch, item.clone(), write, update_doc.patches::<R::Draft, R>(), update::<R>)
            .staff(Verb::Delete, item, write, delete_doc.no_content(), delete::<R>)
    }
}

/// The list, create, get, update and delete operations of `R`, named after it: for tax rates
/// `listTaxRates` "List tax rates", `createTaxRate` "Create a tax rate", `getTaxRate`,
/// `updateTaxRate` and `deleteTaxRate`.
fn docs<R: Resource>() -> [Doc; 5] {
    let (one, many) = (pascal_case(R::NAME), pascal_case(R::PLURAL));
    let article = if R::NAME.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    let doc =
        |verb: &str, noun: &str, summary: String| Doc::named(format!("{verb}{noun}").into(), summary.into());
    [
        doc("list", &many, format!("List {}", R::PLURAL)),
        doc("create", &one, format!("Create {article} {}", R::NAME)),
        doc("get", &one, format!("Get {article} {}", R::NAME)),
        doc("update", &one, format!("Update {article} {} (JSON merge patch)", R::NAME)),
        doc("delete", &one, format!("Delete {article} {}", R::NAME)),
    ]
}

/// "customer groups" → "CustomerGroups".
fn pascal_case(words: &str) -> String {
    words
        .split(' ')
        .flat_map(|word| {
            let mut chars = word.chars();
            chars.next().map(|first| first.to_ascii_uppercase()).into_iter().chain(chars)
        })
        .collect()
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

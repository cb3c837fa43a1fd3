//! Every error a client can provoke is an RFC 9457 problem with the right status — never a
//! 500, never SQL or Debug text.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use http::{Request, StatusCode};
use kassa_domain::DomainError;
use kassa_http::{ApiError, Json, Path, Query};
use kassa_testkit::TestApp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    name: String,
    quantity: u32,
}

#[derive(Debug, Deserialize)]
struct Page {
    limit: u8,
}

fn routes(_: kassa_http::AppState) -> Router {
    Router::new()
        .route("/items", post(|Json(item): Json<Item>| async move { Json(item) }))
        .route("/items/{id}", get(|Path(id): Path<uuid::Uuid>| async move { id.to_string() }))
        .route("/search", get(|Query(page): Query<Page>| async move { page.limit.to_string() }))
        .route(
            "/boom",
            get(|| async {
                let leak = sqlx::Error::Protocol("select secret_column from secret_table".into());
                Err::<(), ApiError>(DomainError::Database(leak).into())
            }),
        )
}

fn post_json(uri: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri).header("content-type", content_type).body(body.into()).unwrap()
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_well_formed_body_is_accepted(pool: PgPool) {
    let app = TestApp::new(pool, routes);
    let response = app.send(post_json("/items", "application/json", r#"{"name":"mug","quantity":2}"#)).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json(), json!({"name": "mug", "quantity": 2}));
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn malformed_json_is_a_400_problem(pool: PgPool) {
    let app = TestApp::new(pool, routes);
    let response = app.send(post_json("/items", "application/json", r#"{"name": "mug","#)).await;
    let problem = response.problem(StatusCode::BAD_REQUEST, "malformed_json");
    assert_eq!(
        problem,
        json!({
            "type": "urn:kassa:problem:malformed_json",
            "title": "Bad Request",
            "status": 400,
            "detail": "the body is not valid JSON (line 1, column 15)",
            "instance": "/items",
            "code": "malformed_json",
            "request_id": problem["request_id"],
        })
    );
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_body_of_the_wrong_shape_is_a_422_pointing_at_the_field(pool: PgPool) {
    let app = TestApp::new(pool, routes);
    let response = app.send(post_json("/items", "application/json", r#"{"name":"mug","quantity":-1}"#)).await;
    let problem = response.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    assert_eq!(problem["errors"][0]["pointer"], "/quantity");
    assert_eq!(problem["errors"][0]["code"], "invalid_value");

    let response =
        app.send(post_json("/items", "application/json", r#"{"name":"mug","quantity":1,"x":1}"#)).await;
    let problem = response.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    assert!(problem["detail"].as_str().unwrap().contains("unknown field `x`"), "{problem}");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_body_that_is_not_json_is_a_415_problem(pool: PgPool) {
    let app = TestApp::new(pool, routes);
    let response = app.send(post_json("/items", "text/plain", "name=mug")).await;
    response.problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_body_over_one_mebibyte_is_a_413_problem(pool: PgPool) {
    let app = TestApp::new(pool, routes);
    let padding = "x".repeat(1024 * 1024);
    let body = format!(r#"{{"name":"{padding}","quantity":1}}"#);
    let response = app.send(post_json("/items", "application/json", body)).await;
    response.problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");

    // Also when the client streams it without announcing a length.
    let response = app.send(post_json("/items", "application/json", streamed_body(2 * 1024 * 1024))).await;
    response.problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

/// A body sent in chunks with no Content-Length, as a streaming client would.
fn streamed_body(len: usize) -> Body {
    let half = bytes::Bytes::from(vec![b' '; len / 2]);
    let chunks = [half.clone(), half].map(Ok::<_, std::io::Error>);
    Body::from_stream(futures_util::stream::iter(chunks))
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn bad_path_and_query_parameters_are_400_problems(pool: PgPool) {
    let app = TestApp::new(pool, routes);
    let response = app.get("/items/not-a-uuid", &[]).await;
    response.problem(StatusCode::BAD_REQUEST, "invalid_path_parameter");
    let response = app.get("/search?limit=many", &[]).await;
    response.problem(StatusCode::BAD_REQUEST, "invalid_query");
    let response = app.get("/search?limit=%00", &[]).await;
    response.problem(StatusCode::BAD_REQUEST, "invalid_query");
    let response = app.get("/search?limit=7", &[]).await;
    assert_eq!(response.status, StatusCode::OK);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn an_unknown_route_is_a_404_problem_and_a_wrong_method_a_405(pool: PgPool) {
    let app = TestApp::new(pool, routes);
    let response = app.get("/nowhere", &[]).await;
    let problem = response.problem(StatusCode::NOT_FOUND, "route_not_found");
    assert_eq!(problem["instance"], "/nowhere");

    let response = app.send(Request::delete("/items").body(Body::empty()).unwrap()).await;
    response.problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(response.header("allow"), Some("POST"));
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_server_error_shows_the_client_nothing_of_its_cause(pool: PgPool) {
    let app = TestApp::new(pool, routes);
    let response = app.get("/boom", &[]).await;
    let problem = response.problem(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    let body = String::from_utf8(response.body.clone()).unwrap();
    assert!(!body.contains("secret"), "{body}");
    assert_eq!(problem["detail"], "something went wrong on our side; quote the request_id");
}

//! `kassa_store::idempotency::once` on both stores, with handlers the test controls: a
//! request under a key that is still running makes a second one a 409, a 5xx is not kept,
//! and one shop's key is nothing in another.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http_body_util::BodyExt;
use kassa_domain::tenant::Tenant;
use kassa_store::idempotency::once;
use kassa_testkit::TestApp;
use tokio::sync::oneshot;

kassa_testkit::on_both_cart_stores!(super::no_routes;
    a_duplicate_while_the_first_runs_is_a_409_and_after_it_a_replay,
    an_answer_of_500_is_not_kept_so_a_retry_runs,
    a_key_of_one_shop_replays_nothing_in_another,
);

/// The idempotency tests call `once` directly: the app only brings the state.
fn no_routes(_: kassa_http::AppState) -> axum::Router {
    axum::Router::new()
}

fn request(tenant: &Tenant, key: &str, body: &str) -> Request {
    let mut request = Request::post("/storefront/carts")
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    kassa_http::tenancy::attach_tenant(&mut request, Arc::new(tenant.clone()));
    request
}

async fn text(response: Response) -> (StatusCode, Option<String>, String) {
    let status = response.status();
    let replayed = response.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, replayed, String::from_utf8(body.to_vec()).unwrap())
}

async fn a_duplicate_while_the_first_runs_is_a_409_and_after_it_a_replay(app: TestApp) {
    let tenant = app.tenant("shop-a").await;
    let key = uuid::Uuid::now_v7().to_string();
    let (release, released) = oneshot::channel::<()>();
    let (started, is_started) = oneshot::channel::<()>();
    let state = app.state.clone();
    let first = tokio::spawn({
        let request = request(&tenant, &key, "{}");
        async move {
            once(&state, request, |_, _| async move {
                started.send(()).unwrap();
                released.await.unwrap();
                (StatusCode::CREATED, "first").into_response()
            })
            .await
            .unwrap()
        }
    });
    is_started.await.unwrap();
    let ran = AtomicUsize::new(0);
    let duplicate = once(&app.state, request(&tenant, &key, "{}"), |_, _| async {
        ran.fetch_add(1, Ordering::SeqCst);
        StatusCode::CREATED.into_response()
    })
    .await;
    let err = duplicate.unwrap_err();
    assert_eq!((err.status(), err.code()), (StatusCode::CONFLICT, "idempotency_key_race"));
    release.send(()).unwrap();
    assert_eq!(text(first.await.unwrap()).await, (StatusCode::CREATED, None, "first".to_owned()));

    let replay = once(&app.state, request(&tenant, &key, "{}"), |_, _| async {
        ran.fetch_add(1, Ordering::SeqCst);
        StatusCode::CREATED.into_response()
    })
    .await
    .unwrap();
    assert_eq!(text(replay).await, (StatusCode::CREATED, Some("true".to_owned()), "first".to_owned()));
    let other_body = once(&app.state, request(&tenant, &key, "{\"lines\": []}"), |_, _| async {
        ran.fetch_add(1, Ordering::SeqCst);
        StatusCode::CREATED.into_response()
    })
    .await
    .unwrap_err();
    assert_eq!(other_body.code(), "idempotency_key_reused");
    assert_eq!(ran.load(Ordering::SeqCst), 0, "no duplicate ran its handler");
}

async fn an_answer_of_500_is_not_kept_so_a_retry_runs(app: TestApp) {
    let tenant = app.tenant("shop-a").await;
    let key = uuid::Uuid::now_v7().to_string();
    let failed = once(&app.state, request(&tenant, &key, "{}"), |_, _| async {
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    })
    .await
    .unwrap();
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let retried = once(&app.state, request(&tenant, &key, "{}"), |_, _| async {
        (StatusCode::CREATED, "second").into_response()
    })
    .await
    .unwrap();
    assert_eq!(text(retried).await, (StatusCode::CREATED, None, "second".to_owned()));
}

async fn a_key_of_one_shop_replays_nothing_in_another(app: TestApp) {
    let (shop_a, shop_b) = (app.tenant("shop-a").await, app.tenant("shop-b").await);
    let key = uuid::Uuid::now_v7().to_string();
    let a =
        once(&app.state, request(&shop_a, &key, "{}"), |_, _| async { "a".into_response() }).await.unwrap();
    assert_eq!(text(a).await.2, "a");
    let b =
        once(&app.state, request(&shop_b, &key, "{}"), |_, _| async { "b".into_response() }).await.unwrap();
    assert_eq!(text(b).await, (StatusCode::OK, None, "b".to_owned()));
}

//! `GET /management/me`: the signed-in staff member, the shop, their roles there and the
//! actions those permit.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use http::StatusCode;
use kassa_testkit::TestApp;
use kassa_testkit::issuer::Issuer;
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn me_shows_the_callers_roles_and_permitted_actions_in_the_shop(pool: PgPool) {
    let issuer = Issuer::start().await;
    let app = TestApp::with_config(pool, issuer.config(), kassa_management::router);
    let shop = app.tenant("demo").await;
    let token = issuer.token("user-7", &[("editor", "org-demo"), ("owner", "org-elsewhere")]);
    let response = app
        .get("/management/me", &[("host", "demo.shop.test"), ("authorization", &format!("Bearer {token}"))])
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.json(),
        json!({
            "user_id": "user-7",
            "home_org_id": "home-org",
            "tenant": {"id": shop.id.to_string(), "handle": "demo", "name": "Shop demo"},
            "roles": ["editor"],
            "actions": [
                "catalog:read", "catalog:write", "content:read", "content:write",
                "orders:read", "workflows:read", "settings:read"
            ],
        })
    );
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn me_checks_the_token_before_the_tenant(pool: PgPool) {
    let issuer = Issuer::start().await;
    let app = TestApp::with_config(pool, issuer.config(), kassa_management::router);
    // No token and an unknown shop: the caller learns nothing about which shops exist.
    let response = app.get("/management/me", &[("x-tenant-id", "nobody")]).await;
    response.problem(StatusCode::UNAUTHORIZED, "missing_token");
    let token = issuer.token("user-7", &[("owner", "org-demo")]);
    let response = app
        .get("/management/me", &[("x-tenant-id", "nobody"), ("authorization", &format!("Bearer {token}"))])
        .await;
    response.problem(StatusCode::NOT_FOUND, "tenant_not_found");
}

//! The shop the storefront's tests read: the storefront and the products management API in
//! one app, an issuer for staff tokens, and the tenant "demo".

use axum::Router;
use kassa_domain::tenant::Tenant;
use kassa_http::AppState;
use kassa_testkit::{Issuer, TestApp, TestResponse};
use sqlx::PgPool;

fn routes(state: AppState) -> Router {
    kassa_storefront::router(state.clone()).merge(kassa_products::router(state))
}

pub struct Shop {
    pub app: TestApp,
    pub issuer: Issuer,
    pub demo: Tenant,
}

/// The shop, on the issuer's configuration as `tweak` changes it.
pub async fn shop_with(pool: PgPool, tweak: impl FnOnce(&mut kassa_http::Config)) -> Shop {
    let issuer = Issuer::start().await;
    let mut config = issuer.config();
    tweak(&mut config);
    let app = TestApp::with_config(pool, config, routes);
    let demo = app.tenant("demo").await;
    Shop { app, issuer, demo }
}

impl Shop {
    /// An anonymous `GET` in the demo shop.
    pub async fn get(&self, uri: &str) -> TestResponse {
        self.app.get(uri, &[("x-tenant-id", "demo")]).await
    }
}

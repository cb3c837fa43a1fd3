//! End to end against the Zitadel stand-in (`infra/zitadel-standin`, a real OIDC provider):
//! tokens from its authorization code + PKCE flow, validated by Kassa against its JWKS,
//! opening exactly the demo shops their users hold roles in.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use http::StatusCode;
use kassa_cli::{local_routes, seed};
use kassa_testkit::{TestApp, spawn_listening, test_config};
use serde_json::Value;
use sqlx::PgPool;

fn standin_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../zitadel-standin")
}

fn node() -> PathBuf {
    let node = standin_dir().join("node_modules/.bin/node");
    assert!(node.exists(), "the stand-in's npm packages are missing: run make test (it runs npm ci)");
    node
}

/// The stand-in on a free port, stopped when dropped.
struct StandIn {
    child: Child,
    url: String,
}

impl StandIn {
    fn start() -> Self {
        let (child, port) = spawn_listening("the Zitadel stand-in", |port| {
            let mut command = Command::new(node());
            command
                .arg("server.mjs")
                .current_dir(standin_dir())
                .env("PORT", port.to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            command
        });
        Self { child, url: format!("http://127.0.0.1:{port}") }
    }

    /// What `make -s token USER=<login>` prints: the token is the last line.
    fn token(&self, login: &str) -> String {
        let out = Command::new(node())
            .args(["token.mjs", login, &self.url])
            .current_dir(standin_dir())
            .output()
            .unwrap();
        assert!(out.status.success(), "token.mjs {login}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().lines().last().unwrap().to_owned()
    }
}

/// `kassa serve`'s routes with the demo seed, trusting a running stand-in as its Zitadel.
async fn demo_behind_standin(pool: PgPool) -> (StandIn, TestApp) {
    let standin = StandIn::start();
    let config = test_config(&[("ZITADEL_ISSUER", &standin.url)]);
    let app = TestApp::with_config(pool, config, local_routes);
    seed::seed_demo(&app.state.db).await.unwrap();
    (standin, app)
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn seed_json() -> Value {
    serde_json::from_str(&std::fs::read_to_string(standin_dir().join("seed.json")).unwrap()).unwrap()
}

#[test]
fn the_stand_in_and_kassa_agree_on_project_and_organisations() {
    let seed_json = seed_json();
    let defaults = test_config(&[]);
    assert_eq!(seed_json["project_id"], defaults.zitadel_project_id);
    assert!(seed_json["orgs"][&defaults.zitadel_platform_org_id].is_object());
    for shop in &seed::DEMO_SHOPS {
        assert!(
            seed_json["orgs"][shop.zitadel_org_id].is_object(),
            "{} has no org in seed.json",
            shop.handle
        );
    }
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn stand_in_tokens_open_exactly_the_shops_their_users_work_for(pool: PgPool) {
    let (standin, app) = demo_behind_standin(pool).await;

    let me = |shop: &'static str, token: String| {
        let app = &app;
        async move {
            app.get("/management/me", &[("x-tenant-id", shop), ("authorization", &format!("Bearer {token}"))])
                .await
        }
    };

    let response = me("demo", standin.token("editor@demo")).await;
    assert_eq!(response.status, StatusCode::OK, "{:?}", String::from_utf8_lossy(&response.body));
    let body = response.json();
    assert_eq!(body["user_id"], "320000000000000002");
    assert_eq!(body["home_org_id"], "310000000000000002");
    assert_eq!(body["tenant"]["handle"], "demo");
    assert_eq!(body["roles"], serde_json::json!(["editor"]));
    assert!(body["actions"].as_array().unwrap().contains(&"catalog:write".into()));

    let viewer = me("demo", standin.token("viewer@demo")).await.json();
    assert_eq!(viewer["roles"], serde_json::json!(["viewer"]));
    assert!(!viewer["actions"].as_array().unwrap().contains(&"catalog:write".into()));

    let other_owner = standin.token("owner@other");
    me("demo", other_owner.clone()).await.problem(StatusCode::FORBIDDEN, "tenant_access_denied");
    assert_eq!(me("other", other_owner).await.json()["roles"], serde_json::json!(["owner"]));

    me("demo", standin.token("admin@platform")).await.problem(StatusCode::FORBIDDEN, "tenant_access_denied");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn an_owner_role_of_another_zitadel_project_opens_no_shop(pool: PgPool) {
    let (standin, app) = demo_behind_standin(pool).await;
    // The stand-in issues this user's owner role in the generic claim only (both shapes
    // appear in its tokens: the other users carry both claims).
    let token = standin.token("outsider@demo");
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine as _;
    let claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap())
            .unwrap();
    assert!(claims["urn:zitadel:iam:org:project:roles"]["owner"].is_object(), "{claims}");
    let auth = format!("Bearer {token}");
    app.get("/management/me", &[("x-tenant-id", "demo"), ("authorization", &auth)])
        .await
        .problem(StatusCode::FORBIDDEN, "tenant_access_denied");
}

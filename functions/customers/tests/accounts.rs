//! Shopper accounts end to end against real Postgres, Valkey and an SMTP server: sign-up
//! with a mailed code, sign-in, refresh-token rotation and reuse, sign-out, password reset,
//! limits, and shops that know nothing of each other's customers.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use axum::Router;
use http::{Method, StatusCode};
use kassa_domain::tenant::Tenant;
use kassa_http::AppState;
use kassa_testkit::smtp::SmtpSink;
use kassa_testkit::{CustomerBuilder, Issuer, TenantBuilder, TestApp, TestResponse, test_config};
use serde_json::{Value, json};
use sqlx::PgPool;

fn routes(state: AppState) -> Router {
    kassa_customers::router(state.clone()).merge(kassa_storefront::router(state))
}

struct World {
    app: TestApp,
    issuer: Issuer,
    smtp: SmtpSink,
    demo: Tenant,
}

async fn world(pool: PgPool) -> World {
    let issuer = Issuer::start().await;
    let smtp = SmtpSink::start();
    let mut config = issuer.config();
    config.smtp_url = test_config(&[("SMTP_URL", &smtp.url())]).smtp_url;
    let app = TestApp::with_config(pool, config, routes);
    let demo = app.tenant("demo").await;
    World { app, issuer, smtp, demo }
}

impl World {
    async fn post(&self, shop: &str, uri: &str, body: Value) -> TestResponse {
        self.app.call(Method::POST, uri, &[("x-tenant-id", shop)], Some(&body)).await
    }

    async fn as_customer(&self, method: Method, uri: &str, token: &str, body: Option<Value>) -> TestResponse {
        let authorization = format!("Bearer {token}");
        self.app
            .call(method, uri, &[("x-tenant-id", "demo"), ("authorization", &authorization)], body.as_ref())
            .await
    }

    /// The six-digit code of the last mail sent to `to`.
    fn last_code(&self, to: &str) -> String {
        let mail = self.smtp.messages().into_iter().rev().find(|m| m.contains(to)).expect("a mail was sent");
        let at = mail.find("Your code: ").expect("the mail holds a code") + "Your code: ".len();
        mail[at..at + 6].to_owned()
    }

    async fn sign_up(&self, email: &str, password: &str) -> TestResponse {
        self.post(
            "demo",
            "/storefront/customers",
            json!({"email": email, "password": password, "first_name": "Anna"}),
        )
        .await
    }

    async fn sign_in(&self, shop: &str, email: &str, password: &str) -> TestResponse {
        self.post(shop, "/storefront/customers/sign-in", json!({"email": email, "password": password})).await
    }
}

const PASSWORD: &str = "correct horse battery";

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_shopper_signs_up_verifies_the_mailed_code_and_is_signed_in(pool: PgPool) {
    let w = world(pool).await;
    let accepted = w.sign_up("Anna@Example.com", PASSWORD).await.expect(StatusCode::ACCEPTED);
    assert_eq!(accepted["status"], "accepted");
    // Not verified yet: the right password is not enough.
    w.sign_in("demo", "anna@example.com", PASSWORD)
        .await
        .problem(StatusCode::FORBIDDEN, "email_not_verified");
    let code = w.last_code("Anna@Example.com");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    w.post("demo", "/storefront/customers/verify", json!({"email": "anna@example.com", "code": wrong}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_code");
    let tokens = w
        .post("demo", "/storefront/customers/verify", json!({"email": "anna@example.com", "code": code}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["customer"]["email"], "anna@example.com");
    assert_eq!(tokens["customer"]["email_verified"], true);
    // The code works once.
    w.post("demo", "/storefront/customers/verify", json!({"email": "anna@example.com", "code": code}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_code");

    let me = w
        .as_customer(Method::GET, "/storefront/customers/me", tokens["access_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(me.expect(StatusCode::OK)["first_name"], "Anna");
    let signed_in = w.sign_in("demo", "ANNA@example.com", PASSWORD).await.expect(StatusCode::OK);
    assert_eq!(signed_in["customer"]["id"], tokens["customer"]["id"]);
    // The access token's header names its key.
    let header = signed_in["access_token"].as_str().unwrap().split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert_eq!((header["alg"].as_str(), header["kid"].as_str()), (Some("HS256"), Some("dev")));

    let events: Vec<String> = w.app.outbox(&w.demo).await.into_iter().map(|(t, _, _)| t).collect();
    assert_eq!(events.iter().filter(|t| *t == "customer.created").count(), 1);
    // No password, hash or code in any event.
    for (_, _, payload) in w.app.outbox(&w.demo).await {
        let text = payload.to_string();
        assert!(!text.contains("argon2") && !text.contains(PASSWORD) && !text.contains(&code), "{text}");
    }
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn sign_up_sign_in_and_reset_answer_the_same_for_known_and_unknown_addresses(pool: PgPool) {
    let w = world(pool).await;
    CustomerBuilder::new("known@example.com").create(&w.app, &w.demo).await;
    let strip = |r: TestResponse| (r.status, r.header("content-type").map(str::to_owned), r.json());
    let strip_problem = |r: TestResponse| {
        let mut body = r.json();
        body.as_object_mut()
            .unwrap()
            .retain(|k, _| k == "code" || k == "detail" || k == "status" || k == "title");
        (r.status, body)
    };
    assert_eq!(
        strip(w.sign_up("known@example.com", PASSWORD).await),
        strip(w.sign_up("new@example.com", PASSWORD).await)
    );
    // The known address got a notice, not a code; its password did not change.
    let notice = w.smtp.messages().into_iter().find(|m| m.contains("known@example.com")).unwrap();
    assert!(notice.contains("already has an") && !notice.contains("Your code"), "{notice}");
    w.sign_in("demo", "known@example.com", CustomerBuilder::PASSWORD).await.expect(StatusCode::OK);

    let wrong_password = w.sign_in("demo", "known@example.com", "not the password").await;
    let unknown = w.sign_in("demo", "nobody@example.com", "not the password").await;
    assert_eq!(strip_problem(wrong_password), strip_problem(unknown));

    let reset =
        |email: &'static str| w.post("demo", "/storefront/customers/password-reset", json!({"email": email}));
    assert_eq!(strip(reset("known@example.com").await), strip(reset("nobody@example.com").await));
    assert!(
        w.smtp.messages().iter().all(|m| !m.contains("nobody@example.com")),
        "no mail to an unknown address"
    );
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_refresh_token_works_once_and_its_reuse_ends_the_whole_session(pool: PgPool) {
    let w = world(pool).await;
    CustomerBuilder::new("anna@example.com").create(&w.app, &w.demo).await;
    let first = w.sign_in("demo", "anna@example.com", CustomerBuilder::PASSWORD).await.expect(StatusCode::OK);
    let refresh =
        |token: Value| w.post("demo", "/storefront/customers/token", json!({"refresh_token": token}));
    let second = refresh(first["refresh_token"].clone()).await.expect(StatusCode::OK);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let access = second["access_token"].as_str().unwrap().to_owned();
    w.as_customer(Method::GET, "/storefront/customers/me", &access, None).await.expect(StatusCode::OK);

    // The first token again: someone else holds the family. Everything of it ends.
    refresh(first["refresh_token"].clone()).await.problem(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    refresh(second["refresh_token"].clone()).await.problem(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    w.as_customer(Method::GET, "/storefront/customers/me", &access, None)
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_token");
    // Another session of the same customer is untouched.
    let other = w.sign_in("demo", "anna@example.com", CustomerBuilder::PASSWORD).await.expect(StatusCode::OK);
    refresh(other["refresh_token"].clone()).await.expect(StatusCode::OK);
    refresh(json!("made-up")).await.problem(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn failed_sign_ins_are_limited_per_account_with_retry_after(pool: PgPool) {
    let w = world(pool).await;
    // A fresh address per run: the counter lives in the shared Valkey.
    let email = format!("target-{}@example.com", uuid::Uuid::new_v4().simple());
    CustomerBuilder::new(&email).create(&w.app, &w.demo).await;
    for _ in 0..kassa_http::limits::SIGN_IN_FAILURES_PER_ACCOUNT {
        w.sign_in("demo", &email, "wrong password")
            .await
            .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    // Now even the right password waits.
    let limited = w.sign_in("demo", &email, CustomerBuilder::PASSWORD).await;
    limited.problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    // Another account is not affected.
    CustomerBuilder::new("other@example.com").create(&w.app, &w.demo).await;
    w.sign_in("demo", "other@example.com", CustomerBuilder::PASSWORD).await.expect(StatusCode::OK);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_password_reset_by_mailed_code_sets_the_password_and_ends_every_session(pool: PgPool) {
    let w = world(pool).await;
    let email = format!("reset-{}@example.com", uuid::Uuid::new_v4().simple());
    CustomerBuilder::new(&email).create(&w.app, &w.demo).await;
    let before = w.sign_in("demo", &email, CustomerBuilder::PASSWORD).await.expect(StatusCode::OK);
    w.post("demo", "/storefront/customers/password-reset", json!({"email": email}))
        .await
        .expect(StatusCode::ACCEPTED);
    let code = w.last_code(&email);
    let confirm = |password: &str, code: &str| {
        w.post(
            "demo",
            "/storefront/customers/password-reset/confirm",
            json!({"email": email, "code": code, "password": password}),
        )
    };
    confirm("short", &code).await.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(confirm("a brand new password", &code).await.status, StatusCode::NO_CONTENT);
    w.as_customer(Method::GET, "/storefront/customers/me", before["access_token"].as_str().unwrap(), None)
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_token");
    w.post("demo", "/storefront/customers/token", json!({"refresh_token": before["refresh_token"]}))
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    w.sign_in("demo", &email, CustomerBuilder::PASSWORD)
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    w.sign_in("demo", &email, "a brand new password").await.expect(StatusCode::OK);
    confirm("another new password", &code).await.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_code");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_customer_of_one_shop_is_nobody_in_another(pool: PgPool) {
    let w = world(pool).await;
    TenantBuilder::new("other").create(&w.app).await;
    CustomerBuilder::new("anna@example.com").create(&w.app, &w.demo).await;
    let tokens =
        w.sign_in("demo", "anna@example.com", CustomerBuilder::PASSWORD).await.expect(StatusCode::OK);
    w.sign_in("other", "anna@example.com", CustomerBuilder::PASSWORD)
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let access = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
    let at_other = w
        .app
        .call(
            Method::GET,
            "/storefront/customers/me",
            &[("x-tenant-id", "other"), ("authorization", &access)],
            None,
        )
        .await;
    at_other.problem(StatusCode::UNAUTHORIZED, "invalid_token");
    w.post("other", "/storefront/customers/token", json!({"refresh_token": tokens["refresh_token"]}))
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    // The same address signs up in the other shop as a new, separate account.
    w.post("other", "/storefront/customers", json!({"email": "anna@example.com", "password": PASSWORD}))
        .await
        .expect(StatusCode::ACCEPTED);
    // A staff token is no customer token.
    let staff = w.issuer.token("editor-user", &[("editor", w.demo.zitadel_org_id.as_ref().unwrap())]);
    w.as_customer(Method::GET, "/storefront/customers/me", &staff, None)
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_token");
    w.app
        .call(Method::GET, "/storefront/customers/me", &[("x-tenant-id", "demo")], None)
        .await
        .problem(StatusCode::UNAUTHORIZED, "missing_token");
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn a_shopper_keeps_a_profile_and_an_address_book_of_their_own(pool: PgPool) {
    let w = world(pool).await;
    let anna = CustomerBuilder::new("anna@example.com").signed_in(&w.app, &w.demo).await;
    let bob = CustomerBuilder::new("bob@example.com").signed_in(&w.app, &w.demo).await;
    let token = |who: &kassa_testkit::SignedIn| who.authorization.trim_start_matches("Bearer ").to_owned();
    let me = w
        .as_customer(
            Method::PATCH,
            "/storefront/customers/me",
            &token(&anna),
            Some(json!({"last_name": "de Vries", "phone": "+31 20 123"})),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!((me["last_name"].as_str(), me["phone"].as_str()), (Some("de Vries"), Some("+31 20 123")));
    // Absent keeps, null clears.
    let me = w
        .as_customer(Method::PATCH, "/storefront/customers/me", &token(&anna), Some(json!({"phone": null})))
        .await
        .expect(StatusCode::OK);
    assert_eq!((me["last_name"].as_str(), me["phone"].clone()), (Some("de Vries"), Value::Null));
    // Two tabs read the profile at one version: the first change lands, the second tab's
    // If-Match is stale (412, nothing changed) until it reads the profile again.
    let read = w.as_customer(Method::GET, "/storefront/customers/me", &token(&anna), None).await;
    let etag = read.header("etag").expect("GET /me answers an ETag").to_owned();
    assert_eq!(etag, format!("\"{}\"", read.json()["version"]));
    let mine = [
        ("x-tenant-id", "demo"),
        ("authorization", anna.authorization.as_str()),
        ("if-match", etag.as_str()),
    ];
    let first = w
        .app
        .call(Method::PATCH, "/storefront/customers/me", &mine, Some(&json!({"first_name": "Anne"})))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let newer = first.header("etag").unwrap().to_owned();
    assert_ne!(newer, etag);
    let stale = w
        .app
        .call(Method::PATCH, "/storefront/customers/me", &mine, Some(&json!({"first_name": "Hanna"})))
        .await;
    assert_eq!(
        stale.problem(StatusCode::PRECONDITION_FAILED, "version_conflict")["current_version"],
        first.json()["version"]
    );
    let now = w.as_customer(Method::GET, "/storefront/customers/me", &token(&anna), None).await;
    assert_eq!((now.header("etag"), now.json()["first_name"].as_str()), (Some(newer.as_str()), Some("Anne")));
    w.as_customer(
        Method::PATCH,
        "/storefront/customers/me",
        &token(&anna),
        Some(json!({"email": "x@example.com"})),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");

    let address = json!({"first_name": "Anna", "last_name": "de Vries", "line1": "Damrak 1", "postal_code": "1012 LG",
                         "city": "Amsterdam", "country": "NL"});
    let added = w
        .as_customer(Method::POST, "/storefront/customers/me/addresses", &token(&anna), Some(address.clone()))
        .await
        .expect(StatusCode::CREATED);
    let uri = format!("/storefront/customers/me/addresses/{}", added["id"].as_str().unwrap());
    let mut moved = address.clone();
    moved["city"] = json!("Utrecht");
    assert_eq!(
        w.as_customer(Method::PUT, &uri, &token(&anna), Some(moved.clone())).await.expect(StatusCode::OK)["city"],
        "Utrecht"
    );
    // Bob cannot see, change or remove Anna's address.
    let list = w.as_customer(Method::GET, "/storefront/customers/me/addresses", &token(&bob), None).await;
    assert_eq!(list.expect(StatusCode::OK)["items"], json!([]));
    w.as_customer(Method::PUT, &uri, &token(&bob), Some(moved))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    w.as_customer(Method::DELETE, &uri, &token(&bob), None).await.problem(StatusCode::NOT_FOUND, "not_found");
    let mut bad = address.clone();
    bad["country"] = json!("Netherlands");
    let problem = w
        .as_customer(Method::POST, "/storefront/customers/me/addresses", &token(&anna), Some(bad))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem["errors"][0]["pointer"], "/country");
    for _ in 1..20 {
        w.as_customer(
            Method::POST,
            "/storefront/customers/me/addresses",
            &token(&anna),
            Some(address.clone()),
        )
        .await
        .expect(StatusCode::CREATED);
    }
    w.as_customer(Method::POST, "/storefront/customers/me/addresses", &token(&anna), Some(address))
        .await
        .problem(StatusCode::CONFLICT, "too_many_addresses");
    assert_eq!(w.as_customer(Method::DELETE, &uri, &token(&anna), None).await.status, StatusCode::NO_CONTENT);
}

#[sqlx::test(migrator = "kassa_domain::db::MIGRATOR")]
async fn one_address_guessing_across_many_accounts_is_limited_too(pool: PgPool) {
    use axum::body::Body;
    use axum::extract::ConnectInfo;
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    let w = world(pool).await;
    // A documentation address of its own per run: the counter lives in the shared Valkey.
    let ip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, (uuid::Uuid::new_v4().as_u128() % 250) as u8 + 1));
    let from_ip = |email: String, password: &str| {
        http::Request::post("/storefront/customers/sign-in")
            .header("x-tenant-id", "demo")
            .header("content-type", "application/json")
            .extension(ConnectInfo(SocketAddr::new(ip, 50_000)))
            .body(Body::from(json!({"email": email, "password": password}).to_string()))
            .unwrap()
    };
    let mut redis =
        redis::Client::open(std::env::var("VALKEY_URL").unwrap_or("redis://127.0.0.1:6379".into()))
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
    let _: () =
        redis::cmd("DEL").arg(format!("kassa:rl:signin:ip:{ip}")).query_async(&mut redis).await.unwrap();
    for n in 0..w.app.state.config.sign_in_ip_limit {
        let response = w.app.send(from_ip(format!("guess-{n}@example.com"), "wrong password")).await;
        response.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    CustomerBuilder::new("real@example.com").create(&w.app, &w.demo).await;
    let limited = w.app.send(from_ip("real@example.com".into(), CustomerBuilder::PASSWORD)).await;
    limited.problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(limited.header("retry-after").is_some());
    // The same account from another address still signs in.
    w.sign_in("demo", "real@example.com", CustomerBuilder::PASSWORD).await.expect(StatusCode::OK);
}

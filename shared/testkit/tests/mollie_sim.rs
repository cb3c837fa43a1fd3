//! The testkit's Mollie simulator from Rust: started on a free port, a payment created and
//! fetched over HTTP the way Kassa's Mollie client will, paid at the hosted checkout, and the
//! webhook received with only the payment id.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::post;
use axum::{Router, http::HeaderMap};
use kassa_testkit::json_of;
use kassa_testkit::mollie::{MollieSim, Outcome};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A webhook receiver on a free port that records `(content type, body)` of each call.
async fn receiver() -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    let app = Router::new().route(
        "/webhooks/mollie",
        post(move |headers: HeaderMap, body: String| async move {
            let kind =
                headers.get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
            seen.lock().unwrap().push((kind, body));
            StatusCode::OK
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks/mollie", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, calls)
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(10), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `GET /payments/{id}` with `key`: the payment as the simulator answers it.
async fn get_payment(http: &reqwest::Client, sim: &MollieSim, key: &str, id: &str) -> Value {
    json_of(http.get(format!("{}/payments/{id}", sim.url())).bearer_auth(key)).await
}

#[tokio::test]
async fn a_payment_created_at_the_simulator_is_paid_at_its_checkout_and_the_webhook_carries_only_its_id() {
    let sim = MollieSim::start();
    let key = MollieSim::new_test_key();
    sim.add_key(&key).await;
    let (webhook_url, calls) = receiver().await;
    let http = reqwest::Client::new();

    let created = http
        .post(format!("{}/payments", sim.url()))
        .bearer_auth(&key)
        .header("idempotency-key", "payment-row-1")
        .json(&json!({
            "amount": {"currency": "EUR", "value": "24.95"},
            "description": "Order 1001",
            "redirectUrl": "https://shop.example/orders/1001",
            "webhookUrl": webhook_url,
            "metadata": {"order_id": "1001"},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.headers()["content-type"], "application/hal+json");
    let created: Value = created.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("tr_") && id.len() == 13, "{id}");
    assert_eq!(created["status"], "open");
    assert_eq!(created["mode"], "test");
    assert_eq!(created["metadata"], json!({"order_id": "1001"}));
    assert_eq!(created["_links"]["checkout"]["href"], format!("{}/checkout/{id}", sim.base_url()));

    let fetched = get_payment(&http, &sim, &key, &id).await;
    assert_eq!(fetched, created);

    let other = MollieSim::new_test_key();
    sim.add_key(&other).await;
    let hidden = http.get(format!("{}/payments/{id}", sim.url())).bearer_auth(&other).send().await.unwrap();
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND, "another key is another account");

    assert_eq!(sim.pay(&id, Outcome::Paid).await, "https://shop.example/orders/1001");
    wait_until("the webhook", || !calls.lock().unwrap().is_empty()).await;
    assert_eq!(
        calls.lock().unwrap()[0],
        ("application/x-www-form-urlencoded".to_owned(), format!("id={id}"))
    );
    // The simulator records a delivery once the receiver's answer is in, which may be a
    // moment after the receiver saw the call.
    let started = Instant::now();
    let deliveries = loop {
        let deliveries = sim.webhooks(&id).await;
        if !deliveries.is_empty() || started.elapsed() > Duration::from_secs(10) {
            break deliveries;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(deliveries.len(), 1);
    assert_eq!((deliveries[0].attempt, deliveries[0].status), (1, Some(200)));
    assert_eq!(deliveries[0].url, webhook_url);

    let paid = get_payment(&http, &sim, &key, &id).await;
    assert_eq!(paid["status"], "paid");
    assert!(paid["paidAt"].is_string());
    assert_eq!(paid["amountRemaining"], json!({"currency": "EUR", "value": "24.95"}));
}

#[tokio::test]
async fn the_simulator_refuses_wrong_decimals_an_unknown_key_and_answers_injected_faults() {
    let sim = MollieSim::start();
    let key = MollieSim::new_test_key();
    sim.add_key(&key).await;
    let http = reqwest::Client::new();
    let create = |key: String, value: &'static str| {
        http.post(format!("{}/payments", sim.url())).bearer_auth(key).json(&json!({
            "amount": {"currency": "JPY", "value": value},
            "description": "Yen",
            "redirectUrl": "https://shop.example/r",
        }))
    };

    let wrong = create(key.clone(), "1000.00").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.headers()["content-type"], "application/hal+json");
    let problem: Value = wrong.json().await.unwrap();
    assert_eq!((problem["status"].as_u64(), problem["field"].as_str()), (Some(422), Some("amount.value")));

    let unknown = create(MollieSim::new_test_key(), "1000").send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);

    sim.fail_next(1, 503).await;
    assert_eq!(create(key.clone(), "1000").send().await.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(create(key, "1000").send().await.unwrap().status(), StatusCode::CREATED, "one fault only");
}

#[tokio::test]
async fn an_unpaid_payment_expires_on_time_and_its_webhook_is_called_without_anyone_asking() {
    let sim = MollieSim::start_with(&["--expiry-seconds", "1"]);
    let key = MollieSim::new_test_key();
    sim.add_key(&key).await;
    let (webhook_url, calls) = receiver().await;
    let http = reqwest::Client::new();
    let created = json_of(http.post(format!("{}/payments", sim.url())).bearer_auth(&key).json(&json!({
        "amount": {"currency": "EUR", "value": "1.00"},
        "description": "Never paid",
        "redirectUrl": "https://shop.example/r",
        "webhookUrl": webhook_url,
    })))
    .await;
    let id = created["id"].as_str().unwrap();

    wait_until("the expired webhook", || !calls.lock().unwrap().is_empty()).await;
    assert_eq!(calls.lock().unwrap()[0].1, format!("id={id}"));
    let expired = get_payment(&http, &sim, &key, id).await;
    assert_eq!(expired["status"], "expired");
    assert!(expired["expiredAt"].is_string());
    assert!(expired["_links"]["checkout"].is_null(), "no checkout once expired");
}

//! Webhooks ignore `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY`: through a proxy the address
//! guard would only ever see the proxy, and the proxy would reach whatever the tenant's URL
//! names (cloud metadata, the VPC).
//!
//! Environment variables are process-wide, so the proxied environment is a child process:
//! this test binary runs its own `#[ignore]`d tests again with the proxy variables pointing
//! at a listener here that counts every connection.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use kassa_domain::workflows::HttpRequestConfig;
use serde_json::json;

/// A "proxy" that counts the connections it gets and closes them.
fn counting_proxy() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (url, count)
}

/// Runs the ignored test `name` of this binary in a child whose environment routes every
/// request through `proxy`; panics unless it ran and passed.
fn run_proxied(name: &str, proxy: &str) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--ignored", "--test-threads=1", "--nocapture"])
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env("HTTP_PROXY", proxy)
        .env("http_proxy", proxy)
        .env("HTTPS_PROXY", proxy)
        .env("https_proxy", proxy)
        .env("ALL_PROXY", proxy)
        .env("all_proxy", proxy)
        .env("KASSA_PROXIED_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{name} failed in the proxied child:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn webhook_deliveries_ignore_http_https_and_all_proxy_settings() {
    // The environment does steer an ordinary client into the proxy…
    let (proxy, connections) = counting_proxy();
    run_proxied("child_an_ordinary_client_goes_through_the_proxy", &proxy);
    assert!(connections.load(Ordering::SeqCst) > 0, "the proxied environment is not in effect");

    // …but not the webhook client: it delivers directly, and the guard still refuses
    // loopback when private networks are not allowed.
    let (proxy, connections) = counting_proxy();
    run_proxied("child_webhooks_go_direct_and_stay_guarded", &proxy);
    assert_eq!(connections.load(Ordering::SeqCst), 0, "a webhook went through the proxy");
}

/// A receiver on loopback that answers 204 and counts the webhooks it gets.
async fn receiver() -> (u16, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, count)
}

fn config(url: String) -> HttpRequestConfig {
    HttpRequestConfig { url, secret: "whsec_0123456789abcdef".to_owned(), timeout_ms: 5_000 }
}

fn in_child() {
    assert_eq!(std::env::var("KASSA_PROXIED_CHILD").as_deref(), Ok("1"), "run by the test above");
}

#[tokio::test]
#[ignore = "runs in a child process with proxy variables set"]
async fn child_an_ordinary_client_goes_through_the_proxy() {
    in_child();
    let (port, received) = receiver().await;
    let client = reqwest::Client::builder().build().unwrap();
    let _ = client.post(format!("http://127.0.0.1:{port}/hook")).send().await;
    assert_eq!(received.load(Ordering::SeqCst), 0, "went around the proxy");
}

#[tokio::test]
#[ignore = "runs in a child process with proxy variables set"]
async fn child_webhooks_go_direct_and_stay_guarded() {
    in_child();
    let (port, received) = receiver().await;
    let event = json!({ "id": "e1", "type": "order.placed" });

    let open = kassa_engine::webhook::client(true).unwrap();
    let delivered =
        kassa_engine::webhook::deliver(&open, &config(format!("http://127.0.0.1:{port}/hook")), &event, "k1")
            .await;
    assert_eq!(delivered, Ok(json!({ "status": 204 })));
    assert_eq!(received.load(Ordering::SeqCst), 1);

    let guarded = kassa_engine::webhook::client(false).unwrap();
    let refused = kassa_engine::webhook::deliver(
        &guarded,
        &config(format!("http://localhost:{port}/hook")),
        &event,
        "k2",
    )
    .await;
    assert!(refused.is_err(), "localhost reached: {refused:?}");
    assert_eq!(received.load(Ordering::SeqCst), 1);
}

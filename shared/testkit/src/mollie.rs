//! The Mollie simulator for tests: `infra/mollie-sim/sim.py` (standard-library Python, run by
//! the project virtualenv's python that `make test` installs) on a free port, killed on drop.
//! Point the code under test at [`MollieSim::url`] (what `MOLLIE_API_URL` holds), register
//! the shop's key with [`MollieSim::add_key`], and play the customer with [`MollieSim::pay`].
//! What it covers: `infra/mollie-sim/README.md`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};

use serde_json::json;

use crate::json_of;

/// What the customer picks at the hosted checkout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Paid,
    /// Pay-later methods only (e.g. a payment created with `"method": "klarna"`).
    Authorized,
    Failed,
    Canceled,
    Expired,
    /// No webhook (Mollie calls none for pending).
    Pending,
    /// Back to the shop without paying: nothing changes, no webhook.
    Open,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Paid => "paid",
            Outcome::Authorized => "authorized",
            Outcome::Failed => "failed",
            Outcome::Canceled => "canceled",
            Outcome::Expired => "expired",
            Outcome::Pending => "pending",
            Outcome::Open => "open",
        }
    }
}

/// One webhook call the simulator made (each retry is its own delivery).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub payment_id: String,
    pub url: String,
    /// 1 for the first call, 2 for the first retry, …
    pub attempt: u64,
    /// The receiver's HTTP status; `None` when it could not be reached.
    pub status: Option<u16>,
}

pub struct MollieSim {
    child: Child,
    pub port: u16,
    http: reqwest::Client,
    /// Kept open: the simulator's stdout, after the line that named its port.
    _stdout: BufReader<ChildStdout>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl MollieSim {
    /// The simulator with its defaults: webhooks retried 5 times from 200 ms, doubling;
    /// open payments expire after 15 minutes.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// The simulator with extra `sim.py serve` options, e.g.
    /// `&["--webhook-retries", "2", "--webhook-backoff-ms", "20", "--expiry-seconds", "2"]`.
    pub fn start_with(options: &[&str]) -> Self {
        let venv = std::env::var_os("KASSA_VENV").map(PathBuf::from).unwrap_or_else(|| root().join(".venv"));
        let python = venv.join("bin/python");
        assert!(python.exists(), "no virtualenv at {}: run make test (it creates it)", venv.display());
        // The simulator binds a free port itself and says which: a port picked here and bound
        // there could be taken in between by another test's server, which a wait for anything
        // to answer there would then take for the simulator.
        let mut child = Command::new(python)
            .arg(root().join("infra/mollie-sim/sim.py"))
            .args(["serve", "--port", "0"])
            .args(options)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        // "Mollie simulator on http://127.0.0.1:<port>/v2 (…)"
        let port = line
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("the Mollie simulator did not say its port: {line:?}"));
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { child, port, http, _stdout: stdout }
    }

    /// The API base, what `MOLLIE_API_URL` holds: `http://127.0.0.1:<port>/v2`.
    pub fn url(&self) -> String {
        format!("{}/v2", self.base_url())
    }

    /// `http://127.0.0.1:<port>`: the checkout pages and the simulator's own `/_sim/` endpoints.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A fresh test-mode key (`test_` and 30 letters or digits), not yet registered.
    pub fn new_test_key() -> String {
        format!("test_{}", &uuid::Uuid::new_v4().simple().to_string()[..30])
    }

    /// Registers `key` (`test_…` or `live_…`, 30 or more letters or digits): its own account,
    /// whose payments no other key sees.
    pub async fn add_key(&self, key: &str) {
        self.sim_post("keys", json!({"key": key}), reqwest::StatusCode::CREATED).await;
    }

    /// Posts `body` to the simulator's own `/_sim/<path>`; panics unless it answers `expected`.
    async fn sim_post(&self, path: &str, body: serde_json::Value, expected: reqwest::StatusCode) {
        let response =
            self.http.post(format!("{}/_sim/{path}", self.base_url())).json(&body).send().await.unwrap();
        let status = response.status();
        assert_eq!(status, expected, "/_sim/{path}: {}", response.text().await.unwrap());
    }

    /// Submits the payment's hosted checkout form with `outcome`, as the customer's browser
    /// does, and returns where the browser is sent (the payment's `redirectUrl`, or its
    /// `cancelUrl` when canceled and one was given). Panics if the outcome is not possible
    /// now (the payment is no longer open, or `authorized` for a method that is not pay-later).
    pub async fn pay(&self, payment_id: &str, outcome: Outcome) -> String {
        let response = self
            .http
            .post(format!("{}/checkout/{payment_id}", self.base_url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("outcome={}", outcome.as_str()))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
        assert_eq!(status, reqwest::StatusCode::SEE_OTHER, "pay: {}", response.text().await.unwrap());
        location.unwrap_or_default()
    }

    /// Every webhook call made for `payment_id` so far, oldest first.
    pub async fn webhooks(&self, payment_id: &str) -> Vec<WebhookDelivery> {
        let body =
            json_of(self.http.get(format!("{}/_sim/webhooks?paymentId={payment_id}", self.base_url()))).await;
        body["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| WebhookDelivery {
                payment_id: d["paymentId"].as_str().unwrap().to_owned(),
                url: d["url"].as_str().unwrap().to_owned(),
                attempt: d["attempt"].as_u64().unwrap(),
                status: d["status"].as_u64().map(|s| u16::try_from(s).unwrap()),
            })
            .collect()
    }

    /// Moves a refund on (`processing`, `refunded`, `failed`, …) as Mollie's back office
    /// would; `processing`, `refunded` and `failed` call the payment's webhook.
    pub async fn set_refund_status(&self, payment_id: &str, refund_id: &str, status: &str) {
        let path = format!("payments/{payment_id}/refunds/{refund_id}");
        self.sim_post(&path, json!({"status": status}), reqwest::StatusCode::OK).await;
    }

    /// The next `count` API calls (any key) answer `status` with a Mollie error body, as when
    /// Mollie is down (e.g. 503); the checkout and `/_sim/` endpoints are unaffected.
    pub async fn fail_next(&self, count: usize, status: u16) {
        self.sim_post("faults", json!({"status": status, "count": count}), reqwest::StatusCode::OK).await;
    }
}

impl Drop for MollieSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

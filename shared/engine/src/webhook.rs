//! Webhooks out: POST the event's CloudEvent to a URL, signed so the receiver can check it
//! came from Kassa and was not replayed long after.
//!
//! `Kassa-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`

use std::time::Duration;

use aws_lc_rs::hmac;
use kassa_domain::workflows::HttpRequestConfig;
use serde_json::{Value, json};

/// The `v1` signature of `body` sent at `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut context = hmac::Context::with_key(&key);
    context.update(format!("{timestamp}.").as_bytes());
    context.update(body);
    context.sign().as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// POSTs `event`; any answer but 2xx (or no answer within the timeout) fails the attempt.
pub async fn deliver(
    client: &reqwest::Client,
    config: &HttpRequestConfig,
    event: &Value,
    idempotency_key: &str,
) -> Result<Value, String> {
    let body = serde_json::to_vec(event).map_err(|e| e.to_string())?;
    let timestamp = chrono::Utc::now().timestamp();
    let text = |key: &str| event.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let response = client
        .post(&config.url)
        .timeout(Duration::from_millis(config.timeout_ms))
        .header("content-type", "application/cloudevents+json")
        .header("kassa-event-id", text("id"))
        .header("kassa-event-type", text("type"))
        .header("idempotency-key", idempotency_key)
        .header(
            "kassa-signature",
            format!("t={timestamp},v1={}", signature(&config.secret, timestamp, &body)),
        )
        .body(body)
        .send()
        .await
        .map_err(|e| format!("POST {} failed: {}", config.url, without_url(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("POST {} answered {status}", config.url));
    }
    Ok(json!({ "status": status.as_u16() }))
}

fn without_url(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "request error"
    };
    kind.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hex_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently: Python's hmac.new(secret, b"1764100000." + body, sha256).
        let body = br#"{"id":"e1"}"#;
        assert_eq!(
            signature("whsec_0123456789abcdef", 1_764_100_000, body),
            "d23b988e62554ea99b6889928b9122ff05265f5ed8dcbdd793550bd4cfe83804"
        );
        assert_ne!(
            signature("whsec_0123456789abcdef", 1_764_100_001, body),
            signature("whsec_0123456789abcdef", 1_764_100_000, body)
        );
    }
}

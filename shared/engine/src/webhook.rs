//! Webhooks out: POST the event's CloudEvent to a URL, signed so the receiver can check it
//! came from Kassa and was not replayed long after.
//!
//! `Kassa-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
//!
//! Tenants choose the URLs, so by default a webhook may only reach public addresses: the
//! client's resolver drops private, loopback, link-local (cloud metadata), shared and
//! reserved addresses, and IP-literal URLs are checked before sending. Redirects are not
//! followed. `WEBHOOK_PRIVATE_NETWORKS=allow` lifts the guard (local development).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
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

/// Whether `ip` is a public unicast address a webhook may reach.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => {
                let first = v6.segments()[0];
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00 // unique local
                    || (first & 0xffc0) == 0xfe80 // link-local
                    || first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
            }
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || a == 0
        || (a == 100 && (b & 0xc0) == 64) // shared address space (carrier NAT)
        || (a == 192 && b == 0) // IETF protocol assignments
        || (a == 198 && (b & 0xfe) == 18) // benchmarking
        || a >= 224) // multicast and reserved
}

/// A resolver that only hands out public addresses.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = addrs.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP client for webhooks: no redirects; public addresses only unless
/// `private_networks` allows more.
pub fn client(private_networks: bool) -> Result<reqwest::Client, reqwest::Error> {
    let builder =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).user_agent("Kassa-Webhooks/1");
    let builder = if private_networks { builder } else { builder.dns_resolver(Arc::new(PublicOnly)) };
    builder.build()
}

/// Refuses an IP-literal URL that points at a non-public address (names go through the
/// client's resolver).
pub fn check_literal(url: &str, private_networks: bool) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let host = parsed.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    let Ok(ip) = host.parse::<IpAddr>() else {
        return Ok(());
    };
    if private_networks || is_public(ip) {
        Ok(())
    } else {
        Err(format!("{ip} is not a public address; webhooks may only reach the internet"))
    }
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
        .post(config.url.as_str())
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
    fn only_public_unicast_addresses_are_public() {
        for private in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "192.0.0.8",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["1.1.1.1", "93.184.216.34", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn ip_literal_urls_must_be_public_unless_private_networks_are_allowed() {
        assert!(check_literal("http://169.254.169.254/latest/meta-data", false).is_err());
        assert!(check_literal("http://[::1]:8080/hook", false).is_err());
        assert!(check_literal("http://127.0.0.1:9/hook", true).is_ok());
        assert!(check_literal("https://1.1.1.1/hook", false).is_ok());
        assert!(check_literal("https://erp.example.com/hook", false).is_ok(), "names go to the resolver");
    }

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

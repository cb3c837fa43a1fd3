//! Webhooks out: POST the event's CloudEvent to a URL, signed so the receiver can check it
//! came from Kassa and was not replayed long after.
//!
//! `Kassa-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
//!
//! Tenants choose the URLs, so by default a webhook may only reach public addresses: the
//! client's resolver drops every special-purpose address (private, loopback, link-local
//! cloud metadata, shared, reserved, NAT64, 6to4, …; see [`is_public`]), and IP-literal URLs
//! are checked before sending. Redirects are not followed, and no proxy is used, whatever
//! the environment's `HTTP(S)_PROXY`/`ALL_PROXY` say (webhooks have no proxy setting).
//! `WEBHOOK_PRIVATE_NETWORKS=allow` lifts the address guard (local development).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
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
    hex::encode(context.sign())
}

/// Whether `ip` is a public unicast address a webhook may reach: none of the IANA IPv4 and
/// IPv6 Special-Purpose Address Registries' ranges, nor multicast. An IPv4-mapped address
/// (`::ffff:a.b.c.d`) is judged by its IPv4 address; every other IPv6 address must be global
/// unicast (2000::/3) outside the special ranges in it, which leaves out IPv4-compatible
/// (`::a.b.c.d`), NAT64 (64:ff9b::/96, 64:ff9b:1::/48), discard, SRv6, unique-local,
/// link-local, site-local and multicast addresses. NAT64 and 6to4 addresses are refused
/// outright rather than judged by the IPv4 address inside: the translator decides where
/// they lead.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0 // "this network" (0.0.0.0/8)
        || a == 10 // private
        || (a == 100 && (b & 0xc0) == 64) // shared address space (carrier NAT, 100.64.0.0/10)
        || a == 127 // loopback
        || (a == 169 && b == 254) // link-local (cloud metadata)
        || (a == 172 && (b & 0xf0) == 16) // private (172.16.0.0/12)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments, DS-Lite, NAT64 discovery
        || (a == 192 && b == 0 && c == 2) // documentation (TEST-NET-1)
        || (a == 192 && b == 31 && c == 196) // AS112-v4
        || (a == 192 && b == 52 && c == 193) // AMT
        || (a == 192 && b == 88 && c == 99) // deprecated 6to4 relay anycast
        || (a == 192 && b == 168) // private
        || (a == 192 && b == 175 && c == 48) // direct delegation AS112
        || (a == 198 && (b & 0xfe) == 18) // benchmarking (198.18.0.0/15)
        || (a == 198 && b == 51 && c == 100) // documentation (TEST-NET-2)
        || (a == 203 && b == 0 && c == 113) // documentation (TEST-NET-3)
        || a >= 224) // multicast (224/4), reserved (240/4) and broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let [s0, s1, s2, ..] = ip.segments();
    let special = match s0 {
        // IETF protocol assignments (2001::/23: Teredo, benchmarking, ORCHID, AMT, …) and
        // documentation (2001:db8::/32)
        0x2001 => s1 < 0x0200 || s1 == 0x0db8,
        // 6to4
        0x2002 => true,
        // direct delegation AS112 (2620:4f:8000::/48)
        0x2620 => s1 == 0x004f && s2 == 0x8000,
        // documentation (3fff::/20)
        0x3fff => (s1 & 0xf000) == 0,
        _ => false,
    };
    // Global unicast (2000::/3) only.
    (s0 & 0xe000) == 0x2000 && !special
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

/// The HTTP client for webhooks: no redirects, no proxy (`HTTP_PROXY`, `HTTPS_PROXY` and
/// `ALL_PROXY` are ignored: through a proxy the guard would only see the proxy's address);
/// public addresses only unless `private_networks` allows more.
pub fn client(private_networks: bool) -> Result<reqwest::Client, reqwest::Error> {
    let builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Kassa-Webhooks/1");
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

    /// The first and last address of `cidr`.
    fn bounds(cidr: &str) -> [IpAddr; 2] {
        let (addr, len) = cidr.split_once('/').unwrap();
        let len: u32 = len.parse().unwrap();
        match addr.parse::<IpAddr>().unwrap() {
            IpAddr::V4(v4) => {
                let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
                let bits = u32::from(v4);
                [IpAddr::V4((bits & mask).into()), IpAddr::V4((bits | !mask).into())]
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
                let bits = u128::from(v6);
                [IpAddr::V6((bits & mask).into()), IpAddr::V6((bits | !mask).into())]
            }
        }
    }

    #[test]
    fn webhooks_refuse_every_special_purpose_address() {
        // The IANA IPv4 and IPv6 Special-Purpose Address Registries, and multicast.
        let v4 = [
            "0.0.0.0/8",
            "10.0.0.0/8",
            "100.64.0.0/10",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "172.16.0.0/12",
            "192.0.0.0/24",
            "192.0.2.0/24",
            "192.31.196.0/24",
            "192.52.193.0/24",
            "192.88.99.0/24",
            "192.168.0.0/16",
            "192.175.48.0/24",
            "198.18.0.0/15",
            "198.51.100.0/24",
            "203.0.113.0/24",
            "224.0.0.0/4",
            "240.0.0.0/4",
            "255.255.255.255/32",
        ];
        let v6 = [
            "::/128",
            "::1/128",
            "::/96", // IPv4-compatible ::a.b.c.d
            "::ffff:0:0/96",
            "::ffff:0:0:0/96", // SIIT
            "64:ff9b::/96",
            "64:ff9b:1::/48",
            "100::/64",
            "2001::/23",
            "2001::/32", // Teredo
            "2001:2::/48",
            "2001:10::/28",
            "2001:20::/28",
            "2001:db8::/32",
            "2002::/16",
            "2620:4f:8000::/48",
            "3fff::/20",
            "5f00::/16",
            "fc00::/7",
            "fe80::/10",
            "fec0::/10",
            "ff00::/8",
        ];
        for cidr in v4.iter().chain(&v6) {
            for ip in bounds(cidr) {
                assert!(!is_public(ip), "{ip} ({cidr}) counts as public");
                let url = match ip {
                    IpAddr::V4(_) => format!("http://{ip}:8080/hook"),
                    IpAddr::V6(_) => format!("http://[{ip}]:8080/hook"),
                };
                assert!(check_literal(&url, false).is_err(), "{url} was not refused");
                assert!(check_literal(&url, true).is_ok(), "{url}: private networks allowed");
            }
        }
        // Every IPv4 special-purpose address stays refused behind the IPv4-mapped, the
        // IPv4-compatible, the NAT64 and the 6to4 prefixes.
        for cidr in v4 {
            for ip in bounds(cidr) {
                let IpAddr::V4(v4) = ip else { unreachable!() };
                let [a, b, c, d] = v4.octets();
                let embedded = u32::from(v4);
                for disguised in [
                    IpAddr::V6(v4.to_ipv6_mapped()),
                    IpAddr::V6(v4.to_ipv6_compatible()),
                    IpAddr::V6((0x0064_ff9b_u128 << 96 | u128::from(embedded)).into()),
                    IpAddr::V6(Ipv6Addr::new(
                        0x2002,
                        u16::from_be_bytes([a, b]),
                        u16::from_be_bytes([c, d]),
                        0,
                        0,
                        0,
                        0,
                        1,
                    )),
                ] {
                    assert!(!is_public(disguised), "{disguised} ({ip}) counts as public");
                }
            }
        }
        // Public addresses, some right next to a special range, stay reachable.
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.216.34",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.1.1",
            "192.88.98.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.254",
            "::ffff:8.8.8.8",
            "2606:4700::1111",
            "2606:4700:4700::1111",
            "2001:200::1",
            "2001:db9::1",
            "2003::1",
            "3fff:1000::1",
            "2620:4f:8001::1",
        ] {
            let ip: IpAddr = public.parse().unwrap();
            assert!(is_public(ip), "{public} was refused");
        }
        // Names are checked by the client's resolver.
        assert!(check_literal("https://erp.example.com/hook", false).is_ok());
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

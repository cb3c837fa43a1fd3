//! The AWS SDK configuration every AWS client of Kassa's starts from (S3, SQS, DynamoDB).
//!
//! Built by hand rather than by `aws_config::defaults(…).load()`: that loader's chains
//! (profile files, SSO, web identity through STS, ECS, IMDS) serve no place Kassa runs —
//! Lambda hands a function its role's credentials and region in the environment, and
//! `make dev`/`make test` set the emulator's — yet they were linked into every function that
//! talks to AWS (the STS client among them). With the logging filter's change, the products
//! function lost 2.5 MB (README, binary sizes).
//!
//! Every AWS client sends its requests through [`ReqwestHttp`]: the process's one HTTP stack
//! (reqwest over hyper, HTTP/1.1, rustls on aws-lc-rs), which the functions link anyway for
//! JWKS, Mollie and webhooks. The SDK's own client (`default-https-client`) is a second
//! hyper client with HTTP/2 (h2) that no AWS endpoint Kassa calls needs; leaving it out
//! took 1.0–1.1 MB from the worker and pages functions built alone (README, binary sizes).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;

/// The region when the environment names none.
const DEFAULT_REGION: &str = "eu-west-1";

/// The account's configuration from the environment (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), or the emulator's at `endpoint`
/// (`AWS_ENDPOINT_URL`); the region is `AWS_REGION`, else `AWS_DEFAULT_REGION`, else
/// eu-west-1. Retries and the connect timeout are the SDK loader's defaults.
pub fn sdk_config(endpoint: Option<&str>) -> SdkConfig {
    let region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| DEFAULT_REGION.to_owned());
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new()))
        .retry_config(RetryConfig::standard())
        .timeout_config(TimeoutConfig::builder().connect_timeout(Duration::from_millis(3100)).build())
        .http_client(ReqwestHttp::default());
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    builder.build()
}

/// The SDK's HTTP client on reqwest: one connector (a reqwest client with its connection
/// pool) per set of timeouts the SDK asks for, kept for the life of the configuration.
#[derive(Debug, Default)]
pub struct ReqwestHttp {
    connectors: Mutex<HashMap<Timeouts, SharedHttpConnector>>,
}

/// The connect and read timeouts of a connector.
type Timeouts = (Option<Duration>, Option<Duration>);

impl HttpClient for ReqwestHttp {
    fn http_connector(&self, settings: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        let timeouts = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self.connectors.lock().unwrap_or_else(PoisonError::into_inner);
        connectors
            .entry(timeouts)
            .or_insert_with(|| SharedHttpConnector::new(Connector::new(timeouts)))
            .clone()
    }
}

#[derive(Debug)]
struct Connector {
    /// The builder's error, answered to every request, if building failed.
    client: Result<reqwest::Client, String>,
}

impl Connector {
    fn new((connect, read): Timeouts) -> Self {
        // The SDK reads redirects itself (S3 answers a request to the wrong region with one).
        let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        if let Some(connect) = connect {
            builder = builder.connect_timeout(connect);
        }
        if let Some(read) = read {
            builder = builder.read_timeout(read);
        }
        Self { client: builder.build().map_err(|e| e.to_string()) }
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        HttpConnectorFuture::new(async move {
            let client = client.map_err(|e| ConnectorError::other(e.into(), None))?;
            let (parts, body) =
                request.try_into_http1x().map_err(|e| ConnectorError::user(e.into()))?.into_parts();
            // In-memory bodies stay reusable; streaming ones (S3's aws-chunked uploads) stream.
            let body = match body.bytes() {
                Some(bytes) => reqwest::Body::from(bytes::Bytes::copy_from_slice(bytes)),
                None => reqwest::Body::wrap(body),
            };
            let request = reqwest::Request::try_from(http::Request::from_parts(parts, body))
                .map_err(|e| ConnectorError::user(e.into()))?;
            let response = client.execute(request).await.map_err(connector_error)?;
            let (parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
            HttpResponse::try_from(http::Response::from_parts(parts, SdkBody::from_body_1_x(body)))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// Timeouts and failed connections or sends are transient to the SDK's retry strategy.
fn connector_error(err: reqwest::Error) -> ConnectorError {
    if err.is_timeout() {
        ConnectorError::timeout(err.into())
    } else if err.is_connect() || err.is_request() || err.is_body() {
        ConnectorError::io(err.into())
    } else {
        ConnectorError::other(err.into(), None)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test
mod tests {
    //! The connector against a raw HTTP/1.1 peer on loopback: what the SDK relies on it for
    //! (redirects handed back, bodies both ways, errors its retry strategy can classify).

    use std::time::Duration;

    use aws_smithy_runtime_api::client::http::HttpConnector;
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_types::body::SdkBody;
    use http_body_util::BodyExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::Connector;

    /// A peer that reads one request (head and a `content-length` body), hands it back
    /// through the join handle, and answers `response` (or nothing, when it is `None`).
    async fn peer(response: Option<&'static str>) -> (String, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut buf = [0_u8; 4096];
            loop {
                let n = socket.read(&mut buf).await.unwrap();
                seen.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&seen).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length: ").map(str::to_owned)
                        })
                        .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                    if body.len() >= length {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            match response {
                Some(response) => socket.write_all(response.as_bytes()).await.unwrap(),
                None => tokio::time::sleep(Duration::from_secs(5)).await,
            }
            String::from_utf8_lossy(&seen).to_string()
        });
        (base, task)
    }

    fn request(method: &str, uri: &str, body: SdkBody) -> HttpRequest {
        let mut request = HttpRequest::new(body);
        request.set_method(method).unwrap();
        request.set_uri(uri).unwrap();
        request
    }

    #[tokio::test]
    async fn a_redirect_is_handed_back_to_the_sdk_and_bodies_travel_both_ways() {
        let (base, peer) = peer(Some(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:1/elsewhere\r\ncontent-length: 5\r\n\r\nmoved",
        ))
        .await;
        let connector = Connector::new((Some(Duration::from_secs(2)), Some(Duration::from_secs(2))));
        let response = connector
            .call(request("PUT", &format!("{base}/bucket/key"), SdkBody::from("the object")))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 307, "not followed");
        assert_eq!(response.headers().get("location"), Some("http://127.0.0.1:1/elsewhere"));
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"moved");
        let seen = peer.await.unwrap();
        assert!(seen.starts_with("PUT /bucket/key HTTP/1.1\r\n"), "{seen}");
        assert!(seen.to_ascii_lowercase().contains("content-length: 10\r\n"), "{seen}");
        assert!(seen.ends_with("\r\n\r\nthe object"), "{seen}");
    }

    #[tokio::test]
    async fn a_refused_connection_is_an_io_error_the_sdk_retries() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let connector = Connector::new((Some(Duration::from_secs(2)), None));
        let err = connector
            .call(request("GET", &format!("http://{address}/"), SdkBody::empty()))
            .await
            .unwrap_err();
        assert!(err.is_io(), "{err:?}");
    }

    #[tokio::test]
    async fn a_peer_that_never_answers_is_a_timeout() {
        let (base, _peer) = peer(None).await;
        let connector = Connector::new((Some(Duration::from_secs(2)), Some(Duration::from_millis(200))));
        let started = std::time::Instant::now();
        let err =
            connector.call(request("GET", &format!("{base}/queue"), SdkBody::empty())).await.unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(4), "the read timeout applied");
    }
}

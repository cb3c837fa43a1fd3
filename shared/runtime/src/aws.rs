//! The AWS SDK configuration every AWS client of Kassa's starts from (S3, SQS, DynamoDB).
//!
//! Built by hand rather than by `aws_config::defaults(…).load()`: that loader's chains
//! (profile files, SSO, web identity through STS, ECS, IMDS) serve no place Kassa runs —
//! Lambda hands a function its role's credentials and region in the environment, and
//! `make dev`/`make test` set the emulator's — yet they were linked into every function that
//! talks to AWS (the STS client among them). With the logging filter's change, the products
//! function lost 2.5 MB (README, binary sizes).

use std::time::Duration;

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
        .timeout_config(TimeoutConfig::builder().connect_timeout(Duration::from_millis(3100)).build());
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    builder.build()
}

//! The AWS SDK configuration every AWS client of Kassa's starts from (S3, SQS, DynamoDB).

use aws_config::{BehaviorVersion, SdkConfig};

/// The account's configuration from the environment, or the emulator's at `endpoint`
/// (`AWS_ENDPOINT_URL`); the region is eu-west-1 unless `AWS_REGION` or
/// `AWS_DEFAULT_REGION` says otherwise.
pub async fn sdk_config(endpoint: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
        loader = loader.region(aws_config::Region::new("eu-west-1"));
    }
    loader.load().await
}

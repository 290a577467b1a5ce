//! Building the aws-sdk-s3 client from the resolved options.

use aws_config::BehaviorVersion;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};

use crate::options::Resolved;

/// The region used when neither the options nor the AWS chain name one
/// (local endpoints ignore it).
const FALLBACK_REGION: &str = "us-east-1";

/// A client for `options`: explicit credentials when given, the standard
/// AWS chain (environment, shared profile, web identity, ...) otherwise;
/// `AWS_ENDPOINT_URL` and `AWS_REGION` are honoured when the options do not
/// say.
pub(crate) async fn build(options: &Resolved) -> aws_sdk_s3::Client {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(options.connect_timeout)
        .operation_timeout(options.operation_timeout)
        .build();
    let retries = RetryConfig::standard().with_max_attempts(options.max_attempts);
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .retry_config(retries);
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some((key, secret, token)) = &options.credentials {
        loader = loader.credentials_provider(Credentials::new(
            key,
            secret,
            token.clone(),
            None,
            "functionfuse-options",
        ));
    }
    let shared = loader.load().await;
    let mut config =
        aws_sdk_s3::config::Builder::from(&shared).force_path_style(options.path_style);
    if !options.sdk_checksums {
        // Ours cover every record and chunk; the SDK's streaming ones are
        // refused by several S3-compatible stores.
        config = config
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
    }
    if shared.region().is_none() {
        config = config.region(Region::new(FALLBACK_REGION));
    }
    aws_sdk_s3::Client::from_conf(config.build())
}

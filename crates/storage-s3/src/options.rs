//! The options of the `"S3"` kind: Function Fuse's `{"path", "s3fs"}` shape,
//! and flat options beside it.

use std::time::Duration;

use anyhow::{Context as _, bail};
use serde::Deserialize;

/// Options of the `"S3"` kind, as in a [`StorageConfig`](functionfuse_core::StorageConfig).
///
/// Function Fuse's own config works unchanged:
/// `{"path": "/bucket/prefix", "s3fs": {"key": "…", "secret": "…", "endpoint_url": "http://…"}}`.
/// Flat options beside it take precedence over `s3fs`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Options {
    /// `bucket/prefix` or `/bucket/prefix` (the prefix may be empty).
    pub path: String,
    /// s3fs's `S3FileSystem` arguments, as Function Fuse passes them.
    #[serde(default)]
    pub s3fs: Option<S3fsOptions>,
    /// The endpoint, e.g. `http://127.0.0.1:9000`; AWS's when unset (or `AWS_ENDPOINT_URL`).
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// The region; from the AWS chain when unset, else `us-east-1`.
    #[serde(default)]
    pub region: Option<String>,
    /// Access key id; from the AWS chain (environment, profile, ...) when unset.
    #[serde(default, alias = "access_key_id")]
    pub key: Option<String>,
    /// Secret access key, with `key`.
    #[serde(default, alias = "secret_access_key")]
    pub secret: Option<String>,
    /// Session token, with `key` and `secret`.
    #[serde(default)]
    pub token: Option<String>,
    /// A named profile of the shared AWS config.
    #[serde(default)]
    pub profile: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`); by default on for IP
    /// addresses and `localhost`, off otherwise, as botocore chooses.
    #[serde(default)]
    pub force_path_style: Option<bool>,
    /// Create the bucket when it does not exist (default: it is an error).
    #[serde(default)]
    pub create_bucket: bool,
    /// Seconds to wait for a connection (default 3).
    #[serde(default)]
    pub connect_timeout_s: Option<f64>,
    /// Seconds one request may take, retries included (default 300).
    #[serde(default)]
    pub operation_timeout_s: Option<f64>,
    /// Attempts per request, first included (default 4): throttling and
    /// transient errors are retried with exponential backoff.
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// Requests in flight for big data (default 16).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Let aws-sdk-s3 add its own CRC checksums to every request that
    /// allows one and check them on every response (AWS's default since
    /// 2025). Off by default: every record and every array chunk carries a
    /// checksum of ours, verified on read, and several S3-compatible stores
    /// reject the SDK's streaming checksums.
    #[serde(default)]
    pub sdk_checksums: bool,
}

/// The `s3fs` options Function Fuse configs carry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3fsOptions {
    /// Access key id.
    #[serde(default)]
    pub key: Option<String>,
    /// Secret access key.
    #[serde(default)]
    pub secret: Option<String>,
    /// Session token.
    #[serde(default)]
    pub token: Option<String>,
    /// The endpoint.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// A named profile.
    #[serde(default)]
    pub profile: Option<String>,
    /// botocore client arguments: `endpoint_url`, `region_name`.
    #[serde(default)]
    pub client_kwargs: Option<ClientKwargs>,
}

/// The botocore client arguments understood in `s3fs.client_kwargs`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientKwargs {
    /// The endpoint.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// The region.
    #[serde(default)]
    pub region_name: Option<String>,
}

/// The options resolved: flat ones first, then `s3fs`, then defaults.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resolved {
    pub(crate) bucket: String,
    /// Empty, or ends with `/`.
    pub(crate) prefix: String,
    pub(crate) endpoint_url: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) credentials: Option<(String, String, Option<String>)>,
    pub(crate) profile: Option<String>,
    pub(crate) path_style: bool,
    pub(crate) create_bucket: bool,
    pub(crate) connect_timeout: Duration,
    pub(crate) operation_timeout: Duration,
    pub(crate) max_attempts: u32,
    pub(crate) concurrency: usize,
    pub(crate) sdk_checksums: bool,
}

impl S3Options {
    /// Checks the options and fills in the defaults.
    pub(crate) fn resolve(self) -> anyhow::Result<Resolved> {
        let (bucket, prefix) = split_path(&self.path)?;
        let s3fs = self.s3fs.unwrap_or_default();
        let kwargs = s3fs.client_kwargs.unwrap_or_default();
        let endpoint_url = self
            .endpoint_url
            .or(s3fs.endpoint_url)
            .or(kwargs.endpoint_url);
        if let Some(url) = &endpoint_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bail!("`endpoint_url` {url:?} must start with http:// or https://");
        }
        let key = self.key.or(s3fs.key);
        let secret = self.secret.or(s3fs.secret);
        let credentials = match (key, secret) {
            (Some(key), Some(secret)) => Some((key, secret, self.token.or(s3fs.token))),
            (None, None) => None,
            _ => {
                bail!("give both `key` and `secret`, or neither (to use the AWS credential chain)")
            }
        };
        let path_style = self
            .force_path_style
            .unwrap_or_else(|| endpoint_url.as_deref().is_some_and(is_local_host));
        Ok(Resolved {
            bucket,
            prefix,
            endpoint_url,
            region: self.region.or(kwargs.region_name),
            credentials,
            profile: self.profile.or(s3fs.profile),
            path_style,
            create_bucket: self.create_bucket,
            connect_timeout: seconds(self.connect_timeout_s, 3.0, "connect_timeout_s")?,
            operation_timeout: seconds(self.operation_timeout_s, 300.0, "operation_timeout_s")?,
            max_attempts: self.max_attempts.unwrap_or(4).max(1),
            concurrency: self.concurrency.unwrap_or(16).max(1),
            sdk_checksums: self.sdk_checksums,
        })
    }
}

fn seconds(value: Option<f64>, default: f64, name: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value.unwrap_or(default))
        .with_context(|| format!("`{name}` must be a positive number of seconds"))
}

/// `bucket/prefix` or `/bucket/prefix` → (`bucket`, `prefix/`), the prefix empty when there is none.
fn split_path(path: &str) -> anyhow::Result<(String, String)> {
    let trimmed = path.trim_matches('/');
    let (bucket, prefix) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    if bucket.len() < 3 || bucket.len() > 63 {
        bail!("`path` {path:?} must start with a bucket name of 3 to 63 characters");
    }
    if !bucket
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    {
        bail!("bucket name {bucket:?} may hold lowercase letters, digits, `-` and `.` only");
    }
    let prefix = prefix.trim_matches('/');
    if prefix
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
        && !prefix.is_empty()
    {
        bail!("prefix {prefix:?} of `path` has an empty, `.` or `..` segment");
    }
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    Ok((bucket.to_owned(), prefix))
}

/// Whether the endpoint's host is an IP address or `localhost`, where
/// virtual-host addressing (`bucket.host`) cannot work.
fn is_local_host(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host.starts_with('[') {
        return true; // IPv6 literal
    }
    let host = host.split(':').next().unwrap_or(host);
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<std::net::Ipv4Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(json: serde_json::Value) -> anyhow::Result<Resolved> {
        S3Options::deserialize(json)?.resolve()
    }

    #[test]
    fn a_function_fuse_config_works_unchanged() {
        let resolved = resolve(serde_json::json!({
            "path": "/bucket/some/prefix",
            "s3fs": {"key": "k", "secret": "s", "endpoint_url": "http://127.0.0.1:9000"}
        }))
        .unwrap();
        assert_eq!(resolved.bucket, "bucket");
        assert_eq!(resolved.prefix, "some/prefix/");
        assert_eq!(
            resolved.endpoint_url.as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(resolved.credentials, Some(("k".into(), "s".into(), None)));
        assert!(resolved.path_style);
        let kwargs = resolve(serde_json::json!({
            "path": "bucket",
            "s3fs": {"client_kwargs": {"endpoint_url": "https://s3.example.com", "region_name": "eu-west-1"}}
        }))
        .unwrap();
        assert_eq!(kwargs.prefix, "");
        assert_eq!(kwargs.region.as_deref(), Some("eu-west-1"));
        assert!(
            !kwargs.path_style,
            "a DNS name gets virtual-host addressing"
        );
    }

    #[test]
    fn flat_options_and_aliases() {
        let resolved = resolve(serde_json::json!({
            "path": "bucket/p", "access_key_id": "k", "secret_access_key": "s",
            "endpoint_url": "http://localhost:9000", "concurrency": 4, "max_attempts": 2,
            "force_path_style": false
        }))
        .unwrap();
        assert_eq!(resolved.credentials, Some(("k".into(), "s".into(), None)));
        assert!(!resolved.path_style, "an explicit choice wins");
        assert_eq!((resolved.concurrency, resolved.max_attempts), (4, 2));
        assert!(is_local_host("http://[::1]:9000"));
        assert!(is_local_host("http://10.0.0.5"));
        assert!(!is_local_host("https://bucket.s3.amazonaws.com"));
    }

    #[test]
    fn bad_options_say_what_is_wrong() {
        for (json, says) in [
            (serde_json::json!({"path": "b"}), "3 to 63"),
            (serde_json::json!({"path": "Bucket/x"}), "lowercase"),
            (serde_json::json!({"path": "bucket/a/../b"}), "`..`"),
            (
                serde_json::json!({"path": "bucket", "key": "k"}),
                "both `key` and `secret`",
            ),
            (
                serde_json::json!({"path": "bucket", "endpoint_url": "127.0.0.1:9000"}),
                "http://",
            ),
            (
                serde_json::json!({"path": "bucket", "connect_timeout_s": -1.0}),
                "positive",
            ),
        ] {
            let error = format!("{:#}", resolve(json.clone()).unwrap_err());
            assert!(error.contains(says), "{json}: {error}");
        }
        let unknown =
            S3Options::deserialize(serde_json::json!({"path": "bucket", "endpoint": "x"}));
        assert!(
            unknown
                .unwrap_err()
                .to_string()
                .contains("unknown field `endpoint`")
        );
    }
}

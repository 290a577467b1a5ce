//! A fresh prefix of the shared test server's bucket, per test.

#![allow(dead_code, clippy::expect_used)]

use functionfuse_core::{Storage, StorageBackend, StorageConfig, storage_factory};
use functionfuse_s3_server::{S3Server, TEST_BUCKET};
use functionfuse_storage_s3::{S3Backend, S3Options};

/// The shared server of this test process.
pub(crate) fn server() -> &'static S3Server {
    S3Server::shared().expect("the test S3 server")
}

/// Options for a fresh prefix of the test bucket.
pub(crate) fn options(prefix: &str) -> S3Options {
    let server = server();
    S3Options {
        path: format!("{TEST_BUCKET}/{prefix}-{}", uuid::Uuid::new_v4().simple()),
        endpoint_url: Some(server.endpoint()),
        key: Some(server.access_key().to_owned()),
        secret: Some(server.secret_key().to_owned()),
        ..S3Options::default()
    }
}

/// A backend over a fresh prefix.
pub(crate) fn backend(prefix: &str) -> S3Backend {
    S3Backend::open(options(prefix)).expect("open the test bucket")
}

/// A storage over a fresh prefix, opened through the factory as a user would.
pub(crate) fn storage(prefix: &str) -> Storage {
    let options = options(prefix);
    let config = StorageConfig::new(
        "S3",
        serde_json::json!({
            "path": options.path,
            "s3fs": {"key": options.key, "secret": options.secret, "endpoint_url": options.endpoint_url},
        }),
    );
    storage_factory(&config).expect("open the S3 storage")
}

/// For the conformance suite: a fresh backend, no guard needed.
pub(crate) fn fresh() -> (Box<dyn StorageBackend>, ()) {
    (Box::new(backend("conformance")), ())
}

//! What the S3 workloads share: a server in this process over a folder of
//! its own, a raw aws-sdk-s3 client to time the raw limit with, and the
//! storage under test.

use std::path::Path;

use functionfuse::{Storage, StorageConfig, storage_factory};
use functionfuse_s3_server::{S3Server, ServerOptions};

pub(crate) const BUCKET: &str = "bench";

/// The server, a raw client on a runtime of its own, and a storage.
pub(crate) struct Bench {
    pub(crate) server: S3Server,
    pub(crate) runtime: tokio::runtime::Runtime,
    pub(crate) client: aws_sdk_s3::Client,
    pub(crate) storage: Storage,
}

impl Bench {
    pub(crate) fn new(base: &Path, prefix: &str) -> Self {
        let server = S3Server::start(ServerOptions::new(base.join("s3"))).expect("S3 server");
        server.create_bucket(BUCKET).expect("bucket");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .endpoint_url(server.endpoint())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                server.access_key(),
                server.secret_key(),
                None,
                None,
                "bench",
            ))
            .force_path_style(true)
            .build();
        let client = aws_sdk_s3::Client::from_conf(config);
        let storage = storage_factory(&StorageConfig::new(
            "S3",
            serde_json::json!({
                "path": format!("{BUCKET}/{prefix}"),
                "endpoint_url": server.endpoint(),
                "key": server.access_key(),
                "secret": server.secret_key(),
            }),
        ))
        .expect("S3 storage");
        Self {
            server,
            runtime,
            client,
            storage,
        }
    }
}

/// One fixture per backend: over a folder under `base`, and over an S3
/// prefix of a server started for the workload.
pub(crate) struct FileAndS3<T> {
    pub(crate) file: T,
    pub(crate) s3: T,
    _bench: Bench,
}

impl<T> FileAndS3<T> {
    pub(crate) fn new(base: &Path, name: &str, make: impl Fn(Storage) -> T) -> Self {
        let bench = Bench::new(base, name);
        let folder = functionfuse::storage_file::FileBackend::new(base.join("storage"));
        Self {
            file: make(Storage::new(Box::new(folder))),
            s3: make(bench.storage.clone()),
            _bench: bench,
        }
    }
}

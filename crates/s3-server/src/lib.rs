//! An S3-protocol server in this process: [s3s-fs] serving a local folder
//! on `127.0.0.1`, for the tests, benchmarks and demo of Function Fuse for
//! Rust (`cargo xtask s3` runs one for users).
//!
//! Each bucket is a sub-folder of the root folder; objects are files under
//! it (written to a temporary file and renamed, so a reader never sees half
//! an object). The server runs on a runtime of its own, so it can be
//! started from synchronous code and from inside another runtime.
//!
//! Beyond what s3s-fs does, the server sets `TCP_NODELAY` on every
//! connection (small requests would otherwise wait on delayed ACKs, which
//! real endpoints do not make them do) and can inject [`Faults`]: latency
//! on every request (as a remote bucket has), throttling responses, and
//! dropped connections.
//!
//! ```no_run
//! use functionfuse_s3_server::{S3Server, ServerOptions};
//!
//! let folder = tempfile::tempdir()?;
//! let server = S3Server::start(ServerOptions::new(folder.path()))?;
//! server.create_bucket("results")?;
//! println!("S3 endpoint {}", server.endpoint());
//! # Ok::<(), anyhow::Error>(())
//! ```
//!
//! [s3s-fs]: https://docs.rs/s3s-fs

mod faults;
mod serve;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;

pub use faults::Faults;

/// The access key the server accepts unless told otherwise.
pub const DEFAULT_ACCESS_KEY: &str = "functionfuse";
/// The secret key the server accepts unless told otherwise.
pub const DEFAULT_SECRET_KEY: &str = "functionfuse-secret";

/// How to start an [`S3Server`].
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The folder that holds the buckets; created when missing.
    pub root: PathBuf,
    /// The one access key accepted.
    pub access_key: String,
    /// Its secret key.
    pub secret_key: String,
    /// The port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
}

impl ServerOptions {
    /// A server over `root` on a free port with the default keys.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            access_key: DEFAULT_ACCESS_KEY.to_owned(),
            secret_key: DEFAULT_SECRET_KEY.to_owned(),
            port: 0,
        }
    }
}

/// The bucket [`S3Server::shared`] creates for tests.
pub const TEST_BUCKET: &str = "functionfuse-tests";

/// A running server; it stops when dropped.
#[derive(Debug)]
pub struct S3Server {
    address: SocketAddr,
    options: ServerOptions,
    faults: Arc<Faults>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl S3Server {
    /// Starts a server.
    ///
    /// # Errors
    /// When the folder cannot be created or the port cannot be bound.
    pub fn start(options: ServerOptions) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&options.root)
            .with_context(|| format!("cannot create {}", options.root.display()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("s3-server")
            .enable_all()
            .build()
            .context("cannot start the server's runtime")?;
        let faults = Arc::new(Faults::default());
        let address = runtime.block_on(serve::start(&options, Arc::clone(&faults)))?;
        Ok(Self {
            address,
            options,
            faults,
            runtime: Some(runtime),
        })
    }

    /// One server for the whole test process, with [`TEST_BUCKET`] created:
    /// tests that share it work under prefixes of their own. Its folder is
    /// `functionfuse-s3-tests-<pid>` in the temporary folder; folders of
    /// earlier processes older than an hour are removed when it starts.
    ///
    /// # Errors
    /// When the server cannot start (the error repeats on every call).
    pub fn shared() -> anyhow::Result<&'static Self> {
        static SHARED: std::sync::OnceLock<Result<S3Server, String>> = std::sync::OnceLock::new();
        SHARED
            .get_or_init(|| {
                let temp = std::env::temp_dir();
                remove_stale_test_folders(&temp);
                let root = temp.join(format!("functionfuse-s3-tests-{}", std::process::id()));
                let server = Self::start(ServerOptions::new(root)).map_err(|e| format!("{e:#}"))?;
                server
                    .create_bucket(TEST_BUCKET)
                    .map_err(|e| format!("{e:#}"))?;
                Ok(server)
            })
            .as_ref()
            .map_err(|message| {
                anyhow::anyhow!("the shared test S3 server did not start: {message}")
            })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The folder that holds the buckets.
    pub fn root(&self) -> &Path {
        &self.options.root
    }

    /// The access key the server accepts.
    pub fn access_key(&self) -> &str {
        &self.options.access_key
    }

    /// The secret key the server accepts.
    pub fn secret_key(&self) -> &str {
        &self.options.secret_key
    }

    /// The faults injected into requests from now on.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Creates a bucket (a folder under the root); an existing one is kept.
    ///
    /// # Errors
    /// When the folder cannot be created.
    pub fn create_bucket(&self, name: &str) -> anyhow::Result<()> {
        let folder = self.options.root.join(name);
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("cannot create bucket folder {}", folder.display()))
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Connections still open are dropped with the runtime.
            runtime.shutdown_background();
        }
    }
}

/// Removes `functionfuse-s3-tests-*` folders older than an hour from `temp`.
fn remove_stale_test_folders(temp: &Path) {
    let Ok(entries) = std::fs::read_dir(temp) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.starts_with("functionfuse-s3-tests-"))
            && entry
                .metadata()
                .and_then(|metadata| metadata.modified())
                .is_ok_and(|modified| {
                    modified
                        .elapsed()
                        .is_ok_and(|age| age > std::time::Duration::from_hours(1))
                });
        if stale {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

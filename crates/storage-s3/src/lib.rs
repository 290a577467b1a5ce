//! S3 storage backend for Function Fuse for Rust, kind `"S3"` (any case).
//!
//! Records are objects `<prefix>/<workflow>/<task>` in a bucket of any
//! S3-compatible store (AWS S3, `MinIO`, Ceph, R2); big data lives under
//! `<prefix>/<workflow>/bigdata/`, reached by serializers through
//! [`S3_PROTOCOL`](functionfuse_core::S3_PROTOCOL) (the ndarray serializer
//! writes zarr v3 arrays there). A PUT is atomic on S3: a reader sees the old
//! record or the new one.
//!
//! A Function Fuse config works unchanged:
//!
//! ```json
//! {"kind": "S3", "options": {"path": "/bucket/prefix",
//!   "s3fs": {"key": "…", "secret": "…", "endpoint_url": "http://127.0.0.1:9000"}}}
//! ```
//!
//! Flat options beside it: `endpoint_url`, `region`, `key`/`secret` (or
//! `access_key_id`/`secret_access_key`), `token`, `profile`,
//! `force_path_style`, `create_bucket`, `connect_timeout_s`,
//! `operation_timeout_s`, `max_attempts`, `concurrency`; see [`S3Options`].
//! Without explicit keys, credentials come from the standard AWS chain
//! (environment, shared profile, ...). Opening checks the bucket: an
//! endpoint that cannot be reached, a missing bucket and refused
//! credentials are errors that say so.
//!
//! `Storage` stays synchronous: the backend owns a small tokio runtime and
//! can be called from plain threads and from inside another tokio runtime.

mod backend;
mod bigdata;
mod bucket;
mod client;
mod errors;
mod lease;
mod options;
mod runtime;

pub use backend::S3Backend;
pub use bigdata::S3BigData;
pub use options::{ClientKwargs, S3Options, S3fsOptions};

/// The kind this backend registers under (matched without regard to case,
/// so `"s3"` works too).
pub const KIND: &str = "S3";

functionfuse_core::submit_storage_backend!(KIND, backend::open);

//! Function Fuse for Rust: keep the result of every node of a pipeline in a
//! storage (a local folder, an S3 bucket) so a run can resume without
//! recomputing, and results can be listed and read later.
//!
//! Cargo features pick the plugins that are linked in:
//!
//! | feature | default | adds |
//! |---------|---------|------|
//! | `file`  | yes     | storage kind `"file"` ([`storage_file`]) |
//! | `s3`    | yes     | storage kind `"S3"` ([`storage_s3`]): AWS S3, `MinIO`, Ceph, R2, ... |
//! | `ndarray` | yes   | `ndarray` arrays as HDF5 files on local storages and zarr v3 arrays on S3 ([`serializer_ndarray`]); needs libhdf5 |
//!
//! ```
//! use functionfuse::{StorageConfig, storage_factory};
//!
//! let folder = tempfile::tempdir()?;
//! let config: StorageConfig = serde_json::from_value(serde_json::json!({
//!     "kind": "file",
//!     "options": {"path": folder.path()},
//! }))?;
//! let storage = storage_factory(&config)?;
//! storage.save("experiment", "mean", &4.5_f64)?;
//! assert_eq!(storage.read_task::<f64>("experiment", "mean")?, 4.5);
//! assert_eq!(storage.list_tasks("experiment", "*")?, ["mean"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use functionfuse_core::*;

/// `#[functionfuse::node]`: a function's code version derived from its own
/// tokens, as `const <NAME>_VERSION: CodeVersion`; see `docs/keyed.md`.
pub use functionfuse_macros::node;

/// The local-folder backend (feature `file`).
///
/// Naming the crate here also links it, so that its `inventory`
/// registration of kind `"file"` is seen.
#[cfg(feature = "file")]
pub use functionfuse_storage_file as storage_file;

/// The S3 backend (feature `s3`).
///
/// Naming the crate here also links it, so that its `inventory`
/// registration of kind `"S3"` is seen.
#[cfg(feature = "s3")]
pub use functionfuse_storage_s3 as storage_s3;

/// The ndarray serializer (feature `ndarray`).
#[cfg(feature = "ndarray")]
pub use functionfuse_serializer_ndarray as serializer_ndarray;

/// The `ndarray` crate at the version the serializer handles (feature `ndarray`).
#[cfg(feature = "ndarray")]
pub use ndarray;

// The code in the README and the guide is compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
mod readme {}

#[cfg(doctest)]
#[doc = include_str!("../../../docs/guide.md")]
mod guide {}

#[cfg(doctest)]
#[doc = include_str!("../../../docs/serializers.md")]
mod serializers_guide {}

#[cfg(doctest)]
#[doc = include_str!("../../../docs/s3.md")]
mod s3_guide {}

#[cfg(doctest)]
#[doc = include_str!("../../../docs/cli.md")]
mod cli_guide {}

#[cfg(doctest)]
#[doc = include_str!("../../../docs/large-arrays.md")]
mod large_arrays_guide {}

#[cfg(doctest)]
#[doc = include_str!("../../../docs/keyed.md")]
mod keyed_guide {}

#[cfg(doctest)]
#[doc = include_str!("../../../docs/workers.md")]
mod workers_guide {}

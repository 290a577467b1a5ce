//! Local-folder storage backend for Function Fuse for Rust, kind `"file"`.
//!
//! Layout: `<path>/<workflow>/<task>` holds one record per task,
//! `<path>/<workflow>/bigdata/` the big data of persistent serializers,
//! reached through [`FILE_PROTOCOL`](functionfuse_core::FILE_PROTOCOL).
//! Records are written to a hidden temporary file in the same folder and
//! renamed into place, so a reader sees the old record or the new one.
//!
//! Options (`{"kind": "file", "options": {...}}`):
//!
//! | option    | type   | default | meaning |
//! |-----------|--------|---------|---------|
//! | `path`    | string | —       | the storage folder (created when needed) |
//! | `durable` | bool   | `false` | `fsync` each record and its folder before a save returns |
//!
//! Without `durable`, a power cut can lose the latest records or leave their
//! big data empty; such results read as not found or corrupt, and
//! `Storage::cached` recomputes them. A reader never sees a torn record:
//! the rename is atomic.
//!
//! ```
//! use functionfuse_core::Storage;
//! use functionfuse_storage_file::FileBackend;
//!
//! let folder = tempfile::tempdir()?;
//! let storage = Storage::new(Box::new(FileBackend::new(folder.path())));
//! storage.save("workflow", "task", &vec![1, 2, 3])?;
//! assert_eq!(storage.read_task::<Vec<i32>>("workflow", "task")?, [1, 2, 3]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod access;
mod backend;
mod bigdata;
mod lease;
mod scan;
mod write;

pub use backend::{FileBackend, FileOptions};
pub use bigdata::FileBigData;

/// The kind this backend registers under.
pub const KIND: &str = "file";

functionfuse_core::submit_storage_backend!(KIND, backend::open);

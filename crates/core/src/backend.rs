//! The byte-level interface every storage backend implements.

use std::fmt;

use crate::protocols::Protocols;

/// Moves record bytes to and from one place (a folder, a bucket prefix).
///
/// Backends never see user types: [`Storage`](crate::Storage) encodes and
/// decodes records and validates names before calling them. Errors are
/// `anyhow` errors; `Storage` wraps them with the backend's kind.
///
/// Every backend must pass the conformance suite in
/// `functionfuse_core::testing` (feature `testing`).
pub trait StorageBackend: Send + Sync + fmt::Debug {
    /// The kind this backend registers under (e.g. `"file"`).
    fn kind(&self) -> &'static str;

    /// Where the data lives, for messages (a folder or `s3://bucket/prefix`).
    fn location(&self) -> String;

    /// Prepares a workflow; saving also does this when needed.
    ///
    /// # Errors
    /// When the workflow cannot be created.
    fn new_workflow(&self, workflow: &str) -> anyhow::Result<()>;

    /// Stores a record atomically: a reader sees the old record or the new
    /// one, never a part. Creates the workflow when needed.
    ///
    /// # Errors
    /// When the record cannot be written; the old record is then intact.
    fn put(&self, workflow: &str, task: &str, record: &[u8]) -> anyhow::Result<()>;

    /// Stores a record only when the task has none, atomically with the
    /// check where the store allows (S3's `If-None-Match: *`): `Some(true)`
    /// when it was written, `Some(false)` when a record exists (nothing was
    /// written). `None`, the default, says the backend cannot; then
    /// [`Storage`](crate::Storage) reads the old record's header and calls
    /// [`put`](Self::put). Saving a new task then takes one request.
    ///
    /// # Errors
    /// When the record cannot be written; the old record is then intact.
    fn put_if_absent(
        &self,
        workflow: &str,
        task: &str,
        record: &[u8],
    ) -> anyhow::Result<Option<bool>> {
        let _ = (workflow, task, record);
        Ok(None)
    }

    /// The record's bytes, or `None` when there is none.
    ///
    /// # Errors
    /// When the record exists but cannot be read.
    fn get(&self, workflow: &str, task: &str) -> anyhow::Result<Option<Vec<u8>>>;

    /// At most the first `len` bytes of the record, or `None` when there is
    /// none: lets removal read a header without the whole record. The
    /// default reads the whole record; backends override it when they can
    /// read less.
    ///
    /// # Errors
    /// When the record exists but cannot be read.
    fn get_prefix(
        &self,
        workflow: &str,
        task: &str,
        len: usize,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self.get(workflow, task)?.map(|mut bytes| {
            bytes.truncate(len);
            bytes
        }))
    }

    /// Whether a record exists.
    ///
    /// # Errors
    /// When the storage cannot be asked.
    fn exists(&self, workflow: &str, task: &str) -> anyhow::Result<bool>;

    /// Names of every record of the workflow (not big data, not temporary
    /// files), in any order; an unknown workflow has none.
    ///
    /// # Errors
    /// When the storage cannot be listed.
    fn list(&self, workflow: &str) -> anyhow::Result<Vec<String>>;

    /// Deletes a record; returns whether there was one.
    ///
    /// # Errors
    /// When the record exists but cannot be deleted.
    fn delete(&self, workflow: &str, task: &str) -> anyhow::Result<bool>;

    /// Deletes a workflow with all its records and big data; a missing
    /// workflow is not an error.
    ///
    /// # Errors
    /// When something cannot be deleted.
    fn remove_workflow(&self, workflow: &str) -> anyhow::Result<()>;

    /// The protocols serializers may use for this workflow's big data.
    ///
    /// # Errors
    /// When the big-data namespace cannot be set up.
    fn protocols(&self, workflow: &str) -> anyhow::Result<Protocols>;
}

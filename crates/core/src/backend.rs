//! The byte-level interface every storage backend implements.

use std::fmt;
use std::time::SystemTime;

use crate::protocols::Protocols;

/// One object a backend holds, as maintenance (`gc`, sizes) sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// Its path relative to the workflow (or, for
    /// [`StorageBackend::leftovers`], to the storage): `task`,
    /// `bigdata/<object>`, `bigdata/<array>.zarr/c/0/0`, or a hidden
    /// temporary such as `.tmp-41-7`.
    pub path: String,
    /// Its size in bytes (for a folder: the sum of its files).
    pub size: u64,
    /// When it was last written, when the store says.
    pub modified: Option<SystemTime>,
}

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

    /// The record's bytes, as [`get`](Self::get), but a record over `limit`
    /// bytes is refused with [`RecordTooLarge`](crate::RecordTooLarge). The
    /// default reads it first; backends override it to check the size
    /// before reading.
    ///
    /// # Errors
    /// When the record exists but cannot be read, or is over the limit.
    fn get_limited(
        &self,
        workflow: &str,
        task: &str,
        limit: u64,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        let bytes = self.get(workflow, task)?;
        if let Some(bytes) = &bytes
            && bytes.len() as u64 > limit
        {
            return Err(crate::RecordTooLarge {
                size: bytes.len() as u64,
                limit,
            }
            .into());
        }
        Ok(bytes)
    }

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

    /// Asks for the single-flight lease of `task`
    /// ([`SingleFlight`](crate::SingleFlight)) for `holder` (a description
    /// of this process), lasting `ttl` where leases expire. `None` (the
    /// default): this backend has no leases, and every process computes.
    ///
    /// # Errors
    /// When the storage fails.
    fn try_lease(
        &self,
        workflow: &str,
        task: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> anyhow::Result<Option<crate::single_flight::LeaseAttempt>> {
        let _ = (workflow, task, holder, ttl);
        Ok(None)
    }

    /// Records that `task` was just read: its access mark
    /// ([`ACCESS_DIR`](crate::names::ACCESS_DIR)`/<task>`, an empty object)
    /// is written, so its modification time is now. Retention's size cap
    /// evicts the least recently used results first by it; without marks
    /// (the default does nothing) a result counts as used when saved.
    ///
    /// # Errors
    /// When the mark cannot be written.
    fn mark_access(&self, workflow: &str, task: &str) -> anyhow::Result<()> {
        let _ = (workflow, task);
        Ok(())
    }

    /// Names of the workflows present (a folder on a file storage, a
    /// prefix with objects on S3), in any order; names that are not valid
    /// workflow names are left out. The default says the
    /// backend cannot list them.
    ///
    /// # Errors
    /// When the storage cannot be listed.
    fn workflows(&self) -> anyhow::Result<Vec<String>> {
        anyhow::bail!("the {} backend cannot list its workflows", self.kind())
    }

    /// Every object under the workflow, records, big data and hidden
    /// temporaries alike, with size and age, in any order; an unknown
    /// workflow has none. Maintenance (`verify`, `gc`, sizes) builds on it;
    /// the default says the backend cannot.
    ///
    /// # Errors
    /// When the storage cannot be listed.
    fn scan(&self, workflow: &str) -> anyhow::Result<Vec<StoredObject>> {
        let _ = workflow;
        anyhow::bail!("the {} backend cannot list its objects", self.kind())
    }

    /// The objects of [`scan`](Self::scan) whose path starts with `prefix`
    /// (e.g. `bigdata/<array>`): what one task's big data occupies, without
    /// listing the whole workflow. The default filters `scan`; object
    /// stores override it to list only the prefix.
    ///
    /// # Errors
    /// When the storage cannot be listed.
    fn scan_prefix(&self, workflow: &str, prefix: &str) -> anyhow::Result<Vec<StoredObject>> {
        let mut objects = self.scan(workflow)?;
        objects.retain(|object| object.path.starts_with(prefix));
        Ok(objects)
    }

    /// Deletes objects by their [`scan`](Self::scan) path; missing ones are
    /// not an error. Paths that could leave the workflow are refused.
    ///
    /// # Errors
    /// When a path is refused or an object cannot be deleted.
    fn delete_objects(&self, workflow: &str, paths: &[String]) -> anyhow::Result<()> {
        let _ = (workflow, paths);
        anyhow::bail!("the {} backend cannot delete objects by path", self.kind())
    }

    /// What the storage holds outside any workflow that it left itself
    /// (the file backend's folders of interrupted workflow removals), with
    /// paths relative to the storage. None by default.
    ///
    /// # Errors
    /// When the storage cannot be listed.
    fn leftovers(&self) -> anyhow::Result<Vec<StoredObject>> {
        Ok(Vec::new())
    }

    /// Deletes leftovers by their [`leftovers`](Self::leftovers) path.
    ///
    /// # Errors
    /// When a path is not a leftover or cannot be deleted.
    fn delete_leftovers(&self, paths: &[String]) -> anyhow::Result<()> {
        if paths.is_empty() {
            return Ok(());
        }
        anyhow::bail!("the {} backend leaves no leftovers to delete", self.kind())
    }
}

/// Checks a path handed to [`StorageBackend::delete_objects`]: relative,
/// `/`-separated, no empty, `.` or `..` segment, no `\` or NUL.
///
/// # Errors
/// A message naming the path.
pub fn check_object_path(path: &str) -> anyhow::Result<()> {
    if path
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
        || path.contains(['\\', '\0'])
    {
        anyhow::bail!("invalid object path {path:?}: empty, `.` or `..` segments, `\\` or NUL");
    }
    Ok(())
}

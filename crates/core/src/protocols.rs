//! Protocols: how a storage lets persistent serializers reach its big data.
//!
//! A storage hands serializers a [`Protocols`] map for one workflow. A
//! serializer asks for the interface it knows ([`Protocols::file`] or
//! [`Protocols::s3`]) and never depends on a backend crate.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::future::Future;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use crate::error::{Result, StorageFailure};

/// Key of the local-folder protocol ([`FileProtocol`]); same string as Function Fuse.
pub const FILE_PROTOCOL: &str = "file_protocol";

/// Key of the object-store protocol ([`S3Protocol`]); same string as Function Fuse.
pub const S3_PROTOCOL: &str = "s3 protocol";

/// A folder for one workflow's big data on a local file system.
///
/// Object names are single path components (checked with
/// [`validate_object`](crate::names::validate_object)); writes are atomic:
/// [`FileProtocol::create`] hands out a temporary path and
/// [`NewFile::commit`] renames it into place.
pub trait FileProtocol: Send + Sync + fmt::Debug {
    /// The folder that holds the objects.
    fn folder(&self) -> &Path;

    /// Reserves a new object with a unique name ending in `extension`
    /// (without the dot) and returns where to write it.
    ///
    /// # Errors
    /// When the folder cannot be created.
    fn create(&self, extension: &str) -> anyhow::Result<NewFile>;

    /// The path of an existing object, for libraries that open files by path.
    ///
    /// # Errors
    /// [`Error::InvalidName`](crate::Error::InvalidName) for a name that could leave the folder.
    fn path(&self, name: &str) -> Result<PathBuf>;

    /// Opens an object for reading.
    ///
    /// # Errors
    /// When the name is invalid or the file cannot be opened.
    fn open(&self, name: &str) -> anyhow::Result<File>;

    /// Removes an object; a missing object is not an error.
    ///
    /// # Errors
    /// When the name is invalid or the file exists but cannot be removed.
    fn remove(&self, name: &str) -> anyhow::Result<()>;

    /// Names of the committed objects, sorted.
    ///
    /// # Errors
    /// When the folder exists but cannot be read.
    fn list(&self) -> anyhow::Result<Vec<String>>;
}

/// A boxed future, as [`S3Protocol`]'s methods return (object safe, and
/// free of any async runtime: the protocol runs them on its own, see
/// [`S3Protocol::block_on`]).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An object-store namespace under one workflow's big-data prefix.
///
/// Keys are relative to that prefix and may contain `/`. Operations are
/// futures so that a serializer can keep many requests in flight (a zarr
/// array is many objects); [`S3Protocol::block_on`] runs one to completion
/// from synchronous code, and the `*_blocking` helpers on `dyn S3Protocol`
/// run single operations.
///
/// Errors are `anyhow` errors; an implementation wraps failures of the
/// object store itself in [`StorageFailure`] so that
/// [`Storage`](crate::Storage) reports them as
/// [`Error::Backend`](crate::Error::Backend).
pub trait S3Protocol: Send + Sync + fmt::Debug {
    /// The full prefix the keys live under, as `s3://bucket/prefix/...` (for
    /// messages and interop).
    fn prefix(&self) -> &str;

    /// How many requests a caller may keep in flight.
    fn concurrency(&self) -> usize;

    /// Stores `bytes` under `key`, replacing any object there.
    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> BoxFuture<'a, anyhow::Result<()>>;

    /// The whole object, or `None` when there is none.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<Option<Vec<u8>>>>;

    /// A byte range of the object, or `None` when there is none. A range
    /// that runs past the end of the object is an error.
    fn get_range<'a>(
        &'a self,
        key: &'a str,
        range: Range<u64>,
    ) -> BoxFuture<'a, anyhow::Result<Option<Vec<u8>>>>;

    /// The object's size, or `None` when there is none.
    fn size<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<Option<u64>>>;

    /// Deletes objects (in batches where the store allows); missing objects
    /// are not an error.
    fn delete_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, anyhow::Result<()>>;

    /// Every key that starts with `prefix`, with its size (relative keys, sorted).
    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, anyhow::Result<Vec<(String, u64)>>>;

    /// Runs `future` to completion on the protocol's runtime and waits for
    /// it; callable from any thread, also one of another async runtime.
    fn block_on(&self, future: BoxFuture<'_, ()>);
}

impl dyn S3Protocol + '_ {
    /// Runs `operation` (a request of this protocol, or any future that
    /// makes them, such as a zarrs read) to completion on the protocol's
    /// runtime, and returns its result.
    ///
    /// # Errors
    /// The operation's error; an error too when the runtime dropped it.
    pub fn run<'a, T: Send + 'a>(
        &'a self,
        operation: BoxFuture<'a, anyhow::Result<T>>,
    ) -> anyhow::Result<T> {
        let mut result = None;
        self.block_on(Box::pin(async {
            result = Some(operation.await);
        }));
        result.unwrap_or_else(|| {
            Err(anyhow::anyhow!(
                "the S3 protocol's runtime dropped an operation"
            ))
        })
    }

    /// [`put`](S3Protocol::put), waiting for it.
    ///
    /// # Errors
    /// When the object store refuses or cannot be reached.
    pub fn put_blocking(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.run(self.put(key, bytes))
    }

    /// [`get`](S3Protocol::get), waiting for it.
    ///
    /// # Errors
    /// When the object store refuses or cannot be reached.
    pub fn get_blocking(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        self.run(self.get(key))
    }

    /// [`delete_many`](S3Protocol::delete_many) of one key, waiting for it.
    ///
    /// # Errors
    /// When the object store refuses or cannot be reached.
    pub fn delete_blocking(&self, key: &str) -> anyhow::Result<()> {
        let keys = [key.to_owned()];
        self.run(self.delete_many(&keys))
    }

    /// [`list`](S3Protocol::list), waiting for it.
    ///
    /// # Errors
    /// When the object store refuses or cannot be reached.
    pub fn list_blocking(&self, prefix: &str) -> anyhow::Result<Vec<(String, u64)>> {
        self.run(self.list(prefix))
    }
}

/// One protocol's interface.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ProtocolInterface {
    /// The [`FILE_PROTOCOL`] interface.
    File(Arc<dyn FileProtocol>),
    /// The [`S3_PROTOCOL`] interface.
    S3(Arc<dyn S3Protocol>),
}

/// What a storage hands to serializers: protocol key → interface.
#[derive(Debug, Clone, Default)]
pub struct Protocols {
    interfaces: BTreeMap<&'static str, ProtocolInterface>,
}

impl Protocols {
    /// An empty map (a storage that speaks no protocol).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the file protocol under [`FILE_PROTOCOL`].
    #[must_use]
    pub fn with_file(mut self, file: Arc<dyn FileProtocol>) -> Self {
        self.interfaces
            .insert(FILE_PROTOCOL, ProtocolInterface::File(file));
        self
    }

    /// Adds the S3 protocol under [`S3_PROTOCOL`].
    #[must_use]
    pub fn with_s3(mut self, s3: Arc<dyn S3Protocol>) -> Self {
        self.interfaces
            .insert(S3_PROTOCOL, ProtocolInterface::S3(s3));
        self
    }

    /// The interface stored under `key`.
    pub fn get(&self, key: &str) -> Option<&ProtocolInterface> {
        self.interfaces.get(key)
    }

    /// The file protocol, when the storage speaks it.
    pub fn file(&self) -> Option<&dyn FileProtocol> {
        match self.interfaces.get(FILE_PROTOCOL) {
            Some(ProtocolInterface::File(file)) => Some(file.as_ref()),
            _ => None,
        }
    }

    /// The S3 protocol, when the storage speaks it.
    pub fn s3(&self) -> Option<&dyn S3Protocol> {
        match self.interfaces.get(S3_PROTOCOL) {
            Some(ProtocolInterface::S3(s3)) => Some(s3.as_ref()),
            _ => None,
        }
    }

    /// The protocol keys present, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.interfaces.keys().copied()
    }

    /// The error a serializer returns when none of the protocols it needs is
    /// present: names the serializer, what it needs and what it was offered.
    pub fn missing(&self, serializer: &str, needed: &[&str]) -> anyhow::Error {
        let offered: Vec<&str> = self.keys().collect();
        anyhow::anyhow!(
            "serializer `{serializer}` needs one of the protocols {needed:?}, \
             but this storage offers {offered:?}"
        )
    }
}

/// A big-data file being written: write to [`NewFile::temp_path`], then
/// [`NewFile::commit`]. Dropped uncommitted, it removes its temporary file,
/// so a failed write leaves nothing under the final name.
#[derive(Debug)]
pub struct NewFile {
    name: String,
    temp_path: PathBuf,
    final_path: PathBuf,
    durable: bool,
    committed: bool,
}

impl NewFile {
    /// Reserves `name` inside `folder`; the temporary file is a hidden
    /// sibling so the rename stays on one file system.
    ///
    /// # Errors
    /// [`Error::InvalidName`](crate::Error::InvalidName) when `name` is not a single safe component.
    pub fn new(folder: &Path, name: String, durable: bool) -> Result<Self> {
        crate::names::validate_object(&name)?;
        Ok(Self {
            temp_path: folder.join(format!(".{name}.tmp")),
            final_path: folder.join(&name),
            name,
            durable,
            committed: false,
        })
    }

    /// The object's name once committed (what to store in a persistent id).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where to write the content.
    pub fn temp_path(&self) -> &Path {
        &self.temp_path
    }

    /// Moves the written file to its final name (after `fsync` when the
    /// storage is durable) and returns the object's name.
    ///
    /// # Errors
    /// When the file is missing, the rename fails or (durable) the folder
    /// cannot be synced; no file is left under either name then.
    pub fn commit(mut self) -> Result<String, StorageFailure> {
        let failure = |what: &str, path: &Path, error: io::Error| {
            StorageFailure::new(format!("cannot {what} {}", path.display()), error)
        };
        if self.durable {
            File::open(&self.temp_path)
                .and_then(|file| file.sync_all())
                .map_err(|e| failure("sync", &self.temp_path, e))?;
        }
        std::fs::rename(&self.temp_path, &self.final_path)
            .map_err(|e| failure("move into place", &self.temp_path, e))?;
        self.committed = true;
        if self.durable
            && let Some(folder) = self.final_path.parent()
            && let Err(error) = File::open(folder).and_then(|folder| folder.sync_all())
        {
            // Not durable after all: nothing refers to the file yet, so
            // removing it leaves no orphan behind.
            let _ = std::fs::remove_file(&self.final_path);
            return Err(failure("sync the folder of", &self.final_path, error));
        }
        Ok(std::mem::take(&mut self.name))
    }
}

impl Drop for NewFile {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: a leftover hidden temp file is invisible to readers.
            let _ = std::fs::remove_file(&self.temp_path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_file_commits_by_rename_and_cleans_up_when_dropped() {
        let folder = tempfile::tempdir().unwrap();
        let new_file = NewFile::new(folder.path(), "a.bin".into(), false).unwrap();
        std::fs::write(new_file.temp_path(), b"data").unwrap();
        assert!(
            !folder.path().join("a.bin").exists(),
            "visible before commit"
        );
        assert_eq!(new_file.commit().unwrap(), "a.bin");
        assert_eq!(std::fs::read(folder.path().join("a.bin")).unwrap(), b"data");

        let abandoned = NewFile::new(folder.path(), "b.bin".into(), true).unwrap();
        std::fs::write(abandoned.temp_path(), b"half").unwrap();
        let temp = abandoned.temp_path().to_path_buf();
        drop(abandoned);
        assert!(!temp.exists());
        assert!(!folder.path().join("b.bin").exists());
        let names: Vec<_> = std::fs::read_dir(folder.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn new_file_refuses_names_that_escape() {
        let folder = tempfile::tempdir().unwrap();
        for name in ["../x", "a/b", "", ".."] {
            assert!(
                NewFile::new(folder.path(), name.into(), false).is_err(),
                "{name}"
            );
        }
    }

    #[test]
    fn missing_protocol_error_names_both_sides() {
        let message = Protocols::new()
            .missing("ndarray", &[S3_PROTOCOL])
            .to_string();
        assert!(
            message.contains("ndarray") && message.contains("s3 protocol"),
            "{message}"
        );
        assert!(message.contains("offers []"), "{message}");
    }
}

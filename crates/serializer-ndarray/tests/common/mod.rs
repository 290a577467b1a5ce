//! Helpers shared by the serializer's tests.

#![allow(dead_code, clippy::expect_used)]

use std::path::PathBuf;

use functionfuse_core::{PersistentId, Storage, record};
use functionfuse_storage_file::FileBackend;

pub(crate) const WF: &str = "arrays";

/// A storage in a fresh folder; keep the guard alive.
pub(crate) fn storage() -> (Storage, tempfile::TempDir) {
    let folder = tempfile::tempdir().expect("temporary folder");
    let storage = Storage::new(Box::new(FileBackend::new(folder.path())));
    (storage, folder)
}

/// The persistent ids in the record of `task`.
pub(crate) fn ids(storage: &Storage, task: &str) -> Vec<PersistentId> {
    let bytes = storage
        .backend()
        .get(WF, task)
        .expect("get")
        .expect("record");
    record::decode(&bytes).expect("valid").header.persistent_ids
}

/// The HDF5 files in the workflow's big-data folder.
pub(crate) fn h5_files(storage: &Storage) -> Vec<PathBuf> {
    let protocols = storage.backend().protocols(WF).expect("protocols");
    let file = protocols.file().expect("file protocol");
    file.list()
        .expect("list")
        .into_iter()
        .map(|name| file.folder().join(name))
        .collect()
}

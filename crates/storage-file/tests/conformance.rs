//! The core conformance suite, run against a file backend in a fresh folder.

// Test code: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use functionfuse_core::StorageBackend;
use functionfuse_storage_file::FileBackend;

fn fresh() -> (Box<dyn StorageBackend>, tempfile::TempDir) {
    let folder = tempfile::tempdir().expect("temporary folder");
    let backend = FileBackend::new(folder.path().join("storage"));
    (Box::new(backend), folder)
}

functionfuse_core::conformance_tests!(fresh);

mod durable {
    use super::*;

    fn fresh_durable() -> (Box<dyn StorageBackend>, tempfile::TempDir) {
        let folder = tempfile::tempdir().expect("temporary folder");
        let backend = FileBackend::new(folder.path()).durable(true);
        (Box::new(backend), folder)
    }

    functionfuse_core::conformance_tests!(fresh_durable);
}

/// Deleting by path never goes through a symbolic link out of the storage.
#[test]
fn deleting_by_path_refuses_linked_folders() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("x.h5"), b"keep").unwrap();
    std::fs::create_dir_all(root.path().join("wf")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.path().join("wf").join("bigdata")).unwrap();
    let backend = FileBackend::new(root.path());
    let error = backend
        .delete_objects("wf", &["bigdata/x.h5".to_owned()])
        .unwrap_err();
    assert!(error.to_string().contains("symbolic link"), "{error:#}");
    assert!(outside.path().join("x.h5").exists());
}

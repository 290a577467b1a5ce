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

/// `gc` never removes a lock file a computation holds, however old; once
/// released and collected, the lease is taken on a new file.
#[test]
fn gc_keeps_a_held_lock_file() {
    use functionfuse_core::maintenance::NoProgress;
    use functionfuse_core::{LeaseAttempt, Storage};
    use std::time::Duration;

    let root = tempfile::tempdir().unwrap();
    let storage = Storage::new(Box::new(FileBackend::new(root.path())));
    storage.save("wf", "task", &1_u8).unwrap();
    let ttl = Duration::from_mins(1);
    let Some(LeaseAttempt::Acquired(held)) = storage
        .backend()
        .try_lease("wf", "task", "me", ttl)
        .unwrap()
    else {
        panic!("a fresh lease was not acquired");
    };
    let lock_file = root.path().join("wf/.leases/task");
    storage
        .collect_garbage(&[], Duration::ZERO, &NoProgress)
        .unwrap();
    assert!(lock_file.exists(), "a held lock file was removed");
    assert!(matches!(
        storage.backend().try_lease("wf", "task", "other", ttl).unwrap(),
        Some(LeaseAttempt::Held { holder }) if holder == "me"
    ));
    held.release().unwrap();
    storage
        .collect_garbage(&[], Duration::ZERO, &NoProgress)
        .unwrap();
    assert!(!lock_file.exists(), "a released lock file was kept");
    assert!(matches!(
        storage
            .backend()
            .try_lease("wf", "task", "other", ttl)
            .unwrap(),
        Some(LeaseAttempt::Acquired(_))
    ));
    assert!(lock_file.exists());
}

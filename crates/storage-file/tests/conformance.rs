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

//! Helpers for the end-to-end tests: a storage in a fresh folder opened
//! through the factory, and the external programs the interop tests run.

// Test helpers: failing loudly is their job.
#![allow(clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use functionfuse::{Storage, StorageConfig, storage_factory};

/// A file storage in a fresh folder, opened through [`storage_factory`] as
/// a user would; keep the folder alive.
///
/// # Panics
/// When the folder or the storage cannot be made.
pub fn file_storage() -> (Storage, tempfile::TempDir) {
    let folder = tempfile::tempdir().expect("temporary folder");
    let config = StorageConfig::new("file", serde_json::json!({ "path": folder.path() }));
    (storage_factory(&config).expect("file storage"), folder)
}

/// The Python the interop tests use: `FUNCTIONFUSE_PYTHON` (set by
/// `cargo xtask ci` to a virtualenv with h5py, numpy and msgpack).
///
/// # Panics
/// When the variable is not set, with what to do instead.
pub fn python() -> PathBuf {
    std::env::var_os("FUNCTIONFUSE_PYTHON")
        .map(PathBuf::from)
        .expect("FUNCTIONFUSE_PYTHON is not set: run the interop tests through `cargo xtask ci`")
}

/// Runs `program` with `args`; returns its standard output.
///
/// # Panics
/// When it cannot start or exits with an error, with its output.
pub fn run(program: &Path, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        output.status.success(),
        "{} {args:?} failed: {}\n{}",
        program.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The folder with the Python scripts of the docs and tests.
pub fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

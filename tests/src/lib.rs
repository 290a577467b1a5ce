//! Helpers for the end-to-end tests: a storage in a fresh folder opened
//! through the factory, and the external programs the interop tests run.

// Test helpers: failing loudly is their job.
#![allow(clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use functionfuse::{Storage, StorageConfig, storage_factory};
use functionfuse_s3_server::{S3Server, TEST_BUCKET};

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

/// The S3 server this test process shares (s3s-fs on 127.0.0.1).
///
/// # Panics
/// When it cannot start.
pub fn s3_server() -> &'static S3Server {
    S3Server::shared().expect("the test S3 server")
}

/// A Function Fuse style config of an S3 storage over a fresh prefix of
/// the test bucket, and that prefix.
pub fn s3_config() -> (StorageConfig, String) {
    let server = s3_server();
    let prefix = format!("t{}", unique());
    let config = StorageConfig::new(
        "S3",
        serde_json::json!({
            "path": format!("/{TEST_BUCKET}/{prefix}"),
            "s3fs": {
                "key": server.access_key(),
                "secret": server.secret_key(),
                "endpoint_url": server.endpoint(),
            },
        }),
    );
    (config, prefix)
}

/// An S3 storage over a fresh prefix, opened through [`storage_factory`],
/// and the server's folder of that prefix.
///
/// # Panics
/// When the storage cannot be opened.
pub fn s3_storage() -> (Storage, PathBuf) {
    s3_storage_with(|_| {})
}

/// As [`s3_storage`], with the config's options edited first.
///
/// # Panics
/// When the storage cannot be opened.
pub fn s3_storage_with(edit: impl FnOnce(&mut serde_json::Value)) -> (Storage, PathBuf) {
    let (mut config, prefix) = s3_config();
    edit(&mut config.options);
    let storage = storage_factory(&config).expect("S3 storage");
    (storage, s3_server().root().join(TEST_BUCKET).join(prefix))
}

/// A name no other call of this process returns.
pub fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos()),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
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

/// A record's bytes with its checksum recomputed after `edit` changed the
/// rest: damage as a crafted record, not a bit flip, carries it.
///
/// # Panics
/// When `bytes` is shorter than a checksum.
pub fn reseal(bytes: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut body = bytes[..bytes.len() - 4].to_vec();
    edit(&mut body);
    let checksum = crc32fast::hash(&body);
    body.extend_from_slice(&checksum.to_le_bytes());
    body
}

/// What `gc` must call garbage in `workflow` (with no grace period), worked
/// out independently of it from the layout in docs/format.md: hidden
/// temporaries and leases, access marks of tasks without a record, and
/// big data no record's header names, grouped by first path segment.
///
/// # Panics
/// When the storage cannot be listed or a record cannot be read.
pub fn unreferenced(storage: &Storage, workflow: &str) -> std::collections::BTreeSet<String> {
    let mut referenced = std::collections::BTreeSet::new();
    let tasks = storage.list_tasks(workflow, "*").expect("list");
    for task in &tasks {
        let Some(bytes) = storage.backend().get(workflow, task).expect("get") else {
            continue;
        };
        let record = functionfuse::record::decode(&bytes).expect("an intact record");
        referenced.extend(
            record
                .header
                .persistent_ids
                .into_iter()
                .map(|pid| pid.location),
        );
    }
    let mut garbage = std::collections::BTreeSet::new();
    for object in storage.backend().scan(workflow).expect("scan") {
        let path = object.path;
        if let Some(task) = path.strip_prefix(".access/") {
            if !tasks.iter().any(|t| t == task) {
                garbage.insert(path);
            }
            continue;
        }
        match path.strip_prefix("bigdata/") {
            None if path.starts_with('.') => {
                garbage.insert(path);
            }
            None => {}
            Some(key) if key.starts_with('.') => {
                garbage.insert(path);
            }
            Some(key) => {
                let group = key.split('/').next().unwrap_or(key);
                if !referenced.contains(group) {
                    garbage.insert(format!("bigdata/{group}"));
                }
            }
        }
    }
    garbage
}

/// The storage a JSON [`StorageConfig`] names: how tests hand a storage to
/// the helper processes they start.
///
/// # Panics
/// When the JSON is not a config or the storage cannot be opened.
pub fn open_json(config: &str) -> Storage {
    let config: StorageConfig = serde_json::from_str(config).expect("a storage config");
    storage_factory(&config).expect("the storage")
}

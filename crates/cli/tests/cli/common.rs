//! What the CLI tests share: the command, storages with sample results,
//! S3 specs.

use std::path::Path;

use assert_cmd::Command;
use functionfuse::ndarray::{Array1, Array2};
use functionfuse::{Persistent, Storage, StorageConfig, storage_factory};
use functionfuse_s3_server::TEST_BUCKET;
use functionfuse_tests::{s3_server, unique};
use serde::{Deserialize, Serialize};

pub(crate) const WF: &str = "experiment";

/// A result with an array nested in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Summary {
    pub(crate) label: String,
    pub(crate) means: Persistent<Array1<f64>>,
}

/// `ffuse` with a clean environment: no storage from the user's, S3
/// credentials of the test server.
pub(crate) fn ffuse() -> Command {
    let mut command = Command::cargo_bin("ffuse").unwrap();
    let server = s3_server();
    command
        .env_remove("FFUSE_STORAGE")
        .env("AWS_ACCESS_KEY_ID", server.access_key())
        .env("AWS_SECRET_ACCESS_KEY", server.secret_key())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("RUST_LOG", "warn");
    command
}

/// Runs `ffuse` with `args`, expects `code`, returns stdout.
pub(crate) fn run(args: &[&str], code: i32) -> String {
    let output = ffuse().args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "ffuse {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout
}

/// Runs `ffuse --json` with `args`, expects `code`, parses stdout.
pub(crate) fn run_json(args: &[&str], code: i32) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let stdout = run(&all, code);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

/// A file storage at `folder`.
pub(crate) fn open_folder(folder: &Path) -> Storage {
    storage_factory(&StorageConfig::new(
        "file",
        serde_json::json!({ "path": folder }),
    ))
    .unwrap()
}

/// A fresh S3 spec (`s3://bucket/prefix?endpoint_url=…`) on the test server.
pub(crate) fn s3_spec() -> String {
    format!(
        "s3://{TEST_BUCKET}/cli-{}?endpoint_url={}",
        unique(),
        s3_server().endpoint()
    )
}

/// The storage an S3 spec names, opened through the library.
pub(crate) fn open_s3(spec: &str) -> Storage {
    let (path, query) = spec
        .trim_start_matches("s3://")
        .split_once("?endpoint_url=")
        .unwrap();
    let server = s3_server();
    storage_factory(&StorageConfig::new(
        "S3",
        serde_json::json!({
            "path": path,
            "endpoint_url": query,
            "key": server.access_key(),
            "secret": server.secret_key(),
        }),
    ))
    .unwrap()
}

pub(crate) fn matrix() -> Array2<f64> {
    Array2::from_shape_fn((30, 40), |(i, j)| (i * 40 + j) as f64 / 7.0)
}

pub(crate) fn summary() -> Summary {
    Summary {
        label: "column means".into(),
        means: Persistent(Array1::linspace(0.0, 1.0, 11)),
    }
}

pub(crate) fn numbers() -> Vec<f64> {
    (0..100).map(|i| f64::from(i) * 0.5).collect()
}

/// Saves the sample results into workflow [`WF`].
pub(crate) fn fill(storage: &Storage) {
    storage.save(WF, "matrix", &matrix()).unwrap();
    storage.save(WF, "summary", &summary()).unwrap();
    storage.save(WF, "numbers", &numbers()).unwrap();
    storage.save(WF, "label", "hello").unwrap();
    storage.save("other", "answer", &42_u32).unwrap();
}

/// Checks that the sample results read back equal.
pub(crate) fn check_filled(storage: &Storage) {
    assert_eq!(
        storage.read_task::<Array2<f64>>(WF, "matrix").unwrap(),
        matrix()
    );
    assert_eq!(
        storage.read_task::<Summary>(WF, "summary").unwrap(),
        summary()
    );
    assert_eq!(
        storage.read_task::<Vec<f64>>(WF, "numbers").unwrap(),
        numbers()
    );
    assert_eq!(storage.read_task::<String>(WF, "label").unwrap(), "hello");
    assert_eq!(storage.read_task::<u32>("other", "answer").unwrap(), 42);
}

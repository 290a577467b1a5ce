//! What a record holds and how strictly it is read: one payload value, the
//! one-nil rule of MessagePack, and arrays of another ndarray release.

// Test code: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Mutex;

use functionfuse::{Error, Persistent, record};
use functionfuse_tests::file_storage;
use serde::{Deserialize, Serialize};

#[test]
fn bytes_after_the_payload_make_a_record_corrupt() {
    let (storage, _dir) = file_storage();
    let header = record::RecordHeader {
        type_name: "i32".into(),
        persistent_ids: vec![],
        created_ns: 1,
        key: None,
        fingerprint: None,
        reason: None,
    };
    let exact = record::encode(&header, &[0x07]).unwrap();
    storage.backend().put("wf", "exact", &exact).unwrap();
    assert_eq!(storage.read_task::<i32>("wf", "exact").unwrap(), 7);

    let trailing = record::encode(&header, &[0x07, 0xc0]).unwrap();
    storage.backend().put("wf", "trailing", &trailing).unwrap();
    let error = storage.read_task::<i32>("wf", "trailing").unwrap_err();
    assert!(matches!(error, Error::CorruptRecord { .. }), "{error}");
    assert!(error.to_string().contains("1 bytes follow"), "{error}");
    // `cached` recomputes it like any corrupt record.
    assert_eq!(storage.cached("wf", "trailing", || 8).unwrap(), 8);
}

/// The documented way to keep `Some(None)` apart from `None`.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Seen {
    Missing,
    Null,
    Value(i32),
}

#[test]
fn some_none_reads_back_as_none_as_documented() {
    // MessagePack has one nil: docs/format.md says so and how to keep the
    // difference.
    let (storage, _dir) = file_storage();
    storage.save("wf", "t", &Some(None::<i32>)).unwrap();
    assert_eq!(
        storage.read_task::<Option<Option<i32>>>("wf", "t").unwrap(),
        None
    );

    for seen in [Seen::Missing, Seen::Null, Seen::Value(3)] {
        storage.save("wf", "seen", &seen).unwrap();
        assert_eq!(storage.read_task::<Seen>("wf", "seen").unwrap(), seen);
    }
}

/// Collects log records, to see the warnings a save gives.
struct Collect(Mutex<Vec<String>>);

impl log::Log for Collect {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            self.0.lock().unwrap().push(record.args().to_string());
        }
    }
    fn flush(&self) {}
}

static LOG: Collect = Collect(Mutex::new(Vec::new()));

#[test]
fn an_array_of_another_ndarray_release_is_named_as_the_cause() {
    let _ = log::set_logger(&LOG);
    log::set_max_level(log::LevelFilter::Warn);
    let (storage, dir) = file_storage();
    let other = ndarray_016::Array2::<f64>::eye(2);

    // Whole: stored inline, with a warning that names the cause.
    storage.save("wf", "inline", &other).unwrap();
    assert!(!dir.path().join("wf/bigdata").exists(), "no HDF5 file");
    let warnings = LOG.0.lock().unwrap().clone();
    let warning = warnings
        .iter()
        .find(|w| w.contains("task `inline`"))
        .expect("a warning");
    assert!(warning.contains("stored inline"), "{warning}");
    assert!(warning.contains("ndarray 0.17"), "{warning}");
    assert!(warning.contains("functionfuse::ndarray"), "{warning}");
    assert!(warning.contains("Array2<f64>"), "{warning}");
    assert_eq!(
        storage
            .read_task::<ndarray_016::Array2<f64>>("wf", "inline")
            .unwrap(),
        other
    );

    // Nested in Persistent: an error that says the same.
    let error = storage
        .save("wf", "nested", &Persistent(other))
        .unwrap_err();
    match &error {
        Error::NoSerializer { type_name, hint } => {
            assert_eq!(type_name, "Array2<f64>");
            assert!(hint.contains("ndarray 0.17"), "{error}");
            assert!(hint.contains("another version"), "{error}");
        }
        other => panic!("expected NoSerializer, got {other}"),
    }
}

// Generic helpers name the bounds the storage needs.
fn load<T: serde::de::DeserializeOwned + 'static>(
    storage: &functionfuse::Storage,
    task: &str,
) -> functionfuse::Result<T> {
    storage.read_task("wf", task)
}
fn store<T: functionfuse::Savable + ?Sized>(
    storage: &functionfuse::Storage,
    task: &str,
    value: &T,
) -> functionfuse::Result<()> {
    storage.save("wf", task, value)
}

/// The calls a user trial expected to compile, each checked by value.
#[test]
fn unsized_and_borrowed_values_save_as_users_write_them() {
    let (storage, _dir) = file_storage();
    storage.save("wf", "literal", "hello").unwrap();
    let owned = String::from("borrowed");
    storage.save("wf", "borrowed", owned.as_str()).unwrap();
    let values = vec![1.5, 2.5, 3.5].into_boxed_slice();
    storage.save("wf", "slice", &values[..2]).unwrap();
    assert_eq!(
        storage.read_task::<String>("wf", "literal").unwrap(),
        "hello"
    );
    assert_eq!(
        storage.read_task::<String>("wf", "borrowed").unwrap(),
        "borrowed"
    );
    assert_eq!(
        storage.read_task::<Vec<f64>>("wf", "slice").unwrap(),
        [1.5, 2.5]
    );

    store(&storage, "generic", "via a helper").unwrap();
    assert_eq!(load::<String>(&storage, "generic").unwrap(), "via a helper");
    let mean: f64 = storage.cached("wf", "mean", || 2.0).unwrap();
    assert!((mean - 2.0).abs() < f64::EPSILON);
}

//! Wrong requested types, missing and damaged files, and removal.

// Test code: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{WF, h5_files, ids, storage};
use functionfuse_core::testing::forge_header;
use functionfuse_core::{Error, Persistent};
use functionfuse_serializer_ndarray as _;
use ndarray::{Array1, Array2, Array3, ArrayD};

fn matrix() -> Array2<f64> {
    Array2::from_shape_fn((3, 4), |(i, j)| (i + j) as f64)
}

#[test]
fn a_matrix_reads_as_array2_or_arrayd_only() {
    let (storage, _dir) = storage();
    storage.save(WF, "m", &matrix()).expect("save");
    assert_eq!(storage.read_task::<Array2<f64>>(WF, "m").unwrap(), matrix());
    assert_eq!(
        storage.read_task::<ArrayD<f64>>(WF, "m").unwrap(),
        matrix().into_dyn()
    );
    let error = storage.read_task::<Array3<f64>>(WF, "m").unwrap_err();
    match &error {
        Error::TypeMismatch {
            stored,
            requested,
            reason,
            ..
        } => {
            assert!(
                stored.contains("float64") && stored.contains("2 dimensions"),
                "{error}"
            );
            assert_eq!(requested, "Array3<f64>", "{error}");
            assert!(reason.contains("2 dimensions, not 3"), "{error}");
        }
        other => panic!("expected a type mismatch, got {other}"),
    }
    let error = storage.read_task::<Array2<f32>>(WF, "m").unwrap_err();
    match &error {
        Error::TypeMismatch {
            stored, requested, ..
        } => {
            assert!(stored.contains("float64"), "{error}");
            assert!(requested.contains("f32"), "{error}");
        }
        other => panic!("expected a type mismatch, got {other}"),
    }
    // A mismatch changes nothing.
    assert_eq!(storage.read_task::<Array2<f64>>(WF, "m").unwrap(), matrix());
}

#[test]
fn the_file_itself_is_checked_when_the_id_says_nothing() {
    let (storage, _dir) = storage();
    storage.save(WF, "m", &matrix()).expect("save");
    // Rewrite the record with an id stripped of its metadata, as another
    // writer might: the HDF5 datatype still catches the mismatch.
    forge_header(storage.backend(), WF, "m", "m", |header| {
        header.persistent_ids[0].metadata.clear();
    });
    let error = storage.read_task::<Array2<i64>>(WF, "m").unwrap_err();
    assert!(
        matches!(&error, Error::TypeMismatch { stored, requested, .. }
            if stored.contains("float64") && requested == "Array2<i64>"),
        "{error}"
    );
    let error = storage.read_task::<Array1<f64>>(WF, "m").unwrap_err();
    assert!(matches!(error, Error::TypeMismatch { .. }), "{error}");
    assert_eq!(storage.read_task::<Array2<f64>>(WF, "m").unwrap(), matrix());
}

#[test]
fn a_missing_file_names_the_task_and_the_file() {
    let (storage, _dir) = storage();
    storage.save(WF, "m", &matrix()).expect("save");
    let file = h5_files(&storage).remove(0);
    std::fs::remove_file(&file).unwrap();
    let error = storage.read_task::<Array2<f64>>(WF, "m").unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, Error::CorruptRecord { .. }), "{message}");
    assert!(message.contains("task `m`"), "{message}");
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert!(message.contains("missing"), "{message}");
    // A pipeline recomputes it.
    let cached = storage.cached_with_origin(WF, "m", matrix).unwrap();
    assert_eq!(cached.origin, functionfuse_core::Origin::Computed);
    assert_eq!(storage.read_task::<Array2<f64>>(WF, "m").unwrap(), matrix());
}

#[test]
fn a_damaged_file_names_the_task_and_the_file() {
    let (storage, _dir) = storage();
    storage
        .save(WF, "m", &Array1::<f64>::zeros(10_000))
        .expect("save");
    let file = h5_files(&storage).remove(0);
    let bytes = std::fs::read(&file).unwrap();
    for damaged in [
        &bytes[..bytes.len() / 2],
        &bytes[..100],
        b"not hdf5 at all".as_slice(),
    ] {
        std::fs::write(&file, damaged).unwrap();
        let error = storage.read_task::<Array1<f64>>(WF, "m").unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, Error::CorruptRecord { .. }), "{message}");
        assert!(message.contains("task `m`"), "{message}");
        assert!(message.contains(&file.display().to_string()), "{message}");
    }
}

#[test]
fn removal_leaves_no_big_data() {
    let (storage, _dir) = storage();
    for task in ["a", "b1", "b2"] {
        storage.save(WF, task, &matrix()).expect("save");
    }
    storage
        .save(
            WF,
            "nested",
            &vec![Persistent(matrix()), Persistent(matrix())],
        )
        .expect("save");
    assert_eq!(h5_files(&storage).len(), 5);
    assert!(storage.remove_task(WF, "a").unwrap());
    assert_eq!(h5_files(&storage).len(), 4);
    assert_eq!(storage.remove_tasks(WF, "b*").unwrap(), ["b1", "b2"]);
    assert_eq!(h5_files(&storage).len(), 2);
    assert_eq!(ids(&storage, "nested").len(), 2);
    storage.remove_workflow(WF).unwrap();
    assert!(h5_files(&storage).is_empty());
}

#[test]
fn overwriting_an_array_removes_the_old_file() {
    let (storage, _dir) = storage();
    storage.save(WF, "m", &matrix()).expect("save");
    let first = h5_files(&storage);
    storage.save(WF, "m", &(matrix() * 2.0)).expect("overwrite");
    let second = h5_files(&storage);
    assert_eq!(second.len(), 1);
    assert_ne!(first, second);
    assert_eq!(
        storage.read_task::<Array2<f64>>(WF, "m").unwrap(),
        matrix() * 2.0
    );
}

#[test]
fn a_file_whose_shape_disagrees_with_the_record_is_corrupt() {
    let (storage, _dir) = storage();
    storage.save(WF, "m", &matrix()).expect("save");
    forge_header(storage.backend(), WF, "m", "m", |header| {
        header.persistent_ids[0].metadata["shape"] = serde_json::json!([4, 3]);
    });
    let error = storage.read_task::<Array2<f64>>(WF, "m").unwrap_err();
    assert!(matches!(error, Error::CorruptRecord { .. }), "{error}");
    assert!(error.to_string().contains("[3, 4]"), "{error}");
}

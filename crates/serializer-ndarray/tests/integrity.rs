//! Big data is checked as the record is: a damaged array or one that
//! disagrees with its record is `CorruptRecord` (which `cached` recomputes),
//! never values, and never blamed on the caller's type.

// Test code: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{WF, h5_files, ids, storage};
use functionfuse_core::{Error, Origin, Persistent};
use functionfuse_serializer_ndarray as _;
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

/// Flips the sign bit of the first element equal to `value` in `file`
/// (found by its little-endian bytes).
fn flip_sign_of(file: &std::path::Path, value: f64) {
    let mut bytes = std::fs::read(file).unwrap();
    let needle = value.to_le_bytes();
    let at = bytes
        .windows(needle.len())
        .position(|window| window == needle)
        .expect("the value's bytes in the file");
    bytes[at + 7] ^= 0x80;
    std::fs::write(file, bytes).unwrap();
}

#[test]
fn a_flipped_bit_in_an_arrays_data_is_corrupt_not_a_value() {
    let (storage, _dir) = storage();
    let array = Array1::from(vec![16.5_f64]);
    storage.save(WF, "a", &array).unwrap();
    assert!(ids(&storage, "a")[0].metadata.contains_key("crc32c"));
    let file = h5_files(&storage).remove(0);
    flip_sign_of(&file, 16.5);
    // The file itself is intact HDF5 and holds -16.5 now.
    let opened = hdf5::File::open(&file).unwrap();
    assert_eq!(
        opened.dataset("array").unwrap().read_raw::<f64>().unwrap(),
        [-16.5]
    );
    drop(opened);

    let error = storage.read_task::<Array1<f64>>(WF, "a").unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, Error::CorruptRecord { .. }), "{message}");
    assert!(message.contains("task `a`"), "{message}");
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert!(message.contains("integrity check"), "{message}");

    let recomputed = storage
        .cached_with_origin(WF, "a", || array.clone())
        .unwrap();
    assert_eq!(recomputed.origin, Origin::Computed);
    assert_eq!(storage.read_task::<Array1<f64>>(WF, "a").unwrap(), array);
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Fit {
    name: String,
    weights: Persistent<Array2<f64>>,
}

#[test]
fn a_damaged_nested_array_is_corrupt_too() {
    let (storage, _dir) = storage();
    let fit = Fit {
        name: "fit".into(),
        weights: Persistent(Array2::from_elem((2, 2), 16.5)),
    };
    storage.save(WF, "fit", &fit).unwrap();
    let file = h5_files(&storage).remove(0);
    flip_sign_of(&file, 16.5);
    let error = storage.read_task::<Fit>(WF, "fit").unwrap_err();
    assert!(matches!(error, Error::CorruptRecord { .. }), "{error}");
}

#[test]
fn an_array_file_swapped_for_another_dtype_is_corrupt_not_a_mismatch() {
    let (storage, _dir) = storage();
    let doubles = Array1::from(vec![1.0_f64, 2.0]);
    storage.save(WF, "doubles", &doubles).unwrap();
    storage
        .save(WF, "floats", &Array1::from(vec![1.0_f32, 2.0]))
        .unwrap();
    let folder = h5_files(&storage)[0].parent().unwrap().to_path_buf();
    let doubles_file = folder.join(&ids(&storage, "doubles")[0].location);
    let floats_file = folder.join(&ids(&storage, "floats")[0].location);
    std::fs::copy(&floats_file, &doubles_file).unwrap();

    let error = storage.read_task::<Array1<f64>>(WF, "doubles").unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, Error::CorruptRecord { .. }), "{message}");
    assert!(
        message.contains("float32") || message.contains("32"),
        "{message}"
    );
    let recomputed = storage
        .cached_with_origin(WF, "doubles", || doubles.clone())
        .unwrap();
    assert_eq!(recomputed.origin, Origin::Computed);
    assert_eq!(recomputed.value, doubles);

    // Asking an intact record for another type stays a type mismatch.
    let error = storage.read_task::<Array1<f32>>(WF, "doubles").unwrap_err();
    assert!(matches!(error, Error::TypeMismatch { .. }), "{error}");
}

#[test]
fn an_array_file_swapped_for_another_shape_is_corrupt() {
    let (storage, _dir) = storage();
    storage
        .save(WF, "long", &Array1::from(vec![1.0_f64, 2.0, 3.0]))
        .unwrap();
    storage
        .save(WF, "short", &Array1::from(vec![1.0_f64]))
        .unwrap();
    let folder = h5_files(&storage)[0].parent().unwrap().to_path_buf();
    std::fs::copy(
        folder.join(&ids(&storage, "short")[0].location),
        folder.join(&ids(&storage, "long")[0].location),
    )
    .unwrap();
    let error = storage.read_task::<Array1<f64>>(WF, "long").unwrap_err();
    assert!(matches!(error, Error::CorruptRecord { .. }), "{error}");
}

//! Arrays on S3 are zarr v3 arrays, written and read through zarrs over the
//! S3 protocol, against a real S3-protocol server (s3s-fs in this process).

// Test code: a failed expectation is the test failing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_wrap,
    clippy::case_sensitive_file_extension_comparisons
)]

use std::path::PathBuf;

use functionfuse_core::{Error, Persistent, Storage, record};
use functionfuse_s3_server::{S3Server, TEST_BUCKET};
use functionfuse_serializer_ndarray::{Compression, NdarrayOptions, serializers};
use functionfuse_storage_s3::{S3Backend, S3Options};
use ndarray::{Array0, Array1, Array2, Array3, ArrayD, IxDyn, ShapeBuilder};
use serde::{Deserialize, Serialize};

const WF: &str = "arrays";

fn server() -> &'static S3Server {
    S3Server::shared().expect("the test S3 server")
}

/// A storage over a fresh prefix of the test bucket, and that prefix.
fn storage() -> (Storage, String) {
    let server = server();
    let prefix = format!("zarr-{}", uuid::Uuid::new_v4().simple());
    let backend = S3Backend::open(S3Options {
        path: format!("{TEST_BUCKET}/{prefix}"),
        endpoint_url: Some(server.endpoint()),
        key: Some(server.access_key().to_owned()),
        secret: Some(server.secret_key().to_owned()),
        ..S3Options::default()
    })
    .unwrap();
    (Storage::new(Box::new(backend)), prefix)
}

/// The server's folder of the workflow's big data.
fn bigdata_folder(prefix: &str) -> PathBuf {
    server()
        .root()
        .join(TEST_BUCKET)
        .join(prefix)
        .join(WF)
        .join("bigdata")
}

/// Every object of the workflow's big data, relative, sorted.
fn bigdata_keys(storage: &Storage) -> Vec<String> {
    let protocols = storage.backend().protocols(WF).unwrap();
    let s3 = protocols.s3().unwrap();
    s3.list_blocking("")
        .unwrap()
        .into_iter()
        .map(|(key, _)| key)
        .collect()
}

fn pid(storage: &Storage, task: &str) -> functionfuse_core::PersistentId {
    let bytes = storage.backend().get(WF, task).unwrap().unwrap();
    record::decode(&bytes)
        .unwrap()
        .header
        .persistent_ids
        .remove(0)
}

#[test]
fn every_element_type_and_rank_round_trips() {
    let (storage, _) = storage();
    let f64s = Array2::from_shape_fn((300, 7), |(i, j)| i as f64 * 0.5 - j as f64);
    storage.save(WF, "f64", &f64s).unwrap();
    assert_eq!(storage.read_task::<Array2<f64>>(WF, "f64").unwrap(), f64s);
    assert_eq!(
        storage.read_task::<ArrayD<f64>>(WF, "f64").unwrap(),
        f64s.clone().into_dyn()
    );

    macro_rules! round_trip {
        ($($t:ty => $value:expr),* $(,)?) => {$(
            let array = Array3::<$t>::from_shape_fn((3, 4, 5), |(i, j, k)| $value(i * 20 + j * 5 + k));
            let task = stringify!($t);
            storage.save(WF, task, &array).unwrap();
            assert_eq!(storage.read_task::<Array3<$t>>(WF, task).unwrap(), array, "{task}");
        )*};
    }
    round_trip!(
        f32 => |n: usize| n as f32 / 3.0,
        i8 => |n: usize| (n as i8).wrapping_sub(30),
        i16 => |n: usize| n as i16 * -7,
        i32 => |n: usize| n as i32 * -70_000,
        i64 => |n: usize| n as i64 * i64::from(i32::MAX),
        u8 => |n: usize| n as u8,
        u16 => |n: usize| n as u16 * 300,
        u32 => |n: usize| n as u32 * 70_000,
        u64 => |n: usize| n as u64 * u64::from(u32::MAX),
        bool => |n: usize| n.is_multiple_of(3),
    );

    let scalar = Array0::from_elem((), 2.5_f64);
    storage.save(WF, "scalar", &scalar).unwrap();
    assert_eq!(
        storage.read_task::<Array0<f64>>(WF, "scalar").unwrap(),
        scalar
    );
    let empty = Array2::<i32>::zeros((0, 4));
    storage.save(WF, "empty", &empty).unwrap();
    assert_eq!(
        storage.read_task::<Array2<i32>>(WF, "empty").unwrap(),
        empty
    );
    let zeros = ArrayD::<f64>::zeros(IxDyn(&[2, 3]));
    storage.save(WF, "zeros", &zeros).unwrap();
    assert_eq!(
        storage.read_task::<ArrayD<f64>>(WF, "zeros").unwrap(),
        zeros
    );
    let fortran = Array2::from_shape_vec((2, 3).f(), vec![1_u16, 2, 3, 4, 5, 6]).unwrap();
    storage.save(WF, "fortran", &fortran).unwrap();
    assert_eq!(
        storage.read_task::<Array2<u16>>(WF, "fortran").unwrap(),
        fortran
    );
}

#[test]
fn an_array_is_a_zarr_v3_array_with_checked_chunks() {
    let (storage, prefix) = storage();
    let options = NdarrayOptions {
        chunk: Some(vec![100, 7]),
        ..NdarrayOptions::default()
    };
    let mut storage = storage;
    storage.register_persistent_serializers(serializers(&options));
    let array = Array2::from_shape_fn((250, 7), |(i, j)| (i * 7 + j) as f64);
    storage.save(WF, "m", &array).unwrap();
    let pid = pid(&storage, "m");
    assert_eq!(pid.protocol, "s3 protocol");
    assert_eq!(pid.metadata["format"], "zarr");
    assert_eq!(pid.metadata["dtype"], "float64");
    assert!(pid.location.ends_with(".zarr"), "{}", pid.location);
    let zarr = format!("{}/", pid.location);
    let expected: Vec<String> = ["c/0/0", "c/1/0", "c/2/0", "zarr.json"]
        .iter()
        .map(|key| format!("{zarr}{key}"))
        .collect();
    assert_eq!(bigdata_keys(&storage), expected);
    let metadata: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            bigdata_folder(&prefix)
                .join(&pid.location)
                .join("zarr.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(metadata["zarr_format"], 3);
    assert_eq!(metadata["shape"], serde_json::json!([250, 7]));
    assert_eq!(metadata["data_type"], "float64");
    let codecs: Vec<&str> = metadata["codecs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|codec| codec["name"].as_str().unwrap())
        .collect();
    assert_eq!(codecs, ["bytes", "crc32c"]);
    assert_eq!(metadata["attributes"]["functionfuse_serializer"], "ndarray");
    assert_eq!(storage.read_task::<Array2<f64>>(WF, "m").unwrap(), array);
}

#[test]
fn damage_on_s3_is_corrupt_and_names_the_key() {
    let (storage, prefix) = storage();
    let options = NdarrayOptions {
        chunk: Some(vec![10]),
        ..NdarrayOptions::default()
    };
    let mut storage = storage;
    storage.register_persistent_serializers(serializers(&options));
    let array = Array1::from_shape_fn(30, |i| i as f64 + 0.25);
    let folder = bigdata_folder(&prefix);

    // A flipped bit in a chunk: its crc32c fails.
    storage.save(WF, "flipped", &array).unwrap();
    let chunk = folder.join(pid(&storage, "flipped").location).join("c/1");
    let mut bytes = std::fs::read(&chunk).unwrap();
    bytes[3] ^= 0x10;
    std::fs::write(&chunk, bytes).unwrap();
    let error = storage.read_task::<Array1<f64>>(WF, "flipped").unwrap_err();
    assert!(matches!(error, Error::CorruptRecord { .. }), "{error}");
    assert!(error.to_string().contains("task `flipped`"), "{error}");

    // A chunk rewritten through S3 with a flipped bit (so S3's own checksum
    // is fresh): zarr's crc32c codec catches it.
    storage.save(WF, "rewritten", &array).unwrap();
    let key = format!("{}/c/0", pid(&storage, "rewritten").location);
    let protocols = storage.backend().protocols(WF).unwrap();
    let s3 = protocols.s3().unwrap();
    let mut bytes = s3.get_blocking(&key).unwrap().unwrap();
    bytes[5] ^= 0x01;
    s3.put_blocking(&key, bytes).unwrap();
    let error = storage
        .read_task::<Array1<f64>>(WF, "rewritten")
        .unwrap_err();
    assert!(matches!(error, Error::CorruptRecord { .. }), "{error}");
    assert!(
        error.to_string().contains("checksum") || error.to_string().contains("crc32c"),
        "{error}"
    );

    // A missing chunk: zarr would read fill values; we call it damage.
    storage.save(WF, "missing", &array).unwrap();
    let location = pid(&storage, "missing").location;
    std::fs::remove_file(folder.join(&location).join("c/2")).unwrap();
    let error = storage.read_task::<Array1<f64>>(WF, "missing").unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, Error::CorruptRecord { .. }), "{message}");
    assert!(message.contains(&format!("{location}/c/2")), "{message}");
    assert!(message.contains("missing"), "{message}");

    // Missing metadata.
    storage.save(WF, "no-metadata", &array).unwrap();
    let location = pid(&storage, "no-metadata").location;
    std::fs::remove_file(folder.join(&location).join("zarr.json")).unwrap();
    let error = storage
        .read_task::<Array1<f64>>(WF, "no-metadata")
        .unwrap_err();
    assert!(matches!(error, Error::CorruptRecord { .. }), "{error}");
    assert!(error.to_string().contains("metadata"), "{error}");

    // `cached` recomputes all three; asking for another type is a mismatch.
    for task in ["flipped", "rewritten", "missing", "no-metadata"] {
        let again = storage
            .cached_with_origin(WF, task, || array.clone())
            .unwrap();
        assert_eq!(again.origin, functionfuse_core::Origin::Computed, "{task}");
    }
    let error = storage.read_task::<Array1<f32>>(WF, "flipped").unwrap_err();
    assert!(matches!(error, Error::TypeMismatch { .. }), "{error}");
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Fit {
    name: String,
    weights: Persistent<Array2<f32>>,
    bias: Persistent<Array1<f64>>,
}

#[test]
fn overwrite_and_removal_delete_every_chunk_and_the_metadata() {
    let (storage, _) = storage();
    let fit = |scale: f32| Fit {
        name: "fit".into(),
        weights: Persistent(Array2::from_elem((40, 40), scale)),
        bias: Persistent(Array1::from_elem(9, f64::from(scale))),
    };
    storage.save(WF, "fit", &fit(1.0)).unwrap();
    let first = bigdata_keys(&storage);
    assert_eq!(first.len(), 4, "{first:?}");
    storage.save(WF, "fit", &fit(2.0)).unwrap();
    let second = bigdata_keys(&storage);
    assert_eq!(second.len(), 4);
    assert!(
        first.iter().all(|key| !second.contains(key)),
        "old arrays removed"
    );
    assert_eq!(storage.read_task::<Fit>(WF, "fit").unwrap(), fit(2.0));
    assert!(storage.remove_task(WF, "fit").unwrap());
    assert!(bigdata_keys(&storage).is_empty());
}

#[test]
fn compression_options_apply_to_zarr_too() {
    for compression in [
        Compression::Zstd { level: 3 },
        Compression::Deflate { level: 4 },
    ] {
        let (mut storage, prefix) = storage();
        storage.register_persistent_serializers(serializers(&NdarrayOptions {
            chunk: None,
            compression,
            ..NdarrayOptions::default()
        }));
        let array = Array2::<f64>::from_elem((512, 512), 1.5);
        storage.save(WF, "packed", &array).unwrap();
        let location = pid(&storage, "packed").location;
        let chunk = bigdata_folder(&prefix).join(location).join("c/0/0");
        let size = std::fs::metadata(chunk).unwrap().len();
        assert!(size < 100_000, "{compression:?}: {size} bytes");
        assert_eq!(
            storage.read_task::<Array2<f64>>(WF, "packed").unwrap(),
            array
        );
    }
}

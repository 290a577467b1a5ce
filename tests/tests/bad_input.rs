//! Bad input on both backends: every kind of damage to a record or an
//! array, hostile names, wrong types. Each gives its error kind and a
//! message that says what is wrong, and leaves the rest of the storage as
//! it was.

// Helpers of tests fail loudly: that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use functionfuse::ndarray::{Array1, Array2};
use functionfuse::{Error, Persistent, Storage, record};
use functionfuse_tests::{file_storage, reseal, s3_storage};
use serde::{Deserialize, Serialize};

const WF: &str = "bad-input";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Neighbour {
    name: String,
    weights: Persistent<Array1<f64>>,
}

/// Runs `check` on a fresh file storage and a fresh S3 storage, each holding
/// neighbours that must come through unchanged.
fn on_both_backends(check: impl Fn(&Storage)) {
    let (file, _folder) = file_storage();
    let (s3, _) = s3_storage();
    for storage in [&file, &s3] {
        save_neighbours(storage);
        check(storage);
        check_neighbours(storage);
    }
}

fn neighbour() -> Neighbour {
    Neighbour {
        name: "kept".into(),
        weights: Persistent(Array1::linspace(-1.0, 1.0, 9)),
    }
}

fn save_neighbours(storage: &Storage) {
    storage.save(WF, "n-int", &7_i64).unwrap();
    storage.save(WF, "n-struct", &neighbour()).unwrap();
    storage
        .save("elsewhere", "n-matrix", &Array2::<f32>::eye(4))
        .unwrap();
}

fn check_neighbours(storage: &Storage) {
    let where_ = storage.backend().location();
    assert_eq!(
        storage.read_task::<i64>(WF, "n-int").unwrap(),
        7,
        "{where_}"
    );
    assert_eq!(
        storage.read_task::<Neighbour>(WF, "n-struct").unwrap(),
        neighbour(),
        "{where_}"
    );
    assert_eq!(
        storage
            .read_task::<Array2<f32>>("elsewhere", "n-matrix")
            .unwrap(),
        Array2::<f32>::eye(4),
        "{where_}"
    );
}

/// Asserts a `CorruptRecord` for `task` whose message contains `reason`.
fn assert_corrupt<T: std::fmt::Debug>(result: Result<T, Error>, task: &str, reason: &str) {
    match result {
        Err(error @ Error::CorruptRecord { .. }) => {
            let message = error.to_string();
            assert!(message.contains(&format!("task `{task}`")), "{message}");
            assert!(
                message.contains(reason),
                "expected {reason:?} in: {message}"
            );
        }
        other => panic!("expected CorruptRecord ({reason}) for {task}, got {other:?}"),
    }
}

/// Writes `bytes` as the record of `task` and reads it as `Vec<u32>`.
fn read_as_record(storage: &Storage, task: &str, bytes: &[u8]) -> Result<Vec<u32>, Error> {
    storage.backend().put(WF, task, bytes).unwrap();
    storage.read_task::<Vec<u32>>(WF, task)
}

#[test]
fn every_flipped_byte_and_every_truncation_of_a_record_is_corrupt() {
    on_both_backends(|storage| {
        storage.save(WF, "victim", &vec![1_u32, 2, 3]).unwrap();
        let good = storage.backend().get(WF, "victim").unwrap().unwrap();
        for at in 0..good.len() {
            let mut bytes = good.clone();
            bytes[at] ^= 0x04;
            let result = read_as_record(storage, "victim", &bytes);
            assert!(
                matches!(result, Err(Error::CorruptRecord { .. })),
                "flip at {at}: {result:?}"
            );
        }
        for len in 0..good.len() {
            let result = read_as_record(storage, "victim", &good[..len]);
            assert!(
                matches!(result, Err(Error::CorruptRecord { .. })),
                "cut to {len}: {result:?}"
            );
        }
        // The damaged task is the only one `verify` names.
        let report = storage
            .verify(&[], &functionfuse::maintenance::NoProgress)
            .unwrap();
        let tasks: Vec<_> = report
            .problems
            .iter()
            .filter_map(|p| p.task.as_deref())
            .collect();
        assert_eq!(tasks, ["victim"], "{:?}", report.problems);
        assert_eq!(read_as_record(storage, "victim", &good).unwrap(), [1, 2, 3]);
    });
}

#[test]
fn each_kind_of_record_damage_says_what_is_wrong() {
    on_both_backends(|storage| {
        storage.save(WF, "victim", &vec![1_u32, 2, 3]).unwrap();
        let good = storage.backend().get(WF, "victim").unwrap().unwrap();
        assert_corrupt(
            read_as_record(storage, "victim", b""),
            "victim",
            "shorter than the smallest record",
        );
        let mut magic = good.clone();
        magic[..8].copy_from_slice(b"NOTFFUSE");
        assert_corrupt(
            read_as_record(storage, "victim", &magic),
            "victim",
            "FFUSEREC magic",
        );
        let newer = reseal(&good, |body| body[8] = 2);
        assert_corrupt(
            read_as_record(storage, "victim", &newer),
            "victim",
            "format version 2 is not supported",
        );
        let past_end = reseal(&good, |body| {
            body[10..14].copy_from_slice(&u32::MAX.to_le_bytes());
        });
        assert_corrupt(
            read_as_record(storage, "victim", &past_end),
            "victim",
            "runs past the end",
        );
        let no_payload = reseal(&good, |body| {
            let header = u32::from_le_bytes([body[10], body[11], body[12], body[13]]) as usize;
            body.truncate(14 + header);
        });
        assert_corrupt(
            read_as_record(storage, "victim", &no_payload),
            "victim",
            "payload is missing",
        );
        let garbage_header = reseal(&good, |body| body[14] = 0xc1);
        assert_corrupt(
            read_as_record(storage, "victim", &garbage_header),
            "victim",
            "undecodable header",
        );
        let flipped = {
            let mut bytes = good.clone();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x01;
            bytes
        };
        assert_corrupt(
            read_as_record(storage, "victim", &flipped),
            "victim",
            "checksum mismatch",
        );
        // `cached` recomputes a corrupt record.
        storage.backend().put(WF, "victim", &flipped).unwrap();
        let again = storage
            .cached_with_origin(WF, "victim", || vec![9_u32])
            .unwrap();
        assert_eq!(
            (again.value, again.origin),
            (vec![9], functionfuse::Origin::Computed)
        );
    });
}

#[test]
fn a_wrong_type_is_a_mismatch_naming_both_types() {
    on_both_backends(|storage| {
        storage.save(WF, "text", "not a number").unwrap();
        match storage.read_task::<u64>(WF, "text") {
            Err(error @ Error::TypeMismatch { .. }) => {
                let message = error.to_string();
                assert!(
                    message.contains("holds a `str`") && message.contains("`u64`"),
                    "{message}"
                );
            }
            other => panic!("expected TypeMismatch, got {other:?}"),
        }
        match storage.read_task::<Array2<f64>>(WF, "n-struct") {
            Err(Error::TypeMismatch { stored, .. }) => {
                assert!(stored.contains("Neighbour"), "{stored}");
            }
            other => panic!("expected TypeMismatch, got {other:?}"),
        }
        // A stored array asked for as another dtype or rank.
        match storage.read_task::<Array2<f64>>("elsewhere", "n-matrix") {
            Err(error @ Error::TypeMismatch { .. }) => {
                assert!(error.to_string().contains("float32"), "{error}");
            }
            other => panic!("expected TypeMismatch, got {other:?}"),
        }
        assert!(matches!(
            storage.read_task::<Array1<f32>>("elsewhere", "n-matrix"),
            Err(Error::TypeMismatch { .. })
        ));
    });
}

/// The location of the first persistent object of `task`.
fn location(storage: &Storage, task: &str) -> String {
    let bytes = storage.backend().get(WF, task).unwrap().unwrap();
    record::decode(&bytes).unwrap().header.persistent_ids[0]
        .location
        .clone()
}

/// An object of the workflow's big data, read and written through the
/// storage's own protocol (a file name, or a key such as `x.zarr/c/0/0`).
struct BigData<'a>(&'a Storage);

impl BigData<'_> {
    fn read(&self, name: &str) -> Vec<u8> {
        let protocols = self.0.backend().protocols(WF).unwrap();
        match (protocols.file(), protocols.s3()) {
            (Some(file), _) => std::fs::read(file.path(name).unwrap()).unwrap(),
            (_, Some(s3)) => s3.get_blocking(name).unwrap().unwrap(),
            _ => unreachable!("every storage speaks one protocol"),
        }
    }

    fn write(&self, name: &str, bytes: Vec<u8>) {
        let protocols = self.0.backend().protocols(WF).unwrap();
        match (protocols.file(), protocols.s3()) {
            (Some(file), _) => std::fs::write(file.path(name).unwrap(), bytes).unwrap(),
            (_, Some(s3)) => s3.put_blocking(name, bytes).unwrap(),
            _ => unreachable!("every storage speaks one protocol"),
        }
    }

    fn remove(&self, name: &str) {
        self.0
            .backend()
            .delete_objects(WF, &[format!("bigdata/{name}")])
            .unwrap();
    }

    /// The object holding the array's data: the HDF5 file, or the zarr chunk.
    fn data_object(&self, task: &str) -> String {
        let location = location(self.0, task);
        if self.0.backend().protocols(WF).unwrap().file().is_some() {
            location
        } else {
            format!("{location}/c/0/0")
        }
    }

    /// The object describing the array: the HDF5 file, or `zarr.json`.
    fn metadata_object(&self, task: &str) -> String {
        let location = location(self.0, task);
        if self.0.backend().protocols(WF).unwrap().file().is_some() {
            location
        } else {
            format!("{location}/zarr.json")
        }
    }
}

fn matrix() -> Array2<f64> {
    Array2::from_shape_fn((6, 5), |(i, j)| (i * 5 + j) as f64 + 0.5)
}

#[test]
fn each_kind_of_array_damage_is_corrupt_and_named() {
    on_both_backends(|storage| {
        let objects = BigData(storage);
        let read = |task: &str| storage.read_task::<Array2<f64>>(WF, task);

        storage.save(WF, "missing", &matrix()).unwrap();
        let gone = objects.data_object("missing");
        objects.remove(&gone);
        assert_corrupt(read("missing"), "missing", "missing");
        assert_corrupt(read("missing"), "missing", &gone);

        storage.save(WF, "no-metadata", &matrix()).unwrap();
        objects.remove(&objects.metadata_object("no-metadata"));
        assert_corrupt(
            read("no-metadata"),
            "no-metadata",
            &location(storage, "no-metadata"),
        );

        storage.save(WF, "truncated", &matrix()).unwrap();
        let data = objects.data_object("truncated");
        let bytes = objects.read(&data);
        objects.write(&data, bytes[..bytes.len() / 2].to_vec());
        assert_corrupt(
            read("truncated"),
            "truncated",
            &location(storage, "truncated"),
        );

        // One flipped bit of one element: the value 17.5 becomes -17.5.
        storage.save(WF, "flipped", &matrix()).unwrap();
        let data = objects.data_object("flipped");
        let mut bytes = objects.read(&data);
        let needle = 17.5_f64.to_le_bytes();
        let at = bytes
            .windows(8)
            .position(|w| w == needle)
            .expect("the element's bytes");
        bytes[at + 7] ^= 0x80;
        objects.write(&data, bytes);
        assert_corrupt(read("flipped"), "flipped", "");

        // Replaced by another array of another dtype, and of another shape.
        storage.save(WF, "dtype", &matrix()).unwrap();
        storage
            .save(WF, "other-dtype", &matrix().mapv(|v| v as f32))
            .unwrap();
        storage.save(WF, "shape", &matrix()).unwrap();
        storage
            .save(WF, "other-shape", &Array2::<f64>::zeros((5, 6)))
            .unwrap();
        for (task, donor) in [("dtype", "other-dtype"), ("shape", "other-shape")] {
            let metadata = objects.read(&objects.metadata_object(donor));
            objects.write(&objects.metadata_object(task), metadata);
            if storage.backend().protocols(WF).unwrap().s3().is_some() {
                let chunk = objects.read(&objects.data_object(donor));
                objects.write(&objects.data_object(task), chunk);
            }
            assert_corrupt(read(task), task, "");
        }
        // The arrays that were not touched still read.
        assert_eq!(read("other-shape").unwrap(), Array2::<f64>::zeros((5, 6)));
    });
}

#[test]
fn hostile_names_are_refused_and_unicode_names_accepted() {
    let long = "x".repeat(10_000);
    let hostile = [
        "..",
        ".",
        "../escape",
        "a/b",
        "/abs",
        "a\\b",
        "nul\0byte",
        ".hidden",
        "",
        long.as_str(),
        "tab\there",
        "bigdata",
    ];
    on_both_backends(|storage| {
        let before = storage.workflows().unwrap();
        for name in hostile {
            let is_invalid =
                |result: Result<(), Error>| matches!(result, Err(Error::InvalidName { .. }));
            assert!(is_invalid(storage.save(WF, name, &1_u8)), "task {name:?}");
            if name != "bigdata" {
                assert!(
                    is_invalid(storage.save(name, "t", &1_u8)),
                    "workflow {name:?}"
                );
                assert!(
                    is_invalid(storage.remove_workflow(name)),
                    "workflow {name:?}"
                );
            }
            assert!(
                is_invalid(storage.read_task::<u8>(WF, name).map(drop)),
                "read {name:?}"
            );
            assert!(
                is_invalid(storage.remove_task(WF, name).map(drop)),
                "remove {name:?}"
            );
            let message = storage.save(WF, name, &1_u8).unwrap_err().to_string();
            assert!(
                message.len() < 400,
                "the message echoes the whole name: {}",
                message.len()
            );
        }
        assert_eq!(
            storage.workflows().unwrap(),
            before,
            "a refused name wrote something"
        );
        // Long names too, within the test server's limit (s3s-fs fails
        // keys with a segment of about 80 bytes; AWS S3 takes 1,024).
        for name in [
            "résultat",
            "データ-1",
            "with space",
            "emoji-🦀",
            "x".repeat(48).as_str(),
        ] {
            storage.save(name, name, &name.to_owned()).unwrap();
            assert_eq!(storage.read_task::<String>(name, name).unwrap(), name);
            assert_eq!(storage.list_tasks(name, "*").unwrap(), [name]);
            storage.remove_workflow(name).unwrap();
        }
    });
}

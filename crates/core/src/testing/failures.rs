//! Conformance checks of the failure paths: every bad input gives its error
//! kind and leaves stored data intact.

use std::cell::Cell;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::faulty::{Fault, FaultyBackend};
use super::forge_header;
use super::serializers::{
    FailingBlob, InventoryBlob, RecordingSerializer, RuntimeBlob, UnregisteredBlob, big_data,
};
use crate::{Error, Origin, Persistent, PersistentSerializer, Storage};

const WF: &str = "failures";

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Mixed {
    good: Persistent<InventoryBlob>,
    bad: Persistent<FailingBlob>,
}

/// A save whose second persistent object fails removes the first one,
/// reports the failing serializer and keeps the earlier record.
pub fn failed_save_rolls_back_big_data(storage: Storage) {
    let earlier = Persistent(InventoryBlob(vec![7; 16]));
    storage.save(WF, "task", &earlier).expect("save");
    let mixed = Mixed {
        good: Persistent(InventoryBlob(vec![1; 32])),
        bad: Persistent(FailingBlob(vec![2; 32])),
    };
    let error = storage.save(WF, "task", &mixed).expect_err("must fail");
    assert!(
        matches!(error, Error::Serializer { ref serializer, .. } if serializer == "failing-blob"),
        "{error}"
    );
    assert_eq!(
        big_data(storage.backend(), WF).len(),
        1,
        "big data of the failed save left behind, or the earlier one removed"
    );
    assert_eq!(
        storage
            .read_task::<Persistent<InventoryBlob>>(WF, "task")
            .expect("earlier record"),
        earlier
    );
    let error = storage
        .save(WF, "fresh", &FailingBlob(vec![0]))
        .expect_err("must fail");
    assert!(matches!(error, Error::Serializer { .. }), "{error}");
    assert!(!storage.file_exists(WF, "fresh").expect("exists"));
}

/// A backend that fails before writing keeps the old record and its big
/// data; one that fails after the record is in place keeps the new record
/// with its big data.
pub fn failed_puts_keep_records_and_big_data_consistent(storage: Storage) {
    let old = Persistent(InventoryBlob(vec![1; 8]));
    let new = Persistent(InventoryBlob(vec![2; 8]));
    storage.save(WF, "t", &old).expect("save");
    for (fault, expected) in [(Fault::BeforeWrite, &old), (Fault::AfterWrite, &new)] {
        let faulty = Storage::new(Box::new(FaultyBackend {
            inner: storage.clone(),
            fault,
        }));
        let error = faulty.save(WF, "t", &new).expect_err("injected failure");
        assert!(matches!(error, Error::Backend { .. }), "{fault:?}: {error}");
        let back: Persistent<InventoryBlob> = storage.read_task(WF, "t").expect("readable");
        assert_eq!(&back, expected, "{fault:?}");
        assert_eq!(
            big_data(storage.backend(), WF).len(),
            1,
            "{fault:?}: big data of the record in place missing, or stale big data left"
        );
    }
}

/// A `Persistent<T>` without a serializer for `T` fails with the type's name
/// and writes nothing.
pub fn missing_serializer_is_a_clear_error(storage: Storage) {
    let error = storage
        .save(WF, "t", &Persistent(UnregisteredBlob(vec![1])))
        .expect_err("must fail");
    assert!(
        matches!(error, Error::NoSerializer { ref type_name, .. } if type_name.contains("UnregisteredBlob")),
        "{error}"
    );
    assert!(!storage.file_exists(WF, "t").expect("exists"));
    // A whole value stored by a serializer, read as another type.
    storage
        .save(WF, "blob", &InventoryBlob(vec![1]))
        .expect("save");
    let error = storage
        .read_task::<UnregisteredBlob>(WF, "blob")
        .expect_err("must fail");
    assert!(
        matches!(error, Error::TypeMismatch { ref stored, .. } if stored.contains("InventoryBlob")),
        "{error}"
    );
    // A whole value read as its own type by a storage lacking its serializer.
    let mut with_runtime = storage.clone();
    with_runtime.register_persistent_serializers([
        Arc::new(RecordingSerializer::<RuntimeBlob>::new(
            "runtime-blob",
            Arc::default(),
        )) as Arc<dyn PersistentSerializer>,
    ]);
    with_runtime
        .save(WF, "runtime", &RuntimeBlob(vec![2]))
        .expect("save");
    let error = storage
        .read_task::<RuntimeBlob>(WF, "runtime")
        .expect_err("must fail");
    assert!(
        matches!(error, Error::NoSerializer { ref hint, .. } if hint.contains("runtime-blob")),
        "{error}"
    );
}

/// Persistent ids whose location would leave the big-data namespace are
/// refused when reading and never followed when removing.
pub fn hostile_locations_are_refused(storage: Storage) {
    storage
        .save(WF, "victim", &"keep me".to_owned())
        .expect("save");
    storage
        .save(WF, "template", &Persistent(InventoryBlob(vec![1; 4])))
        .expect("save");
    for location in [
        "../victim",
        "../../x",
        "/etc/hostname",
        "a/../../victim",
        "",
        "..",
    ] {
        forge_header(storage.backend(), WF, "template", "forged", |header| {
            location.clone_into(&mut header.persistent_ids[0].location);
        });
        assert!(
            storage
                .read_task::<Persistent<InventoryBlob>>(WF, "forged")
                .is_err(),
            "{location:?} was followed"
        );
        assert!(storage.remove_task(WF, "forged").expect("remove"));
        assert_eq!(
            storage
                .read_task::<String>(WF, "victim")
                .expect("victim intact"),
            "keep me",
            "{location:?}"
        );
    }
    assert_eq!(big_data(storage.backend(), WF).len(), 1);
}

/// Truncated, bit-flipped, foreign and empty records give
/// [`Error::CorruptRecord`]; reading them changes nothing.
pub fn corrupt_and_truncated_records_are_reported(storage: Storage) {
    let value = vec!["some".to_owned(), "strings".to_owned()];
    storage.save(WF, "good", &value).expect("save");
    let bytes = storage
        .backend()
        .get(WF, "good")
        .expect("get")
        .expect("record");
    let mut damaged: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), Vec::new()),
        ("foreign".into(), b"\x80\x04\x95pickle data".to_vec()),
    ];
    for len in [
        1,
        8,
        13,
        14,
        bytes.len() / 2,
        bytes.len() - 4,
        bytes.len() - 1,
    ] {
        damaged.push((format!("truncated to {len}"), bytes[..len].to_vec()));
    }
    for at in [0, 9, 12, bytes.len() / 2, bytes.len() - 1] {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x01;
        damaged.push((format!("bit flipped at {at}"), flipped));
    }
    let mut appended = bytes.clone();
    appended.push(0);
    damaged.push(("byte appended".into(), appended));
    for (what, record) in damaged {
        storage.backend().put(WF, "bad", &record).expect("put");
        let error = storage
            .read_task::<Vec<String>>(WF, "bad")
            .expect_err(&what);
        assert!(
            matches!(error, Error::CorruptRecord { .. }),
            "{what}: {error}"
        );
        assert_eq!(
            storage.backend().get(WF, "bad").expect("get").as_deref(),
            Some(record.as_slice()),
            "{what}: reading changed the record"
        );
    }
    assert_eq!(
        storage
            .read_task::<Vec<String>>(WF, "good")
            .expect("intact"),
        value
    );
}

/// An intact record read as another type gives [`Error::TypeMismatch`]
/// naming the stored type, and stays readable as its own type.
pub fn type_mismatch_names_the_stored_type(storage: Storage) {
    storage.save(WF, "ints", &vec![1_i32, 2, 3]).expect("save");
    let error = storage
        .read_task::<String>(WF, "ints")
        .expect_err("must fail");
    match &error {
        Error::TypeMismatch {
            stored, requested, ..
        } => {
            assert!(stored.contains("Vec<i32>"), "{error}");
            assert!(requested.contains("String"), "{error}");
        }
        other => panic!("expected a type mismatch, got {other}"),
    }
    assert_eq!(
        storage.read_task::<Vec<i32>>(WF, "ints").expect("intact"),
        [1, 2, 3]
    );
}

/// Names that could escape the storage are refused by every call, and
/// nothing is written.
pub fn invalid_names_are_rejected_without_writing(storage: Storage) {
    storage.save(WF, "kept", &1).expect("save");
    let long = "n".repeat(300);
    let bad = [
        "", ".", "..", "../x", "a/b", "a\\b", "nul\0", ".hidden", "bigdata", &long,
    ];
    for name in bad {
        let is_invalid = |result: Result<(), Error>| {
            assert!(
                matches!(result, Err(Error::InvalidName { .. })),
                "{name:?}: {result:?}"
            );
        };
        is_invalid(storage.save(WF, name, &1));
        is_invalid(storage.read_task::<i32>(WF, name).map(drop));
        is_invalid(storage.file_exists(WF, name).map(drop));
        is_invalid(storage.remove_task(WF, name).map(drop));
        if name != "bigdata" {
            is_invalid(storage.save(name, "t", &1));
            is_invalid(storage.list_tasks(name, "*").map(drop));
            is_invalid(storage.remove_workflow(name));
            is_invalid(storage.new_workflow(name));
        }
    }
    assert_eq!(storage.list_tasks(WF, "*").expect("list"), ["kept"]);
    assert_eq!(storage.read_task::<i32>(WF, "kept").expect("intact"), 1);
}

/// A record whose checksum no longer matches is still removed with the big
/// data its header names.
pub fn removing_a_corrupt_record_still_removes_big_data(storage: Storage) {
    storage
        .save(WF, "t", &Persistent(InventoryBlob(vec![3; 40])))
        .expect("save");
    let mut bytes = storage
        .backend()
        .get(WF, "t")
        .expect("get")
        .expect("record");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    storage.backend().put(WF, "t", &bytes).expect("damage");
    assert!(matches!(
        storage.read_task::<Persistent<InventoryBlob>>(WF, "t"),
        Err(Error::CorruptRecord { .. })
    ));
    assert!(storage.remove_task(WF, "t").expect("remove"));
    assert!(!storage.file_exists(WF, "t").expect("exists"));
    assert!(big_data(storage.backend(), WF).is_empty());
}

/// `cached` computes once, then reads; a corrupt record is recomputed;
/// with `always_read` the value comes back from the storage.
pub fn cached_reads_computes_and_recomputes_corrupt(mut storage: Storage) {
    let runs = Cell::new(0);
    let compute = || {
        runs.set(runs.get() + 1);
        vec![1.0_f64, 2.0]
    };
    let first = storage.cached_with_origin(WF, "c", compute).expect("first");
    assert_eq!(first.origin, Origin::Computed);
    let second = storage
        .cached_with_origin(WF, "c", compute)
        .expect("second");
    assert_eq!(
        (second.origin, &second.value),
        (Origin::Stored, &first.value)
    );
    assert_eq!(runs.get(), 1);
    storage.backend().put(WF, "c", b"garbage").expect("damage");
    let third = storage
        .cached_with_origin(WF, "c", compute)
        .expect("recompute");
    assert_eq!(third.origin, Origin::Computed);
    assert_eq!(runs.get(), 2);
    assert_eq!(
        storage.read_task::<Vec<f64>>(WF, "c").expect("repaired"),
        first.value
    );
    // A field that is not serialized shows which value `cached` returns.
    let lossy = || Lossy {
        kept: 1,
        dropped: 5,
    };
    assert_eq!(storage.cached(WF, "d", lossy).expect("d").dropped, 5);
    storage.set_always_read(true);
    let read_back = storage
        .cached_with_origin(WF, "e", lossy)
        .expect("always read");
    assert_eq!(read_back.origin, Origin::Computed);
    assert_eq!(
        read_back.value,
        Lossy {
            kept: 1,
            dropped: 0
        }
    );
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Lossy {
    kept: u8,
    #[serde(skip)]
    dropped: u8,
}

/// A record over the storage's limit is refused before it is read, as is
/// a header over its limit; records within the limits still read, and
/// nothing is changed.
pub fn records_over_the_limits_are_refused(mut storage: Storage) {
    let big = vec![7_u8; 10_000];
    storage.save(WF, "big", &big).expect("save");
    storage.save(WF, "small", &1_u8).expect("save");
    let size = storage.backend().get(WF, "big").unwrap().unwrap().len() as u64;
    let refused = storage
        .backend()
        .get_limited(WF, "big", size - 1)
        .expect_err("a record over the limit");
    let too_large = refused
        .downcast_ref::<crate::RecordTooLarge>()
        .unwrap_or_else(|| panic!("not RecordTooLarge: {refused:#}"));
    assert_eq!((too_large.size, too_large.limit), (size, size - 1));
    assert_eq!(
        storage
            .backend()
            .get_limited(WF, "big", size)
            .unwrap()
            .unwrap()
            .len() as u64,
        size
    );
    assert!(
        storage
            .backend()
            .get_limited(WF, "none", 1)
            .unwrap()
            .is_none()
    );

    storage.set_limits(crate::Limits {
        max_record_bytes: 1000,
        ..crate::Limits::default()
    });
    match storage.read_task::<Vec<u8>>(WF, "big") {
        Err(Error::TooLarge {
            what: "record",
            size: s,
            limit: 1000,
            ..
        }) if s == size => {}
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let message = storage
        .read_task::<Vec<u8>>(WF, "big")
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("over the limit of 1000") && message.contains("set_limits"),
        "{message}"
    );
    assert_eq!(storage.read_task::<u8>(WF, "small").unwrap(), 1);
    storage.set_limits(crate::Limits {
        max_header_bytes: 10,
        ..crate::Limits::default()
    });
    assert!(matches!(
        storage.read_task::<u8>(WF, "small"),
        Err(Error::TooLarge {
            what: "header",
            limit: 10,
            ..
        })
    ));
    storage.set_limits(crate::Limits::default());
    assert_eq!(storage.read_task::<Vec<u8>>(WF, "big").unwrap(), big);
}

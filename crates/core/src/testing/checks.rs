//! The conformance checks. Each takes a [`Storage`] over a fresh, empty
//! backend and panics with a message on the first violation.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use super::failures::{
    cached_reads_computes_and_recomputes_corrupt, corrupt_and_truncated_records_are_reported,
    failed_puts_keep_records_and_big_data_consistent, failed_save_rolls_back_big_data,
    hostile_locations_are_refused, invalid_names_are_rejected_without_writing,
    missing_serializer_is_a_clear_error, records_over_the_limits_are_refused,
    removing_a_corrupt_record_still_removes_big_data, type_mismatch_names_the_stored_type,
};
use super::serializers::{
    InventoryBlob, RecordingSerializer, RuntimeBlob, big_data, inventory_calls,
};
use crate::{Error, Persistent, PersistentSerializer, Storage, record};

const WF: &str = "conformance";

fn round_trip<T>(storage: &Storage, task: &str, value: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug + 'static,
{
    storage.save(WF, task, value).expect("save");
    let back: T = storage.read_task(WF, task).expect("read");
    assert_eq!(&back, value, "round trip of task `{task}`");
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Sample {
    id: u32,
    label: String,
    scores: Vec<f64>,
    nested: Option<Box<Sample>>,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Kind {
    Unit,
    Tuple(i8, char),
    Struct { a: u16, b: bool },
}

/// Scalars, strings, collections, options, enums and nested structs survive
/// a save and a read unchanged.
pub fn round_trips_many_value_shapes(storage: Storage) {
    round_trip(&storage, "unit", &());
    round_trip(&storage, "bool", &true);
    round_trip(&storage, "i64_min", &i64::MIN);
    round_trip(&storage, "u64_max", &u64::MAX);
    round_trip(&storage, "f64", &std::f64::consts::PI);
    round_trip(&storage, "f32", &-0.5_f32);
    round_trip(&storage, "char", &'λ');
    round_trip(&storage, "string", &"héllo wörld ✓".to_owned());
    round_trip(&storage, "empty_string", &String::new());
    round_trip(&storage, "vec", &vec![1.5_f64, -2.0, 1e300]);
    round_trip(&storage, "empty_vec", &Vec::<i32>::new());
    round_trip(
        &storage,
        "nested_vec",
        &vec![vec![1_u8], vec![], vec![2, 3]],
    );
    round_trip(
        &storage,
        "bytes",
        &serde_bytes::ByteBuf::from(vec![0_u8, 255, 7]),
    );
    round_trip(&storage, "option_none", &Option::<String>::None);
    round_trip(&storage, "option_some", &Some(42_i16));
    round_trip(&storage, "tuple", &(1_u8, "two".to_owned(), 3.0_f32));
    round_trip(
        &storage,
        "hash_map",
        &HashMap::from([("a".to_owned(), 1), ("b".to_owned(), 2)]),
    );
    round_trip(
        &storage,
        "btree_map",
        &BTreeMap::from([(3_u32, vec![true])]),
    );
    let leaf = Sample {
        id: 1,
        label: "leaf".into(),
        scores: vec![0.25; 10],
        nested: None,
        kind: Kind::Unit,
    };
    round_trip(&storage, "struct", &leaf);
    round_trip(
        &storage,
        "nested_struct",
        &Sample {
            id: 2,
            label: "root".into(),
            scores: vec![],
            nested: Some(Box::new(leaf)),
            kind: Kind::Struct { a: 7, b: false },
        },
    );
    round_trip(&storage, "enum_tuple", &Kind::Tuple(-3, 'x'));
    let nan: f64 = {
        storage.save(WF, "nan", &f64::NAN).expect("save NaN");
        storage.read_task(WF, "nan").expect("read NaN")
    };
    assert!(nan.is_nan());
    let big = vec![7_u64; 200_000];
    round_trip(&storage, "large_vec", &big);
}

/// Reading, checking and removing what was never saved.
pub fn missing_results_are_not_found(storage: Storage) {
    assert!(!storage.file_exists(WF, "absent").expect("exists"));
    assert!(matches!(
        storage.read_task::<i32>(WF, "absent"),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        storage.read_task::<i32>("no-such-workflow", "absent"),
        Err(Error::NotFound { .. })
    ));
    assert!(!storage.remove_task(WF, "absent").expect("remove absent"));
    storage.save(WF, "present", &1).expect("save");
    assert!(storage.file_exists(WF, "present").expect("exists"));
}

/// `get_prefix` returns the start of a record, the whole of a short one,
/// and `None` for a missing one.
pub fn get_prefix_reads_the_start_of_records(storage: Storage) {
    let backend = storage.backend();
    backend.put(WF, "raw", &[7_u8; 1000]).expect("put");
    let prefix = backend.get_prefix(WF, "raw", 10).expect("prefix");
    assert_eq!(prefix.as_deref(), Some(&[7_u8; 10][..]));
    let whole = backend.get_prefix(WF, "raw", 5000).expect("prefix");
    assert_eq!(whole.map(|bytes| bytes.len()), Some(1000));
    assert_eq!(backend.get_prefix(WF, "absent", 10).expect("prefix"), None);
    // A big plain record is overwritten and removed through its header alone.
    round_trip(&storage, "big", &vec![1.5_f64; 100_000]);
    storage
        .save(WF, "big", &Persistent(InventoryBlob(vec![1; 10])))
        .expect("overwrite");
    assert_eq!(big_data(backend, WF).len(), 1);
    round_trip(&storage, "big", &vec![2.5_f64; 100_000]);
    assert!(big_data(backend, WF).is_empty());
    // A header too large for the first read is read whole.
    let many: Vec<_> = (0..600_u16)
        .map(|i| Persistent(InventoryBlob(i.to_le_bytes().to_vec())))
        .collect();
    storage.save(WF, "many", &many).expect("save");
    assert_eq!(big_data(backend, WF).len(), 600);
    let record = backend.get(WF, "many").expect("get").expect("record");
    assert!(record.len() > 64 * 1024, "header of {} bytes", record.len());
    assert!(storage.remove_task(WF, "many").expect("remove"));
    assert!(big_data(backend, WF).is_empty());
}

/// `list_tasks` takes `*`, `?`, `[seq]` and `[!seq]`, returns sorted record
/// names only, and takes the workflow name literally.
pub fn lists_with_glob_patterns(storage: Storage) {
    assert!(storage.list_tasks(WF, "*").expect("list").is_empty());
    storage.new_workflow(WF).expect("new workflow");
    assert!(storage.list_tasks(WF, "*").expect("list").is_empty());
    for task in ["b1", "a2", "a1", "c10", "w[1]"] {
        storage.save(WF, task, &task).expect("save");
    }
    storage
        .save(WF, "blob", &Persistent(InventoryBlob(vec![1, 2])))
        .expect("save blob");
    let list = |pattern: &str| storage.list_tasks(WF, pattern).expect("list");
    assert_eq!(list("*"), ["a1", "a2", "b1", "blob", "c10", "w[1]"]);
    assert_eq!(list("a*"), ["a1", "a2"]);
    assert_eq!(list("?1"), ["a1", "b1"]);
    assert_eq!(list("[ab]2"), ["a2"]);
    assert_eq!(list("[!a]*"), ["b1", "blob", "c10", "w[1]"]);
    assert_eq!(list("w[[]1]"), ["w[1]"]);
    assert!(list("zz*").is_empty());
    assert!(matches!(
        storage.list_tasks(WF, "[unclosed"),
        Err(Error::InvalidPattern { .. })
    ));
    // A workflow whose name looks like a pattern is still found.
    storage.save("w[1]", "t", &0).expect("save");
    assert_eq!(storage.list_tasks("w[1]", "*").expect("list"), ["t"]);
}

/// `remove_task`, `remove_tasks` and `remove_workflow` delete exactly what
/// they name, big data included.
pub fn removes_tasks_and_workflows(storage: Storage) {
    for task in ["keep", "drop1", "drop2"] {
        storage.save(WF, task, &task).expect("save");
    }
    storage
        .save(WF, "drop_blob", &Persistent(InventoryBlob(vec![9; 64])))
        .expect("save blob");
    assert_eq!(big_data(storage.backend(), WF).len(), 1);
    assert!(storage.remove_task(WF, "drop1").expect("remove"));
    assert_eq!(
        storage.remove_tasks(WF, "drop*").expect("remove tasks"),
        ["drop2", "drop_blob"]
    );
    assert!(
        storage
            .remove_tasks(WF, "nothing*")
            .expect("no match")
            .is_empty()
    );
    assert!(
        big_data(storage.backend(), WF).is_empty(),
        "big data left behind"
    );
    assert_eq!(storage.list_tasks(WF, "*").expect("list"), ["keep"]);
    assert_eq!(
        storage.read_task::<String>(WF, "keep").expect("read"),
        "keep"
    );

    storage
        .save(WF, "blob", &Persistent(InventoryBlob(vec![1; 16])))
        .expect("save blob");
    storage.save("other", "t", &1).expect("save other");
    storage.remove_workflow(WF).expect("remove workflow");
    assert!(storage.list_tasks(WF, "*").expect("list").is_empty());
    assert!(big_data(storage.backend(), WF).is_empty());
    assert!(matches!(
        storage.read_task::<String>(WF, "keep"),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        storage
            .read_task::<i32>("other", "t")
            .expect("other intact"),
        1
    );
    storage
        .remove_workflow(WF)
        .expect("removing a missing workflow");
    // The workflow can be used again after removal.
    round_trip(&storage, "again", &2);
}

/// Saving a task again replaces the value and removes the old big data.
pub fn overwrite_replaces_and_removes_old_big_data(storage: Storage) {
    round_trip(&storage, "t", &1);
    round_trip(&storage, "t", &"now a string".to_owned());
    storage
        .save(WF, "b", &Persistent(InventoryBlob(vec![1; 8])))
        .expect("save");
    let first = big_data(storage.backend(), WF);
    assert_eq!(first.len(), 1);
    storage
        .save(WF, "b", &Persistent(InventoryBlob(vec![2; 8])))
        .expect("overwrite");
    let second = big_data(storage.backend(), WF);
    assert_eq!(second.len(), 1, "old big data not removed: {second:?}");
    assert_ne!(first, second);
    let back: Persistent<InventoryBlob> = storage.read_task(WF, "b").expect("read");
    assert_eq!(back.0, InventoryBlob(vec![2; 8]));
    // Overwriting with a plain value removes the big data too.
    round_trip(&storage, "b", &0_u8);
    assert!(big_data(storage.backend(), WF).is_empty());
}

/// A type with a linked serializer is stored out of band as a whole value:
/// the serializer is called with the backend's protocols, the record holds
/// only the reference, and reading calls it back.
pub fn linked_serializer_takes_whole_values(storage: Storage) {
    let blob = InventoryBlob((0..=255).collect());
    storage.save(WF, "whole", &blob).expect("save");
    let objects = big_data(storage.backend(), WF);
    assert_eq!(objects.len(), 1);
    let bytes = storage
        .backend()
        .get(WF, "whole")
        .expect("get")
        .expect("record");
    let decoded = record::decode(&bytes).expect("valid record");
    assert_eq!(decoded.header.persistent_ids.len(), 1);
    let pid = &decoded.header.persistent_ids[0];
    assert_eq!(pid.serializer, "inventory-blob");
    assert_eq!(pid.metadata["len"], 256);
    assert!(
        bytes.len() < 1024,
        "the blob went into the record ({} bytes)",
        bytes.len()
    );
    let protocols: Vec<&str> = storage
        .backend()
        .protocols(WF)
        .expect("protocols")
        .keys()
        .collect();
    let back: InventoryBlob = storage.read_task(WF, "whole").expect("read");
    assert_eq!(back, blob);
    let calls: Vec<_> = inventory_calls()
        .into_iter()
        .filter(|call| call.location == pid.location)
        .collect();
    assert_eq!(
        calls.iter().map(|c| c.op).collect::<Vec<_>>(),
        ["pickle", "unpickle"]
    );
    assert!(calls.iter().all(|call| call.protocols == protocols));
    assert!(!protocols.is_empty(), "the backend speaks no protocol");
}

/// Serializers registered at run time serve new types and override linked ones.
pub fn runtime_serializers_add_and_override(mut storage: Storage) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let before = storage.clone();
    storage.register_persistent_serializers([
        Arc::new(RecordingSerializer::<RuntimeBlob>::new(
            "runtime-blob",
            Arc::clone(&log),
        )) as Arc<dyn PersistentSerializer>,
        Arc::new(RecordingSerializer::<InventoryBlob>::new(
            "override",
            Arc::clone(&log),
        )),
    ]);
    storage
        .save(WF, "runtime", &RuntimeBlob(vec![5; 5]))
        .expect("save");
    storage
        .save(WF, "overridden", &InventoryBlob(vec![6; 6]))
        .expect("save");
    assert_eq!(
        storage
            .read_task::<RuntimeBlob>(WF, "runtime")
            .expect("read"),
        RuntimeBlob(vec![5; 5])
    );
    assert_eq!(
        storage
            .read_task::<InventoryBlob>(WF, "overridden")
            .expect("read"),
        InventoryBlob(vec![6; 6])
    );
    let ops: Vec<(&str, String)> = log
        .lock()
        .expect("log")
        .iter()
        .map(|call| (call.op, call.serializer.clone()))
        .collect();
    assert_eq!(
        ops,
        [
            ("pickle", "runtime-blob".to_owned()),
            ("pickle", "override".to_owned()),
            ("unpickle", "runtime-blob".to_owned()),
            ("unpickle", "override".to_owned()),
        ]
    );
    // Registration is per storage: a clone taken before does not have them,
    // and names the serializer it would need.
    let error = before
        .read_task::<InventoryBlob>(WF, "overridden")
        .expect_err("serializer name differs");
    assert!(
        matches!(error, Error::TypeMismatch { ref stored, .. } if stored.contains("override")),
        "{error}"
    );
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Model {
    name: String,
    weights: Persistent<InventoryBlob>,
    #[serde(with = "crate::persistent")]
    bias: InventoryBlob,
    layers: Vec<Persistent<InventoryBlob>>,
    plain: InventoryBlob,
}

/// `Persistent<T>` fields and `#[serde(with = "...persistent")]` fields are
/// stored out of band at any depth; other fields of the same type inline.
pub fn nested_persistent_fields_round_trip(storage: Storage) {
    let model = Model {
        name: "net".into(),
        weights: Persistent(InventoryBlob(vec![1; 100])),
        bias: InventoryBlob(vec![2; 10]),
        layers: vec![
            Persistent(InventoryBlob(vec![3; 30])),
            Persistent(InventoryBlob(vec![])),
        ],
        plain: InventoryBlob(vec![4; 4]),
    };
    round_trip(&storage, "model", &model);
    assert_eq!(big_data(storage.backend(), WF).len(), 4);
    let bytes = storage
        .backend()
        .get(WF, "model")
        .expect("get")
        .expect("record");
    assert_eq!(
        record::decode(&bytes)
            .expect("valid")
            .header
            .persistent_ids
            .len(),
        4
    );
    // Outside a storage the wrapper is transparent.
    let json = serde_json::to_string(&Persistent(vec![1, 2])).expect("json");
    assert_eq!(json, "[1,2]");
}

/// Threads sharing one storage save and read their own tasks, with
/// persistent objects, without mixing them up.
pub fn concurrent_saves_from_threads(storage: Storage) {
    std::thread::scope(|scope| {
        for thread in 0..4_u8 {
            let storage = &storage;
            scope.spawn(move || {
                for i in 0..25_u8 {
                    let task = format!("t{thread}-{i}");
                    let value = (task.clone(), Persistent(InventoryBlob(vec![thread, i])));
                    storage.save(WF, &task, &value).expect("save");
                    let back: (String, Persistent<InventoryBlob>) =
                        storage.read_task(WF, &task).expect("read");
                    assert_eq!(back.0, task);
                    assert_eq!(back.1.0, InventoryBlob(vec![thread, i]));
                }
            });
        }
    });
    assert_eq!(storage.list_tasks(WF, "t*").expect("list").len(), 100);
    assert_eq!(big_data(storage.backend(), WF).len(), 100);
}

#[derive(Serialize)]
struct Exploding {
    first: Persistent<InventoryBlob>,
    second: Bomb,
}

struct Bomb;

impl Serialize for Bomb {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        panic!("a user's Serialize panicked (on purpose, in a conformance check)")
    }
}

/// A panic inside a save (a user's `Serialize`) removes the big data the
/// save had written and leaves the storage usable on that thread.
pub fn panicking_save_leaves_no_big_data(storage: Storage) {
    let value = Exploding {
        first: Persistent(InventoryBlob(vec![1; 8])),
        second: Bomb,
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        storage.save(WF, "boom", &value)
    }));
    assert!(outcome.is_err(), "the panic went missing");
    assert!(big_data(storage.backend(), WF).is_empty());
    assert!(!storage.file_exists(WF, "boom").expect("exists"));
    round_trip(&storage, "after", &Persistent(InventoryBlob(vec![2])));
}

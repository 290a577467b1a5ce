//! Conformance checks of what maintenance needs from a backend: listing
//! workflows and objects with sizes and ages, and deleting by path.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::serializers::{InventoryBlob, RecordingSerializer, big_data};
use crate::maintenance::view::ViewOptions;
use crate::maintenance::{GarbageKind, NoProgress, Severity};
use crate::{Persistent, PersistentSerializer, Storage, record};

const WF: &str = "maintenance";

/// The location of the first persistent object of a task's record.
fn location_of(storage: &Storage, workflow: &str, task: &str) -> String {
    let bytes = storage.backend().get(workflow, task).unwrap().unwrap();
    record::decode(&bytes).unwrap().header.persistent_ids[0]
        .location
        .clone()
}

/// Workflows are listed, and a workflow's tasks with sizes, creation times
/// and types; one task's detail shows its persistent object.
pub fn maintenance_lists_workflows_tasks_and_sizes(storage: Storage) {
    assert!(
        storage.workflows().unwrap().is_empty(),
        "a fresh storage lists workflows"
    );
    let before = SystemTime::now();
    storage.save("other", "x", &1_u8).unwrap();
    storage
        .save(WF, "blob", &Persistent(InventoryBlob(vec![7; 1000])))
        .unwrap();
    storage.save(WF, "plain", "hi").unwrap();
    assert_eq!(storage.workflows().unwrap(), ["maintenance", "other"]);

    let summary = storage.workflow_summary(WF).unwrap();
    let record_bytes: usize = ["blob", "plain"]
        .iter()
        .map(|task| storage.backend().get(WF, task).unwrap().unwrap().len())
        .sum();
    assert_eq!(summary.tasks, 2);
    assert_eq!(summary.record_bytes, record_bytes as u64);
    assert_eq!(summary.bigdata_bytes, 1000);
    assert_eq!(summary.temporary_bytes, 0);
    let modified = summary.last_modified_ns.expect("a last change");
    let before_ns = before
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    assert!(
        modified + 2_000_000_000 >= before_ns,
        "last change {modified} before the saves {before_ns}"
    );

    let infos = storage.task_infos(WF, "*").unwrap();
    let names: Vec<&str> = infos.iter().map(|info| info.task.as_str()).collect();
    assert_eq!(names, ["blob", "plain"]);
    assert_eq!(infos[0].bigdata_bytes, 1000);
    assert_eq!(infos[1].bigdata_bytes, 0);
    assert_eq!(infos[1].type_name.as_deref(), Some("str"));
    assert!(infos[1].created_ns.unwrap() >= before_ns);
    assert_eq!(storage.task_infos(WF, "p*").unwrap().len(), 1);

    let detail = storage
        .inspect_task(WF, "blob", &ViewOptions::default())
        .unwrap();
    assert_eq!(detail.big_data.len(), 1);
    assert_eq!(detail.big_data[0].bytes, 1000);
    assert_eq!(detail.big_data[0].objects, 1);
    assert_eq!(
        detail.payload["$persistent"]["serializer"],
        "inventory-blob"
    );
    let plain = storage
        .inspect_task(WF, "plain", &ViewOptions::default())
        .unwrap();
    assert_eq!(plain.payload, "hi");

    let paths: Vec<String> = storage
        .backend()
        .scan(WF)
        .unwrap()
        .into_iter()
        .map(|object| object.path)
        .collect();
    assert!(
        paths.contains(&"blob".to_owned()) && paths.contains(&"plain".to_owned()),
        "{paths:?}"
    );
    let location = location_of(&storage, WF, "blob");
    assert!(paths.contains(&format!("bigdata/{location}")), "{paths:?}");
}

/// `verify` passes an intact workflow and reports a corrupt record, a
/// missing and a damaged big-data object, each with its task.
pub fn verify_reports_each_damaged_task(storage: Storage) {
    storage.save(WF, "ok", &vec![1, 2, 3]).unwrap();
    for task in ["lost", "damaged", "kept"] {
        storage
            .save(WF, task, &Persistent(InventoryBlob(vec![1; 64])))
            .unwrap();
    }
    storage
        .save(WF, "corrupt", &"soon cut short".to_owned())
        .unwrap();
    let clean = storage.verify(&[], &NoProgress).unwrap();
    assert!(clean.is_ok(), "{:?}", clean.problems);
    assert_eq!((clean.checked, clean.objects), (5, 3));

    let bytes = storage.backend().get(WF, "corrupt").unwrap().unwrap();
    storage
        .backend()
        .put(WF, "corrupt", &bytes[..bytes.len() - 1])
        .unwrap();
    let lost = location_of(&storage, WF, "lost");
    storage
        .backend()
        .delete_objects(WF, &[format!("bigdata/{lost}")])
        .unwrap();
    let damaged = location_of(&storage, WF, "damaged");
    let protocols = storage.backend().protocols(WF).unwrap();
    if let Some(file) = protocols.file() {
        std::fs::write(file.path(&damaged).unwrap(), [0; 3]).unwrap();
    } else if let Some(s3) = protocols.s3() {
        s3.put_blocking(&damaged, vec![0; 3]).unwrap();
    }

    let report = storage.verify(&[WF.to_owned()], &NoProgress).unwrap();
    assert!(!report.is_ok());
    let found: Vec<(Option<&str>, Severity)> = report
        .problems
        .iter()
        .map(|p| (p.task.as_deref(), p.severity))
        .collect();
    assert_eq!(
        found,
        [
            (Some("corrupt"), Severity::Error),
            (Some("damaged"), Severity::Error),
            (Some("lost"), Severity::Error),
        ],
        "{:#?}",
        report.problems
    );
    assert!(
        report.problems[0].message.contains("checksum"),
        "{:?}",
        report.problems[0]
    );
    assert!(
        report.problems[2].message.contains("missing"),
        "{:?}",
        report.problems[2]
    );
    assert_eq!(report.problems[1].object.as_deref(), Some(damaged.as_str()));
}

/// `gc` removes unreferenced big data older than the grace period and
/// nothing else; deleting by path refuses paths that leave the workflow.
pub fn gc_removes_old_orphans_and_keeps_the_rest(storage: Storage) {
    storage
        .save(WF, "kept", &Persistent(InventoryBlob(vec![5; 100])))
        .unwrap();
    storage.save("neighbour", "x", &1_u8).unwrap();
    // Big data as a save killed before its record leaves it.
    let serializer = RecordingSerializer::<InventoryBlob>::new("inventory-blob", Arc::default());
    let protocols = storage.backend().protocols(WF).unwrap();
    let orphan = serializer
        .pickle(&InventoryBlob(vec![9; 300]), &protocols)
        .unwrap();

    let young = storage.find_garbage(&[], Duration::from_hours(1)).unwrap();
    assert!(young.garbage.is_empty(), "{:?}", young.garbage);
    assert_eq!(young.young, 1);

    let found = storage.find_garbage(&[], Duration::ZERO).unwrap();
    assert_eq!(found.count(), 1, "{:?}", found.garbage);
    let garbage = &found.garbage[0];
    assert_eq!(garbage.kind, GarbageKind::Orphan);
    assert_eq!(garbage.workflow.as_deref(), Some(WF));
    assert_eq!(garbage.path, format!("bigdata/{}", orphan.location));
    assert_eq!(found.bytes(), 300);
    assert_eq!(
        big_data(storage.backend(), WF).len(),
        2,
        "a dry run removed something"
    );

    let removed = storage
        .collect_garbage(
            &[WF.to_owned()],
            Duration::ZERO,
            &crate::maintenance::NoProgress,
        )
        .unwrap();
    assert!(
        removed.removed && removed.notes.is_empty(),
        "{:?}",
        removed.notes
    );
    assert_eq!(
        big_data(storage.backend(), WF),
        [location_of(&storage, WF, "kept")]
    );
    let kept: Persistent<InventoryBlob> = storage.read_task(WF, "kept").unwrap();
    assert_eq!(kept.0, InventoryBlob(vec![5; 100]));
    assert!(
        storage
            .find_garbage(&[], Duration::ZERO)
            .unwrap()
            .garbage
            .is_empty()
    );

    for hostile in [
        "../neighbour/x",
        "bigdata/../../neighbour/x",
        "",
        "a//b",
        "a\\b",
    ] {
        assert!(
            storage
                .backend()
                .delete_objects(WF, &[hostile.to_owned()])
                .is_err(),
            "{hostile:?} accepted"
        );
    }
    assert_eq!(storage.read_task::<u8>("neighbour", "x").unwrap(), 1);
}

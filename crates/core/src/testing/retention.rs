//! Conformance checks of retention and of what `gc` collects besides big
//! data: results expire by age, by count and by a size cap evicting the
//! least recently used (access marks), protected workflows are left alone,
//! and expired leases and stale access marks are collected.

use std::thread::sleep;
use std::time::{Duration, SystemTime};

use super::serializers::{InventoryBlob, big_data};
use crate::maintenance::{Expiry, GarbageKind, KeepNewest, NoProgress, Retention};
use crate::names::{ACCESS_DIR, LEASES_DIR};
use crate::{LeaseAttempt, Persistent, Storage};

const WF: &str = "retention";

/// Between saves, so that their times differ on any backend clock used here.
const APART: Duration = Duration::from_millis(40);

fn save_blob(storage: &Storage, workflow: &str, task: &str, byte: u8) {
    storage
        .save(workflow, task, &Persistent(InventoryBlob(vec![byte; 200])))
        .unwrap();
    sleep(APART);
}

/// Record and big data of each task, as the sizes listing reports them.
fn sizes(storage: &Storage, workflow: &str) -> std::collections::BTreeMap<String, u64> {
    storage
        .task_infos(workflow, "*")
        .unwrap()
        .into_iter()
        .map(|info| (info.task, info.record_bytes + info.bigdata_bytes))
        .collect()
}

fn expired_tasks(report: &crate::maintenance::RetentionReport) -> Vec<&str> {
    let mut tasks: Vec<&str> = report.expired.iter().map(|r| r.task.as_str()).collect();
    tasks.sort_unstable();
    tasks
}

fn paths(storage: &Storage, workflow: &str) -> Vec<String> {
    let mut paths: Vec<String> = storage
        .backend()
        .scan(workflow)
        .unwrap()
        .into_iter()
        .map(|object| object.path)
        .collect();
    paths.sort();
    paths
}

/// A dry run lists what a policy expires and the bytes freed, and removes
/// nothing; applying it removes those records with their big data, leaving
/// no orphans; ages are measured from the policy's `now`.
pub fn retention_expires_by_count_and_age(storage: Storage) {
    for task in ["ckpt-1", "ckpt-2", "ckpt-3"] {
        save_blob(&storage, WF, task, 1);
    }
    sleep(APART);
    let between = SystemTime::now();
    sleep(APART);
    save_blob(&storage, WF, "model", 2);
    storage.save(WF, "small", &5_u8).unwrap();
    let sizes = sizes(&storage, WF);
    let before = paths(&storage, WF);

    let by_count = Retention {
        keep_newest: vec![KeepNewest::new("ckpt-*", 1)],
        ..Retention::default()
    };
    let dry = storage.find_expired(&[], &by_count).unwrap();
    assert!(!dry.removed);
    assert_eq!(expired_tasks(&dry), ["ckpt-1", "ckpt-2"]);
    assert!(dry.expired.iter().all(|r| r.expiry
        == Expiry::BeyondNewest {
            pattern: "ckpt-*".to_owned(),
            keep: 1
        }));
    assert_eq!(dry.bytes(), sizes["ckpt-1"] + sizes["ckpt-2"]);
    assert!(sizes["ckpt-1"] > 200, "big data counts: {sizes:?}");
    assert_eq!(paths(&storage, WF), before, "a dry run removed something");

    let applied = storage
        .apply_retention(&[WF.to_owned()], &by_count, &NoProgress)
        .unwrap();
    assert!(applied.removed && applied.notes.is_empty(), "{applied:?}");
    assert_eq!(expired_tasks(&applied), ["ckpt-1", "ckpt-2"]);
    assert_eq!(
        storage.list_tasks(WF, "*").unwrap(),
        ["ckpt-3", "model", "small"]
    );
    assert_eq!(big_data(storage.backend(), WF).len(), 2);
    let garbage = storage.find_garbage(&[], Duration::ZERO).unwrap();
    assert!(garbage.garbage.is_empty(), "{:?}", garbage.garbage);

    // Measured from just after the checkpoints, an hour on.
    let by_age = Retention {
        older_than: Some(Duration::from_hours(1)),
        now: Some(between + Duration::from_hours(1)),
        ..Retention::default()
    };
    let applied = storage.apply_retention(&[], &by_age, &NoProgress).unwrap();
    assert_eq!(expired_tasks(&applied), ["ckpt-3"]);
    assert_eq!(applied.expired[0].expiry, Expiry::OlderThan { age_s: 3600 });
    assert_eq!(storage.list_tasks(WF, "*").unwrap(), ["model", "small"]);
    let model: Persistent<InventoryBlob> = storage.read_task(WF, "model").unwrap();
    assert_eq!(model.0, InventoryBlob(vec![2; 200]));
    assert_eq!(big_data(storage.backend(), WF).len(), 1);
}

/// Over the size cap, the least recently used results go: a read makes a
/// result recent (its access mark), however long ago it was saved.
pub fn retention_size_cap_evicts_the_least_recently_used(storage: Storage) {
    for task in ["a", "b", "c"] {
        save_blob(&storage, WF, task, 3);
    }
    let _: Persistent<InventoryBlob> = storage.read_task(WF, "a").unwrap();
    storage.flush_access_times();
    assert!(
        paths(&storage, WF).contains(&format!("{ACCESS_DIR}/a")),
        "{:?}",
        paths(&storage, WF)
    );
    let sizes = sizes(&storage, WF);
    let total: u64 = sizes.values().sum();
    let capped = Retention {
        max_bytes: Some(total - 1),
        ..Retention::default()
    };
    let dry = storage.find_expired(&[], &capped).unwrap();
    assert_eq!(expired_tasks(&dry), ["b"], "{dry:?}");
    assert_eq!(
        dry.expired[0].expiry,
        Expiry::OverSizeCap {
            max_bytes: total - 1
        }
    );
    assert_eq!(dry.bytes(), sizes["b"]);

    // Within the cap, nothing goes.
    let roomy = Retention {
        max_bytes: Some(total),
        ..Retention::default()
    };
    assert_eq!(storage.find_expired(&[], &roomy).unwrap().count(), 0);

    storage.apply_retention(&[], &capped, &NoProgress).unwrap();
    assert_eq!(storage.list_tasks(WF, "*").unwrap(), ["a", "c"]);
    for task in ["a", "c"] {
        let value: Persistent<InventoryBlob> = storage.read_task(WF, task).unwrap();
        assert_eq!(value.0, InventoryBlob(vec![3; 200]));
    }
    // The evicted result's access mark went with it.
    storage.flush_access_times();
    assert!(!paths(&storage, WF).contains(&format!("{ACCESS_DIR}/b")));
}

/// Protected workflows are reported and left whole, whatever the rules.
pub fn retention_leaves_protected_workflows_alone(storage: Storage) {
    save_blob(&storage, "production-1", "model", 4);
    save_blob(&storage, WF, "scratch", 5);
    let everything = Retention {
        keep_newest: vec![KeepNewest::new("*", 0)],
        protect: vec!["production-*".to_owned()],
        ..Retention::default()
    };
    let report = storage
        .apply_retention(&[], &everything, &NoProgress)
        .unwrap();
    assert_eq!(report.protected, ["production-1"]);
    assert_eq!(expired_tasks(&report), ["scratch"]);
    assert!(storage.list_tasks(WF, "*").unwrap().is_empty());
    let model: Persistent<InventoryBlob> = storage.read_task("production-1", "model").unwrap();
    assert_eq!(model.0, InventoryBlob(vec![4; 200]));

    let bad = Retention {
        protect: vec!["[".to_owned()],
        ..everything
    };
    assert!(matches!(
        storage.find_expired(&[], &bad),
        Err(crate::Error::InvalidPattern { .. })
    ));
}

/// `gc` collects the lease of a holder that died without releasing it and
/// the access mark of a removed result, once older than the grace period;
/// the task's lease can be taken again afterwards.
pub fn gc_collects_expired_leases_and_stale_access_marks(storage: Storage) {
    storage.save(WF, "gone", &1_u8).unwrap();
    storage.save(WF, "kept", &2_u8).unwrap();
    for task in ["gone", "kept"] {
        assert!(storage.read_task::<u8>(WF, task).is_ok());
    }
    storage.flush_access_times();
    storage.remove_task(WF, "gone").unwrap();
    let holder = "a holder that died";
    let ttl = Duration::from_mins(1);
    let leases = match storage
        .backend()
        .try_lease(WF, "kept", holder, ttl)
        .unwrap()
    {
        // Dropped unreleased, as by a crash.
        Some(LeaseAttempt::Acquired(lease)) => {
            drop(lease);
            true
        }
        Some(LeaseAttempt::Held { holder }) => panic!("a fresh lease is held by {holder}"),
        None => false,
    };

    let young = storage.find_garbage(&[], Duration::from_hours(1)).unwrap();
    assert!(young.garbage.is_empty(), "{:?}", young.garbage);
    let found = storage.find_garbage(&[], Duration::ZERO).unwrap();
    let mut kinds: Vec<(GarbageKind, &str)> = found
        .garbage
        .iter()
        .map(|g| (g.kind, g.path.as_str()))
        .collect();
    kinds.sort_by_key(|(_, path)| path.to_owned());
    let mark = format!("{ACCESS_DIR}/gone");
    let lease = format!("{LEASES_DIR}/kept");
    let mut expected = vec![(GarbageKind::StaleAccessMark, mark.as_str())];
    if leases {
        expected.push((GarbageKind::ExpiredLease, lease.as_str()));
    }
    expected.sort_by_key(|(_, path)| path.to_owned());
    assert_eq!(kinds, expected);

    let collected = storage
        .collect_garbage(&[], Duration::ZERO, &NoProgress)
        .unwrap();
    assert!(collected.notes.is_empty(), "{:?}", collected.notes);
    let left = paths(&storage, WF);
    assert!(!left.contains(&mark) && !left.contains(&lease), "{left:?}");
    assert!(left.contains(&format!("{ACCESS_DIR}/kept")), "{left:?}");
    assert_eq!(storage.read_task::<u8>(WF, "kept").unwrap(), 2);
    if leases {
        match storage
            .backend()
            .try_lease(WF, "kept", "next", ttl)
            .unwrap()
        {
            Some(LeaseAttempt::Acquired(lease)) => lease.release().unwrap(),
            _ => panic!("the collected lease cannot be taken again"),
        }
    }
}

//! `gc` removes what killed saves and racing writers leave, and never what
//! a save in progress may still commit.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use functionfuse::ndarray::Array1;
use functionfuse::serializer_ndarray::NdarraySerializer;
use functionfuse::{PersistentSerializer, Storage};

use crate::common::{open_folder, open_s3, run, run_json, s3_spec};

const WF: &str = "loop";

/// Opens a folder path or an `s3://` spec through the library.
fn open(spec: &str) -> Storage {
    if spec.starts_with("s3://") {
        open_s3(spec)
    } else {
        open_folder(Path::new(spec))
    }
}

/// The value a saver writes as generation `generation` of task `task`.
fn value(task: usize, generation: usize) -> Array1<f64> {
    Array1::from_elem(500_000, (task * 1_000_000 + generation) as f64)
}

/// What `gc --grace 0s` must report for the workflow.
fn expected_garbage(storage: &Storage) -> BTreeSet<String> {
    functionfuse_tests::unreferenced(storage, WF)
}

fn garbage_paths(report: &serde_json::Value) -> BTreeSet<String> {
    report["garbage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["path"].as_str().unwrap().to_owned())
        .collect()
}

/// Starts this test binary again as a process that saves arrays into
/// `spec` until it is killed.
fn start_saver(spec: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "gc::saver_process", "--ignored", "--nocapture"])
        .env("FFUSE_CLI_SAVER_SPEC", spec)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The body of the saver processes; does nothing when run on its own.
#[test]
#[ignore = "a helper process of the gc tests"]
fn saver_process() {
    let Ok(spec) = std::env::var("FFUSE_CLI_SAVER_SPEC") else {
        return;
    };
    let storage = open(&spec);
    for generation in 0.. {
        let task = generation % 3;
        storage
            .save(WF, &format!("t{task}"), &value(task, generation))
            .unwrap();
    }
}

/// Kills savers at several moments, plants one more orphan, then checks
/// that `gc` finds exactly the leftovers and that everything else reads back.
fn removes_what_killed_saves_left(spec: &str) {
    let storage = open(spec);
    let started = Instant::now();
    for kill in 0..4_u64 {
        let mut saver = start_saver(spec);
        // Wait for its first record, then kill it at a different moment of
        // its loop each time.
        while storage.list_tasks(WF, "*").unwrap().is_empty() {
            assert!(
                started.elapsed() < Duration::from_mins(1),
                "the saver never saved"
            );
            thread::sleep(Duration::from_millis(5));
        }
        thread::sleep(Duration::from_millis(40 + 37 * kill));
        saver.kill().unwrap();
        saver.wait().unwrap();
    }
    let serializer = NdarraySerializer::<f64, functionfuse::ndarray::Ix1>::default();
    let protocols = storage.backend().protocols(WF).unwrap();
    serializer
        .pickle(&Array1::<f64>::zeros(10), &protocols)
        .unwrap();

    let expected = expected_garbage(&storage);
    assert!(!expected.is_empty());
    eprintln!("leftovers after the kills: {expected:?}");
    let dry = run_json(&["-s", spec, "gc", "--grace", "0s", "--dry-run"], 0);
    assert_eq!(garbage_paths(&dry), expected);
    assert_eq!(dry["removed"], false);
    assert_eq!(
        expected_garbage(&storage),
        expected,
        "a dry run removed something"
    );

    let done = run_json(&["-s", spec, "gc", "--grace", "0s"], 0);
    assert_eq!(garbage_paths(&done), expected);
    assert_eq!(done["count"].as_u64(), Some(expected.len() as u64));
    assert!(done["bytes"].as_u64().unwrap() > 0);
    assert!(expected_garbage(&storage).is_empty());
    for task in storage.list_tasks(WF, "*").unwrap() {
        let array = storage.read_task::<Array1<f64>>(WF, &task).unwrap();
        let index: usize = task[1..].parse().unwrap();
        let generation = array[0] as usize - index * 1_000_000;
        assert_eq!(array, value(index, generation), "task {task}");
    }
    run(&["-s", spec, "verify"], 0);
    let again = run_json(&["-s", spec, "gc", "--grace", "0s"], 0);
    assert_eq!(again["count"], 0);
}

#[test]
fn gc_removes_what_killed_saves_left_on_files() {
    let folder = tempfile::tempdir().unwrap();
    removes_what_killed_saves_left(folder.path().to_str().unwrap());
}

#[test]
fn gc_removes_what_killed_saves_left_on_s3() {
    removes_what_killed_saves_left(&s3_spec());
}

/// Sets a file's modification time `age` into the past.
fn age_file(path: &Path, age: Duration) {
    let file = File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

#[test]
fn gc_leaves_a_live_save_alone_and_removes_old_garbage() {
    let folder = tempfile::tempdir().unwrap();
    let spec = folder.path().to_str().unwrap();
    let storage = open_folder(folder.path());
    storage.save(WF, "t0", &value(0, 0)).unwrap();
    // Old garbage: an orphaned array, a temporary of each kind, an
    // interrupted workflow removal; and a young orphan.
    let serializer = NdarraySerializer::<f64, functionfuse::ndarray::Ix1>::default();
    let protocols = storage.backend().protocols(WF).unwrap();
    let old = serializer
        .pickle(&Array1::<f64>::zeros(10), &protocols)
        .unwrap();
    let young = serializer
        .pickle(&Array1::<f64>::ones(10), &protocols)
        .unwrap();
    let bigdata = folder.path().join(WF).join("bigdata");
    std::fs::write(bigdata.join(".abandoned.h5.tmp"), [0; 100]).unwrap();
    std::fs::write(folder.path().join(WF).join(".tmp-1-1"), [0; 10]).unwrap();
    let removing = folder.path().join(".removing-1-1");
    std::fs::create_dir_all(removing.join("bigdata")).unwrap();
    std::fs::write(removing.join("bigdata").join("x.h5"), [0; 1000]).unwrap();
    let two_hours = Duration::from_hours(2);
    age_file(&bigdata.join(&old.location), two_hours);
    age_file(&bigdata.join(".abandoned.h5.tmp"), two_hours);
    age_file(&folder.path().join(WF).join(".tmp-1-1"), two_hours);
    filetime_dir(&removing, two_hours);

    // A writer overwrites tasks as fast as it can while gc runs again and
    // again, until both have done enough to race.
    let stop = AtomicBool::new(false);
    let saves = AtomicUsize::new(0);
    thread::scope(|scope| {
        let writer = scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                let generation = saves.load(Ordering::Relaxed);
                let task = generation % 3;
                storage
                    .save(WF, &format!("t{task}"), &value(task, generation))
                    .unwrap();
                saves.fetch_add(1, Ordering::Relaxed);
            }
        });
        let started = Instant::now();
        let mut removed = BTreeSet::new();
        let mut runs = 0;
        while runs < 6 || saves.load(Ordering::Relaxed) < 20 {
            assert!(
                started.elapsed() < Duration::from_mins(2),
                "the race never got going"
            );
            let report = run_json(&["-s", spec, "gc", "--grace", "10m"], 0);
            removed.extend(garbage_paths(&report));
            runs += 1;
        }
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        let expected: BTreeSet<String> = [
            format!("bigdata/{}", old.location),
            "bigdata/.abandoned.h5.tmp".to_owned(),
            ".tmp-1-1".to_owned(),
            ".removing-1-1".to_owned(),
        ]
        .into();
        assert_eq!(removed, expected, "gc removed more than the old garbage");
    });
    assert!(
        bigdata.join(&young.location).exists(),
        "a young orphan was removed"
    );
    assert!(!removing.exists());
    for task in storage.list_tasks(WF, "*").unwrap() {
        storage.read_task::<Array1<f64>>(WF, &task).unwrap();
    }
    run(&["-s", spec, "verify"], 0);
    let human = run(&["-s", spec, "gc", "--dry-run"], 0);
    assert!(
        human.contains("would remove 0 unreferenced items"),
        "{human}"
    );
    assert!(
        human.contains("kept 1 unreferenced item younger than the grace period (1h)"),
        "{human}"
    );
}

/// Sets a folder's modification time `age` into the past.
fn filetime_dir(path: &Path, age: Duration) {
    let folder = File::open(path).unwrap();
    folder.set_modified(SystemTime::now() - age).unwrap();
}

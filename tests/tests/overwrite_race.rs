//! Readers racing saves of the same task see the old value or the new one,
//! never an error: a save removes the old big data right after the new
//! record is in place, and a reader that read the old record re-reads it.
//! Checked with threads of one process and with separate processes.

// Test code: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use functionfuse::ndarray::Array1;
use functionfuse::{Error, Storage, StorageConfig, storage_factory};

const WF: &str = "race";
const TASK: &str = "shared";
/// Elements per array: large enough that reading takes a while.
const LEN: usize = 20_000;

fn open(root: &Path) -> Storage {
    storage_factory(&StorageConfig::new(
        "file",
        serde_json::json!({ "path": root }),
    ))
    .unwrap()
}

/// The value of generation `generation` of writer `writer`: every element
/// the same, so a mix of two saves would show.
fn value(writer: u32, generation: u32) -> Array1<f64> {
    Array1::from_elem(LEN, f64::from(writer * 100_000 + generation))
}

/// Reads the task once; `Ok(false)` before the first save.
fn read_once(storage: &Storage) -> Result<bool, String> {
    match storage.read_task::<Array1<f64>>(WF, TASK) {
        Ok(array) => {
            let first = array[0];
            if array.len() != LEN || array.iter().any(|x| x.to_bits() != first.to_bits()) {
                return Err(format!("a torn array: {} elements", array.len()));
            }
            Ok(true)
        }
        Err(Error::NotFound { .. }) => Ok(false),
        Err(error) => Err(error.to_string()),
    }
}

#[test]
fn a_thread_reading_while_another_overwrites_never_fails() {
    let folder = tempfile::tempdir().unwrap();
    let storage = open(folder.path());
    storage.save(WF, TASK, &value(0, 0)).unwrap();
    let done = AtomicBool::new(false);
    let (reads, errors) = std::thread::scope(|scope| {
        scope.spawn(|| {
            for generation in 1..=300 {
                storage.save(WF, TASK, &value(0, generation)).unwrap();
            }
            done.store(true, Ordering::Release);
        });
        let reader = scope.spawn(|| {
            let (mut reads, mut errors) = (0, Vec::new());
            while !done.load(Ordering::Acquire) {
                reads += 1;
                if let Err(error) = read_once(&storage) {
                    errors.push(error);
                }
            }
            (reads, errors)
        });
        reader.join().unwrap()
    });
    assert!(
        errors.is_empty(),
        "{} of {reads} reads failed: {:?}",
        errors.len(),
        &errors[..errors.len().min(3)]
    );
    assert!(reads > 10, "only {reads} reads raced the writer");
    assert_eq!(
        storage.read_task::<Array1<f64>>(WF, TASK).unwrap(),
        value(0, 300)
    );
    let bigdata = std::fs::read_dir(folder.path().join(WF).join("bigdata")).unwrap();
    assert_eq!(bigdata.count(), 1, "old arrays are removed");
}

#[test]
fn on_s3_a_reader_racing_overwrites_of_a_zarr_array_never_fails() {
    // 128 chunks an array: reading one spans many requests, so a save can
    // replace the record and delete the old chunks in between.
    const ELEMENTS: usize = 1 << 17;
    let (mut storage, _) = functionfuse_tests::s3_storage();
    storage.register_persistent_serializers(functionfuse::serializer_ndarray::serializers(
        &functionfuse::serializer_ndarray::NdarrayOptions {
            chunk: Some(vec![ELEMENTS / 128]),
            ..Default::default()
        },
    ));
    let generation = |g: u32| Array1::from_elem(ELEMENTS, f64::from(g));
    storage.save(WF, TASK, &generation(0)).unwrap();
    let faults = functionfuse_tests::s3_server().faults();
    // A bucket's turn time (this test binary has the server to itself).
    faults.set_latency(Duration::from_millis(2));
    let done = AtomicBool::new(false);
    let (reads, errors) = std::thread::scope(|scope| {
        scope.spawn(|| {
            for g in 1..=10 {
                storage.save(WF, TASK, &generation(g)).unwrap();
            }
            done.store(true, Ordering::Release);
        });
        let reader = scope.spawn(|| {
            let (mut reads, mut errors) = (0, Vec::new());
            while !done.load(Ordering::Acquire) {
                reads += 1;
                match storage.read_task::<Array1<f64>>(WF, TASK) {
                    Ok(array) if array.iter().all(|x| x.to_bits() == array[0].to_bits()) => {}
                    Ok(_) => errors.push("a torn array".to_owned()),
                    Err(error) => errors.push(error.to_string()),
                }
            }
            (reads, errors)
        });
        reader.join().unwrap()
    });
    faults.set_latency(Duration::ZERO);
    assert!(
        errors.is_empty(),
        "{} of {reads} reads failed: {:?}",
        errors.len(),
        &errors[..errors.len().min(3)]
    );
    assert!(reads > 5, "only {reads} reads raced the writer");
    assert_eq!(
        storage.read_task::<Array1<f64>>(WF, TASK).unwrap(),
        generation(10)
    );
}

/// Starts this test binary again as a writer or reader of the storage at `root`.
fn start(role: &str, id: u32, root: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "race_process",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("FFUSE_RACE_ROLE", role)
        .env("FFUSE_RACE_ID", id.to_string())
        .env("FFUSE_RACE_ROOT", root)
        // Its output (and its own `test result` line) only matters on failure.
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for a helper process; fails with its output when it failed.
fn finish(child: Child, role: &str) {
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "a {role} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn processes_reading_while_others_overwrite_never_fail() {
    let folder = tempfile::tempdir().unwrap();
    open(folder.path()).save(WF, TASK, &value(0, 0)).unwrap();
    let readers: Vec<Child> = (0..2)
        .map(|id| start("reader", id, folder.path()))
        .collect();
    let writers: Vec<Child> = (1..=2)
        .map(|id| start("writer", id, folder.path()))
        .collect();
    for writer in writers {
        finish(writer, "writer");
    }
    std::fs::write(folder.path().join("stop"), b"").unwrap();
    for reader in readers {
        finish(reader, "reader");
    }
    let last = open(folder.path())
        .read_task::<Array1<f64>>(WF, TASK)
        .unwrap();
    assert!(
        last == value(1, 150) || last == value(2, 150),
        "last writer wins"
    );
}

/// The body of the processes that the test above starts; does nothing when
/// run on its own.
#[test]
#[ignore = "a helper process of processes_reading_while_others_overwrite_never_fail"]
fn race_process() {
    let (Some(role), Some(id), Some(root)) = (
        std::env::var_os("FFUSE_RACE_ROLE"),
        std::env::var("FFUSE_RACE_ID").ok(),
        std::env::var_os("FFUSE_RACE_ROOT"),
    ) else {
        return;
    };
    let root = Path::new(&root);
    let storage = open(root);
    let id: u32 = id.parse().unwrap();
    if role == "writer" {
        for generation in 1..=150 {
            storage.save(WF, TASK, &value(id, generation)).unwrap();
        }
        return;
    }
    let deadline = Instant::now() + Duration::from_mins(2);
    let mut reads = 0;
    while !root.join("stop").exists() && Instant::now() < deadline {
        reads += 1;
        if let Err(error) = read_once(&storage) {
            panic!("read {reads} failed: {error}");
        }
    }
    println!("reader {id}: {reads} reads, no error");
}

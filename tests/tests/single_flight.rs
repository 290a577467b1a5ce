//! Single flight on a folder: processes that need the same missing result
//! compute it once between them; a holder killed mid-computation is
//! replaced by a waiter.

// Helpers of tests fail loudly: that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use functionfuse::{SingleFlight, Storage, StorageConfig, storage_factory};

const WF: &str = "flight";

fn options() -> SingleFlight {
    SingleFlight {
        lease: Duration::from_secs(2),
        max_wait: Duration::from_mins(1),
        poll: Duration::from_millis(20),
    }
}

fn open(folder: &Path) -> Storage {
    let mut storage = storage_factory(&StorageConfig::new(
        "file",
        serde_json::json!({ "path": folder }),
    ))
    .unwrap();
    storage.set_single_flight(Some(options()));
    storage
}

/// Appends a line to the side file that counts computations.
fn count_computation(path: &Path) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    writeln!(file, "{}", std::process::id()).unwrap();
}

fn computations(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |text| text.lines().count())
}

/// The body of the worker processes; does nothing on its own.
#[test]
#[ignore = "a helper process of the single-flight tests"]
fn single_flight_worker() {
    let (Ok(folder), Ok(counter), Ok(compute_ms)) = (
        std::env::var("FFUSE_FLIGHT_FOLDER"),
        std::env::var("FFUSE_FLIGHT_COUNTER"),
        std::env::var("FFUSE_FLIGHT_COMPUTE_MS"),
    ) else {
        return;
    };
    let storage = open(Path::new(&folder));
    let counter = PathBuf::from(counter);
    let compute_ms: u64 = compute_ms.parse().unwrap();
    let cached = storage
        .cached_with_origin(WF, "expensive", || {
            count_computation(&counter);
            std::thread::sleep(Duration::from_millis(compute_ms));
            vec![42_u64; 1000]
        })
        .unwrap();
    assert_eq!(cached.value, vec![42_u64; 1000]);
    println!("result {:?}", cached.origin);
}

fn start(folder: &Path, counter: &Path, compute_ms: u64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "single_flight_worker",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("FFUSE_FLIGHT_FOLDER", folder)
        .env("FFUSE_FLIGHT_COUNTER", counter)
        .env("FFUSE_FLIGHT_COMPUTE_MS", compute_ms.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> String {
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "a worker failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn eight_processes_compute_a_missing_result_once() {
    let folder = tempfile::tempdir().unwrap();
    let counter = folder.path().join("computations");
    let workers: Vec<Child> = (0..8)
        .map(|_| start(&folder.path().join("storage"), &counter, 400))
        .collect();
    let outputs: Vec<String> = workers.into_iter().map(finish).collect();
    assert_eq!(computations(&counter), 1, "{outputs:?}");
    let computed = outputs
        .iter()
        .filter(|o| o.contains("result Computed"))
        .count();
    let stored = outputs
        .iter()
        .filter(|o| o.contains("result Stored"))
        .count();
    assert_eq!((computed, stored), (1, 7), "{outputs:?}");
    // The lease leaves no task behind.
    let storage = open(&folder.path().join("storage"));
    assert_eq!(storage.list_tasks(WF, "*").unwrap(), ["expensive"]);
}

#[test]
fn a_killed_holder_is_replaced_by_a_waiter() {
    let folder = tempfile::tempdir().unwrap();
    let storage_folder = folder.path().join("storage");
    let counter = folder.path().join("computations");
    let mut holder = start(&storage_folder, &counter, 60_000);
    let deadline = Instant::now() + Duration::from_mins(1);
    while computations(&counter) == 0 {
        assert!(Instant::now() < deadline, "the holder never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    let waiters: Vec<Child> = (0..3)
        .map(|_| start(&storage_folder, &counter, 100))
        .collect();
    // Let them find the lease held, then kill the holder mid-computation.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        computations(&counter),
        1,
        "waiters computed while it was held"
    );
    holder.kill().unwrap();
    holder.wait().unwrap();
    let outputs: Vec<String> = waiters.into_iter().map(finish).collect();
    assert_eq!(computations(&counter), 2, "{outputs:?}");
    let computed = outputs
        .iter()
        .filter(|o| o.contains("result Computed"))
        .count();
    assert_eq!(computed, 1, "{outputs:?}");
}

#[test]
fn a_holder_that_panics_releases_the_lease() {
    let folder = tempfile::tempdir().unwrap();
    let storage = open(folder.path());
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        storage.cached(WF, "flaky", || -> u32 { panic!("the computation failed") })
    }));
    assert!(failed.is_err());
    // The next caller gets the lease at once and computes.
    let started = Instant::now();
    assert_eq!(storage.cached(WF, "flaky", || 7_u32).unwrap(), 7);
    assert!(started.elapsed() < Duration::from_secs(1));
}

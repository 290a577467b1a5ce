//! Single flight on a folder and on S3: processes that need the same
//! missing result compute it once between them; a holder killed
//! mid-computation is replaced by a waiter (at once on a folder, where the
//! kernel drops its lock; after the lease expires on S3).

// Helpers of tests fail loudly: that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use functionfuse::{SingleFlight, Storage, StorageConfig};
use functionfuse_tests::{open_json, s3_config};

const WF: &str = "flight";

fn options() -> SingleFlight {
    SingleFlight {
        lease: Duration::from_secs(2),
        max_wait: Duration::from_mins(1),
        poll: Duration::from_millis(20),
    }
}

/// The storage a config names, with single flight on.
fn open(config: &str) -> Storage {
    let mut storage = open_json(config);
    storage.set_single_flight(Some(options()));
    storage
}

/// A folder's and an S3 prefix's configs, as JSON, with a scratch folder.
fn configs() -> (Vec<(&'static str, String)>, tempfile::TempDir) {
    let folder = tempfile::tempdir().unwrap();
    let file = StorageConfig::new(
        "file",
        serde_json::json!({ "path": folder.path().join("storage") }),
    );
    let (s3, _) = s3_config();
    let configs = [("file", file), ("s3", s3)]
        .map(|(kind, config)| (kind, serde_json::to_string(&config).unwrap()));
    (configs.into(), folder)
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
    let (Ok(config), Ok(counter), Ok(compute_ms)) = (
        std::env::var("FFUSE_FLIGHT_CONFIG"),
        std::env::var("FFUSE_FLIGHT_COUNTER"),
        std::env::var("FFUSE_FLIGHT_COMPUTE_MS"),
    ) else {
        return;
    };
    let storage = open(&config);
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

fn start(config: &str, counter: &Path, compute_ms: u64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "single_flight_worker",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("FFUSE_FLIGHT_CONFIG", config)
        .env("FFUSE_FLIGHT_COUNTER", counter)
        .env("FFUSE_FLIGHT_COMPUTE_MS", compute_ms.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A worker that computes for a minute, once it has started computing.
fn start_holder(config: &str, counter: &Path) -> Child {
    let holder = start(config, counter, 60_000);
    let deadline = Instant::now() + Duration::from_mins(1);
    while computations(counter) == 0 {
        assert!(Instant::now() < deadline, "the holder never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    holder
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
    let (configs, folder) = configs();
    for (kind, config) in &configs {
        let counter = folder.path().join(format!("computations-{kind}"));
        let workers: Vec<Child> = (0..8).map(|_| start(config, &counter, 400)).collect();
        let outputs: Vec<String> = workers.into_iter().map(finish).collect();
        assert_eq!(computations(&counter), 1, "{kind}: {outputs:?}");
        let computed = outputs
            .iter()
            .filter(|o| o.contains("result Computed"))
            .count();
        let stored = outputs
            .iter()
            .filter(|o| o.contains("result Stored"))
            .count();
        assert_eq!((computed, stored), (1, 7), "{kind}: {outputs:?}");
        // The lease is no task, and is gone or free again.
        let storage = open(config);
        assert_eq!(
            storage.list_tasks(WF, "*").unwrap(),
            ["expensive"],
            "{kind}"
        );
        assert_eq!(storage.cached(WF, "other", || 5_u8).unwrap(), 5);
    }
}

#[test]
fn a_killed_holder_is_replaced_by_a_waiter() {
    let (configs, folder) = configs();
    for (kind, config) in &configs {
        let counter = folder.path().join(format!("computations-{kind}"));
        let mut holder = start_holder(config, &counter);
        let waiters: Vec<Child> = (0..3).map(|_| start(config, &counter, 100)).collect();
        // Let them find the lease held, then kill the holder mid-computation.
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(
            computations(&counter),
            1,
            "{kind}: waiters computed while it was held"
        );
        holder.kill().unwrap();
        holder.wait().unwrap();
        let outputs: Vec<String> = waiters.into_iter().map(finish).collect();
        assert_eq!(computations(&counter), 2, "{kind}: {outputs:?}");
        let computed = outputs
            .iter()
            .filter(|o| o.contains("result Computed"))
            .count();
        assert_eq!(computed, 1, "{kind}: {outputs:?}");
    }
}

#[test]
fn a_holder_that_panics_releases_the_lease() {
    let (configs, _folder) = configs();
    for (kind, config) in &configs {
        let storage = open(config);
        let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            storage.cached(WF, "flaky", || -> u32 { panic!("the computation failed") })
        }));
        assert!(failed.is_err(), "{kind}");
        // The lease is free: a caller that will not wait at all computes.
        let impatient = SingleFlight {
            max_wait: Duration::ZERO,
            ..options()
        };
        let cached = storage
            .cached_single_flight(WF, "flaky", &impatient, || 7_u32)
            .unwrap();
        assert_eq!(cached.value, 7, "{kind}");
    }
}

#[test]
fn a_waiter_gives_up_after_its_wait_naming_the_holder() {
    let (configs, folder) = configs();
    for (kind, config) in &configs {
        let counter = folder.path().join(format!("busy-{kind}"));
        let mut holder = start_holder(config, &counter);
        let storage = open(config);
        let short = SingleFlight {
            max_wait: Duration::from_millis(300),
            ..options()
        };
        let error = storage
            .cached_single_flight(WF, "expensive", &short, || vec![0_u64])
            .unwrap_err();
        holder.kill().unwrap();
        holder.wait().unwrap();
        assert!(
            matches!(&error, functionfuse::Error::Busy { holder, .. } if holder.contains(" pid ")),
            "{kind}: {error}"
        );
        assert!(
            error.to_string().contains("gave up after waiting"),
            "{error}"
        );
    }
}

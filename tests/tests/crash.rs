//! Crash safety: a process saving records and arrays in a loop is killed
//! with SIGKILL at random moments, on a folder (durable or not) and on S3
//! (with request latency, so that kills land mid-upload). After every kill:
//! each stored record reads back intact and equal to the value of its
//! generation, no save that returned is lost, `verify` finds nothing, and
//! `gc` removes exactly the leftovers.

// Helpers of tests fail loudly: that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use functionfuse::maintenance::{NoProgress, Severity};
use functionfuse::ndarray::Array1;
use functionfuse::{Storage, StorageConfig, storage_factory};
use functionfuse_s3_server::TEST_BUCKET;
use functionfuse_tests::{open_json, s3_server, unique, unreferenced};
use serde::{Deserialize, Serialize};

const WF: &str = "crash";
const TASKS: usize = 6;

/// A record task's value: derivable from its task and generation.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Item {
    task: usize,
    generation: u64,
    payload: Vec<u64>,
}

fn item(task: usize, generation: u64) -> Item {
    Item {
        task,
        generation,
        payload: (0..64).map(|i| generation * 1000 + i).collect(),
    }
}

/// An array task's value: element 0 is the generation.
fn array(task: usize, generation: u64, len: usize) -> Array1<f64> {
    Array1::from_shape_fn(len, |i| {
        if i == 0 {
            generation as f64
        } else {
            (task * 7 + i) as f64
        }
    })
}

/// Even tasks hold records, odd tasks arrays.
fn save(storage: &Storage, task: usize, generation: u64, len: usize) {
    let name = format!("t{task}");
    if task.is_multiple_of(2) {
        storage.save(WF, &name, &item(task, generation)).unwrap();
    } else {
        storage
            .save(WF, &name, &array(task, generation, len))
            .unwrap();
    }
}

/// Reads every stored task, checks it against its generation and returns
/// the generation per task.
fn stored_generations(storage: &Storage, len: usize) -> BTreeMap<usize, u64> {
    let mut generations = BTreeMap::new();
    for name in storage.list_tasks(WF, "*").unwrap() {
        let task: usize = name[1..].parse().unwrap();
        let generation = if task.is_multiple_of(2) {
            let value: Item = storage
                .read_task(WF, &name)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(value, item(task, value.generation), "{name} is torn");
            value.generation
        } else {
            let value: Array1<f64> = storage
                .read_task(WF, &name)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let generation = value[0] as u64;
            assert_eq!(value, array(task, generation, len), "{name} is torn");
            generation
        };
        generations.insert(task, generation);
    }
    generations
}

/// The body of the saving processes; does nothing when run on its own.
#[test]
#[ignore = "a helper process of the crash tests"]
fn saver_process() {
    let (Ok(config), Ok(first), Ok(len)) = (
        std::env::var("FFUSE_CRASH_CONFIG"),
        std::env::var("FFUSE_CRASH_FIRST"),
        std::env::var("FFUSE_CRASH_LEN"),
    ) else {
        return;
    };
    let mut storage = open_json(&config);
    if let Ok(chunk) = std::env::var("FFUSE_CRASH_CHUNK") {
        // Several zarr chunks per array: more moments to be killed between.
        let options = functionfuse::serializer_ndarray::NdarrayOptions {
            chunk: Some(vec![chunk.parse().unwrap()]),
            ..Default::default()
        };
        storage.register_persistent_serializers(functionfuse::serializer_ndarray::serializers(
            &options,
        ));
    }
    let first: u64 = first.parse().unwrap();
    let len: usize = len.parse().unwrap();
    let mut out = std::io::stdout().lock();
    for generation in first.. {
        let task = (generation % TASKS as u64) as usize;
        // Announced before, acknowledged after: the parent knows what returned.
        std::io::Write::write_all(&mut out, format!("begin {task} {generation}\n").as_bytes())
            .unwrap();
        std::io::Write::flush(&mut out).unwrap();
        save(&storage, task, generation, len);
        std::io::Write::write_all(&mut out, format!("done {task} {generation}\n").as_bytes())
            .unwrap();
        std::io::Write::flush(&mut out).unwrap();
    }
}

/// A small deterministic generator of kill delays (seeded from the clock
/// and printed, so a failing run can be told apart).
struct Delays(u64);

impl Delays {
    fn next(&mut self, max_ms: u64) -> Duration {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        Duration::from_millis((self.0 >> 33) % max_ms)
    }
}

/// After a kill: every stored task is intact and at least as new as its
/// last acknowledged save; `verify` finds nothing; `gc` removes exactly the
/// leftovers and nothing else.
fn check_after_kill(
    storage: &Storage,
    acknowledged: &BTreeMap<usize, u64>,
    round: u64,
    len: usize,
) {
    let stored = stored_generations(storage, len);
    for (task, generation) in acknowledged {
        let kept = stored.get(task).copied();
        assert!(
            kept.is_some_and(|k| k >= *generation),
            "round {round}: task t{task} was saved (generation {generation}) but holds {kept:?}"
        );
    }
    let report = storage.verify(&[WF.to_owned()], &NoProgress).unwrap();
    let errors: Vec<_> = report
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "round {round}: verify found {errors:?}");
    let expected = unreferenced(storage, WF);
    let found = storage
        .find_garbage(&[WF.to_owned()], Duration::ZERO)
        .unwrap();
    let paths: std::collections::BTreeSet<String> =
        found.garbage.iter().map(|g| g.path.clone()).collect();
    assert_eq!(paths, expected, "round {round}: gc disagrees");
    storage
        .collect_garbage(&[WF.to_owned()], Duration::ZERO, &NoProgress)
        .unwrap();
    assert!(
        unreferenced(storage, WF).is_empty(),
        "round {round}: gc left garbage"
    );
    assert_eq!(
        stored_generations(storage, len),
        stored,
        "round {round}: gc changed a result"
    );
}

/// Kills savers `kills` times and checks the storage after each kill.
fn survives_kills(
    config: &StorageConfig,
    kills: u64,
    len: usize,
    max_delay_ms: u64,
    chunk: Option<usize>,
) {
    let storage = storage_factory(config).unwrap();
    let json = serde_json::to_string(config).unwrap();
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("kill delays seeded with {seed}");
    let mut delays = Delays(seed);
    let mut acknowledged: BTreeMap<usize, u64> = BTreeMap::new();
    let mut mid_save = 0;
    let mut mid_array = 0;
    for round in 0..kills {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "saver_process",
                "--ignored",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("FFUSE_CRASH_CONFIG", &json)
            .env("FFUSE_CRASH_FIRST", (round * 1_000_000).to_string())
            .env("FFUSE_CRASH_LEN", len.to_string())
            .envs(chunk.map(|chunk| ("FFUSE_CRASH_CHUNK", chunk.to_string())))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        // Kill only once the saver is saving, at a random point after.
        let started = Instant::now();
        let mut last = loop {
            let line = lines.next().expect("the saver started").unwrap();
            if line.starts_with("begin") {
                break line;
            }
            assert!(
                started.elapsed() < Duration::from_mins(1),
                "the saver never began"
            );
        };
        std::thread::sleep(delays.next(max_delay_ms));
        child.kill().unwrap();
        child.wait().unwrap();
        for line in lines.map_while(Result::ok) {
            let mut words = line.split_whitespace();
            if let (Some("done"), Some(task), Some(generation)) =
                (words.next(), words.next(), words.next())
            {
                acknowledged.insert(task.parse().unwrap(), generation.parse().unwrap());
            }
            last = line;
        }
        if last.starts_with("begin") {
            mid_save += 1;
            let task: usize = last.split_whitespace().nth(1).unwrap().parse().unwrap();
            mid_array += usize::from(task % 2 == 1);
        }

        check_after_kill(&storage, &acknowledged, round, len);
    }
    println!(
        "{kills} kills: {mid_save} in the middle of a save ({mid_array} of an array); \
         {} tasks hold acknowledged saves",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() >= 3,
        "too few saves returned to check durability"
    );
    assert!(
        mid_save * 3 >= kills as usize,
        "only {mid_save} of {kills} kills hit a save in progress"
    );
    assert!(mid_array > 0, "no kill hit an array save");
}

#[test]
fn a_durable_folder_survives_kills() {
    let folder = tempfile::tempdir().unwrap();
    let config = StorageConfig::new(
        "file",
        serde_json::json!({"path": folder.path(), "durable": true}),
    );
    survives_kills(&config, 30, 200_000, 120, None);
}

#[test]
fn a_folder_survives_kills() {
    let folder = tempfile::tempdir().unwrap();
    let config = StorageConfig::new("file", serde_json::json!({"path": folder.path()}));
    survives_kills(&config, 15, 200_000, 60, None);
}

#[test]
fn s3_survives_kills_mid_upload() {
    let server = s3_server();
    let config = StorageConfig::new(
        "S3",
        serde_json::json!({
            "path": format!("{TEST_BUCKET}/crash-{}", unique()),
            "endpoint_url": server.endpoint(),
            "key": server.access_key(),
            "secret": server.secret_key(),
        }),
    );
    // Arrays of four zarr chunks, each request 2 ms slower: kills land
    // between chunks, between the chunks and the metadata, and between the
    // metadata and the record.
    server.faults().set_latency(Duration::from_millis(2));
    let outcome =
        std::panic::catch_unwind(|| survives_kills(&config, 30, 200_000, 500, Some(50_000)));
    server.faults().set_latency(Duration::ZERO);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

//! Many processes on one storage: 4 writers × 250 saves into overlapping
//! tasks (half of them arrays) while 2 readers read the same tasks, on a
//! folder and on S3. Readers never see an error other than not-found;
//! afterwards every record holds one of the values written under its name
//! (the last writer wins), and the big data left over is exactly what `gc`
//! reclaims.

// Helpers of tests fail loudly: that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use functionfuse::maintenance::NoProgress;
use functionfuse::ndarray::Array1;
use functionfuse::{Error, Storage, StorageConfig, storage_factory};
use functionfuse_s3_server::TEST_BUCKET;
use functionfuse_tests::{open_json, s3_server, unique, unreferenced};
use serde::{Deserialize, Serialize};

const WF: &str = "shared";
const TASKS: usize = 8;
const WRITERS: u64 = 4;
const SAVES: u64 = 250;

/// A record task's value, derivable from writer and generation.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Entry {
    writer: u64,
    generation: u64,
    data: Vec<u64>,
}

fn entry(writer: u64, generation: u64) -> Entry {
    Entry {
        writer,
        generation,
        data: (0..32)
            .map(|i| writer * 1_000_000 + generation * 100 + i)
            .collect(),
    }
}

/// An array task's value: elements 0 and 1 are writer and generation.
fn array(writer: u64, generation: u64) -> Array1<f64> {
    Array1::from_shape_fn(2_000, |i| match i {
        0 => writer as f64,
        1 => generation as f64,
        _ => (writer * 10_000 + generation + i as u64) as f64,
    })
}

/// Reads one task and checks it is a value some writer wrote under it.
fn read_checked(storage: &Storage, task: usize) -> Result<(), Error> {
    let name = format!("t{task}");
    if task.is_multiple_of(2) {
        let value: Entry = storage.read_task(WF, &name)?;
        assert_eq!(
            value,
            entry(value.writer, value.generation),
            "{name} is torn"
        );
    } else {
        let value: Array1<f64> = storage.read_task(WF, &name)?;
        let (writer, generation) = (value[0] as u64, value[1] as u64);
        assert_eq!(value, array(writer, generation), "{name} is torn");
    }
    Ok(())
}

/// The body of the writer and reader processes; does nothing on its own.
#[test]
#[ignore = "a helper process of the concurrency tests"]
fn worker_process() {
    let (Ok(config), Ok(role), Ok(id)) = (
        std::env::var("FFUSE_SHARED_CONFIG"),
        std::env::var("FFUSE_SHARED_ROLE"),
        std::env::var("FFUSE_SHARED_ID"),
    ) else {
        return;
    };
    let storage = open_json(&config);
    let id: u64 = id.parse().unwrap();
    if role == "writer" {
        for generation in 0..SAVES {
            // Each writer walks the tasks from its own offset: they overlap.
            let task = ((generation + id * 3) % TASKS as u64) as usize;
            let name = format!("t{task}");
            if task.is_multiple_of(2) {
                storage.save(WF, &name, &entry(id, generation)).unwrap();
            } else {
                storage.save(WF, &name, &array(id, generation)).unwrap();
            }
        }
        return;
    }
    let stop = std::path::PathBuf::from(std::env::var("FFUSE_SHARED_STOP").unwrap());
    let (mut reads, mut found) = (0, 0);
    while !stop.exists() {
        let task = reads % TASKS;
        reads += 1;
        match read_checked(&storage, task) {
            Ok(()) => found += 1,
            Err(Error::NotFound { .. }) => {}
            Err(error) => panic!("reader {id}, read {reads}: {error}"),
        }
    }
    println!("reader {id}: {reads} reads, {found} found, no error");
}

fn start(config: &str, role: &str, id: u64, stop: &std::path::Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "worker_process",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("FFUSE_SHARED_CONFIG", config)
        .env("FFUSE_SHARED_ROLE", role)
        .env("FFUSE_SHARED_ID", id.to_string())
        .env("FFUSE_SHARED_STOP", stop)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child, role: &str) -> String {
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "a {role} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn many_processes_share(config: &StorageConfig) {
    let storage = storage_factory(config).unwrap();
    let json = serde_json::to_string(config).unwrap();
    let stop_folder = tempfile::tempdir().unwrap();
    let stop = stop_folder.path().join("stop");
    let readers: Vec<Child> = (0..2).map(|id| start(&json, "reader", id, &stop)).collect();
    let writers: Vec<Child> = (0..WRITERS)
        .map(|id| start(&json, "writer", id, &stop))
        .collect();
    for writer in writers {
        finish(writer, "writer");
    }
    std::fs::write(&stop, b"").unwrap();
    for reader in readers {
        let said = finish(reader, "reader");
        assert!(said.contains("no error"), "{said}");
        let found: u64 = said
            .split(", ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(found > 10, "a reader raced too little: {said}");
    }
    for task in 0..TASKS {
        read_checked(&storage, task).unwrap();
    }
    let expected = unreferenced(&storage, WF);
    let report = storage
        .collect_garbage(&[WF.to_owned()], Duration::ZERO, &NoProgress)
        .unwrap();
    let removed: std::collections::BTreeSet<String> =
        report.garbage.iter().map(|g| g.path.clone()).collect();
    assert_eq!(
        removed, expected,
        "gc and the layout disagree on what is left over"
    );
    println!("{} leftovers of racing overwrites reclaimed", removed.len());
    assert!(unreferenced(&storage, WF).is_empty());
    for task in 0..TASKS {
        read_checked(&storage, task).unwrap();
    }
    assert!(storage.verify(&[], &NoProgress).unwrap().is_ok());
}

#[test]
fn processes_share_a_folder() {
    let folder = tempfile::tempdir().unwrap();
    many_processes_share(&StorageConfig::new(
        "file",
        serde_json::json!({"path": folder.path()}),
    ));
}

#[test]
fn processes_share_an_s3_prefix() {
    let server = s3_server();
    many_processes_share(&StorageConfig::new(
        "S3",
        serde_json::json!({
            "path": format!("{TEST_BUCKET}/shared-{}", unique()),
            "endpoint_url": server.endpoint(),
            "key": server.access_key(),
            "secret": server.secret_key(),
        }),
    ));
}

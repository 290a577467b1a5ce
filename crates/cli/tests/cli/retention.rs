//! `gc` with retention rules: a dry run lists the expired results and the
//! bytes freed and removes nothing; a real run removes them, leaves the
//! protected workflows whole, and bad rules are usage errors.

use std::path::Path;
use std::thread::sleep;
use std::time::Duration;

use functionfuse::Storage;
use functionfuse::ndarray::Array1;

use crate::common::{ffuse, open_folder, open_s3, run, run_json, s3_spec};

const WF: &str = "training";
const PROTECTED: &str = "production";

fn fill(storage: &Storage) {
    for step in 1..=3 {
        let weights = Array1::from_elem(1000, f64::from(step));
        storage
            .save(WF, &format!("checkpoint-{step}"), &weights)
            .unwrap();
        // Distinct save times on every backend clock.
        sleep(Duration::from_millis(40));
    }
    storage.save(WF, "model", &"final".to_owned()).unwrap();
    storage
        .save(PROTECTED, "checkpoint-1", &Array1::<f64>::zeros(10))
        .unwrap();
}

/// Bytes of a task's record and big data, as `ffuse ls --json` gives them.
fn size_of(spec: &str, workflow: &str, task: &str) -> u64 {
    let listing = run_json(&["-s", spec, "ls", workflow, task], 0);
    let info = &listing[0];
    info["record_bytes"].as_u64().unwrap() + info["bigdata_bytes"].as_u64().unwrap()
}

fn retention_by_count(spec: &str, storage: &Storage) {
    fill(storage);
    let rules = ["--keep-newest", "checkpoint-*=1", "--protect", "prod*"];
    let freed = size_of(spec, WF, "checkpoint-1") + size_of(spec, WF, "checkpoint-2");

    let mut args = vec!["-s", spec, "gc", "--dry-run"];
    args.extend(rules);
    let text = run(&args, 0);
    assert!(text.contains("keep newest 1 of checkpoint-*"), "{text}");
    assert!(text.contains("protected: production"), "{text}");
    assert!(text.contains("would remove 2 expired results"), "{text}");
    let dry = run_json(&args, 0);
    let retention = &dry["retention"];
    assert_eq!(retention["removed"], false);
    assert_eq!(retention["count"], 2);
    assert_eq!(retention["bytes"].as_u64(), Some(freed));
    let expired: Vec<&str> = retention["expired"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| result["task"].as_str().unwrap())
        .collect();
    assert_eq!(expired, ["checkpoint-1", "checkpoint-2"]);
    assert_eq!(retention["expired"][0]["expiry"]["rule"], "beyond_newest");
    assert_eq!(storage.list_tasks(WF, "*").unwrap().len(), 4);

    args.retain(|arg| *arg != "--dry-run");
    let done = run_json(&args, 0);
    assert_eq!(done["retention"]["removed"], true);
    assert_eq!(done["retention"]["bytes"].as_u64(), Some(freed));
    assert_eq!(
        storage.list_tasks(WF, "*").unwrap(),
        ["checkpoint-3", "model"]
    );
    assert_eq!(
        storage.list_tasks(PROTECTED, "*").unwrap(),
        ["checkpoint-1"]
    );
    let kept: Array1<f64> = storage.read_task(WF, "checkpoint-3").unwrap();
    assert_eq!(kept, Array1::from_elem(1000, 3.0));
    // Their arrays went with them: nothing is left for gc.
    let garbage = run_json(&["-s", spec, "gc", "--grace", "0s", "--dry-run"], 0);
    assert_eq!(garbage["count"], 0, "{garbage}");

    // A size cap of one byte leaves nothing outside the protection.
    run(
        &["-s", spec, "gc", "--max-size", "1B", "--protect", PROTECTED],
        0,
    );
    assert!(storage.list_tasks(WF, "*").unwrap().is_empty());
    assert_eq!(
        storage.list_tasks(PROTECTED, "*").unwrap(),
        ["checkpoint-1"]
    );
}

#[test]
fn gc_applies_retention_on_files() {
    let folder = tempfile::tempdir().unwrap();
    let spec = folder.path().to_str().unwrap();
    retention_by_count(spec, &open_folder(Path::new(spec)));
}

#[test]
fn gc_applies_retention_on_s3() {
    let spec = s3_spec();
    retention_by_count(&spec, &open_s3(&spec));
}

#[test]
fn bad_retention_rules_are_usage_errors() {
    let folder = tempfile::tempdir().unwrap();
    let spec = folder.path().to_str().unwrap();
    open_folder(folder.path()).save(WF, "x", &1_u8).unwrap();
    for (rule, value, says) in [
        ("--keep-newest", "checkpoint-*", "PATTERN=COUNT"),
        ("--keep-newest", "[=1", "PATTERN=COUNT"),
        ("--max-size", "lots", "write a size such as"),
        ("--older-than", "soon", "--older-than"),
        ("--protect", "[", "["),
    ] {
        let output = ffuse()
            .args(["-s", spec, "gc", rule, value])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{rule} {value}: {stderr}");
        assert!(stderr.contains(says), "{rule} {value}: {stderr}");
    }
    assert_eq!(
        open_folder(folder.path()).read_task::<u8>(WF, "x").unwrap(),
        1
    );
}

//! `verify` finds damaged records and missing arrays, on both backends.

use functionfuse::Storage;

use crate::common::{WF, fill, open_folder, open_s3, run, run_json, s3_spec};

/// The location of the array of `task` (its first persistent object).
fn array_of(spec: &str, task: &str) -> String {
    let detail = run_json(&["-s", spec, "show", WF, task], 0);
    detail["big_data"][0]["location"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Flips one byte in the middle of a record, through the backend.
fn corrupt_record(storage: &Storage, task: &str) {
    let mut bytes = storage.backend().get(WF, task).unwrap().unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    storage.backend().put(WF, task, &bytes).unwrap();
}

/// Checks what `verify` reports after `numbers` was corrupted and the
/// arrays of `matrix` (and of `summary`) damaged.
fn reports(spec: &str, matrix_problem: &str) {
    let report = run_json(&["-s", spec, "verify"], 1);
    let problems: Vec<(&str, &str, &str)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["workflow"].as_str().unwrap(),
                p["task"].as_str().unwrap(),
                p["severity"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        problems,
        [
            (WF, "matrix", "error"),
            (WF, "numbers", "error"),
            (WF, "summary", "error")
        ],
        "{report:#}"
    );
    let messages: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["message"].as_str().unwrap())
        .collect();
    assert!(messages[0].contains(matrix_problem), "{messages:?}");
    assert!(messages[1].contains("checksum"), "{messages:?}");
    assert_eq!(report["checked"], 5);

    let human = run(&["-s", spec, "verify", WF], 1);
    assert!(
        human.contains("error: experiment/numbers: corrupt record"),
        "{human}"
    );
    assert!(human.contains("in 1 workflow: found 3 problems"), "{human}");
    // The intact workflow alone passes.
    let other = run_json(&["-s", spec, "verify", "other"], 0);
    assert_eq!(other["problems"], serde_json::json!([]));
}

#[test]
fn verify_finds_a_corrupted_record_and_deleted_arrays_on_files() {
    let folder = tempfile::tempdir().unwrap();
    let storage = open_folder(folder.path());
    fill(&storage);
    let spec = folder.path().to_str().unwrap();
    let clean = run_json(&["-s", spec, "verify"], 0);
    assert_eq!(
        (clean["checked"].as_u64(), clean["objects"].as_u64()),
        (Some(5), Some(2))
    );

    corrupt_record(&storage, "numbers");
    let bigdata = folder.path().join(WF).join("bigdata");
    std::fs::remove_file(bigdata.join(array_of(spec, "matrix"))).unwrap();
    // An array replaced by another of a different shape.
    let means = array_of(spec, "summary");
    let matrix_file = bigdata.join("replacement.h5");
    storage
        .save("scratch", "m", &crate::common::matrix())
        .unwrap();
    let scratch = folder.path().join("scratch").join("bigdata");
    let scratch_file = std::fs::read_dir(&scratch)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::copy(&scratch_file, &matrix_file).unwrap();
    std::fs::rename(&matrix_file, bigdata.join(&means)).unwrap();
    storage.remove_workflow("scratch").unwrap();
    reports(spec, "missing");
    let report = run_json(&["-s", spec, "verify", WF], 1);
    let summary = &report["problems"][2]["message"];
    assert!(summary.as_str().unwrap().contains("shape"), "{summary}");
}

#[test]
fn verify_finds_a_corrupted_record_and_deleted_arrays_on_s3() {
    let spec = s3_spec();
    let storage = open_s3(&spec);
    fill(&storage);
    assert_eq!(run_json(&["-s", &spec, "verify"], 0)["objects"], 2);

    corrupt_record(&storage, "numbers");
    // One chunk of the matrix's zarr array, and all of the means array.
    let matrix = array_of(&spec, "matrix");
    let means = array_of(&spec, "summary");
    let paths: Vec<String> = storage
        .backend()
        .scan(WF)
        .unwrap()
        .into_iter()
        .map(|object| object.path)
        .filter(|path| {
            path == &format!("bigdata/{matrix}/c/0/0")
                || path.starts_with(&format!("bigdata/{means}/"))
        })
        .collect();
    assert!(paths.len() >= 2, "{paths:?}");
    storage.backend().delete_objects(WF, &paths).unwrap();
    reports(&spec, "c/0/0");
}

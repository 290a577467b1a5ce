//! `cp` between storages: file → S3 → file, with arrays re-stored.

use functionfuse::ndarray::Array2;

use crate::common::{WF, check_filled, fill, open_folder, open_s3, run, run_json, s3_spec};

#[test]
fn copies_file_to_s3_and_back() {
    let folder = tempfile::tempdir().unwrap();
    let source = open_folder(&folder.path().join("source"));
    fill(&source);
    let source_spec = folder.path().join("source");
    let source_spec = source_spec.to_str().unwrap();
    let s3 = s3_spec();

    let report = run_json(&["cp", source_spec, &s3], 0);
    assert_eq!(report["workflows"], 2);
    assert_eq!(report["copied"], 5);
    assert_eq!(report["objects"], 2);
    assert_eq!(report["problems"], serde_json::json!([]));
    let on_s3 = open_s3(&s3);
    check_filled(&on_s3);
    // Arrays became zarr arrays; records kept their creation time.
    let shown = run_json(&["-s", &s3, "show", WF, "matrix"], 0);
    assert_eq!(shown["big_data"][0]["protocol"], "s3 protocol");
    assert_eq!(shown["big_data"][0]["metadata"]["format"], "zarr");
    let original = run_json(&["-s", source_spec, "show", WF, "matrix"], 0);
    assert_eq!(shown["created_ns"], original["created_ns"]);
    assert_eq!(shown["type_name"], original["type_name"]);
    run(&["-s", &s3, "verify"], 0);

    // Back to a new folder: HDF5 files again.
    let back_spec = folder.path().join("back");
    let back_spec = back_spec.to_str().unwrap();
    let human = run(&["cp", &s3, back_spec, WF], 0);
    assert!(
        human.contains("copied 4 tasks with 2 persistent objects"),
        "{human}"
    );
    let back = open_folder(&folder.path().join("back"));
    assert_eq!(back.workflows().unwrap(), [WF]);
    assert_eq!(
        run_json(&["-s", back_spec, "show", WF, "matrix"], 0)["big_data"][0]["metadata"]["format"],
        "hdf5"
    );
    run(&["-s", back_spec, "verify"], 0);

    // Existing tasks are kept unless --overwrite.
    on_s3
        .save(WF, "matrix", &Array2::<f64>::zeros((2, 2)))
        .unwrap();
    let again = run_json(&["cp", &s3, back_spec, WF], 0);
    assert_eq!(
        (again["copied"].as_u64(), again["skipped"].as_u64()),
        (Some(0), Some(4))
    );
    assert_eq!(
        back.read_task::<Array2<f64>>(WF, "matrix").unwrap(),
        crate::common::matrix()
    );
    let replaced = run_json(&["cp", &s3, back_spec, WF, "--overwrite"], 0);
    assert_eq!(replaced["copied"], 4);
    assert_eq!(
        back.read_task::<Array2<f64>>(WF, "matrix").unwrap(),
        Array2::<f64>::zeros((2, 2))
    );
    // The replaced arrays went with the tasks they belonged to.
    let garbage = run_json(&["-s", back_spec, "gc", "--grace", "0s", "--dry-run"], 0);
    assert_eq!(garbage["count"], 0, "{garbage:#}");
}

#[test]
fn a_damaged_source_task_is_reported_and_the_rest_copied() {
    let folder = tempfile::tempdir().unwrap();
    let source = open_folder(&folder.path().join("source"));
    fill(&source);
    let record = folder.path().join("source").join(WF).join("numbers");
    let mut bytes = std::fs::read(&record).unwrap();
    bytes.truncate(bytes.len() - 3);
    std::fs::write(&record, bytes).unwrap();
    let destination = folder.path().join("copy");
    let report = run_json(
        &[
            "cp",
            folder.path().join("source").to_str().unwrap(),
            destination.to_str().unwrap(),
        ],
        1,
    );
    assert_eq!(report["copied"], 4);
    assert_eq!(report["problems"][0]["task"], "numbers");
    let message = report["problems"][0]["message"].as_str().unwrap();
    assert!(message.contains("corrupt record"), "{message}");
    let copy = open_folder(&destination);
    assert_eq!(
        copy.list_tasks(WF, "*").unwrap(),
        ["label", "matrix", "summary"]
    );
}

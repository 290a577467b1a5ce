//! `workflows`, `ls`, `show`, specs and errors.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::{WF, ffuse, fill, numbers, open_folder, open_s3, run, run_json, s3_spec};

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Checks `workflows`, `ls` and `show` against a filled storage named by `spec`.
fn lists_and_shows(spec: &str, format: &str) {
    let workflows = run_json(&["-s", spec, "workflows"], 0);
    let names: Vec<&str> = workflows
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["workflow"].as_str().unwrap())
        .collect();
    assert_eq!(names, [WF, "other"]);
    let experiment = &workflows[0];
    assert_eq!(experiment["tasks"], 4);
    assert!(
        experiment["bigdata_bytes"].as_u64().unwrap() > 30 * 40 * 8,
        "{experiment}"
    );
    assert!(experiment["last_modified_ns"].as_u64().unwrap() <= now_ns() + 2_000_000_000);

    let tasks = run_json(&["-s", spec, "ls", WF], 0);
    let tasks = tasks.as_array().unwrap();
    let names: Vec<&str> = tasks.iter().map(|t| t["task"].as_str().unwrap()).collect();
    assert_eq!(names, ["label", "matrix", "numbers", "summary"]);
    assert_eq!(tasks[1]["type_name"], "Array2<f64>");
    assert!(tasks[1]["bigdata_bytes"].as_u64().unwrap() >= 30 * 40 * 8);
    assert_eq!(tasks[2]["bigdata_bytes"], 0);
    assert_eq!(tasks[0]["type_name"], "str");
    let created = tasks[0]["created_ns"].as_u64().unwrap();
    assert!(created <= now_ns() && created + 600_000_000_000 > now_ns());
    let some = run_json(&["-s", spec, "ls", WF, "[mn]*"], 0);
    assert_eq!(some.as_array().unwrap().len(), 2);

    let table = run(&["-s", spec, "ls", WF], 0);
    assert!(
        table.contains("TASK") && table.contains("Array2<f64>"),
        "{table}"
    );

    let matrix = run_json(&["-s", spec, "show", WF, "matrix"], 0);
    assert_eq!(
        matrix["type_name"],
        std::any::type_name::<functionfuse::ndarray::Array2<f64>>()
    );
    let object = &matrix["big_data"][0];
    assert_eq!(object["serializer"], "ndarray");
    assert_eq!(object["metadata"]["dtype"], "float64");
    assert_eq!(object["metadata"]["shape"], serde_json::json!([30, 40]));
    assert_eq!(object["metadata"]["format"], format);
    assert!(object["bytes"].as_u64().unwrap() >= 30 * 40 * 8);
    assert_eq!(matrix["payload"]["$persistent"]["index"], 0);

    let summary = run_json(&["-s", spec, "show", WF, "summary"], 0);
    assert_eq!(summary["payload"]["label"], "column means");
    assert_eq!(
        summary["payload"]["means"]["$persistent"]["metadata"]["shape"],
        serde_json::json!([11])
    );

    let long = run_json(&["-s", spec, "show", WF, "numbers"], 0);
    let shown = long["payload"].as_array().unwrap();
    assert_eq!(shown.len(), 21);
    assert_eq!(shown[20], "… 80 more items");
    let all = run_json(&["-s", spec, "show", WF, "numbers", "--all"], 0);
    assert_eq!(all["payload"].as_array().unwrap().len(), 100);

    let human = run(&["-s", spec, "show", WF, "matrix"], 0);
    assert!(
        human.contains("Array2<f64>") && human.contains("float64") && human.contains("[30,40]"),
        "{human}"
    );

    let raw = ffuse()
        .args(["-s", spec, "show", WF, "numbers", "--raw"])
        .output()
        .unwrap();
    assert!(raw.status.success());
    let decoded: Vec<f64> = rmp_serde::from_slice(&raw.stdout).unwrap();
    assert_eq!(decoded, numbers());
}

#[test]
fn lists_and_shows_a_file_storage() {
    let folder = tempfile::tempdir().unwrap();
    fill(&open_folder(folder.path()));
    lists_and_shows(folder.path().to_str().unwrap(), "hdf5");
    // FFUSE_STORAGE and file:// name the same storage.
    let from_env = ffuse()
        .env(
            "FFUSE_STORAGE",
            format!("file://{}", folder.path().display()),
        )
        .args(["--json", "ls", "other"])
        .output()
        .unwrap();
    assert!(from_env.status.success());
    let tasks: serde_json::Value = serde_json::from_slice(&from_env.stdout).unwrap();
    assert_eq!(tasks[0]["task"], "answer");
    // Not on a terminal: no progress bars, nothing on stderr.
    let quiet = ffuse()
        .args(["-s", folder.path().to_str().unwrap(), "verify"])
        .output()
        .unwrap();
    assert!(quiet.status.success());
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "");
}

#[test]
fn lists_and_shows_an_s3_storage() {
    let spec = s3_spec();
    fill(&open_s3(&spec));
    lists_and_shows(&spec, "zarr");
}

#[test]
fn config_files_name_storages() {
    let folder = tempfile::tempdir().unwrap();
    let data = folder.path().join("results");
    fill(&open_folder(&data));
    let yaml = folder.path().join("storage.yaml");
    std::fs::write(
        &yaml,
        format!("kind: file\noptions:\n  path: {}\n", data.display()),
    )
    .unwrap();
    let tasks = run_json(&["-s", yaml.to_str().unwrap(), "ls", "other"], 0);
    assert_eq!(tasks[0]["task"], "answer");

    let unknown = folder.path().join("unknown.json");
    std::fs::write(&unknown, r#"{"kind": "gcs", "options": {}}"#).unwrap();
    let output = ffuse()
        .args(["-s", unknown.to_str().unwrap(), "workflows"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown storage kind") && stderr.contains("\"file\""),
        "{stderr}"
    );
}

#[test]
fn mistakes_are_clear_errors_with_exit_code_2() {
    let folder = tempfile::tempdir().unwrap();
    fill(&open_folder(folder.path()));
    let spec = folder.path().to_str().unwrap();
    let missing = folder.path().join("nothing-here");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["-s", missing.to_str().unwrap(), "workflows"],
            "no storage at",
        ),
        (vec!["-s", spec, "ls", "typo"], "no workflow `typo`"),
        (
            vec!["-s", spec, "show", WF, "nope"],
            "no result stored for task `nope`",
        ),
        (
            vec!["-s", spec, "show", WF, "../other"],
            "invalid task name",
        ),
        (
            vec!["-s", spec, "ls", WF, "[unclosed"],
            "invalid task pattern",
        ),
        (
            vec!["-s", "s3://b/p?max_attempts=many", "workflows"],
            "takes a number",
        ),
        (vec!["frobnicate"], "unrecognized subcommand"),
    ];
    for (args, expected) in cases {
        let output = ffuse().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn a_server_that_is_down_is_named() {
    // A port nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let spec = format!(
        "s3://bucket/p?endpoint_url=http://127.0.0.1:{port}&max_attempts=1&connect_timeout_s=1"
    );
    let output = ffuse().args(["-s", &spec, "workflows"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot reach") && stderr.contains(&port.to_string()),
        "{stderr}"
    );
}

#[test]
fn missing_credentials_are_named() {
    let output = ffuse()
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["-s", &s3_spec(), "workflows"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no AWS credentials were found"), "{stderr}");
    assert!(!stderr.contains("cannot reach"), "{stderr}");
}

#[test]
fn completions_are_generated() {
    let script = run(&["completions", "bash"], 0);
    assert!(
        script.contains("ffuse") && script.contains("rm-workflow"),
        "{}",
        &script[..200.min(script.len())]
    );
}

//! The facade links its plugins: the factory finds `"file"`, the ndarray
//! serializer is used with no call, and configs come from JSON, TOML, YAML.

// Test code: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use functionfuse::ndarray::Array2;
use functionfuse::{Error, StorageConfig, linked_kinds, storage_factory};
use functionfuse_tests::file_storage;

#[test]
fn the_facade_links_the_file_kind() {
    assert!(
        linked_kinds().contains(&"file".to_owned()),
        "{:?}",
        linked_kinds()
    );
    let (storage, _dir) = functionfuse_tests::file_storage();
    assert_eq!(storage.backend().kind(), "file");
    storage.save("wf", "t", &1_u8).unwrap();
    assert_eq!(storage.read_task::<u8>("wf", "t").unwrap(), 1);
}

#[test]
fn the_facade_links_the_ndarray_serializer() {
    let (storage, dir) = functionfuse_tests::file_storage();
    let array = Array2::from_shape_fn((20, 30), |(i, j)| (i * 30 + j) as f64);
    storage.save("wf", "array", &array).unwrap();
    let bigdata: Vec<_> = std::fs::read_dir(dir.path().join("wf/bigdata"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(bigdata.len(), 1);
    let extension = std::path::Path::new(&bigdata[0]).extension();
    assert_eq!(extension, Some("h5".as_ref()), "{bigdata:?}");
    assert!(
        std::fs::metadata(dir.path().join("wf/array"))
            .unwrap()
            .len()
            < 1024
    );
    assert_eq!(
        storage.read_task::<Array2<f64>>("wf", "array").unwrap(),
        array
    );
}

#[test]
fn kinds_match_without_regard_to_case() {
    let folder = tempfile::tempdir().unwrap();
    let config = StorageConfig::new("FILE", serde_json::json!({ "path": folder.path() }));
    assert_eq!(storage_factory(&config).unwrap().backend().kind(), "file");
}

#[test]
fn an_unknown_kind_lists_the_linked_kinds() {
    let config = StorageConfig::new("ftp", serde_json::json!({}));
    let error = storage_factory(&config).unwrap_err();
    match &error {
        Error::UnknownKind { kind, linked } => {
            assert_eq!(kind, "ftp");
            assert_eq!(linked, &["S3", "file"]);
        }
        other => panic!("expected an unknown kind, got {other}"),
    }
    assert!(
        error.to_string().contains(r#"linked kinds: "S3", "file""#),
        "{error}"
    );
}

#[test]
fn bad_options_are_invalid_options() {
    for options in [
        serde_json::json!({}),
        serde_json::json!({"path": ""}),
        serde_json::json!({"path": 5}),
        serde_json::json!({"path": "x", "durable": "yes"}),
        serde_json::json!({"path": "x", "typo": 1}),
    ] {
        let error = storage_factory(&StorageConfig::new("file", options.clone())).unwrap_err();
        assert!(
            matches!(error, Error::InvalidOptions { .. }),
            "{options}: {error}"
        );
    }
}

#[test]
fn configs_read_from_json_toml_and_yaml_alike() {
    let json = r#"{"kind": "file", "options": {"path": "storage", "durable": true}}"#;
    let toml_text = "kind = \"file\"\n[options]\npath = \"storage\"\ndurable = true\n";
    let yaml = "kind: file\noptions:\n  path: storage\n  durable: true\n";
    let from_json: StorageConfig = serde_json::from_str(json).unwrap();
    let from_toml: StorageConfig = toml::from_str(toml_text).unwrap();
    let from_yaml: StorageConfig = serde_yaml_ng::from_str(yaml).unwrap();
    assert_eq!(from_json, from_toml);
    assert_eq!(from_json, from_yaml);
    assert_eq!(from_json.kind, "file");
    assert_eq!(from_json.options["path"], "storage");
    let unknown: Result<StorageConfig, _> = serde_json::from_str(r#"{"kind": "file", "opts": {}}"#);
    assert!(unknown.is_err());
}

#[test]
fn paths_where_nothing_can_be_stored_are_refused_when_opening() {
    let folder = tempfile::tempdir().unwrap();
    let blocker = folder.path().join("a-file");
    std::fs::write(&blocker, b"not a folder").unwrap();
    let unusable = [
        serde_json::json!({ "path": blocker }),
        serde_json::json!({ "path": blocker.join("below") }),
        serde_json::json!({ "path": "/proc/functionfuse-storage" }),
        serde_json::json!({ "path": "storage\u{0}name" }),
    ];
    for options in unusable {
        let error = storage_factory(&StorageConfig::new("file", options.clone())).unwrap_err();
        assert!(
            matches!(error, Error::InvalidOptions { .. }),
            "{options}: {error}"
        );
        assert!(
            error.to_string().contains("cannot use") && error.to_string().contains("folder"),
            "{options}: {error}"
        );
    }
    assert_eq!(std::fs::read(&blocker).unwrap(), b"not a folder");

    let missing = folder.path().join("new/storage");
    storage_factory(&StorageConfig::new(
        "file",
        serde_json::json!({ "path": missing }),
    ))
    .unwrap();
    assert!(missing.is_dir(), "a missing folder is created when opened");
}

#[test]
fn storage_failures_are_backend_errors_for_records_and_big_data_alike() {
    let (storage, dir) = file_storage();
    // A file where the workflow folder belongs: records cannot be written.
    std::fs::write(dir.path().join("blocked"), b"x").unwrap();
    let error = storage.save("blocked", "t", &1).unwrap_err();
    assert!(matches!(error, Error::Backend { .. }), "{error}");
    // A file where the big-data folder belongs: arrays cannot be written.
    std::fs::create_dir(dir.path().join("wf")).unwrap();
    std::fs::write(dir.path().join("wf/bigdata"), b"x").unwrap();
    let error = storage
        .save("wf", "array", &functionfuse::ndarray::arr1(&[1.0_f64]))
        .unwrap_err();
    match &error {
        Error::Backend { backend, .. } => assert_eq!(backend, "file"),
        other => panic!("expected a backend error, got {other}"),
    }
    assert!(error.to_string().contains("big-data folder"), "{error}");
    assert!(!storage.file_exists("wf", "array").unwrap());
}

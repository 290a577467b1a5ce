//! The facade links its plugins: the factory finds `"file"`, the ndarray
//! serializer is used with no call, and configs come from JSON, TOML, YAML.

// Test code: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use functionfuse::ndarray::Array2;
use functionfuse::{Error, StorageConfig, linked_kinds, storage_factory};

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
            assert!(linked.contains(&"file".to_owned()));
        }
        other => panic!("expected an unknown kind, got {other}"),
    }
    assert!(
        error.to_string().contains(r#"linked kinds: "file""#),
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
fn a_storage_over_an_unusable_path_reports_a_backend_error() {
    let folder = tempfile::tempdir().unwrap();
    let blocker = folder.path().join("a-file");
    std::fs::write(&blocker, b"not a folder").unwrap();
    let config = StorageConfig::new("file", serde_json::json!({ "path": blocker }));
    let storage = storage_factory(&config).unwrap();
    let error = storage.save("wf", "t", &1).unwrap_err();
    assert!(matches!(error, Error::Backend { .. }), "{error}");
    assert!(error.to_string().contains("a-file"), "{error}");
    assert_eq!(std::fs::read(&blocker).unwrap(), b"not a folder");
}

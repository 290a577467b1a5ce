//! The S3 storage as users meet it: Function Fuse configs, large
//! workflows, async callers, and every failure the network brings, each
//! checked for its error and for the data left intact.

// Test code: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use functionfuse::ndarray::{Array1, Array2};
use functionfuse::{Error, StorageConfig, linked_kinds, storage_factory};
use functionfuse_s3_server::TEST_BUCKET;
use functionfuse_tests::{s3_config, s3_server, s3_storage, s3_storage_with, unique};

#[test]
fn the_facade_links_the_s3_kind_in_any_case() {
    assert!(
        linked_kinds().contains(&"S3".to_owned()),
        "{:?}",
        linked_kinds()
    );
    let (mut config, _) = s3_config();
    for kind in ["S3", "s3"] {
        config.kind = kind.to_owned();
        let storage = storage_factory(&config).unwrap();
        assert_eq!(storage.backend().kind(), "S3");
    }
    // `bucket/prefix` without the leading slash works too.
    let path = config.options["path"]
        .as_str()
        .unwrap()
        .trim_start_matches('/')
        .to_owned();
    config.options["path"] = path.into();
    let storage = storage_factory(&config).unwrap();
    storage.save("wf", "t", &1_u8).unwrap();
    assert_eq!(storage.read_task::<u8>("wf", "t").unwrap(), 1);
}

#[test]
fn records_and_arrays_land_where_the_layout_says() {
    let (storage, folder) = s3_storage();
    storage.save("wf", "numbers", &vec![1, 2, 3]).unwrap();
    storage.save("wf", "array", &Array2::<f64>::eye(3)).unwrap();
    assert!(folder.join("wf/numbers").is_file());
    assert!(folder.join("wf/array").is_file());
    let zarrs: Vec<_> = std::fs::read_dir(folder.join("wf/bigdata"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(zarrs.len(), 1);
    assert!(
        std::path::Path::new(&zarrs[0]).extension() == Some("zarr".as_ref()),
        "{zarrs:?}"
    );
    assert_eq!(storage.list_tasks("wf", "*").unwrap(), ["array", "numbers"]);
    assert_eq!(
        storage.read_task::<Array2<f64>>("wf", "array").unwrap(),
        Array2::<f64>::eye(3)
    );
}

#[test]
fn listing_pages_past_a_thousand_tasks_and_removal_batches() {
    let (storage, folder) = s3_storage();
    let tasks: Vec<String> = (0..1100).map(|i| format!("task-{i:04}")).collect();
    std::thread::scope(|scope| {
        for part in tasks.chunks(275) {
            let storage = &storage;
            scope.spawn(move || {
                for task in part {
                    storage.save("big", task, &task.len()).unwrap();
                }
            });
        }
    });
    storage
        .save("big", "array", &Array1::<f64>::zeros(10))
        .unwrap();
    let listed = storage.list_tasks("big", "*").unwrap();
    assert_eq!(listed.len(), 1101);
    assert_eq!(&listed[..2], ["array", "task-0000"]);
    assert_eq!(storage.list_tasks("big", "task-10??").unwrap().len(), 100);
    storage.remove_workflow("big").unwrap();
    assert!(storage.list_tasks("big", "*").unwrap().is_empty());
    assert!(big_data(&storage, "big").is_empty());
    let _ = folder;
}

#[test]
fn a_users_tokio_runtime_can_call_the_storage() {
    let (storage, _) = s3_storage();
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    current.block_on(async {
        storage
            .save(
                "wf",
                "from-current-thread",
                &Array1::from(vec![1.0_f64, 2.0]),
            )
            .unwrap();
        assert_eq!(
            storage
                .read_task::<Array1<f64>>("wf", "from-current-thread")
                .unwrap(),
            Array1::from(vec![1.0, 2.0])
        );
    });
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let storage = std::sync::Arc::new(storage);
    let on_worker = std::sync::Arc::clone(&storage);
    multi.block_on(async move {
        tokio::spawn(async move {
            on_worker
                .save("wf", "from-worker", &vec![7_u8; 100])
                .unwrap();
            on_worker.read_task::<Vec<u8>>("wf", "from-worker").unwrap()
        })
        .await
        .unwrap()
    });
    assert_eq!(
        storage.read_task::<Vec<u8>>("wf", "from-worker").unwrap(),
        vec![7_u8; 100]
    );
}

/// The big-data objects of a workflow, as S3 lists them (s3s-fs leaves
/// empty folders behind, which are no objects).
fn big_data(storage: &functionfuse::Storage, workflow: &str) -> Vec<String> {
    let protocols = storage.backend().protocols(workflow).unwrap();
    protocols
        .s3()
        .unwrap()
        .list_blocking("")
        .unwrap()
        .into_iter()
        .map(|(key, _)| key)
        .collect()
}

/// The error of opening `config`, and how long it took.
fn open_error(config: &StorageConfig) -> (String, Duration) {
    let start = Instant::now();
    let error = storage_factory(config).unwrap_err();
    assert!(matches!(error, Error::InvalidOptions { .. }), "{error}");
    (error.to_string(), start.elapsed())
}

#[test]
fn a_server_that_is_down_is_named_promptly() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let (mut config, _) = s3_config();
    config.options["s3fs"]["endpoint_url"] = endpoint.clone().into();
    let (message, took) = open_error(&config);
    assert!(message.contains(&endpoint), "{message}");
    assert!(message.contains("is the server running"), "{message}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[test]
fn wrong_credentials_and_missing_buckets_are_clear_errors() {
    let (mut config, _) = s3_config();
    config.options["s3fs"]["secret"] = "not-the-secret".into();
    let (message, _) = open_error(&config);
    assert!(
        message.contains("access denied") || message.contains("credentials"),
        "{message}"
    );

    let bucket = format!("missing-{}", unique())
        .to_lowercase()
        .replace('_', "-");
    let bucket = &bucket[..bucket.len().min(63)];
    let (mut config, _) = s3_config();
    config.options["path"] = format!("{bucket}/prefix").into();
    let (message, _) = open_error(&config);
    assert!(
        message.contains(bucket) && message.contains("create_bucket"),
        "{message}"
    );
    assert!(
        !s3_server().root().join(bucket).exists(),
        "not created unasked"
    );

    config.options["create_bucket"] = true.into();
    let storage = storage_factory(&config).unwrap();
    storage.save("wf", "t", &"made").unwrap();
    assert!(s3_server().root().join(bucket).is_dir());
}

#[test]
fn throttling_is_retried_with_backoff() {
    let (storage, _) = s3_storage();
    let faults = s3_server().faults();
    let before = faults.throttled();
    faults.throttle_next(2);
    storage.save("wf", "throttled", &vec![1.5_f64; 10]).unwrap();
    assert!(faults.throttled() >= before + 2);
    assert_eq!(
        storage.read_task::<Vec<f64>>("wf", "throttled").unwrap(),
        vec![1.5; 10]
    );
}

#[test]
fn a_connection_lost_mid_save_writes_no_record_and_leaves_no_big_data() {
    // Two attempts: every dropped request is retried once, then fails.
    let (storage, folder) = s3_storage_with(|options| options["max_attempts"] = 2.into());
    let faults = s3_server().faults();
    let array = Array1::from_shape_fn(1000, |i| i as f64);
    storage.save("lost", "kept", &array).unwrap();

    // Lost while the record goes up: the array went up first and is removed.
    let record_path = format!(
        "{}/lost/task",
        folder.strip_prefix(s3_server().root()).unwrap().display()
    );
    faults.drop_requests_to(Some(&record_path));
    let error = storage.save("lost", "task", &array);
    faults.drop_requests_to(None);
    let error = error.unwrap_err();
    assert!(matches!(error, Error::Backend { .. }), "{error}");
    assert!(!storage.file_exists("lost", "task").unwrap());

    // Lost while the array's chunks go up.
    faults.drop_requests_to(Some("/c/"));
    let error = storage.save("lost", "array", &array);
    faults.drop_requests_to(None);
    assert!(matches!(error.unwrap_err(), Error::Backend { .. }));
    assert!(!storage.file_exists("lost", "array").unwrap());

    // Only the array of the task that was saved remains, intact.
    let mut arrays: Vec<String> = big_data(&storage, "lost")
        .into_iter()
        .filter_map(|key| key.split_once('/').map(|(array, _)| array.to_owned()))
        .collect();
    arrays.dedup();
    assert_eq!(arrays.len(), 1, "{arrays:?}");
    assert_eq!(
        storage.read_task::<Array1<f64>>("lost", "kept").unwrap(),
        array
    );
    assert_eq!(storage.list_tasks("lost", "*").unwrap(), ["kept"]);
}

#[test]
fn unknown_options_are_named() {
    let (mut config, _) = s3_config();
    config.options["endpoint"] = "http://x".into();
    let error = storage_factory(&config).unwrap_err();
    assert!(
        error.to_string().contains("unknown field `endpoint`"),
        "{error}"
    );
    let _ = TEST_BUCKET;
}

#[test]
fn with_sdk_checksums_a_byte_changed_on_the_server_is_corrupt_too() {
    for sdk_checksums in [false, true] {
        let (storage, folder) =
            s3_storage_with(|options| options["sdk_checksums"] = sdk_checksums.into());
        let array = Array1::from_shape_fn(100, |i| i as f64);
        storage.save("wf", "array", &array).unwrap();
        let zarr = std::fs::read_dir(folder.join("wf/bigdata"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let chunk = zarr.join("c/0");
        let mut bytes = std::fs::read(&chunk).unwrap();
        bytes[10] ^= 0x04;
        std::fs::write(&chunk, bytes).unwrap();
        let error = storage.read_task::<Array1<f64>>("wf", "array").unwrap_err();
        assert!(
            matches!(error, Error::CorruptRecord { .. }),
            "sdk_checksums {sdk_checksums}: {error}"
        );
    }
}

//! Requests at the edges: how many the backend spends (counted by a server
//! of the test's own: a new task takes one, an overwrite three), and byte
//! ranges at and past the end of objects.

// Test code: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use functionfuse_core::{Storage, StorageBackend as _};
use functionfuse_s3_server::{S3Server, ServerOptions};
use functionfuse_storage_s3::{S3Backend, S3Options};

#[test]
fn a_new_task_takes_one_request_and_an_overwrite_three() {
    let folder = tempfile::tempdir().unwrap();
    let server = S3Server::start(ServerOptions::new(folder.path())).unwrap();
    server.create_bucket("counted").unwrap();
    let backend = S3Backend::open(S3Options {
        path: "counted/prefix".into(),
        endpoint_url: Some(server.endpoint()),
        key: Some(server.access_key().to_owned()),
        secret: Some(server.secret_key().to_owned()),
        ..S3Options::default()
    })
    .unwrap();
    let storage = Storage::new(Box::new(backend));
    let requests = || server.faults().requests();

    let before = requests();
    storage.save("wf", "task", &vec![1, 2, 3]).unwrap();
    assert_eq!(requests() - before, 1, "a new task");

    let before = requests();
    storage.save("wf", "task", &vec![4, 5]).unwrap();
    assert_eq!(requests() - before, 3, "an overwrite");
    assert_eq!(storage.read_task::<Vec<i32>>("wf", "task").unwrap(), [4, 5]);
}

#[test]
fn ranges_are_exact_and_empty_objects_have_an_empty_prefix() {
    let server = S3Server::shared().unwrap();
    let backend = S3Backend::open(S3Options {
        path: format!(
            "{}/ranges-{}",
            functionfuse_s3_server::TEST_BUCKET,
            std::process::id()
        ),
        endpoint_url: Some(server.endpoint()),
        key: Some(server.access_key().to_owned()),
        secret: Some(server.secret_key().to_owned()),
        ..S3Options::default()
    })
    .unwrap();
    backend.put("wf", "empty", &[]).unwrap();
    assert_eq!(
        backend.get_prefix("wf", "empty", 64).unwrap(),
        Some(Vec::new())
    );
    assert_eq!(backend.get_prefix("wf", "missing", 64).unwrap(), None);

    let protocols = backend.protocols("wf").unwrap();
    let s3 = protocols.s3().unwrap();
    s3.put_blocking("four", vec![0, 1, 2, 3]).unwrap();
    s3.put_blocking("none", Vec::new()).unwrap();
    let range = |key: &'static str, range: std::ops::Range<u64>| {
        let mut out = None;
        s3.block_on(Box::pin(async {
            out = Some(s3.get_range(key, range).await);
        }));
        out.unwrap()
    };
    assert_eq!(range("four", 1..3).unwrap(), Some(vec![1, 2]));
    assert!(range("four", 2..10).is_err(), "past the end");
    assert!(range("four", 4..6).is_err(), "starting at the end");
    assert!(range("none", 0..1).is_err(), "in an empty object");
    assert_eq!(range("gone", 0..1).unwrap(), None);
}

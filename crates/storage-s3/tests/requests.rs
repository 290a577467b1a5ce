//! How many requests the backend spends, counted by a server of the test's
//! own: a new task takes one, an overwrite three (the conditional PUT, the
//! old header, the PUT).

// Test code: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use functionfuse_core::Storage;
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

//! `cargo xtask s3` and the S3 half of the demo: an S3-protocol server
//! (s3s-fs, in this process) over a local folder.

use std::path::Path;

use anyhow::Result;
use functionfuse_s3_server::{S3Server, ServerOptions};

/// The bucket the xtask server creates.
pub(crate) const BUCKET: &str = "functionfuse";

/// Starts a server over `folder` on `port` (0: any) with [`BUCKET`].
pub(crate) fn start(folder: &Path, port: u16) -> Result<S3Server> {
    let mut options = ServerOptions::new(folder);
    options.port = port;
    let server = S3Server::start(options)?;
    server.create_bucket(BUCKET)?;
    Ok(server)
}

/// A Function Fuse config of a storage under `prefix` of the server's bucket.
pub(crate) fn config(server: &S3Server, prefix: &str) -> serde_json::Value {
    serde_json::json!({
        "kind": "S3",
        "options": {
            "path": format!("/{BUCKET}/{prefix}"),
            "s3fs": {
                "key": server.access_key(),
                "secret": server.secret_key(),
                "endpoint_url": server.endpoint(),
            },
        },
    })
}

/// Runs a server in the foreground until interrupted.
pub(crate) fn serve(folder: &Path, port: u16) -> Result<()> {
    let server = start(folder, port)?;
    println!("S3 server (s3s-fs) on {}", server.endpoint());
    println!(
        "  folder:     {} (bucket `{BUCKET}` is {}/{BUCKET})",
        folder.display(),
        folder.display()
    );
    println!("  access key: {}", server.access_key());
    println!("  secret key: {}", server.secret_key());
    println!("  a storage config for it:");
    println!(
        "{}",
        serde_json::to_string_pretty(&config(&server, "results"))?
    );
    println!(
        "  aws cli:    AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} aws --endpoint-url {} s3 ls s3://{BUCKET}/",
        server.access_key(),
        server.secret_key(),
        server.endpoint()
    );
    println!("press Ctrl-C to stop");
    loop {
        std::thread::park();
    }
}

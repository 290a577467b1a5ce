//! `cargo xtask`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! - `setup`: installs the system packages the build and tests need.
//! - `ci`: setup, then every check CI runs.
//! - `demo`: setup, then the example pipeline (`--s3`: against an S3 server).
//! - `s3`: an S3-protocol server in the foreground, for trying the S3 storage.
//! - `bench`: setup, then the workload benchmarks (release).
//! - `fuzz`: the fuzz targets under AFL++ (installs cargo-afl when missing).

mod cmd;
mod fuzz;
mod s3;
mod setup;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::cmd::{cargo, workspace_root};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Function Fuse for Rust: project automation"
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install the system packages the build needs (libhdf5, pkg-config, h5dump).
    Setup,
    /// Run every check of CI: format, lints, tests, interop with h5py/h5dump/zarr-python/boto3/msgpack, cargo-deny.
    Ci,
    /// Run the example pipeline three times: computed, read back from
    /// ./storage, then with one parameter changed.
    Demo {
        /// Storage folder (with --s3: the S3 server's folder).
        #[arg(long)]
        path: Option<String>,
        /// Run it against an S3 server (s3s-fs) started for the demo.
        #[arg(long)]
        s3: bool,
    },
    /// Run an S3-protocol server (s3s-fs) on 127.0.0.1 until Ctrl-C, printing
    /// its endpoint, keys and a storage config.
    S3 {
        /// The folder that holds the buckets.
        #[arg(long, default_value = "s3-data")]
        folder: String,
        /// The port.
        #[arg(long, default_value_t = 9000)]
        port: u16,
    },
    /// Fuzz the record decoder, the header decoder and the payload view
    /// under AFL++ (cargo-afl, installed when missing), keeping crashing
    /// inputs in fuzz/crashes/ and the minimised corpus in fuzz/corpus/.
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Targets to run (default: all of record, header, view).
        targets: Vec<String>,
    },
    /// Run the workload benchmarks and print one JSON object per workload.
    Bench {
        /// Extra arguments for the criterion harness (e.g. a filter like `w1`).
        args: Vec<String>,
    },
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("\nxtask: error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    std::env::set_current_dir(workspace_root())?;
    match cli.task {
        Task::Setup => setup::system_packages(),
        Task::Ci => ci(),
        Task::Demo { path, s3 } => demo(path, s3),
        Task::S3 { folder, port } => s3::serve(folder.as_ref(), port),
        Task::Fuzz { seconds, targets } => fuzz::run(seconds, &targets),
        Task::Bench { args } => {
            setup::system_packages()?;
            let mut command = vec![
                "bench",
                "-p",
                "functionfuse-tests",
                "--bench",
                "workloads",
                "--",
            ];
            command.extend(args.iter().map(String::as_str));
            cargo(&command)
        }
    }
}

/// The demo pipeline three times, on a folder or on an S3 server started
/// here: the third with another `--bins`.
fn demo(path: Option<String>, on_s3: bool) -> Result<()> {
    setup::system_packages()?;
    let server;
    let target = if on_s3 {
        let folder = path.unwrap_or_else(|| "storage-s3".to_owned());
        server = s3::start(folder.as_ref(), 0)?;
        println!(
            "S3 server (s3s-fs) on {}, bucket `{}` in {folder}/",
            server.endpoint(),
            s3::BUCKET
        );
        vec![
            "--config".to_owned(),
            s3::config(&server, "demo").to_string(),
        ]
    } else {
        vec![path.unwrap_or_else(|| "storage".to_owned())]
    };
    for (run, extra) in [
        ("first run", &[][..]),
        ("second run: everything is read", &[][..]),
        (
            "third run, --bins 20: only what depends on it is recomputed",
            &["--bins", "20"][..],
        ),
    ] {
        println!("\n=== {run} ===");
        let mut args = vec![
            "run",
            "--quiet",
            "-p",
            "functionfuse",
            "--example",
            "demo",
            "--",
        ];
        args.extend(target.iter().map(String::as_str));
        args.extend(extra);
        cargo(&args)?;
    }
    Ok(())
}

fn ci() -> Result<()> {
    setup::system_packages()?;
    let python = setup::python_env()?;
    setup::cargo_deny()?;
    cmd::step("format", || cargo(&["fmt", "--all", "--", "--check"]))?;
    cmd::step("clippy", || {
        cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ])
    })?;
    let mut counts = cmd::TestCounts::default();
    cmd::step("tests", || {
        cmd::cargo_test(&["test", "--workspace"], &[], &mut counts)
    })?;
    let interop = [
        "test",
        "-p",
        "functionfuse-tests",
        "--test",
        "interop",
        "--",
        "--ignored",
    ];
    cmd::step(
        "interop (h5py, h5dump, zarr-python, boto3, msgpack)",
        || {
            cmd::cargo_test(
                &interop,
                &[("FUNCTIONFUSE_PYTHON", python.as_os_str())],
                &mut counts,
            )
        },
    )?;
    cmd::step("docs", || {
        cmd::cargo_with_env(
            &["doc", "--workspace", "--no-deps", "--quiet"],
            &[("RUSTDOCFLAGS", "-D warnings".as_ref())],
        )
    })?;
    cmd::step("cargo deny", || {
        cargo(&[
            "deny",
            "--log-level",
            "error",
            "check",
            "bans",
            "licenses",
            "sources",
        ])
    })?;
    println!("\nci: every check passed");
    // The interop tests are counted once: ignored in the first run, passed in the second.
    println!("ci: {} passed, {} failed", counts.passed, counts.failed);
    Ok(())
}

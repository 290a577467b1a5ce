//! `ffuse`: inspect, verify, clean and copy Function Fuse storages from the
//! command line.
//!
//! Every command is a thin layer over the library's maintenance API
//! (`functionfuse::maintenance`): this crate parses arguments, opens
//! storages, asks for confirmation and prints.
//!
//! Exit codes: 0 success, 1 problems found (`verify`, a partial `cp`, a
//! `gc` that could not remove everything), 2 usage or access errors.

/// `println!` that returns an error instead of panicking when stdout is
/// closed (`ffuse ls | head`); for functions returning `anyhow::Result`.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

mod cli;
mod commands;
mod output;
mod progress;
mod spec;

use std::process::ExitCode;

use clap::Parser as _;

/// How a command ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Everything is as it should be.
    Clean,
    /// The command ran and found (or left) problems: exit code 1.
    Problems,
}

impl Outcome {
    /// `Clean` when `ok`, else `Problems`.
    fn clean_if(ok: bool) -> Self {
        if ok { Self::Clean } else { Self::Problems }
    }
}

/// Exit code for problems found.
const PROBLEMS: u8 = 1;
/// Exit code for usage and access errors (clap uses it for usage errors too).
const FAILURE: u8 = 2;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .format_timestamp(None)
        .format_target(false)
        .init();
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Problems) => ExitCode::from(PROBLEMS),
        // The reader of our output went away (`| head`): nothing to report.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ffuse: error: {}", message(&error));
            ExitCode::from(FAILURE)
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes, each said once: library errors repeat their
/// cause in their own message, and anyhow's `{:#}` would say it twice.
fn message(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

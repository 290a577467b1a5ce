//! `ffuse`: inspect, verify, clean and copy Function Fuse storages from the
//! command line.
//!
//! Every command is a thin layer over the library's maintenance API
//! (`functionfuse::maintenance`): this crate parses arguments, opens
//! storages, asks for confirmation and prints.
//!
//! Exit codes: 0 success, 1 problems found (`verify`, a partial `cp`, a
//! `gc` that could not remove everything), 2 usage or access errors.

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
        Err(error) => {
            eprintln!("ffuse: error: {error:#}");
            ExitCode::from(FAILURE)
        }
    }
}

//! The command line, as clap parses it.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use clap_complete::Shell;

/// Inspect, verify, clean and copy Function Fuse storages.
///
/// A storage is a folder, `file://PATH`, `s3://BUCKET/PREFIX?endpoint_url=…&region=…`
/// (credentials from the AWS chain: `AWS_ACCESS_KEY_ID` and
/// `AWS_SECRET_ACCESS_KEY`, a profile, …), or a JSON, TOML or YAML file
/// holding a storage config such as `{"kind": "file", "options": {"path": "storage"}}`.
///
/// Exit codes: 0 success, 1 problems found, 2 usage or access errors.
#[derive(Debug, Parser)]
#[command(name = "ffuse", version, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// The storage: a folder, `file://PATH`, `s3://BUCKET/PREFIX?OPTIONS` or a config file.
    #[arg(
        long,
        short = 's',
        global = true,
        env = "FFUSE_STORAGE",
        default_value = "storage"
    )]
    pub(crate) storage: String,
    /// Print machine-readable JSON on stdout instead of tables.
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List workflows with their task count, size and last change.
    Workflows,
    /// List the tasks of a workflow matching a glob, with sizes, creation time and type.
    Ls {
        /// The workflow.
        workflow: String,
        /// Glob over task names (`*`, `?`, `[abc]`).
        #[arg(default_value = "*")]
        pattern: String,
    },
    /// Say for each keyed task what it was computed from and why, and
    /// whether a run would recompute it because an upstream result changed.
    Explain {
        /// The workflow.
        workflow: String,
        /// Glob over task names.
        #[arg(default_value = "*")]
        pattern: String,
    },
    /// Show a task: its type, persistent objects and payload as JSON.
    Show {
        /// The workflow.
        workflow: String,
        /// The task.
        task: String,
        /// Write the payload's raw MessagePack bytes to stdout instead.
        #[arg(long, conflicts_with = "json")]
        raw: bool,
        /// Show every item of long arrays and maps instead of the first 20.
        #[arg(long)]
        all: bool,
    },
    /// Remove the tasks of a workflow matching a glob, with their big data.
    Rm {
        /// The workflow.
        workflow: String,
        /// Glob over task names.
        pattern: String,
        #[command(flatten)]
        confirm: Confirm,
    },
    /// Remove a whole workflow with all its results and big data.
    RmWorkflow {
        /// The workflow.
        workflow: String,
        #[command(flatten)]
        confirm: Confirm,
    },
    /// Check every record and the persistent objects it names (exit code 1 on problems).
    Verify {
        /// Workflows to check (default: all).
        workflows: Vec<String>,
    },
    /// Remove what no record references: orphaned big data, temporaries of
    /// interrupted writes, folders of interrupted removals, expired leases
    /// and stale access marks. With retention options, first remove the
    /// results they expire.
    ///
    /// Only garbage older than the grace period is touched: younger objects
    /// may belong to a save still in progress. The grace period must be
    /// longer than your longest save.
    ///
    /// Example: `ffuse gc --dry-run --older-than 30days --keep-newest 'checkpoint-*=3'
    /// --max-size 50GiB --protect 'production-*'`
    Gc {
        /// Workflows to clean (default: all, and the storage's own leftovers).
        workflows: Vec<String>,
        /// Report what would be removed and the bytes freed, remove nothing.
        #[arg(long)]
        dry_run: bool,
        /// Leave garbage alone that changed more recently than this (e.g. `30m`, `2h`, `0s`).
        #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
        grace: Duration,
        #[command(flatten)]
        retention: RetentionArgs,
    },
    /// Copy workflows from one storage to another (file → S3 and back);
    /// arrays are re-stored in the destination's format.
    Cp {
        /// The source storage.
        source: String,
        /// The destination storage (a folder is created when missing).
        destination: String,
        /// Workflows to copy (default: all).
        workflows: Vec<String>,
        /// Replace tasks the destination already holds (default: keep them).
        #[arg(long)]
        overwrite: bool,
    },
    /// Print a shell completion script (e.g. `ffuse completions bash > ~/.local/share/bash-completion/completions/ffuse`).
    Completions {
        /// The shell.
        shell: Shell,
    },
}

/// Retention rules of `gc`: which results expire.
#[derive(Debug, Args)]
#[command(next_help_heading = "Retention (results removed by policy)")]
pub(crate) struct RetentionArgs {
    /// Remove results saved longer ago than this (e.g. `30days`, `12h`).
    #[arg(long, value_name = "AGE", value_parser = humantime::parse_duration)]
    pub(crate) older_than: Option<Duration>,
    /// Keep only the newest COUNT results of the tasks matching PATTERN,
    /// e.g. `'checkpoint-*=3'` (repeatable).
    #[arg(long, value_name = "PATTERN=COUNT")]
    pub(crate) keep_newest: Vec<functionfuse::maintenance::KeepNewest>,
    /// Cap each workflow's results at this size (e.g. `50GiB`, `500MB`):
    /// the least recently used go first.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(crate) max_size: Option<u64>,
    /// Never touch the workflows matching this glob, neither their results
    /// nor their garbage (repeatable).
    #[arg(long, value_name = "WORKFLOW")]
    pub(crate) protect: Vec<String>,
}

/// A size like `50GiB`, `500 MB` or `1024`.
fn parse_size(text: &str) -> Result<u64, String> {
    parse_size::parse_size(text)
        .map_err(|error| format!("{error}; write a size such as 50GiB, 500MB or 1024"))
}

/// How a removal is confirmed.
#[derive(Debug, Args)]
pub(crate) struct Confirm {
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
    /// Report what would be removed, remove nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}

//! Running commands and cargo, with clear failures.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};

/// The workspace root (the parent of this crate).
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Runs `command`, failing with its name when it fails.
pub(crate) fn run(command: &mut Command) -> Result<()> {
    let shown = format!("{command:?}");
    let status = command
        .status()
        .with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

/// Whether `program args` runs and succeeds (output hidden).
pub(crate) fn succeeds(program: impl AsRef<OsStr>, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn cargo_command(args: &[&str]) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.args(args);
    command
}

/// Runs cargo with `args`.
pub(crate) fn cargo(args: &[&str]) -> Result<()> {
    run(&mut cargo_command(args))
}

/// Runs cargo with `args` and extra environment variables.
pub(crate) fn cargo_with_env(args: &[&str], env: &[(&str, &OsStr)]) -> Result<()> {
    let mut command = cargo_command(args);
    command.envs(env.iter().copied());
    run(&mut command)
}

/// Test counts summed over cargo test's `test result:` lines.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct TestCounts {
    pub(crate) passed: u64,
    pub(crate) failed: u64,
}

impl TestCounts {
    fn add_line(&mut self, line: &str) {
        let Some(rest) = line.strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(number)) = (words.next(), words.next()) else {
                continue;
            };
            let number = number.parse::<u64>().unwrap_or(0);
            match label {
                "passed" => self.passed += number,
                "failed" => self.failed += number,
                _ => {}
            }
        }
    }
}

/// Runs `cargo test` with `args` and `env`, echoing its output and
/// counting the tests it reports.
pub(crate) fn cargo_test(
    args: &[&str],
    env: &[(&str, &OsStr)],
    counts: &mut TestCounts,
) -> Result<()> {
    let mut command = cargo_command(args);
    command.envs(env.iter().copied()).stdout(Stdio::piped());
    let shown = format!("{command:?}");
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {shown}"))?;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            println!("{line}");
            counts.add_line(&line);
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

/// Runs one named step of a pipeline and reports its time.
pub(crate) fn step(name: &str, body: impl FnOnce() -> Result<()>) -> Result<()> {
    println!("\n==> {name}");
    let start = Instant::now();
    body().with_context(|| format!("step `{name}` failed"))?;
    println!("==> {name}: ok ({:.1} s)", start.elapsed().as_secs_f64());
    Ok(())
}

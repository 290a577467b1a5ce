//! Running commands and cargo, with clear failures.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
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

/// Runs one named step of a pipeline and reports its time.
pub(crate) fn step(name: &str, body: impl FnOnce() -> Result<()>) -> Result<()> {
    println!("\n==> {name}");
    let start = Instant::now();
    body().with_context(|| format!("step `{name}` failed"))?;
    println!("==> {name}: ok ({:.1} s)", start.elapsed().as_secs_f64());
    Ok(())
}

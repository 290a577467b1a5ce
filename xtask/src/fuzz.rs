//! `cargo xtask fuzz`: the fuzz targets of `fuzz/` under AFL++.
//!
//! libFuzzer needs a nightly compiler; AFL++ through cargo-afl works on
//! stable. Each target runs for the given time from its corpus; inputs
//! that crash it are copied to `fuzz/crashes/<target>/` (replayed by
//! `fuzz/tests/replay.rs` in CI), and the inputs that reached new code
//! join the corpus.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::cmd::{self, cargo, cargo_with_env, succeeds};

/// The cargo-afl release matching the `afl` crate the fuzz crate uses.
const CARGO_AFL: &str = "0.18.2";

/// Where the instrumented build goes: apart from `target/debug`, whose
/// cache AFL's compiler flags would otherwise invalidate.
const BUILD_DIR: &str = "target/afl";

/// Runs `targets` (all when empty) for `seconds` each.
pub(crate) fn run(seconds: u64, targets: &[String]) -> Result<()> {
    let all = ["record", "header", "view"];
    let targets: Vec<&str> = if targets.is_empty() {
        all.to_vec()
    } else {
        targets.iter().map(String::as_str).collect()
    };
    for target in &targets {
        if !all.contains(target) {
            bail!("unknown fuzz target `{target}`; the targets are {all:?}");
        }
    }
    install()?;
    let build_dir = OsStr::new(BUILD_DIR);
    cargo_with_env(
        &[
            "afl",
            "build",
            "--release",
            "-p",
            "functionfuse-fuzz",
            "--features",
            "afl",
            "--bins",
        ],
        &[("CARGO_TARGET_DIR", build_dir)],
    )?;
    let mut found = 0;
    for target in targets {
        found += fuzz_one(target, seconds)?;
    }
    if found > 0 {
        bail!(
            "{found} crashing inputs saved under fuzz/crashes/: fix them, then keep them as tests"
        );
    }
    Ok(())
}

/// Installs cargo-afl and builds AFL++ when they are missing.
fn install() -> Result<()> {
    if !succeeds("cargo", &["afl", "--version"]) {
        println!("fuzz: installing cargo-afl {CARGO_AFL}");
        cargo(&["install", "cargo-afl", "--version", CARGO_AFL, "--locked"])?;
    }
    // Builds AFL++ once; says so (and fails) when it is there already.
    let output = Command::new("cargo")
        .args(["afl", "config", "--build"])
        .output()
        .context("cannot run `cargo afl config --build`")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() && !stderr.contains("already built") {
        bail!("`cargo afl config --build` failed:\n{stderr}");
    }
    Ok(())
}

/// Fuzzes one target; returns how many crashing inputs it found.
fn fuzz_one(target: &str, seconds: u64) -> Result<usize> {
    let binary = PathBuf::from(BUILD_DIR)
        .join("release")
        .join(format!("fuzz_{target}"));
    let corpus = PathBuf::from("fuzz/corpus").join(target);
    let output = PathBuf::from("target/fuzz").join(target);
    if output.exists() {
        fs::remove_dir_all(&output)
            .with_context(|| format!("cannot clear {}", output.display()))?;
    }
    fs::create_dir_all("target/fuzz")?;
    let log = PathBuf::from("target/fuzz").join(format!("{target}.log"));
    println!(
        "fuzz: {target} for {seconds} s (AFL++'s own output in {})",
        log.display()
    );
    cmd::run(
        Command::new("cargo")
            .args(["afl", "fuzz", "-V", &seconds.to_string(), "-i"])
            .arg(&corpus)
            .arg("-o")
            .arg(&output)
            .arg(&binary)
            .envs(afl_environment())
            .stdout(fs::File::create(&log)?),
    )?;
    let results = output.join("default");
    print_stats(&results.join("fuzzer_stats"));
    let crashes = keep_crashes(target, &results.join("crashes"))?;
    grow_corpus(&corpus, &results.join("queue"))?;
    Ok(crashes)
}

/// AFL++ settings for a container: no UI, no CPU frequency or core-dump checks.
fn afl_environment() -> [(&'static str, &'static str); 4] {
    [
        ("AFL_NO_UI", "1"),
        ("AFL_SKIP_CPUFREQ", "1"),
        ("AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES", "1"),
        ("AFL_NO_AFFINITY", "1"),
    ]
}

fn print_stats(stats: &Path) {
    let Ok(text) = fs::read_to_string(stats) else {
        return;
    };
    let wanted = [
        "execs_done",
        "execs_per_sec",
        "corpus_count",
        "edges_found",
        "saved_crashes",
        "saved_hangs",
    ];
    for line in text.lines() {
        if let Some((key, value)) = line.split_once(':')
            && wanted.contains(&key.trim())
        {
            println!("  {:<14} {}", key.trim(), value.trim());
        }
    }
}

/// Copies crashing inputs to `fuzz/crashes/<target>/`; returns how many.
fn keep_crashes(target: &str, crashes: &Path) -> Result<usize> {
    let keep = PathBuf::from("fuzz/crashes").join(target);
    fs::create_dir_all(&keep)?;
    let mut count = 0;
    for entry in fs::read_dir(crashes).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("id:") {
            continue;
        }
        let bytes = fs::read(entry.path())?;
        let kept = keep.join(format!("crash-{:08x}", crc32fast::hash(&bytes)));
        fs::write(&kept, bytes)?;
        println!("  crash: {}", kept.display());
        count += 1;
    }
    Ok(count)
}

/// Adds what the run's queue holds to the corpus, named by content hash so
/// that a rerun adds nothing twice. (The queue holds one input per new
/// coverage path AFL++ found: a minimised set already.)
fn grow_corpus(corpus: &Path, queue: &Path) -> Result<()> {
    let mut added = 0;
    for entry in fs::read_dir(queue).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("id:") || !entry.path().is_file() {
            continue;
        }
        let bytes = fs::read(entry.path())?;
        let kept = corpus.join(format!("{:08x}", crc32fast::hash(&bytes)));
        if !kept.exists() {
            fs::write(&kept, bytes)?;
            added += 1;
        }
    }
    let total = fs::read_dir(corpus)?.count();
    println!(
        "  corpus: {total} inputs in {} ({added} new)",
        corpus.display()
    );
    Ok(())
}

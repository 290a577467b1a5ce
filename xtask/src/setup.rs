//! Installing what the build and the tests need on a fresh machine.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Result, bail};

use crate::cmd::{cargo, run, succeeds, workspace_root};

/// A system package and how to tell it is present.
struct Package {
    apt: &'static str,
    purpose: &'static str,
    present: fn() -> bool,
}

const PACKAGES: &[Package] = &[
    Package {
        apt: "pkg-config",
        purpose: "finding libhdf5 at build time",
        present: || succeeds("pkg-config", &["--version"]),
    },
    Package {
        apt: "libhdf5-dev",
        purpose: "the HDF5 library the ndarray serializer links to",
        present: || succeeds("pkg-config", &["--exists", "hdf5"]),
    },
    Package {
        apt: "hdf5-tools",
        purpose: "h5dump, which the interop tests read our files with",
        present: || succeeds("h5dump", &["--version"]),
    },
];

/// Installs the missing system packages through apt-get (as root, or with
/// sudo); elsewhere says what to install.
pub(crate) fn system_packages() -> Result<()> {
    let missing: Vec<&Package> = PACKAGES.iter().filter(|p| !(p.present)()).collect();
    if missing.is_empty() {
        println!("setup: system packages present (pkg-config, libhdf5-dev, hdf5-tools)");
        return Ok(());
    }
    let names: Vec<&str> = missing.iter().map(|p| p.apt).collect();
    for package in &missing {
        println!("setup: missing {} ({})", package.apt, package.purpose);
    }
    apt_install(&names)?;
    if let Some(package) = PACKAGES.iter().find(|p| !(p.present)()) {
        bail!("{} is still missing after installing it", package.apt);
    }
    println!("setup: installed {}", names.join(" "));
    Ok(())
}

fn apt_install(names: &[&str]) -> Result<()> {
    if !succeeds("apt-get", &["--version"]) {
        bail!(
            "no apt-get here: install HDF5 1.10 or later with its headers, its tools (h5dump) \
             and pkg-config with your package manager (e.g. `brew install hdf5 pkg-config`, \
             `dnf install hdf5-devel hdf5 pkgconf`), then run this again"
        );
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0");
    let sudo: &[&str] = if root {
        &[]
    } else if succeeds("sudo", &["-n", "true"]) {
        &["sudo", "-n"]
    } else {
        bail!(
            "not root and no password-less sudo: run `sudo apt-get install -y {}` and try again",
            names.join(" ")
        );
    };
    let apt = |args: &[&str]| {
        let mut all: Vec<&str> = sudo.to_vec();
        all.push("apt-get");
        all.extend_from_slice(args);
        let mut command = Command::new(all[0]);
        command
            .args(&all[1..])
            .env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut command)
    };
    apt(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install.extend_from_slice(names);
    apt(&install)
}

/// A virtualenv in `target/python` with h5py, numpy, msgpack, crc32c, zarr 3
/// and boto3, for the
/// interop tests; returns its Python.
pub(crate) fn python_env() -> Result<PathBuf> {
    let venv = workspace_root().join("target/python");
    let python = venv.join("bin/python");
    let check = [
        "-c",
        "import boto3, crc32c, h5py, msgpack, numpy, zarr; assert zarr.__version__ >= '3'",
    ];
    if succeeds(&python, &check) {
        println!(
            "setup: Python interop environment present ({})",
            venv.display()
        );
        return Ok(python);
    }
    if !succeeds("python3", &["-m", "venv", "--help"]) {
        apt_install(&["python3-venv"])?;
    }
    run(Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv))?;
    run(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "h5py>=3.10",
        "msgpack>=1.0",
        "numpy>=1.26",
        "crc32c>=2.4",
        "zarr>=3.1",
        "boto3>=1.34",
    ]))?;
    if !succeeds(&python, &check) {
        bail!(
            "{} cannot import crc32c, h5py, msgpack and numpy",
            python.display()
        );
    }
    println!("setup: made Python interop environment {}", venv.display());
    Ok(python)
}

/// Installs cargo-deny when missing, at a version that builds with Rust 1.95.
pub(crate) fn cargo_deny() -> Result<()> {
    if succeeds("cargo", &["deny", "--version"]) {
        return Ok(());
    }
    println!("setup: installing cargo-deny");
    cargo(&["install", "cargo-deny", "--version", "0.20.2", "--locked"])
}

//! Atomic file writes: a hidden temporary sibling, then a rename.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// A temporary name unique within this process and distinct from every
/// valid task name (those never start with a dot).
fn temp_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        ".tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Writes `bytes` to `folder/name` atomically, creating `folder` when it is
/// missing. With `durable`, the file and the folder are synced first.
pub(crate) fn write_atomic(
    folder: &Path,
    name: &str,
    bytes: &[u8],
    durable: bool,
) -> io::Result<()> {
    let temp = folder.join(temp_name());
    let mut file = match File::create(&temp) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            // First record of the workflow: trying first keeps the common
            // case at one system call.
            create_folder(folder, durable)?;
            File::create(&temp)?
        }
        Err(error) => return Err(error),
    };
    let written = file
        .write_all(bytes)
        .and_then(|()| if durable { file.sync_all() } else { Ok(()) })
        .and_then(|()| {
            drop(file);
            fs::rename(&temp, folder.join(name))
        });
    if let Err(error) = written {
        let _ = fs::remove_file(&temp);
        return Err(error);
    }
    if durable {
        File::open(folder)?.sync_all()?;
    }
    Ok(())
}

/// Creates `folder` and its missing parents; with `durable`, syncs the new
/// folders' entries so they survive a power cut (the storage root and the
/// workflow folder are at most two levels up).
pub(crate) fn create_folder(folder: &Path, durable: bool) -> io::Result<()> {
    fs::create_dir_all(folder)?;
    if durable {
        for dir in folder.ancestors().take(3) {
            if dir.as_os_str().is_empty() {
                break;
            }
            File::open(dir)?.sync_all()?;
        }
    }
    Ok(())
}

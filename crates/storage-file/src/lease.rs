//! Single-flight leases on a folder: one lock file per task in the
//! workflow's `.leases/` folder, locked with `flock` (std's `File::try_lock`)
//! by the process computing the task. The kernel releases the lock when that
//! process exits, however it exits, so a dead holder is replaced at once.
//!
//! Lock files stay when released. `gc` removes old ones that nobody holds,
//! locking each before unlinking it; a process that opened the file just
//! before then holds a lock on a file that is gone, so after locking it
//! checks that the path still names its file, and opens it anew if not.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use functionfuse_core::names::LEASES_DIR;
use functionfuse_core::{Lease, LeaseAttempt};

/// Times a lock file may vanish under one attempt before it gives up.
const MAX_REOPENS: usize = 8;

/// Tries to lock the lease file of `task` in `workflow_dir`.
pub(crate) fn try_lease(
    workflow_dir: &Path,
    task: &str,
    holder: &str,
) -> anyhow::Result<LeaseAttempt> {
    let folder = workflow_dir.join(LEASES_DIR);
    crate::write::create_folder(&folder, false)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let path = folder.join(task);
    for _ in 0..MAX_REOPENS {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {
                if !names_file(&path, &file)? {
                    continue; // `gc` removed it meanwhile; dropping unlocks
                }
                // Who holds it, for the messages of those who wait.
                file.set_len(0)
                    .and_then(|()| file.write_all(holder.as_bytes()))
                    .with_context(|| format!("cannot write lock file {}", path.display()))?;
                return Ok(LeaseAttempt::Acquired(Box::new(FileLease { file, path })));
            }
            Err(TryLockError::WouldBlock) => {
                return Ok(LeaseAttempt::Held {
                    holder: holder_of(&file, &path)?,
                });
            }
            Err(TryLockError::Error(error)) => {
                return Err(error).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
    }
    anyhow::bail!(
        "lock file {} was removed {MAX_REOPENS} times while it was being locked; \
         is a `gc` with a grace period of zero running in a loop?",
        path.display()
    )
}

/// What the lock file says of its holder.
fn holder_of(mut file: &File, path: &Path) -> io::Result<String> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0))?;
    // The holder may be rewriting it: a partial text is still a hint.
    let _ = file.take(1024).read_to_string(&mut text);
    Ok(if text.trim().is_empty() {
        format!("the holder of {}", path.display())
    } else {
        text.trim().to_owned()
    })
}

/// Whether `path` still names the open `file`.
fn names_file(path: &Path, file: &File) -> anyhow::Result<bool> {
    let opened = same_file::Handle::from_file(file.try_clone()?)?;
    match same_file::Handle::from_path(path) {
        Ok(current) => Ok(current == opened),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error).with_context(|| format!("cannot inspect {}", path.display())),
    }
}

/// Removes the lock file at `path` unless a process holds it. It is
/// locked first, so no holder can appear between the check and the unlink.
pub(crate) fn remove_unheld(path: &Path) -> anyhow::Result<()> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot open {}", path.display()));
        }
    };
    match file.try_lock() {
        Ok(()) => match fs::remove_file(path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                Err(error).with_context(|| format!("cannot remove {}", path.display()))
            }
            _ => Ok(()),
        },
        // In use: a computation holds it, and it stays.
        Err(TryLockError::WouldBlock) => Ok(()),
        Err(TryLockError::Error(error)) => {
            Err(error).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// A locked lease file.
struct FileLease {
    file: File,
    path: PathBuf,
}

impl Lease for FileLease {
    fn renew_every(&self) -> Option<Duration> {
        None
    }

    fn renew(&self) -> anyhow::Result<()> {
        Ok(())
    }

    fn release(self: Box<Self>) -> anyhow::Result<()> {
        self.file.set_len(0)?;
        self.file
            .unlock()
            .with_context(|| format!("cannot unlock {}", self.path.display()))
    }
}

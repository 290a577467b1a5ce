//! Single-flight leases on a folder: one lock file per task in the
//! workflow's `.leases/` folder, locked with `flock` (std's `File::try_lock`)
//! by the process computing the task. The kernel releases the lock when that
//! process exits, however it exits, so a dead holder is replaced at once.
//! Lock files are left in place when released: removing one while another
//! process waits on it could let two processes lock two different files.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use functionfuse_core::{Lease, LeaseAttempt};

/// The folder of a workflow's lock files: hidden from listings (task names
/// never start with a dot), ignored by `verify`, `gc` and `cp`.
pub(crate) const LEASES_DIR: &str = ".leases";

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
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {
            // Who holds it, for the messages of those who wait.
            file.set_len(0)?;
            file.write_all(holder.as_bytes())?;
            Ok(LeaseAttempt::Acquired(Box::new(FileLease { file, path })))
        }
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            file.seek(SeekFrom::Start(0))?;
            // The holder may be rewriting it: a partial text is still a hint.
            let _ = (&file).take(1024).read_to_string(&mut text);
            let holder = if text.trim().is_empty() {
                format!("the holder of {}", path.display())
            } else {
                text.trim().to_owned()
            };
            Ok(LeaseAttempt::Held { holder })
        }
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

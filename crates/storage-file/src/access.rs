//! Access marks on a folder: `<workflow>/.access/<task>`, an empty file
//! whose modification time is when the task was last read.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::Path;
use std::time::SystemTime;

use anyhow::Context as _;
use functionfuse_core::names::ACCESS_DIR;

/// Sets the access mark of `task` in `workflow_dir` to now. A workflow
/// folder that is gone (removed since the read) is not made again.
pub(crate) fn mark(workflow_dir: &Path, task: &str) -> anyhow::Result<()> {
    let folder = workflow_dir.join(ACCESS_DIR);
    match fs::create_dir(&folder) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) if error.kind() != io::ErrorKind::AlreadyExists => {
            return Err(error).with_context(|| format!("cannot create {}", folder.display()));
        }
        _ => {}
    }
    let path = folder.join(task);
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    // Opening an existing empty file need not change its time; say it.
    file.set_modified(SystemTime::now())
        .with_context(|| format!("cannot set the time of {}", path.display()))
}

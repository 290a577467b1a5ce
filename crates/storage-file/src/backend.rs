//! [`FileBackend`]: records as files under a root folder.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;
use functionfuse_core::names::{BIGDATA_DIR, LEASES_DIR, validate_task, validate_workflow};
use functionfuse_core::{
    Protocols, RecordTooLarge, StorageBackend, StoredObject, check_object_path,
};
use serde::Deserialize;

use crate::KIND;
use crate::bigdata::FileBigData;
use crate::write::{create_folder, write_atomic};

/// Options of the `"file"` kind.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileOptions {
    /// The storage folder; created when needed.
    pub path: PathBuf,
    /// `fsync` each record and its folder before a save returns.
    #[serde(default)]
    pub durable: bool,
}

/// A storage backend over a local folder.
#[derive(Debug, Clone)]
pub struct FileBackend {
    root: PathBuf,
    durable: bool,
}

impl FileBackend {
    /// A backend over `root`, not durable.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            durable: false,
        }
    }

    /// A backend from its options.
    pub fn from_options(options: FileOptions) -> Self {
        Self {
            root: options.path,
            durable: options.durable,
        }
    }

    /// Sets whether saves `fsync` before returning.
    #[must_use]
    pub fn durable(mut self, durable: bool) -> Self {
        self.durable = durable;
        self
    }

    /// The storage folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of a workflow; the name is checked again here because the
    /// backend can be called directly.
    fn workflow_dir(&self, workflow: &str) -> anyhow::Result<PathBuf> {
        validate_workflow(workflow)?;
        Ok(self.root.join(workflow))
    }

    fn record_path(&self, workflow: &str, task: &str) -> anyhow::Result<PathBuf> {
        validate_task(task)?;
        Ok(self.workflow_dir(workflow)?.join(task))
    }

    /// The record's file, opened for reading, and its path; `None` when
    /// there is no record.
    fn open_record(
        &self,
        workflow: &str,
        task: &str,
    ) -> anyhow::Result<Option<(fs::File, PathBuf)>> {
        let path = self.record_path(workflow, task)?;
        match fs::File::open(&path) {
            Ok(file) => Ok(Some((file, path))),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => {
                Err(error).with_context(|| format!("cannot open record {}", path.display()))
            }
        }
    }
}

/// Builds a backend from config options (the registered constructor).
pub(crate) fn open(options: &serde_json::Value) -> anyhow::Result<Box<dyn StorageBackend>> {
    let options = FileOptions::deserialize(options)
        .context(r#"expected {"path": "<folder>", "durable": false}"#)?;
    if options.path.as_os_str().is_empty() {
        anyhow::bail!("option `path` must not be empty");
    }
    // Fail now rather than look empty forever: a path that is a file, or
    // where no folder can be made, could never hold a result.
    create_folder(&options.path, options.durable).with_context(|| {
        format!(
            "cannot use {} as a storage folder: it must be a folder, or a path where one can be created",
            options.path.display()
        )
    })?;
    Ok(Box::new(FileBackend::from_options(options)))
}

/// Names of the plain files in `folder` that are not hidden; none when the
/// folder is missing.
pub(crate) fn list_files(folder: &Path) -> anyhow::Result<Vec<String>> {
    Ok(crate::scan::entries(folder)?
        .into_iter()
        .filter(|entry| entry.is_file && !entry.name.starts_with('.'))
        .map(|entry| entry.name)
        .collect())
}

impl StorageBackend for FileBackend {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn new_workflow(&self, workflow: &str) -> anyhow::Result<()> {
        let dir = self.workflow_dir(workflow)?;
        create_folder(&dir, self.durable)
            .with_context(|| format!("cannot create {}", dir.display()))
    }

    fn put(&self, workflow: &str, task: &str, record: &[u8]) -> anyhow::Result<()> {
        let dir = self.workflow_dir(workflow)?;
        validate_task(task)?;
        write_atomic(&dir, task, record, self.durable)
            .with_context(|| format!("cannot write record {}", dir.join(task).display()))
    }

    fn get(&self, workflow: &str, task: &str) -> anyhow::Result<Option<Vec<u8>>> {
        self.get_limited(workflow, task, u64::MAX)
    }

    fn get_limited(
        &self,
        workflow: &str,
        task: &str,
        limit: u64,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        let Some((mut file, path)) = self.open_record(workflow, task)? else {
            return Ok(None);
        };
        let size = file
            .metadata()
            .with_context(|| format!("cannot read record {}", path.display()))?
            .len();
        if size > limit {
            return Err(RecordTooLarge { size, limit }.into());
        }
        // One byte more than the limit tells a file that grew meanwhile.
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        (&mut file)
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read record {}", path.display()))?;
        if bytes.len() as u64 > limit {
            return Err(RecordTooLarge {
                size: bytes.len() as u64,
                limit,
            }
            .into());
        }
        Ok(Some(bytes))
    }

    fn get_prefix(
        &self,
        workflow: &str,
        task: &str,
        len: usize,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        let Some((file, path)) = self.open_record(workflow, task)? else {
            return Ok(None);
        };
        let mut prefix = Vec::with_capacity(len.min(64 * 1024));
        file.take(len as u64)
            .read_to_end(&mut prefix)
            .with_context(|| format!("cannot read record {}", path.display()))?;
        Ok(Some(prefix))
    }

    fn exists(&self, workflow: &str, task: &str) -> anyhow::Result<bool> {
        let path = self.record_path(workflow, task)?;
        match fs::metadata(&path) {
            Ok(metadata) => Ok(metadata.is_file()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(error).with_context(|| format!("cannot check {}", path.display())),
        }
    }

    fn try_lease(
        &self,
        workflow: &str,
        task: &str,
        holder: &str,
        _ttl: std::time::Duration,
    ) -> anyhow::Result<Option<functionfuse_core::LeaseAttempt>> {
        validate_task(task)?;
        let dir = self.workflow_dir(workflow)?;
        crate::lease::try_lease(&dir, task, holder).map(Some)
    }

    fn mark_access(&self, workflow: &str, task: &str) -> anyhow::Result<()> {
        validate_task(task)?;
        crate::access::mark(&self.workflow_dir(workflow)?, task)
    }

    fn list(&self, workflow: &str) -> anyhow::Result<Vec<String>> {
        let dir = self.workflow_dir(workflow)?;
        let mut names = list_files(&dir)?;
        // Files other tools put there, under names we would refuse, are not tasks.
        names.retain(|name| validate_task(name).is_ok());
        Ok(names)
    }

    fn delete(&self, workflow: &str, task: &str) -> anyhow::Result<bool> {
        let path = self.record_path(workflow, task)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(error).with_context(|| format!("cannot remove {}", path.display())),
        }
    }

    fn remove_workflow(&self, workflow: &str) -> anyhow::Result<()> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = self.workflow_dir(workflow)?;
        // Rename first so readers see the whole workflow vanish at once,
        // then delete at leisure.
        let doomed = self.root.join(format!(
            "{REMOVING_PREFIX}{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        match fs::rename(&dir, &doomed) {
            Ok(()) => fs::remove_dir_all(&doomed)
                .with_context(|| format!("cannot remove {}", doomed.display())),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(error).with_context(|| format!("cannot remove {}", dir.display())),
        }
    }

    fn protocols(&self, workflow: &str) -> anyhow::Result<Protocols> {
        let folder = self.workflow_dir(workflow)?.join(BIGDATA_DIR);
        Ok(Protocols::new().with_file(Arc::new(FileBigData::new(folder, self.durable))))
    }

    fn workflows(&self) -> anyhow::Result<Vec<String>> {
        Ok(crate::scan::entries(&self.root)?
            .into_iter()
            .filter(|entry| entry.is_dir && validate_workflow(&entry.name).is_ok())
            .map(|entry| entry.name)
            .collect())
    }

    fn scan(&self, workflow: &str) -> anyhow::Result<Vec<StoredObject>> {
        crate::scan::workflow_objects(&self.workflow_dir(workflow)?)
    }

    fn delete_objects(&self, workflow: &str, paths: &[String]) -> anyhow::Result<()> {
        let dir = self.workflow_dir(workflow)?;
        for path in paths {
            check_object_path(path)?;
            refuse_linked_folders(&self.root, &format!("{workflow}/{path}"))?;
            let file = dir.join(path);
            if path.starts_with(&format!("{LEASES_DIR}/")) {
                crate::lease::remove_unheld(&file)?;
                continue;
            }
            match fs::remove_file(&file) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => {
                    return Err(error).with_context(|| format!("cannot remove {}", file.display()));
                }
            }
        }
        Ok(())
    }

    fn leftovers(&self) -> anyhow::Result<Vec<StoredObject>> {
        crate::scan::entries(&self.root)?
            .into_iter()
            .filter(|entry| entry.is_dir && entry.name.starts_with(REMOVING_PREFIX))
            .map(|entry| {
                let size = crate::scan::folder_size(&self.root.join(&entry.name))?;
                Ok(StoredObject {
                    path: entry.name,
                    size,
                    modified: entry.modified,
                })
            })
            .collect()
    }

    fn delete_leftovers(&self, paths: &[String]) -> anyhow::Result<()> {
        for path in paths {
            if !path.starts_with(REMOVING_PREFIX) || path.contains(['/', '\\']) {
                anyhow::bail!("{path:?} is not a leftover of this storage");
            }
            let folder = self.root.join(path);
            match fs::remove_dir_all(&folder) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => {
                    return Err(error)
                        .with_context(|| format!("cannot remove {}", folder.display()));
                }
            }
        }
        Ok(())
    }
}

/// Refuses a path under `root` whose folders include a symbolic link:
/// deleting through one could reach outside the storage.
fn refuse_linked_folders(root: &Path, relative: &str) -> anyhow::Result<()> {
    let mut folder = root.to_path_buf();
    let segments: Vec<&str> = relative.split('/').collect();
    for segment in &segments[..segments.len().saturating_sub(1)] {
        folder.push(segment);
        match fs::symlink_metadata(&folder) {
            Ok(metadata) if metadata.file_type().is_symlink() => anyhow::bail!(
                "refusing to delete through {}: it is a symbolic link",
                folder.display()
            ),
            _ => {}
        }
    }
    Ok(())
}

/// The hidden folder a workflow is renamed to while it is being removed.
const REMOVING_PREFIX: &str = ".removing-";

//! [`FileBigData`]: the `FILE_PROTOCOL` interface over a workflow's
//! `bigdata/` folder.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use functionfuse_core::names::validate_object;
use functionfuse_core::{FileProtocol, NewFile, Result, StorageFailure};

use crate::write::create_folder;

/// The big-data folder of one workflow.
#[derive(Debug, Clone)]
pub struct FileBigData {
    folder: PathBuf,
    durable: bool,
}

impl FileBigData {
    /// The protocol over `folder`; with `durable`, commits are synced.
    pub fn new(folder: PathBuf, durable: bool) -> Self {
        Self { folder, durable }
    }
}

impl FileProtocol for FileBigData {
    fn folder(&self) -> &Path {
        &self.folder
    }

    fn create(&self, extension: &str) -> anyhow::Result<NewFile> {
        if !self.folder.is_dir() {
            create_folder(&self.folder, self.durable).map_err(|error| {
                StorageFailure::new(
                    format!("cannot create big-data folder {}", self.folder.display()),
                    error,
                )
            })?;
        }
        let name = format!("{}.{extension}", uuid::Uuid::new_v4().simple());
        Ok(NewFile::new(&self.folder, name, self.durable)?)
    }

    fn path(&self, name: &str) -> Result<PathBuf> {
        validate_object(name)?;
        Ok(self.folder.join(name))
    }

    fn open(&self, name: &str) -> anyhow::Result<File> {
        let path = self.path(name)?;
        File::open(&path).map_err(|error| {
            StorageFailure::new(
                format!("cannot open big-data file {}", path.display()),
                error,
            )
            .into()
        })
    }

    fn remove(&self, name: &str) -> anyhow::Result<()> {
        let path = self.path(name)?;
        match fs::remove_file(&path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(StorageFailure::new(
                format!("cannot remove big-data file {}", path.display()),
                error,
            )
            .into()),
            _ => Ok(()),
        }
    }

    fn list(&self) -> anyhow::Result<Vec<String>> {
        let mut names = crate::backend::list_files(&self.folder)
            .map_err(|error| StorageFailure::new("cannot list big data", error))?;
        names.sort();
        Ok(names)
    }
}

//! Listing what a storage folder holds, with sizes and ages, for maintenance.

use std::fs;
use std::io;
use std::path::Path;
use std::time::SystemTime;

use anyhow::Context as _;
use functionfuse_core::StoredObject;
use functionfuse_core::names::{ACCESS_DIR, BIGDATA_DIR, LEASES_DIR};

/// One entry of a folder.
pub(crate) struct Entry {
    pub(crate) name: String,
    pub(crate) is_dir: bool,
    /// A plain file (not a folder, not a symbolic link).
    pub(crate) is_file: bool,
    pub(crate) size: u64,
    pub(crate) modified: Option<SystemTime>,
}

/// The entries of `folder` with UTF-8 names (ours are), hidden ones
/// included; none when the folder is missing. Symbolic links are not followed.
pub(crate) fn entries(folder: &Path) -> anyhow::Result<Vec<Entry>> {
    let listing = match fs::read_dir(folder) {
        Ok(listing) => listing,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot list {}", folder.display()));
        }
    };
    let mut entries = Vec::new();
    for entry in listing {
        let entry = entry.with_context(|| format!("cannot list {}", folder.display()))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let metadata = match entry.metadata() {
            Ok(metadata) => metadata,
            // Removed since the listing.
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("cannot inspect {}", entry.path().display()));
            }
        };
        entries.push(Entry {
            name,
            is_dir: metadata.is_dir(),
            is_file: metadata.is_file(),
            size: metadata.len(),
            modified: metadata.modified().ok(),
        });
    }
    Ok(entries)
}

/// The files of a workflow folder and of its big-data, lease and access
/// folders, with paths relative to the workflow folder.
pub(crate) fn workflow_objects(workflow: &Path) -> anyhow::Result<Vec<StoredObject>> {
    let mut objects = Vec::new();
    for entry in entries(workflow)? {
        if entry.is_dir {
            // Big data, lock files and access marks: one level each.
            if [BIGDATA_DIR, LEASES_DIR, ACCESS_DIR].contains(&entry.name.as_str()) {
                for object in entries(&workflow.join(&entry.name))? {
                    if !object.is_dir {
                        objects.push(StoredObject {
                            path: format!("{}/{}", entry.name, object.name),
                            size: object.size,
                            modified: object.modified,
                        });
                    }
                }
            }
            continue;
        }
        objects.push(StoredObject {
            path: entry.name,
            size: entry.size,
            modified: entry.modified,
        });
    }
    Ok(objects)
}

/// The total size of the files under `folder`.
pub(crate) fn folder_size(folder: &Path) -> anyhow::Result<u64> {
    let mut size = 0;
    for entry in entries(folder)? {
        size += if entry.is_dir {
            folder_size(&folder.join(&entry.name))?
        } else {
            entry.size
        };
    }
    Ok(size)
}

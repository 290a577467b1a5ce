//! `gc`: finding and removing what no record references.
//!
//! A save writes big data first and the record last, and an overwrite
//! removes the replaced record's big data after the new record is in. A
//! crash in between, or two writers replacing the same task at once,
//! leaves big data no record names; interrupted writes leave hidden
//! temporaries, and an interrupted workflow removal (file storage) a
//! hidden folder. Single-flight leases of crashed holders and the access
//! marks of removed results stay behind too. All of it is garbage once it is older than the *grace
//! period*: younger objects may belong to a save still in progress, whose
//! record is not written yet, and are left alone.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::backend::StoredObject;
use crate::error::Result;
use crate::maintenance::layout::is_owned;
use crate::maintenance::parallel;
use crate::maintenance::progress::Progress;
use crate::maintenance::summary::to_ns;
use crate::names::BIGDATA_DIR;
use crate::storage::Storage;

/// The grace period `ffuse gc` uses unless told otherwise: one hour. It
/// must be longer than the longest save (from its first big-data write to
/// its record), or `gc` may remove the big data of a save in progress.
pub const DEFAULT_GRACE: Duration = Duration::from_hours(1);

/// What kind of garbage an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GarbageKind {
    /// Big data no record references (a file, or the objects of an array).
    Orphan,
    /// A hidden temporary of an interrupted write.
    Temporary,
    /// A hidden folder of an interrupted workflow removal.
    InterruptedRemoval,
    /// A single-flight lease untouched for longer than the grace period:
    /// an S3 lease object its holder stopped renewing, or a lock file no
    /// process holds (one still held is kept when collecting).
    ExpiredLease,
    /// The access mark of a task that has no result any more.
    StaleAccessMark,
}

/// One piece of garbage: an orphaned file or array, a temporary, a folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Garbage {
    /// The workflow it is in; `None` for leftovers outside any workflow.
    pub workflow: Option<String>,
    /// What it is.
    pub kind: GarbageKind,
    /// Its path relative to the workflow (or the storage):
    /// `bigdata/<file>`, `bigdata/<array>.zarr`, `.tmp-…`.
    pub path: String,
    /// How many stored objects it is.
    pub objects: usize,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its newest change, nanoseconds since the Unix epoch.
    pub modified_ns: Option<u64>,
    /// The objects to delete, as the backend names them.
    #[serde(skip)]
    paths: Vec<String>,
}

/// What [`Storage::find_garbage`] found or
/// [`Storage::collect_garbage`] removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GcReport {
    /// Whether the garbage was removed (false: a dry run).
    pub removed: bool,
    /// The grace period, in seconds.
    pub grace_s: f64,
    /// The garbage, by workflow and path.
    pub garbage: Vec<Garbage>,
    /// Unreferenced objects left alone because they are younger than the grace period.
    pub young: usize,
    /// Why parts of the storage were left alone or could not be cleaned.
    pub notes: Vec<String>,
}

impl GcReport {
    /// How many pieces of garbage.
    pub fn count(&self) -> usize {
        self.garbage.len()
    }

    /// Their total size.
    pub fn bytes(&self) -> u64 {
        self.garbage.iter().map(|g| g.bytes).sum()
    }
}

impl Storage {
    /// Finds the garbage of `workflows` (all of them, and the storage's own
    /// leftovers, when empty) that is older than `grace`, without removing
    /// anything.
    ///
    /// A workflow holding a record whose header cannot be read is skipped
    /// for big data (that record may name any of it) and said so in the
    /// notes; its temporaries are still found.
    ///
    /// # Errors
    /// [`Error::InvalidName`](crate::Error::InvalidName) or
    /// [`Error::Backend`](crate::Error::Backend) when the storage cannot be listed.
    pub fn find_garbage(&self, workflows: &[String], grace: Duration) -> Result<GcReport> {
        let now = SystemTime::now();
        let is_old = |modified: Option<SystemTime>| {
            modified.is_some_and(|m| now.duration_since(m).is_ok_and(|age| age >= grace))
        };
        let mut report = GcReport {
            grace_s: grace.as_secs_f64(),
            ..GcReport::default()
        };
        let all = workflows.is_empty();
        for workflow in &self.named_or_all(workflows)? {
            self.workflow_garbage(workflow, &is_old, &mut report)?;
        }
        if all {
            let leftovers = self
                .backend()
                .leftovers()
                .map_err(|e| self.backend_error(e))?;
            for leftover in leftovers {
                if is_old(leftover.modified) {
                    report
                        .garbage
                        .push(single(None, GarbageKind::InterruptedRemoval, leftover));
                } else {
                    report.young += 1;
                }
            }
        }
        Ok(report)
    }

    /// Finds the garbage as [`find_garbage`](Self::find_garbage) does and
    /// removes it. Objects that cannot be removed are named in the notes.
    ///
    /// # Errors
    /// As [`find_garbage`](Self::find_garbage).
    pub fn collect_garbage(
        &self,
        workflows: &[String],
        grace: Duration,
        progress: &dyn Progress,
    ) -> Result<GcReport> {
        let mut report = self.find_garbage(workflows, grace)?;
        progress.start("removing garbage", report.count() as u64, report.bytes());
        let mut failed = Vec::new();
        for garbage in &report.garbage {
            let removed = match &garbage.workflow {
                Some(workflow) => self.backend().delete_objects(workflow, &garbage.paths),
                None => self.backend().delete_leftovers(&garbage.paths),
            };
            if let Err(error) = removed {
                failed.push(format!("cannot remove {}: {error:#}", garbage.path));
            }
            progress.advance(1, garbage.bytes);
        }
        progress.finish();
        report.notes.extend(failed);
        report.removed = true;
        Ok(report)
    }

    fn workflow_garbage(
        &self,
        workflow: &str,
        is_old: &dyn Fn(Option<SystemTime>) -> bool,
        report: &mut GcReport,
    ) -> Result<()> {
        let layout = self.layout(workflow)?;
        for temporary in &layout.temporaries {
            if is_old(temporary.modified) {
                report.garbage.push(single(
                    Some(workflow),
                    GarbageKind::Temporary,
                    temporary.clone(),
                ));
            } else {
                report.young += 1;
            }
        }
        for lease in &layout.leases {
            if is_old(lease.modified) {
                report.garbage.push(single(
                    Some(workflow),
                    GarbageKind::ExpiredLease,
                    lease.clone(),
                ));
            }
        }
        for (task, mark) in &layout.access_marks {
            if !layout.records.contains_key(task) && is_old(mark.modified) {
                report.garbage.push(single(
                    Some(workflow),
                    GarbageKind::StaleAccessMark,
                    mark.clone(),
                ));
            }
        }
        // Every location a record names; the listing came first, so big
        // data of a record written since is younger than the grace period.
        let tasks: Vec<&String> = layout.records.keys().collect();
        // Whole records, checksum checked: a damaged header can still
        // decode, naming the wrong objects, and its arrays must not go.
        let records = parallel::map(&tasks, |task| self.checked_record(workflow, task));
        let mut referenced = HashSet::new();
        for (task, record) in tasks.into_iter().zip(records) {
            match record? {
                None => {}
                Some(Ok(ids)) => referenced.extend(ids.into_iter().map(|pid| pid.location)),
                Some(Err(reason)) => {
                    report.notes.push(format!(
                        "workflow `{workflow}`: big data left alone, because the record of task \
                         `{task}` cannot be read ({reason}) and may name any of it; remove that \
                         task (`ffuse rm {workflow} '{}'`) and run gc again",
                        glob::Pattern::escape(task)
                    ));
                    return Ok(());
                }
            }
        }
        // Unreferenced objects, grouped by their first path segment (one
        // file, or one array of many objects).
        let mut orphans: BTreeMap<&str, Vec<(&String, &StoredObject)>> = BTreeMap::new();
        for (key, object) in &layout.big_data {
            if !is_owned(key, &referenced) {
                let group = key.split('/').next().unwrap_or(key);
                orphans.entry(group).or_default().push((key, object));
            }
        }
        for (group, objects) in orphans {
            let newest = objects.iter().map(|(_, o)| o.modified).max().flatten();
            let any_unknown = objects.iter().any(|(_, o)| o.modified.is_none());
            if any_unknown || !is_old(newest) {
                report.young += 1;
                continue;
            }
            report.garbage.push(Garbage {
                workflow: Some(workflow.to_owned()),
                kind: GarbageKind::Orphan,
                path: format!("{BIGDATA_DIR}/{group}"),
                objects: objects.len(),
                bytes: objects.iter().map(|(_, o)| o.size).sum(),
                modified_ns: newest.map(to_ns),
                paths: objects.iter().map(|(_, o)| o.path.clone()).collect(),
            });
        }
        Ok(())
    }
}

impl Storage {
    /// The persistent ids of a record read whole and checked: `None` when
    /// there is none, `Some(Err(reason))` when it is damaged or too large.
    fn checked_record(
        &self,
        workflow: &str,
        task: &str,
    ) -> Result<Option<Result<Vec<crate::PersistentId>, String>>> {
        let bytes = match self.fetch_record(workflow, task) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Ok(None),
            Err(error @ crate::Error::TooLarge { .. }) => return Ok(Some(Err(error.to_string()))),
            Err(error) => return Err(error),
        };
        Ok(Some(
            crate::record::decode(&bytes).map(|record| record.header.persistent_ids),
        ))
    }
}

fn single(workflow: Option<&str>, kind: GarbageKind, object: StoredObject) -> Garbage {
    Garbage {
        workflow: workflow.map(str::to_owned),
        kind,
        objects: 1,
        bytes: object.size,
        modified_ns: object.modified.map(to_ns),
        paths: vec![object.path.clone()],
        path: object.path,
    }
}

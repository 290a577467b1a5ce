//! Retention: removing results by policy. Results older than a duration,
//! beyond the newest N of a task pattern, or least recently used while a
//! workflow is over its size cap expire; protected workflows are never
//! touched. Removal is batched (one request per 1000 objects on S3),
//! records first: a crash part way leaves orphaned big data, which `gc`
//! collects, never a record whose data is gone.

mod policy;
mod select;

use std::time::SystemTime;

use serde::Serialize;

use crate::error::Result;
use crate::maintenance::layout::Layout;
use crate::maintenance::parallel;
use crate::maintenance::progress::Progress;
use crate::maintenance::summary::to_ns;
use crate::names::ACCESS_DIR;
use crate::storage::Storage;

pub use policy::{KeepNewest, Retention};
pub use select::Expiry;
use select::{Candidate, select};

/// A result a [`Retention`] expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpiredResult {
    /// Its workflow.
    pub workflow: String,
    /// Its task.
    pub task: String,
    /// The rule that expires it.
    pub expiry: Expiry,
    /// Its record and big data, in bytes: what removing it frees.
    pub bytes: u64,
    /// When it was saved, nanoseconds since the Unix epoch.
    pub saved_ns: Option<u64>,
    /// When it was last read (or else saved), nanoseconds since the Unix epoch.
    pub used_ns: Option<u64>,
    /// Its big-data objects and access mark, as the backend names them.
    #[serde(skip)]
    objects: Vec<String>,
}

/// What [`Storage::find_expired`] found or [`Storage::apply_retention`] removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RetentionReport {
    /// Whether the results were removed (false: a dry run).
    pub removed: bool,
    /// The expired results, by workflow, in the order the rules found them.
    pub expired: Vec<ExpiredResult>,
    /// The workflows left alone because they are protected.
    pub protected: Vec<String>,
    /// What could not be done, and why.
    pub notes: Vec<String>,
}

impl RetentionReport {
    /// How many results expire.
    pub fn count(&self) -> usize {
        self.expired.len()
    }

    /// The bytes they free.
    pub fn bytes(&self) -> u64 {
        self.expired.iter().map(|result| result.bytes).sum()
    }
}

impl Storage {
    /// The results of `workflows` (all of them when empty) that `policy`
    /// expires, without removing anything: a dry run of
    /// [`apply_retention`](Self::apply_retention).
    ///
    /// Ages are measured from [`Retention::now`]; recency of use comes from
    /// the access times reads record ([`access_resolution`](Self::access_resolution)).
    ///
    /// # Errors
    /// [`Error::InvalidPattern`](crate::Error::InvalidPattern) for a pattern
    /// of the policy that is not a glob; [`Error::InvalidName`](crate::Error::InvalidName)
    /// or [`Error::Backend`](crate::Error::Backend) when the storage cannot be listed.
    pub fn find_expired(
        &self,
        workflows: &[String],
        policy: &Retention,
    ) -> Result<RetentionReport> {
        policy.validate()?;
        // This program's own reads count too.
        self.flush_access_times();
        let now = policy.now.unwrap_or_else(SystemTime::now);
        let mut report = RetentionReport::default();
        for workflow in self.named_or_all(workflows)? {
            if policy.protects(&workflow)? {
                report.protected.push(workflow);
            } else if !policy.is_empty() {
                let layout = self.layout(&workflow)?;
                self.expired_in(&workflow, &layout, policy, now, &mut report)?;
            }
        }
        Ok(report)
    }

    /// Removes the results `policy` expires, as [`find_expired`](Self::find_expired)
    /// finds them: each workflow's records in one batch, then their big data
    /// and access marks. A result saved again while this runs may be
    /// removed too (it is computed again when next needed); its new big
    /// data is left for `gc`. Objects that cannot be removed are named in
    /// the notes.
    ///
    /// # Errors
    /// As [`find_expired`](Self::find_expired).
    pub fn apply_retention(
        &self,
        workflows: &[String],
        policy: &Retention,
        progress: &dyn Progress,
    ) -> Result<RetentionReport> {
        let mut report = self.find_expired(workflows, policy)?;
        progress.start(
            "removing expired results",
            report.count() as u64,
            report.bytes(),
        );
        let mut start = 0;
        while start < report.expired.len() {
            let workflow = report.expired[start].workflow.clone();
            let end = start
                + report.expired[start..]
                    .iter()
                    .take_while(|result| result.workflow == workflow)
                    .count();
            let batch = &report.expired[start..end];
            if let Err(note) = self.remove_expired(&workflow, batch) {
                report.notes.push(note);
            }
            progress.advance(
                batch.len() as u64,
                batch.iter().map(|result| result.bytes).sum(),
            );
            start = end;
        }
        progress.finish();
        report.removed = true;
        Ok(report)
    }

    /// Adds the expired results of one workflow to `report`.
    fn expired_in(
        &self,
        workflow: &str,
        layout: &Layout,
        policy: &Retention,
        now: SystemTime,
        report: &mut RetentionReport,
    ) -> Result<()> {
        let tasks: Vec<&String> = layout.records.keys().collect();
        let headers = parallel::map(&tasks, |task| self.stored_header(workflow, task));
        let mut candidates = Vec::with_capacity(tasks.len());
        let mut objects = Vec::with_capacity(tasks.len());
        for (task, header) in tasks.into_iter().zip(headers) {
            let record = &layout.records[task];
            let mut owned = Vec::new();
            match header.map_err(|e| self.backend_error(e))? {
                None => continue, // removed since the listing
                Some(Ok(header)) => {
                    for pid in &header.persistent_ids {
                        owned.extend(layout.owned_by(&pid.location).map(|(_, o)| o.clone()));
                    }
                }
                Some(Err(reason)) => report.notes.push(format!(
                    "workflow `{workflow}`: the record of task `{task}` cannot be read \
                     ({reason}); if it expires, its big data is left for `gc`"
                )),
            }
            let mark = layout.access_marks.get(task);
            let used = record.modified.max(mark.and_then(|mark| mark.modified));
            candidates.push(Candidate {
                task: task.clone(),
                saved: record.modified,
                used,
                bytes: record.size + owned.iter().map(|o| o.size).sum::<u64>(),
            });
            let mut paths: Vec<String> = owned.into_iter().map(|o| o.path).collect();
            paths.extend(mark.map(|mark| mark.path.clone()));
            objects.push(paths);
        }
        for (index, expiry) in select(&candidates, policy, now)? {
            let candidate = &candidates[index];
            report.expired.push(ExpiredResult {
                workflow: workflow.to_owned(),
                task: candidate.task.clone(),
                expiry,
                bytes: candidate.bytes,
                saved_ns: candidate.saved.map(to_ns),
                used_ns: candidate.used.map(to_ns),
                objects: std::mem::take(&mut objects[index]),
            });
        }
        Ok(())
    }

    /// Removes expired results of one workflow: records, then the rest.
    fn remove_expired(&self, workflow: &str, expired: &[ExpiredResult]) -> Result<(), String> {
        let records: Vec<String> = expired.iter().map(|result| result.task.clone()).collect();
        self.backend()
            .delete_objects(workflow, &records)
            .map_err(|error| {
                format!("workflow `{workflow}`: cannot remove expired records: {error:#}")
            })?;
        let rest: Vec<String> = expired
            .iter()
            .flat_map(|result| result.objects.iter().cloned())
            .collect();
        self.backend()
            .delete_objects(workflow, &rest)
            .map_err(|error| {
                format!(
                    "workflow `{workflow}`: expired records are gone but some of their big \
                     data or {ACCESS_DIR} marks are not ({error:#}); `gc` removes them later"
                )
            })
    }
}

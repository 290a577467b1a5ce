//! `copy`: workflows from one storage to another, through the
//! destination's protocols.

use serde::Serialize;

use crate::context::Written;
use crate::error::Result;
use crate::maintenance::layout::Layout;
use crate::maintenance::parallel;
use crate::maintenance::progress::Progress;
use crate::maintenance::verify::{Problem, Severity};
use crate::protocols::Protocols;
use crate::record::{self, RecordHeader};
use crate::storage::Storage;

/// What a copy does with a task the destination already holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Overwrite {
    /// Leave the destination's task as it is (counted as skipped).
    #[default]
    Skip,
    /// Replace it, and remove the big data it referenced.
    Replace,
}

/// What [`Storage::copy_workflows`] copied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CopyReport {
    /// Workflows copied.
    pub workflows: usize,
    /// Tasks copied.
    pub copied: usize,
    /// Tasks the destination already held and kept ([`Overwrite::Skip`]).
    pub skipped: usize,
    /// Persistent objects copied.
    pub objects: usize,
    /// Bytes read from the source (records and big data).
    pub bytes: u64,
    /// Tasks that could not be copied, and why.
    pub problems: Vec<Problem>,
}

impl Storage {
    /// Copies `workflows` (all of them when empty) into `to`. Records keep
    /// their type and creation time; persistent objects are copied by
    /// their serializer's [`copy`](crate::PersistentSerializer::copy)
    /// through `to`'s protocols, so the destination is a normal storage of
    /// its kind (an ndarray HDF5 file on a folder becomes a zarr array on
    /// S3). A damaged record, or one whose big data cannot be copied, is
    /// reported and left out; the rest is copied.
    ///
    /// # Errors
    /// [`Error::InvalidName`](crate::Error::InvalidName) or
    /// [`Error::Backend`](crate::Error::Backend) when a workflow cannot be
    /// listed or its big data reached.
    pub fn copy_workflows(
        &self,
        to: &Storage,
        workflows: &[String],
        overwrite: Overwrite,
        progress: &dyn Progress,
    ) -> Result<CopyReport> {
        let plan = self.plan(workflows)?;
        progress.start("copying", plan.items, plan.bytes);
        let mut report = CopyReport::default();
        for (workflow, layout) in &plan.layouts {
            let from_protocols = self
                .backend()
                .protocols(workflow)
                .map_err(|e| self.backend_error(e))?;
            to.new_workflow(workflow)?;
            let to_protocols = to
                .backend()
                .protocols(workflow)
                .map_err(|e| to.backend_error(e))?;
            let copier = Copier {
                from: self,
                to,
                workflow,
                from_protocols: &from_protocols,
                to_protocols: &to_protocols,
                layout,
                overwrite,
            };
            let tasks: Vec<&String> = layout.records.keys().collect();
            let results = parallel::map(&tasks, |task| {
                let result = copier.try_copy(task);
                if let Ok(Copied::Done { bytes, .. }) = &result {
                    progress.advance(1, *bytes);
                } else {
                    progress.advance(1, 0);
                }
                result
            });
            for (task, result) in tasks.into_iter().zip(results) {
                copier.count(task, result, &mut report);
            }
            report.workflows += 1;
        }
        progress.finish();
        Ok(report)
    }
}

struct Copier<'a> {
    from: &'a Storage,
    to: &'a Storage,
    workflow: &'a str,
    from_protocols: &'a Protocols,
    to_protocols: &'a Protocols,
    layout: &'a Layout,
    overwrite: Overwrite,
}

impl Copier<'_> {
    /// Adds what copying `task` did to the report.
    fn count(&self, task: &str, result: Result<Copied, String>, report: &mut CopyReport) {
        match result {
            Ok(Copied::Done { objects, bytes }) => {
                report.copied += 1;
                report.objects += objects;
                report.bytes += bytes;
            }
            Ok(Copied::Skipped) => report.skipped += 1,
            Ok(Copied::Gone) => {}
            Err(message) => report.problems.push(Problem {
                workflow: self.workflow.to_owned(),
                task: Some(task.to_owned()),
                object: None,
                severity: Severity::Error,
                message,
            }),
        }
    }

    fn try_copy(&self, task: &str) -> Result<Copied, String> {
        let workflow = self.workflow;
        let Some(bytes) = self
            .from
            .fetch_record(workflow, task)
            .map_err(|e| format!("cannot read the record: {e}"))?
        else {
            return Ok(Copied::Gone); // removed since the listing
        };
        let record = record::decode(&bytes)
            .map_err(|reason| format!("corrupt record, not copied: {reason}"))?;
        if self.overwrite == Overwrite::Skip
            && self
                .to
                .backend()
                .exists(workflow, task)
                .map_err(|e| format!("cannot check the destination: {e:#}"))?
        {
            return Ok(Copied::Skipped);
        }
        let mut written: Written = Vec::new();
        let mut big_data = 0;
        for pid in &record.header.persistent_ids {
            let copied = self
                .from
                .pool
                .by_name(&pid.serializer)
                .ok_or_else(|| {
                    format!(
                        "no serializer `{}` is linked into this program to copy `{}`",
                        pid.serializer, pid.location
                    )
                })
                .and_then(|serializer| {
                    serializer
                        .copy(pid, self.from_protocols, self.to_protocols)
                        .map(|copy| (std::sync::Arc::clone(serializer), copy))
                        .map_err(|e| format!("cannot copy `{}`: {e:#}", pid.location))
                });
            match copied {
                Ok(entry) => written.push(entry),
                Err(message) => {
                    self.to.remove_written(workflow, &written);
                    return Err(message);
                }
            }
            big_data += self.layout.size_of(&pid.location).0;
        }
        let header = RecordHeader {
            type_name: record.header.type_name.clone(),
            persistent_ids: written.iter().map(|(_, pid)| pid.clone()).collect(),
            created_ns: record.header.created_ns,
            // The same result, so the same key and fingerprint.
            key: record.header.key.clone(),
            fingerprint: record.header.fingerprint,
            reason: record.header.reason.clone(),
        };
        self.to
            .store_record(workflow, task, &header, record.payload, &written)
            .map_err(|e| format!("cannot write the copy: {e}"))?;
        Ok(Copied::Done {
            objects: written.len(),
            bytes: bytes.len() as u64 + big_data,
        })
    }
}

enum Copied {
    Done { objects: usize, bytes: u64 },
    Skipped,
    Gone,
}

//! `verify`: every record and every persistent object it names, checked.

use serde::Serialize;

use crate::error::{Error, Result, StorageFailure, Unsupported};
use crate::maintenance::layout::Layout;
use crate::maintenance::parallel;
use crate::maintenance::progress::Progress;
use crate::maintenance::view::check_payload;
use crate::protocols::Protocols;
use crate::record;
use crate::storage::Storage;

/// How bad a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A result is damaged or lost: reading it fails.
    Error,
    /// Something could not be checked (no serializer linked for it, or one
    /// that cannot verify).
    Warning,
}

/// One thing `verify` found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The workflow.
    pub workflow: String,
    /// The task, when the problem is a task's.
    pub task: Option<String>,
    /// The persistent object's location, when the problem is an object's.
    pub object: Option<String>,
    /// How bad it is.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
}

/// What [`Storage::verify`] checked and found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Workflows checked.
    pub workflows: usize,
    /// Records checked.
    pub checked: usize,
    /// Persistent objects checked.
    pub objects: usize,
    /// Bytes of records and big data checked.
    pub bytes: u64,
    /// Everything found wrong, by workflow and task.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// Whether nothing is damaged or lost (warnings aside).
    pub fn is_ok(&self) -> bool {
        self.problems.iter().all(|p| p.severity != Severity::Error)
    }
}

/// Times a record is read again when its big data fails a check and the
/// record changed meanwhile (a save replaced it).
const MAX_REREADS: usize = 8;

impl Storage {
    /// Checks every record of `workflows` (all of them when empty): that it
    /// reads back intact (checksum, header, payload of exactly one
    /// MessagePack value whose references resolve), and that every
    /// persistent object it names exists and matches its record (each
    /// serializer's [`verify`](crate::PersistentSerializer::verify): the
    /// ndarray serializer opens the HDF5 file or zarr array and checks
    /// dtype, shape and the data's checksum).
    ///
    /// Problems are reported, not returned as errors; a record being
    /// replaced while it is checked is read again rather than reported; a
    /// record over the storage's [`Limits`](crate::Limits) is a warning.
    ///
    /// # Errors
    /// [`Error::InvalidName`](crate::Error::InvalidName), or
    /// [`Error::Backend`](crate::Error::Backend) when the storage itself
    /// fails (cannot be listed, a server that went away): that says nothing
    /// about the results, so it is not reported as damage.
    pub fn verify(&self, workflows: &[String], progress: &dyn Progress) -> Result<VerifyReport> {
        let plan = self.plan(workflows)?;
        let mut report = VerifyReport::default();
        progress.start("verifying", plan.items, plan.bytes);
        for (workflow, layout) in &plan.layouts {
            if layout.records.is_empty() {
                report.problems.push(Problem {
                    workflow: workflow.clone(),
                    task: None,
                    object: None,
                    severity: Severity::Warning,
                    message: "the workflow holds no results".to_owned(),
                });
            }
            let protocols = self
                .backend()
                .protocols(workflow)
                .map_err(|e| self.backend_error(e))?;
            let checker = Checker {
                storage: self,
                workflow,
                layout,
                protocols: &protocols,
                progress,
            };
            checker.run(&mut report)?;
            report.workflows += 1;
        }
        progress.finish();
        report
            .problems
            .sort_by(|a, b| (&a.workflow, &a.task).cmp(&(&b.workflow, &b.task)));
        Ok(report)
    }
}

/// Checks the records of one workflow.
struct Checker<'a> {
    storage: &'a Storage,
    workflow: &'a str,
    layout: &'a Layout,
    protocols: &'a Protocols,
    progress: &'a dyn Progress,
}

/// What checking one task found.
#[derive(Default)]
struct TaskOutcome {
    checked: bool,
    objects: usize,
    bytes: u64,
    problems: Vec<Problem>,
    /// The storage could not be asked: `verify` fails rather than report damage.
    failure: Option<Error>,
}

impl Checker<'_> {
    fn run(&self, report: &mut VerifyReport) -> Result<()> {
        let tasks: Vec<&String> = self.layout.records.keys().collect();
        let outcomes = parallel::map(&tasks, |task| {
            let outcome = self.check_task(task);
            self.progress.advance(1, outcome.bytes);
            outcome
        });
        for outcome in outcomes {
            if let Some(failure) = outcome.failure {
                return Err(failure);
            }
            report.checked += usize::from(outcome.checked);
            report.objects += outcome.objects;
            report.bytes += outcome.bytes;
            report.problems.extend(outcome.problems);
        }
        Ok(())
    }

    /// Checks one task, reading its record again when a check of its big
    /// data fails and the record changed meanwhile.
    fn check_task(&self, task: &str) -> TaskOutcome {
        let mut last: Option<(Vec<u8>, TaskOutcome)> = None;
        for _ in 0..MAX_REREADS {
            let bytes = match self.storage.fetch_record(self.workflow, task) {
                Ok(Some(bytes)) => bytes,
                Ok(None) => return TaskOutcome::default(), // removed since the listing
                Err(error @ Error::TooLarge { .. }) => {
                    return TaskOutcome {
                        problems: vec![self.problem(
                            task,
                            None,
                            Severity::Warning,
                            format!("not checked: {error}"),
                        )],
                        ..TaskOutcome::default()
                    };
                }
                // The storage itself failed: that is no finding about the task.
                Err(error) => {
                    return TaskOutcome {
                        failure: Some(error),
                        ..TaskOutcome::default()
                    };
                }
            };
            if let Some((previous, outcome)) = last.take()
                && previous == bytes
            {
                return outcome;
            }
            let outcome = self.check_record(task, &bytes);
            let big_data_failed = outcome
                .problems
                .iter()
                .any(|p| p.object.is_some() && p.severity == Severity::Error);
            if !big_data_failed {
                return outcome;
            }
            last = Some((bytes, outcome));
        }
        last.map_or_else(TaskOutcome::default, |(_, outcome)| outcome)
    }

    fn check_record(&self, task: &str, bytes: &[u8]) -> TaskOutcome {
        let mut outcome = TaskOutcome {
            checked: true,
            bytes: bytes.len() as u64,
            ..TaskOutcome::default()
        };
        let record = match record::decode(bytes) {
            Ok(record) => record,
            Err(reason) => {
                outcome.problems.push(self.problem(
                    task,
                    None,
                    Severity::Error,
                    format!("corrupt record: {reason}"),
                ));
                return outcome;
            }
        };
        if let Err(reason) = check_payload(record.payload, &record.header) {
            outcome.problems.push(self.problem(
                task,
                None,
                Severity::Error,
                format!("corrupt payload: {reason}"),
            ));
        }
        for pid in &record.header.persistent_ids {
            outcome.objects += 1;
            outcome.bytes += self.layout.size_of(&pid.location).0;
            let Some(serializer) = self.storage.pool.by_name(&pid.serializer) else {
                outcome.problems.push(self.problem(
                    task,
                    Some(&pid.location),
                    Severity::Warning,
                    format!(
                        "not checked: no serializer `{}` is linked into this program",
                        pid.serializer
                    ),
                ));
                continue;
            };
            if let Err(error) = serializer.verify(pid, self.protocols) {
                if StorageFailure::is_in(&error) {
                    outcome.failure = Some(self.storage.backend_error(error));
                    return outcome;
                }
                let severity = if error.is::<Unsupported>() {
                    Severity::Warning
                } else {
                    Severity::Error
                };
                let message = if severity == Severity::Warning {
                    format!("not checked: {error}")
                } else {
                    format!("{error:#}")
                };
                outcome
                    .problems
                    .push(self.problem(task, Some(&pid.location), severity, message));
            }
        }
        outcome
    }

    fn problem(
        &self,
        task: &str,
        object: Option<&str>,
        severity: Severity,
        message: String,
    ) -> Problem {
        Problem {
            workflow: self.workflow.to_owned(),
            task: Some(task.to_owned()),
            object: object.map(str::to_owned),
            severity,
            message,
        }
    }
}

//! What a storage holds: workflows, tasks, sizes, one task in detail.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::maintenance::layout::Layout;
use crate::maintenance::parallel;
use crate::maintenance::view::{ViewOptions, payload_to_json};
use crate::names::{BIGDATA_DIR, validate_workflow};
use crate::record;
use crate::serializer::PersistentId;
use crate::storage::Storage;

/// A workflow's size and age, as `ffuse workflows` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkflowSummary {
    /// The workflow's name.
    pub workflow: String,
    /// How many task records it holds.
    pub tasks: usize,
    /// Bytes of its records.
    pub record_bytes: u64,
    /// Bytes of its big data (referenced or not).
    pub bigdata_bytes: u64,
    /// Bytes of hidden temporaries of writes in progress or interrupted.
    pub temporary_bytes: u64,
    /// The newest change, nanoseconds since the Unix epoch, when the store says.
    pub last_modified_ns: Option<u64>,
}

impl WorkflowSummary {
    /// Everything the workflow occupies.
    pub fn total_bytes(&self) -> u64 {
        self.record_bytes + self.bigdata_bytes + self.temporary_bytes
    }
}

/// One task as `ffuse ls` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskInfo {
    /// The task's name.
    pub task: String,
    /// Bytes of its record.
    pub record_bytes: u64,
    /// Bytes of the big data its record names.
    pub bigdata_bytes: u64,
    /// When it was saved, nanoseconds since the Unix epoch (from the
    /// record); `None` when the header is unreadable.
    pub created_ns: Option<u64>,
    /// The Rust type it was saved as (short form); `None` when the header
    /// is unreadable.
    pub type_name: Option<String>,
    /// Why the header could not be read, if it could not.
    pub unreadable: Option<String>,
}

/// A persistent object of a task, with the size it occupies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BigDataInfo {
    /// The persistent id from the record.
    #[serde(flatten)]
    pub pid: PersistentId,
    /// Bytes it occupies (all objects of an array stored as many).
    pub bytes: u64,
    /// How many stored objects it is (0: it is missing).
    pub objects: usize,
}

/// One task in detail, as `ffuse show` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskDetail {
    /// The workflow.
    pub workflow: String,
    /// The task.
    pub task: String,
    /// The Rust type it was saved as (full path).
    pub type_name: String,
    /// When it was saved, nanoseconds since the Unix epoch.
    pub created_ns: u64,
    /// Bytes of the record.
    pub record_bytes: u64,
    /// Its persistent objects.
    pub big_data: Vec<BigDataInfo>,
    /// The payload as JSON (see [`view`](crate::maintenance::view)).
    pub payload: serde_json::Value,
    /// The payload's MessagePack bytes.
    #[serde(skip)]
    pub payload_bytes: Vec<u8>,
}

impl Storage {
    /// The workflows present (a folder, or a prefix with objects), sorted.
    ///
    /// # Errors
    /// [`Error::Backend`] when the storage cannot be listed.
    pub fn workflows(&self) -> Result<Vec<String>> {
        let mut workflows = self
            .backend()
            .workflows()
            .map_err(|e| self.backend_error(e))?;
        workflows.retain(|workflow| validate_workflow(workflow).is_ok());
        workflows.sort();
        Ok(workflows)
    }

    /// Tasks, sizes and last change of a workflow (one listing).
    ///
    /// # Errors
    /// [`Error::InvalidName`] or [`Error::Backend`].
    pub fn workflow_summary(&self, workflow: &str) -> Result<WorkflowSummary> {
        let layout = self.layout(workflow)?;
        Ok(WorkflowSummary {
            workflow: workflow.to_owned(),
            tasks: layout.records.len(),
            record_bytes: layout.records.values().map(|o| o.size).sum(),
            bigdata_bytes: layout.big_data.values().map(|o| o.size).sum(),
            temporary_bytes: layout.temporaries.iter().map(|o| o.size).sum(),
            last_modified_ns: layout.last_modified().map(to_ns),
        })
    }

    /// The tasks of `workflow` matching the glob `pattern`, sorted, each
    /// with sizes, creation time and type read from its record's header.
    ///
    /// # Errors
    /// [`Error::InvalidName`], [`Error::InvalidPattern`] or [`Error::Backend`].
    pub fn task_infos(&self, workflow: &str, pattern: &str) -> Result<Vec<TaskInfo>> {
        let pattern = crate::storage::task_pattern(pattern)?;
        let layout = self.layout(workflow)?;
        let matching: Vec<(&String, &crate::StoredObject)> = layout
            .records
            .iter()
            .filter(|(task, _)| pattern.matches(task))
            .collect();
        let headers = parallel::map(&matching, |(task, _)| self.stored_header(workflow, task));
        let mut infos = Vec::with_capacity(matching.len());
        for ((task, object), header) in matching.into_iter().zip(headers) {
            let Some(header) = header.map_err(|e| self.backend_error(e))? else {
                continue; // removed since the listing
            };
            let mut info = TaskInfo {
                task: task.clone(),
                record_bytes: object.size,
                bigdata_bytes: 0,
                created_ns: None,
                type_name: None,
                unreadable: None,
            };
            match header {
                Ok(header) => {
                    info.bigdata_bytes = header
                        .persistent_ids
                        .iter()
                        .map(|pid| layout.size_of(&pid.location).0)
                        .sum();
                    info.created_ns = Some(header.created_ns);
                    info.type_name = Some(crate::type_names::short(&header.type_name));
                }
                Err(reason) => info.unreadable = Some(reason),
            }
            infos.push(info);
        }
        Ok(infos)
    }

    /// One task in detail: type, creation time, persistent objects with
    /// their sizes, and the payload as JSON.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::CorruptRecord`] when the record fails
    /// its checks or its payload does not decode; [`Error::InvalidName`] or
    /// [`Error::Backend`].
    pub fn inspect_task(
        &self,
        workflow: &str,
        task: &str,
        options: &ViewOptions,
    ) -> Result<TaskDetail> {
        validate_workflow(workflow)?;
        crate::names::validate_task(task)?;
        let bytes = self
            .fetch_record(workflow, task)?
            .ok_or_else(|| Error::NotFound {
                workflow: workflow.to_owned(),
                task: task.to_owned(),
            })?;
        let corrupt = |reason| Error::CorruptRecord {
            workflow: workflow.to_owned(),
            task: task.to_owned(),
            reason,
        };
        let record = record::decode(&bytes).map_err(corrupt)?;
        let payload = payload_to_json(record.payload, &record.header, options).map_err(corrupt)?;
        let big_data = record
            .header
            .persistent_ids
            .iter()
            .map(|pid| {
                // Only this object's listing: a workflow may hold thousands.
                let owned = self
                    .backend()
                    .scan_prefix(workflow, &format!("{BIGDATA_DIR}/{}", pid.location))
                    .map_err(|e| self.backend_error(e))?;
                let (bytes, objects) = Layout::new(owned).size_of(&pid.location);
                Ok(BigDataInfo {
                    pid: pid.clone(),
                    bytes,
                    objects,
                })
            })
            .collect::<Result<_>>()?;
        Ok(TaskDetail {
            workflow: workflow.to_owned(),
            task: task.to_owned(),
            type_name: record.header.type_name.clone(),
            created_ns: record.header.created_ns,
            record_bytes: bytes.len() as u64,
            big_data,
            payload,
            payload_bytes: record.payload.to_vec(),
        })
    }

    /// `workflows`, or every workflow when it is empty.
    pub(crate) fn named_or_all(&self, workflows: &[String]) -> Result<Vec<String>> {
        if workflows.is_empty() {
            self.workflows()
        } else {
            Ok(workflows.to_vec())
        }
    }

    /// The layouts of `workflows` (all when empty), with the totals that
    /// progress reports start from.
    pub(crate) fn plan(&self, workflows: &[String]) -> Result<Plan> {
        let mut layouts = Vec::new();
        for workflow in self.named_or_all(workflows)? {
            let layout = self.layout(&workflow)?;
            layouts.push((workflow, layout));
        }
        Ok(Plan {
            items: layouts.iter().map(|(_, l)| l.records.len() as u64).sum(),
            bytes: layouts.iter().map(|(_, l)| l.data_bytes()).sum(),
            layouts,
        })
    }

    /// The workflow's objects, sorted by kind.
    pub(crate) fn layout(&self, workflow: &str) -> Result<Layout> {
        validate_workflow(workflow)?;
        let objects = self
            .backend()
            .scan(workflow)
            .map_err(|e| self.backend_error(e))?;
        Ok(Layout::new(objects))
    }
}

/// What a long operation will go through.
pub(crate) struct Plan {
    /// Each workflow's objects.
    pub(crate) layouts: Vec<(String, Layout)>,
    /// Records in all.
    pub(crate) items: u64,
    /// Bytes of records and big data in all.
    pub(crate) bytes: u64,
}

/// Nanoseconds since the Unix epoch (0 before it).
pub(crate) fn to_ns(time: std::time::SystemTime) -> u64 {
    time.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
        })
}

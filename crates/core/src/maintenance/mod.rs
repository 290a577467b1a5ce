//! Looking after a storage without the Rust types of its results: what it
//! holds and how big it is, whether every record and array is intact, what
//! nobody references any more, and copying workflows to another storage.
//!
//! These are methods of [`Storage`](crate::Storage) (`workflows`,
//! `workflow_summary`, `task_infos`, `inspect_task`, `verify`,
//! `find_garbage`, `collect_garbage`, `find_expired`, `apply_retention`,
//! `copy_workflows`); the `ffuse` command
//! line is a thin layer over them.
//!
//! `docs/cli.md` shows them at work, from Rust and from the command line.

mod copy;
mod gc;
mod layout;
pub(crate) mod parallel;
mod progress;
mod retention;
mod summary;
mod verify;
pub mod view;

pub use copy::{CopyReport, Overwrite};
pub use gc::{DEFAULT_GRACE, Garbage, GarbageKind, GcReport};
pub use progress::{NoProgress, Progress};
pub use retention::{ExpiredResult, Expiry, KeepNewest, Retention, RetentionReport};
pub use summary::{BigDataInfo, TaskDetail, TaskInfo, WorkflowSummary};
pub use verify::{Problem, Severity, VerifyReport};

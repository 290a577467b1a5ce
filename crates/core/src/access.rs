//! Access times: which results were read lately, for retention's size cap
//! (least recently *used* goes first).
//!
//! A read marks its task in the workflow's side index
//! ([`ACCESS_DIR`](crate::names::ACCESS_DIR)): one empty object per task,
//! whose modification time is the access time, so one listing reads them
//! all and the record is never rewritten. Marks are written off the read
//! path, by one background thread per storage, and at most once per task
//! per [`resolution`](AccessTimes::new) in a process: a hot loop of reads
//! costs a map lookup, not a write. Access times are hints: a mark that
//! cannot be written (a read-only storage) is logged and dropped, and the
//! marks still queued when the program exits without dropping its
//! [`Storage`](crate::Storage) are lost.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::backend::StorageBackend;

/// How often a process marks the same task at most, unless told otherwise:
/// ten minutes, fine enough for evicting by days of disuse.
pub const DEFAULT_ACCESS_RESOLUTION: Duration = Duration::from_mins(10);

/// Marks waiting to be written before new ones are dropped.
const QUEUE: usize = 4096;

/// Tasks remembered as marked before those due again anyway are forgotten.
const FORGET_AT: usize = 1 << 16;

enum Message {
    Mark {
        workflow: String,
        task: String,
    },
    /// Answered once every mark sent before it is written.
    Flush(mpsc::Sender<()>),
}

/// The access-time writer of one storage (shared by its clones).
pub(crate) struct AccessTimes {
    backend: Arc<dyn StorageBackend>,
    resolution: Duration,
    marked: Mutex<Marked>,
    writer: Mutex<Option<Writer>>,
}

/// When this process last marked each task, by workflow and task (looked
/// up by `&str`, so a read marked lately allocates nothing).
#[derive(Default)]
struct Marked {
    by_workflow: HashMap<String, HashMap<String, Instant>>,
    count: usize,
    /// `count` at which entries older than the resolution are dropped: a
    /// long-running reader of many tasks must not grow the map for ever.
    forget_at: usize,
}

impl Marked {
    /// Whether `task` is due a mark at `now`; if so, it counts as marked.
    fn due(&mut self, workflow: &str, task: &str, now: Instant, resolution: Duration) -> bool {
        let recent = |last: &Instant| now.duration_since(*last) < resolution;
        if let Some(tasks) = self.by_workflow.get_mut(workflow) {
            match tasks.get_mut(task) {
                Some(last) if recent(last) => return false,
                Some(last) => *last = now,
                None => {
                    tasks.insert(task.to_owned(), now);
                    self.count += 1;
                }
            }
        } else {
            let tasks = HashMap::from([(task.to_owned(), now)]);
            self.by_workflow.insert(workflow.to_owned(), tasks);
            self.count += 1;
        }
        if self.count >= self.forget_at.max(FORGET_AT) {
            for tasks in self.by_workflow.values_mut() {
                tasks.retain(|_, last| recent(last));
            }
            self.by_workflow.retain(|_, tasks| !tasks.is_empty());
            self.count = self.by_workflow.values().map(HashMap::len).sum();
            // What is left is recent: wait for as many again before looking.
            self.forget_at = 2 * self.count;
        }
        true
    }
}

struct Writer {
    sender: SyncSender<Message>,
    thread: JoinHandle<()>,
}

impl AccessTimes {
    /// Marks reads on `backend`, each task at most once per `resolution`.
    pub(crate) fn new(backend: Arc<dyn StorageBackend>, resolution: Duration) -> Self {
        Self {
            backend,
            resolution,
            marked: Mutex::new(Marked::default()),
            writer: Mutex::new(None),
        }
    }

    pub(crate) fn resolution(&self) -> Duration {
        self.resolution
    }

    /// Notes that `task` was read; queues its mark unless this process
    /// marked it within the resolution. Never blocks on the storage.
    pub(crate) fn note_read(&self, workflow: &str, task: &str) {
        let due = self
            .marked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .due(workflow, task, Instant::now(), self.resolution);
        if !due {
            return;
        }
        let message = Message::Mark {
            workflow: workflow.to_owned(),
            task: task.to_owned(),
        };
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(writer) = self.started(&mut writer) else {
            return;
        };
        if let Err(TrySendError::Full(_)) = writer.sender.try_send(message) {
            log::debug!("access times: queue full, the read of `{workflow}/{task}` is not marked");
        }
    }

    /// Waits until every mark noted so far is written (or has failed).
    pub(crate) fn flush(&self) {
        let (done, wait) = mpsc::channel();
        {
            let writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(writer) = writer.as_ref() else {
                return;
            };
            if writer.sender.send(Message::Flush(done)).is_err() {
                return;
            }
        }
        // An error means the thread is gone: nothing left to wait for.
        let _ = wait.recv();
    }

    /// The writer thread, started on first use; `None` when it cannot start.
    fn started<'w>(&self, writer: &'w mut Option<Writer>) -> Option<&'w Writer> {
        if writer.is_none() {
            let (sender, receiver) = mpsc::sync_channel(QUEUE);
            let backend = Arc::clone(&self.backend);
            let thread = std::thread::Builder::new()
                .name("functionfuse-access".to_owned())
                .spawn(move || write_marks(backend.as_ref(), &receiver));
            match thread {
                Ok(thread) => *writer = Some(Writer { sender, thread }),
                Err(error) => {
                    log::debug!("access times: cannot start the writer thread: {error}");
                    return None;
                }
            }
        }
        writer.as_ref()
    }
}

impl Drop for AccessTimes {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it has written the rest.
        let writer = self
            .writer
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(Writer { sender, thread }) = writer {
            drop(sender);
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for AccessTimes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTimes")
            .field("resolution", &self.resolution)
            .finish_non_exhaustive()
    }
}

fn write_marks(backend: &dyn StorageBackend, queue: &Receiver<Message>) {
    let mut warned = false;
    for message in queue {
        match message {
            Message::Mark { workflow, task } => {
                if let Err(error) = backend.mark_access(&workflow, &task)
                    && !std::mem::replace(&mut warned, true)
                {
                    // Once: a read-only storage would say it for every read.
                    log::warn!(
                        "cannot record when `{workflow}/{task}` was read ({error:#}); \
                         retention's size cap will see older access times"
                    );
                }
            }
            Message::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_is_due_once_per_resolution_and_old_entries_are_forgotten() {
        let resolution = Duration::from_mins(10);
        let start = Instant::now();
        let mut marked = Marked::default();
        assert!(marked.due("w", "a", start, resolution));
        assert!(!marked.due("w", "a", start + Duration::from_mins(9), resolution));
        assert!(marked.due("w", "a", start + Duration::from_mins(10), resolution));
        assert!(marked.due("v", "a", start, resolution));
        assert_eq!(marked.count, 2);

        // Many tasks read once, long ago, then one more that reaches the
        // threshold: the old go.
        for index in 0..FORGET_AT - 3 {
            marked.due("many", &index.to_string(), start, resolution);
        }
        let later = start + Duration::from_hours(1);
        assert!(marked.due("w", "new", later, resolution));
        assert_eq!(marked.count, 1);
        assert!(marked.due("many", "0", later, resolution));
    }
}

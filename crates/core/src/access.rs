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
    /// When this process last marked each (workflow, task).
    marked: Mutex<HashMap<(String, String), Instant>>,
    writer: Mutex<Option<Writer>>,
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
            marked: Mutex::new(HashMap::new()),
            writer: Mutex::new(None),
        }
    }

    pub(crate) fn resolution(&self) -> Duration {
        self.resolution
    }

    /// Notes that `task` was read; queues its mark unless this process
    /// marked it within the resolution. Never blocks on the storage.
    pub(crate) fn note_read(&self, workflow: &str, task: &str) {
        let now = Instant::now();
        {
            let mut marked = self.marked.lock().unwrap_or_else(PoisonError::into_inner);
            let key = (workflow.to_owned(), task.to_owned());
            if marked
                .get(&key)
                .is_some_and(|last| now.duration_since(*last) < self.resolution)
            {
                return;
            }
            marked.insert(key, now);
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

//! The backend's own tokio runtime, and waiting on it from any thread.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;

/// The runtime every S3 request of one storage runs on.
#[derive(Debug, Clone)]
pub(crate) struct Runtime(Arc<tokio::runtime::Runtime>);

impl Runtime {
    pub(crate) fn new() -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("functionfuse-s3")
            .enable_all()
            .build()
            .context("cannot start the S3 storage's runtime")?;
        Ok(Self(Arc::new(runtime)))
    }

    /// Runs `future` to completion and returns its output. Works on any
    /// thread: on a thread of another tokio runtime (where blocking on a
    /// runtime panics) the wait moves to a plain scoped thread.
    pub(crate) fn block_on<F>(&self, future: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        if tokio::runtime::Handle::try_current().is_err() {
            return self.0.block_on(future);
        }
        std::thread::scope(|scope| {
            match scope.spawn(|| self.0.block_on(future)).join() {
                Ok(output) => output,
                // The future panicked: carry the panic to the caller.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
}

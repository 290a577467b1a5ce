//! Faults the server injects into requests, for tests and benchmarks.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// What the server does to requests besides serving them. All settings
/// take effect for the next requests; the defaults inject nothing.
#[derive(Debug, Default)]
pub struct Faults {
    latency_micros: AtomicU64,
    throttle_next: AtomicU32,
    throttled: AtomicU32,
    drop_matching: Mutex<Option<String>>,
    dropped: AtomicU32,
    requests: AtomicU64,
}

impl Faults {
    /// Delays every request by `latency` before serving it (one request
    /// turn to a remote bucket).
    pub fn set_latency(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_micros.store(micros, Ordering::Relaxed);
    }

    /// Answers the next `count` requests with `503 SlowDown`, as S3 does
    /// when a client sends too fast.
    pub fn throttle_next(&self, count: u32) {
        self.throttle_next.store(count, Ordering::Relaxed);
    }

    /// How many requests were answered with `503 SlowDown`.
    pub fn throttled(&self) -> u32 {
        self.throttled.load(Ordering::Relaxed)
    }

    /// Drops the connection, without an answer, of every request whose
    /// path contains `fragment` (`None`: none): a connection lost mid-request.
    pub fn drop_requests_to(&self, fragment: Option<&str>) {
        if let Ok(mut matching) = self.drop_matching.lock() {
            *matching = fragment.map(str::to_owned);
        }
    }

    /// How many requests were dropped.
    pub fn dropped(&self) -> u32 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// How many requests reached the server.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub(crate) fn latency(&self) -> Option<Duration> {
        match self.latency_micros.load(Ordering::Relaxed) {
            0 => None,
            micros => Some(Duration::from_micros(micros)),
        }
    }

    /// What to do with a request for `path`.
    pub(crate) fn decide(&self, path: &str) -> Decision {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let dropping = self
            .drop_matching
            .lock()
            .ok()
            .and_then(|matching| matching.as_ref().map(|m| path.contains(m.as_str())))
            .unwrap_or(false);
        if dropping {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return Decision::Drop;
        }
        let throttle = self
            .throttle_next
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok();
        if throttle {
            self.throttled.fetch_add(1, Ordering::Relaxed);
            return Decision::Throttle;
        }
        Decision::Serve
    }
}

/// The fate of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Serve,
    Throttle,
    Drop,
}

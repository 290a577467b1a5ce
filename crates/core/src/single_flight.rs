//! Single flight: when several processes (or machines) need the same
//! missing result, one computes it while the others wait and then read it.
//! Built on the storage itself: a lease per task that the backend grants to
//! one holder at a time (a locked file on a folder).

use std::sync::mpsc;
use std::time::Duration;

/// How [`Storage::cached`](crate::Storage::cached) shares the computation
/// of a missing result between processes, when switched on with
/// [`Storage::set_single_flight`](crate::Storage::set_single_flight) or for
/// one call with
/// [`Storage::cached_single_flight`](crate::Storage::cached_single_flight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SingleFlight {
    /// How long a lease lasts without renewal where leases expire (object
    /// stores): a holder renews it every third of this while it computes,
    /// and a holder that died is replaced this long after its last renewal.
    pub lease: Duration,
    /// How long a process waits for another's computation before giving
    /// up with [`Error::Busy`](crate::Error::Busy).
    pub max_wait: Duration,
    /// How often a waiting process looks again.
    pub poll: Duration,
}

impl Default for SingleFlight {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(30),
            max_wait: Duration::from_hours(1),
            poll: Duration::from_millis(100),
        }
    }
}

/// What a backend answers to a request for a task's lease.
pub enum LeaseAttempt {
    /// This process holds the lease until it releases it (or, where leases
    /// expire, stops renewing it).
    Acquired(Box<dyn Lease>),
    /// Another holder has it; `holder` describes it (host, process, since).
    Held {
        /// The holder's description, for messages.
        holder: String,
    },
}

impl std::fmt::Debug for LeaseAttempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Acquired(_) => f.write_str("Acquired"),
            Self::Held { holder } => f.debug_struct("Held").field("holder", holder).finish(),
        }
    }
}

/// A task's lease, held by this process.
pub trait Lease: Send {
    /// How often to renew it while computing; `None` when it lasts until
    /// released (a file lock, which dies with its process).
    fn renew_every(&self) -> Option<Duration>;

    /// Extends the lease.
    ///
    /// # Errors
    /// When the lease was lost or the storage fails.
    fn renew(&self) -> anyhow::Result<()>;

    /// Gives the lease up.
    ///
    /// # Errors
    /// When the storage fails; the lease then ends on its own (expiry or
    /// process exit).
    fn release(self: Box<Self>) -> anyhow::Result<()>;
}

/// This process, as lease holders describe themselves: host, pid, start.
pub fn holder_description() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown host".to_owned());
    let since = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    format!("{host} pid {} since {since}", std::process::id())
}

/// Holds a lease while a computation runs: renews it on a thread where it
/// expires, and releases it when dropped (also when the computation
/// panics).
pub(crate) struct LeaseGuard {
    lease: Option<Box<dyn Lease>>,
    stop: Option<mpsc::Sender<()>>,
    renewer: Option<std::thread::JoinHandle<Box<dyn Lease>>>,
}

impl LeaseGuard {
    pub(crate) fn hold(lease: Box<dyn Lease>) -> Self {
        let Some(every) = lease.renew_every() else {
            return Self {
                lease: Some(lease),
                stop: None,
                renewer: None,
            };
        };
        let (stop, stopped) = mpsc::channel::<()>();
        let renewer = std::thread::spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                if let Err(error) = lease.renew() {
                    log::warn!("cannot renew a single-flight lease: {error:#}");
                }
            }
            lease
        });
        Self {
            lease: None,
            stop: Some(stop),
            renewer: Some(renewer),
        }
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        drop(self.stop.take());
        let lease = match self.renewer.take() {
            Some(renewer) => renewer.join().ok(),
            None => self.lease.take(),
        };
        if let Some(lease) = lease
            && let Err(error) = lease.release()
        {
            log::warn!("cannot release a single-flight lease: {error:#}");
        }
    }
}

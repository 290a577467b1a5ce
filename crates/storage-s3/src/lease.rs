//! Single-flight leases on S3: one small object per task at
//! `<prefix><workflow>/.leases/<task>`, holding its holder, a token and an
//! expiry. It is created with `If-None-Match: *`, renewed and taken over
//! with `If-Match: <etag>`, and deleted on release. After every write the
//! lease is read back and its token compared, so a store that checks
//! conditions before writing rather than atomically with it (the in-test
//! server) cannot leave two holders both believing they won.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use functionfuse_core::{Lease, LeaseAttempt};
use serde::{Deserialize, Serialize};

use crate::bucket::Bucket;

/// The shortest time between two renewals of a lease.
const MIN_RENEW_EVERY: Duration = Duration::from_millis(100);

/// How long a new lease settles before it is read back.
const SETTLE: Duration = Duration::from_millis(50);

/// What a lease object holds.
#[derive(Debug, Serialize, Deserialize)]
struct LeaseBody {
    holder: String,
    token: String,
    expires_ns: u64,
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
        })
}

fn body(holder: &str, token: &str, ttl: Duration) -> Vec<u8> {
    let lease = LeaseBody {
        holder: holder.to_owned(),
        token: token.to_owned(),
        expires_ns: now_ns().saturating_add(u64::try_from(ttl.as_nanos()).unwrap_or(u64::MAX)),
    };
    serde_json::to_vec(&lease).unwrap_or_default()
}

/// Tries to take the lease at `key` for `holder`.
pub(crate) fn try_lease(
    bucket: &Arc<Bucket>,
    key: &str,
    holder: &str,
    ttl: Duration,
) -> anyhow::Result<LeaseAttempt> {
    let token = uuid::Uuid::new_v4().simple().to_string();
    // A few rounds: the lease may vanish or expire between two requests.
    for _ in 0..4 {
        let written = if bucket
            .runtime
            .block_on(bucket.put_if_absent(key, body(holder, &token, ttl)))?
        {
            true
        } else {
            match bucket.runtime.block_on(bucket.get_with_etag(key))? {
                None => continue, // released meanwhile
                Some((bytes, etag)) => match serde_json::from_slice::<LeaseBody>(&bytes) {
                    Ok(lease) if lease.expires_ns > now_ns() => {
                        return Ok(LeaseAttempt::Held {
                            holder: lease.holder,
                        });
                    }
                    // Expired (its holder died), or unreadable: take it over.
                    _ => bucket
                        .runtime
                        .block_on(bucket.put_if_match(key, body(holder, &token, ttl), &etag))?
                        .is_some(),
                },
            }
        };
        if !written {
            continue;
        }
        // Read back: only the writer whose token is there holds it. The
        // pause lets a racing write that passed the same condition land
        // first, on stores that check conditions before writing.
        std::thread::sleep(SETTLE);
        if let Some((bytes, etag)) = bucket.runtime.block_on(bucket.get_with_etag(key))? {
            match serde_json::from_slice::<LeaseBody>(&bytes) {
                Ok(lease) if lease.token == token => {
                    return Ok(LeaseAttempt::Acquired(Box::new(S3Lease {
                        bucket: Arc::clone(bucket),
                        key: key.to_owned(),
                        holder: holder.to_owned(),
                        token,
                        ttl,
                        etag: Mutex::new(Some(etag)),
                    })));
                }
                Ok(lease) => {
                    return Ok(LeaseAttempt::Held {
                        holder: lease.holder,
                    });
                }
                Err(_) => {}
            }
        }
    }
    Ok(LeaseAttempt::Held {
        holder: format!("another process (the lease {key} keeps changing)"),
    })
}

/// A lease held on S3.
struct S3Lease {
    bucket: Arc<Bucket>,
    key: String,
    holder: String,
    token: String,
    ttl: Duration,
    /// The entity tag of our last write: renewals are conditional on it.
    /// `None` once the lease was taken over: it is no longer ours to
    /// renew or release.
    etag: Mutex<Option<String>>,
}

impl Lease for S3Lease {
    fn renew_every(&self) -> Option<Duration> {
        // Not a busy loop of PUTs for a lease of (almost) zero.
        Some((self.ttl / 3).max(MIN_RENEW_EVERY))
    }

    fn renew(&self) -> anyhow::Result<()> {
        let mut etag = self
            .etag
            .lock()
            .map_err(|_| anyhow::anyhow!("the lease's state was poisoned"))?;
        let Some(current) = etag.as_deref() else {
            return Ok(()); // lost, and said so once
        };
        let renewed = self.bucket.runtime.block_on(self.bucket.put_if_match(
            &self.key,
            body(&self.holder, &self.token, self.ttl),
            current,
        ))?;
        let taken_over = renewed.is_none();
        *etag = renewed;
        anyhow::ensure!(
            !taken_over,
            "the lease {} was taken over: another process may compute the task too",
            self.key
        );
        Ok(())
    }

    fn release(self: Box<Self>) -> anyhow::Result<()> {
        // Only our own lease: a taken-over one belongs to its new holder.
        if self.etag.lock().is_ok_and(|etag| etag.is_none()) {
            return Ok(());
        }
        let current = self
            .bucket
            .runtime
            .block_on(self.bucket.get_with_etag(&self.key))?;
        if let Some((bytes, _)) = current
            && serde_json::from_slice::<LeaseBody>(&bytes)
                .is_ok_and(|lease| lease.token == self.token)
        {
            self.bucket
                .runtime
                .block_on(self.bucket.delete(&self.key))?;
        }
        Ok(())
    }
}

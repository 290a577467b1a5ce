//! [`Limits`]: the largest record and header a read accepts.

use serde::{Deserialize, Serialize};

/// The largest record and record header a [`Storage`](crate::Storage)
/// reads: a record over the limit is refused with
/// [`Error::TooLarge`](crate::Error::TooLarge) before it is read, so a
/// stray huge file or a damaged length field never makes a read allocate
/// gigabytes. Big data (arrays) is not a record and not limited here.
///
/// Set per storage with [`Storage::set_limits`](crate::Storage::set_limits),
/// or in a config as `"limits": {"max_record_bytes": …, "max_header_bytes": …}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// The largest record, in bytes (default 1 GiB).
    pub max_record_bytes: u64,
    /// The largest record header, in bytes (default 16 MiB; a header holds
    /// the type name and the persistent ids, usually under a kilobyte).
    pub max_header_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_record_bytes: 1 << 30,
            max_header_bytes: 16 << 20,
        }
    }
}

/// The error a backend's [`get_limited`](crate::StorageBackend::get_limited)
/// returns (inside its `anyhow::Error`) for a record over the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the record is {size} bytes, over the limit of {limit}")]
pub struct RecordTooLarge {
    /// The record's size.
    pub size: u64,
    /// The limit it is over.
    pub limit: u64,
}

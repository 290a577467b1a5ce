//! The one error type of the typed API.

use std::fmt;

/// Result alias used throughout Function Fuse.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a [`Storage`](crate::Storage) call.
///
/// Match on the variant to react (recompute on [`Error::NotFound`] or
/// [`Error::CorruptRecord`], fix the call on [`Error::InvalidName`], ...);
/// the `Display` text says what happened and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No record is stored for this workflow and task.
    #[error("no result stored for task `{task}` of workflow `{workflow}`")]
    NotFound {
        /// The workflow that was asked for.
        workflow: String,
        /// The task that was asked for.
        task: String,
    },

    /// The stored record is damaged: truncated, wrong magic, bad checksum or
    /// an undecodable header. Its result must be recomputed.
    #[error(
        "record of task `{task}` in workflow `{workflow}` is corrupt: {reason}; recompute the task to replace it"
    )]
    CorruptRecord {
        /// The workflow of the record.
        workflow: String,
        /// The task of the record.
        task: String,
        /// What check failed.
        reason: String,
    },

    /// The record is intact but holds a value of another type than the one
    /// requested.
    #[error(
        "task `{task}` of workflow `{workflow}` holds a `{stored}`, which cannot be read as `{requested}`: {reason}"
    )]
    TypeMismatch {
        /// The workflow of the record.
        workflow: String,
        /// The task of the record.
        task: String,
        /// The type name stored in the record (or by the persistent serializer).
        stored: String,
        /// The type the caller asked for.
        requested: String,
        /// Why the value did not decode.
        reason: String,
    },

    /// A record, or its header, is larger than the storage's
    /// [`Limits`](crate::Limits) allow; it was not read.
    #[error(
        "the {what} of task `{task}` in workflow `{workflow}` is {size} bytes, over the limit of {limit}; \
         raise it with Storage::set_limits or the config's `limits` if the record is genuine"
    )]
    TooLarge {
        /// The workflow of the record.
        workflow: String,
        /// The task of the record.
        task: String,
        /// `"record"` or `"header"`.
        what: &'static str,
        /// Its size in bytes.
        size: u64,
        /// The limit.
        limit: u64,
    },

    /// A workflow or task name that could escape the storage or is reserved.
    #[error("invalid {what} name {name:?}: {reason}")]
    InvalidName {
        /// `"workflow"`, `"task"` or `"big-data object"`.
        what: &'static str,
        /// The rejected name.
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// A glob pattern that does not parse.
    #[error("invalid task pattern {pattern:?}: {reason}")]
    InvalidPattern {
        /// The rejected pattern.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The storage kind in a [`StorageConfig`](crate::StorageConfig) is not linked in.
    #[error("unknown storage kind {kind:?}; linked kinds: {}; enable the facade's cargo feature or depend on the backend crate", Kinds(.linked))]
    UnknownKind {
        /// The kind that was asked for.
        kind: String,
        /// The kinds linked into this program.
        linked: Vec<String>,
    },

    /// The options of a storage configuration are wrong for its kind.
    #[error("invalid options for storage kind `{kind}`: {source:#}")]
    InvalidOptions {
        /// The storage kind.
        kind: String,
        /// What the backend rejected.
        source: anyhow::Error,
    },

    /// No persistent serializer is registered for a type that needs one.
    #[error("no persistent serializer is registered for `{type_name}`{hint}")]
    NoSerializer {
        /// The Rust type that has no serializer.
        type_name: String,
        /// What to do about it.
        hint: String,
    },

    /// An input of a keyed node ([`Storage::node`](crate::Storage::node))
    /// cannot be encoded, so it cannot be fingerprinted; nothing was read
    /// or computed.
    #[error(
        "input `{input}` of task `{task}` in workflow `{workflow}` cannot be fingerprinted: {reason}; \
         give it a serializable value or leave it out of the key"
    )]
    Unencodable {
        /// The workflow of the node.
        workflow: String,
        /// The node's task.
        task: String,
        /// The input's name.
        input: String,
        /// serde's message.
        reason: String,
    },

    /// Another process kept computing this task for longer than the
    /// single-flight wait allows ([`SingleFlight::max_wait`](crate::SingleFlight::max_wait)).
    #[error(
        "task `{task}` of workflow `{workflow}` is being computed by {holder}; gave up after waiting {waited:?} \
         (raise SingleFlight::max_wait, or remove the holder's lease if it is gone)"
    )]
    Busy {
        /// The workflow.
        workflow: String,
        /// The task.
        task: String,
        /// Who holds the lease.
        holder: String,
        /// How long this process waited.
        waited: std::time::Duration,
    },

    /// A persistent serializer failed.
    #[error("persistent serializer `{serializer}` failed: {source:#}")]
    Serializer {
        /// The serializer's name.
        serializer: String,
        /// What went wrong.
        source: anyhow::Error,
    },

    /// A storage backend failed (I/O error, server down, permissions, ...).
    #[error("{backend} storage failed: {source:#}")]
    Backend {
        /// The backend's kind.
        backend: String,
        /// What went wrong.
        source: anyhow::Error,
    },

    /// The default serializer could not encode the value.
    #[error("cannot encode the result of task `{task}` of workflow `{workflow}`: {reason}")]
    Encode {
        /// The workflow of the task.
        workflow: String,
        /// The task.
        task: String,
        /// What serde or MessagePack reported.
        reason: String,
    },
}

/// Formats a list of kinds for [`Error::UnknownKind`].
struct Kinds<'a>(&'a [String]);

impl fmt::Display for Kinds<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        for (i, kind) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{kind:?}")?;
        }
        Ok(())
    }
}

/// The error a persistent serializer returns (inside its `anyhow::Error`)
/// when the stored object is of another type than the one requested.
///
/// [`Storage`](crate::Storage) turns it into [`Error::TypeMismatch`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored `{stored}` cannot be read as `{requested}`: {reason}")]
pub struct StoredTypeMismatch {
    /// What is stored (e.g. `float64 array of 2 dimensions`).
    pub stored: String,
    /// What was requested (the Rust type name).
    pub requested: String,
    /// Why they do not match.
    pub reason: String,
}

/// The error a persistent serializer returns (inside its `anyhow::Error`)
/// when the object a persistent id names is missing or damaged.
///
/// [`Storage`](crate::Storage) turns it into [`Error::CorruptRecord`]: the
/// result is lost as surely as with a damaged record, and
/// [`Storage::cached`](crate::Storage::cached) recomputes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("big-data object {location} is {reason}")]
pub struct DamagedObject {
    /// Where the object should be (a path or a key).
    pub location: String,
    /// What is wrong: `"missing"`, `"damaged: ..."`.
    pub reason: String,
}

/// The error a protocol implementation returns (inside its `anyhow::Error`)
/// when the storage itself fails: a folder that cannot be created, a disk
/// that is full, a server that does not answer.
///
/// [`Storage`](crate::Storage) reports it as [`Error::Backend`] whichever
/// part hit it, a record write or a persistent serializer's big data, so
/// users see one kind of error for one kind of cause.
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct StorageFailure {
    /// What the storage was doing (`cannot create big-data folder …`).
    pub context: String,
    /// Why it failed.
    #[source]
    pub source: anyhow::Error,
}

impl StorageFailure {
    /// A failure of `context` caused by `source`.
    pub fn new(context: impl Into<String>, source: impl Into<anyhow::Error>) -> Self {
        Self {
            context: context.into(),
            source: source.into(),
        }
    }

    /// Whether `error`, or anything it wraps, is a storage failure.
    pub fn is_in(error: &anyhow::Error) -> bool {
        error.chain().any(<dyn std::error::Error>::is::<Self>)
    }
}

/// The error a persistent serializer's optional operation returns (inside
/// its `anyhow::Error`) when the serializer does not implement it:
/// [`PersistentSerializer::verify`](crate::PersistentSerializer::verify)
/// and [`PersistentSerializer::copy`](crate::PersistentSerializer::copy).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("serializer `{serializer}` cannot {operation} its objects")]
pub struct Unsupported {
    /// The serializer's name.
    pub serializer: String,
    /// The operation (`"verify"`, `"copy"`).
    pub operation: &'static str,
}

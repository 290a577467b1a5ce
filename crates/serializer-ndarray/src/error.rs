//! [`ArrayError`]: what can go wrong reading through an
//! [`ArrayHandle`](crate::ArrayHandle) or writing with an
//! [`ArrayWriter`](crate::ArrayWriter).

use functionfuse_core::{DamagedObject, StorageFailure};

/// An error of an [`ArrayHandle`](crate::ArrayHandle) or an
/// [`ArrayWriter`](crate::ArrayWriter).
///
/// The stored array is never changed by a failed read, and a failed write
/// leaves nothing behind that a reader could see.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArrayError {
    /// A slice that does not fit the stored array (an index or range past
    /// an axis, a zero step, the wrong number of axes).
    #[error("slice {slice} does not fit the stored array of shape {shape:?}: {reason}")]
    OutOfBounds {
        /// The slice asked for, as written with `s![]`.
        slice: String,
        /// The stored array's shape.
        shape: Vec<usize>,
        /// What does not fit.
        reason: String,
    },

    /// An array (a caller's buffer, a written block) whose shape does not
    /// fit where it goes.
    #[error("shape mismatch: {0}")]
    Shape(String),

    /// What was asked cannot be done with this stored array (mapping a
    /// zarr array or a compressed HDF5 dataset, say); the message says what
    /// to do instead.
    #[error("{0}")]
    Unsupported(String),

    /// The stored array is missing or damaged: a missing chunk or file, a
    /// failed checksum, a file that disagrees with its record. Recompute
    /// the task.
    #[error("{0}; recompute the task to replace it")]
    Damaged(DamagedObject),

    /// The storage underneath failed (I/O error, server down, ...); the
    /// stored array may be fine.
    #[error("storage failed: {0:#}")]
    Storage(anyhow::Error),

    /// libhdf5 or zarrs refused an operation.
    #[error("{0:#}")]
    Format(anyhow::Error),
}

impl ArrayError {
    /// Classifies an error of the layers underneath: damage stays damage,
    /// storage failures stay storage failures, the rest is a format error.
    pub(crate) fn from_anyhow(error: anyhow::Error) -> Self {
        match error.downcast::<DamagedObject>() {
            Ok(damaged) => Self::Damaged(damaged),
            Err(error) if StorageFailure::is_in(&error) => Self::Storage(error),
            Err(error) => Self::Format(error),
        }
    }

    /// Back to the layers underneath: damage as a [`DamagedObject`], so
    /// that a storage reports it as a corrupt record.
    pub(crate) fn into_anyhow(self) -> anyhow::Error {
        match self {
            Self::Damaged(damaged) => damaged.into(),
            Self::Storage(error) | Self::Format(error) => error,
            other => anyhow::Error::new(other),
        }
    }

    /// A [`Damaged`](Self::Damaged) error for the object at `location`.
    pub(crate) fn damaged(location: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Damaged(DamagedObject {
            location: location.into(),
            reason: reason.into(),
        })
    }
}

impl From<hdf5::Error> for ArrayError {
    fn from(error: hdf5::Error) -> Self {
        Self::Format(error.into())
    }
}

//! Storage configuration and the factory that opens a storage by kind.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::registry;
use crate::storage::Storage;

/// Which storage to open: the same shape as Function Fuse's
/// `{"kind": "file", "options": {"path": "storage"}}`, readable from JSON,
/// TOML or YAML with any serde format.
///
/// ```
/// let config: functionfuse_core::StorageConfig =
///     serde_json::from_str(r#"{"kind": "file", "options": {"path": "storage"}}"#)?;
/// assert_eq!(config.kind, "file");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// The backend kind (`"file"`, `"S3"`, ...), matched without regard to ASCII case.
    pub kind: String,
    /// Options of that kind; each backend documents its own.
    #[serde(default = "empty_options")]
    pub options: serde_json::Value,
    /// The largest record and header reads accept (Rust only; defaults when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
}

fn empty_options() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

impl StorageConfig {
    /// A configuration of `kind` with `options`.
    pub fn new(kind: impl Into<String>, options: serde_json::Value) -> Self {
        Self {
            kind: kind.into(),
            options,
            limits: None,
        }
    }
}

/// Opens the storage a configuration describes, with every persistent
/// serializer linked into the program.
///
/// # Errors
/// [`Error::UnknownKind`] (listing the linked kinds) when no backend of that
/// kind is linked in; [`Error::InvalidOptions`] when the backend rejects the
/// options.
pub fn storage_factory(config: &StorageConfig) -> Result<Storage> {
    let registration = registry::find_backend(&config.kind).ok_or_else(|| Error::UnknownKind {
        kind: config.kind.clone(),
        linked: registry::linked_kinds(),
    })?;
    let backend = registration
        .create(&config.options)
        .map_err(|source| Error::InvalidOptions {
            kind: registration.kind().to_owned(),
            source,
        })?;
    let mut storage = Storage::new(backend);
    if let Some(limits) = config.limits {
        storage.set_limits(limits);
    }
    Ok(storage)
}

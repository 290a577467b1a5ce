//! Core of Function Fuse for Rust: the typed [`Storage`], the record format,
//! persistent serializers and the plugin registry.
//!
//! Most users depend on the `functionfuse` facade, which re-exports this
//! crate and links the storage backends and serializers its features pick.
//! Backend and serializer crates depend on this crate alone.
//!
//! ```
//! use functionfuse_core::{Storage, StorageConfig, storage_factory};
//!
//! // With no backend linked in, the factory names what is missing.
//! let config = StorageConfig::new("file", serde_json::json!({"path": "storage"}));
//! let error = storage_factory(&config).unwrap_err();
//! assert!(error.to_string().contains("unknown storage kind"));
//! ```

mod access;
mod backend;
mod config;
mod context;
mod error;
pub mod keyed;
mod limits;
pub mod maintenance;
pub mod names;
pub mod persistent;
mod protocols;
pub mod record;
mod registry;
mod serializer;
mod single_flight;
mod storage;
#[cfg(feature = "testing")]
pub mod testing;
pub mod type_names;

pub use access::DEFAULT_ACCESS_RESOLUTION;
pub use backend::{StorageBackend, StoredObject, check_object_path};
pub use config::{StorageConfig, storage_factory};
pub use error::{DamagedObject, Error, Result, StorageFailure, StoredTypeMismatch, Unsupported};
pub use keyed::{
    CodeVersion, DryRun, Fingerprint, Node, NodeKey, Ran, Reason, StoredNode, Verdict,
};
pub use limits::{Limits, RecordTooLarge};
pub use persistent::Persistent;
pub use protocols::{
    BoxFuture, FILE_PROTOCOL, FileProtocol, NewFile, ProtocolInterface, Protocols, S3_PROTOCOL,
    S3Protocol,
};
pub use registry::{
    BackendConstructor, PersistentSerializerRegistration, StorageBackendRegistration, linked_kinds,
};
pub use serializer::{PersistentId, PersistentSerializer, SerializerClass};
pub use single_flight::{Lease, LeaseAttempt, SingleFlight, holder_description};
pub use storage::{Cached, Origin, Savable, Storage};

/// Re-exports for the registration macros; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use inventory;
}

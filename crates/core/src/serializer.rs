//! Persistent serializers: objects of a given type stored out of band.

use std::any::{Any, TypeId};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::protocols::Protocols;

/// The Rust type a persistent serializer takes over.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SerializerClass {
    /// Identity of the type.
    pub type_id: TypeId,
    /// Its name, for messages and the record header.
    pub type_name: &'static str,
}

impl SerializerClass {
    /// The class of `T`.
    pub fn of<T: Any>() -> Self {
        Self {
            type_id: TypeId::of::<T>(),
            type_name: std::any::type_name::<T>(),
        }
    }
}

impl fmt::Debug for SerializerClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_name)
    }
}

/// The reference a persistent serializer leaves in the record: enough to
/// read, describe or remove the object without knowing its Rust type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersistentId {
    /// Name of the serializer that wrote it (e.g. `"ndarray"`).
    pub serializer: String,
    /// The serializer's own format version.
    pub version: u32,
    /// Where the object lives, relative to the protocol's namespace
    /// (a file name in the big-data folder, or a key under the big-data prefix).
    pub location: String,
    /// The protocol the object was written through ([`FILE_PROTOCOL`](crate::FILE_PROTOCOL) or
    /// [`S3_PROTOCOL`](crate::S3_PROTOCOL)).
    pub protocol: String,
    /// Small description (dtype, shape, ...).
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// A serializer that stores objects of one type out of band.
///
/// Register it for every storage by linking its crate (see
/// [`submit_persistent_serializer!`](crate::submit_persistent_serializer)), or
/// for one storage with
/// [`Storage::register_persistent_serializers`](crate::Storage::register_persistent_serializers).
///
/// Errors are `anyhow` errors; return a
/// [`StoredTypeMismatch`](crate::StoredTypeMismatch) from `unpickle` when the
/// stored object is not of the requested type, and
/// [`Protocols::missing`] when the storage offers no protocol you can use.
pub trait PersistentSerializer: Send + Sync + 'static {
    /// The name stored in persistent ids; one name may serve several types.
    fn name(&self) -> &str;

    /// The exact Rust type this serializer takes over.
    fn serializer_class(&self) -> SerializerClass;

    /// Stores `obj` (always of [`serializer_class`](Self::serializer_class)) and
    /// returns how to find it again.
    ///
    /// # Errors
    /// When no usable protocol is offered or the write fails; nothing may be
    /// left behind in that case.
    fn pickle(&self, obj: &dyn Any, protocols: &Protocols) -> anyhow::Result<PersistentId>;

    /// Reads the object that `pid` refers to, as
    /// [`serializer_class`](Self::serializer_class).
    ///
    /// # Errors
    /// When the object is missing or damaged, or stored as another type.
    fn unpickle(
        &self,
        pid: &PersistentId,
        protocols: &Protocols,
    ) -> anyhow::Result<Box<dyn Any + Send>>;

    /// The crate, with its version, that the handled type comes from (e.g.
    /// `"ndarray 0.17"`): named in hints when a program holds a type of the
    /// same name from another version of that crate, which this serializer
    /// cannot take. `None` (the default) says nothing.
    fn type_origin(&self) -> Option<&str> {
        None
    }

    /// The serializer as `Any`, so that code which knows its concrete type
    /// can read its settings (found with
    /// [`Storage::persistent_serializer_for`](crate::Storage::persistent_serializer_for)).
    /// The default, `None`, keeps it opaque.
    fn as_any(&self) -> Option<&dyn Any> {
        None
    }

    /// Deletes the object that `pid` refers to; a missing object is not an error.
    ///
    /// # Errors
    /// When the object exists but cannot be deleted.
    fn remove(&self, pid: &PersistentId, protocols: &Protocols) -> anyhow::Result<()>;

    /// Checks the object that `pid` refers to without knowing the Rust
    /// type: that it exists, opens, and matches what `pid` records (type,
    /// shape, checksum). `ffuse verify` and
    /// [`Storage::verify`](crate::Storage::verify) call it.
    ///
    /// `pid` may name an object of another type this serializer's name also
    /// serves (one name, many types): decide from `pid`, not from
    /// [`serializer_class`](Self::serializer_class).
    ///
    /// # Errors
    /// [`DamagedObject`](crate::DamagedObject) when the object is missing or
    /// does not match; other errors when it cannot be reached. The default
    /// returns [`Unsupported`](crate::Unsupported): not checked.
    fn verify(&self, pid: &PersistentId, protocols: &Protocols) -> anyhow::Result<()> {
        let _ = (pid, protocols);
        Err(crate::Unsupported {
            serializer: self.name().to_owned(),
            operation: "verify",
        }
        .into())
    }

    /// Copies the object that `pid` refers to from one storage (`from`) to
    /// another (`to`), without knowing the Rust type, and returns its id
    /// there. The copy goes through `to`'s protocols, so its format may
    /// change (an ndarray HDF5 file becomes a zarr array on S3).
    /// [`Storage::copy_workflows`](crate::Storage::copy_workflows) and
    /// `ffuse cp` call it.
    ///
    /// # Errors
    /// When the object cannot be read or written; nothing may be left in
    /// `to` then. The default returns [`Unsupported`](crate::Unsupported).
    fn copy(
        &self,
        pid: &PersistentId,
        from: &Protocols,
        to: &Protocols,
    ) -> anyhow::Result<PersistentId> {
        let _ = (pid, from, to);
        Err(crate::Unsupported {
            serializer: self.name().to_owned(),
            operation: "copy",
        }
        .into())
    }
}

impl fmt::Debug for dyn PersistentSerializer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersistentSerializer")
            .field("name", &self.name())
            .field("class", &self.serializer_class())
            .finish()
    }
}

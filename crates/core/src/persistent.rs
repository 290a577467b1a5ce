//! Nested persistent objects: [`Persistent<T>`] and the `serde(with)` module
//! functions [`serialize`] and [`deserialize`].
//!
//! Inside [`Storage::save`](crate::Storage::save) a wrapped value is handed
//! to the persistent serializer registered for `T` and the payload keeps
//! only a reference (MessagePack extension type
//! [`PERSISTENT_EXT_TYPE`]). Outside a
//! storage (serde_json, say) the value is encoded inline, as plain `T`.
//!
//! ```
//! use functionfuse_core::Persistent;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Fit {
//!     score: f64,
//!     // stored out of band by the serializer registered for Vec<u8>, if any
//!     weights: Persistent<Vec<u8>>,
//! }
//! ```

use std::any::Any;
use std::fmt;
use std::ops::{Deref, DerefMut};

use serde::de::{DeserializeOwned, Error as _, Visitor};
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_bytes::ByteBuf;

use crate::context;
use crate::record::{PERSISTENT_EXT_TYPE, reference_bytes};

/// A field stored by the persistent serializer registered for `T`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Persistent<T>(pub T);

impl<T> Persistent<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The wrapped value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Persistent<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> Deref for Persistent<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Persistent<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: Serialize + Any> Serialize for Persistent<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self::serialize(&self.0, serializer)
    }
}

impl<'de, T: DeserializeOwned + Any> Deserialize<'de> for Persistent<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        self::deserialize(deserializer).map(Self)
    }
}

/// Serializes `value` through its persistent serializer during a save
/// (for `#[serde(with = "functionfuse::persistent")]`).
///
/// # Errors
/// When no serializer is registered for `T` or it fails; the save then
/// reports the structured [`Error`](crate::Error).
pub fn serialize<T, S>(value: &T, serializer: S) -> Result<S::Ok, S::Error>
where
    T: Serialize + Any,
    S: Serializer,
{
    match context::pickle(value) {
        None => value.serialize(serializer),
        Some(picked) => serialize_reference(picked, serializer),
    }
}

/// [`serialize`] for a whole value [`Storage::save`](crate::Storage::save)
/// knows as `dyn Any` (its serializer was found by type already).
pub(crate) fn serialize_whole<S: Serializer>(
    value: &dyn Any,
    type_name: &str,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match context::pickle_dyn(value, type_name) {
        None => Err(S::Error::custom("no save in progress on this thread")),
        Some(picked) => serialize_reference(picked, serializer),
    }
}

/// Writes the reference to persistent object `index`, or the error.
fn serialize_reference<S: Serializer>(
    picked: Result<u32, String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match picked {
        Ok(index) => serializer.serialize_newtype_struct(
            rmp_serde::MSGPACK_EXT_STRUCT_NAME,
            &(
                PERSISTENT_EXT_TYPE,
                serde_bytes::Bytes::new(&reference_bytes(index)),
            ),
        ),
        Err(message) => Err(S::Error::custom(message)),
    }
}

/// Reads a value written by [`serialize`] back through its persistent
/// serializer during a read.
///
/// # Errors
/// When the reference is malformed, no serializer is registered for `T`, or
/// the serializer fails.
pub fn deserialize<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: DeserializeOwned + Any,
    D: Deserializer<'de>,
{
    if !context::reading() {
        return T::deserialize(deserializer);
    }
    let (tag, data) =
        deserializer.deserialize_newtype_struct(rmp_serde::MSGPACK_EXT_STRUCT_NAME, ExtVisitor)?;
    if tag != PERSISTENT_EXT_TYPE {
        return Err(D::Error::custom(format!(
            "expected a persistent reference (extension type {PERSISTENT_EXT_TYPE}), found extension type {tag}"
        )));
    }
    let index: [u8; 4] = data.as_slice().try_into().map_err(|_| {
        D::Error::custom(format!(
            "a persistent reference holds 4 bytes, this one {}",
            data.len()
        ))
    })?;
    context::unpickle(u32::from_be_bytes(index)).map_err(D::Error::custom)
}

/// Reads a MessagePack extension as `(type, data)`.
struct ExtVisitor;

impl<'de> Visitor<'de> for ExtVisitor {
    type Value = (i8, ByteBuf);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a MessagePack extension holding a persistent reference")
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        <(i8, ByteBuf)>::deserialize(deserializer)
    }
}

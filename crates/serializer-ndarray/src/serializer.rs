//! [`NdarraySerializer`]: the persistent serializer of `Array<A, D>`.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use functionfuse_core::{
    FILE_PROTOCOL, PersistentId, PersistentSerializer, ProtocolInterface, Protocols, S3_PROTOCOL,
    S3Protocol, SerializerClass,
};
use ndarray::{Array, ArrayD, ArrayViewD, Dimension, IxDyn};

use crate::checksum::Checks;
use crate::element::Element;
use crate::error::ArrayError;
use crate::handle::ArrayHandle;
use crate::options::NdarrayOptions;
use crate::{FORMAT_VERSION, NAME, hdf5_file, mismatch, transfer, zarr_array};

/// Stores `Array<A, D>` as one HDF5 file per array through `FILE_PROTOCOL`.
///
/// One instance serves one exact type; the crate links one for every
/// supported element type and dimension, and [`serializers`](crate::serializers)
/// builds the whole set with other [`NdarrayOptions`].
pub struct NdarraySerializer<A, D> {
    options: NdarrayOptions,
    array: PhantomData<fn() -> Array<A, D>>,
}

impl<A, D> NdarraySerializer<A, D> {
    /// A serializer with `options`.
    pub fn new(options: NdarrayOptions) -> Self {
        Self {
            options,
            array: PhantomData,
        }
    }

    /// The options it writes with.
    pub fn options(&self) -> &NdarrayOptions {
        &self.options
    }
}

impl<A, D> Default for NdarraySerializer<A, D> {
    fn default() -> Self {
        Self::new(NdarrayOptions::default())
    }
}

impl<A: Element, D: Dimension + 'static> PersistentSerializer for NdarraySerializer<A, D> {
    fn name(&self) -> &str {
        NAME
    }

    fn serializer_class(&self) -> SerializerClass {
        SerializerClass::of::<Array<A, D>>()
    }

    fn type_origin(&self) -> Option<&str> {
        Some(crate::NDARRAY)
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }

    fn pickle(&self, obj: &dyn Any, protocols: &Protocols) -> anyhow::Result<PersistentId> {
        let array = obj
            .downcast_ref::<Array<A, D>>()
            .context("handed an object that is not the array type it serves")?;
        store(&array.view().into_dyn(), protocols, &self.options)
    }

    fn unpickle(
        &self,
        pid: &PersistentId,
        protocols: &Protocols,
    ) -> anyhow::Result<Box<dyn Any + Send>> {
        check_version(pid)?;
        check_metadata::<A, D>(pid)?;
        let array = load::<A, Array<A, D>>(pid, protocols)?;
        let ndim = array.ndim();
        let array = array.into_dimensionality::<D>().map_err(|_| {
            mismatch::<Array<A, D>>(
                format!("{} array of {ndim} dimensions", A::DTYPE),
                format!("the stored array has {ndim} dimensions"),
            )
        })?;
        Ok(Box::new(array))
    }

    fn remove(&self, pid: &PersistentId, protocols: &Protocols) -> anyhow::Result<()> {
        remove(pid, protocols)
    }

    fn verify(&self, pid: &PersistentId, protocols: &Protocols) -> anyhow::Result<()> {
        verify(pid, protocols)
    }

    fn copy(
        &self,
        pid: &PersistentId,
        from: &Protocols,
        to: &Protocols,
    ) -> anyhow::Result<PersistentId> {
        copy(pid, from, to, &self.options)
    }
}

/// [`PersistentSerializer::verify`] of every array type: by the dtype the
/// id records, block by block.
fn verify(pid: &PersistentId, protocols: &Protocols) -> anyhow::Result<()> {
    check_version(pid)?;
    by_dtype!(stored_dtype(pid)?, E => {
        let handle = ArrayHandle::<E>::open(pid, protocols)?;
        transfer::verify(&handle).map_err(ArrayError::into_anyhow)
    })
}

/// [`PersistentSerializer::copy`] of every array type, block by block.
fn copy(
    pid: &PersistentId,
    from: &Protocols,
    to: &Protocols,
    options: &NdarrayOptions,
) -> anyhow::Result<PersistentId> {
    check_version(pid)?;
    by_dtype!(stored_dtype(pid)?, E => {
        transfer::copy(&ArrayHandle::<E>::open(pid, from)?, to, options)
    })
}

/// Stores [`ArrayHandle<A>`]: reading one opens the array a record names
/// (of any dimension), saving one copies its data block by block.
pub(crate) struct HandleSerializer<A> {
    options: NdarrayOptions,
    element: PhantomData<fn() -> A>,
}

impl<A> HandleSerializer<A> {
    /// A serializer with `options` (for the copies saving makes).
    pub(crate) fn new(options: NdarrayOptions) -> Self {
        Self {
            options,
            element: PhantomData,
        }
    }
}

impl<A: Element> PersistentSerializer for HandleSerializer<A> {
    fn name(&self) -> &str {
        NAME
    }

    fn serializer_class(&self) -> SerializerClass {
        SerializerClass::of::<ArrayHandle<A>>()
    }

    fn pickle(&self, obj: &dyn Any, protocols: &Protocols) -> anyhow::Result<PersistentId> {
        let handle = obj
            .downcast_ref::<ArrayHandle<A>>()
            .context("handed an object that is not the handle type it serves")?;
        transfer::copy(handle, protocols, &self.options)
    }

    fn unpickle(
        &self,
        pid: &PersistentId,
        protocols: &Protocols,
    ) -> anyhow::Result<Box<dyn Any + Send>> {
        check_version(pid)?;
        check_metadata::<A, IxDyn>(pid)?;
        Ok(Box::new(ArrayHandle::<A>::open(pid, protocols)?))
    }

    fn remove(&self, pid: &PersistentId, protocols: &Protocols) -> anyhow::Result<()> {
        remove(pid, protocols)
    }

    fn verify(&self, pid: &PersistentId, protocols: &Protocols) -> anyhow::Result<()> {
        verify(pid, protocols)
    }

    fn copy(
        &self,
        pid: &PersistentId,
        from: &Protocols,
        to: &Protocols,
    ) -> anyhow::Result<PersistentId> {
        copy(pid, from, to, &self.options)
    }
}

/// [`PersistentSerializer::remove`] of every array type.
fn remove(pid: &PersistentId, protocols: &Protocols) -> anyhow::Result<()> {
    if pid.protocol == S3_PROTOCOL {
        let Some(s3) = protocols.s3() else {
            return Err(protocols.missing(NAME, &[S3_PROTOCOL]));
        };
        return zarr_array::remove(s3, &pid.location);
    }
    let Some(file) = protocols.file() else {
        return Err(protocols.missing(NAME, &[FILE_PROTOCOL]));
    };
    file.remove(&pid.location)
}

/// Runs `$body` with `$element` the element type the NumPy name `$dtype` names.
macro_rules! by_dtype {
    ($dtype:expr, $element:ident => $body:expr) => {
        match $dtype {
            "float32" => {
                type $element = f32;
                $body
            }
            "float64" => {
                type $element = f64;
                $body
            }
            "int8" => {
                type $element = i8;
                $body
            }
            "int16" => {
                type $element = i16;
                $body
            }
            "int32" => {
                type $element = i32;
                $body
            }
            "int64" => {
                type $element = i64;
                $body
            }
            "uint8" => {
                type $element = u8;
                $body
            }
            "uint16" => {
                type $element = u16;
                $body
            }
            "uint32" => {
                type $element = u32;
                $body
            }
            "uint64" => {
                type $element = u64;
                $body
            }
            "bool" => {
                type $element = bool;
                $body
            }
            other => bail!("unknown dtype {other:?} in the persistent id"),
        }
    };
}
use by_dtype;

/// The dtype the persistent id records.
fn stored_dtype(pid: &PersistentId) -> anyhow::Result<&str> {
    pid.metadata
        .get("dtype")
        .and_then(|dtype| dtype.as_str())
        .context("the persistent id records no dtype")
}

/// Refuses ids of a newer format than this build reads.
fn check_version(pid: &PersistentId) -> anyhow::Result<()> {
    if pid.version > FORMAT_VERSION {
        bail!(
            "written by format version {} of serializer `{NAME}`; this build reads up to {FORMAT_VERSION}",
            pid.version
        );
    }
    Ok(())
}

/// Stores `view` through the storage's protocols (HDF5 on files, zarr on
/// S3) and returns its persistent id.
pub(crate) fn store<A: Element>(
    view: &ArrayViewD<'_, A>,
    protocols: &Protocols,
    options: &NdarrayOptions,
) -> anyhow::Result<PersistentId> {
    // HDF5 on files, zarr on S3: the storage's protocols decide.
    if let Some(file) = protocols.file() {
        let new_file = file.create("h5")?;
        let checks = hdf5_file::write(new_file.temp_path(), view, options).with_context(|| {
            format!("cannot write HDF5 file {}", new_file.temp_path().display())
        })?;
        let location = new_file.commit()?;
        Ok(persistent_id::<A>(
            location,
            FILE_PROTOCOL,
            "hdf5",
            view.shape(),
            checks,
        ))
    } else if let Some(s3) = shared_s3(protocols) {
        let location = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            zarr_array::ZARR_SUFFIX
        );
        let checks = zarr_array::write(&s3, &location, view, options)?;
        Ok(persistent_id::<A>(
            location,
            S3_PROTOCOL,
            "zarr",
            view.shape(),
            checks,
        ))
    } else {
        Err(protocols.missing(NAME, &[FILE_PROTOCOL, S3_PROTOCOL]))
    }
}

/// The id of an array of elements `A` and `shape` stored at `location`
/// through `protocol`, in `format` (`"hdf5"` or `"zarr"`), whose data has
/// the [`checksums`](crate::checksum) `checks`.
pub(crate) fn persistent_id<A: Element>(
    location: String,
    protocol: &str,
    format: &str,
    shape: &[usize],
    checks: Checks,
) -> PersistentId {
    let mut metadata = serde_json::Map::new();
    metadata.insert("dtype".into(), A::DTYPE.into());
    metadata.insert("shape".into(), shape.into());
    metadata.insert("format".into(), format.into());
    if format == "hdf5" {
        metadata.insert("dataset".into(), hdf5_file::DATASET.into());
    }
    metadata.insert(CHECKSUM_KEY.into(), checks.crc32c.into());
    metadata.insert(
        FINGERPRINT_KEY.into(),
        format!("{:032x}", checks.xxh3).into(),
    );
    PersistentId {
        serializer: NAME.to_owned(),
        version: FORMAT_VERSION,
        location,
        protocol: protocol.to_owned(),
        metadata,
    }
}

/// Reads the array `pid` names, of elements `A`, checking it against the
/// id (shape, checksum).
fn load<A: Element, Requested>(
    pid: &PersistentId,
    protocols: &Protocols,
) -> anyhow::Result<ArrayD<A>> {
    ArrayHandle::<A>::open_as::<Requested>(pid, protocols)?
        .read()
        .map_err(ArrayError::into_anyhow)
}

/// The S3 protocol, shared: zarrs' stores own their storage.
pub(crate) fn shared_s3(protocols: &Protocols) -> Option<Arc<dyn S3Protocol>> {
    match protocols.get(S3_PROTOCOL) {
        Some(ProtocolInterface::S3(s3)) => Some(Arc::clone(s3)),
        _ => None,
    }
}

/// The key of the data's [`checksum`](crate::checksum) in the persistent
/// id's metadata.
pub(crate) const CHECKSUM_KEY: &str = "crc32c";

/// The key of the data's fingerprint (XXH3-128 of the same bytes as the
/// checksum, 32 hex digits) in the persistent id's metadata: computed once
/// when the array is saved, it is what keyed results compare.
pub(crate) const FINGERPRINT_KEY: &str = functionfuse_core::keyed::CONTENT_FINGERPRINT_KEY;

/// The checksum the persistent id records, if it records one (records
/// written before checksums were kept have none).
pub(crate) fn recorded_checksum(pid: &PersistentId) -> Option<u32> {
    pid.metadata
        .get(CHECKSUM_KEY)?
        .as_u64()
        .and_then(|check| u32::try_from(check).ok())
}

/// The shape the persistent id records, if it records one.
pub(crate) fn recorded_shape(pid: &PersistentId) -> Option<Vec<usize>> {
    pid.metadata
        .get("shape")?
        .as_array()?
        .iter()
        .map(|extent| extent.as_u64().and_then(|e| usize::try_from(e).ok()))
        .collect()
}

/// Compares the dtype and rank recorded in the id with the requested type,
/// so a mismatch is reported without opening the file.
fn check_metadata<A: Element, D: Dimension + 'static>(pid: &PersistentId) -> anyhow::Result<()> {
    let dtype = pid.metadata.get("dtype").and_then(|v| v.as_str());
    let ndim = pid
        .metadata
        .get("shape")
        .and_then(|v| v.as_array())
        .map(Vec::len);
    let stored = format!(
        "{} array of {} dimensions",
        dtype.unwrap_or("?"),
        ndim.map_or("?".to_owned(), |n| n.to_string())
    );
    if let Some(dtype) = dtype
        && dtype != A::DTYPE
    {
        bail!(mismatch::<Array<A, D>>(
            stored,
            format!("elements are {dtype}, not {}", A::DTYPE)
        ));
    }
    if let (Some(ndim), Some(wanted)) = (ndim, D::NDIM)
        && ndim != wanted
    {
        bail!(mismatch::<Array<A, D>>(
            stored,
            format!("it has {ndim} dimensions, not {wanted}")
        ));
    }
    Ok(())
}

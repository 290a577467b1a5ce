//! Persistent serializer for `ndarray` arrays: each array goes to its own
//! HDF5 file in the workflow's big-data folder when the storage speaks
//! [`FILE_PROTOCOL`](functionfuse_core::FILE_PROTOCOL).
//!
//! Linking this crate registers a serializer named `"ndarray"` for every
//! owned `Array<A, D>` with `A` one of `f32 f64 i8 i16 i32 i64 u8 u16 u32 u64
//! bool` and `D` one of `Ix0`…`Ix6` or `IxDyn`. Save an array as a whole
//! result, or nest it in your own type with
//! [`Persistent<T>`](functionfuse_core::Persistent):
//!
//! ```
//! use functionfuse_core::Storage;
//! use functionfuse_storage_file::FileBackend;
//! use ndarray::{Array2, ArrayD};
//! # use functionfuse_serializer_ndarray as _;
//!
//! let folder = tempfile::tempdir()?;
//! let storage = Storage::new(Box::new(FileBackend::new(folder.path())));
//! let matrix = Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f64);
//! storage.save("wf", "matrix", &matrix)?;
//! assert_eq!(storage.read_task::<Array2<f64>>("wf", "matrix")?, matrix);
//! // The same file read with a dynamic number of dimensions:
//! assert_eq!(storage.read_task::<ArrayD<f64>>("wf", "matrix")?, matrix.into_dyn());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The file holds one dataset, `/array`, of the array's element type and
//! shape (C order), with attributes `functionfuse_serializer = "ndarray"` and
//! `functionfuse_format_version = 1`; h5py reads it as
//! `h5py.File(path)["array"][()]`.

mod checksum;
mod element;
mod error;
mod handle;
mod hdf5_file;
mod mapped;
mod options;
mod raw_region;
mod selection;
mod serializer;
mod sink;
mod storage_ext;
mod transfer;
mod zarr_array;
mod zarr_store;

use std::sync::Arc;

use functionfuse_core::{PersistentSerializer, StoredTypeMismatch};
use ndarray::{Ix0, Ix1, Ix2, Ix3, Ix4, Ix5, Ix6, IxDyn};
use serializer::HandleSerializer;

pub use element::Element;
pub use error::ArrayError;
pub use handle::{ArrayHandle, Blocks};
pub use hdf5_file::{DATASET, SERIALIZER_ATTR, VERSION_ATTR};
pub use mapped::MappedArray;
pub use options::{Compression, NdarrayOptions, ZARR_CHUNK_BYTES};
pub use serializer::NdarraySerializer;
pub use storage_ext::{ArrayStorage, ArrayWriter};
pub use zarr_array::ZARR_SUFFIX;

/// The serializer's name in persistent ids.
pub const NAME: &str = "ndarray";
/// The ndarray release whose array types this crate stores (a test keeps
/// it equal to the workspace's dependency). Arrays of another ndarray
/// version are other types: use the re-export `functionfuse::ndarray`.
pub const NDARRAY: &str = "ndarray 0.17";
/// The version of the file layout this crate writes.
pub const FORMAT_VERSION: u32 = 1;

#[cfg(test)]
mod tests {
    #[test]
    fn names_the_ndarray_release_it_links() {
        let manifest = include_str!("../../../Cargo.toml");
        let version = super::NDARRAY.trim_start_matches("ndarray ");
        assert!(
            manifest.contains(&format!("ndarray = {{ version = \"{version}\"")),
            "NDARRAY says {version}; update it to the workspace's ndarray"
        );
    }
}

fn mismatch<T>(stored: String, reason: String) -> StoredTypeMismatch {
    StoredTypeMismatch {
        stored,
        requested: std::any::type_name::<T>().to_owned(),
        reason,
    }
}

/// Calls `$apply!(A $(, arg)*)` for every supported element type: the one
/// list of them.
macro_rules! for_each_element {
    ($apply:ident $(, $arg:ident)*) => {
        $apply!(f32 $(, $arg)*);
        $apply!(f64 $(, $arg)*);
        $apply!(i8 $(, $arg)*);
        $apply!(i16 $(, $arg)*);
        $apply!(i32 $(, $arg)*);
        $apply!(i64 $(, $arg)*);
        $apply!(u8 $(, $arg)*);
        $apply!(u16 $(, $arg)*);
        $apply!(u32 $(, $arg)*);
        $apply!(u64 $(, $arg)*);
        $apply!(bool $(, $arg)*);
    };
}

/// Calls `$apply!(A, D)` for every dimension type.
macro_rules! for_each_dimension {
    ($a:ty, $apply:ident) => {
        $apply!($a, Ix0);
        $apply!($a, Ix1);
        $apply!($a, Ix2);
        $apply!($a, Ix3);
        $apply!($a, Ix4);
        $apply!($a, Ix5);
        $apply!($a, Ix6);
        $apply!($a, IxDyn);
    };
}

/// Calls `$apply!(A, D)` for every supported element type and dimension.
macro_rules! for_each_array_type {
    ($apply:ident) => {
        for_each_element!(for_each_dimension, $apply);
    };
}

macro_rules! link {
    ($a:ty, $d:ty) => {
        functionfuse_core::submit_persistent_serializer!(|| Arc::new(
            NdarraySerializer::<$a, $d>::default()
        ));
    };
}

for_each_array_type!(link);

macro_rules! link_handle {
    ($a:ty) => {
        functionfuse_core::submit_persistent_serializer!(|| Arc::new(HandleSerializer::<$a>::new(
            NdarrayOptions::default()
        )));
    };
}

for_each_element!(link_handle);

/// Serializers for every supported array type (and
/// [`ArrayHandle`] of every element type) with `options`, for
/// [`Storage::register_persistent_serializers`](functionfuse_core::Storage::register_persistent_serializers)
/// (they replace the linked defaults on that storage).
///
/// ```
/// use functionfuse_serializer_ndarray::{Compression, NdarrayOptions, serializers};
///
/// let options = NdarrayOptions {
///     compression: Compression::Deflate { level: 1 },
///     ..NdarrayOptions::default()
/// };
/// assert_eq!(serializers(&options).len(), 99);
/// ```
pub fn serializers(options: &NdarrayOptions) -> Vec<Arc<dyn PersistentSerializer>> {
    let mut all: Vec<Arc<dyn PersistentSerializer>> = Vec::with_capacity(99);
    macro_rules! push {
        ($a:ty, $d:ty) => {
            all.push(Arc::new(NdarraySerializer::<$a, $d>::new(options.clone())));
        };
    }
    for_each_array_type!(push);
    macro_rules! push_handle {
        ($a:ty) => {
            all.push(Arc::new(HandleSerializer::<$a>::new(options.clone())));
        };
    }
    for_each_element!(push_handle);
    all
}

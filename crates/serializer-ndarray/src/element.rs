//! The element types the serializer stores, with their NumPy names.

use hdf5::H5Type;
use zarrs::array::{DataType, FillValue, data_type};

/// An array element type the ndarray serializer handles.
///
/// The name is NumPy's (`"float64"`, `"bool"`, ...): it is stored in the
/// persistent id and is what h5py and zarr-python report.
pub trait Element:
    H5Type
    + bytemuck::NoUninit
    + zarrs::array::ElementOwned
    + Into<FillValue>
    + Default
    + Send
    + Sync
    + 'static
{
    /// The NumPy name of the type.
    const DTYPE: &'static str;

    /// The zarr v3 data type.
    fn zarr_data_type() -> DataType;

    /// Whether every bit pattern of the type's size is a valid value, so
    /// that elements can be read as raw bytes (not `bool`).
    #[doc(hidden)]
    const RAW: bool;

    /// `values` as bytes to fill, for types that are [`RAW`](Self::RAW).
    #[doc(hidden)]
    fn raw_bytes_mut(values: &mut [Self]) -> Option<&mut [u8]>;

    /// `bytes` as elements, for types that are [`RAW`](Self::RAW), when
    /// suitably aligned and sized.
    #[doc(hidden)]
    fn from_raw_bytes(bytes: &[u8]) -> Option<&[Self]>;
}

macro_rules! elements {
    ($($t:ty => $name:literal, $zarr:ident),* $(,)?) => {$(
        impl Element for $t {
            const DTYPE: &'static str = $name;

            fn zarr_data_type() -> DataType {
                data_type::$zarr()
            }

            const RAW: bool = true;

            fn raw_bytes_mut(values: &mut [Self]) -> Option<&mut [u8]> {
                Some(bytemuck::cast_slice_mut(values))
            }

            fn from_raw_bytes(bytes: &[u8]) -> Option<&[Self]> {
                bytemuck::try_cast_slice(bytes).ok()
            }
        }
    )*};
}

elements!(
    f32 => "float32", float32,
    f64 => "float64", float64,
    i8 => "int8", int8,
    i16 => "int16", int16,
    i32 => "int32", int32,
    i64 => "int64", int64,
    u8 => "uint8", uint8,
    u16 => "uint16", uint16,
    u32 => "uint32", uint32,
    u64 => "uint64", uint64,
);

impl Element for bool {
    const DTYPE: &'static str = "bool";

    fn zarr_data_type() -> DataType {
        data_type::bool()
    }

    // Bytes other than 0 and 1 are not `bool`s: always read through
    // libhdf5 or zarrs, which convert.
    const RAW: bool = false;

    fn raw_bytes_mut(_: &mut [Self]) -> Option<&mut [u8]> {
        None
    }

    fn from_raw_bytes(_: &[u8]) -> Option<&[Self]> {
        None
    }
}

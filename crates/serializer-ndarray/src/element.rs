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
}

macro_rules! elements {
    ($($t:ty => $name:literal, $zarr:ident),* $(,)?) => {$(
        impl Element for $t {
            const DTYPE: &'static str = $name;

            fn zarr_data_type() -> DataType {
                data_type::$zarr()
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
    bool => "bool", bool,
);

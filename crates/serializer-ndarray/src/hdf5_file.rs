//! One array per HDF5 file: dataset [`DATASET`] with the serializer's
//! attributes.

use std::path::Path;
use std::str::FromStr;

use anyhow::{Context as _, bail, ensure};
use hdf5::filters::Filter;
use hdf5::types::VarLenUnicode;
use ndarray::{ArrayD, ArrayViewD};

use crate::element::Element;
use crate::options::{Compression, NdarrayOptions};
use crate::{FORMAT_VERSION, NAME};

/// Name of the dataset holding the array.
pub const DATASET: &str = "array";
/// Dataset attribute naming the serializer that wrote the file.
pub const SERIALIZER_ATTR: &str = "functionfuse_serializer";
/// Dataset attribute holding the serializer's format version.
pub const VERSION_ATTR: &str = "functionfuse_format_version";

/// Writes `array` as a new HDF5 file at `path`.
pub(crate) fn write<A: Element>(
    path: &Path,
    array: &ArrayViewD<'_, A>,
    options: &NdarrayOptions,
) -> anyhow::Result<()> {
    let file = hdf5::File::create(path)?;
    let dataset = if array.ndim() == 0 {
        let dataset = file.new_dataset::<A>().shape(()).create(DATASET)?;
        if let Some(value) = array.first() {
            dataset.write_scalar(value)?;
        }
        dataset
    } else {
        // HDF5 takes C order only: other layouts are copied once.
        let standard = array.as_standard_layout();
        let mut builder = file.new_dataset_builder().with_data(&standard);
        if let Some(chunk) = options.chunk_for(array.shape(), size_of::<A>()) {
            builder = builder.chunk(chunk);
            if let Compression::Deflate { level } = options.compression {
                builder = builder.set_filters(&[Filter::shuffle(), Filter::deflate(level.min(9))]);
            }
        }
        builder.create(DATASET)?
    };
    dataset
        .new_attr::<VarLenUnicode>()
        .create(SERIALIZER_ATTR)?
        .write_scalar(&VarLenUnicode::from_str(NAME)?)?;
    dataset
        .new_attr::<u32>()
        .create(VERSION_ATTR)?
        .write_scalar(&FORMAT_VERSION)?;
    drop(dataset);
    file.close()?;
    Ok(())
}

/// Reads the array of an HDF5 file written by [`write`], checking that it
/// holds elements of exactly type `A` (else a mismatch naming `Requested`,
/// the array type asked for) and, when the record says, the shape it was
/// written with (a damaged file cannot make us allocate wildly).
pub(crate) fn read<A: Element, Requested>(
    path: &Path,
    expected_shape: Option<&[usize]>,
) -> anyhow::Result<ArrayD<A>> {
    let file = hdf5::File::open(path)?;
    let dataset = file
        .dataset(DATASET)
        .with_context(|| format!("no dataset `{DATASET}`"))?;
    let stored = dataset.dtype()?.to_descriptor()?;
    let wanted = A::type_descriptor();
    if stored != wanted {
        bail!(crate::mismatch::<Requested>(
            format!("HDF5 {stored}"),
            format!("the file holds {stored}, not {wanted}"),
        ));
    }
    let shape = dataset.shape();
    if let Some(expected) = expected_shape {
        ensure!(
            shape == expected,
            "the file holds shape {shape:?}, the record says {expected:?}"
        );
    }
    let len = shape
        .iter()
        .try_fold(1_usize, |len, &extent| len.checked_mul(extent))
        .with_context(|| format!("shape {shape:?} overflows"))?;
    let values = if dataset.is_scalar() {
        vec![dataset.read_scalar::<A>()?]
    } else if len == 0 {
        Vec::new()
    } else {
        dataset.read_raw::<A>()?
    };
    ensure!(
        values.len() == len,
        "dataset holds {} values for shape {shape:?}",
        values.len()
    );
    Ok(ArrayD::from_shape_vec(shape, values)?)
}

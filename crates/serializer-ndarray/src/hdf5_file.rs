//! One array per HDF5 file: dataset [`DATASET`] with the serializer's
//! attributes.

use std::path::Path;
use std::str::FromStr;

use anyhow::{Context as _, bail, ensure};
use hdf5::filters::Filter;
use hdf5::types::VarLenUnicode;
use ndarray::{ArrayD, ArrayViewD};

use crate::checksum;
use crate::element::Element;
use crate::options::{Compression, NdarrayOptions};
use crate::{FORMAT_VERSION, NAME};

/// Name of the dataset holding the array.
pub const DATASET: &str = "array";
/// Dataset attribute naming the serializer that wrote the file.
pub const SERIALIZER_ATTR: &str = "functionfuse_serializer";
/// Dataset attribute holding the serializer's format version.
pub const VERSION_ATTR: &str = "functionfuse_format_version";

/// HDF5 files opened the way this crate opens every file: without libhdf5's
/// advisory file locks.
///
/// libhdf5 holds an `flock` while a file is open and opens it without
/// close-on-exec, so a child process that another thread starts meanwhile
/// inherits the descriptor and the lock for its whole life; h5py and h5dump
/// in other processes then cannot open the file. The locks buy us nothing:
/// a file is written under a temporary name and renamed into place, so no
/// one opens a file that is still being written, and it is never modified
/// afterwards.
fn unlocked() -> hdf5::FileBuilder {
    let mut builder = hdf5::File::with_options();
    builder.with_fapl(|fapl| fapl.file_locking(false));
    builder
}

/// Creates (or truncates) an HDF5 file for writing, without file locks.
pub(crate) fn create(path: &Path) -> hdf5::Result<hdf5::File> {
    unlocked().create(path)
}

/// Opens an HDF5 file for reading, without file locks.
pub(crate) fn open(path: &Path) -> hdf5::Result<hdf5::File> {
    unlocked().open(path).or_else(|unlocked_error| {
        // libhdf5 shares one handle among the opens of a file in a process
        // and refuses flags that differ from the first open's: a file this
        // program holds open with HDF5's default (locking) flags, e.g.
        // through hdf5-metno directly, opens only that way.
        hdf5::File::open(path).map_err(|_| unlocked_error)
    })
}

/// Writes `array` as a new HDF5 file at `path`; returns the
/// [`checksum`](crate::checksum) of its data.
pub(crate) fn write<A: Element>(
    path: &Path,
    array: &ArrayViewD<'_, A>,
    options: &NdarrayOptions,
) -> anyhow::Result<u32> {
    if let Compression::Zstd { .. } = options.compression {
        bail!(
            "HDF5 files support deflate compression, not zstd (zstd is for zarr arrays on S3): \
             use {{\"codec\": \"deflate\", \"level\": 1..9}} on file storages"
        );
    }
    let file = create(path)?;
    let (dataset, check) = if array.ndim() == 0 {
        let dataset = file.new_dataset::<A>().shape(()).create(DATASET)?;
        let value = array.first();
        if let Some(value) = value {
            dataset.write_scalar(value)?;
        }
        (
            dataset,
            checksum::of(value.map(std::slice::from_ref).unwrap_or_default()),
        )
    } else {
        // HDF5 takes C order only: other layouts are copied once.
        let standard = array.as_standard_layout();
        let values = standard
            .as_slice()
            .context("a standard-layout array is contiguous")?;
        let (dataset, check) = checksum::alongside(values, || {
            let mut builder = file.new_dataset_builder().with_data(&standard);
            if let Some(chunk) = options.chunk_for(array.shape(), size_of::<A>()) {
                builder = builder.chunk(chunk);
                if let Compression::Deflate { level } = options.compression {
                    builder =
                        builder.set_filters(&[Filter::shuffle(), Filter::deflate(level.min(9))]);
                }
            }
            builder.create(DATASET)
        });
        (dataset?, check)
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
    Ok(check)
}

/// What the record says about the array in a file; `None` where it says
/// nothing (records of other writers).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Expected<'a> {
    /// The shape it was written with: a damaged file cannot make us
    /// allocate wildly.
    pub(crate) shape: Option<&'a [usize]>,
    /// The [`checksum`](crate::checksum) of its data.
    pub(crate) checksum: Option<u32>,
}

/// Reads the array of an HDF5 file written by [`write`], checking that it
/// holds elements of exactly type `A` (else a mismatch naming `Requested`,
/// the array type asked for) and what the record says about it.
pub(crate) fn read<A: Element, Requested>(
    path: &Path,
    expected: Expected<'_>,
) -> anyhow::Result<ArrayD<A>> {
    let file = open(path)?;
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
    if let Some(expected) = expected.shape {
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
    if let Some(stored) = expected.checksum {
        let computed = checksum::of(&values);
        ensure!(
            computed == stored,
            "its data fails the integrity check (CRC-32C {computed:#010x}, the record says {stored:#010x})"
        );
    }
    Ok(ArrayD::from_shape_vec(shape, values)?)
}

#[cfg(test)]
mod tests {
    use std::process::{Child, Command, Stdio};

    use super::*;

    /// A process started while a file is open, as a thread of the user's
    /// program might start one: it inherits every descriptor not marked
    /// close-on-exec. Killed when dropped.
    struct Bystander(Child);

    impl Bystander {
        fn start() -> Self {
            let child = Command::new("sleep")
                .arg("60")
                .stdin(Stdio::null())
                .spawn()
                .unwrap();
            Self(child)
        }
    }

    impl Drop for Bystander {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// Whether another process can take an exclusive lock on `path` at once
    /// (what libhdf5 in h5py or h5dump asks for when it opens a file to write,
    /// and a shared one to read).
    fn lockable_by_another_process(path: &Path) -> bool {
        Command::new("flock")
            .args(["--nonblock", "--exclusive"])
            .arg(path)
            .arg("true")
            .status()
            .unwrap()
            .success()
    }

    #[test]
    fn a_child_started_while_a_file_is_open_holds_no_lock_on_it() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("a.h5");

        let file = create(&path).unwrap();
        file.new_dataset::<f64>().shape(3).create(DATASET).unwrap();
        let writing = Bystander::start();
        file.close().unwrap();
        assert!(
            lockable_by_another_process(&path),
            "a child started during the write keeps the file locked"
        );

        let file = open(&path).unwrap();
        let reading = Bystander::start();
        drop(file);
        assert!(
            lockable_by_another_process(&path),
            "a child started during a read keeps the file locked"
        );
        drop((writing, reading));
    }

    #[test]
    fn files_open_while_another_process_holds_a_lock_on_them() {
        // h5py or h5dump reading the file meanwhile holds a shared lock; an
        // exclusive one is the worst another program can hold.
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("a.h5");
        let array = ndarray::arr1(&[1.5_f64, -2.0]).into_dyn();
        write(&path, &array.view(), &NdarrayOptions::default()).unwrap();
        let mut holder = Command::new("flock")
            .args(["--exclusive"])
            .arg(&path)
            .args(["sleep", "60"])
            .spawn()
            .unwrap();
        // Wait until the holder has the lock.
        while lockable_by_another_process(&path) {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let expected = Expected {
            shape: Some(&[2]),
            checksum: None,
        };
        let read = read::<f64, ()>(&path, expected);
        let _ = holder.kill();
        let _ = holder.wait();
        assert_eq!(read.unwrap(), array);
    }
}

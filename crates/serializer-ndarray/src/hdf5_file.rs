//! One array per HDF5 file: dataset [`DATASET`] with the serializer's
//! attributes.

use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context as _, bail, ensure};
use functionfuse_core::StorageFailure;
use hdf5::filters::Filter;
use hdf5::plist::dataset_create::{AllocTime, FillTime};
use hdf5::types::VarLenUnicode;
use hdf5::{Hyperslab, SliceOrIndex};
use ndarray::{ArrayD, ArrayViewD, IxDyn};

use crate::checksum;
use crate::element::Element;
use crate::options::{Compression, NdarrayOptions};
use crate::selection::AxisRead;
use crate::{FORMAT_VERSION, NAME, raw_region};

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

/// Refuses options HDF5 files cannot honour.
fn check_options(options: &NdarrayOptions) -> anyhow::Result<()> {
    if let Compression::Zstd { .. } = options.compression {
        bail!(
            "HDF5 files support deflate compression, not zstd (zstd is for zarr arrays on S3): \
             use {{\"codec\": \"deflate\", \"level\": 1..9}} on file storages"
        );
    }
    Ok(())
}

/// The filters of a chunked dataset: shuffle (unless turned off) and
/// deflate when compressed; none otherwise.
fn filters(options: &NdarrayOptions) -> Vec<Filter> {
    match options.compression {
        Compression::Deflate { level } if options.shuffle => {
            vec![Filter::shuffle(), Filter::deflate(level.min(9))]
        }
        Compression::Deflate { level } => vec![Filter::deflate(level.min(9))],
        Compression::None | Compression::Zstd { .. } => Vec::new(),
    }
}

/// Marks the dataset as this serializer's.
fn write_attributes(dataset: &hdf5::Dataset) -> anyhow::Result<()> {
    dataset
        .new_attr::<VarLenUnicode>()
        .create(SERIALIZER_ATTR)?
        .write_scalar(&VarLenUnicode::from_str(NAME)?)?;
    dataset
        .new_attr::<u32>()
        .create(VERSION_ATTR)?
        .write_scalar(&FORMAT_VERSION)?;
    Ok(())
}

/// Writes `array` as a new HDF5 file at `path`; returns the
/// [`checksums`](crate::checksum) of its data.
pub(crate) fn write<A: Element>(
    path: &Path,
    array: &ArrayViewD<'_, A>,
    options: &NdarrayOptions,
) -> anyhow::Result<checksum::Checks> {
    check_options(options)?;
    let file = create(path)?;
    let (dataset, check) = if array.ndim() == 0 {
        let dataset = file.new_dataset::<A>().shape(()).create(DATASET)?;
        let value = array.first();
        if let Some(value) = value {
            dataset.write_scalar(value)?;
        }
        (
            dataset,
            checksum::Checks::of(value.map(std::slice::from_ref).unwrap_or_default()),
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
                builder = builder.chunk(chunk).set_filters(&filters(options));
            }
            builder.create(DATASET)
        });
        (dataset?, check)
    };
    write_attributes(&dataset)?;
    drop(dataset);
    file.close()?;
    Ok(check)
}

/// An HDF5 array file written block by block along the first axis: the
/// dataset has its final shape from the start, and each block fills the
/// rows after the previous one.
#[derive(Debug)]
pub(crate) struct BlockWriter {
    target: BlockTarget,
    rows_written: usize,
}

/// Where the rows go.
#[derive(Debug)]
enum BlockTarget {
    /// A contiguous dataset of raw elements, allocated when created: its
    /// metadata is complete and libhdf5 is done with the file, so rows are
    /// plain positioned writes at the data's offset.
    Raw {
        file: std::fs::File,
        offset: u64,
        row_bytes: u64,
    },
    /// Chunked or compressed datasets (and `bool`): through libhdf5.
    Library {
        file: hdf5::File,
        dataset: hdf5::Dataset,
    },
}

impl BlockWriter {
    /// Creates the file at `path` for an array of `shape` (at least one axis).
    pub(crate) fn create<A: Element>(
        path: &Path,
        shape: &[usize],
        options: &NdarrayOptions,
    ) -> anyhow::Result<Self> {
        check_options(options)?;
        let file = create(path)?;
        let chunk = options.chunk_for(shape, size_of::<A>());
        let mut builder = file.new_dataset::<A>().shape(shape);
        let raw = chunk.is_none() && A::RAW && !shape.contains(&0);
        if let Some(chunk) = chunk {
            builder = builder.chunk(chunk).set_filters(&filters(options));
        } else if raw {
            // Space at a known offset now, and no fill values written into
            // it: every row is written before the file is committed.
            builder = builder
                .alloc_time(Some(AllocTime::Early))
                .fill_time(FillTime::Never);
        }
        let dataset = builder.create(DATASET)?;
        write_attributes(&dataset)?;
        let target = match dataset.offset().filter(|_| raw) {
            Some(offset) => {
                let row_bytes = (shape[1..].iter().product::<usize>() * size_of::<A>()) as u64;
                drop(dataset);
                file.close()?;
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|error| {
                        StorageFailure::new(format!("cannot open {}", path.display()), error)
                    })?;
                BlockTarget::Raw {
                    file,
                    offset,
                    row_bytes,
                }
            }
            None => BlockTarget::Library { file, dataset },
        };
        Ok(Self {
            target,
            rows_written: 0,
        })
    }

    /// Writes the next rows (`block`, in C order).
    pub(crate) fn write<A: Element>(&mut self, block: &ArrayViewD<'_, A>) -> anyhow::Result<()> {
        let rows = block.shape().first().copied().unwrap_or(0);
        if rows == 0 || block.is_empty() {
            self.rows_written += rows;
            return Ok(());
        }
        let standard = block.as_standard_layout();
        match &self.target {
            BlockTarget::Raw {
                file,
                offset,
                row_bytes,
            } => {
                let values = standard
                    .as_slice()
                    .context("a standard-layout block is contiguous")?;
                let at = offset + self.rows_written as u64 * row_bytes;
                // A full disk is the storage failing, not the format.
                file.write_all_at(bytemuck::cast_slice(values), at)
                    .map_err(|error| StorageFailure::new("cannot write array rows", error))?;
            }
            BlockTarget::Library { dataset, .. } => {
                let mut selection: Vec<SliceOrIndex> = vec![SliceOrIndex::SliceCount {
                    start: self.rows_written,
                    step: 1,
                    count: rows,
                    block: 1,
                }];
                selection.extend(block.shape()[1..].iter().map(|&extent| {
                    SliceOrIndex::SliceCount {
                        start: 0,
                        step: 1,
                        count: extent,
                        block: 1,
                    }
                }));
                dataset
                    .as_writer()
                    .write_slice(&standard, Hyperslab::from(selection))?;
            }
        }
        self.rows_written += rows;
        Ok(())
    }

    /// Closes the complete file.
    pub(crate) fn finish(self) -> anyhow::Result<()> {
        match self.target {
            BlockTarget::Raw { file, .. } => drop(file),
            BlockTarget::Library { file, dataset } => {
                drop(dataset);
                file.close()?;
            }
        }
        Ok(())
    }
}

/// An HDF5 array file opened for reading, its dataset checked against the
/// record: the file stays open (and readable, even once unlinked) for as
/// long as this lives.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) path: PathBuf,
    pub(crate) shape: Vec<usize>,
    /// The chunk shape of a chunked dataset.
    pub(crate) chunk: Option<Vec<usize>>,
    access: Access,
}

/// How the elements are read.
#[derive(Debug)]
enum Access {
    /// The elements lie in the file as they are in memory: contiguous,
    /// unfiltered, little-endian, of a type whose every bit pattern is
    /// valid. They are read (or mapped) with plain positioned reads, and
    /// libhdf5 is done with the file: no global lock, no file-locking
    /// clash with other opens of the file in this process. The open
    /// descriptor keeps the file readable even once a new save has
    /// replaced it.
    Raw { file: std::fs::File, offset: u64 },
    /// Through libhdf5 (chunked or compressed datasets, `bool`, scalars),
    /// which holds the file open.
    Library(hdf5::Dataset),
}

impl Opened {
    /// Opens the array file at `path`, checking that it holds elements of
    /// exactly type `A` (else a mismatch naming `Requested`, the type asked
    /// for) and the shape the record says.
    pub(crate) fn open<A: Element, Requested>(
        path: &Path,
        expected_shape: Option<&[usize]>,
    ) -> anyhow::Result<Self> {
        let file = open(path)?;
        let dataset = file
            .dataset(DATASET)
            .with_context(|| format!("no dataset `{DATASET}`"))?;
        let dtype = dataset.dtype()?;
        let stored = dtype.to_descriptor()?;
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
        // Checked: a damaged file may claim any shape.
        let bytes = shape
            .iter()
            .try_fold(size_of::<A>(), |bytes, &extent| bytes.checked_mul(extent))
            .with_context(|| format!("shape {shape:?} overflows"))?;
        let chunk = dataset.chunk();
        let raw_offset = dataset.offset().filter(|_| {
            A::RAW
                && chunk.is_none()
                && !dataset.is_scalar()
                && dataset.filters().is_empty()
                && dtype.byte_order() == hdf5::datatype::ByteOrder::LittleEndian
                && dataset.storage_size() == bytes as u64
        });
        let access = match raw_offset {
            Some(offset) => {
                let raw = std::fs::File::open(path)?;
                drop((dataset, file));
                Access::Raw { file: raw, offset }
            }
            None => Access::Library(dataset),
        };
        Ok(Self {
            path: path.to_owned(),
            shape,
            chunk,
            access,
        })
    }

    /// The file and the offset of its elements, when they can be read or
    /// mapped as raw bytes.
    pub(crate) fn raw(&self) -> Option<(&std::fs::File, u64)> {
        match &self.access {
            Access::Raw { file, offset } => Some((file, *offset)),
            Access::Library(_) => None,
        }
    }

    /// The number of elements.
    fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Fills `out` (of [`len`](Self::len) elements, C order) with the whole
    /// array and returns the [`checksum`](crate::checksum) of what was read.
    pub(crate) fn read_into<A: Element>(&self, out: &mut [A]) -> anyhow::Result<u32> {
        ensure!(
            out.len() == self.len(),
            "a buffer of {} elements for an array of {}",
            out.len(),
            self.len()
        );
        match &self.access {
            Access::Raw { file, offset } => {
                let bytes = A::raw_bytes_mut(out).context("raw access to non-raw elements")?;
                // The bytes in the file are the elements: read them straight
                // into the caller's memory, checking them on the other core.
                return Ok(checksum::fill_checked(bytes, |piece, at| {
                    file.read_exact_at(piece, offset + at)
                })?);
            }
            Access::Library(dataset) if dataset.is_scalar() => {
                if let Some(first) = out.first_mut() {
                    *first = dataset.read_scalar::<A>()?;
                }
            }
            Access::Library(dataset) => {
                if !out.is_empty() {
                    dataset.read_into_raw(out)?;
                }
            }
        }
        Ok(checksum::of(out))
    }

    /// Reads the whole array, checking it against `checksum`.
    pub(crate) fn read<A: Element>(&self, checksum: Option<u32>) -> anyhow::Result<ArrayD<A>> {
        let mut values = vec![A::default(); self.len()];
        let computed = self.read_into(&mut values)?;
        check(computed, checksum)?;
        Ok(ArrayD::from_shape_vec(self.shape.clone(), values)?)
    }

    /// Reads the indices `axes` select (one per axis, with their steps),
    /// as an array of their counts.
    pub(crate) fn read_region<A: Element>(&self, axes: &[AxisRead]) -> anyhow::Result<ArrayD<A>> {
        let dataset = match &self.access {
            Access::Raw { file, offset } => {
                return Ok(raw_region::read(file, *offset, &self.shape, axes)?);
            }
            Access::Library(dataset) => dataset,
        };
        if dataset.is_scalar() {
            return Ok(ArrayD::from_elem(IxDyn(&[]), dataset.read_scalar::<A>()?));
        }
        let hyperslab: Vec<SliceOrIndex> = axes
            .iter()
            .map(|axis| SliceOrIndex::SliceCount {
                start: axis.start,
                step: axis.step,
                count: axis.count,
                block: 1,
            })
            .collect();
        Ok(dataset
            .as_reader()
            .read_slice::<A, _, IxDyn>(Hyperslab::from(hyperslab))?)
    }
}

/// Fails when the `computed` check differs from the `recorded` one.
pub(crate) fn check(computed: u32, recorded: Option<u32>) -> anyhow::Result<()> {
    match checksum::mismatch(computed, recorded) {
        Some(reason) => bail!(reason),
        None => Ok(()),
    }
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
        let read =
            Opened::open::<f64, ()>(&path, Some(&[2])).and_then(|opened| opened.read::<f64>(None));
        let _ = holder.kill();
        let _ = holder.wait();
        assert_eq!(read.unwrap(), array);
    }
}

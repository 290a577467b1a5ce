//! [`ArrayHandle`]: a stored array opened without reading its data.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use functionfuse_core::{
    DamagedObject, FILE_PROTOCOL, PersistentId, Protocols, S3_PROTOCOL, StorageFailure,
    StoredTypeMismatch,
};
use ndarray::{Array, ArrayBase, ArrayD, DataMut, Dimension, IxDyn, SliceArg, SliceInfoElem};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::element::Element;
use crate::error::ArrayError;
use crate::mapped::MappedArray;
use crate::selection::{AxisRead, Selection};
use crate::serializer::{recorded_checksum, recorded_shape, shared_s3};
use crate::{NAME, hdf5_file, zarr_array};

/// Blocks of about this many bytes when the array has no chunks to follow.
const BLOCK_BYTES: usize = 16 << 20;

/// A stored array, opened without reading its data: its shape, element
/// type and chunks are known, and any part of it can be read when needed —
/// the Rust counterpart of the dask array Function Fuse hands back.
///
/// Get one with `storage.read_task::<ArrayHandle<f64>>(workflow, task)` for
/// a task that saved an array of `f64` (any dimension), or as a field
/// `Persistent<ArrayHandle<f64>>` of a saved struct: the struct then opens
/// instantly, however big its arrays.
///
/// ```
/// use functionfuse_core::Storage;
/// use functionfuse_serializer_ndarray::ArrayHandle;
/// use functionfuse_storage_file::FileBackend;
/// use ndarray::{Array2, s};
///
/// let folder = tempfile::tempdir()?;
/// let storage = Storage::new(Box::new(FileBackend::new(folder.path())));
/// let big = Array2::from_shape_fn((1000, 100), |(i, j)| (i * 100 + j) as f64);
/// storage.save("wf", "big", &big)?;
///
/// let handle = storage.read_task::<ArrayHandle<f64>>("wf", "big")?;
/// assert_eq!(handle.shape(), &[1000, 100]);
/// // Rows 10..12, every tenth column: only those elements are read.
/// let part = handle.read_slice(s![10..12, ..;10])?;
/// assert_eq!(part, big.slice(s![10..12, ..;10]));
/// // Blocks of 256 rows, one after the other.
/// let mut total = 0.0;
/// for block in handle.blocks(256) {
///     total += block?.sum();
/// }
/// assert_eq!(total, big.sum());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// On a file storage the handle keeps the HDF5 file open: what it reads
/// stays the array it opened even if the task is saved again meanwhile.
/// On S3 it holds the array's metadata and fetches chunks as reads need
/// them (many at once); a chunk removed meanwhile is reported as damage.
///
/// Whole reads ([`read`](Self::read), [`read_into`](Self::read_into)) are
/// checked against the CRC-32C the record keeps. Slices of a zarr array are
/// checked chunk by chunk (zarr's `crc32c` codec); slices of an HDF5 file
/// are read as they are.
pub struct ArrayHandle<A> {
    source: Arc<Source>,
    pid: PersistentId,
    element: PhantomData<fn() -> A>,
}

/// Where the data is.
#[derive(Debug)]
enum Source {
    Hdf5(hdf5_file::Opened),
    Zarr(Box<zarr_array::Opened>),
}

impl<A> Clone for ArrayHandle<A> {
    fn clone(&self) -> Self {
        Self {
            source: Arc::clone(&self.source),
            pid: self.pid.clone(),
            element: PhantomData,
        }
    }
}

impl<A: Element> fmt::Debug for ArrayHandle<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArrayHandle")
            .field("dtype", &A::DTYPE)
            .field("shape", &self.shape())
            .field("chunk_shape", &self.chunk_shape())
            .field("location", &self.location())
            .finish()
    }
}

impl<A: Element> ArrayHandle<A> {
    /// Opens the array `pid` names: reads its metadata and checks it
    /// against the record (element type, shape), not its data.
    pub(crate) fn open(pid: &PersistentId, protocols: &Protocols) -> anyhow::Result<Self> {
        Self::open_as::<Self>(pid, protocols)
    }

    /// [`open`](Self::open) for a read of type `Requested`, the type a
    /// mismatch names.
    pub(crate) fn open_as<Requested>(
        pid: &PersistentId,
        protocols: &Protocols,
    ) -> anyhow::Result<Self> {
        let shape = recorded_shape(pid);
        let source = if pid.protocol == S3_PROTOCOL {
            let Some(s3) = shared_s3(protocols) else {
                return Err(protocols.missing(NAME, &[S3_PROTOCOL]));
            };
            Source::Zarr(Box::new(zarr_array::Opened::open::<A>(
                &s3,
                &pid.location,
                shape.as_deref(),
            )?))
        } else {
            Source::Hdf5(open_hdf5::<A, Requested>(pid, protocols, shape.as_deref())?)
        };
        Ok(Self {
            source: Arc::new(source),
            pid: pid.clone(),
            element: PhantomData,
        })
    }

    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        match self.source.as_ref() {
            Source::Hdf5(opened) => &opened.shape,
            Source::Zarr(opened) => &opened.shape,
        }
    }

    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.shape().len()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element type's NumPy name (`"float64"`, ...).
    pub fn dtype(&self) -> &'static str {
        A::DTYPE
    }

    /// The shape of the stored chunks: `None` for a contiguous HDF5
    /// dataset. Slices along chunk boundaries read the least.
    pub fn chunk_shape(&self) -> Option<&[usize]> {
        match self.source.as_ref() {
            Source::Hdf5(opened) => opened.chunk.as_deref(),
            Source::Zarr(opened) => Some(&opened.chunk),
        }
    }

    /// The stored format: `"hdf5"` or `"zarr"`.
    pub fn format(&self) -> &'static str {
        match self.source.as_ref() {
            Source::Hdf5(_) => "hdf5",
            Source::Zarr(_) => "zarr",
        }
    }

    /// Where the data lives: the HDF5 file's path or the zarr array's
    /// `s3://` prefix.
    pub fn location(&self) -> String {
        match self.source.as_ref() {
            Source::Hdf5(opened) => opened.path.display().to_string(),
            Source::Zarr(opened) => opened.url(),
        }
    }

    /// The persistent id the record holds for the array.
    pub fn persistent_id(&self) -> &PersistentId {
        &self.pid
    }

    /// Reads the whole array, checked against the record's checksum.
    ///
    /// # Errors
    /// [`ArrayError::Damaged`] when the data is missing or fails its
    /// checks; [`ArrayError::Storage`] when the storage fails.
    pub fn read(&self) -> Result<ArrayD<A>, ArrayError> {
        let checksum = recorded_checksum(&self.pid);
        match self.source.as_ref() {
            Source::Hdf5(opened) => opened
                .read(checksum)
                .map_err(|error| self.damaged_unless_storage(error)),
            Source::Zarr(opened) => opened.read(checksum).map_err(ArrayError::from_anyhow),
        }
    }

    /// Reads the whole array into `out`, which must have its shape. From an
    /// HDF5 file into an `out` in standard (C) order, the bytes go straight
    /// into `out`, nothing allocated (checked against the record's checksum
    /// on the other core meanwhile): the way to read the same task again
    /// and again. Zarr, or another memory order, is read into a new array
    /// and copied in.
    ///
    /// # Errors
    /// [`ArrayError::Shape`] when `out` has another shape; then as
    /// [`read`](Self::read). On error `out` holds unspecified values.
    pub fn read_into<S, D>(&self, out: &mut ArrayBase<S, D>) -> Result<(), ArrayError>
    where
        S: DataMut<Elem = A>,
        D: Dimension,
    {
        if out.shape() != self.shape() {
            return Err(ArrayError::Shape(format!(
                "the stored array has shape {:?}, the array to fill {:?}",
                self.shape(),
                out.shape()
            )));
        }
        if let (Source::Hdf5(opened), Some(values)) = (self.source.as_ref(), out.as_slice_mut()) {
            let computed = opened
                .read_into(values)
                .map_err(|error| self.damaged_unless_storage(error))?;
            return hdf5_file::check(computed, recorded_checksum(&self.pid))
                .map_err(|error| self.damaged_unless_storage(error));
        }
        // Another layout, or zarr chunks: read, then copy.
        out.assign(&self.read()?);
        Ok(())
    }

    /// Reads the part of the array that `info` selects, written with
    /// ndarray's [`s!`](ndarray::s) macro: ranges, steps (negative too),
    /// indices and new axes, exactly as `array.slice(info)` would select.
    /// A contiguous HDF5 dataset reads only the selected elements (rows
    /// close together in one request); a chunked one reads the hyperslab
    /// through libhdf5. A zarr array fetches, concurrently, the chunks of
    /// the slice's bounding box, in boxes of at most 64 MiB (or one row of
    /// chunks) kept in memory one at a time: with a step larger than a
    /// chunk, chunks between the selected indices are fetched too.
    ///
    /// # Errors
    /// [`ArrayError::OutOfBounds`] for a slice that does not fit the
    /// array (where ndarray would panic); then as [`read`](Self::read).
    pub fn read_slice<I>(&self, info: I) -> Result<Array<A, I::OutDim>, ArrayError>
    where
        I: SliceArg<IxDyn>,
    {
        let selection = Selection::new(self.shape(), info.as_ref())?;
        let region = if selection.len() == 0 {
            // Nothing to read; the empty region keeps the result's shape.
            let counts: Vec<usize> = selection.axes.iter().map(|axis| axis.count).collect();
            ArrayD::default(counts)
        } else {
            self.read_region(&selection.axes)?
        };
        // The region holds the selected indices, in stored order.
        let sliced = region.slice_move(selection.in_memory::<I::OutDim>(true)?);
        // A view of a larger box (zarr, with steps) or with negative
        // strides becomes a compact array of its own.
        Ok(if sliced.is_standard_layout() {
            sliced
        } else {
            sliced.as_standard_layout().into_owned()
        })
    }

    /// Reads the indices `axes` select, with their steps, in stored order.
    fn read_region(&self, axes: &[AxisRead]) -> Result<ArrayD<A>, ArrayError> {
        match self.source.as_ref() {
            Source::Hdf5(opened) => opened
                .read_region(axes)
                .map_err(|error| self.damaged_unless_storage(error)),
            Source::Zarr(opened) => opened.read_stepped(axes).map_err(ArrayError::from_anyhow),
        }
    }

    /// Rows per block that suit the stored layout: a chunk's height, or
    /// about 16 MiB of rows when the array is contiguous.
    pub fn block_rows(&self) -> usize {
        if let Some(&rows) = self.chunk_shape().and_then(<[usize]>::first) {
            return rows.max(1);
        }
        let row_bytes = self.shape().iter().skip(1).product::<usize>() * size_of::<A>();
        (BLOCK_BYTES / row_bytes.max(1)).max(1)
    }

    /// The array in blocks of `rows` rows along its first axis (the last
    /// may be shorter), each read when the iterator reaches it: memory
    /// holds one block at a time. [`block_rows`](Self::block_rows) is a
    /// good `rows`.
    pub fn blocks(&self, rows: usize) -> Blocks<'_, A> {
        Blocks {
            handle: self,
            rows: rows.max(1),
            next_row: 0,
        }
    }

    /// Maps the array's data into memory, read-only, without reading it —
    /// as `numpy.load(path, mmap_mode="r")` does: opening takes
    /// microseconds whatever the size, and pages are read as they are
    /// touched. For contiguous, uncompressed HDF5 datasets (the default on
    /// file storages) of numbers.
    ///
    /// The mapped data is not checked against the record's checksum (that
    /// would read it all): call [`MappedArray::verify`] when it matters.
    ///
    /// # Errors
    /// [`ArrayError::Unsupported`] for a zarr array, a chunked or
    /// compressed dataset, `bool` elements, or data the file does not
    /// align for the element type (read them instead);
    /// [`ArrayError::Storage`] when the file cannot be mapped.
    pub fn map(&self) -> Result<MappedArray<A>, ArrayError> {
        let Source::Hdf5(opened) = self.source.as_ref() else {
            return Err(ArrayError::Unsupported(format!(
                "{} is a zarr array on S3, which cannot be mapped; read it or a slice of it",
                self.location()
            )));
        };
        let Some((file, offset)) = opened.raw() else {
            return Err(ArrayError::Unsupported(format!(
                "{} cannot be mapped: only contiguous, uncompressed little-endian datasets of \
                 numbers can; read it instead, or save it without chunks or compression",
                self.location()
            )));
        };
        MappedArray::new(
            file,
            &opened.path,
            offset,
            self.shape().to_vec(),
            recorded_checksum(&self.pid),
        )
    }

    /// An error of a read from the HDF5 file: damage (the file disagrees
    /// with its record, libhdf5 cannot read it) unless the file system
    /// itself failed.
    fn damaged_unless_storage(&self, error: anyhow::Error) -> ArrayError {
        if error
            .chain()
            .any(<dyn std::error::Error>::is::<std::io::Error>)
        {
            return ArrayError::Storage(
                StorageFailure::new(format!("cannot read {}", self.location()), error).into(),
            );
        }
        ArrayError::damaged(self.location(), format!("damaged: {error:#}"))
    }
}

/// Opens the HDF5 file of `pid`, with the errors a whole read reports.
fn open_hdf5<A: Element, Requested>(
    pid: &PersistentId,
    protocols: &Protocols,
    shape: Option<&[usize]>,
) -> anyhow::Result<hdf5_file::Opened> {
    let Some(file) = protocols.file() else {
        return Err(protocols.missing(NAME, &[FILE_PROTOCOL]));
    };
    let damaged = |location: String, reason: String| DamagedObject { location, reason };
    let path = file
        .path(&pid.location)
        .map_err(|e| damaged(pid.location.clone(), format!("not a file name ({e})")))?;
    if !path.is_file() {
        return Err(damaged(path.display().to_string(), "missing".to_owned()).into());
    }
    hdf5_file::Opened::open::<A, Requested>(&path, shape).map_err(|error| {
        // The record's dtype was checked against the request already: a
        // file that disagrees with its own record is damage, which
        // `cached` recomputes, not a wrong request.
        if error.is::<StoredTypeMismatch>() && !pid.metadata.contains_key("dtype") {
            error
        } else if let Some(io) = error
            .chain()
            .find_map(|cause| cause.downcast_ref::<std::io::Error>())
            && io.kind() != std::io::ErrorKind::NotFound
        {
            // The file system failed (too many open files, permissions):
            // the result may be fine, and must not be recomputed over. A
            // file gone meanwhile is missing data (a racing save replaced
            // it), which a read of the record again resolves.
            StorageFailure::new(format!("cannot open {}", path.display()), error).into()
        } else {
            damaged(path.display().to_string(), format!("damaged: {error:#}")).into()
        }
    })
}

/// The blocks of an [`ArrayHandle`] along its first axis; see
/// [`ArrayHandle::blocks`].
#[derive(Debug)]
pub struct Blocks<'a, A: Element> {
    handle: &'a ArrayHandle<A>,
    rows: usize,
    next_row: usize,
}

impl<A: Element> Iterator for Blocks<'_, A> {
    type Item = Result<ArrayD<A>, ArrayError>;

    fn next(&mut self) -> Option<Self::Item> {
        let Some(&total) = self.handle.shape().first() else {
            // A scalar has no axis to walk: once, whole.
            if self.next_row == 0 {
                self.next_row = 1;
                return Some(self.handle.read());
            }
            return None;
        };
        if self.next_row >= total {
            return None;
        }
        let end = (self.next_row + self.rows).min(total);
        let mut info = vec![SliceInfoElem::from(self.next_row..end)];
        info.extend((1..self.handle.ndim()).map(|_| SliceInfoElem::from(..)));
        self.next_row = end;
        Some(self.handle.read_slice(info.as_slice()))
    }
}

/// Handles are stored by the storage, which copies the data they name:
/// outside a save there is nothing to encode.
impl<A: Element> Serialize for ArrayHandle<A> {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom(
            "an ArrayHandle is saved only by a storage, whole or as a Persistent field",
        ))
    }
}

/// Handles are opened by the storage from a record's persistent id.
impl<'de, A: Element> Deserialize<'de> for ArrayHandle<A> {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom(
            "an ArrayHandle is read only from a storage: read_task::<ArrayHandle<_>> of a task \
             that saved an array, or a Persistent<ArrayHandle<_>> field",
        ))
    }
}

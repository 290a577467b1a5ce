//! [`MappedArray`]: a stored HDF5 array mapped into memory, read-only.

use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use memmap2::Mmap;
use ndarray::{ArrayViewD, IxDyn};

use crate::checksum;
use crate::element::Element;
use crate::error::ArrayError;

/// An array whose elements are the mapped bytes of its HDF5 file: see
/// [`ArrayHandle::map`](crate::ArrayHandle::map). [`view`](Self::view)
/// lends them as an ndarray view; nothing is copied, and pages are read
/// from the file as they are first touched.
pub struct MappedArray<A> {
    map: Mmap,
    /// Where the elements start in the map, and their size in bytes.
    offset: usize,
    bytes: usize,
    shape: Vec<usize>,
    path: String,
    checksum: Option<u32>,
    element: PhantomData<fn() -> A>,
}

impl<A: Element> MappedArray<A> {
    /// Maps the `shape` elements at `offset` of `file` (found at `path`).
    pub(crate) fn new(
        file: &std::fs::File,
        path: &Path,
        offset: u64,
        shape: Vec<usize>,
        checksum: Option<u32>,
    ) -> Result<Self, ArrayError> {
        let storage = |error: std::io::Error| {
            ArrayError::Storage(
                anyhow::Error::new(error).context(format!("cannot map {}", path.display())),
            )
        };
        let len: usize = shape.iter().product();
        let bytes = len * size_of::<A>();
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        let file_len = file.metadata().map_err(storage)?.len();
        if offset
            .checked_add(bytes)
            .is_none_or(|end| end as u64 > file_len)
        {
            return Err(ArrayError::damaged(
                path.display().to_string(),
                format!("damaged: its data ends past the end of the file ({file_len} bytes)"),
            ));
        }
        // SAFETY: the mapping is read-only and lives as long as `self`. The
        // file is this serializer's: written under a temporary name, renamed
        // into place and never modified afterwards; removing it (a new save
        // of the task, `rm`) unlinks it, which leaves the mapped pages
        // valid. Only another program truncating or rewriting the file in
        // place could change the mapped bytes, as with numpy's memmap.
        #[allow(unsafe_code)]
        let map = unsafe { Mmap::map(file) }.map_err(storage)?;
        let mapped = Self {
            map,
            offset,
            bytes,
            shape,
            path: path.display().to_string(),
            checksum,
            element: PhantomData,
        };
        if A::from_raw_bytes(mapped.raw()).is_none() {
            return Err(ArrayError::Unsupported(format!(
                "the data of {} is not aligned for {} elements (offset {offset}); read it instead",
                path.display(),
                A::DTYPE
            )));
        }
        Ok(mapped)
    }

    /// The mapped bytes of the elements.
    fn raw(&self) -> &[u8] {
        &self.map[self.offset..self.offset + self.bytes]
    }

    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The elements, in place.
    #[allow(clippy::expect_used)]
    pub fn view(&self) -> ArrayViewD<'_, A> {
        // `new` checked alignment and size on this very map, and the shape
        // gives exactly the mapped number of elements.
        let values = A::from_raw_bytes(self.raw()).expect("checked when mapped");
        ArrayViewD::from_shape(IxDyn(&self.shape), values).expect("checked when mapped")
    }

    /// Reads every mapped byte and checks them against the record's
    /// checksum.
    ///
    /// # Errors
    /// [`ArrayError::Damaged`] when they differ.
    pub fn verify(&self) -> Result<(), ArrayError> {
        if self.checksum.is_none() {
            return Ok(());
        }
        checksum::verify(&self.path, checksum::of(self.raw()), self.checksum)
    }
}

impl<A: Element> fmt::Debug for MappedArray<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MappedArray")
            .field("dtype", &A::DTYPE)
            .field("shape", &self.shape)
            .finish_non_exhaustive()
    }
}

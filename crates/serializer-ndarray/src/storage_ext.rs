//! [`ArrayStorage`]: what a [`Storage`] does with arrays beyond `save` and
//! `read_task` — open without reading, read into a caller's buffer, write
//! block by block, save with options of one call.

use functionfuse_core::{Error, Result, Storage, StorageFailure};
use ndarray::{ArrayBase, ArrayD, ArrayViewD, Data, DataMut, Dimension, IxDyn};

use crate::NAME;
use crate::element::Element;
use crate::error::ArrayError;
use crate::handle::ArrayHandle;
use crate::options::NdarrayOptions;
use crate::serializer::{NdarraySerializer, store};
use crate::sink::Sink;

/// Array operations of a [`Storage`]; `use` this trait to call them.
///
/// ```
/// use functionfuse_core::Storage;
/// use functionfuse_serializer_ndarray::{ArrayStorage, Compression, NdarrayOptions};
/// use functionfuse_storage_file::FileBackend;
/// use ndarray::{Array2, s};
///
/// let folder = tempfile::tempdir()?;
/// let storage = Storage::new(Box::new(FileBackend::new(folder.path())));
///
/// // 1,000 rows written 100 at a time: memory holds one block.
/// let mut writer = storage.array_writer::<f32>("wf", "big", &[1000, 64])?;
/// for first in (0..1000).step_by(100) {
///     let block = Array2::from_shape_fn((100, 64), |(i, j)| (first + i + j) as f32);
///     writer.write(&block)?;
/// }
/// writer.finish()?;
///
/// // Read it back into a buffer that is reused: no allocation.
/// let mut buffer = Array2::<f32>::zeros((1000, 64));
/// storage.read_task_into("wf", "big", &mut buffer)?;
/// assert_eq!(buffer[[999, 63]], (999 + 63) as f32);
///
/// // One call with its own chunks and compression.
/// let options = NdarrayOptions {
///     chunk: Some(vec![100, 64]),
///     compression: Compression::Deflate { level: 4 },
///     ..NdarrayOptions::default()
/// };
/// storage.save_array_with("wf", "small", &buffer, &options)?;
/// let handle = storage.open_array::<f32>("wf", "small")?;
/// assert_eq!(handle.chunk_shape(), Some(&[100, 64][..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait ArrayStorage {
    /// Opens the array `task` saved (any dimension, elements `A`) without
    /// reading its data: `read_task::<ArrayHandle<A>>`.
    ///
    /// # Errors
    /// As [`Storage::read_task`].
    fn open_array<A: Element>(&self, workflow: &str, task: &str) -> Result<ArrayHandle<A>>;

    /// Reads the array `task` saved into `out`, which must have its shape.
    /// On a file storage, with `out` in standard (C) order, the bytes go
    /// straight from the file into `out` and nothing is allocated; zarr,
    /// or another memory order, is read into a new array and copied in.
    ///
    /// # Errors
    /// As [`Storage::read_task`]; [`Error::Serializer`] holding an
    /// [`ArrayError::Shape`] when `out` has another shape.
    fn read_task_into<S, D>(
        &self,
        workflow: &str,
        task: &str,
        out: &mut ArrayBase<S, D>,
    ) -> Result<()>
    where
        S: DataMut,
        S::Elem: Element,
        D: Dimension;

    /// Starts saving an array of `shape` as the result of `task`, block by
    /// block along its first axis, with the storage's options.
    ///
    /// # Errors
    /// [`Error::InvalidName`]; [`Error::Serializer`] for a shape without
    /// axes; [`Error::Backend`] when the storage fails.
    fn array_writer<A: Element>(
        &self,
        workflow: &str,
        task: &str,
        shape: &[usize],
    ) -> Result<ArrayWriter<'_, A>>;

    /// [`array_writer`](Self::array_writer) with `options` instead of the
    /// storage's.
    ///
    /// # Errors
    /// As [`array_writer`](Self::array_writer); options the format cannot
    /// honour (zstd on HDF5) are an [`Error::Serializer`].
    fn array_writer_with<A: Element>(
        &self,
        workflow: &str,
        task: &str,
        shape: &[usize],
        options: &NdarrayOptions,
    ) -> Result<ArrayWriter<'_, A>>;

    /// Saves the array of `shape` whose rows `blocks` yields in order, as
    /// the result of `task`: [`array_writer`](Self::array_writer) fed from
    /// an iterator. An `Err` block stops the save and leaves the earlier
    /// result in place.
    ///
    /// # Errors
    /// The first error of a block, as [`Error::Serializer`]; then as
    /// [`ArrayWriter::write`] and [`ArrayWriter::finish`].
    fn save_blocks<A, I, E>(
        &self,
        workflow: &str,
        task: &str,
        shape: &[usize],
        blocks: I,
    ) -> Result<()>
    where
        A: Element,
        I: IntoIterator<Item = std::result::Result<ArrayD<A>, E>>,
        E: Into<anyhow::Error>;

    /// Saves `array` as the result of `task` with `options` for this call
    /// only (chunks, compression, shuffle), instead of the storage's.
    ///
    /// # Errors
    /// As [`Storage::save`].
    fn save_array_with<S, D>(
        &self,
        workflow: &str,
        task: &str,
        array: &ArrayBase<S, D>,
        options: &NdarrayOptions,
    ) -> Result<()>
    where
        S: Data,
        S::Elem: Element,
        D: Dimension;
}

impl ArrayStorage for Storage {
    fn open_array<A: Element>(&self, workflow: &str, task: &str) -> Result<ArrayHandle<A>> {
        self.read_task::<ArrayHandle<A>>(workflow, task)
    }

    fn read_task_into<S, D>(
        &self,
        workflow: &str,
        task: &str,
        out: &mut ArrayBase<S, D>,
    ) -> Result<()>
    where
        S: DataMut,
        S::Elem: Element,
        D: Dimension,
    {
        let handle = self.open_array::<S::Elem>(workflow, task)?;
        handle
            .read_into(out)
            .map_err(|error| storage_error(self, workflow, task, error))
    }

    fn array_writer<A: Element>(
        &self,
        workflow: &str,
        task: &str,
        shape: &[usize],
    ) -> Result<ArrayWriter<'_, A>> {
        let options = storage_options::<A>(self);
        self.array_writer_with(workflow, task, shape, &options)
    }

    fn array_writer_with<A: Element>(
        &self,
        workflow: &str,
        task: &str,
        shape: &[usize],
        options: &NdarrayOptions,
    ) -> Result<ArrayWriter<'_, A>> {
        functionfuse_core::names::validate_task(task)?;
        let protocols = self.protocols(workflow)?;
        let sink = Sink::create(&protocols, shape, options)
            .map_err(|error| storage_error(self, workflow, task, error))?;
        Ok(ArrayWriter {
            storage: self,
            workflow: workflow.to_owned(),
            task: task.to_owned(),
            sink: Some(sink),
        })
    }

    fn save_blocks<A, I, E>(
        &self,
        workflow: &str,
        task: &str,
        shape: &[usize],
        blocks: I,
    ) -> Result<()>
    where
        A: Element,
        I: IntoIterator<Item = std::result::Result<ArrayD<A>, E>>,
        E: Into<anyhow::Error>,
    {
        let mut writer = self.array_writer::<A>(workflow, task, shape)?;
        for block in blocks {
            let block = block.map_err(|error| Error::Serializer {
                serializer: NAME.to_owned(),
                source: error.into().context(format!(
                    "a block of task `{task}` in workflow `{workflow}` failed; the earlier result stays"
                )),
            })?;
            writer.write(&block)?;
        }
        writer.finish()
    }

    fn save_array_with<S, D>(
        &self,
        workflow: &str,
        task: &str,
        array: &ArrayBase<S, D>,
        options: &NdarrayOptions,
    ) -> Result<()>
    where
        S: Data,
        S::Elem: Element,
        D: Dimension,
    {
        functionfuse_core::names::validate_task(task)?;
        let protocols = self.protocols(workflow)?;
        let view: ArrayViewD<'_, S::Elem> = array.view().into_dyn();
        let pid = store(&view, &protocols, options).map_err(|source| {
            storage_error(self, workflow, task, ArrayError::from_anyhow(source))
        })?;
        self.save_stored(
            workflow,
            task,
            std::any::type_name::<ndarray::Array<S::Elem, D>>(),
            pid,
        )
    }
}

/// The options of the serializer this storage uses for `ArrayD<A>`: its
/// own when registered with other options, else the defaults.
fn storage_options<A: Element>(storage: &Storage) -> NdarrayOptions {
    storage
        .persistent_serializer_for::<ArrayD<A>>()
        .and_then(|serializer| {
            serializer
                .as_any()?
                .downcast_ref::<NdarraySerializer<A, IxDyn>>()
                .map(|ours| ours.options().clone())
        })
        .unwrap_or_default()
}

/// An [`ArrayError`] of `task` as the storage's [`Error`].
fn storage_error(storage: &Storage, workflow: &str, task: &str, error: ArrayError) -> Error {
    match error {
        ArrayError::Damaged(damaged) => Error::CorruptRecord {
            workflow: workflow.to_owned(),
            task: task.to_owned(),
            reason: format!("{damaged} (serializer `{NAME}`)"),
        },
        ArrayError::Storage(source) if StorageFailure::is_in(&source) => Error::Backend {
            backend: storage.backend().kind().to_owned(),
            source,
        },
        other => Error::Serializer {
            serializer: NAME.to_owned(),
            source: anyhow::Error::new(other),
        },
    }
}

/// An array being saved block by block as the result of a task; from
/// [`ArrayStorage::array_writer`].
///
/// Blocks are consecutive rows: each has the array's shape but for the
/// first axis. Memory holds the block being written (and on S3 at most one
/// band of chunks). Nothing is visible until [`finish`](Self::finish)
/// saves the record; a writer that fails or is dropped unfinished removes
/// what it wrote and leaves the task's earlier result in place. A process
/// killed meanwhile leaves a temporary file or chunks without metadata,
/// which `ffuse gc` removes.
pub struct ArrayWriter<'s, A: Element> {
    storage: &'s Storage,
    workflow: String,
    task: String,
    /// `None` once a write failed: the array can no longer be completed.
    sink: Option<Sink<A>>,
}

impl<A: Element> ArrayWriter<'_, A> {
    /// The shape of the array being written.
    pub fn shape(&self) -> &[usize] {
        self.sink.as_ref().map_or(&[], Sink::shape)
    }

    /// How many rows were written so far.
    pub fn rows_written(&self) -> usize {
        self.sink.as_ref().map_or(0, Sink::rows_written)
    }

    /// Writes the next rows.
    ///
    /// # Errors
    /// [`Error::Serializer`] holding an [`ArrayError::Shape`] for a block of
    /// the wrong shape or one row too many (the writer stays usable); other
    /// failures end the writer, which removes what it wrote.
    pub fn write<S, D>(&mut self, block: &ArrayBase<S, D>) -> Result<()>
    where
        S: Data<Elem = A>,
        D: Dimension,
    {
        let Some(sink) = self.sink.as_mut() else {
            return Err(self.error(ArrayError::Unsupported(
                "an earlier write of this writer failed; start a new one".to_owned(),
            )));
        };
        match sink.write(&block.view().into_dyn()) {
            Ok(()) => Ok(()),
            Err(error @ ArrayError::Shape(_)) => Err(self.error(error)),
            Err(error) => {
                self.sink = None;
                Err(self.error(error))
            }
        }
    }

    /// Completes the array and saves it as the task's result, replacing
    /// any earlier one.
    ///
    /// # Errors
    /// [`Error::Serializer`] holding an [`ArrayError::Shape`] when rows are
    /// missing; as [`Storage::save`] otherwise. Nothing is saved then.
    pub fn finish(mut self) -> Result<()> {
        let Some(sink) = self.sink.take() else {
            return Err(self.error(ArrayError::Unsupported(
                "an earlier write of this writer failed; nothing was saved".to_owned(),
            )));
        };
        let pid = sink.finish().map_err(|error| self.error(error))?;
        self.storage.save_stored(
            &self.workflow,
            &self.task,
            std::any::type_name::<ArrayD<A>>(),
            pid,
        )
    }

    fn error(&self, error: ArrayError) -> Error {
        storage_error(self.storage, &self.workflow, &self.task, error)
    }
}

impl<A: Element> std::fmt::Debug for ArrayWriter<'_, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArrayWriter")
            .field("workflow", &self.workflow)
            .field("task", &self.task)
            .field("shape", &self.shape())
            .field("rows_written", &self.rows_written())
            .finish_non_exhaustive()
    }
}

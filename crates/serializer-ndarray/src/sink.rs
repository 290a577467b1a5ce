//! [`Sink`]: a new stored array written block by block along its first
//! axis through a storage's protocols (an HDF5 file under a temporary name,
//! or a zarr array without metadata), invisible until
//! [`finish`](Sink::finish) hands back its persistent id. Dropped
//! unfinished, it removes what it wrote.

use functionfuse_core::{FILE_PROTOCOL, NewFile, PersistentId, Protocols, S3_PROTOCOL};
use ndarray::ArrayViewD;

use crate::checksum::Running;
use crate::element::Element;
use crate::error::ArrayError;
use crate::options::NdarrayOptions;
use crate::serializer::{persistent_id, shared_s3};
use crate::{NAME, hdf5_file, zarr_array};

/// Where the blocks go.
enum Target<A> {
    File {
        file: NewFile,
        writer: hdf5_file::BlockWriter,
    },
    Zarr {
        location: String,
        writer: Box<zarr_array::BlockWriter<A>>,
    },
}

/// A stored array being written block by block.
pub(crate) struct Sink<A> {
    target: Target<A>,
    shape: Vec<usize>,
    rows_written: usize,
    checksum: Running,
}

impl<A: Element> Sink<A> {
    /// Starts an array of `shape` (at least one axis) through `protocols`:
    /// an HDF5 file when they include a folder, else a zarr array on S3.
    pub(crate) fn create(
        protocols: &Protocols,
        shape: &[usize],
        options: &NdarrayOptions,
    ) -> Result<Self, ArrayError> {
        if shape.is_empty() {
            return Err(ArrayError::Shape(
                "an array written block by block needs at least one axis; save a scalar whole"
                    .to_owned(),
            ));
        }
        let target = if let Some(file) = protocols.file() {
            let file = file.create("h5").map_err(ArrayError::from_anyhow)?;
            let writer = hdf5_file::BlockWriter::create::<A>(file.temp_path(), shape, options)
                .map_err(ArrayError::from_anyhow)?;
            Target::File { file, writer }
        } else if let Some(s3) = shared_s3(protocols) {
            let location = format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                zarr_array::ZARR_SUFFIX
            );
            let writer = zarr_array::BlockWriter::create(&s3, &location, shape, options)
                .map_err(ArrayError::from_anyhow)?;
            Target::Zarr {
                location,
                writer: Box::new(writer),
            }
        } else {
            return Err(ArrayError::Unsupported(format!(
                "{:#}",
                protocols.missing(NAME, &[FILE_PROTOCOL, S3_PROTOCOL])
            )));
        };
        Ok(Self {
            target,
            shape: shape.to_vec(),
            rows_written: 0,
            checksum: Running::default(),
        })
    }

    /// The array's shape.
    pub(crate) fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The check of the rows written so far.
    pub(crate) fn checksum(&self) -> u32 {
        self.checksum.value()
    }

    /// Rows written so far.
    pub(crate) fn rows_written(&self) -> usize {
        self.rows_written
    }

    /// Writes the next rows: `block` has the array's shape but for its
    /// first axis, and fits in the rows left.
    pub(crate) fn write(&mut self, block: &ArrayViewD<'_, A>) -> Result<(), ArrayError> {
        let rows = block.shape().first().copied().unwrap_or(0);
        if block.ndim() != self.shape.len() || block.shape()[1..] != self.shape[1..] {
            return Err(ArrayError::Shape(format!(
                "a block of shape {:?} for an array of shape {:?}: blocks are rows of the array, \
                 with its shape but for the first axis",
                block.shape(),
                self.shape
            )));
        }
        if self.rows_written + rows > self.shape[0] {
            return Err(ArrayError::Shape(format!(
                "a block of {rows} rows after {} of {}: more rows than the array's shape {:?} holds",
                self.rows_written, self.shape[0], self.shape
            )));
        }
        let standard = block.as_standard_layout();
        let values = standard
            .as_slice()
            .ok_or_else(|| ArrayError::Shape("a standard-layout block is contiguous".to_owned()))?;
        match &mut self.target {
            Target::File { writer, .. } => writer.write(&standard.view()),
            Target::Zarr { writer, .. } => writer.write(values, rows),
        }
        .map_err(ArrayError::from_anyhow)?;
        self.checksum.add(values);
        self.rows_written += rows;
        Ok(())
    }

    /// Completes the array once every row is written and returns its id;
    /// the caller commits it to a record.
    pub(crate) fn finish(self) -> Result<PersistentId, ArrayError> {
        if self.rows_written != self.shape[0] {
            return Err(ArrayError::Shape(format!(
                "{} of the {} rows of shape {:?} were written; the array was not saved",
                self.rows_written, self.shape[0], self.shape
            )));
        }
        let checks = self.checksum.checks();
        match self.target {
            Target::File { file, writer } => {
                writer.finish().map_err(ArrayError::from_anyhow)?;
                let location = file
                    .commit()
                    .map_err(|failure| ArrayError::Storage(failure.into()))?;
                Ok(persistent_id::<A>(
                    location,
                    FILE_PROTOCOL,
                    "hdf5",
                    &self.shape,
                    checks,
                ))
            }
            Target::Zarr { location, writer } => {
                writer.finish().map_err(ArrayError::from_anyhow)?;
                Ok(persistent_id::<A>(
                    location,
                    S3_PROTOCOL,
                    "zarr",
                    &self.shape,
                    checks,
                ))
            }
        }
    }
}

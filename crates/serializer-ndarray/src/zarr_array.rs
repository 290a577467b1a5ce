//! One array per zarr v3 array under the workflow's big-data prefix on S3:
//! `<uuid>.zarr/zarr.json` and its chunks `<uuid>.zarr/c/<i>/<j>…`, each
//! chunk closed by zarr's `crc32c` codec. zarr-python reads it as it is.
//!
//! Requests go through zarrs' async API over [`ProtocolStore`], so many
//! chunks are in flight at once (the protocol's concurrency): that is what
//! keeps a bucket with real latency busy.

use std::sync::Arc;

use anyhow::{Context as _, bail};
use functionfuse_core::{DamagedObject, S3Protocol};
use ndarray::ArrayViewD;
use zarrs::array::codec::{BytesCodec, Crc32cCodec, GzipCodec, ShuffleCodec, ZstdCodec};
use zarrs::array::{
    Array, ArrayBuilder, ArrayMetadata, ArraySubset, BytesToBytesCodecTraits, CodecOptions,
};

use crate::checksum;
use crate::element::Element;
use crate::error::ArrayError;
use crate::options::{Compression, NdarrayOptions};
use crate::selection::AxisRead;
use crate::zarr_store::ProtocolStore;
use crate::{FORMAT_VERSION, NAME};

/// The most a slice with steps reads into memory at once beyond its
/// result: boxes of this size are read and stepped one after another.
const STEPPED_BOX_BYTES: usize = 64 << 20;

/// The suffix of an array's key prefix.
pub const ZARR_SUFFIX: &str = ".zarr";

/// Describes a new zarr array of elements `A` and `shape` named
/// `location` (nothing is stored yet).
fn describe<A: Element>(
    store: &Arc<ProtocolStore>,
    location: &str,
    shape: &[usize],
    options: &NdarrayOptions,
) -> anyhow::Result<Array<ProtocolStore>> {
    let mut attributes = serde_json::Map::new();
    attributes.insert("functionfuse_serializer".into(), NAME.into());
    attributes.insert("functionfuse_format_version".into(), FORMAT_VERSION.into());
    ArrayBuilder::new(
        shape
            .iter()
            .map(|&extent| extent as u64)
            .collect::<Vec<u64>>(),
        options.zarr_chunk_for(shape, size_of::<A>()),
        A::zarr_data_type(),
        Into::<zarrs::array::FillValue>::into(A::default()),
    )
    .array_to_bytes_codec(Arc::new(if size_of::<A>() == 1 {
        BytesCodec::new(None)
    } else {
        BytesCodec::little()
    }))
    .bytes_to_bytes_codecs(bytes_codecs(options, size_of::<A>()))
    .attributes(attributes)
    .build(Arc::clone(store), &format!("/{location}"))
    .context("cannot describe the zarr array")
}

/// Writes `array` as a new zarr array named `location` (`<uuid>.zarr`);
/// returns the [`checksums`](checksum) of its data. On failure, whatever
/// was written is removed.
pub(crate) fn write<A: Element>(
    s3: &Arc<dyn S3Protocol>,
    location: &str,
    array: &ArrayViewD<'_, A>,
    options: &NdarrayOptions,
) -> anyhow::Result<checksum::Checks> {
    let standard = array.as_standard_layout();
    let values = standard
        .as_slice()
        .context("a standard-layout array is contiguous")?;
    let store = Arc::new(ProtocolStore::new(Arc::clone(s3)));
    let zarr = describe::<A>(&store, location, array.shape(), options)?;
    let (written, check) = checksum::alongside(values, || {
        store_region(s3.as_ref(), &store, &zarr, &zarr.subset_all(), values)
            .and_then(|()| store_metadata(s3.as_ref(), &store, &zarr))
    });
    if let Err(error) = written {
        abandon(s3.as_ref(), location);
        return Err(error.context(format!("cannot write zarr array {}{location}", s3.prefix())));
    }
    Ok(check)
}

/// Stores `values` (C order) as the region `subset`, which covers whole
/// chunks or reaches the array's end.
fn store_region<A: Element>(
    s3: &dyn S3Protocol,
    store: &ProtocolStore,
    zarr: &Array<ProtocolStore>,
    subset: &ArraySubset,
    values: &[A],
) -> anyhow::Result<()> {
    // Every chunk is stored, fill values or not: a missing chunk is damage.
    let codec_options = request_options(s3).with_store_empty_chunks(true);
    s3.run(Box::pin(async {
        zarr.async_store_array_subset_opt(subset, values, &codec_options)
            .await
            .map_err(|error| failure_of(store, error.into()))
    }))
}

/// Stores the array's metadata: last, since an array without it was never
/// complete.
fn store_metadata(
    s3: &dyn S3Protocol,
    store: &ProtocolStore,
    zarr: &Array<ProtocolStore>,
) -> anyhow::Result<()> {
    s3.run(Box::pin(async {
        zarr.async_store_metadata()
            .await
            .map_err(|error| failure_of(store, error.into()))
    }))
}

/// Removes what was written of an array that will not be completed.
fn abandon(s3: &dyn S3Protocol, location: &str) {
    if let Err(cleanup) = remove(s3, location) {
        log::warn!("cannot remove the half-written zarr array {location}: {cleanup:#}");
    }
}

/// A zarr array written block by block along the first axis. Rows are
/// gathered into bands of whole chunks (one chunk high), so that every
/// chunk is stored once, complete; memory holds at most one band and the
/// block being written. Dropped unfinished, it removes what it stored.
pub(crate) struct BlockWriter<A> {
    s3: Arc<dyn S3Protocol>,
    store: Arc<ProtocolStore>,
    zarr: Array<ProtocolStore>,
    location: String,
    shape: Vec<usize>,
    /// Rows per band: the chunk's extent along the first axis.
    band_rows: usize,
    /// Elements per row.
    row_len: usize,
    /// Rows gathered but not stored yet, from row `rows_stored`.
    pending: Vec<A>,
    rows_stored: usize,
    finished: bool,
}

impl<A: Element> BlockWriter<A> {
    /// Describes a new array of `shape` (at least one axis) named `location`.
    pub(crate) fn create(
        s3: &Arc<dyn S3Protocol>,
        location: &str,
        shape: &[usize],
        options: &NdarrayOptions,
    ) -> anyhow::Result<Self> {
        let store = Arc::new(ProtocolStore::new(Arc::clone(s3)));
        let zarr = describe::<A>(&store, location, shape, options)?;
        let band_rows = options
            .zarr_chunk_for(shape, size_of::<A>())
            .first()
            .map_or(1, |&rows| rows as usize);
        Ok(Self {
            s3: Arc::clone(s3),
            store,
            zarr,
            location: location.to_owned(),
            shape: shape.to_vec(),
            band_rows,
            row_len: shape[1..].iter().product(),
            pending: Vec::new(),
            rows_stored: 0,
            finished: false,
        })
    }

    /// The rows handed over so far, stored or pending.
    fn rows_seen(&self) -> usize {
        self.rows_stored + self.pending.len() / self.row_len.max(1)
    }

    /// Takes the next rows (`values`, C order, `rows` of them).
    pub(crate) fn write(&mut self, mut values: &[A], mut rows: usize) -> anyhow::Result<()> {
        let total = self.shape[0];
        while rows > 0 {
            let to_end = total - self.rows_seen();
            if self.pending.is_empty() && (rows >= self.band_rows || rows == to_end) {
                // Whole bands (or the array's tail) straight from the block.
                let direct = if rows == to_end {
                    rows
                } else {
                    rows / self.band_rows * self.band_rows
                };
                let (now, rest) = values.split_at(direct * self.row_len);
                self.store_rows(now, direct)?;
                (values, rows) = (rest, rows - direct);
            } else {
                let room = (self.band_rows - self.pending.len() / self.row_len.max(1)).min(rows);
                let (now, rest) = values.split_at(room * self.row_len);
                self.pending.extend_from_slice(now);
                (values, rows) = (rest, rows - room);
                let pending_rows = self.pending.len() / self.row_len.max(1);
                if pending_rows == self.band_rows || self.rows_stored + pending_rows == total {
                    let band = std::mem::take(&mut self.pending);
                    self.store_rows(&band, pending_rows)?;
                }
            }
        }
        Ok(())
    }

    /// Stores `rows` rows from row `rows_stored`.
    fn store_rows(&mut self, values: &[A], rows: usize) -> anyhow::Result<()> {
        let rows_range = self.rows_stored as u64..(self.rows_stored + rows) as u64;
        let mut ranges = Vec::with_capacity(self.shape.len());
        ranges.push(rows_range);
        ranges.extend(self.shape[1..].iter().map(|&extent| 0..extent as u64));
        let subset = ArraySubset::new_with_ranges(&ranges);
        if !values.is_empty() {
            store_region(self.s3.as_ref(), &self.store, &self.zarr, &subset, values)?;
        }
        self.rows_stored += rows;
        Ok(())
    }

    /// Stores what is pending and the metadata: the array is complete.
    pub(crate) fn finish(mut self) -> anyhow::Result<()> {
        if !self.pending.is_empty() {
            let band = std::mem::take(&mut self.pending);
            let rows = band.len() / self.row_len.max(1);
            self.store_rows(&band, rows)?;
        }
        store_metadata(self.s3.as_ref(), &self.store, &self.zarr)?;
        self.finished = true;
        Ok(())
    }
}

impl<A> Drop for BlockWriter<A> {
    fn drop(&mut self) {
        if !self.finished {
            abandon(self.s3.as_ref(), &self.location);
        }
    }
}

/// The bytes-to-bytes codecs: shuffle and compression when asked, then
/// the `crc32c` check of every chunk.
fn bytes_codecs(
    options: &NdarrayOptions,
    element_size: usize,
) -> Vec<Arc<dyn BytesToBytesCodecTraits>> {
    let mut codecs: Vec<Arc<dyn BytesToBytesCodecTraits>> = Vec::new();
    if options.shuffle && options.compression != Compression::None && element_size > 1 {
        codecs.push(Arc::new(ShuffleCodec::new(element_size)));
    }
    match options.compression {
        Compression::None => {}
        Compression::Deflate { level } => {
            if let Ok(codec) = GzipCodec::new(u32::from(level.min(9))) {
                codecs.push(Arc::new(codec));
            }
        }
        Compression::Zstd { level } => {
            codecs.push(Arc::new(ZstdCodec::new(level.clamp(1, 22), false)));
        }
    }
    codecs.push(Arc::new(Crc32cCodec::new()));
    codecs
}

/// Codec options with as many chunks in flight as the protocol allows.
fn request_options(s3: &dyn S3Protocol) -> CodecOptions {
    let concurrency = s3.concurrency().max(1);
    CodecOptions::default()
        .with_concurrent_target(concurrency)
        .with_chunk_concurrent_minimum(concurrency)
}

/// The protocol's own error when it failed (so a storage failure stays
/// one), else zarrs' error.
fn failure_of(store: &ProtocolStore, error: anyhow::Error) -> anyhow::Error {
    match store.take_failure() {
        Some(failure) => failure.context(format!("{error:#}")),
        None => error,
    }
}

/// A zarr array whose metadata was read and checked against the record:
/// reads fetch only the chunks they need, many at once.
#[derive(Debug)]
pub(crate) struct Opened {
    s3: Arc<dyn S3Protocol>,
    location: String,
    metadata: ArrayMetadata,
    pub(crate) shape: Vec<usize>,
    pub(crate) chunk: Vec<usize>,
}

impl Opened {
    /// Reads the metadata of the array `location` and checks its data type
    /// (elements `A`) and the `shape` the record gives.
    pub(crate) fn open<A: Element>(
        s3: &Arc<dyn S3Protocol>,
        location: &str,
        shape: Option<&[usize]>,
    ) -> anyhow::Result<Self> {
        let store = Arc::new(ProtocolStore::new(Arc::clone(s3)));
        let opened = s3.run(Box::pin(async {
            Array::async_open(Arc::clone(&store), &format!("/{location}"))
                .await
                .map_err(Into::into)
        }));
        let url = format!("{}{location}", s3.prefix());
        let zarr = checked(s3.as_ref(), &store, &url, opened)?;
        let damaged = |reason: String| DamagedObject {
            location: url.clone(),
            reason,
        };
        let stored = zarr.data_type().clone();
        if stored != A::zarr_data_type() {
            bail!(damaged(format!(
                "damaged: it holds {stored:?}, the record says {}",
                A::DTYPE
            )));
        }
        let stored_shape: Vec<usize> = zarr.shape().iter().map(|&extent| extent as usize).collect();
        if let Some(shape) = shape
            && shape != stored_shape.as_slice()
        {
            bail!(damaged(format!(
                "damaged: it holds shape {stored_shape:?}, the record says {shape:?}"
            )));
        }
        let origin = vec![0; stored_shape.len()];
        let chunk = zarr
            .chunk_shape_usize(&origin)
            .map_err(|error| damaged(format!("damaged: {error}")))?;
        Ok(Self {
            s3: Arc::clone(s3),
            location: location.to_owned(),
            metadata: zarr.metadata().clone(),
            shape: stored_shape,
            chunk,
        })
    }

    /// `s3://…` of the array.
    pub(crate) fn url(&self) -> String {
        format!("{}{}", self.s3.prefix(), self.location)
    }

    /// Reads the box `ranges` (one per axis), every chunk it touches
    /// checked and required.
    pub(crate) fn read_box<A: Element>(
        &self,
        ranges: &[std::ops::Range<u64>],
    ) -> anyhow::Result<ndarray::ArrayD<A>> {
        let url = self.url();
        let store = Arc::new(ProtocolStore::new(Arc::clone(&self.s3)));
        let zarr = Array::new_with_metadata(
            Arc::clone(&store),
            &format!("/{}", self.location),
            self.metadata.clone(),
        )
        .context("cannot describe the zarr array")?;
        let subset = ArraySubset::new_with_ranges(ranges);
        let codec_options = request_options(self.s3.as_ref());
        let read = self.s3.run(Box::pin(async {
            zarr.async_retrieve_array_subset_opt::<Vec<A>>(&subset, &codec_options)
                .await
                .map_err(Into::into)
        }));
        let values = checked(self.s3.as_ref(), &store, &url, read)?;
        let shape: Vec<usize> = ranges
            .iter()
            .map(|range| (range.end - range.start) as usize)
            .collect();
        ndarray::ArrayD::from_shape_vec(shape, values).map_err(|error| {
            DamagedObject {
                location: url,
                reason: format!("damaged: {error}"),
            }
            .into()
        })
    }

    /// Reads the indices `axes` select, in increasing order on every axis
    /// (a result of shape `count` per axis). The boxes read hold at most
    /// [`STEPPED_BOX_BYTES`] (or one row of chunks) at a time, so a slice
    /// with steps never holds its whole bounding box in memory.
    pub(crate) fn read_stepped<A: Element>(
        &self,
        axes: &[AxisRead],
    ) -> anyhow::Result<ndarray::ArrayD<A>> {
        self.read_stepped_within(axes, STEPPED_BOX_BYTES)
    }

    /// [`read_stepped`](Self::read_stepped) in boxes of at most `box_bytes`.
    fn read_stepped_within<A: Element>(
        &self,
        axes: &[AxisRead],
        box_bytes: usize,
    ) -> anyhow::Result<ndarray::ArrayD<A>> {
        let Some((first, rest)) = axes.split_first() else {
            return self.read_box(&[]);
        };
        let counts: Vec<usize> = axes.iter().map(|axis| axis.count).collect();
        let mut stepped = ndarray::ArrayD::<A>::default(counts);
        let row_bytes = rest
            .iter()
            .map(AxisRead::span)
            .product::<usize>()
            .saturating_mul(size_of::<A>())
            .max(1);
        let budget_rows = (box_bytes / row_bytes).max(1);
        let chunk_rows = self.chunk.first().copied().unwrap_or(1).max(1);
        let mut ranges: Vec<std::ops::Range<u64>> = std::iter::once(0..0)
            .chain(
                rest.iter()
                    .map(|axis| axis.start as u64..(axis.start + axis.span()) as u64),
            )
            .collect();
        let steps: Vec<usize> = axes.iter().map(|axis| axis.step).collect();
        let row = |k: usize| first.start + k * first.step;
        let mut k = 0;
        while k < first.count {
            // Up to the budget, and at least to the end of the row's chunks.
            let rows = budget_rows.max(chunk_rows - row(k) % chunk_rows);
            let end = (k + 1..first.count)
                .find(|&next| row(next) - row(k) >= rows)
                .unwrap_or(first.count);
            ranges[0] = row(k) as u64..(row(end - 1) + 1) as u64;
            let boxed = self.read_box::<A>(&ranges)?;
            let picked = boxed.slice_each_axis(|axis| {
                ndarray::Slice::new(0, None, steps[axis.axis.index()].cast_signed())
            });
            stepped
                .slice_axis_mut(ndarray::Axis(0), ndarray::Slice::from(k..end))
                .assign(&picked);
            k = end;
        }
        Ok(stepped)
    }

    /// Reads the whole array, checking it against the record's checksum.
    pub(crate) fn read<A: Element>(
        &self,
        expected_checksum: Option<u32>,
    ) -> anyhow::Result<ndarray::ArrayD<A>> {
        let ranges: Vec<_> = self.shape.iter().map(|&extent| 0..extent as u64).collect();
        let array = self.read_box::<A>(&ranges)?;
        if expected_checksum.is_some() {
            let values = array.as_slice().context("a new array is contiguous")?;
            checksum::verify(&self.url(), checksum::of(values), expected_checksum)
                .map_err(ArrayError::into_anyhow)?;
        }
        Ok(array)
    }
}

/// The outcome of a read through `store`: the protocol's own failure if
/// it had one, damage if a key was missing (zarrs would have filled in),
/// else `result` with zarrs' errors as damage.
fn checked<T>(
    s3: &dyn S3Protocol,
    store: &ProtocolStore,
    url: &str,
    result: anyhow::Result<T>,
) -> anyhow::Result<T> {
    if let Some(failure) = store.take_failure() {
        if failure.is::<DamagedObject>() {
            return Err(failure);
        }
        return Err(failure.context(format!("cannot read zarr array {url}")));
    }
    let missing = store.missing();
    if let Some(key) = missing.first() {
        let what = if key.ends_with("zarr.json") {
            "metadata"
        } else {
            "chunk"
        };
        bail!(DamagedObject {
            location: url.to_owned(),
            reason: format!(
                "damaged: its {what} {}{key} is missing ({} missing keys)",
                s3.prefix(),
                missing.len()
            ),
        });
    }
    result.map_err(|error| {
        DamagedObject {
            location: url.to_owned(),
            reason: format!("damaged: {error:#}"),
        }
        .into()
    })
}

/// Removes every object of the zarr array `location`.
pub(crate) fn remove(s3: &dyn S3Protocol, location: &str) -> anyhow::Result<()> {
    if !location.ends_with(ZARR_SUFFIX) {
        bail!("{location:?} is not a zarr array of this serializer");
    }
    let prefix = format!("{location}/");
    let mut result = Ok(());
    s3.block_on(Box::pin(async {
        result = async {
            let keys: Vec<String> = s3
                .list(&prefix)
                .await?
                .into_iter()
                .map(|(key, _)| key)
                .collect();
            s3.delete_many(&keys).await
        }
        .await;
    }));
    result
}

#[cfg(test)]
mod tests {
    use ndarray::{Array3, IxDyn, s};

    use super::*;
    use crate::selection::Selection;

    /// Slices with steps, read in boxes from a byte to all at once, give
    /// what ndarray's own slicing gives, on a real server.
    #[test]
    fn stepped_reads_in_small_boxes_select_what_ndarray_does() {
        let s3 = crate::zarr_store::tests::protocol();
        let array = Array3::from_shape_fn((37, 11, 6), |(i, j, k)| (i * 100 + j * 10 + k) as f64);
        let options = NdarrayOptions {
            chunk: Some(vec![4, 4, 6]),
            ..NdarrayOptions::default()
        };
        write(&s3, "stepped.zarr", &array.view().into_dyn(), &options).unwrap();
        let opened = Opened::open::<f64>(&s3, "stepped.zarr", Some(&[37, 11, 6])).unwrap();
        for slice in [
            s![..;5, ..;3, 1..].to_vec(),
            s![2..30;7, -1, ..;2].to_vec(),
            s![..;-3, .., ..].to_vec(),
            s![.., 3..9, ..].to_vec(),
            s![36, .., ..;4].to_vec(),
        ] {
            let expected = array.view().into_dyn().slice(slice.as_slice()).to_owned();
            let selection = Selection::new(array.shape(), slice.as_slice()).unwrap();
            for box_bytes in [1, 300, 10_000, usize::MAX] {
                let region = opened
                    .read_stepped_within::<f64>(&selection.axes, box_bytes)
                    .unwrap();
                let read = region.slice_move(selection.in_memory::<IxDyn>(true).unwrap());
                assert_eq!(read, expected, "{slice:?} in boxes of {box_bytes} bytes");
            }
        }
    }
}

//! One array per zarr v3 array under the workflow's big-data prefix on S3:
//! `<uuid>.zarr/zarr.json` and its chunks `<uuid>.zarr/c/<i>/<j>…`, each
//! chunk closed by zarr's `crc32c` codec. zarr-python reads it as it is.
//!
//! Requests go through zarrs' async API over [`ProtocolStore`], so many
//! chunks are in flight at once (the protocol's concurrency): that is what
//! keeps a bucket with real latency busy.

use std::sync::Arc;

use anyhow::{Context as _, bail, ensure};
use functionfuse_core::{DamagedObject, S3Protocol};
use ndarray::ArrayViewD;
use zarrs::array::codec::{BytesCodec, Crc32cCodec, GzipCodec, ZstdCodec};
use zarrs::array::{Array, ArrayBuilder, ArrayError, BytesToBytesCodecTraits, CodecOptions};

use crate::checksum;
use crate::element::Element;
use crate::options::{Compression, NdarrayOptions};
use crate::zarr_store::ProtocolStore;
use crate::{FORMAT_VERSION, NAME};

/// The suffix of an array's key prefix.
pub const ZARR_SUFFIX: &str = ".zarr";

/// Writes `array` as a new zarr array named `location` (`<uuid>.zarr`);
/// returns the [`checksum`] of its data. On failure, whatever was written
/// is removed.
pub(crate) fn write<A: Element>(
    s3: &Arc<dyn S3Protocol>,
    location: &str,
    array: &ArrayViewD<'_, A>,
    options: &NdarrayOptions,
) -> anyhow::Result<u32> {
    let standard = array.as_standard_layout();
    let values = standard
        .as_slice()
        .context("a standard-layout array is contiguous")?;
    let shape: Vec<u64> = array.shape().iter().map(|&extent| extent as u64).collect();
    let store = Arc::new(ProtocolStore::new(Arc::clone(s3)));
    let mut attributes = serde_json::Map::new();
    attributes.insert("functionfuse_serializer".into(), NAME.into());
    attributes.insert("functionfuse_format_version".into(), FORMAT_VERSION.into());
    let zarr = ArrayBuilder::new(
        shape,
        options.zarr_chunk_for(array.shape(), size_of::<A>()),
        A::zarr_data_type(),
        Into::<zarrs::array::FillValue>::into(A::default()),
    )
    .array_to_bytes_codec(Arc::new(if size_of::<A>() == 1 {
        BytesCodec::new(None)
    } else {
        BytesCodec::little()
    }))
    .bytes_to_bytes_codecs(bytes_codecs(options.compression))
    .attributes(attributes)
    .build_arc(Arc::clone(&store), &format!("/{location}"))
    .context("cannot describe the zarr array")?;
    // Every chunk is stored, fill values or not: a missing chunk is damage.
    let codec_options = request_options(s3.as_ref()).with_store_empty_chunks(true);
    let (written, check) = checksum::alongside(values, || {
        let mut written = Err(anyhow::anyhow!("the S3 protocol did not run the write"));
        s3.block_on(Box::pin(async {
            written = async {
                zarr.async_store_array_subset_opt(&zarr.subset_all(), values, &codec_options)
                    .await?;
                // Metadata last: an array without it was never complete.
                zarr.async_store_metadata().await?;
                Ok::<(), ArrayError>(())
            }
            .await
            .map_err(|error| failure_of(&store, error.into()));
        }));
        written
    });
    if let Err(error) = written {
        if let Err(cleanup) = remove(s3.as_ref(), location) {
            log::warn!("cannot remove the half-written zarr array {location}: {cleanup:#}");
        }
        return Err(error.context(format!("cannot write zarr array {}{location}", s3.prefix())));
    }
    Ok(check)
}

/// The bytes-to-bytes codecs: compression when asked, then the `crc32c`
/// check of every chunk.
fn bytes_codecs(compression: Compression) -> Vec<Arc<dyn BytesToBytesCodecTraits>> {
    let mut codecs: Vec<Arc<dyn BytesToBytesCodecTraits>> = Vec::new();
    match compression {
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

/// Reads the zarr array `location`, checking it against what the record
/// says: data type, shape, that every chunk is there and passes its
/// `crc32c` check, and the whole array's checksum. Any disagreement is a
/// [`DamagedObject`].
pub(crate) fn read<A: Element>(
    s3: &Arc<dyn S3Protocol>,
    location: &str,
    shape: Option<&[usize]>,
    expected_checksum: Option<u32>,
) -> anyhow::Result<ndarray::ArrayD<A>> {
    let url = format!("{}{location}", s3.prefix());
    let damaged = |reason: String| DamagedObject {
        location: url.clone(),
        reason,
    };
    let store = Arc::new(ProtocolStore::new(Arc::clone(s3)));
    let codec_options = request_options(s3.as_ref());
    let mut read: anyhow::Result<(Vec<A>, Vec<u64>)> =
        Err(anyhow::anyhow!("the S3 protocol did not run the read"));
    s3.block_on(Box::pin(async {
        read = async {
            let zarr = Array::async_open(Arc::clone(&store), &format!("/{location}")).await?;
            let stored = zarr.data_type().clone();
            ensure!(
                stored == A::zarr_data_type(),
                "it holds {stored:?}, the record says {}",
                A::DTYPE
            );
            let shape = zarr.shape().to_vec();
            let values: Vec<A> = zarr
                .async_retrieve_array_subset_opt(&zarr.subset_all(), &codec_options)
                .await?;
            Ok((values, shape))
        }
        .await;
    }));
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
        bail!(damaged(format!(
            "damaged: its {what} {}{key} is missing ({} missing keys)",
            s3.prefix(),
            missing.len()
        )));
    }
    let (values, stored_shape) = read.map_err(|error| damaged(format!("damaged: {error:#}")))?;
    let stored_shape: Vec<usize> = stored_shape.iter().map(|&extent| extent as usize).collect();
    if let Some(shape) = shape
        && shape != stored_shape.as_slice()
    {
        bail!(damaged(format!(
            "damaged: it holds shape {stored_shape:?}, the record says {shape:?}"
        )));
    }
    if let Some(stored) = expected_checksum {
        let computed = checksum::of(&values);
        if computed != stored {
            bail!(damaged(format!(
                "damaged: its data fails the integrity check (CRC-32C {computed:#010x}, the record says {stored:#010x})"
            )));
        }
    }
    ndarray::ArrayD::from_shape_vec(stored_shape, values)
        .map_err(|error| damaged(format!("damaged: {error}")).into())
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

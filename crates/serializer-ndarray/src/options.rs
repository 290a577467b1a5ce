//! How arrays are laid out in their HDF5 files.

use serde::{Deserialize, Serialize};

/// Compression of the HDF5 dataset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "codec")]
#[non_exhaustive]
pub enum Compression {
    /// Stored as is: the fastest to write and read (the default).
    #[default]
    None,
    /// zlib's deflate (`gzip` in h5py) at `level` 0–9 (0 stores), after the byte
    /// shuffle filter on HDF5; zarr's `gzip` codec on S3. Readable by every
    /// HDF5 tool and by zarr-python.
    Deflate {
        /// 1 (fast) to 9 (small).
        level: u8,
    },
    /// Zstandard at `level` (1 fast … 22 small; zarr's `zstd` codec): zarr
    /// arrays on S3 only, since HDF5 has no standard zstd filter.
    Zstd {
        /// 1 (fast) to 22 (small); 3 is zstd's default.
        level: i32,
    },
}

/// Options of the ndarray serializer, for HDF5 files and zarr arrays alike.
///
/// On files, the default, a contiguous uncompressed dataset, is the
/// fastest: the file is written and read in one pass at file-system speed.
/// Compression needs chunks; when it is on and `chunk` is unset, chunks of
/// about 1 MiB are chosen. On S3, every zarr array is chunked (about 4 MiB
/// per chunk unless `chunk` says otherwise) and uncompressed by default.
///
/// ```
/// use functionfuse_serializer_ndarray::{Compression, NdarrayOptions};
///
/// let options: NdarrayOptions = serde_json::from_str(
///     r#"{"compression": {"codec": "deflate", "level": 4}, "chunk": [256, 256]}"#,
/// )?;
/// assert_eq!(options.compression, Compression::Deflate { level: 4 });
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NdarrayOptions {
    /// Chunk shape; clipped to the array's shape. `None`: contiguous when
    /// uncompressed.
    pub chunk: Option<Vec<usize>>,
    /// Compression of the data.
    pub compression: Compression,
    /// Byte-shuffle each chunk before compressing it (HDF5's `shuffle`
    /// filter, zarr's `numcodecs.shuffle` codec): usually smaller for
    /// numbers, at a little CPU. On by default; ignored uncompressed.
    pub shuffle: bool,
}

impl Default for NdarrayOptions {
    fn default() -> Self {
        Self {
            chunk: None,
            compression: Compression::None,
            shuffle: true,
        }
    }
}

impl NdarrayOptions {
    /// The chunk shape to use for an array of `shape` with `element_size`
    /// bytes per element, or `None` for a contiguous dataset.
    pub(crate) fn chunk_for(&self, shape: &[usize], element_size: usize) -> Option<Vec<usize>> {
        if shape.is_empty() || shape.contains(&0) {
            return None; // HDF5 cannot chunk scalars or empty arrays
        }
        if let Some(chunk) = &self.chunk
            && chunk.len() == shape.len()
            && !chunk.contains(&0)
        {
            return Some(chunk.iter().zip(shape).map(|(c, s)| (*c).min(*s)).collect());
        }
        if self.compression == Compression::None {
            return None;
        }
        Some(default_chunk(shape, element_size, HDF5_CHUNK_BYTES))
    }

    /// The chunk shape of a zarr array of `shape`: `chunk` clipped to the
    /// array, else about [`ZARR_CHUNK_BYTES`] per chunk; never a zero extent
    /// (zarr forbids them; an empty array simply has no chunks).
    pub(crate) fn zarr_chunk_for(&self, shape: &[usize], element_size: usize) -> Vec<u64> {
        let chunk = match &self.chunk {
            Some(chunk) if chunk.len() == shape.len() && !chunk.contains(&0) => {
                chunk.iter().zip(shape).map(|(c, s)| (*c).min(*s)).collect()
            }
            _ => default_chunk(shape, element_size, ZARR_CHUNK_BYTES),
        };
        chunk
            .into_iter()
            .map(|extent| extent.max(1) as u64)
            .collect()
    }
}

/// Target size of a chunk of a compressed HDF5 dataset.
const HDF5_CHUNK_BYTES: usize = 1 << 20;

/// Target size of a zarr chunk: one object, one request; measured in
/// docs/benchmarks.md (W3).
pub const ZARR_CHUNK_BYTES: usize = 4 << 20;

/// Chunks of about `target_bytes`: whole rows of the trailing dimensions,
/// splitting the leading ones.
fn default_chunk(shape: &[usize], element_size: usize, target_bytes: usize) -> Vec<usize> {
    let mut chunk = shape.to_vec();
    let mut bytes: usize = shape.iter().product::<usize>() * element_size.max(1);
    for extent in &mut chunk {
        if bytes <= target_bytes {
            break;
        }
        let rest = bytes / *extent;
        *extent = (target_bytes / rest.max(1)).clamp(1, *extent);
        bytes = rest * *extent;
    }
    chunk
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguous_by_default_and_chunked_when_compressed() {
        let plain = NdarrayOptions::default();
        assert_eq!(plain.chunk_for(&[4000, 4000], 8), None);
        let deflate = NdarrayOptions {
            compression: Compression::Deflate { level: 1 },
            ..NdarrayOptions::default()
        };
        let chunk = deflate.chunk_for(&[4000, 4000], 8).unwrap();
        let bytes = chunk.iter().product::<usize>() * 8;
        assert!((1 << 19..=1 << 20).contains(&bytes), "{chunk:?}");
        assert_eq!(deflate.chunk_for(&[10], 8), Some(vec![10]));
        assert_eq!(deflate.chunk_for(&[], 8), None);
        assert_eq!(deflate.chunk_for(&[0, 5], 8), None);
    }

    #[test]
    fn explicit_chunks_are_clipped() {
        let options = NdarrayOptions {
            chunk: Some(vec![100, 3]),
            ..NdarrayOptions::default()
        };
        assert_eq!(options.chunk_for(&[10, 10], 4), Some(vec![10, 3]));
        assert_eq!(options.chunk_for(&[10], 4), None, "rank mismatch ignored");
    }
}

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
    /// shuffle filter; readable by every HDF5 tool.
    Deflate {
        /// 1 (fast) to 9 (small).
        level: u8,
    },
}

/// Options of the ndarray serializer.
///
/// The default, a contiguous uncompressed dataset, is the fastest: the file
/// is written and read in one pass at file-system speed. Compression needs
/// chunks; when it is on and `chunk` is unset, chunks of about 1 MiB are
/// chosen.
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NdarrayOptions {
    /// Chunk shape; clipped to the array's shape. `None`: contiguous when
    /// uncompressed.
    pub chunk: Option<Vec<usize>>,
    /// Compression of the data.
    pub compression: Compression,
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
        Some(default_chunk(shape, element_size))
    }
}

/// About 1 MiB chunks: whole rows of the trailing dimensions, splitting the
/// leading ones.
fn default_chunk(shape: &[usize], element_size: usize) -> Vec<usize> {
    const TARGET_BYTES: usize = 1 << 20;
    let mut chunk = shape.to_vec();
    let mut bytes: usize = shape.iter().product::<usize>() * element_size.max(1);
    for extent in &mut chunk {
        if bytes <= TARGET_BYTES {
            break;
        }
        let rest = bytes / *extent;
        *extent = (TARGET_BYTES / rest.max(1)).clamp(1, *extent);
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

//! The integrity check of an array's data: CRC-32C (Castagnoli, as zarr v3's
//! `crc32c` codec and Python's `crc32c` package compute it) of the elements
//! in C order, each as its little-endian bytes (`bool` as one byte, 0 or 1).
//! It is kept in the persistent id and verified on every read, so a damaged
//! file is reported as damage, never returned as values.

use crate::element::Element;
use crate::error::ArrayError;

// The check is defined over little-endian bytes and computed over the
// elements as they lie in memory.
#[cfg(target_endian = "big")]
compile_error!("functionfuse-serializer-ndarray supports little-endian targets only");

/// Arrays at least this large are checked on two threads.
const SPLIT_FROM_BYTES: usize = 8 << 20;

/// Why data whose CRC-32C is `computed` is damaged, when the record's
/// (`recorded`, if any) differs.
pub(crate) fn mismatch(computed: u32, recorded: Option<u32>) -> Option<String> {
    recorded.filter(|&recorded| recorded != computed).map(|recorded| {
        format!(
            "its data fails the integrity check (CRC-32C {computed:#010x}, the record says {recorded:#010x})"
        )
    })
}

/// [`mismatch`] as the damage of the data at `location`.
pub(crate) fn verify(
    location: &str,
    computed: u32,
    recorded: Option<u32>,
) -> Result<(), ArrayError> {
    match mismatch(computed, recorded) {
        Some(reason) => Err(ArrayError::damaged(location, format!("damaged: {reason}"))),
        None => Ok(()),
    }
}

/// The check of `values` (a C-order array's elements).
pub(crate) fn of<A: Element>(values: &[A]) -> u32 {
    let bytes: &[u8] = bytemuck::cast_slice(values);
    if bytes.len() < SPLIT_FROM_BYTES {
        return crc32c::crc32c(bytes);
    }
    // Memory-bound: the second core halves the time.
    let (head, tail) = bytes.split_at(bytes.len() / 2);
    let (head_crc, tail_crc) = std::thread::scope(|scope| {
        let tail_crc = scope.spawn(|| crc32c::crc32c(tail));
        (crc32c::crc32c(head), tail_crc.join())
    });
    match tail_crc {
        Ok(tail_crc) => crc32c::crc32c_combine(head_crc, tail_crc, tail.len()),
        // Cannot happen (crc32c does not panic); computing on is still right.
        Err(_) => crc32c::crc32c_append(head_crc, tail),
    }
}

/// What a save records of an array's data: its check, and its
/// fingerprint (XXH3-128 of the same bytes), which keyed results use to
/// tell arrays apart without reading them again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checks {
    pub(crate) crc32c: u32,
    pub(crate) xxh3: u128,
}

impl Checks {
    /// The checks of `values` (a C-order array's elements).
    pub(crate) fn of<A: Element>(values: &[A]) -> Self {
        Self {
            crc32c: of(values),
            xxh3: xxhash_rust::xxh3::xxh3_128(bytemuck::cast_slice(values)),
        }
    }
}

/// Runs `write` while the checks of `values` are computed on another
/// thread (for large arrays): the file write and the checks all only read
/// the array, so the checks cost no time of their own.
pub(crate) fn alongside<A: Element, R>(values: &[A], write: impl FnOnce() -> R) -> (R, Checks) {
    if size_of_val(values) < SPLIT_FROM_BYTES {
        return (write(), Checks::of(values));
    }
    std::thread::scope(|scope| {
        let checks = scope.spawn(|| {
            let bytes: &[u8] = bytemuck::cast_slice(values);
            Checks {
                crc32c: crc32c::crc32c(bytes),
                xxh3: xxhash_rust::xxh3::xxh3_128(bytes),
            }
        });
        let written = write();
        let checks = checks.join().unwrap_or_else(|_| Checks::of(values));
        (written, checks)
    })
}

/// Pieces [`fill_checked`] reads at a time: large enough that a read is
/// one system call's worth, small enough that the check keeps pace.
const PIECE_BYTES: usize = 8 << 20;

/// Fills `bytes` piece by piece with `fill(piece, offset_in_bytes)` while
/// another thread checks each filled piece, and returns the check of them
/// all: reading and checking overlap, so the check costs (almost) no time
/// of its own.
pub(crate) fn fill_checked(
    bytes: &mut [u8],
    mut fill: impl FnMut(&mut [u8], u64) -> std::io::Result<()>,
) -> std::io::Result<u32> {
    if bytes.len() < 2 * PIECE_BYTES {
        fill(bytes, 0)?;
        return Ok(crc32c::crc32c(bytes));
    }
    std::thread::scope(|scope| {
        let (filled, to_check) = std::sync::mpsc::channel::<&[u8]>();
        let checker = scope.spawn(move || to_check.into_iter().fold(0, crc32c::crc32c_append));
        let mut at = 0_u64;
        for piece in bytes.chunks_mut(PIECE_BYTES) {
            fill(piece, at)?;
            at += piece.len() as u64;
            let piece: &[u8] = piece;
            if filled.send(piece).is_err() {
                break; // the checker is gone; join reports it
            }
        }
        drop(filled);
        checker
            .join()
            .map_err(|_| std::io::Error::other("the checksum thread panicked"))
    })
}

/// Computes the checks of a C-order array handed over in consecutive
/// pieces (blocks of rows): the same values [`Checks::of`] gives for the
/// whole.
#[derive(Clone, Default)]
pub(crate) struct Running {
    crc32c: u32,
    xxh3: xxhash_rust::xxh3::Xxh3,
}

impl Running {
    /// Adds the next `values`.
    pub(crate) fn add<A: Element>(&mut self, values: &[A]) {
        let next = of(values);
        self.crc32c = crc32c::crc32c_combine(self.crc32c, next, size_of_val(values));
        self.xxh3.update(bytemuck::cast_slice(values));
    }

    /// The check of everything added.
    pub(crate) fn value(&self) -> u32 {
        self.crc32c
    }

    /// The checks of everything added.
    pub(crate) fn checks(&self) -> Checks {
        Checks {
            crc32c: self.crc32c,
            xxh3: self.xxh3.digest128(),
        }
    }
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("crc32c", &self.crc32c)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_crc32c_at_every_size() {
        // RFC 3720's check value of "123456789".
        assert_eq!(of(b"123456789".as_slice()), 0xe306_9283);
        let values: Vec<f64> = (0..(3 << 20)).map(|i| f64::from(i) * 0.5).collect();
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(of(&values), crc32c::crc32c(&bytes), "split on two threads");
        assert_eq!(alongside(&values, || 7), (7, Checks::of(&values)));
        assert_eq!(Checks::of(&values).crc32c, crc32c::crc32c(&bytes));
        assert_eq!(of(&[true, false]), crc32c::crc32c(&[1, 0]));
        assert_eq!(of::<f32>(&[]), 0);
    }

    #[test]
    fn checks_in_pieces_equal_the_whole() {
        let values: Vec<u32> = (0..(6 << 20)).collect();
        let mut running = Running::default();
        for block in values.chunks(1_000_003) {
            running.add(block);
        }
        assert_eq!(running.value(), of(&values));
        assert_eq!(running.checks(), Checks::of(&values));
        let source: &[u8] = bytemuck::cast_slice(&values);
        let mut bytes = vec![0_u8; source.len()];
        let check = fill_checked(&mut bytes, |piece, at| {
            let at = at as usize;
            piece.copy_from_slice(&source[at..at + piece.len()]);
            Ok(())
        })
        .unwrap();
        assert_eq!((check, bytes.as_slice()), (of(&values), source));
    }
}

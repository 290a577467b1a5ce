//! The integrity check of an array's data: CRC-32C (Castagnoli, as zarr v3's
//! `crc32c` codec and Python's `crc32c` package compute it) of the elements
//! in C order, each as its little-endian bytes (`bool` as one byte, 0 or 1).
//! It is kept in the persistent id and verified on every read, so a damaged
//! file is reported as damage, never returned as values.

use crate::element::Element;

// The check is defined over little-endian bytes and computed over the
// elements as they lie in memory.
#[cfg(target_endian = "big")]
compile_error!("functionfuse-serializer-ndarray supports little-endian targets only");

/// Arrays at least this large are checked on two threads.
const SPLIT_FROM_BYTES: usize = 8 << 20;

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

/// Runs `write` while the check of `values` is computed on another thread
/// (for large arrays): the file write and the check both only read the
/// array, so the check costs no time of its own.
pub(crate) fn alongside<A: Element, R>(values: &[A], write: impl FnOnce() -> R) -> (R, u32) {
    if size_of_val(values) < SPLIT_FROM_BYTES {
        return (write(), of(values));
    }
    std::thread::scope(|scope| {
        let check = scope.spawn(|| crc32c::crc32c(bytemuck::cast_slice(values)));
        let written = write();
        let check = check.join().unwrap_or_else(|_| of(values));
        (written, check)
    })
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
        assert_eq!(alongside(&values, || 7), (7, crc32c::crc32c(&bytes)));
        assert_eq!(of(&[true, false]), crc32c::crc32c(&[1, 0]));
        assert_eq!(of::<f32>(&[]), 0);
    }
}

//! Slices of a contiguous C-order array read straight from its file with
//! positioned reads: no libhdf5 (so no global lock, and many threads read
//! at once). A slice is a sequence of runs of consecutive elements; runs
//! close together are read as one and scattered, so that a narrow column
//! costs a few large reads instead of one tiny read per row.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt as _;

use ndarray::ArrayD;

use crate::element::Element;
use crate::selection::AxisRead;

/// When runs are read together.
#[derive(Debug, Clone, Copy)]
struct Merging {
    /// Runs closer than this are read together (the gap read and dropped).
    gap_bytes: u64,
    /// The most read at once into the scratch buffer when merging runs.
    max_bytes: u64,
}

const MERGING: Merging = Merging {
    gap_bytes: 64 << 10,
    max_bytes: 8 << 20,
};

/// Reads the region `axes` select (one per axis, positive steps) of the
/// array of `shape` whose elements start at `offset` in `file`, as an
/// array of their counts.
pub(crate) fn read<A: Element>(
    file: &File,
    offset: u64,
    shape: &[usize],
    axes: &[AxisRead],
) -> io::Result<ArrayD<A>> {
    read_merging(file, offset, shape, axes, MERGING)
}

/// [`read`], merging runs as `merging` says.
fn read_merging<A: Element>(
    file: &File,
    offset: u64,
    shape: &[usize],
    axes: &[AxisRead],
    merging: Merging,
) -> io::Result<ArrayD<A>> {
    let counts: Vec<usize> = axes.iter().map(|axis| axis.count).collect();
    let total: usize = counts.iter().product();
    let mut values = vec![A::default(); total];
    if total > 0 {
        let bytes = A::raw_bytes_mut(&mut values)
            .ok_or_else(|| io::Error::other("elements of this type are not raw bytes"))?;
        let element = size_of::<A>() as u64;
        let mut reader = Merger::new(file, bytes, merging);
        for_each_run(shape, axes, |start, len| {
            reader.push(offset + start as u64 * element, len as u64 * element)
        })?;
        reader.flush()?;
    }
    ArrayD::from_shape_vec(counts, values).map_err(io::Error::other)
}

/// Calls `run(first element, length)` for each run of the selection, in
/// file order (which is also the order of the result, C order).
fn for_each_run(
    shape: &[usize],
    axes: &[AxisRead],
    mut run: impl FnMut(usize, usize) -> io::Result<()>,
) -> io::Result<()> {
    let ndim = shape.len();
    let mut strides = vec![1_usize; ndim];
    for axis in (0..ndim.saturating_sub(1)).rev() {
        strides[axis] = strides[axis + 1] * shape[axis + 1];
    }
    // The trailing axes read whole form one contiguous block; the axis
    // before them is read as one run when its step is 1.
    let whole = |axis: usize| {
        axes[axis].start == 0 && axes[axis].count == shape[axis] && axes[axis].step == 1
    };
    let inner_from = (0..ndim)
        .rev()
        .find(|&axis| !whole(axis))
        .map_or(0, |a| a + 1);
    let (outer, run_len, base) = match inner_from.checked_sub(1) {
        None => (0, strides.first().map_or(1, |s| s * shape[0]), 0),
        Some(last) if axes[last].step == 1 => (
            last,
            axes[last].count * strides[last],
            axes[last].start * strides[last],
        ),
        Some(last) => (last + 1, strides[last], 0),
    };
    // Odometer over the axes before `outer`.
    let mut index = vec![0_usize; outer];
    loop {
        let start = base
            + (0..outer)
                .map(|axis| (axes[axis].start + index[axis] * axes[axis].step) * strides[axis])
                .sum::<usize>();
        run(start, run_len)?;
        let mut digit = outer;
        loop {
            if digit == 0 {
                return Ok(());
            }
            digit -= 1;
            index[digit] += 1;
            if index[digit] < axes[digit].count {
                break;
            }
            index[digit] = 0;
        }
    }
}

/// Reads runs into consecutive parts of `out`, merging runs that lie close
/// together in the file into one read.
struct Merger<'a> {
    file: &'a File,
    merging: Merging,
    out: &'a mut [u8],
    /// Bytes of `out` filled.
    filled: usize,
    /// The runs waiting: `(file offset, length)`, increasing.
    pending: Vec<(u64, u64)>,
    scratch: Vec<u8>,
}

impl<'a> Merger<'a> {
    fn new(file: &'a File, out: &'a mut [u8], merging: Merging) -> Self {
        Self {
            file,
            merging,
            out,
            filled: 0,
            pending: Vec::new(),
            scratch: Vec::new(),
        }
    }

    fn push(&mut self, at: u64, len: u64) -> io::Result<()> {
        if let (Some(&(first, _)), Some(&(last, last_len))) =
            (self.pending.first(), self.pending.last())
        {
            let end = last + last_len;
            if at < end
                || at - end > self.merging.gap_bytes
                || at + len - first > self.merging.max_bytes
            {
                self.flush()?;
            }
        }
        self.pending.push((at, len));
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        let (Some(&(first, _)), Some(&(last, last_len))) =
            (self.pending.first(), self.pending.last())
        else {
            return Ok(());
        };
        let span = usize::try_from(last + last_len - first).map_err(io::Error::other)?;
        let wanted: usize = self.pending.iter().map(|&(_, len)| len as usize).sum();
        if span == wanted {
            // Back to back: straight into place.
            let target = &mut self.out[self.filled..self.filled + span];
            self.file.read_exact_at(target, first)?;
        } else {
            self.scratch.resize(span, 0);
            self.file.read_exact_at(&mut self.scratch, first)?;
            let mut at = self.filled;
            for &(offset, len) in &self.pending {
                let from = (offset - first) as usize;
                let len = len as usize;
                self.out[at..at + len].copy_from_slice(&self.scratch[from..from + len]);
                at += len;
            }
        }
        self.filled += wanted;
        self.pending.clear();
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_wrap)]
mod tests {
    use std::io::Write as _;

    use ndarray::{IxDyn, SliceInfoElem};
    use proptest::prelude::*;

    use super::*;
    use crate::selection::Selection;

    fn slice() -> impl Strategy<Value = SliceInfoElem> {
        prop_oneof![
            (0_isize..9).prop_map(SliceInfoElem::Index),
            (0_isize..9, 0_isize..40, -5_isize..6)
                .prop_filter("a step", |(_, _, step)| *step != 0)
                .prop_map(|(start, end, step)| SliceInfoElem::Slice {
                    start,
                    end: Some(end),
                    step,
                }),
            Just(SliceInfoElem::from(..)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Positioned reads of any slice, merged or not, give what
        /// ndarray's slicing of the same array in memory gives, whatever
        /// the merging limits.
        #[test]
        fn raw_reads_match_ndarray_slicing(
            shape in proptest::collection::vec(1_usize..40, 1..4),
            elems in proptest::collection::vec(slice(), 3),
            header in 0_usize..100,
            gap_bytes in 0_u64..512,
            max_bytes in 8_u64..4096,
        ) {
            let elems = &elems[..shape.len()];
            let len: usize = shape.iter().product();
            let array = ndarray::ArrayD::from_shape_vec(
                IxDyn(&shape),
                (0..len).map(|i| i as f64 * 0.5).collect(),
            ).unwrap();
            let Ok(selection) = Selection::new(&shape, elems) else {
                return Ok(()); // out of bounds: the selection's own tests
            };
            let mut file = tempfile::tempfile().unwrap();
            file.write_all(&vec![7_u8; header]).unwrap();
            file.write_all(bytemuck::cast_slice(array.as_slice().unwrap())).unwrap();
            // Small limits, so that runs are merged, split on gaps and
            // split on size alike.
            let merging = Merging { gap_bytes, max_bytes };
            let region =
                read_merging::<f64>(&file, header as u64, &shape, &selection.axes, merging).unwrap();
            let read = region.slice_move(selection.in_memory::<IxDyn>(true).unwrap());
            prop_assert_eq!(read, array.slice(elems));
        }
    }

    fn runs(shape: &[usize], axes: &[AxisRead]) -> Vec<(usize, usize)> {
        let mut runs = Vec::new();
        for_each_run(shape, axes, |start, len| {
            runs.push((start, len));
            Ok(())
        })
        .unwrap();
        runs
    }

    fn axis(start: usize, count: usize, step: usize) -> AxisRead {
        AxisRead {
            start,
            count,
            step,
            reversed: false,
            indexed: false,
        }
    }

    #[test]
    fn whole_rows_and_full_arrays_are_single_runs() {
        let shape = [10, 4, 3];
        let all = [axis(0, 10, 1), axis(0, 4, 1), axis(0, 3, 1)];
        assert_eq!(runs(&shape, &all), vec![(0, 120)]);
        let rows = [axis(2, 5, 1), axis(0, 4, 1), axis(0, 3, 1)];
        assert_eq!(runs(&shape, &rows), vec![(24, 60)]);
        let every_other_row = [axis(1, 3, 2), axis(0, 4, 1), axis(0, 3, 1)];
        assert_eq!(
            runs(&shape, &every_other_row),
            vec![(12, 12), (36, 12), (60, 12)]
        );
        let column = [axis(0, 2, 1), axis(1, 2, 1), axis(2, 1, 1)];
        assert_eq!(
            runs(&shape, &column),
            vec![(5, 1), (8, 1), (17, 1), (20, 1)]
        );
    }
}

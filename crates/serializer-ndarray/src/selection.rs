//! ndarray's slice syntax (`s![..]`) turned into what the stores read: per
//! stored axis a first index, a count and a positive step, plus the slice
//! applied in memory afterwards (dropping indexed axes, reversing negative
//! steps, adding new axes), so that a stored read matches
//! `array.slice(info)` exactly, without its panics.

use ndarray::{SliceInfo, SliceInfoElem};

use crate::error::ArrayError;

/// What to read of one stored axis: `count` indices from `start`, `step`
/// apart, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AxisRead {
    /// The first index read.
    pub(crate) start: usize,
    /// How many indices.
    pub(crate) count: usize,
    /// Distance between them (≥ 1).
    pub(crate) step: usize,
    /// The slice walks the axis backwards (a negative step).
    pub(crate) reversed: bool,
    /// The axis is indexed, not sliced: it leaves the result.
    pub(crate) indexed: bool,
}

impl AxisRead {
    /// The extent of the smallest box holding the indices read.
    pub(crate) fn span(&self) -> usize {
        if self.count == 0 {
            0
        } else {
            (self.count - 1) * self.step + 1
        }
    }
}

/// A slice of a stored array, checked against its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selection {
    /// One entry per stored axis.
    pub(crate) axes: Vec<AxisRead>,
    /// The slice as given, for the parts that are not stored axes (new axes).
    elems: Vec<SliceInfoElem>,
}

impl Selection {
    /// Checks `elems` against an array of `shape`.
    pub(crate) fn new(shape: &[usize], elems: &[SliceInfoElem]) -> Result<Self, ArrayError> {
        let out_of_bounds = |reason: String| ArrayError::OutOfBounds {
            slice: describe(elems),
            shape: shape.to_vec(),
            reason,
        };
        let stored_axes = elems
            .iter()
            .filter(|elem| !matches!(elem, SliceInfoElem::NewAxis))
            .count();
        if stored_axes != shape.len() {
            return Err(out_of_bounds(format!(
                "it names {stored_axes} axes, the array has {}",
                shape.len()
            )));
        }
        let mut axes = Vec::with_capacity(shape.len());
        let mut extents = shape.iter().copied().enumerate();
        for elem in elems {
            let read = match *elem {
                SliceInfoElem::NewAxis => continue,
                SliceInfoElem::Index(index) => {
                    let Some((number, extent)) = extents.next() else {
                        break;
                    };
                    let resolved = absolute(index, extent).filter(|&i| i < extent);
                    let Some(start) = resolved else {
                        return Err(out_of_bounds(format!(
                            "index {index} is outside axis {number} of length {extent}"
                        )));
                    };
                    AxisRead {
                        start,
                        count: 1,
                        step: 1,
                        reversed: false,
                        indexed: true,
                    }
                }
                SliceInfoElem::Slice { start, end, step } => {
                    let Some((number, extent)) = extents.next() else {
                        break;
                    };
                    if step == 0 {
                        return Err(out_of_bounds(format!("axis {number} has a step of 0")));
                    }
                    let first = absolute(start, extent).filter(|&i| i <= extent);
                    let last = absolute(end.unwrap_or(extent.cast_signed()), extent)
                        .filter(|&i| i <= extent);
                    let (Some(first), Some(last)) = (first, last) else {
                        return Err(out_of_bounds(format!(
                            "range {} is outside axis {number} of length {extent}",
                            describe_elem(elem)
                        )));
                    };
                    let last = last.max(first);
                    let stride = step.unsigned_abs();
                    let count = (last - first).div_ceil(stride);
                    // Backwards, the slice starts at its end: the indices
                    // read are those from the last one down, `stride` apart.
                    let start = if step < 0 && count > 0 {
                        last - 1 - (count - 1) * stride
                    } else {
                        first
                    };
                    AxisRead {
                        start,
                        count,
                        step: stride,
                        reversed: step < 0,
                        indexed: false,
                    }
                }
            };
            axes.push(read);
        }
        Ok(Self {
            axes,
            elems: elems.to_vec(),
        })
    }

    /// The number of elements the slice selects.
    pub(crate) fn len(&self) -> usize {
        self.axes.iter().map(|axis| axis.count).product()
    }

    /// The slice to apply in memory to the region read: of shape `count`
    /// per axis when the store read with the steps (`strided`), else of
    /// shape [`span`](AxisRead::span) per axis.
    pub(crate) fn in_memory<Dout: ndarray::Dimension>(
        &self,
        strided: bool,
    ) -> Result<SliceInfo<Vec<SliceInfoElem>, ndarray::IxDyn, Dout>, ArrayError> {
        let mut axes = self.axes.iter();
        let elems: Vec<SliceInfoElem> = self
            .elems
            .iter()
            .map(|elem| match (elem, axes.next_if_stored(elem)) {
                (_, None) => SliceInfoElem::NewAxis,
                (_, Some(read)) if read.indexed => SliceInfoElem::Index(0),
                (_, Some(read)) => {
                    let step = if strided { 1 } else { read.step.cast_signed() };
                    SliceInfoElem::Slice {
                        start: 0,
                        end: None,
                        step: if read.reversed { -step } else { step },
                    }
                }
            })
            .collect();
        SliceInfo::try_from(elems).map_err(|error| {
            ArrayError::Shape(format!(
                "the slice {} does not give the requested number of dimensions: {error}",
                describe(&self.elems)
            ))
        })
    }
}

/// Takes the next stored axis for `elem`, unless it is a new axis.
trait NextIfStored<'a> {
    fn next_if_stored(&mut self, elem: &SliceInfoElem) -> Option<&'a AxisRead>;
}

impl<'a, I: Iterator<Item = &'a AxisRead>> NextIfStored<'a> for I {
    fn next_if_stored(&mut self, elem: &SliceInfoElem) -> Option<&'a AxisRead> {
        if matches!(elem, SliceInfoElem::NewAxis) {
            None
        } else {
            self.next()
        }
    }
}

/// `index` counted from the end when negative, as ndarray does; `None`
/// when it falls before the start.
fn absolute(index: isize, extent: usize) -> Option<usize> {
    if index < 0 {
        extent.checked_sub(index.unsigned_abs())
    } else {
        Some(index.unsigned_abs())
    }
}

/// The slice as `s![]` would spell it, for messages.
fn describe(elems: &[SliceInfoElem]) -> String {
    let parts: Vec<String> = elems.iter().map(describe_elem).collect();
    format!("s![{}]", parts.join(", "))
}

/// One axis of a slice as `s![]` would spell it.
fn describe_elem(elem: &SliceInfoElem) -> String {
    match *elem {
        SliceInfoElem::Index(index) => index.to_string(),
        SliceInfoElem::NewAxis => "NewAxis".to_owned(),
        SliceInfoElem::Slice { start, end, step } => {
            let start = if start == 0 {
                String::new()
            } else {
                start.to_string()
            };
            let end = end.map(|end| end.to_string()).unwrap_or_default();
            if step == 1 {
                format!("{start}..{end}")
            } else {
                format!("{start}..{end};{step}")
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_wrap)]
mod tests {
    use ndarray::{ArrayD, IxDyn, s};
    use proptest::prelude::*;

    use super::*;

    /// Reads `selection` from `array` the way the stores do: the region
    /// (strided or the bounding box), then the in-memory slice.
    fn read_like_a_store(array: &ArrayD<i32>, selection: &Selection, strided: bool) -> ArrayD<i32> {
        let region: Vec<SliceInfoElem> = selection
            .axes
            .iter()
            .map(|axis| SliceInfoElem::Slice {
                start: axis.start as isize,
                end: Some((axis.start + axis.span()) as isize),
                step: if strided { axis.step as isize } else { 1 },
            })
            .collect();
        let region = array.slice(region.as_slice()).to_owned();
        region
            .slice_move(selection.in_memory::<IxDyn>(strided).unwrap())
            .to_owned()
    }

    fn elem() -> impl Strategy<Value = SliceInfoElem> {
        prop_oneof![
            (-7_isize..7).prop_map(SliceInfoElem::Index),
            (-7_isize..7, proptest::option::of(-7_isize..7), -3_isize..4)
                .prop_map(|(start, end, step)| SliceInfoElem::Slice { start, end, step }),
            Just(SliceInfoElem::NewAxis),
        ]
    }

    proptest! {
        // ndarray's panics are the oracle for errors: each prints a trace.
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn stored_reads_match_ndarray_slicing(
            shape in proptest::collection::vec(0_usize..6, 1..4),
            elems in proptest::collection::vec(elem(), 1..5),
        ) {
            let len = shape.iter().product::<usize>();
            let array = ArrayD::from_shape_vec(
                shape.clone(),
                (0..len as i32).collect(),
            ).unwrap();
            let by_ndarray = std::panic::catch_unwind(|| array.slice(elems.as_slice()).to_owned());
            match (Selection::new(&shape, &elems), by_ndarray) {
                (Ok(selection), Ok(expected)) => {
                    prop_assert_eq!(selection.len(), expected.len());
                    prop_assert_eq!(&read_like_a_store(&array, &selection, true), &expected);
                    prop_assert_eq!(&read_like_a_store(&array, &selection, false), &expected);
                }
                (Err(_), Err(_)) => {}
                (ours, theirs) => prop_assert!(
                    false,
                    "{elems:?} on {shape:?}: ours {ours:?}, ndarray panicked: {}",
                    theirs.is_err()
                ),
            }
        }
    }

    #[test]
    fn out_of_bounds_slices_are_errors_that_name_the_slice() {
        let error = Selection::new(&[4, 5], s![2..9, ..].as_ref()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "slice s![2..9, ..] does not fit the stored array of shape [4, 5]: \
             range 2..9 is outside axis 0 of length 4"
        );
        let error = Selection::new(&[4, 5], s![.., 5].as_ref()).unwrap_err();
        assert!(
            error.to_string().contains("index 5 is outside axis 1"),
            "{error}"
        );
        let error = Selection::new(&[4, 5], s![1..2].as_ref()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("it names 1 axes, the array has 2"),
            "{error}"
        );
    }
}

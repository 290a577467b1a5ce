//! Arrays of every element type, dimension and memory layout round-trip
//! through real HDF5 files.

// Test code: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_wrap)]

mod common;

use common::{WF, h5_files, ids, storage};
use functionfuse_core::{Persistent, Storage};
use functionfuse_serializer_ndarray as _;
use ndarray::{
    Array, Array0, Array1, Array2, Array3, Array6, ArrayD, IxDyn, ShapeBuilder, arr0, s,
};
use serde::{Deserialize, Serialize};

fn round_trip<A, D>(storage: &Storage, task: &str, array: &Array<A, D>)
where
    Array<A, D>: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug + 'static,
{
    storage.save(WF, task, array).expect("save");
    let back: Array<A, D> = storage.read_task(WF, task).expect("read");
    assert_eq!(&back, array, "{task}");
    assert_eq!(ids(storage, task)[0].serializer, "ndarray", "{task}");
}

macro_rules! every_element_type {
    ($storage:expr; $($t:ty => $make:expr),* $(,)?) => {$(
        let values: Vec<$t> = (0..24_u8).map($make).collect();
        let name = stringify!($t);
        round_trip($storage, &format!("{name}_1d"), &Array1::from(values.clone()));
        round_trip($storage, &format!("{name}_3d"),
            &Array3::from_shape_vec((2, 3, 4), values.clone()).unwrap());
        round_trip($storage, &format!("{name}_dyn"),
            &ArrayD::from_shape_vec(IxDyn(&[4, 6]), values.clone()).unwrap());
        round_trip($storage, &format!("{name}_0d"), &arr0(values[5]));
    )*};
}

#[test]
fn every_element_type_round_trips() {
    let (storage, _dir) = storage();
    every_element_type!(&storage;
        f32 => |i| f32::from(i) * 0.5 - 3.0,
        f64 => |i| f64::from(i).sqrt() * -1e300,
        i8 => |i| i8::MIN + i as i8,
        i16 => |i| i16::from(i) * -1000,
        i32 => |i| i32::MAX - i32::from(i),
        i64 => |i| i64::MIN + i64::from(i),
        u8 => |i| 255 - i,
        u16 => |i| u16::from(i) * 2000,
        u32 => |i| u32::MAX - u32::from(i),
        u64 => |i| u64::MAX - u64::from(i),
        bool => |i| i % 3 == 0,
    );
    assert_eq!(h5_files(&storage).len(), 11 * 4);
}

#[test]
fn every_dimension_count_round_trips() {
    let (storage, _dir) = storage();
    round_trip(&storage, "ix0", &Array0::from_elem((), 7.5_f64));
    round_trip(&storage, "ix2", &Array2::from_elem((2, 2), 1_u16));
    let six = Array6::from_shape_fn((2, 1, 3, 1, 2, 2), |(a, b, c, d, e, f)| {
        (a * 1000 + b * 100 + c * 10 + d + e * 7 + f) as i64
    });
    round_trip(&storage, "ix6", &six);
    round_trip(
        &storage,
        "dyn7",
        &ArrayD::<u8>::zeros(IxDyn(&[1, 2, 1, 2, 1, 2, 3])),
    );
}

#[test]
fn any_memory_layout_keeps_its_logical_values() {
    let (storage, _dir) = storage();
    let base = Array2::from_shape_fn((5, 7), |(i, j)| (i * 10 + j) as f64);
    let transposed = base.t().to_owned();
    let strided = base.slice(s![..;2, 1..;3]).to_owned();
    let fortran = Array2::from_shape_vec((5, 7).f(), (0..35).map(f64::from).collect()).unwrap();
    let mut reversed = base.clone();
    reversed.invert_axis(ndarray::Axis(1));
    for (task, array) in [
        ("transposed", base.clone().reversed_axes()),
        ("transposed_copy", transposed),
        ("strided", strided),
        ("fortran", fortran),
        ("reversed", reversed),
    ] {
        storage.save(WF, task, &array).expect("save");
        let back: Array2<f64> = storage.read_task(WF, task).expect("read");
        assert_eq!(back, array, "{task}");
        assert!(back.is_standard_layout());
    }
}

#[test]
fn empty_and_zero_dimensional_arrays_round_trip() {
    let (storage, _dir) = storage();
    round_trip(&storage, "empty_1d", &Array1::<f64>::zeros(0));
    round_trip(&storage, "empty_2d", &Array2::<i32>::zeros((0, 3)));
    round_trip(
        &storage,
        "empty_3d",
        &Array3::<bool>::from_elem((4, 0, 2), true),
    );
    round_trip(&storage, "scalar", &Array0::from_elem((), -1_i8));
    round_trip(
        &storage,
        "scalar_dyn",
        &ArrayD::from_elem(IxDyn(&[]), 3_u32),
    );
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Fit {
    label: String,
    iterations: u32,
    weights: Persistent<Array2<f32>>,
    #[serde(with = "functionfuse_core::persistent")]
    bias: Array1<f64>,
    history: Vec<f64>,
}

#[test]
fn arrays_nested_in_user_types_go_to_their_own_files() {
    let (storage, _dir) = storage();
    let fit = Fit {
        label: "ridge".into(),
        iterations: 12,
        weights: Persistent(Array2::from_shape_fn((30, 40), |(i, j)| (i * j) as f32)),
        bias: Array1::linspace(0.0, 1.0, 40),
        history: vec![3.0, 2.0, 1.5],
    };
    storage.save(WF, "fit", &fit).expect("save");
    assert_eq!(h5_files(&storage).len(), 2);
    let pids = ids(&storage, "fit");
    assert_eq!(pids[0].metadata["dtype"], "float32");
    assert_eq!(pids[0].metadata["shape"], serde_json::json!([30, 40]));
    assert_eq!(pids[1].metadata["dtype"], "float64");
    assert_eq!(storage.read_task::<Fit>(WF, "fit").expect("read"), fit);
}

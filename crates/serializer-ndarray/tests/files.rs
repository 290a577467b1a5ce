//! The HDF5 files themselves: dataset, attributes, options, and the
//! conformance suite with the ndarray serializer linked in.

// Test code: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_wrap)]

mod common;

use common::{WF, h5_files, storage};
use functionfuse_core::StorageBackend;
use functionfuse_serializer_ndarray::{
    Compression, DATASET, NdarrayOptions, SERIALIZER_ATTR, VERSION_ATTR, serializers,
};
use functionfuse_storage_file::FileBackend;
use hdf5::types::VarLenUnicode;
use ndarray::{Array2, Array3};

fn fresh() -> (Box<dyn StorageBackend>, tempfile::TempDir) {
    let folder = tempfile::tempdir().expect("temporary folder");
    (Box::new(FileBackend::new(folder.path())), folder)
}

functionfuse_core::conformance_tests!(fresh);

#[test]
fn the_file_holds_one_typed_dataset_with_attributes() {
    let (storage, _dir) = storage();
    let array = Array3::from_shape_fn((2, 3, 4), |(i, j, k)| (i * 12 + j * 4 + k) as i32);
    storage.save(WF, "a", &array).expect("save");
    let files = h5_files(&storage);
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().unwrap(), "h5");
    let file = hdf5::File::open(&files[0]).unwrap();
    assert_eq!(file.member_names().unwrap(), [DATASET]);
    let dataset = file.dataset(DATASET).unwrap();
    assert_eq!(dataset.shape(), [2, 3, 4]);
    assert!(!dataset.is_chunked(), "default layout is contiguous");
    assert_eq!(dataset.read::<i32, ndarray::Ix3>().unwrap(), array);
    let serializer: VarLenUnicode = dataset
        .attr(SERIALIZER_ATTR)
        .unwrap()
        .read_scalar()
        .unwrap();
    assert_eq!(serializer.as_str(), "ndarray");
    let version: u32 = dataset.attr(VERSION_ATTR).unwrap().read_scalar().unwrap();
    assert_eq!(version, 1);
}

#[test]
fn deflate_and_chunks_are_applied_and_round_trip() {
    let (mut storage, dir) = storage();
    let plain = Array2::<f64>::zeros((500, 400));
    storage.save(WF, "plain", &plain).expect("save");
    let plain_size = std::fs::metadata(&h5_files(&storage)[0]).unwrap().len();
    storage.register_persistent_serializers(serializers(&NdarrayOptions {
        chunk: Some(vec![100, 100]),
        compression: Compression::Deflate { level: 6 },
        ..NdarrayOptions::default()
    }));
    storage.save(WF, "packed", &plain).expect("save");
    let packed_file = h5_files(&storage)
        .into_iter()
        .find(|f| std::fs::metadata(f).unwrap().len() != plain_size)
        .expect("a second, smaller file");
    let size = std::fs::metadata(&packed_file).unwrap().len();
    assert!(size * 20 < plain_size, "{size} vs {plain_size}");
    let dataset = hdf5::File::open(&packed_file)
        .unwrap()
        .dataset(DATASET)
        .unwrap();
    assert_eq!(dataset.chunk(), Some(vec![100, 100]));
    assert_eq!(
        storage.read_task::<Array2<f64>>(WF, "packed").unwrap(),
        plain
    );
    // A storage with the default options reads compressed files too.
    let reader = functionfuse_core::Storage::new(Box::new(FileBackend::new(dir.path())));
    assert_eq!(
        reader.read_task::<Array2<f64>>(WF, "packed").unwrap(),
        plain
    );
}

#[test]
fn a_storage_without_the_file_protocol_gets_a_clear_error() {
    use functionfuse_core::{PersistentSerializer, Protocols};
    use functionfuse_serializer_ndarray::NdarraySerializer;

    let serializer = NdarraySerializer::<f64, ndarray::Ix2>::default();
    let array = Array2::<f64>::zeros((2, 2));
    let error = serializer.pickle(&array, &Protocols::new()).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("`ndarray`"), "{message}");
    assert!(message.contains("file_protocol"), "{message}");
    assert!(message.contains("offers []"), "{message}");
}

//! Arrays larger than memory: lazy handles, slices, blocks, out-of-core
//! writes, reads into the caller's memory and mapped reads — on HDF5 files
//! and on zarr arrays over a real S3-protocol server, errors included.

// Test code: a failed expectation is the test failing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation
)]

use std::path::Path;

use functionfuse_core::{Error, Persistent, Storage};
use functionfuse_s3_server::{S3Server, TEST_BUCKET};
use functionfuse_serializer_ndarray::{
    ArrayError, ArrayHandle, ArrayStorage, Compression, NdarrayOptions, serializers,
};
use functionfuse_storage_file::FileBackend;
use functionfuse_storage_s3::{S3Backend, S3Options};
use ndarray::{Array1, Array2, Array3, ArrayD, ShapeBuilder, s};
use serde::{Deserialize, Serialize};

const WF: &str = "large";

/// A storage of each kind: a fresh folder, and a fresh prefix of the test
/// bucket. Keep the guard alive.
fn storages() -> (Vec<(&'static str, Storage)>, tempfile::TempDir) {
    let folder = tempfile::tempdir().unwrap();
    let file = Storage::new(Box::new(FileBackend::new(folder.path())));
    let server = S3Server::shared().unwrap();
    let backend = S3Backend::open(S3Options {
        path: format!("{TEST_BUCKET}/large-{}", uuid::Uuid::new_v4().simple()),
        endpoint_url: Some(server.endpoint()),
        key: Some(server.access_key().to_owned()),
        secret: Some(server.secret_key().to_owned()),
        ..S3Options::default()
    })
    .unwrap();
    let s3 = Storage::new(Box::new(backend));
    (vec![("file", file), ("s3", s3)], folder)
}

/// Every big-data object of the workflow (files or keys).
fn objects(storage: &Storage) -> Vec<String> {
    let protocols = storage.protocols(WF).unwrap();
    if let Some(file) = protocols.file() {
        let mut names: Vec<String> = std::fs::read_dir(file.folder())
            .map(|entries| {
                entries
                    .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        return names;
    }
    let s3 = protocols.s3().unwrap();
    s3.list_blocking("")
        .unwrap()
        .into_iter()
        .map(|(key, _)| key)
        .collect()
}

/// A 3-d array whose every element differs.
fn cube() -> Array3<f64> {
    Array3::from_shape_fn((37, 11, 6), |(i, j, k)| {
        (i * 1000 + j * 10 + k) as f64 + 0.5
    })
}

/// Chunks that do not divide the shape, so that slices straddle them.
fn small_chunks() -> NdarrayOptions {
    NdarrayOptions {
        chunk: Some(vec![8, 4, 6]),
        ..NdarrayOptions::default()
    }
}

#[test]
fn handles_open_without_reading_and_slice_like_ndarray() {
    let (storages, _guard) = storages();
    let array = cube();
    for (kind, storage) in &storages {
        storage.save(WF, "cube", &array).unwrap();
        storage
            .save_array_with(WF, "chunked", &array, &small_chunks())
            .unwrap();
        for task in ["cube", "chunked"] {
            let handle = storage.read_task::<ArrayHandle<f64>>(WF, task).unwrap();
            assert_eq!(handle.shape(), &[37, 11, 6], "{kind} {task}");
            assert_eq!(
                (handle.dtype(), handle.len(), handle.ndim()),
                ("float64", 37 * 11 * 6, 3)
            );
            assert_eq!(
                handle.format(),
                if *kind == "file" { "hdf5" } else { "zarr" }
            );
            if task == "chunked" {
                assert_eq!(handle.chunk_shape(), Some(&[8, 4, 6][..]), "{kind}");
            }
            assert_eq!(
                handle.read().unwrap(),
                array.clone().into_dyn(),
                "{kind} {task}"
            );
            let slices = [
                s![.., .., ..].to_vec(),
                s![3..20, 2..9, 1].to_vec(),
                s![-5.., ..;3, ..;-2].to_vec(),
                s![7, 10, 5].to_vec(),
                s![..;7, ndarray::NewAxis, 4..4, ..].to_vec(),
                s![2..30;-4, -1, ..].to_vec(),
            ];
            for slice in &slices {
                let expected = array.view().into_dyn().slice(slice.as_slice()).to_owned();
                let read = handle.read_slice(slice.as_slice()).unwrap();
                assert_eq!(read, expected, "{kind} {task} {slice:?}");
            }
            // The slice macro keeps its dimension types.
            let plane: Array2<f64> = handle.read_slice(s![5, .., ..]).unwrap();
            assert_eq!(plane, array.slice(s![5, .., ..]));
            // Blocks along the first axis, the last one shorter.
            let blocks: Vec<ArrayD<f64>> = handle.blocks(10).map(Result::unwrap).collect();
            assert_eq!(
                blocks.iter().map(|b| b.shape()[0]).collect::<Vec<_>>(),
                [10, 10, 10, 7]
            );
            let views: Vec<_> = blocks.iter().map(|block| block.view()).collect();
            assert_eq!(
                ndarray::concatenate(ndarray::Axis(0), &views).unwrap(),
                array.clone().into_dyn()
            );
        }
    }
}

#[test]
fn slices_out_of_bounds_and_wrong_element_types_are_clear_errors() {
    let (storages, _guard) = storages();
    for (kind, storage) in &storages {
        storage.save(WF, "cube", &cube()).unwrap();
        let handle = storage.open_array::<f64>(WF, "cube").unwrap();
        for (slice, says) in [
            (
                s![0..38, .., ..].to_vec(),
                "range ..38 is outside axis 0 of length 37",
            ),
            (
                s![.., 11, ..].to_vec(),
                "index 11 is outside axis 1 of length 11",
            ),
            (
                s![.., .., -7].to_vec(),
                "index -7 is outside axis 2 of length 6",
            ),
        ] {
            let error = handle.read_slice(slice.as_slice()).unwrap_err();
            assert!(
                matches!(error, ArrayError::OutOfBounds { .. }),
                "{kind}: {error}"
            );
            assert!(error.to_string().contains(says), "{kind}: {error}");
        }
        let error = handle.read_slice(s![1..2, ..]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("it names 2 axes, the array has 3"),
            "{error}"
        );
        let error = storage
            .read_task::<ArrayHandle<f32>>(WF, "cube")
            .unwrap_err();
        assert!(
            matches!(&error, Error::TypeMismatch { reason, .. } if reason.contains("elements are float64, not float32")),
            "{kind}: {error}"
        );
        // Nothing was harmed.
        assert_eq!(
            storage.read_task::<Array3<f64>>(WF, "cube").unwrap(),
            cube()
        );
    }
}

#[test]
fn a_zarr_slice_fetches_only_its_chunks_and_a_missing_one_is_damage() {
    let (storages, _guard) = storages();
    let (_, storage) = &storages[1];
    let array = cube();
    storage
        .save_array_with(WF, "cube", &array, &small_chunks())
        .unwrap();
    let handle = storage.open_array::<f64>(WF, "cube").unwrap();
    let location = handle.persistent_id().location.clone();
    // Remove every chunk of the first band of rows (rows 0..8).
    let protocols = storage.protocols(WF).unwrap();
    let s3 = protocols.s3().unwrap();
    let band: Vec<String> = s3
        .list_blocking(&format!("{location}/c/0/"))
        .unwrap()
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(band.len(), 3, "{band:?}");
    for key in &band {
        s3.delete_blocking(key).unwrap();
    }
    // Slices elsewhere never ask for them.
    assert_eq!(
        handle.read_slice(s![8..37, .., ..]).unwrap(),
        array.slice(s![8.., .., ..])
    );
    for read in [
        handle.read_slice(s![7..9, .., ..]).map(drop),
        handle.read().map(drop),
    ] {
        let error = read.unwrap_err();
        assert!(
            matches!(&error, ArrayError::Damaged(damaged) if damaged.reason.contains("is missing")),
            "{error}"
        );
        assert!(error.to_string().contains("recompute the task"), "{error}");
    }
    let error = storage.read_task::<Array3<f64>>(WF, "cube").unwrap_err();
    assert!(matches!(error, Error::CorruptRecord { .. }), "{error}");
}

#[test]
fn a_missing_hdf5_file_is_a_corrupt_record() {
    let (storages, _guard) = storages();
    let (_, storage) = &storages[0];
    storage.save(WF, "cube", &cube()).unwrap();
    let handle = storage.open_array::<f64>(WF, "cube").unwrap();
    let path = handle.location();
    drop(handle);
    std::fs::remove_file(&path).unwrap();
    let error = storage.open_array::<f64>(WF, "cube").unwrap_err();
    assert!(
        matches!(&error, Error::CorruptRecord { reason, .. } if reason.contains("missing")),
        "{error}"
    );
}

#[test]
fn an_open_hdf5_handle_keeps_reading_what_it_opened() {
    let (storages, _guard) = storages();
    let (_, storage) = &storages[0];
    storage.save(WF, "cube", &cube()).unwrap();
    let handle = storage.open_array::<f64>(WF, "cube").unwrap();
    // A contiguous array is read without libhdf5 once opened: the same
    // program may open the file through hdf5-metno with its defaults.
    let direct = hdf5::File::open(handle.location()).unwrap();
    assert_eq!(direct.dataset("array").unwrap().shape(), [37, 11, 6]);
    drop(direct);
    // A new save replaces the file and removes the old one.
    storage.save(WF, "cube", &(cube() * 2.0)).unwrap();
    assert!(!Path::new(&handle.location()).exists());
    assert_eq!(handle.read().unwrap(), cube().into_dyn());
    assert_eq!(
        storage
            .open_array::<f64>(WF, "cube")
            .unwrap()
            .read()
            .unwrap(),
        (cube() * 2.0).into_dyn()
    );
}

#[derive(Serialize, Deserialize)]
struct Saved {
    name: String,
    weights: Persistent<Array2<f64>>,
    counts: Persistent<Array1<i32>>,
}

#[derive(Serialize, Deserialize)]
struct Opened {
    name: String,
    weights: Persistent<ArrayHandle<f64>>,
    counts: Persistent<ArrayHandle<i32>>,
}

#[test]
fn handles_as_fields_open_a_struct_without_its_arrays_and_save_as_copies() {
    let (storages, _guard) = storages();
    let weights = Array2::from_shape_fn((300, 40), |(i, j)| (i * 40 + j) as f64);
    let counts = Array1::from_iter(0..1000);
    for (kind, storage) in &storages {
        storage
            .save(
                WF,
                "model",
                &Saved {
                    name: "m".into(),
                    weights: Persistent(weights.clone()),
                    counts: Persistent(counts.clone()),
                },
            )
            .unwrap();
        let opened = storage.read_task::<Opened>(WF, "model").unwrap();
        assert_eq!(opened.name, "m");
        assert_eq!(opened.weights.shape(), &[300, 40]);
        assert_eq!(
            opened.weights.read_slice(s![299, ..]).unwrap(),
            weights.row(299)
        );
        assert_eq!(opened.counts.read().unwrap(), counts.clone().into_dyn());

        // Saving a struct of handles copies their data, to any storage.
        for (other_kind, other) in &storages {
            other.save(WF, &format!("copy-of-{kind}"), &opened).unwrap();
            let copy = other
                .read_task::<Saved>(WF, &format!("copy-of-{kind}"))
                .unwrap();
            assert_eq!(*copy.weights, weights, "{kind} → {other_kind}");
            assert_eq!(*copy.counts, counts, "{kind} → {other_kind}");
        }
        // A whole handle saves as an array too.
        storage.save(WF, "weights", &*opened.weights).unwrap();
        assert_eq!(
            storage.read_task::<Array2<f64>>(WF, "weights").unwrap(),
            weights
        );
    }
}

#[test]
fn out_of_core_writes_read_back_as_arrays_and_handles() {
    let (storages, _guard) = storages();
    let array = Array2::from_shape_fn((1000, 33), |(i, j)| (i * 33 + j) as u16);
    for (kind, storage) in &storages {
        for (task, options) in [
            ("default", NdarrayOptions::default()),
            (
                "chunked",
                NdarrayOptions {
                    chunk: Some(vec![64, 33]),
                    compression: Compression::Deflate { level: 3 },
                    ..NdarrayOptions::default()
                },
            ),
        ] {
            let mut writer = storage
                .array_writer_with::<u16>(WF, task, &[1000, 33], &options)
                .unwrap();
            // Blocks of uneven heights, straddling chunk boundaries.
            let mut row = 0;
            for rows in [1, 100, 63, 200, 0, 500, 136].into_iter().cycle() {
                let rows = rows.min(1000 - row);
                writer.write(&array.slice(s![row..row + rows, ..])).unwrap();
                row += rows;
                if row == 1000 {
                    break;
                }
            }
            assert_eq!(writer.rows_written(), 1000);
            writer.finish().unwrap();
            assert_eq!(
                storage.read_task::<Array2<u16>>(WF, task).unwrap(),
                array,
                "{kind} {task}"
            );
            let handle = storage.open_array::<u16>(WF, task).unwrap();
            assert_eq!(
                handle.read_slice(s![500..700, 3]).unwrap(),
                array.slice(s![500..700, 3])
            );
            let report = storage
                .verify(
                    &[WF.to_owned()],
                    &functionfuse_core::maintenance::NoProgress,
                )
                .unwrap();
            assert!(
                report.problems.is_empty(),
                "{kind} {task}: {:?}",
                report.problems
            );
        }
        // The arrays' objects, nothing else: two files, or two zarr arrays
        // of 1 and 16 chunks with their metadata.
        let expected = if *kind == "file" { 2 } else { 2 + 17 };
        assert_eq!(
            objects(storage).len(),
            expected,
            "{kind}: {:?}",
            objects(storage)
        );
    }
}

#[test]
fn failed_or_abandoned_writes_leave_nothing_and_keep_the_earlier_result() {
    let (storages, _guard) = storages();
    let earlier = Array2::<f64>::ones((4, 3));
    for (kind, storage) in &storages {
        storage.save(WF, "t", &earlier).unwrap();
        let before = objects(storage);
        let block = Array2::<f64>::zeros((50, 3));

        // Dropped unfinished.
        let mut writer = storage.array_writer::<f64>(WF, "t", &[100, 3]).unwrap();
        writer.write(&block).unwrap();
        drop(writer);
        assert_eq!(objects(storage), before, "{kind}: dropped writer");

        // Too few rows: finish refuses.
        let mut writer = storage.array_writer::<f64>(WF, "t", &[100, 3]).unwrap();
        writer.write(&block).unwrap();
        let error = writer.finish().unwrap_err();
        assert!(
            error.to_string().contains("50 of the 100 rows"),
            "{kind}: {error}"
        );
        assert_eq!(objects(storage), before, "{kind}: short writer");

        // A wrong block is refused and the writer goes on.
        let mut writer = storage.array_writer::<f64>(WF, "t", &[100, 3]).unwrap();
        let error = writer.write(&Array2::<f64>::zeros((5, 4))).unwrap_err();
        assert!(
            error.to_string().contains("a block of shape [5, 4]"),
            "{kind}: {error}"
        );
        writer.write(&block).unwrap();
        let error = writer.write(&Array2::<f64>::zeros((51, 3))).unwrap_err();
        assert!(
            error.to_string().contains("more rows than"),
            "{kind}: {error}"
        );
        drop(writer);
        assert_eq!(objects(storage), before, "{kind}: refused blocks");

        // A failing source of blocks.
        let blocks = (0..3).map(|i| {
            if i < 2 {
                Ok(Array2::<f64>::zeros((10, 3)).into_dyn())
            } else {
                Err(anyhow::anyhow!("the simulation diverged"))
            }
        });
        let error = storage.save_blocks(WF, "t", &[30, 3], blocks).unwrap_err();
        assert!(
            error.to_string().contains("the simulation diverged"),
            "{kind}: {error}"
        );
        assert_eq!(objects(storage), before, "{kind}: failed source");
        assert_eq!(
            storage.read_task::<Array2<f64>>(WF, "t").unwrap(),
            earlier,
            "{kind}"
        );

        let error = storage.array_writer::<f64>(WF, "t", &[]).unwrap_err();
        assert!(
            error.to_string().contains("at least one axis"),
            "{kind}: {error}"
        );
    }
}

#[test]
fn reads_into_the_callers_array_check_shape_and_data() {
    let (storages, _guard) = storages();
    let array = Array2::from_shape_fn((2100, 1024), |(i, j)| (i * 1024 + j) as f64);
    for (kind, storage) in &storages {
        storage.save(WF, "big", &array).unwrap();
        let mut out = Array2::<f64>::zeros((2100, 1024));
        storage.read_task_into(WF, "big", &mut out).unwrap();
        assert_eq!(out, array, "{kind}");
        // Column-major memory is filled too.
        let mut fortran = Array2::<f64>::zeros((2100, 1024).f());
        storage.read_task_into(WF, "big", &mut fortran).unwrap();
        assert_eq!(fortran, array, "{kind}");
        let mut wrong = Array2::<f64>::zeros((1024, 2100));
        let error = storage.read_task_into(WF, "big", &mut wrong).unwrap_err();
        assert!(
            error.to_string().contains("shape [2100, 1024]"),
            "{kind}: {error}"
        );
        let mut bools = Array1::<bool>::default(3);
        storage
            .save(WF, "flags", &Array1::from(vec![true, false, true]))
            .unwrap();
        storage.read_task_into(WF, "flags", &mut bools).unwrap();
        assert_eq!(bools, Array1::from(vec![true, false, true]));
    }
    // A flipped byte in the file's data is caught by the direct read.
    let (_, storage) = &storages[0];
    let path = storage.open_array::<f64>(WF, "big").unwrap().location();
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 2; // in the data, whatever the metadata's place
    bytes[at] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
    let mut out = Array2::<f64>::zeros((2100, 1024));
    let error = storage.read_task_into(WF, "big", &mut out).unwrap_err();
    assert!(
        matches!(&error, Error::CorruptRecord { reason, .. } if reason.contains("integrity check")),
        "{error}"
    );
}

#[test]
fn contiguous_hdf5_arrays_map_without_reading() {
    let (storages, _guard) = storages();
    let array = cube();
    let (_, files) = &storages[0];
    files.save(WF, "cube", &array).unwrap();
    let mapped = files.open_array::<f64>(WF, "cube").unwrap().map().unwrap();
    assert_eq!(mapped.view(), array.clone().into_dyn());
    mapped.verify().unwrap();
    drop(mapped);
    // A flipped byte in the data (most of the file): mapped as it is,
    // caught by verify.
    let path = files.open_array::<f64>(WF, "cube").unwrap().location();
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
    let mapped = files.open_array::<f64>(WF, "cube").unwrap().map().unwrap();
    assert_ne!(mapped.view(), array.clone().into_dyn());
    let error = mapped.verify().unwrap_err();
    assert!(matches!(error, ArrayError::Damaged(_)), "{error}");
    assert!(error.to_string().contains("integrity check"), "{error}");
    // What cannot be mapped says what to do instead.
    files
        .save_array_with(
            WF,
            "packed",
            &array,
            &NdarrayOptions {
                compression: Compression::Deflate { level: 1 },
                ..NdarrayOptions::default()
            },
        )
        .unwrap();
    files.save(WF, "flags", &Array1::from(vec![true])).unwrap();
    let error = files
        .open_array::<f64>(WF, "packed")
        .unwrap()
        .map()
        .unwrap_err();
    assert!(matches!(error, ArrayError::Unsupported(_)), "{error}");
    assert!(error.to_string().contains("read it instead"), "{error}");
    let error = files
        .open_array::<bool>(WF, "flags")
        .unwrap()
        .map()
        .unwrap_err();
    assert!(matches!(error, ArrayError::Unsupported(_)), "{error}");
    let (_, s3) = &storages[1];
    s3.save(WF, "cube", &array).unwrap();
    let error = s3.open_array::<f64>(WF, "cube").unwrap().map().unwrap_err();
    assert!(error.to_string().contains("zarr array on S3"), "{error}");
}

#[test]
fn options_per_call_and_per_storage_reach_both_formats() {
    let (mut storages, _guard) = storages();
    let array = Array2::from_shape_fn((200, 50), |(i, j)| ((i + j) % 7) as f64);
    let options = NdarrayOptions {
        chunk: Some(vec![50, 50]),
        compression: Compression::Deflate { level: 5 },
        shuffle: true,
    };
    let unshuffled = NdarrayOptions {
        shuffle: false,
        ..options.clone()
    };
    for (kind, storage) in &mut storages {
        storage
            .save_array_with(WF, "shuffled", &array, &options)
            .unwrap();
        storage
            .save_array_with(WF, "plain", &array, &unshuffled)
            .unwrap();
        for task in ["shuffled", "plain"] {
            let handle = storage.open_array::<f64>(WF, task).unwrap();
            assert_eq!(handle.chunk_shape(), Some(&[50, 50][..]), "{kind} {task}");
            assert_eq!(handle.read().unwrap(), array.clone().into_dyn());
            let codecs = codecs(storage, &handle);
            assert_eq!(
                codecs.contains(&"shuffle".to_owned()),
                task == "shuffled",
                "{kind} {task}: {codecs:?}"
            );
            assert!(
                codecs.iter().any(|c| c == "deflate" || c == "gzip"),
                "{kind}: {codecs:?}"
            );
        }
        // Per storage: the writer takes the storage's options.
        storage.register_persistent_serializers(serializers(&options));
        let mut writer = storage
            .array_writer::<f64>(WF, "written", &[200, 50])
            .unwrap();
        writer.write(&array).unwrap();
        writer.finish().unwrap();
        let handle = storage.open_array::<f64>(WF, "written").unwrap();
        assert_eq!(handle.chunk_shape(), Some(&[50, 50][..]), "{kind}");
    }
    let (_, files) = &storages[0];
    let error = files
        .save_array_with(
            WF,
            "zstd",
            &array,
            &NdarrayOptions {
                compression: Compression::Zstd { level: 3 },
                ..NdarrayOptions::default()
            },
        )
        .unwrap_err();
    assert!(error.to_string().contains("not zstd"), "{error}");
}

/// The names of the filters (HDF5) or codecs (zarr) of a stored array.
fn codecs(storage: &Storage, handle: &ArrayHandle<f64>) -> Vec<String> {
    if handle.format() == "hdf5" {
        // As the serializer opens files (the handle holds this one open).
        let file = hdf5::File::with_options()
            .with_fapl(|fapl| fapl.file_locking(false))
            .open(handle.location())
            .unwrap();
        return file
            .dataset("array")
            .unwrap()
            .filters()
            .iter()
            .map(|filter| format!("{filter:?}").to_lowercase())
            .map(|name| name.split('(').next().unwrap_or_default().to_owned())
            .collect();
    }
    let protocols = storage.protocols(WF).unwrap();
    let location = &handle.persistent_id().location;
    let metadata = protocols
        .s3()
        .unwrap()
        .get_blocking(&format!("{location}/zarr.json"))
        .unwrap()
        .unwrap();
    let metadata: serde_json::Value = serde_json::from_slice(&metadata).unwrap();
    metadata["codecs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|codec| {
            codec["name"]
                .as_str()
                .unwrap()
                .trim_start_matches("numcodecs.")
                .to_owned()
        })
        .collect()
}

#[test]
fn handles_are_shared_across_threads_and_cover_scalars_and_empty_arrays() {
    fn shareable<T: Send + Sync + Clone>() {}
    shareable::<ArrayHandle<f64>>();
    let (storages, _guard) = storages();
    for (kind, storage) in &storages {
        storage.save(WF, "scalar", &ndarray::arr0(2.5_f64)).unwrap();
        storage
            .save(WF, "empty", &Array2::<f64>::zeros((0, 4)))
            .unwrap();
        let scalar = storage.open_array::<f64>(WF, "scalar").unwrap();
        assert_eq!(scalar.shape(), &[] as &[usize]);
        assert_eq!(
            scalar.read_slice(s![]).unwrap(),
            ndarray::arr0(2.5),
            "{kind}"
        );
        let blocks: Vec<_> = scalar.blocks(10).map(Result::unwrap).collect();
        assert_eq!(blocks, vec![ndarray::arr0(2.5).into_dyn()], "{kind}");
        let empty = storage.open_array::<f64>(WF, "empty").unwrap();
        assert_eq!(empty.blocks(10).count(), 0, "{kind}");
        assert_eq!(
            empty.read_slice(s![.., 1..3]).unwrap().shape(),
            &[0, 2],
            "{kind}"
        );
        // One handle, many readers.
        storage.save(WF, "cube", &cube()).unwrap();
        let handle = storage.open_array::<f64>(WF, "cube").unwrap();
        std::thread::scope(|scope| {
            for row in 0..4 {
                let handle = handle.clone();
                scope.spawn(move || {
                    let plane: Array2<f64> = handle.read_slice(s![row * 9, .., ..]).unwrap();
                    assert_eq!(plane, cube().slice(s![row * 9, .., ..]));
                });
            }
        });
    }
}

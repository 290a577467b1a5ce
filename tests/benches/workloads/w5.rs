//! W5: one 1 MiB slice (128 rows of 1,024 `f64`) from the middle of a
//! 1 GiB stored array, through a lazy handle (`open_array` + `read_slice`),
//! on the file storage (one contiguous HDF5 dataset) and on the S3 storage
//! (a zarr array of 4 MiB chunks). The raw limits: hdf5-metno opening the
//! same file and reading the same rows, and aws-sdk-s3 fetching the chunk
//! objects the slice touches, all at once. Reading the whole array is
//! timed beside them, a few times only.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use functionfuse::Storage;
use functionfuse::ndarray::{Array2, s};
use functionfuse::serializer_ndarray::{ArrayStorage as _, DATASET};
use functionfuse::storage_file::FileBackend;
use futures::StreamExt as _;

use crate::runs::Run;
use crate::s3::{BUCKET, Bench};

/// Columns of the array: a row is 8 KiB.
const COLUMNS: usize = 1024;
/// Rows of the slice: 1 MiB.
const SLICE_ROWS: usize = 128;
/// Raw chunk requests in flight (the storage's default concurrency).
const IN_FLIGHT: usize = 16;
/// How many times a whole read is timed, outside criterion and the
/// interleaved rounds (a second each on files, several on S3).
pub(crate) const WHOLE_READS: usize = 3;

/// Size of the array: 1 GiB unless `FUNCTIONFUSE_BENCH_W5_MIB` says otherwise.
pub(crate) fn bytes() -> usize {
    crate::runs::mib_from_env("FUNCTIONFUSE_BENCH_W5_MIB", 1024)
}

/// The array's shape.
pub(crate) fn shape() -> [usize; 2] {
    [(bytes() / 8 / COLUMNS).max(1), COLUMNS]
}

/// The rows the slice reads: 128 from the middle of the array (starting
/// on its middle row, so on a chunk boundary of the default chunks).
pub(crate) fn slice_rows() -> Range<usize> {
    let rows = shape()[0];
    let len = SLICE_ROWS.min(rows);
    let start = (rows / 2).min(rows - len);
    start..start + len
}

/// Bytes of the slice.
pub(crate) fn slice_bytes() -> usize {
    slice_rows().len() * COLUMNS * 8
}

/// The array both storages save.
pub(crate) fn array() -> Array2<f64> {
    Array2::from_shape_fn(shape(), |(i, j)| (i * COLUMNS + j) as f64 * 0.25)
}

/// Opens the array and reads the slice: what a caller of the handle pays.
fn slice(storage: &Storage) -> Duration {
    let rows = slice_rows();
    let start = Instant::now();
    let handle = storage.open_array::<f64>("wf", "array").expect("open");
    std::hint::black_box(handle.read_slice(s![rows, ..]).expect("slice"));
    start.elapsed()
}

fn whole_read(storage: &Storage) -> Duration {
    let start = Instant::now();
    std::hint::black_box(
        storage
            .read_task::<Array2<f64>>("wf", "array")
            .expect("read"),
    );
    start.elapsed()
}

/// W5 on the file storage.
pub(crate) struct OnFile {
    storage: Storage,
    /// The HDF5 file the storage wrote, for hdf5-metno to read directly.
    path: PathBuf,
}

impl OnFile {
    pub(crate) fn new(base: &Path, array: &Array2<f64>) -> Self {
        let storage = Storage::new(Box::new(FileBackend::new(base.join("storage"))));
        storage.save("wf", "array", array).expect("save");
        let handle = storage.open_array::<f64>("wf", "array").expect("open");
        assert_eq!(handle.format(), "hdf5");
        let fixture = Self {
            path: PathBuf::from(handle.location()),
            storage,
        };
        // Both sides read the same values.
        let rows = slice_rows();
        assert_eq!(
            handle.read_slice(s![rows.clone(), ..]).expect("slice"),
            fixture.read_direct()
        );
        assert_eq!(fixture.read_direct(), array.slice(s![rows, ..]));
        fixture
    }

    /// The chunk shape of the stored array (`None`: contiguous).
    pub(crate) fn chunk_shape(&self) -> Option<Vec<usize>> {
        let handle = self.storage.open_array::<f64>("wf", "array").expect("open");
        handle.chunk_shape().map(<[usize]>::to_vec)
    }

    /// Opens the file as the storage does, without libhdf5's file locks
    /// (libhdf5 refuses to open a file again with other flags while the
    /// handle holds it open), and reads the slice's rows.
    fn read_direct(&self) -> Array2<f64> {
        let rows = slice_rows();
        let file = hdf5::File::with_options()
            .with_fapl(|fapl| fapl.file_locking(false))
            .open(&self.path)
            .expect("open");
        file.dataset(DATASET)
            .expect("dataset")
            .read_slice_2d::<f64, _>(s![rows, ..])
            .expect("slice")
    }

    fn hdf5_direct_slice(&self) -> Duration {
        let start = Instant::now();
        std::hint::black_box(self.read_direct());
        start.elapsed()
    }
}

/// The timed runs of W5 on files, raw before ours.
pub(crate) fn file_runs(fixture: &OnFile) -> Vec<Run<'_>> {
    vec![
        Run::new("hdf5_direct_slice", || fixture.hdf5_direct_slice()),
        Run::new("slice", || slice(&fixture.storage)),
    ]
}

/// The whole read on files, timed apart.
pub(crate) fn file_whole_read(fixture: &OnFile) -> Run<'_> {
    Run::new("whole_read", || whole_read(&fixture.storage))
}

/// W5 on the S3 storage.
pub(crate) struct OnS3 {
    bench: Bench,
    chunk_shape: Vec<usize>,
    /// The keys of the chunk objects the slice touches.
    chunk_keys: Vec<String>,
}

impl OnS3 {
    pub(crate) fn new(base: &Path, array: &Array2<f64>) -> Self {
        let bench = Bench::new(base, "w5");
        bench.storage.save("wf", "array", array).expect("save");
        let handle = bench
            .storage
            .open_array::<f64>("wf", "array")
            .expect("open");
        assert_eq!(handle.format(), "zarr");
        let location = handle.location();
        let prefix = location
            .strip_prefix(&format!("s3://{BUCKET}/"))
            .unwrap_or_else(|| panic!("{location} is not in bucket {BUCKET}"));
        let chunk_shape = handle.chunk_shape().expect("zarr chunks").to_vec();
        let rows = slice_rows();
        let chunk_rows = rows.start / chunk_shape[0]..=(rows.end - 1) / chunk_shape[0];
        let chunk_columns = COLUMNS.div_ceil(chunk_shape[1]);
        let chunk_keys = chunk_rows
            .flat_map(|i| (0..chunk_columns).map(move |j| format!("{prefix}/c/{i}/{j}")))
            .collect();
        let fixture = Self {
            bench,
            chunk_shape,
            chunk_keys,
        };
        // The keys are the chunks': each holds a whole chunk of values.
        let chunk_bytes = fixture.chunk_shape.iter().product::<usize>() * 8;
        assert!(
            fixture.fetch_chunks().iter().all(|&len| len >= chunk_bytes),
            "chunk objects smaller than a chunk"
        );
        assert_eq!(
            handle.read_slice(s![slice_rows(), ..]).expect("slice"),
            array.slice(s![slice_rows(), ..])
        );
        fixture
    }

    pub(crate) fn chunk_shape(&self) -> &[usize] {
        &self.chunk_shape
    }

    /// How many chunk objects the slice touches.
    pub(crate) fn chunks(&self) -> usize {
        self.chunk_keys.len()
    }

    /// GETs every chunk object the slice touches, `IN_FLIGHT` at a time;
    /// returns their sizes.
    fn fetch_chunks(&self) -> Vec<usize> {
        self.bench.runtime.block_on(async {
            let client = &self.bench.client;
            futures::stream::iter(&self.chunk_keys)
                .map(|key| async move {
                    let object = client
                        .get_object()
                        .bucket(BUCKET)
                        .key(key)
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("GET {key}: {e}"));
                    object
                        .body
                        .collect()
                        .await
                        .expect("body")
                        .into_bytes()
                        .len()
                })
                .buffer_unordered(IN_FLIGHT)
                .collect()
                .await
        })
    }

    fn raw_chunk_get(&self) -> Duration {
        let start = Instant::now();
        std::hint::black_box(self.fetch_chunks());
        start.elapsed()
    }
}

/// The timed runs of W5 on S3, raw before ours.
pub(crate) fn s3_runs(fixture: &OnS3) -> Vec<Run<'_>> {
    vec![
        Run::new("raw_chunk_get", || fixture.raw_chunk_get()),
        Run::new("slice", || slice(&fixture.bench.storage)),
    ]
}

/// The whole read on S3, timed apart.
pub(crate) fn s3_whole_read(fixture: &OnS3) -> Run<'_> {
    Run::new("whole_read", || whole_read(&fixture.bench.storage))
}

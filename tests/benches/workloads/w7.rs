//! W7: whole-array reads into memory the caller owns. A 512 MiB `f64`
//! array saved on the file storage, read into a reused array
//! (`read_task_into`) against `read_exact` of the same bytes into a reused
//! buffer; mapped (`open_array` + `map` + `view`: the time to get the view,
//! and the time to sum every element through it) against `read_exact` and
//! the same sum; and `read_task` into a fresh array, as in W2.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use functionfuse::Storage;
use functionfuse::ndarray::Array2;
use functionfuse::serializer_ndarray::ArrayStorage as _;
use functionfuse::storage_file::FileBackend;

use crate::runs::Run;

/// Columns of the array: a row is 8 KiB.
const COLUMNS: usize = 1024;

/// Size of the array: 512 MiB unless `FUNCTIONFUSE_BENCH_W7_MIB` says otherwise.
pub(crate) fn bytes() -> usize {
    crate::runs::mib_from_env("FUNCTIONFUSE_BENCH_W7_MIB", 512)
}

/// The sum of `values` in eight lanes, as ndarray sums a contiguous array;
/// [`sum_le_bytes`] is the same loop over raw bytes, so that both sides of
/// `mapped_sum` pay the same arithmetic.
fn sum_values(values: &[f64]) -> f64 {
    let (groups, rest) = values.as_chunks::<8>();
    let mut lanes = [0.0_f64; 8];
    for group in groups {
        for (lane, value) in lanes.iter_mut().zip(group) {
            *lane += value;
        }
    }
    lanes.iter().sum::<f64>() + rest.iter().sum::<f64>()
}

/// [`sum_values`] of the little-endian `f64`s in `bytes`.
fn sum_le_bytes(bytes: &[u8]) -> f64 {
    let (words, _) = bytes.as_chunks::<8>();
    let (groups, rest) = words.as_chunks::<8>();
    let mut lanes = [0.0_f64; 8];
    for group in groups {
        for (lane, word) in lanes.iter_mut().zip(group) {
            *lane += f64::from_le_bytes(*word);
        }
    }
    lanes.iter().sum::<f64>()
        + rest
            .iter()
            .map(|word| f64::from_le_bytes(*word))
            .sum::<f64>()
}

/// The stored array, the same bytes in a plain file, and the buffers the
/// reads reuse.
pub(crate) struct Fixture {
    raw_path: PathBuf,
    read_buffer: Vec<u8>,
    into: Array2<f64>,
    storage: Storage,
}

impl Fixture {
    pub(crate) fn new(base: &Path) -> Self {
        let rows = (bytes() / 8 / COLUMNS).max(1);
        let array =
            Array2::from_shape_fn((rows, COLUMNS), |(i, j)| (i * COLUMNS + j) as f64 * 0.25);
        // f64 little-endian, as in memory on this machine.
        let raw: Vec<u8> = array.iter().flat_map(|v| v.to_le_bytes()).collect();
        let raw_path = base.join("raw.bin");
        fs::write(&raw_path, &raw).expect("write");
        let storage = Storage::new(Box::new(FileBackend::new(base.join("storage"))));
        storage.save("wf", "array", &array).expect("save");
        let mut fixture = Self {
            raw_path,
            read_buffer: vec![0; raw.len()],
            into: Array2::zeros(array.raw_dim()),
            storage,
        };
        // Every side reads the same values, and sums them alike.
        fixture.read_task_into();
        assert_eq!(fixture.into, array);
        let handle = fixture
            .storage
            .open_array::<f64>("wf", "array")
            .expect("open");
        let mapped = handle.map().expect("map");
        let view = mapped.view();
        let values = view.as_slice().expect("a contiguous view");
        assert_eq!(
            sum_values(values).to_bits(),
            sum_le_bytes(&raw).to_bits(),
            "both sums add in the same order"
        );
        assert_eq!(view, array.view().into_dyn());
        fixture
    }

    fn raw_read_exact(&mut self) -> Duration {
        let start = Instant::now();
        File::open(&self.raw_path)
            .and_then(|mut file| file.read_exact(&mut self.read_buffer))
            .expect("read");
        std::hint::black_box(&self.read_buffer);
        start.elapsed()
    }

    fn raw_read_exact_sum(&mut self) -> Duration {
        let start = Instant::now();
        File::open(&self.raw_path)
            .and_then(|mut file| file.read_exact(&mut self.read_buffer))
            .expect("read");
        std::hint::black_box(sum_le_bytes(&self.read_buffer));
        start.elapsed()
    }

    fn read_task_into(&mut self) -> Duration {
        let start = Instant::now();
        self.storage
            .read_task_into("wf", "array", &mut self.into)
            .expect("read into");
        std::hint::black_box(&self.into);
        start.elapsed()
    }

    /// Up to the view; unmapping is timed too, as `read` times freeing.
    fn mapped_open(&self) -> Duration {
        let start = Instant::now();
        {
            let handle = self.storage.open_array::<f64>("wf", "array").expect("open");
            let mapped = handle.map().expect("map");
            std::hint::black_box(mapped.view());
        }
        start.elapsed()
    }

    fn mapped_sum(&self) -> Duration {
        let start = Instant::now();
        {
            let handle = self.storage.open_array::<f64>("wf", "array").expect("open");
            let mapped = handle.map().expect("map");
            let view = mapped.view();
            let values = view.as_slice().expect("a contiguous view");
            std::hint::black_box(sum_values(values));
        }
        start.elapsed()
    }

    fn read(&self) -> Duration {
        let start = Instant::now();
        std::hint::black_box(
            self.storage
                .read_task::<Array2<f64>>("wf", "array")
                .expect("read"),
        );
        start.elapsed()
    }
}

/// The runs of W7, raw before ours.
pub(crate) fn runs(fixture: &std::cell::RefCell<Fixture>) -> Vec<Run<'_>> {
    vec![
        Run::new("raw_read_exact", || fixture.borrow_mut().raw_read_exact()),
        Run::new("read_task_into", || fixture.borrow_mut().read_task_into()),
        Run::new("read", || fixture.borrow().read()),
        Run::new("mapped_open", || fixture.borrow().mapped_open()),
        Run::new("raw_read_exact_sum", || {
            fixture.borrow_mut().raw_read_exact_sum()
        }),
        Run::new("mapped_sum", || fixture.borrow().mapped_sum()),
    ]
}

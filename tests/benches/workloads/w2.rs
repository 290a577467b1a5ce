//! W2: one large array.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use functionfuse::Storage;
use functionfuse::ndarray::Array2;
use functionfuse::storage_file::FileBackend;

use crate::runs::Run;

/// Size of the array: 512 MiB unless `FUNCTIONFUSE_BENCH_W2_MIB` says otherwise.
pub(crate) fn bytes() -> usize {
    crate::runs::mib_from_env("FUNCTIONFUSE_BENCH_W2_MIB", 512)
}

/// The array, its bytes as a plain buffer, and where each side writes.
/// Each write replaces the previous file, removed outside the timed part:
/// one big file is cheap to delete and keeps the page cache from filling
/// with dead files.
pub(crate) struct Fixture {
    array: Array2<f64>,
    raw: Vec<u8>,
    read_buffer: Vec<u8>,
    raw_path: PathBuf,
    direct_path: PathBuf,
    storage: Storage,
}

impl Fixture {
    pub(crate) fn new(base: &Path) -> Self {
        let rows = bytes() / 8 / 1024;
        let array = Array2::from_shape_fn((rows, 1024), |(i, j)| (i * 1024 + j) as f64 * 0.25);
        // f64 little-endian, as in memory on this machine.
        let raw: Vec<u8> = array.iter().flat_map(|v| v.to_le_bytes()).collect();
        let fixture = Self {
            read_buffer: vec![0; raw.len()],
            array,
            raw,
            raw_path: base.join("raw.bin"),
            direct_path: base.join("direct.h5"),
            storage: Storage::new(Box::new(FileBackend::new(base.join("storage")))),
        };
        // Reads need something to read before the first write run.
        fs::write(&fixture.raw_path, &fixture.raw).expect("write");
        fixture
            .storage
            .save("wf", "array", &fixture.array)
            .expect("save");
        fixture
    }

    fn raw_write(&self) -> Duration {
        let _ = fs::remove_file(&self.raw_path);
        let start = Instant::now();
        fs::write(&self.raw_path, &self.raw).expect("write");
        start.elapsed()
    }

    fn hdf5_direct_write(&self) -> Duration {
        let _ = fs::remove_file(&self.direct_path);
        let start = Instant::now();
        let file = hdf5::File::create(&self.direct_path).expect("create");
        file.new_dataset_builder()
            .with_data(&self.array)
            .create("array")
            .expect("dataset");
        file.close().expect("close");
        start.elapsed()
    }

    fn save(&self) -> Duration {
        let _ = self.storage.remove_task("wf", "array");
        let start = Instant::now();
        self.storage.save("wf", "array", &self.array).expect("save");
        start.elapsed()
    }

    fn raw_read(&self) -> Duration {
        let start = Instant::now();
        std::hint::black_box(fs::read(&self.raw_path).expect("read"));
        start.elapsed()
    }

    fn raw_read_exact(&mut self) -> Duration {
        let start = Instant::now();
        File::open(&self.raw_path)
            .and_then(|mut file| file.read_exact(&mut self.read_buffer))
            .expect("read");
        std::hint::black_box(&self.read_buffer);
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

/// The runs of W2, raw before ours.
pub(crate) fn runs(fixture: &std::cell::RefCell<Fixture>) -> Vec<Run<'_>> {
    vec![
        Run::new("raw_write", || fixture.borrow().raw_write()),
        Run::new("hdf5_direct_write", || fixture.borrow().hdf5_direct_write()),
        Run::new("save", || fixture.borrow().save()),
        Run::new("raw_read", || fixture.borrow().raw_read()),
        Run::new("raw_read_exact", || fixture.borrow_mut().raw_read_exact()),
        Run::new("read", || fixture.borrow().read()),
    ]
}

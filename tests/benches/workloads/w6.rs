//! W6: an out-of-core write. A 1 GiB `f64` array saved on the file
//! storage block by block with `array_writer`, in blocks of 64 MiB (the
//! array is 16 times the block budget), against `storage.save` of the
//! whole array held in memory and against plain `File::write_all` of the
//! same blocks one after another.
//!
//! Peak memory is measured in child processes, one operation each (the
//! peak, `VmHWM`, is per process): the benchmark runs itself again with
//! [`CHILD_VAR`] set, and the child generates its blocks as it goes, so
//! that only the in-memory save ever holds the whole array.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use functionfuse::Storage;
use functionfuse::ndarray::{Array2, s};
use functionfuse::serializer_ndarray::ArrayStorage as _;
use functionfuse::storage_file::FileBackend;

use crate::runs::Run;

/// Set to `<operation>:<folder>` (`w6-writer`, `w6-in-memory`, `w6-raw`),
/// it makes the benchmark run that one operation in `<folder>`, print its
/// peak memory in KiB and exit.
pub(crate) const CHILD_VAR: &str = "FUNCTIONFUSE_BENCH_CHILD";

/// The child operations, the raw one first.
pub(crate) const CHILDREN: [&str; 3] = ["w6-raw", "w6-writer", "w6-in-memory"];

/// Columns of the array: a row is 8 KiB.
const COLUMNS: usize = 1024;

/// Size of the array: 1 GiB unless `FUNCTIONFUSE_BENCH_W6_MIB` says otherwise.
pub(crate) fn bytes() -> usize {
    rows() * COLUMNS * 8
}

/// Size of a block: 64 MiB unless `FUNCTIONFUSE_BENCH_W6_BLOCK_MIB` says
/// otherwise, whole rows, at most the array.
pub(crate) fn block_bytes() -> usize {
    block_rows() * COLUMNS * 8
}

fn rows() -> usize {
    (crate::runs::mib_from_env("FUNCTIONFUSE_BENCH_W6_MIB", 1024) / 8 / COLUMNS).max(1)
}

fn block_rows() -> usize {
    (crate::runs::mib_from_env("FUNCTIONFUSE_BENCH_W6_BLOCK_MIB", 64) / 8 / COLUMNS)
        .clamp(1, rows())
}

/// The blocks: first row and number of rows of each.
pub(crate) fn blocks() -> impl Iterator<Item = (usize, usize)> {
    let (rows, block) = (rows(), block_rows());
    (0..rows)
        .step_by(block)
        .map(move |first| (first, block.min(rows - first)))
}

fn value(row: usize, column: usize) -> f64 {
    (row * COLUMNS + column) as f64 * 0.25
}

/// The rows `first..first + rows` of the array.
fn block(first: usize, rows: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows, COLUMNS), |(i, j)| value(first + i, j))
}

/// The array, its bytes as a plain buffer, and where each side writes.
/// Each write replaces the previous one, removed outside the timed part.
pub(crate) struct Fixture {
    array: Array2<f64>,
    raw: Vec<u8>,
    raw_path: PathBuf,
    storage: Storage,
}

impl Fixture {
    pub(crate) fn new(base: &Path) -> Self {
        let array = block(0, rows());
        // f64 little-endian, as in memory on this machine.
        let raw: Vec<u8> = array.iter().flat_map(|v| v.to_le_bytes()).collect();
        let fixture = Self {
            array,
            raw,
            raw_path: base.join("raw.bin"),
            storage: Storage::new(Box::new(FileBackend::new(base.join("storage")))),
        };
        // The writer stores what the in-memory save stores.
        fixture.writer();
        fixture.save();
        let written = fixture
            .storage
            .read_task::<Array2<f64>>("wf", "writer")
            .expect("read");
        assert_eq!(written, fixture.array);
        fixture
    }

    fn raw_write_all(&self) -> Duration {
        let _ = fs::remove_file(&self.raw_path);
        let start = Instant::now();
        let mut file = File::create(&self.raw_path).expect("create");
        for block in self.raw.chunks(block_bytes()) {
            file.write_all(block).expect("write");
        }
        drop(file);
        start.elapsed()
    }

    fn writer(&self) -> Duration {
        let _ = self.storage.remove_task("wf", "writer");
        let start = Instant::now();
        let mut writer = self
            .storage
            .array_writer::<f64>("wf", "writer", self.array.shape())
            .expect("writer");
        for (first, rows) in blocks() {
            writer
                .write(&self.array.slice(s![first..first + rows, ..]))
                .expect("write");
        }
        writer.finish().expect("finish");
        start.elapsed()
    }

    fn save(&self) -> Duration {
        let _ = self.storage.remove_task("wf", "save");
        let start = Instant::now();
        self.storage.save("wf", "save", &self.array).expect("save");
        start.elapsed()
    }
}

/// The runs of W6, raw before ours.
pub(crate) fn runs(fixture: &Fixture) -> Vec<Run<'_>> {
    vec![
        Run::new("raw_write_all", || fixture.raw_write_all()),
        Run::new("writer", || fixture.writer()),
        Run::new("save", || fixture.save()),
    ]
}

/// Runs `operation` in a child process writing into `folder`; returns its
/// peak memory in MiB.
pub(crate) fn peak_mib(operation: &str, folder: &Path) -> f64 {
    fs::create_dir_all(folder).expect("child folder");
    let output = Command::new(std::env::current_exe().expect("this benchmark"))
        .env(CHILD_VAR, format!("{operation}:{}", folder.display()))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("child");
    assert!(
        output.status.success(),
        "child {operation} failed: {}",
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let kib: u64 = stdout
        .lines()
        .last()
        .and_then(|line| line.trim().parse().ok())
        .unwrap_or_else(|| panic!("child {operation} printed {stdout:?}"));
    // What it wrote is not needed; keep the page cache for the timed runs.
    let _ = fs::remove_dir_all(folder);
    kib as f64 / 1024.0
}

/// The child side of [`peak_mib`]: `spec` is `<operation>:<folder>`.
/// Prints the peak memory of this process in KiB.
pub(crate) fn child(spec: &str) {
    let (operation, folder) = spec
        .split_once(':')
        .unwrap_or_else(|| panic!("{CHILD_VAR}={spec}: expected <operation>:<folder>"));
    let folder = Path::new(folder);
    match operation {
        "w6-raw" => {
            let mut file = File::create(folder.join("raw.bin")).expect("create");
            for (first, rows) in blocks() {
                let mut bytes = Vec::with_capacity(rows * COLUMNS * 8);
                for i in 0..rows {
                    for j in 0..COLUMNS {
                        bytes.extend_from_slice(&value(first + i, j).to_le_bytes());
                    }
                }
                file.write_all(&bytes).expect("write");
            }
        }
        "w6-writer" => {
            let storage = Storage::new(Box::new(FileBackend::new(folder)));
            let mut writer = storage
                .array_writer::<f64>("wf", "writer", &[rows(), COLUMNS])
                .expect("writer");
            for (first, rows) in blocks() {
                writer.write(&block(first, rows)).expect("write");
            }
            writer.finish().expect("finish");
        }
        "w6-in-memory" => {
            let storage = Storage::new(Box::new(FileBackend::new(folder)));
            storage.save("wf", "save", &block(0, rows())).expect("save");
        }
        other => panic!("{CHILD_VAR}: unknown operation {other}"),
    }
    println!("{}", peak_kib());
}

/// `VmHWM` of this process, in KiB.
fn peak_kib() -> u64 {
    let status = fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

//! W2: one large array.

use std::fs::{self, File};
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::BenchmarkGroup;
use criterion::measurement::WallTime;
use functionfuse::Storage;
use functionfuse::ndarray::Array2;
use functionfuse::storage_file::FileBackend;

/// Size of the array: 512 MiB unless `FUNCTIONFUSE_BENCH_W2_MIB` says otherwise.
pub(crate) fn bytes() -> usize {
    let mib: usize = std::env::var("FUNCTIONFUSE_BENCH_W2_MIB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(512);
    mib << 20
}

/// Times `body` after `prepare`, which is not timed.
fn timed(iters: u64, mut prepare: impl FnMut(), mut body: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        prepare();
        let start = Instant::now();
        body();
        total += start.elapsed();
    }
    total
}

pub(crate) fn bench(group: &mut BenchmarkGroup<'_, WallTime>, base: &Path) {
    let rows = bytes() / 8 / 1024;
    let array = Array2::from_shape_fn((rows, 1024), |(i, j)| (i * 1024 + j) as f64 * 0.25);
    // The array's bytes as a plain buffer (f64 little-endian, as in memory here).
    let raw: Vec<u8> = array.iter().flat_map(|v| v.to_le_bytes()).collect();
    let raw_path = base.join("raw.bin");
    let direct_path = base.join("direct.h5");
    let storage = Storage::new(Box::new(FileBackend::new(base.join("storage"))));

    // One big file each: removing it before the next write is cheap and
    // keeps the page cache from filling with dead files.
    group.bench_function("raw_write", |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                || drop(fs::remove_file(&raw_path)),
                || fs::write(&raw_path, &raw).expect("write"),
            )
        });
    });
    group.bench_function("hdf5_direct_write", |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                || drop(fs::remove_file(&direct_path)),
                || {
                    let file = hdf5::File::create(&direct_path).expect("create");
                    file.new_dataset_builder()
                        .with_data(&array)
                        .create("array")
                        .expect("dataset");
                    file.close().expect("close");
                },
            )
        });
    });
    group.bench_function("save", |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                || drop(storage.remove_task("wf", "array")),
                || storage.save("wf", "array", &array).expect("save"),
            )
        });
    });

    group.bench_function("raw_read", |b| {
        b.iter(|| std::hint::black_box(fs::read(&raw_path).expect("read")));
    });
    group.bench_function("raw_read_exact", |b| {
        let mut buffer = vec![0_u8; raw.len()];
        b.iter(|| {
            File::open(&raw_path)
                .and_then(|mut f| f.read_exact(&mut buffer))
                .expect("read");
            std::hint::black_box(&buffer);
        });
    });
    group.bench_function("read", |b| {
        b.iter(|| {
            std::hint::black_box(
                storage
                    .read_task::<Array2<f64>>("wf", "array")
                    .expect("read"),
            )
        });
    });
}

//! W1: many small records.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::BenchmarkGroup;
use criterion::measurement::WallTime;
use functionfuse::Storage;
use functionfuse::storage_file::FileBackend;
use serde::{Deserialize, Serialize};

pub(crate) const RECORDS: usize = 10_000;

#[derive(Serialize, Deserialize)]
struct Small {
    id: i64,
    value: f64,
    name: String,
    samples: [f64; 10],
}

fn small(i: usize) -> Small {
    Small {
        id: i as i64,
        value: i as f64 * 0.5,
        name: format!("node-{i:05}"),
        samples: std::array::from_fn(|k| (i * 10 + k) as f64),
    }
}

fn task(i: usize) -> String {
    format!("task-{i:05}")
}

/// The bytes of one record, as the storage writes them.
pub(crate) fn record_len() -> usize {
    record_bytes().len()
}

fn record_bytes() -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temporary folder");
    let storage = Storage::new(Box::new(FileBackend::new(dir.path())));
    storage.save("wf", "t", &small(1)).expect("save");
    fs::read(dir.path().join("wf/t")).expect("record")
}

fn fresh_folder(base: &Path, counter: &AtomicUsize) -> PathBuf {
    base.join(format!("run-{}", counter.fetch_add(1, Ordering::Relaxed)))
}

pub(crate) fn bench(group: &mut BenchmarkGroup<'_, WallTime>, base: &Path) {
    let runs = AtomicUsize::new(0);
    let bytes = record_bytes();
    let names: Vec<String> = (0..RECORDS).map(task).collect();
    let values: Vec<Small> = (0..RECORDS).map(small).collect();

    // Every iteration writes into a folder of its own: nothing is deleted
    // while creates are timed.
    group.bench_function("raw_write", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = fresh_folder(base, &runs);
                fs::create_dir_all(&dir).expect("folder");
                let start = Instant::now();
                for name in &names {
                    let temp = dir.join(format!(".tmp-{name}"));
                    let mut file = File::create(&temp).expect("create");
                    file.write_all(&bytes).expect("write");
                    drop(file);
                    fs::rename(&temp, dir.join(name)).expect("rename");
                }
                total += start.elapsed();
            }
            total
        });
    });
    group.bench_function("save", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let storage = Storage::new(Box::new(FileBackend::new(fresh_folder(base, &runs))));
                storage.new_workflow("wf").expect("workflow");
                let start = Instant::now();
                for (name, value) in names.iter().zip(&values) {
                    storage.save("wf", name, value).expect("save");
                }
                total += start.elapsed();
            }
            total
        });
    });

    let read_dir = fresh_folder(base, &runs);
    let storage = Storage::new(Box::new(FileBackend::new(&read_dir)));
    for (name, value) in names.iter().zip(&values) {
        storage.save("wf", name, value).expect("save");
    }
    group.bench_function("raw_read", |b| {
        let dir = read_dir.join("wf");
        b.iter(|| {
            for name in &names {
                std::hint::black_box(fs::read(dir.join(name)).expect("read"));
            }
        });
    });
    group.bench_function("read", |b| {
        b.iter(|| {
            for name in &names {
                std::hint::black_box(storage.read_task::<Small>("wf", name).expect("read"));
            }
        });
    });
}

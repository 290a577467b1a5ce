//! Workload benchmarks (`cargo xtask bench`), each timed next to its raw
//! limit in the same run: by criterion (one run kind at a time, with its
//! statistics), then in interleaved rounds (raw, ours, raw, ours, …) whose
//! medians give the ratios. One JSON object per workload on standard output.
//!
//! - W1: 10,000 small records saved, then read, against plain
//!   open/write/rename and plain reads of the same bytes.
//! - W2: a 512 MiB `f64` array saved as HDF5, then read, against one
//!   `std::fs::write`/`std::fs::read` of the same bytes, the best raw reader
//!   (`read_exact` into a reused buffer) and hdf5-metno writing one
//!   contiguous dataset directly.
//!
//! - W3: a 256 MiB `f64` array saved to and read from the S3 storage (zarr)
//!   on an in-process s3s-fs server, against one PUT/GET of the same bytes
//!   and a multipart upload / ranged GETs with the same requests in flight.
//! - W3-remote: W3 with 20 ms added to every request (a remote bucket).
//! - W4: 1,000 small records saved to and read from the S3 storage, against
//!   1,000 raw PUTs and GETs of the same bytes.
//!
//! - W5: a 1 MiB slice of a 1 GiB `f64` array through a lazy handle
//!   (`open_array` + `read_slice`), on files against hdf5-metno reading the
//!   same rows of the same file, and on S3 (zarr) against GETs of the chunk
//!   objects the slice touches; the whole array read beside them.
//! - W6: a 1 GiB `f64` array written block by block (`array_writer`, 64 MiB
//!   blocks) against `save` of the whole array and `File::write_all` of the
//!   same blocks; the peak memory of each, measured in child processes.
//! - W7: a 512 MiB `f64` array read into a reused array (`read_task_into`)
//!   against `read_exact` into a reused buffer; mapped (`map` + `view`, then
//!   a sum of every element) against `read_exact` and the same sum.
//! - W8: keyed nodes: 1,000 W1-sized records read (hit) and computed and
//!   saved (miss) through `Storage::node`, against `cached` and plain
//!   saves; a node downstream of a 512 MiB array against a plain read, with
//!   hashing the array in memory beside it.
//! - W9: single flight on uncontended `cached` calls (200 misses, 200 hits)
//!   on a folder and on S3, against the same calls without it.
//! - W10: access marks (retention's record of reads): 200 first reads with
//!   marking on, against the same reads with it off, on a folder and on S3.
//!
//! Set `FUNCTIONFUSE_BENCH_W2_MIB` / `FUNCTIONFUSE_BENCH_W3_MIB` (and `_W5_`,
//! `_W6_`, `_W7_`, `_W8_`) to shrink a workload for a quick look, and
//! `FUNCTIONFUSE_BENCH=w3,w4` to run some workloads only.

// A benchmark has nothing to recover: any failure aborts it.
#![allow(clippy::expect_used, clippy::panic, clippy::cast_possible_wrap)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, SamplingMode};
use serde_json::{Value, json};

#[path = "workloads/runs.rs"]
mod runs;
#[path = "workloads/s3.rs"]
mod s3;
#[path = "workloads/w1.rs"]
mod w1;
#[path = "workloads/w10.rs"]
mod w10;
#[path = "workloads/w2.rs"]
mod w2;
#[path = "workloads/w3.rs"]
mod w3;
#[path = "workloads/w4.rs"]
mod w4;
#[path = "workloads/w5.rs"]
mod w5;
#[path = "workloads/w6.rs"]
mod w6;
#[path = "workloads/w7.rs"]
mod w7;
#[path = "workloads/w8.rs"]
mod w8;
#[path = "workloads/w9.rs"]
mod w9;

/// Interleaved rounds behind each ratio.
const ROUNDS: usize = 7;

/// Where the benchmarks write: beside the build, on the same file system.
fn data_dir(name: &str) -> PathBuf {
    let dir = target_dir().join("bench-data").join(name);
    // Leftovers of an earlier run are removed before timing starts; see
    // `settle` for why creates are not timed right after.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench folder");
    dir
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    )
}

/// ext4 creates files several times slower for a while after a mass
/// delete; wait it out before timing creates.
fn settle() {
    std::thread::sleep(Duration::from_secs(
        std::env::var("FUNCTIONFUSE_BENCH_SETTLE_S")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(20),
    ));
}

/// The median time of one iteration of `group/function` as criterion
/// recorded it, in seconds.
fn criterion_median_s(criterion_dir: &Path, group: &str, function: &str) -> f64 {
    let path = criterion_dir
        .join(group)
        .join(function)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let estimates: Value = serde_json::from_str(&text).expect("criterion estimates");
    estimates["median"]["point_estimate"]
        .as_f64()
        .expect("median point estimate")
        / 1e9
}

fn round(x: f64, digits: i32) -> f64 {
    let scale = 10_f64.powi(digits);
    (x * scale).round() / scale
}

/// Criterion first, then interleaved rounds; returns the interleaved
/// medians and criterion's, by run name.
fn measure(
    criterion: &mut Criterion,
    criterion_dir: &Path,
    group_name: &str,
    measurement_s: u64,
    runs: &mut [runs::Run<'_>],
) -> (BTreeMap<&'static str, f64>, BTreeMap<&'static str, f64>) {
    let mut group = criterion.benchmark_group(group_name);
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(measurement_s));
    runs::criterion(&mut group, runs);
    group.finish();
    let by_criterion = runs
        .iter()
        .map(|run| {
            (
                run.name,
                criterion_median_s(criterion_dir, group_name, run.name),
            )
        })
        .collect();
    let interleaved = runs::interleaved(runs, ROUNDS).into_iter().collect();
    (interleaved, by_criterion)
}

/// Whether `workload` is to run (`FUNCTIONFUSE_BENCH`, default all).
fn selected(workload: &str) -> bool {
    std::env::var("FUNCTIONFUSE_BENCH").map_or(true, |list| {
        list.split(',')
            .any(|item| item.trim().eq_ignore_ascii_case(workload))
    })
}

fn main() {
    // A child of W6, to measure the peak memory of one operation.
    if let Ok(spec) = std::env::var(w6::CHILD_VAR) {
        w6::child(&spec);
        return;
    }
    let criterion_dir = target_dir().join("criterion");
    let mut criterion = Criterion::default()
        .output_directory(&criterion_dir)
        .configure_from_args();
    if selected("w1") || selected("w2") {
        files(&mut criterion, &criterion_dir);
    }
    if selected("w3") {
        w3(&mut criterion, &criterion_dir, "w3", Duration::ZERO);
    }
    if selected("w3-remote") {
        w3(
            &mut criterion,
            &criterion_dir,
            "w3-remote",
            Duration::from_millis(20),
        );
    }
    if selected("w4") {
        w4(&mut criterion, &criterion_dir);
    }
    if selected("w5") {
        w5(&mut criterion, &criterion_dir);
    }
    if selected("w6") {
        w6(&mut criterion, &criterion_dir);
    }
    if selected("w9") {
        w9(&mut criterion, &criterion_dir);
    }
    if selected("w10") {
        w10(&mut criterion, &criterion_dir);
    }
    if selected("w8") {
        w8(&mut criterion, &criterion_dir);
    }
    if selected("w7") {
        w7(&mut criterion, &criterion_dir);
    }
    criterion.final_summary();
    let _ = std::fs::remove_dir_all(target_dir().join("bench-data"));
}

/// W3 or W3-remote, with `latency` added to every request.
fn w3(criterion: &mut Criterion, criterion_dir: &Path, name: &str, latency: Duration) {
    let fixture = w3::Fixture::new(&data_dir(name), latency);
    let (times, by_criterion) =
        measure(criterion, criterion_dir, name, 10, &mut w3::runs(&fixture));
    let mb = w3::bytes() as f64 / 1e6;
    let speed = |run: &str| mb / times[run];
    let best_put = speed("raw_put").max(speed("raw_multipart_put"));
    let best_get = speed("raw_get").max(speed("raw_ranged_get"));
    println!(
        "{}",
        json!({
            "workload": if latency.is_zero() { "W3" } else { "W3-remote" },
            "bytes": w3::bytes(),
            "latency_ms": latency.as_millis(),
            "save_mb_s": round(speed("save"), 1),
            "raw_put_mb_s": round(speed("raw_put"), 1),
            "raw_multipart_put_mb_s": round(speed("raw_multipart_put"), 1),
            "save_ratio_vs_best_raw": round(speed("save") / best_put, 3),
            "save_ratio_vs_multipart": round(speed("save") / speed("raw_multipart_put"), 3),
            "read_mb_s": round(speed("read"), 1),
            "raw_get_mb_s": round(speed("raw_get"), 1),
            "raw_ranged_get_mb_s": round(speed("raw_ranged_get"), 1),
            "read_ratio_vs_best_raw": round(speed("read") / best_get, 3),
            "read_ratio_vs_ranged": round(speed("read") / speed("raw_ranged_get"), 3),
            "target": if latency.is_zero() { 1.0 } else { 0.8 },
            "interleaved_rounds": ROUNDS,
            "criterion_median_s": by_criterion,
        })
    );
}

fn w4(criterion: &mut Criterion, criterion_dir: &Path) {
    let fixture = w4::Fixture::new(&data_dir("w4"));
    let (times, by_criterion) = measure(criterion, criterion_dir, "w4", 6, &mut w4::runs(&fixture));
    let records = w4::RECORDS as f64;
    let rate = |run: &str| records / times[run];
    println!(
        "{}",
        json!({
            "workload": "W4",
            "records": w4::RECORDS,
            "record_bytes": fixture.record_len(),
            "save_per_s": round(rate("save"), 0),
            "raw_put_per_s": round(rate("raw_put"), 0),
            "save_ratio": round(rate("save") / rate("raw_put"), 3),
            "overwrite_per_s": round(rate("overwrite"), 0),
            "overwrite_ratio": round(rate("overwrite") / rate("raw_put"), 3),
            "read_per_s": round(rate("read"), 0),
            "raw_get_per_s": round(rate("raw_get"), 0),
            "read_ratio": round(rate("read") / rate("raw_get"), 3),
            "target": 0.8,
            "interleaved_rounds": ROUNDS,
            "criterion_median_s": by_criterion,
        })
    );
}

/// W1 and W2, on files.
fn files(criterion: &mut Criterion, criterion_dir: &Path) {
    let w1 = RefCell::new(w1::Fixture::new(&data_dir("w1")));
    let w2 = RefCell::new(w2::Fixture::new(&data_dir("w2")));
    settle();
    let (w1_times, w1_criterion) = measure(criterion, criterion_dir, "w1", 6, &mut w1::runs(&w1));
    let (w2_times, w2_criterion) = measure(criterion, criterion_dir, "w2", 8, &mut w2::runs(&w2));

    let records = w1::RECORDS as f64;
    let rate = |name: &str| records / w1_times[name];
    println!(
        "{}",
        json!({
            "workload": "W1",
            "records": w1::RECORDS,
            "record_bytes": w1.borrow().record_len(),
            "save_per_s": round(rate("save"), 0),
            "raw_write_rename_per_s": round(rate("raw_write"), 0),
            "save_ratio": round(rate("save") / rate("raw_write"), 3),
            "save_target": 0.7,
            "read_per_s": round(rate("read"), 0),
            "raw_read_per_s": round(rate("raw_read"), 0),
            "read_ratio": round(rate("read") / rate("raw_read"), 3),
            "interleaved_rounds": ROUNDS,
            "criterion_median_s": w1_criterion,
        })
    );

    let mb = w2::bytes() as f64 / 1e6;
    let speed = |name: &str| mb / w2_times[name];
    println!(
        "{}",
        json!({
            "workload": "W2",
            "bytes": w2::bytes(),
            "save_mb_s": round(speed("save"), 1),
            "raw_write_mb_s": round(speed("raw_write"), 1),
            "hdf5_direct_write_mb_s": round(speed("hdf5_direct_write"), 1),
            "save_ratio": round(speed("save") / speed("raw_write"), 3),
            "read_mb_s": round(speed("read"), 1),
            "raw_read_mb_s": round(speed("raw_read"), 1),
            "raw_read_exact_mb_s": round(speed("raw_read_exact"), 1),
            "read_ratio": round(speed("read") / speed("raw_read"), 3),
            "read_ratio_vs_read_exact": round(speed("read") / speed("raw_read_exact"), 3),
            "target": 0.9,
            "interleaved_rounds": ROUNDS,
            "criterion_median_s": w2_criterion,
        })
    );
    drop((w1, w2));
}

/// W5, on files and on S3: times in milliseconds per slice.
fn w5(criterion: &mut Criterion, criterion_dir: &Path) {
    let base = data_dir("w5");
    let (on_file, on_s3) = {
        let array = w5::array();
        (w5::OnFile::new(&base, &array), w5::OnS3::new(&base, &array))
    };
    let ms = |seconds: f64| round(seconds * 1e3, 3);
    let mb_s = |seconds: f64| round(w5::bytes() as f64 / 1e6 / seconds, 1);
    let rows = w5::slice_rows();

    let (times, by_criterion) = measure(
        criterion,
        criterion_dir,
        "w5",
        4,
        &mut w5::file_runs(&on_file),
    );
    let whole = runs::median_of(&mut w5::file_whole_read(&on_file), w5::WHOLE_READS);
    println!(
        "{}",
        json!({
            "workload": "W5",
            "storage": "file",
            "bytes": w5::bytes(),
            "shape": w5::shape(),
            "chunk_shape": on_file.chunk_shape(),
            "slice_rows": [rows.start, rows.end],
            "slice_bytes": w5::slice_bytes(),
            "slice_ms": ms(times["slice"]),
            "hdf5_direct_slice_ms": ms(times["hdf5_direct_slice"]),
            "slice_ratio": round(times["hdf5_direct_slice"] / times["slice"], 3),
            "whole_read_ms": ms(whole),
            "whole_read_mb_s": mb_s(whole),
            "whole_read_runs": w5::WHOLE_READS,
            "whole_read_over_slice": round(whole / times["slice"], 1),
            "interleaved_rounds": ROUNDS,
            "criterion_median_s": by_criterion,
        })
    );

    let (times, by_criterion) = measure(
        criterion,
        criterion_dir,
        "w5-s3",
        6,
        &mut w5::s3_runs(&on_s3),
    );
    let whole = runs::median_of(&mut w5::s3_whole_read(&on_s3), w5::WHOLE_READS);
    println!(
        "{}",
        json!({
            "workload": "W5-S3",
            "storage": "s3",
            "bytes": w5::bytes(),
            "shape": w5::shape(),
            "chunk_shape": on_s3.chunk_shape(),
            "slice_rows": [rows.start, rows.end],
            "slice_bytes": w5::slice_bytes(),
            "chunks_fetched": on_s3.chunks(),
            "slice_ms": ms(times["slice"]),
            "raw_chunk_get_ms": ms(times["raw_chunk_get"]),
            "slice_ratio": round(times["raw_chunk_get"] / times["slice"], 3),
            "whole_read_ms": ms(whole),
            "whole_read_mb_s": mb_s(whole),
            "whole_read_runs": w5::WHOLE_READS,
            "whole_read_over_slice": round(whole / times["slice"], 1),
            "interleaved_rounds": ROUNDS,
            "criterion_median_s": by_criterion,
        })
    );
}

/// W6: throughput of each way to write, and peak memory of each in a child.
fn w6(criterion: &mut Criterion, criterion_dir: &Path) {
    let base = data_dir("w6");
    // First, before this process holds the array: the children's peaks.
    let peaks: BTreeMap<&str, f64> = w6::CHILDREN
        .iter()
        .map(|&operation| (operation, w6::peak_mib(operation, &base.join(operation))))
        .collect();
    let fixture = w6::Fixture::new(&base.join("timed"));
    let (times, by_criterion) = measure(criterion, criterion_dir, "w6", 8, &mut w6::runs(&fixture));
    let mb = w6::bytes() as f64 / 1e6;
    let speed = |run: &str| mb / times[run];
    let mib = |bytes: usize| bytes as f64 / f64::from(1 << 20);
    println!(
        "{}",
        json!({
            "workload": "W6",
            "bytes": w6::bytes(),
            "array_mib": mib(w6::bytes()),
            "block_bytes": w6::block_bytes(),
            "block_mib": mib(w6::block_bytes()),
            "blocks": w6::blocks().count(),
            "writer_mb_s": round(speed("writer"), 1),
            "save_mb_s": round(speed("save"), 1),
            "raw_write_all_mb_s": round(speed("raw_write_all"), 1),
            "writer_ratio": round(speed("writer") / speed("raw_write_all"), 3),
            "save_ratio": round(speed("save") / speed("raw_write_all"), 3),
            "writer_vs_save": round(speed("writer") / speed("save"), 3),
            "writer_peak_mib": round(peaks["w6-writer"], 1),
            "in_memory_peak_mib": round(peaks["w6-in-memory"], 1),
            "raw_write_all_peak_mib": round(peaks["w6-raw"], 1),
            "interleaved_rounds": ROUNDS,
            "criterion_median_s": by_criterion,
        })
    );
}

/// W9: the cost of single flight on uncontended `cached` calls.
fn w9(criterion: &mut Criterion, criterion_dir: &Path) {
    let fixture = w9::fixture(&data_dir("w9"));
    let (times, by_criterion) = measure(criterion, criterion_dir, "w9", 6, &mut w9::runs(&fixture));
    let per_call_us = |run: &str| times[run] / w9::CALLS as f64 * 1e6;
    let mut figures = serde_json::Map::new();
    for backend in ["file", "s3"] {
        for kind in ["miss", "hit"] {
            let plain = per_call_us(&format!("{backend}_{kind}"));
            let flight = per_call_us(&format!("{backend}_{kind}_single_flight"));
            figures.insert(format!("{backend}_{kind}_us"), round(plain, 1).into());
            figures.insert(
                format!("{backend}_{kind}_single_flight_us"),
                round(flight, 1).into(),
            );
            figures.insert(
                format!("{backend}_{kind}_added_us"),
                round(flight - plain, 1).into(),
            );
        }
    }
    println!(
        "{}",
        json!({
            "workload": "W9",
            "calls": w9::CALLS,
            "per_call": figures,
            "interleaved_rounds": ROUNDS,
            "criterion_median_s": by_criterion,
        })
    );
}

/// W10: the cost of access marks on reads.
fn w10(criterion: &mut Criterion, criterion_dir: &Path) {
    let fixture = w10::fixture(&data_dir("w10"));
    let (times, by_criterion) =
        measure(criterion, criterion_dir, "w10", 6, &mut w10::runs(&fixture));
    let per_read_us = |run: &str| times[run] / w10::READS as f64 * 1e6;
    let mut figures = serde_json::Map::new();
    for backend in ["file", "s3"] {
        let plain = per_read_us(&format!("{backend}_read"));
        let marked = per_read_us(&format!("{backend}_read_marked"));
        figures.insert(format!("{backend}_read_us"), round(plain, 1).into());
        figures.insert(format!("{backend}_read_marked_us"), round(marked, 1).into());
        figures.insert(
            format!("{backend}_added_us"),
            round(marked - plain, 1).into(),
        );
    }
    println!(
        "{}",
        json!({
            "workload": "W10",
            "reads": w10::READS,
            "per_read": figures,
            "interleaved_rounds": ROUNDS,
            "criterion_median_s": by_criterion,
        })
    );
}

/// W8: the cost of keyed nodes.
fn w8(criterion: &mut Criterion, criterion_dir: &Path) {
    let fixture = w8::Fixture::new(&data_dir("w8"));
    let (times, by_criterion) = measure(criterion, criterion_dir, "w8", 6, &mut w8::runs(&fixture));
    let per_node_us = |run: &str| times[run] / w8::NODES as f64 * 1e6;
    println!(
        "{}",
        json!({
            "workload": "W8",
            "nodes": w8::NODES,
            "cached_hit_us": round(per_node_us("cached_hits"), 2),
            "keyed_hit_us": round(per_node_us("keyed_hits"), 2),
            "keyed_hit_overhead_us": round(per_node_us("keyed_hits") - per_node_us("cached_hits"), 2),
            "plain_save_us": round(per_node_us("plain_saves"), 2),
            "keyed_miss_us": round(per_node_us("keyed_misses"), 2),
            "keyed_miss_overhead_us": round(per_node_us("keyed_misses") - per_node_us("plain_saves"), 2),
            "array_bytes": w8::array_bytes(),
            "plain_read_us": round(times["plain_read"] * 1e6, 1),
            "downstream_of_array_hit_us": round(times["downstream_hit"] * 1e6, 1),
            "hash_array_ms": round(times["hash_array"] * 1e3, 2),
            "interleaved_rounds": ROUNDS,
            "criterion_median_s": by_criterion,
        })
    );
}

/// W7: reads into the caller's memory, and mapped.
fn w7(criterion: &mut Criterion, criterion_dir: &Path) {
    let fixture = RefCell::new(w7::Fixture::new(&data_dir("w7")));
    let (times, by_criterion) = measure(criterion, criterion_dir, "w7", 8, &mut w7::runs(&fixture));
    let mb = w7::bytes() as f64 / 1e6;
    let speed = |run: &str| mb / times[run];
    println!(
        "{}",
        json!({
            "workload": "W7",
            "bytes": w7::bytes(),
            "raw_read_exact_mb_s": round(speed("raw_read_exact"), 1),
            "read_task_into_mb_s": round(speed("read_task_into"), 1),
            "read_task_into_ratio": round(speed("read_task_into") / speed("raw_read_exact"), 3),
            "read_task_into_target": 0.95,
            "read_mb_s": round(speed("read"), 1),
            "read_ratio_vs_read_exact": round(speed("read") / speed("raw_read_exact"), 3),
            "mapped_open_us": round(times["mapped_open"] * 1e6, 1),
            "mapped_open_target_us": 1000,
            "raw_read_exact_sum_mb_s": round(speed("raw_read_exact_sum"), 1),
            "mapped_sum_mb_s": round(speed("mapped_sum"), 1),
            "mapped_sum_ratio": round(speed("mapped_sum") / speed("raw_read_exact_sum"), 3),
            "interleaved_rounds": ROUNDS,
            "criterion_median_s": by_criterion,
        })
    );
    drop(fixture);
}

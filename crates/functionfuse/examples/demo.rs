//! The demo pipeline: five nodes whose results are saved to a storage.
//! Run it twice (`cargo xtask demo` does): the second run reads every
//! result from the storage instead of recomputing it.
//!
//! Usage: `cargo run -p functionfuse --example demo -- [STORAGE_FOLDER | --config STORAGE_CONFIG_JSON]`

use std::collections::BTreeMap;
use std::time::Instant;

use functionfuse::ndarray::{Array1, Array2, Axis};
use functionfuse::{Origin, Persistent, Storage, StorageConfig, storage_factory};
use serde::{Deserialize, Serialize};

const WORKFLOW: &str = "demo";

#[derive(Debug, Serialize, Deserialize)]
struct Config {
    seed: u64,
    samples: usize,
    bins: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct Summary {
    description: String,
    column_means: Persistent<Array1<f64>>,
    covariance: Persistent<Array2<f64>>,
    rows: usize,
}

/// A small deterministic generator, so that runs are comparable.
fn uniform(seed: u64, n: usize) -> Vec<f64> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1_u64 << 53) as f64
        })
        .collect()
}

/// Runs one node through the storage and says where its result came from.
fn node<T>(storage: &Storage, task: &str, compute: impl FnOnce() -> T) -> anyhow::Result<T>
where
    T: Serialize + for<'de> Deserialize<'de> + 'static,
{
    let start = Instant::now();
    let cached = storage.cached_with_origin(WORKFLOW, task, compute)?;
    let how = match cached.origin {
        Origin::Computed => "computed and saved",
        Origin::Stored => "read from storage, not recomputed",
    };
    println!(
        "  {task:<10} {how} ({:.1} ms)",
        start.elapsed().as_secs_f64() * 1e3
    );
    Ok(cached.value)
}

/// The storage config: a JSON `StorageConfig` given as `--config JSON`
/// (what `cargo xtask demo --s3` passes), else a folder (default `storage`).
fn storage_config() -> anyhow::Result<StorageConfig> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, json] if flag == "--config" => Ok(serde_json::from_str(json)?),
        [path] => Ok(StorageConfig::new(
            "file",
            serde_json::json!({ "path": path }),
        )),
        [] => Ok(StorageConfig::new(
            "file",
            serde_json::json!({ "path": "storage" }),
        )),
        _ => anyhow::bail!("usage: demo [FOLDER | --config STORAGE_CONFIG_JSON]"),
    }
}

fn main() -> anyhow::Result<()> {
    let config = storage_config()?;
    let storage = storage_factory(&config)?;
    let path = storage.backend().location();
    let on_s3 = storage.backend().kind() == "S3";
    println!(
        "pipeline `{WORKFLOW}` on {} storage at {path}",
        storage.backend().kind()
    );

    let config = node(&storage, "config", || Config {
        seed: 42,
        samples: 100_000,
        bins: 10,
    })?;
    let samples = node(&storage, "samples", || uniform(config.seed, config.samples))?;
    let histogram = node(&storage, "histogram", || {
        let mut counts = BTreeMap::new();
        for x in &samples {
            let bin = ((x * config.bins as f64) as usize).min(config.bins - 1);
            *counts.entry(format!("bin{bin:02}")).or_insert(0_usize) += 1;
        }
        counts
    })?;
    let matrix = node(&storage, "matrix", || {
        let values = uniform(config.seed + 1, 2_000 * 2_000);
        Array2::from_shape_vec((2_000, 2_000), values).unwrap_or_default()
    })?;
    let summary = node(&storage, "summary", || {
        let block = matrix.slice(functionfuse::ndarray::s![..500, ..50]);
        let means = block.mean_axis(Axis(0)).unwrap_or_default();
        let centered = &block - &means;
        let covariance = centered.t().dot(&centered) / (block.nrows() as f64 - 1.0);
        Summary {
            description: "column means and covariance of a 500 x 50 block".into(),
            column_means: Persistent(means),
            covariance: Persistent(covariance),
            rows: block.nrows(),
        }
    })?;

    println!(
        "\nresults: {} samples, histogram {:?}…, matrix {:?}, covariance {:?}",
        samples.len(),
        histogram.iter().take(2).collect::<Vec<_>>(),
        matrix.shape(),
        summary.covariance.shape(),
    );
    println!("\nstored tasks: {:?}", storage.list_tasks(WORKFLOW, "*")?);
    if on_s3 {
        println!(
            "records are objects {path}{WORKFLOW}/<task>, arrays zarr v3 arrays {path}{WORKFLOW}/bigdata/*.zarr"
        );
        println!("read in Python: see docs/s3.md (boto3 + msgpack, zarr-python)");
    } else {
        println!(
            "records are in {path}/{WORKFLOW}/<task>, arrays in {path}/{WORKFLOW}/bigdata/*.h5"
        );
        println!("list them:      cargo ffuse -s {path} ls {WORKFLOW}");
        println!("look at one:    cargo ffuse -s {path} show {WORKFLOW} summary");
        println!("read in Python: see docs/format.md (msgpack) and docs/serializers.md (h5py)");
        println!("start over:     cargo ffuse -s {path} rm-workflow {WORKFLOW}");
    }
    Ok(())
}

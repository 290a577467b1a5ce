//! The demo pipeline: five keyed nodes whose results are saved to a
//! storage. Run it twice (`cargo xtask demo` does): the second run reads
//! every result from the storage instead of recomputing it. Then run it
//! with another `--bins`: only the nodes that depend on it are recomputed,
//! and each says why.
//!
//! Usage: `cargo run -p functionfuse --example demo -- [STORAGE_FOLDER | --config STORAGE_CONFIG_JSON] [--bins N]`

use std::collections::BTreeMap;
use std::time::Instant;

use functionfuse::ndarray::{Array1, Array2, Axis};
use functionfuse::{Node, Persistent, StorageConfig, storage_factory};
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

/// Runs one keyed node and says whether it was read or computed, and why.
fn run<T>(node: Node<'_>, task: &str, compute: impl FnOnce() -> T) -> anyhow::Result<T>
where
    T: Serialize + for<'de> Deserialize<'de> + 'static,
{
    let start = Instant::now();
    let ran = node.run(compute)?;
    let how = if ran.verdict.is_fresh() {
        "read from storage, not recomputed".to_owned()
    } else {
        format!("computed and saved: {}", ran.verdict)
    };
    println!(
        "  {task:<10} {how} ({:.1} ms)",
        start.elapsed().as_secs_f64() * 1e3
    );
    Ok(ran.value)
}

/// The storage config: a JSON `StorageConfig` given as `--config JSON`
/// (what `cargo xtask demo --s3` passes), else a folder (default
/// `storage`); and the number of histogram bins (`--bins N`, default 10).
fn arguments() -> anyhow::Result<(StorageConfig, usize)> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut bins = 10;
    if let Some(at) = args.iter().position(|arg| arg == "--bins") {
        let value = args
            .get(at + 1)
            .ok_or_else(|| anyhow::anyhow!("--bins needs a number"))?;
        bins = value
            .parse()
            .map_err(|_| anyhow::anyhow!("--bins needs a number, not {value:?}"))?;
        if bins == 0 {
            anyhow::bail!("--bins needs at least 1");
        }
        args.drain(at..at + 2);
    }
    Ok((storage_config(&args)?, bins))
}

fn storage_config(args: &[String]) -> anyhow::Result<StorageConfig> {
    match args {
        [flag, json] if flag == "--config" => Ok(serde_json::from_str(json)?),
        [path] => Ok(StorageConfig::new(
            "file",
            serde_json::json!({ "path": path }),
        )),
        [] => Ok(StorageConfig::new(
            "file",
            serde_json::json!({ "path": "storage" }),
        )),
        _ => anyhow::bail!("usage: demo [FOLDER | --config STORAGE_CONFIG_JSON] [--bins N]"),
    }
}

fn main() -> anyhow::Result<()> {
    let (config, bins) = arguments()?;
    let storage = storage_factory(&config)?;
    let path = storage.backend().location();
    let on_s3 = storage.backend().kind() == "S3";
    println!(
        "pipeline `{WORKFLOW}` on {} storage at {path}, {bins} bins",
        storage.backend().kind()
    );

    // Each node names what its result depends on: parameters (`input`),
    // other nodes (`upstream`) and its code version (`version`).
    let params = Config {
        seed: 42,
        samples: 100_000,
        bins,
    };
    let node = |task| storage.node(WORKFLOW, task);
    let config = run(
        node("config").inputs(&params).version("1"),
        "config",
        || params,
    )?;
    let samples = run(
        node("samples")
            .input("seed", &config.seed)
            .input("samples", &config.samples)
            .version("1"),
        "samples",
        || uniform(config.seed, config.samples),
    )?;
    let histogram = run(
        node("histogram")
            .upstream("samples")
            .input("bins", &config.bins)
            .version("1"),
        "histogram",
        || {
            let mut counts = BTreeMap::new();
            for x in &samples {
                let bin = ((x * config.bins as f64) as usize).min(config.bins - 1);
                *counts.entry(format!("bin{bin:02}")).or_insert(0_usize) += 1;
            }
            counts
        },
    )?;
    let matrix = run(
        node("matrix").input("seed", &config.seed).version("1"),
        "matrix",
        || {
            let values = uniform(config.seed + 1, 2_000 * 2_000);
            Array2::from_shape_vec((2_000, 2_000), values).unwrap_or_default()
        },
    )?;
    let summary = run(
        node("summary").upstream("matrix").version("1"),
        "summary",
        || {
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
        },
    )?;

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

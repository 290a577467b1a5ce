//! Timed runs, measured two ways: by criterion, one run kind at a time, and
//! interleaved (raw, ours, raw, ours, …) for the ratios, so that the noise
//! of the machine hits both sides alike.

use std::time::Duration;

use criterion::BenchmarkGroup;
use criterion::measurement::WallTime;

/// One kind of run: does the untimed preparation itself and returns the
/// time of the timed part.
pub(crate) struct Run<'a> {
    pub(crate) name: &'static str,
    pub(crate) once: Box<dyn FnMut() -> Duration + 'a>,
}

impl<'a> Run<'a> {
    pub(crate) fn new(name: &'static str, once: impl FnMut() -> Duration + 'a) -> Self {
        Self {
            name,
            once: Box::new(once),
        }
    }
}

/// Benchmarks every run with criterion.
pub(crate) fn criterion(group: &mut BenchmarkGroup<'_, WallTime>, runs: &mut [Run<'_>]) {
    for run in runs {
        group.bench_function(run.name, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| (run.once)()).sum());
        });
    }
}

/// Runs all kinds in turn, `rounds` times; returns each kind's median in seconds.
pub(crate) fn interleaved(runs: &mut [Run<'_>], rounds: usize) -> Vec<(&'static str, f64)> {
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); runs.len()];
    for _ in 0..rounds {
        for (run, samples) in runs.iter_mut().zip(&mut times) {
            samples.push((run.once)().as_secs_f64());
        }
    }
    runs.iter()
        .zip(times)
        .map(|(run, mut samples)| {
            samples.sort_by(f64::total_cmp);
            (run.name, samples[samples.len() / 2])
        })
        .collect()
}

/// Runs one kind `times` times on its own; returns its median in seconds.
/// For runs too slow to repeat in criterion and the interleaved rounds.
pub(crate) fn median_of(run: &mut Run<'_>, times: usize) -> f64 {
    let mut samples: Vec<f64> = (0..times.max(1))
        .map(|_| (run.once)().as_secs_f64())
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// `default_mib` MiB in bytes, unless the environment variable `var` gives
/// another number of MiB.
pub(crate) fn mib_from_env(var: &str, default_mib: usize) -> usize {
    let mib: usize = std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_mib);
    mib << 20
}

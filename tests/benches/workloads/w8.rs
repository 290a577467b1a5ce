//! W8: what keying costs. 1,000 W1-sized records through keyed nodes
//! (inputs fingerprinted, the stored key compared) against plain `cached`,
//! on a hit (read) and on a miss (compute and save); and a node whose
//! upstream is a 512 MiB array against reading a plain result: the
//! array's fingerprint comes from its record, so it is never hashed again
//! (hashing it in memory is timed beside, as what a re-hash would cost).

use std::time::{Duration, Instant};

use functionfuse::Storage;
use functionfuse::ndarray::Array2;
use functionfuse::storage_file::FileBackend;
use serde::Serialize;

use crate::runs::Run;
use crate::w1::{Small, small};

/// Nodes per small run.
pub(crate) const NODES: usize = 1_000;

/// Size of the upstream array: 512 MiB unless `FUNCTIONFUSE_BENCH_W8_MIB`
/// says otherwise.
pub(crate) fn array_bytes() -> usize {
    crate::runs::mib_from_env("FUNCTIONFUSE_BENCH_W8_MIB", 512)
}

/// The parameters each small node is keyed by.
#[derive(Serialize)]
struct Params {
    learning_rate: f64,
    epochs: u32,
    name: String,
}

pub(crate) struct Fixture {
    storage: Storage,
    names: Vec<String>,
    values: Vec<Small>,
    params: Params,
    array: Array2<f64>,
    /// Bumped for every miss run, so that every node recomputes.
    generation: std::cell::Cell<u64>,
}

impl Fixture {
    pub(crate) fn new(base: &std::path::Path) -> Self {
        let storage = Storage::new(Box::new(FileBackend::new(base.join("storage"))));
        let names: Vec<String> = (0..NODES).map(|i| format!("node-{i:04}")).collect();
        let values: Vec<Small> = (0..NODES).map(small).collect();
        let params = Params {
            learning_rate: 0.1,
            epochs: 10,
            name: "baseline".into(),
        };
        let rows = (array_bytes() / 8 / 1024).max(1);
        let array = Array2::from_shape_fn((rows, 1024), |(i, j)| (i * 1024 + j) as f64);
        let fixture = Self {
            storage,
            names,
            values,
            params,
            array,
            generation: std::cell::Cell::new(0),
        };
        // The hits need something stored: keyed, plain, and the array chain.
        for (name, value) in fixture.names.iter().zip(&fixture.values) {
            fixture.keyed(name, "hit", value);
            fixture.storage.save("plain", name, value).expect("save");
        }
        fixture
            .storage
            .save("big", "array", &fixture.array)
            .expect("save");
        fixture.downstream();
        fixture
            .storage
            .save("big", "plain", &1.5_f64)
            .expect("save");
        fixture
    }

    /// One keyed node of workflow `workflow` returning `value`.
    fn keyed(&self, name: &str, workflow: &str, value: &Small) -> bool {
        self.storage
            .node(workflow, name)
            .inputs(&self.params)
            .version("1")
            .run(|| value.clone())
            .expect("node")
            .verdict
            .is_fresh()
    }

    fn keyed_hits(&self) -> Duration {
        let start = Instant::now();
        for (name, value) in self.names.iter().zip(&self.values) {
            assert!(self.keyed(name, "hit", value), "a hit");
        }
        start.elapsed()
    }

    fn cached_hits(&self) -> Duration {
        let start = Instant::now();
        for (name, value) in self.names.iter().zip(&self.values) {
            std::hint::black_box(
                self.storage
                    .cached("plain", name, || value.clone())
                    .expect("cached"),
            );
        }
        start.elapsed()
    }

    /// Every node recomputes (a new code version) and saves.
    fn keyed_misses(&self) -> Duration {
        self.generation.set(self.generation.get() + 1);
        let version = self.generation.get().to_string();
        let start = Instant::now();
        for (name, value) in self.names.iter().zip(&self.values) {
            let ran = self
                .storage
                .node("miss", name)
                .inputs(&self.params)
                .version(version.as_str())
                .run(|| value.clone())
                .expect("node");
            assert!(!ran.verdict.is_fresh(), "a miss");
        }
        start.elapsed()
    }

    /// Plain saves of the same values over existing tasks (what `cached`
    /// does on a miss, after its failed read).
    fn plain_saves(&self) -> Duration {
        let start = Instant::now();
        for (name, value) in self.names.iter().zip(&self.values) {
            self.storage.save("plain-miss", name, value).expect("save");
        }
        start.elapsed()
    }

    /// The node downstream of the big array: keyed by it.
    fn downstream(&self) -> bool {
        self.storage
            .node("big", "mean")
            .upstream("array")
            .version("1")
            .run(|| self.array.mean().unwrap_or_default())
            .expect("node")
            .verdict
            .is_fresh()
    }

    fn downstream_hit(&self) -> Duration {
        let start = Instant::now();
        assert!(self.downstream(), "a hit");
        start.elapsed()
    }

    fn plain_read(&self) -> Duration {
        let start = Instant::now();
        std::hint::black_box(self.storage.read_task::<f64>("big", "plain").expect("read"));
        start.elapsed()
    }

    fn hash_array(&self) -> Duration {
        let start = Instant::now();
        let values = self.array.as_slice().expect("contiguous");
        std::hint::black_box(functionfuse::Fingerprint::of_bytes(bytemuck::cast_slice(
            values,
        )));
        start.elapsed()
    }
}

/// The runs of W8, plain before keyed.
pub(crate) fn runs(fixture: &Fixture) -> Vec<Run<'_>> {
    vec![
        Run::new("cached_hits", || fixture.cached_hits()),
        Run::new("keyed_hits", || fixture.keyed_hits()),
        Run::new("plain_saves", || fixture.plain_saves()),
        Run::new("keyed_misses", || fixture.keyed_misses()),
        Run::new("plain_read", || fixture.plain_read()),
        Run::new("downstream_hit", || fixture.downstream_hit()),
        Run::new("hash_array", || fixture.hash_array()),
    ]
}

//! W9: what single flight costs an uncontended `cached` call, on a folder
//! and on S3: 200 misses (each computes a W1-sized value into a new task
//! and saves it) and 200 hits, with single flight on and off.

use std::cell::Cell;
use std::path::Path;
use std::time::{Duration, Instant};

use functionfuse::{SingleFlight, Storage};

use crate::runs::Run;
use crate::s3::FileAndS3;
use crate::w1::small;

/// Calls per run.
pub(crate) const CALLS: usize = 200;

/// One backend's two storages: single flight off and on.
pub(crate) struct Pair {
    plain: Storage,
    flight: Storage,
    /// Counts runs, for fresh workflows (misses).
    run: Cell<usize>,
}

impl Pair {
    fn new(storage: Storage) -> Self {
        let mut flight = storage.clone();
        flight.set_single_flight(Some(SingleFlight::default()));
        let pair = Self {
            plain: storage,
            flight,
            run: Cell::new(0),
        };
        for i in 0..CALLS {
            pair.plain
                .save("hits", &format!("t{i}"), &small(i))
                .expect("save");
        }
        pair
    }

    fn misses(&self, single_flight: bool) -> Duration {
        self.run.set(self.run.get() + 1);
        let workflow = format!("miss-{}-{single_flight}", self.run.get());
        self.calls(&workflow, single_flight)
    }

    fn hits(&self, single_flight: bool) -> Duration {
        self.calls("hits", single_flight)
    }

    /// `CALLS` `cached` calls on tasks `t0`… of `workflow`.
    fn calls(&self, workflow: &str, single_flight: bool) -> Duration {
        let storage = if single_flight {
            &self.flight
        } else {
            &self.plain
        };
        let start = Instant::now();
        for i in 0..CALLS {
            std::hint::black_box(
                storage
                    .cached(workflow, &format!("t{i}"), || small(i))
                    .expect("cached"),
            );
        }
        start.elapsed()
    }
}

/// The workload's storages.
pub(crate) type Fixture = FileAndS3<Pair>;

/// Its fixture, with the records it reads saved.
pub(crate) fn fixture(base: &Path) -> Fixture {
    FileAndS3::new(base, "w9", Pair::new)
}

/// The runs of W9, plain before single flight.
pub(crate) fn runs(fixture: &Fixture) -> Vec<Run<'_>> {
    vec![
        Run::new("file_miss", || fixture.file.misses(false)),
        Run::new("file_miss_single_flight", || fixture.file.misses(true)),
        Run::new("file_hit", || fixture.file.hits(false)),
        Run::new("file_hit_single_flight", || fixture.file.hits(true)),
        Run::new("s3_miss", || fixture.s3.misses(false)),
        Run::new("s3_miss_single_flight", || fixture.s3.misses(true)),
        Run::new("s3_hit", || fixture.s3.hits(false)),
        Run::new("s3_hit_single_flight", || fixture.s3.hits(true)),
    ]
}

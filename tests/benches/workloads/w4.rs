//! W4: 1,000 small records saved to and read from the S3 storage, one
//! after another, against 1,000 raw PUTs and GETs of the same bytes
//! through aws-sdk-s3. Saves go to new tasks (a fresh workflow each run,
//! as a first pipeline run does) and, separately, over existing ones.

use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;

use crate::runs::Run;
use crate::s3::{BUCKET, Bench};
use crate::w1::{Small, small};

pub(crate) const RECORDS: usize = 1_000;

pub(crate) struct Fixture {
    bench: Bench,
    /// Counts runs, for fresh keys and workflows.
    run: std::cell::Cell<usize>,
    names: Vec<String>,
    values: Vec<Small>,
    record: Vec<u8>,
}

impl Fixture {
    pub(crate) fn new(base: &Path) -> Self {
        let bench = Bench::new(base, "w4");
        let names: Vec<String> = (0..RECORDS).map(|i| format!("task-{i:04}")).collect();
        let values: Vec<Small> = (0..RECORDS).map(small).collect();
        for (name, value) in names.iter().zip(&values) {
            bench.storage.save("wf", name, value).expect("save");
        }
        let record = bench
            .storage
            .backend()
            .get("wf", &names[1])
            .expect("get")
            .expect("record");
        let fixture = Self {
            bench,
            run: std::cell::Cell::new(0),
            names,
            values,
            record,
        };
        fixture.raw_put();
        fixture
    }

    pub(crate) fn record_len(&self) -> usize {
        self.record.len()
    }

    fn fresh(&self) -> usize {
        self.run.set(self.run.get() + 1);
        self.run.get()
    }

    /// PUTs under a fresh prefix.
    fn raw_put(&self) -> Duration {
        let prefix = format!("raw-{}", self.fresh());
        let start = Instant::now();
        self.bench.runtime.block_on(async {
            for name in &self.names {
                self.bench
                    .client
                    .put_object()
                    .bucket(BUCKET)
                    .key(format!("{prefix}/{name}"))
                    .body(ByteStream::from(self.record.clone()))
                    .send()
                    .await
                    .expect("PUT");
            }
        });
        start.elapsed()
    }

    /// Saves to new tasks of a fresh workflow.
    fn save(&self) -> Duration {
        let workflow = format!("new-{}", self.fresh());
        let start = Instant::now();
        for (name, value) in self.names.iter().zip(&self.values) {
            self.bench
                .storage
                .save(&workflow, name, value)
                .expect("save");
        }
        start.elapsed()
    }

    /// Saves over the existing tasks.
    fn overwrite(&self) -> Duration {
        let start = Instant::now();
        for (name, value) in self.names.iter().zip(&self.values) {
            self.bench.storage.save("wf", name, value).expect("save");
        }
        start.elapsed()
    }

    fn raw_get(&self) -> Duration {
        let start = Instant::now();
        self.bench.runtime.block_on(async {
            for name in &self.names {
                let object = self
                    .bench
                    .client
                    .get_object()
                    .bucket(BUCKET)
                    .key(format!("raw-1/{name}"))
                    .send()
                    .await
                    .expect("GET");
                std::hint::black_box(object.body.collect().await.expect("body").into_bytes());
            }
        });
        start.elapsed()
    }

    fn read(&self) -> Duration {
        let start = Instant::now();
        for name in &self.names {
            std::hint::black_box(
                self.bench
                    .storage
                    .read_task::<Small>("wf", name)
                    .expect("read"),
            );
        }
        start.elapsed()
    }
}

/// The runs of W4, raw before ours.
pub(crate) fn runs(fixture: &Fixture) -> Vec<Run<'_>> {
    vec![
        Run::new("raw_put", || fixture.raw_put()),
        Run::new("save", || fixture.save()),
        Run::new("overwrite", || fixture.overwrite()),
        Run::new("raw_get", || fixture.raw_get()),
        Run::new("read", || fixture.read()),
    ]
}

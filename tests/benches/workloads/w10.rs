//! W10: what access marks (retention's record of reads) cost a read, on a
//! folder and on S3: 200 reads of W1-sized records that this storage has
//! not read before, so every one queues a mark, against the same reads
//! with marking off. The marks are written by the storage's background
//! thread; waiting for them is outside the timed part, as it is outside
//! the caller's read.

use std::path::Path;
use std::time::{Duration, Instant};

use functionfuse::{DEFAULT_ACCESS_RESOLUTION, Storage};

use crate::runs::Run;
use crate::s3::FileAndS3;
use crate::w1::{Small, small};

/// Reads per run.
pub(crate) const READS: usize = 200;

/// One backend's storage holding `READS` records.
pub(crate) struct Reads {
    storage: Storage,
}

impl Reads {
    fn new(storage: Storage) -> Self {
        for i in 0..READS {
            storage
                .save("reads", &format!("t{i}"), &small(i))
                .expect("save");
        }
        Self { storage }
    }

    /// `READS` reads through a fresh clone: with marking on, none of them
    /// has been marked by it yet.
    fn first_reads(&self, marking: bool) -> Duration {
        let mut storage = self.storage.clone();
        storage.set_access_resolution(marking.then_some(DEFAULT_ACCESS_RESOLUTION));
        let start = Instant::now();
        for i in 0..READS {
            std::hint::black_box(
                storage
                    .read_task::<Small>("reads", &format!("t{i}"))
                    .expect("read"),
            );
        }
        let elapsed = start.elapsed();
        storage.flush_access_times();
        elapsed
    }
}

/// The workload's storages.
pub(crate) type Fixture = FileAndS3<Reads>;

/// Its fixture, with the records it reads saved.
pub(crate) fn fixture(base: &Path) -> Fixture {
    FileAndS3::new(base, "w10", Reads::new)
}

/// The runs of W10, marking off before on.
pub(crate) fn runs(fixture: &Fixture) -> Vec<Run<'_>> {
    vec![
        Run::new("file_read", || fixture.file.first_reads(false)),
        Run::new("file_read_marked", || fixture.file.first_reads(true)),
        Run::new("s3_read", || fixture.s3.first_reads(false)),
        Run::new("s3_read_marked", || fixture.s3.first_reads(true)),
    ]
}

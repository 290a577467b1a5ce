//! W1: many small records.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use functionfuse::Storage;
use functionfuse::storage_file::FileBackend;
use serde::{Deserialize, Serialize};

use crate::runs::Run;

pub(crate) const RECORDS: usize = 10_000;

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Small {
    id: i64,
    value: f64,
    name: String,
    samples: [f64; 10],
}

pub(crate) fn small(i: usize) -> Small {
    Small {
        id: i as i64,
        value: i as f64 * 0.5,
        name: format!("node-{i:05}"),
        samples: std::array::from_fn(|k| (i * 10 + k) as f64),
    }
}

/// What the runs share: the values, their names, one record's bytes and a
/// storage already holding every record, for the reads.
pub(crate) struct Fixture {
    base: PathBuf,
    folders: usize,
    names: Vec<String>,
    values: Vec<Small>,
    record: Vec<u8>,
    read_folder: PathBuf,
    read_storage: Storage,
}

impl Fixture {
    pub(crate) fn new(base: &Path) -> Self {
        let names: Vec<String> = (0..RECORDS).map(|i| format!("task-{i:05}")).collect();
        let values: Vec<Small> = (0..RECORDS).map(small).collect();
        let read_folder = base.join("reads");
        let read_storage = Storage::new(Box::new(FileBackend::new(&read_folder)));
        for (name, value) in names.iter().zip(&values) {
            read_storage.save("wf", name, value).expect("save");
        }
        let record = fs::read(read_folder.join("wf").join(&names[1])).expect("record");
        Self {
            base: base.to_path_buf(),
            folders: 0,
            names,
            values,
            record,
            read_folder,
            read_storage,
        }
    }

    /// The size of one record, as the storage writes it.
    pub(crate) fn record_len(&self) -> usize {
        self.record.len()
    }

    /// A new folder for each write run: nothing is deleted while creates
    /// are timed (ext4 creates slowly for a while after a mass delete).
    fn fresh_folder(&mut self) -> PathBuf {
        self.folders += 1;
        self.base.join(format!("run-{}", self.folders))
    }

    fn raw_write(&mut self) -> Duration {
        let dir = self.fresh_folder();
        fs::create_dir_all(&dir).expect("folder");
        let start = Instant::now();
        for name in &self.names {
            let temp = dir.join(format!(".tmp-{name}"));
            let mut file = File::create(&temp).expect("create");
            file.write_all(&self.record).expect("write");
            drop(file);
            fs::rename(&temp, dir.join(name)).expect("rename");
        }
        start.elapsed()
    }

    fn save(&mut self) -> Duration {
        let storage = Storage::new(Box::new(FileBackend::new(self.fresh_folder())));
        storage.new_workflow("wf").expect("workflow");
        let start = Instant::now();
        for (name, value) in self.names.iter().zip(&self.values) {
            storage.save("wf", name, value).expect("save");
        }
        start.elapsed()
    }

    fn raw_read(&self) -> Duration {
        let dir = self.read_folder.join("wf");
        let start = Instant::now();
        for name in &self.names {
            std::hint::black_box(fs::read(dir.join(name)).expect("read"));
        }
        start.elapsed()
    }

    fn read(&self) -> Duration {
        let start = Instant::now();
        for name in &self.names {
            std::hint::black_box(
                self.read_storage
                    .read_task::<Small>("wf", name)
                    .expect("read"),
            );
        }
        start.elapsed()
    }
}

/// The runs of W1, raw before ours.
pub(crate) fn runs(fixture: &std::cell::RefCell<Fixture>) -> Vec<Run<'_>> {
    vec![
        Run::new("raw_write", || fixture.borrow_mut().raw_write()),
        Run::new("save", || fixture.borrow_mut().save()),
        Run::new("raw_read", || fixture.borrow().raw_read()),
        Run::new("read", || fixture.borrow().read()),
    ]
}

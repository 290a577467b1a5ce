//! Keyed results on both backends: a node is read only when its inputs,
//! code version and upstream results are what they were, and the verdict
//! says why it was computed otherwise.

// Test code: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;
use std::collections::BTreeMap;

use functionfuse::ndarray::Array2;
use functionfuse::{Error, Reason, Storage, Verdict};
use functionfuse_tests::{file_storage, s3_storage};
use serde::Serialize;

const WF: &str = "keyed";

/// Hyper-parameters, keyed field by field.
#[derive(Serialize, Clone)]
struct Params {
    learning_rate: f64,
    epochs: u32,
}

impl Params {
    fn baseline() -> Self {
        Self {
            learning_rate: 0.1,
            epochs: 3,
        }
    }
}

/// A three-node pipeline whose nodes count their computations.
struct Pipeline<'a> {
    storage: &'a Storage,
    computed: RefCell<Vec<&'static str>>,
}

/// What each node of one run said.
#[derive(Debug)]
struct Run {
    load: Verdict,
    train: Verdict,
    report: Verdict,
    report_value: String,
}

impl<'a> Pipeline<'a> {
    fn new(storage: &'a Storage) -> Self {
        Self {
            storage,
            computed: RefCell::new(Vec::new()),
        }
    }

    fn run(&self, rows: usize, load_version: &str, params: &Params) -> Run {
        self.computed.borrow_mut().clear();
        let load = self
            .storage
            .node(WF, "load")
            .input("rows", &rows)
            .version(load_version)
            .run(|| {
                self.computed.borrow_mut().push("load");
                Array2::from_shape_fn((rows, 3), |(i, j)| (i + j) as f64)
            })
            .unwrap();
        let train = self
            .storage
            .node(WF, "train")
            .upstream("load")
            .inputs(params)
            .version("1")
            .run(|| {
                self.computed.borrow_mut().push("train");
                load.value.sum() * params.learning_rate * f64::from(params.epochs)
            })
            .unwrap();
        let report = self
            .storage
            .node(WF, "report")
            .upstream("train")
            .version("1")
            .run(|| {
                self.computed.borrow_mut().push("report");
                format!("score {:.3}", train.value)
            })
            .unwrap();
        Run {
            load: load.verdict,
            train: train.verdict,
            report: report.verdict,
            report_value: report.value,
        }
    }

    fn computed(&self) -> Vec<&'static str> {
        self.computed.borrow().clone()
    }
}

fn storages() -> Vec<(&'static str, Storage, Box<dyn std::any::Any>)> {
    let (file, dir) = file_storage();
    let (s3, _) = s3_storage();
    vec![("file", file, Box::new(dir)), ("s3", s3, Box::new(()))]
}

fn reasons(verdict: &Verdict) -> Vec<String> {
    verdict.reasons().iter().map(ToString::to_string).collect()
}

#[test]
fn a_change_recomputes_exactly_the_nodes_it_reaches_and_says_why() {
    for (kind, storage, _guard) in storages() {
        let pipeline = Pipeline::new(&storage);
        let params = Params::baseline();

        let first = pipeline.run(100, "1", &params);
        assert_eq!(pipeline.computed(), ["load", "train", "report"], "{kind}");
        assert_eq!(first.load, Verdict::Recompute(vec![Reason::NotStored]));

        let again = pipeline.run(100, "1", &params);
        assert!(pipeline.computed().is_empty(), "{kind}: {again:?}");
        assert!(again.load.is_fresh() && again.train.is_fresh() && again.report.is_fresh());
        assert_eq!(again.report_value, first.report_value);

        // One parameter: train and what follows it.
        let faster = Params {
            learning_rate: 0.2,
            ..params.clone()
        };
        let changed = pipeline.run(100, "1", &faster);
        assert_eq!(pipeline.computed(), ["train", "report"], "{kind}");
        assert_eq!(reasons(&changed.train), ["input `learning_rate` changed"]);
        assert_eq!(reasons(&changed.report), ["upstream `train` changed"]);

        // The first node's code version, with a new result: everything.
        let rerun = pipeline.run(101, "2", &faster);
        assert_eq!(pipeline.computed(), ["load", "train", "report"], "{kind}");
        assert_eq!(
            reasons(&rerun.load),
            ["code version 1 → 2", "input `rows` changed"]
        );
        assert_eq!(reasons(&rerun.train), ["upstream `load` changed"]);

        // A new version that computes the same result stops there: its
        // dependents' upstream is unchanged.
        let same = pipeline.run(101, "3", &faster);
        assert_eq!(pipeline.computed(), ["load"], "{kind}");
        assert_eq!(reasons(&same.load), ["code version 2 → 3"]);
        assert!(same.train.is_fresh() && same.report.is_fresh(), "{kind}");
    }
}

#[test]
fn explain_tells_without_running() {
    for (kind, storage, _guard) in storages() {
        let node = |lr: f64| storage.node(WF, "fit").input("lr", &lr).version("7");
        assert_eq!(
            node(0.5).explain().unwrap(),
            Verdict::Recompute(vec![Reason::NotStored])
        );
        node(0.5).run(|| 1.0_f64).unwrap();
        assert!(node(0.5).explain().unwrap().is_fresh(), "{kind}");
        assert_eq!(
            node(0.6).explain().unwrap().to_string(),
            "input `lr` changed",
            "{kind}"
        );
        // Explaining ran nothing and changed nothing.
        assert!(node(0.5).explain().unwrap().is_fresh(), "{kind}");

        let downstream = storage.node(WF, "plot").upstream("missing");
        assert_eq!(
            downstream.explain().unwrap().to_string(),
            "upstream `missing` is not stored"
        );
        let error = storage
            .node(WF, "plot")
            .upstream("missing")
            .run(|| 0_u8)
            .unwrap_err();
        assert!(
            matches!(&error, Error::NotFound { task, .. } if task == "missing"),
            "{kind}: {error}"
        );
    }
}

#[test]
fn unkeyed_and_corrupt_results_are_recomputed_with_their_reason() {
    for (kind, storage, _guard) in storages() {
        storage.save(WF, "plain", &1_u32).unwrap();
        let ran = storage
            .node(WF, "plain")
            .version("1")
            .run(|| 2_u32)
            .unwrap();
        assert_eq!(ran.value, 2, "{kind}");
        assert_eq!(ran.verdict, Verdict::Recompute(vec![Reason::Unkeyed]));
        assert!(
            storage
                .node(WF, "plain")
                .version("1")
                .explain()
                .unwrap()
                .is_fresh()
        );

        let bytes = storage.backend().get(WF, "plain").unwrap().unwrap();
        let mut damaged = bytes.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        storage.backend().put(WF, "plain", &damaged).unwrap();
        let ran = storage
            .node(WF, "plain")
            .version("1")
            .run(|| 3_u32)
            .unwrap();
        assert_eq!(ran.value, 3);
        assert!(
            matches!(ran.verdict.reasons(), [Reason::Corrupt(reason)] if reason.contains("checksum")),
            "{kind}: {}",
            ran.verdict
        );
    }
}

/// A value that cannot be encoded.
struct Opaque;

impl Serialize for Opaque {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("a socket cannot be encoded"))
    }
}

#[test]
fn inputs_that_cannot_be_encoded_are_named_and_nothing_runs() {
    let (storage, _dir) = file_storage();
    storage.node(WF, "t").run(|| 1_u8).unwrap();
    let mut ran = false;
    let error = storage
        .node(WF, "t")
        .input("threshold", &0.5)
        .input("connection", &Opaque)
        .run(|| {
            ran = true;
            2_u8
        })
        .unwrap_err();
    assert!(!ran);
    assert!(
        matches!(&error, Error::Unencodable { input, .. } if input == "connection"),
        "{error}"
    );
    assert!(
        error.to_string().contains("a socket cannot be encoded"),
        "{error}"
    );
    assert_eq!(storage.read_task::<u8>(WF, "t").unwrap(), 1);
}

#[test]
fn maps_fingerprint_alike_whatever_their_order() {
    let (storage, _dir) = file_storage();
    let forward: BTreeMap<String, u32> = (0..20).map(|i| (format!("k{i}"), i)).collect();
    let backward: std::collections::HashMap<String, u32> =
        forward.iter().rev().map(|(k, v)| (k.clone(), *v)).collect();
    storage
        .node(WF, "m")
        .input("table", &forward)
        .run(|| 1_u8)
        .unwrap();
    assert!(
        storage
            .node(WF, "m")
            .input("table", &backward)
            .explain()
            .unwrap()
            .is_fresh()
    );
}

#[test]
fn a_dry_run_of_the_pipeline_follows_the_chain_and_runs_nothing() {
    for (kind, storage, _guard) in storages() {
        let pipeline = Pipeline::new(&storage);
        let params = Params::baseline();
        pipeline.run(100, "1", &params);
        let plan = |params: &Params| {
            let mut dry_run = functionfuse::DryRun::default();
            storage
                .node(WF, "load")
                .input("rows", &100_usize)
                .version("1")
                .dry_run(&mut dry_run)
                .unwrap();
            storage
                .node(WF, "train")
                .upstream("load")
                .inputs(params)
                .version("1")
                .dry_run(&mut dry_run)
                .unwrap();
            storage
                .node(WF, "report")
                .upstream("train")
                .version("1")
                .dry_run(&mut dry_run)
                .unwrap();
            dry_run
                .verdicts()
                .iter()
                .map(|(task, verdict)| format!("{task}: {verdict}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            plan(&params),
            [
                "load: stored, inputs and code unchanged",
                "train: stored, inputs and code unchanged",
                "report: stored, inputs and code unchanged"
            ],
            "{kind}"
        );
        let changed = Params {
            epochs: 4,
            ..params.clone()
        };
        assert_eq!(
            plan(&changed),
            [
                "load: stored, inputs and code unchanged",
                "train: input `epochs` changed",
                "report: upstream `train` will be recomputed"
            ],
            "{kind}"
        );
        // Nothing ran: the stored results are still those of `params`.
        pipeline.run(100, "1", &params);
        assert!(pipeline.computed().is_empty(), "{kind}");
    }
}

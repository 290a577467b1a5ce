//! Property tests: random sequences of saves, overwrites and removals on
//! both backends, checked after every step against a plain in-memory
//! model, big-data objects included.

// Helpers of tests fail loudly: that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use functionfuse::ndarray::Array1;
use functionfuse::{Persistent, Storage};
use functionfuse_tests::{file_storage, s3_storage};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

const WORKFLOWS: [&str; 2] = ["wf-a", "wf-b"];
const TASKS: [&str; 4] = ["t0", "t1", "t2", "u0"];
const PATTERNS: [&str; 3] = ["*", "t[01]", "t?"];

/// What a task may hold: inline values, a whole array (big data), or an
/// array nested in a struct (big data too).
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Int(i64),
    Text(String),
    Array(Vec<f64>),
    Nested(String, Vec<f64>),
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Holder {
    label: String,
    data: Persistent<Array1<f64>>,
}

impl Value {
    fn big_data_objects(&self) -> usize {
        usize::from(matches!(self, Value::Array(_) | Value::Nested(..)))
    }

    fn save(&self, storage: &Storage, workflow: &str, task: &str) {
        let saved = match self {
            Value::Int(i) => storage.save(workflow, task, i),
            Value::Text(t) => storage.save(workflow, task, t.as_str()),
            Value::Array(a) => storage.save(workflow, task, &Array1::from(a.clone())),
            Value::Nested(label, a) => storage.save(
                workflow,
                task,
                &Holder {
                    label: label.clone(),
                    data: Persistent(Array1::from(a.clone())),
                },
            ),
        };
        saved.unwrap();
    }

    fn read_back(&self, storage: &Storage, workflow: &str, task: &str) -> Value {
        match self {
            Value::Int(_) => Value::Int(storage.read_task(workflow, task).unwrap()),
            Value::Text(_) => Value::Text(storage.read_task(workflow, task).unwrap()),
            Value::Array(_) => Value::Array(
                storage
                    .read_task::<Array1<f64>>(workflow, task)
                    .unwrap()
                    .to_vec(),
            ),
            Value::Nested(..) => {
                let holder: Holder = storage.read_task(workflow, task).unwrap();
                Value::Nested(holder.label, holder.data.0.to_vec())
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Save(usize, usize, Value),
    Remove(usize, usize),
    RemoveTasks(usize, usize),
    RemoveWorkflow(usize),
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::Int),
        "[a-z]{0,12}".prop_map(Value::Text),
        prop::collection::vec(-1e6..1e6_f64, 0..40).prop_map(Value::Array),
        ("[a-z]{0,6}", prop::collection::vec(-1e6..1e6_f64, 1..20))
            .prop_map(|(label, data)| Value::Nested(label, data)),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..WORKFLOWS.len(), 0..TASKS.len(), value()).prop_map(|(w, t, v)| Op::Save(w, t, v)),
        2 => (0..WORKFLOWS.len(), 0..TASKS.len()).prop_map(|(w, t)| Op::Remove(w, t)),
        1 => (0..WORKFLOWS.len(), 0..PATTERNS.len()).prop_map(|(w, p)| Op::RemoveTasks(w, p)),
        1 => (0..WORKFLOWS.len()).prop_map(Op::RemoveWorkflow),
    ]
}

type Model = BTreeMap<(usize, usize), Value>;

fn apply(storage: &Storage, model: &mut Model, op: &Op) {
    match op {
        Op::Save(w, t, value) => {
            value.save(storage, WORKFLOWS[*w], TASKS[*t]);
            model.insert((*w, *t), value.clone());
        }
        Op::Remove(w, t) => {
            let removed = storage.remove_task(WORKFLOWS[*w], TASKS[*t]).unwrap();
            assert_eq!(removed, model.remove(&(*w, *t)).is_some(), "{op:?}");
        }
        Op::RemoveTasks(w, p) => {
            let pattern = glob::Pattern::new(PATTERNS[*p]).unwrap();
            let mut expected: Vec<&str> = (0..TASKS.len())
                .filter(|t| model.contains_key(&(*w, *t)) && pattern.matches(TASKS[*t]))
                .map(|t| TASKS[t])
                .collect();
            expected.sort_unstable();
            let removed = storage.remove_tasks(WORKFLOWS[*w], PATTERNS[*p]).unwrap();
            assert_eq!(removed, expected, "{op:?}");
            model.retain(|(mw, mt), _| !(mw == w && pattern.matches(TASKS[*mt])));
        }
        Op::RemoveWorkflow(w) => {
            storage.remove_workflow(WORKFLOWS[*w]).unwrap();
            model.retain(|(mw, _), _| mw != w);
        }
    }
}

/// The storage holds exactly what the model says: the same tasks with the
/// same values, and one big-data object (a file, or an array's keys) per
/// array held.
fn check(storage: &Storage, model: &Model, after: &Op) {
    for (w, workflow) in WORKFLOWS.iter().enumerate() {
        let mut expected: Vec<&str> = model
            .keys()
            .filter(|(mw, _)| *mw == w)
            .map(|(_, t)| TASKS[*t])
            .collect();
        expected.sort_unstable();
        assert_eq!(
            storage.list_tasks(workflow, "*").unwrap(),
            expected,
            "after {after:?}"
        );
        for ((_, t), value) in model.iter().filter(|((mw, _), _)| *mw == w) {
            assert_eq!(
                &value.read_back(storage, workflow, TASKS[*t]),
                value,
                "after {after:?}"
            );
        }
        let objects: std::collections::BTreeSet<String> = storage
            .backend()
            .scan(workflow)
            .unwrap()
            .into_iter()
            .filter_map(|o| {
                o.path
                    .strip_prefix("bigdata/")
                    .map(|k| k.split('/').next().unwrap_or(k).to_owned())
            })
            .collect();
        let arrays: usize = model
            .iter()
            .filter(|((mw, _), _)| *mw == w)
            .map(|(_, v)| v.big_data_objects())
            .sum();
        assert_eq!(
            objects.len(),
            arrays,
            "big data of {workflow} after {after:?}: {objects:?}"
        );
    }
}

fn run(storage: &Storage, ops: &[Op]) {
    let mut model = Model::new();
    for op in ops {
        apply(storage, &mut model, op);
        check(storage, &model, op);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn file_storage_matches_the_model(ops in prop::collection::vec(op(), 1..30)) {
        let (storage, _folder) = file_storage();
        run(&storage, &ops);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn s3_storage_matches_the_model(ops in prop::collection::vec(op(), 1..30)) {
        let (storage, _) = s3_storage();
        run(&storage, &ops);
    }
}

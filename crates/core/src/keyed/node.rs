//! [`Node`]: a task whose stored result is valid only for the inputs, the
//! code version and the upstream results it was computed from.

use std::any::Any;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::fingerprint::{Fingerprint, fields_of};
use super::key::{NodeKey, Reason, Verdict, result_fingerprint};
use crate::error::{Error, Result};
use crate::names::{validate_task, validate_workflow};
use crate::record::{self, RecordHeader};
use crate::storage::Storage;

/// A keyed node of a workflow, from [`Storage::node`]: name its inputs,
/// code version and upstream tasks, then [`run`](Self::run) it. A stored
/// result is read only when all of them are what they were when it was
/// computed; otherwise the node is computed again and its result replaced,
/// and [`Ran::verdict`] says why.
///
/// ```
/// use functionfuse_core::{Result, Storage};
///
/// fn train(storage: &Storage, learning_rate: f64) -> Result<f64> {
///     let rows = storage
///         .node("wf", "load")
///         .input("path", "data.csv")
///         .version("1")
///         .run(|| vec![1.0, 2.0, 3.0])?;
///     let fit = storage
///         .node("wf", "train")
///         .upstream("load")
///         .input("learning_rate", &learning_rate)
///         .version("3")
///         .run(|| rows.value.iter().sum::<f64>() * learning_rate)?;
///     if !fit.verdict.is_fresh() {
///         println!("train computed: {}", fit.verdict); // "input `learning_rate` changed"
///     }
///     Ok(fit.value)
/// }
/// ```
#[derive(Debug)]
#[must_use = "a node does nothing until it is run or explained"]
pub struct Node<'s> {
    storage: &'s Storage,
    workflow: String,
    task: String,
    key: NodeKey,
    upstream: Vec<String>,
    /// The first input that could not be fingerprinted.
    failure: Option<Error>,
}

/// The state of a dry run of a pipeline: the nodes passed to
/// [`Node::dry_run`] so far, and which of them a run would recompute.
///
/// ```
/// use functionfuse_core::{DryRun, Result, Storage};
///
/// /// What a run with `learning_rate` would recompute, and why.
/// fn plan(storage: &Storage, learning_rate: f64) -> Result<DryRun> {
///     let mut dry_run = DryRun::default();
///     storage.node("wf", "load").version("1").dry_run(&mut dry_run)?;
///     storage
///         .node("wf", "train")
///         .upstream("load")
///         .input("learning_rate", &learning_rate)
///         .version("3")
///         .dry_run(&mut dry_run)?;
///     storage.node("wf", "report").upstream("train").version("1").dry_run(&mut dry_run)?;
///     for (task, verdict) in dry_run.verdicts() {
///         println!("{task}: {verdict}"); // report: upstream `train` will be recomputed
///     }
///     Ok(dry_run)
/// }
/// ```
#[derive(Debug, Clone, Default)]
pub struct DryRun {
    recomputed: std::collections::BTreeSet<String>,
    verdicts: Vec<(String, Verdict)>,
}

impl DryRun {
    /// Each node's verdict, in the order they were passed.
    pub fn verdicts(&self) -> &[(String, Verdict)] {
        &self.verdicts
    }

    /// Whether a run would recompute `task`.
    pub fn recomputes(&self, task: &str) -> bool {
        self.recomputed.contains(task)
    }
}

/// The result of [`Node::run`]: the value and why it was read or computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Ran<T> {
    /// The node's result.
    pub value: T,
    /// [`Verdict::Fresh`] when it was read; the reasons it was computed
    /// otherwise.
    pub verdict: Verdict,
}

impl<'s> Node<'s> {
    pub(crate) fn new(storage: &'s Storage, workflow: &str, task: &str) -> Self {
        Self {
            storage,
            workflow: workflow.to_owned(),
            task: task.to_owned(),
            key: NodeKey::default(),
            upstream: Vec::new(),
            failure: None,
        }
    }

    /// Adds the input `name`: a result computed from another value of it
    /// is recomputed. Any `Serialize` value; maps count whatever their
    /// order.
    pub fn input<T: Serialize + ?Sized>(mut self, name: &str, value: &T) -> Self {
        match Fingerprint::of(value) {
            Ok(print) => self.add_input(name.to_owned(), print),
            Err(reason) => self.fail(name, reason),
        }
        self
    }

    /// Adds one input's fingerprint; a name given twice is an error, not a
    /// silent replacement.
    fn add_input(&mut self, name: String, print: Fingerprint) {
        match self.key.inputs.entry(name) {
            std::collections::btree_map::Entry::Vacant(entry) => {
                entry.insert(print);
            }
            std::collections::btree_map::Entry::Occupied(entry) => {
                let reason = "the name is given twice (by `input` or a field of `inputs`)";
                let name = entry.key().clone();
                self.fail(&name, reason.to_owned());
            }
        }
    }

    /// Adds every top-level field of `value` (a struct or a map with
    /// string keys) as an input of its own, so that
    /// [`Reason::InputChanged`] names the field; any other value is one
    /// input named `inputs`.
    pub fn inputs<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        match fields_of(value) {
            Ok(Some(fields)) => {
                for (name, print) in fields {
                    self.add_input(name, print);
                }
            }
            Ok(None) => return self.input("inputs", value),
            Err(reason) => self.fail("inputs", reason),
        }
        self
    }

    /// Sets the code version: a result computed by another version is
    /// recomputed. Change it when the node's code changes.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.key.version = Some(version.into());
        self
    }

    /// Adds the task `task` of the same workflow as an upstream node: a
    /// result computed from another result of it is recomputed. Its stored
    /// result's fingerprint is used, never the value, so big upstream
    /// arrays cost nothing.
    pub fn upstream(mut self, task: &str) -> Self {
        self.upstream.push(task.to_owned());
        self
    }

    fn fail(&mut self, input: &str, reason: String) {
        if self.failure.is_none() {
            self.failure = Some(Error::Unencodable {
                workflow: self.workflow.clone(),
                task: self.task.clone(),
                input: input.to_owned(),
                reason,
            });
        }
    }

    /// Says whether [`run`](Self::run) would read the stored result or
    /// compute, and why, without running anything.
    ///
    /// # Errors
    /// [`Error::InvalidName`], [`Error::Unencodable`], [`Error::Backend`].
    pub fn explain(&self) -> Result<Verdict> {
        self.check()?;
        let (key, missing) = self.resolve()?;
        if !missing.is_empty() {
            return Ok(Verdict::Recompute(
                missing.into_iter().map(Reason::UpstreamMissing).collect(),
            ));
        }
        self.verdict(&key)
    }

    /// [`explain`](Self::explain) as one step of a dry run of a whole
    /// pipeline: an upstream task that an earlier step found would be
    /// recomputed makes this node recomputed too
    /// ([`Reason::UpstreamStale`]), and a node found to be recomputed is
    /// remembered in `dry_run` for the steps after it. Nothing runs and
    /// nothing is written.
    ///
    /// # Errors
    /// As [`explain`](Self::explain).
    pub fn dry_run(&self, dry_run: &mut DryRun) -> Result<Verdict> {
        let mut verdict = self.explain()?;
        let stale: Vec<Reason> = self
            .upstream
            .iter()
            .filter(|upstream| dry_run.recomputed.contains(*upstream))
            .filter(|upstream| {
                !verdict.reasons().iter().any(|reason| {
                    matches!(reason, Reason::UpstreamChanged(task) | Reason::UpstreamMissing(task) if task == *upstream)
                })
            })
            .map(|upstream| Reason::UpstreamStale(upstream.clone()))
            .collect();
        if !stale.is_empty() {
            let mut reasons = verdict.reasons().to_vec();
            reasons.extend(stale);
            verdict = Verdict::Recompute(reasons);
        }
        if !verdict.is_fresh() {
            dry_run.recomputed.insert(self.task.clone());
        }
        dry_run.verdicts.push((self.task.clone(), verdict.clone()));
        Ok(verdict)
    }

    /// Reads the stored result if it was computed from these inputs, code
    /// version and upstream results; otherwise runs `compute`, saves its
    /// result with this key (replacing the stored one) and returns it.
    ///
    /// # Errors
    /// [`Error::Unencodable`] for an input that cannot be fingerprinted;
    /// [`Error::NotFound`] naming an upstream task that has no stored
    /// result; then as [`Storage::cached`].
    pub fn run<T, F>(self, compute: F) -> Result<Ran<T>>
    where
        T: Serialize + DeserializeOwned + Any,
        F: FnOnce() -> T,
    {
        self.check()?;
        let (key, missing) = self.resolve()?;
        if let Some(upstream) = missing.into_iter().next() {
            return Err(Error::NotFound {
                workflow: self.workflow.clone(),
                task: upstream,
            });
        }
        let (mut verdict, stored) = self.verdict_and_record(&key)?;
        if let (Verdict::Fresh, Some(bytes)) = (&verdict, stored) {
            // The record just compared is decoded as it is: one read.
            // Damaged big data (or big data a racing save replaced) is
            // recomputed: another record read now could hold another key.
            let decoded = self
                .storage
                .decode_record::<T>(&self.workflow, &self.task, &bytes);
            match decoded {
                Ok(value) => return Ok(Ran { value, verdict }),
                Err(Error::CorruptRecord { reason, .. }) => {
                    verdict = Verdict::Recompute(vec![Reason::Corrupt(reason)]);
                }
                Err(error) => return Err(error),
            }
        }
        log::info!(
            "computing task `{}` of workflow `{}`: {verdict}",
            self.task,
            self.workflow
        );
        let value = compute();
        self.storage
            .save_keyed(&self.workflow, &self.task, &value, key, verdict.to_string())?;
        let value = if self.storage.always_read() {
            self.storage.read_task(&self.workflow, &self.task)?
        } else {
            value
        };
        Ok(Ran { value, verdict })
    }

    /// Checks the names and that every input could be fingerprinted.
    fn check(&self) -> Result<()> {
        validate_workflow(&self.workflow)?;
        validate_task(&self.task)?;
        for upstream in &self.upstream {
            validate_task(upstream)?;
        }
        match &self.failure {
            Some(Error::Unencodable {
                workflow,
                task,
                input,
                reason,
            }) => Err(Error::Unencodable {
                workflow: workflow.clone(),
                task: task.clone(),
                input: input.clone(),
                reason: reason.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// The key with the upstream results' fingerprints, and the upstream
    /// tasks that have no result.
    fn resolve(&self) -> Result<(NodeKey, Vec<String>)> {
        let mut key = self.key.clone();
        let mut missing = Vec::new();
        for upstream in &self.upstream {
            // The header alone when it holds the fingerprint (results of
            // nodes): a large upstream record is not read whole.
            let header = self
                .storage
                .stored_header(&self.workflow, upstream)
                .map_err(|e| self.storage.backend_error(e))?;
            if let Some(Ok(RecordHeader {
                fingerprint: Some(print),
                ..
            })) = header
            {
                key.upstream.insert(upstream.clone(), print);
                continue;
            }
            match self.storage.fetch_record(&self.workflow, upstream)? {
                None => missing.push(upstream.clone()),
                Some(bytes) => {
                    let print = record::decode(&bytes).map_or_else(
                        // A damaged upstream fingerprints as its bytes: it
                        // differs from any result this node was run on.
                        |_| Fingerprint::of_bytes(&bytes),
                        |record| {
                            record.header.fingerprint.unwrap_or_else(|| {
                                result_fingerprint(record.payload, &record.header.persistent_ids)
                            })
                        },
                    );
                    key.upstream.insert(upstream.clone(), print);
                }
            }
        }
        Ok((key, missing))
    }

    /// Compares `key` with the stored record's.
    fn verdict(&self, key: &NodeKey) -> Result<Verdict> {
        self.verdict_and_record(key).map(|(verdict, _)| verdict)
    }

    /// [`verdict`](Self::verdict), and the record's bytes when there is one.
    fn verdict_and_record(&self, key: &NodeKey) -> Result<(Verdict, Option<Vec<u8>>)> {
        let Some(bytes) = self.storage.fetch_record(&self.workflow, &self.task)? else {
            return Ok((Verdict::Recompute(vec![Reason::NotStored]), None));
        };
        let header = match record::decode(&bytes) {
            Ok(record) => record.header,
            Err(reason) => return Ok((Verdict::Recompute(vec![Reason::Corrupt(reason)]), None)),
        };
        let Some(stored) = header.key else {
            return Ok((Verdict::Recompute(vec![Reason::Unkeyed]), None));
        };
        let reasons = key.differences(&stored);
        let verdict = if reasons.is_empty() {
            Verdict::Fresh
        } else {
            Verdict::Recompute(reasons)
        };
        Ok((verdict, Some(bytes)))
    }
}

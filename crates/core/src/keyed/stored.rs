//! [`Storage::explain_workflow`]: what the stored results of a workflow say
//! about themselves, without the pipeline's code: how each keyed result was
//! computed and why, and which ones a run would recompute because an
//! upstream result changed since.

use std::collections::BTreeMap;

use serde::Serialize;

use super::fingerprint::Fingerprint;
use super::key::{NodeKey, Reason, Verdict, result_fingerprint};
use crate::error::Result;
use crate::record;
use crate::storage::{Storage, task_pattern};

/// What [`Storage::explain_workflow`] says of one stored task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredNode {
    /// The task.
    pub task: String,
    /// What the result was computed from; `None` for a plain result
    /// (`save`, `cached`) or a damaged record.
    pub key: Option<NodeKey>,
    /// Why it was computed, as the run that saved it said.
    pub computed_because: Option<String>,
    /// When it was saved, nanoseconds since the Unix epoch; 0 if unknown.
    pub created_ns: u64,
    /// Whether its upstream results are still those it was computed from
    /// (`Fresh`), or why a run would recompute it; `None` for a plain
    /// result, which nothing keys. Inputs and code versions live in the
    /// pipeline's code: a run checks those.
    #[serde(serialize_with = "verdict_text")]
    pub now: Option<Verdict>,
}

// serde's `serialize_with` hands over `&Option<_>`.
#[allow(clippy::ref_option)]
fn verdict_text<S: serde::Serializer>(
    verdict: &Option<Verdict>,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    match verdict {
        None => serializer.serialize_none(),
        Some(Verdict::Fresh) => serializer.serialize_str("fresh"),
        Some(verdict) => serializer.collect_str(verdict),
    }
}

/// A task's record, as far as keys go.
enum Entry {
    Damaged(String),
    Stored {
        key: Option<NodeKey>,
        computed_because: Option<String>,
        created_ns: u64,
        fingerprint: Fingerprint,
    },
}

impl Storage {
    /// What the stored results of `workflow` whose task matches `pattern`
    /// say about themselves: their keys, why they were computed, and
    /// whether a run would recompute them because an upstream result has
    /// changed (or will be recomputed) since. Reads records only, never big
    /// data; `ffuse explain` prints it.
    ///
    /// # Errors
    /// [`Error::InvalidName`](crate::Error::InvalidName),
    /// [`Error::InvalidPattern`](crate::Error::InvalidPattern),
    /// [`Error::Backend`](crate::Error::Backend).
    pub fn explain_workflow(&self, workflow: &str, pattern: &str) -> Result<Vec<StoredNode>> {
        let pattern = task_pattern(pattern)?;
        let tasks = self.list_tasks(workflow, "*")?;
        // Concurrently: on S3 each record is a request.
        let records =
            crate::maintenance::parallel::map(&tasks, |task| self.fetch_record(workflow, task));
        let mut entries = BTreeMap::new();
        for (task, bytes) in tasks.into_iter().zip(records) {
            let Some(bytes) = bytes? else {
                continue; // removed meanwhile
            };
            let entry = match record::decode(&bytes) {
                Err(reason) => Entry::Damaged(reason),
                Ok(record) => Entry::Stored {
                    fingerprint: record.header.fingerprint.unwrap_or_else(|| {
                        result_fingerprint(record.payload, &record.header.persistent_ids)
                    }),
                    key: record.header.key,
                    computed_because: record.header.reason,
                    created_ns: record.header.created_ns,
                },
            };
            entries.insert(task, entry);
        }
        let mut verdicts = BTreeMap::new();
        let mut nodes = Vec::new();
        for (task, entry) in &entries {
            if !pattern.matches(task) {
                continue;
            }
            let now = verdict_of(task, &entries, &mut verdicts);
            nodes.push(match entry {
                Entry::Damaged(_) => StoredNode {
                    task: task.clone(),
                    key: None,
                    computed_because: None,
                    created_ns: 0,
                    now,
                },
                Entry::Stored {
                    key,
                    computed_because,
                    created_ns,
                    ..
                } => StoredNode {
                    task: task.clone(),
                    key: key.clone(),
                    computed_because: computed_because.clone(),
                    created_ns: *created_ns,
                    now,
                },
            });
        }
        Ok(nodes)
    }
}

/// Memo of verdicts: `None` while being worked out (a cycle counts as
/// fresh).
type Verdicts = BTreeMap<String, Option<Option<Verdict>>>;

/// Whether `task` would be recomputed for its upstream results.
fn verdict_of(
    task: &str,
    entries: &BTreeMap<String, Entry>,
    verdicts: &mut Verdicts,
) -> Option<Verdict> {
    if let Some(known) = verdicts.get(task) {
        return known.clone().unwrap_or(Some(Verdict::Fresh));
    }
    verdicts.insert(task.to_owned(), None);
    let verdict = match entries.get(task) {
        None => Some(Verdict::Recompute(vec![Reason::NotStored])),
        Some(Entry::Damaged(reason)) => {
            Some(Verdict::Recompute(vec![Reason::Corrupt(reason.clone())]))
        }
        Some(Entry::Stored { key: None, .. }) => None,
        Some(Entry::Stored { key: Some(key), .. }) => {
            let mut reasons = Vec::new();
            for (upstream, used) in &key.upstream {
                let reason = match entries.get(upstream) {
                    None => Some(Reason::UpstreamMissing(upstream.clone())),
                    Some(Entry::Stored { fingerprint, .. }) if fingerprint != used => {
                        Some(Reason::UpstreamChanged(upstream.clone()))
                    }
                    Some(_) => match verdict_of(upstream, entries, verdicts) {
                        Some(Verdict::Recompute(_)) => {
                            Some(Reason::UpstreamStale(upstream.clone()))
                        }
                        _ => None,
                    },
                };
                reasons.extend(reason);
            }
            Some(if reasons.is_empty() {
                Verdict::Fresh
            } else {
                Verdict::Recompute(reasons)
            })
        }
    };
    verdicts.insert(task.to_owned(), Some(verdict.clone()));
    verdict
}

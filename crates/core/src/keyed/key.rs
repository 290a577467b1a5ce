//! [`NodeKey`]: what a keyed result was computed from, and [`Verdict`]:
//! whether a stored result still answers for it, and if not why.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::fingerprint::Fingerprint;
use crate::serializer::PersistentId;

/// What a keyed result was computed from; kept in its record's header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeKey {
    /// The code version the node was run with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The fingerprint of each named input.
    #[serde(default)]
    pub inputs: BTreeMap<String, Fingerprint>,
    /// The result fingerprint of each upstream task (of the same workflow)
    /// when this result was computed.
    #[serde(default)]
    pub upstream: BTreeMap<String, Fingerprint>,
}

impl NodeKey {
    /// Why a result stored with key `stored` does not answer for this key;
    /// empty when it does.
    pub fn differences(&self, stored: &Self) -> Vec<Reason> {
        let mut reasons = Vec::new();
        if self.version != stored.version {
            reasons.push(Reason::VersionChanged {
                from: stored.version.clone(),
                to: self.version.clone(),
            });
        }
        compare(
            &stored.inputs,
            &self.inputs,
            &mut reasons,
            [
                Reason::InputChanged,
                Reason::InputAdded,
                Reason::InputRemoved,
            ],
        );
        compare(
            &stored.upstream,
            &self.upstream,
            &mut reasons,
            [
                Reason::UpstreamChanged,
                Reason::UpstreamAdded,
                Reason::UpstreamRemoved,
            ],
        );
        reasons
    }
}

/// Adds a reason for each name whose fingerprint changed, appeared or
/// went away, with the constructors `[changed, added, removed]`.
fn compare(
    stored: &BTreeMap<String, Fingerprint>,
    now: &BTreeMap<String, Fingerprint>,
    reasons: &mut Vec<Reason>,
    [changed, added, removed]: [fn(String) -> Reason; 3],
) {
    for (name, print) in now {
        match stored.get(name) {
            Some(before) if before == print => {}
            Some(_) => reasons.push(changed(name.clone())),
            None => reasons.push(added(name.clone())),
        }
    }
    for name in stored.keys().filter(|name| !now.contains_key(*name)) {
        reasons.push(removed(name.clone()));
    }
}

/// Why a node is (or would be) computed rather than read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// No result is stored.
    NotStored,
    /// The stored record (or its big data) is damaged.
    Corrupt(String),
    /// The stored result was saved without a key (by `save` or `cached`),
    /// so nothing says what it was computed from.
    Unkeyed,
    /// The code version differs.
    VersionChanged {
        /// The stored result's version.
        from: Option<String>,
        /// The version asked for now.
        to: Option<String>,
    },
    /// This input's value differs.
    InputChanged(String),
    /// This input is new.
    InputAdded(String),
    /// This input is no longer given.
    InputRemoved(String),
    /// This upstream task's result differs from the one used.
    UpstreamChanged(String),
    /// This upstream task is new.
    UpstreamAdded(String),
    /// This upstream task is no longer named.
    UpstreamRemoved(String),
    /// This upstream task has no stored result.
    UpstreamMissing(String),
    /// This upstream task would itself be recomputed first
    /// ([`Storage::explain_workflow`](crate::Storage::explain_workflow),
    /// [`Node::dry_run`](crate::Node::dry_run)).
    UpstreamStale(String),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let version = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_owned());
        match self {
            Self::NotStored => f.write_str("not stored"),
            Self::Corrupt(reason) => write!(f, "record corrupt: {reason}"),
            Self::Unkeyed => f.write_str("stored without inputs or code version"),
            Self::VersionChanged { from, to } => {
                write!(f, "code version {} → {}", version(from), version(to))
            }
            Self::InputChanged(name) => write!(f, "input `{name}` changed"),
            Self::InputAdded(name) => write!(f, "input `{name}` is new"),
            Self::InputRemoved(name) => write!(f, "input `{name}` is gone"),
            Self::UpstreamChanged(task) => write!(f, "upstream `{task}` changed"),
            Self::UpstreamAdded(task) => write!(f, "upstream `{task}` is new"),
            Self::UpstreamRemoved(task) => write!(f, "upstream `{task}` is gone"),
            Self::UpstreamMissing(task) => write!(f, "upstream `{task}` is not stored"),
            Self::UpstreamStale(task) => write!(f, "upstream `{task}` will be recomputed"),
        }
    }
}

/// Whether a keyed node's stored result answers for its key now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Stored with the same inputs, version and upstream results: read.
    Fresh,
    /// Computed (or to be computed), for these reasons.
    Recompute(Vec<Reason>),
}

impl Verdict {
    /// Whether the stored result is (was) used.
    pub fn is_fresh(&self) -> bool {
        matches!(self, Self::Fresh)
    }

    /// The reasons to recompute; empty when fresh.
    pub fn reasons(&self) -> &[Reason] {
        match self {
            Self::Fresh => &[],
            Self::Recompute(reasons) => reasons,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fresh => f.write_str("stored, inputs and code unchanged"),
            Self::Recompute(reasons) => {
                let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
                f.write_str(&reasons.join("; "))
            }
        }
    }
}

/// The fingerprint of a stored result: its payload and the descriptions of
/// its persistent objects (their content checks, not their locations, which
/// are random), so that equal results fingerprint equal.
pub(crate) fn result_fingerprint(payload: &[u8], ids: &[PersistentId]) -> Fingerprint {
    let objects: Vec<_> = ids
        .iter()
        .map(|pid| (&pid.serializer, pid.version, &pid.protocol, &pid.metadata))
        .collect();
    // Encoding bytes, strings, numbers and JSON maps cannot fail.
    Fingerprint::of(&(serde_bytes::Bytes::new(payload), objects))
        .unwrap_or_else(|_| Fingerprint::of_bytes(payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_what_changed() {
        let print = |v: u8| Fingerprint::of(&v).unwrap();
        let stored = NodeKey {
            version: Some("1".into()),
            inputs: [("lr".to_owned(), print(1)), ("epochs".to_owned(), print(2))].into(),
            upstream: [("load".to_owned(), print(3))].into(),
        };
        assert!(stored.differences(&stored).is_empty());
        let now = NodeKey {
            version: Some("2".into()),
            inputs: [("lr".to_owned(), print(9)), ("seed".to_owned(), print(2))].into(),
            upstream: [("load".to_owned(), print(4))].into(),
        };
        let reasons: Vec<String> = now
            .differences(&stored)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            reasons,
            [
                "code version 1 → 2",
                "input `lr` changed",
                "input `seed` is new",
                "input `epochs` is gone",
                "upstream `load` changed",
            ]
        );
    }
}

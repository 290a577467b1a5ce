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

/// The metadata key under which a persistent serializer records a
/// fingerprint of the object's content (32 hex digits of XXH3-128), as the
/// ndarray serializer does.
pub const CONTENT_FINGERPRINT_KEY: &str = "xxh3";

/// The fingerprint of a stored result: its payload, canonicalized (maps
/// sorted, so a `HashMap` in the result fingerprints alike whatever its
/// order), and each persistent object's identity. An object whose id
/// records a content fingerprint ([`CONTENT_FINGERPRINT_KEY`]) counts by
/// it, with its serializer, element type and shape, so that equal results
/// fingerprint equal wherever they are stored (a copy from a folder to S3
/// included). Any other object counts by its location too: without a
/// content hash, two objects of equal description may differ.
pub(crate) fn result_fingerprint(payload: &[u8], ids: &[PersistentId]) -> Fingerprint {
    let payload =
        Fingerprint::of_msgpack(payload).unwrap_or_else(|_| Fingerprint::of_bytes(payload));
    let objects: Vec<serde_json::Value> = ids
        .iter()
        .map(|pid| match pid.metadata.get(CONTENT_FINGERPRINT_KEY) {
            Some(content) => serde_json::json!({
                "serializer": pid.serializer,
                "content": content,
                "dtype": pid.metadata.get("dtype"),
                "shape": pid.metadata.get("shape"),
            }),
            None => serde_json::json!({
                "serializer": pid.serializer,
                "version": pid.version,
                "protocol": pid.protocol,
                "location": pid.location,
                "metadata": pid.metadata,
            }),
        })
        .collect();
    // Encoding strings, numbers and JSON values cannot fail.
    Fingerprint::of(&(payload, objects)).unwrap_or(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(location: &str, metadata: &serde_json::Value) -> PersistentId {
        PersistentId {
            serializer: "s".into(),
            version: 1,
            location: location.into(),
            protocol: "file_protocol".into(),
            metadata: metadata.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn objects_count_by_content_when_they_say_it_else_by_location() {
        let payload = [0xd6, 0x46, 0, 0, 0, 0];
        let hashed = |location, format| {
            result_fingerprint(
                &payload,
                &[pid(
                    location,
                    &serde_json::json!({"xxh3": "ab", "dtype": "f8", "format": format}),
                )],
            )
        };
        assert_eq!(hashed("a.h5", "hdf5"), hashed("b.zarr", "zarr"));
        let described = |location| {
            result_fingerprint(&payload, &[pid(location, &serde_json::json!({"width": 3}))])
        };
        assert_ne!(described("a"), described("b"));
        // Map order in the payload does not count.
        let forward = rmp_serde::to_vec(
            &[("a", 1), ("b", 2)]
                .into_iter()
                .collect::<std::collections::BTreeMap<_, _>>(),
        )
        .unwrap();
        let mut backward = vec![0x82];
        backward.extend(rmp_serde::to_vec(&"b").unwrap());
        backward.push(2);
        backward.extend(rmp_serde::to_vec(&"a").unwrap());
        backward.push(1);
        assert_eq!(
            result_fingerprint(&forward, &[]),
            result_fingerprint(&backward, &[])
        );
    }

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

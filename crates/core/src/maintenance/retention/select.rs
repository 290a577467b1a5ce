//! Which results a [`Retention`] expires, decided from their times and
//! sizes alone (no storage involved, so every rule is tested here).

use std::cmp::Reverse;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::error::Result;
use crate::maintenance::retention::Retention;
use crate::storage::task_pattern;

/// Why a result expires: the first rule that expires it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Expiry {
    /// Saved longer ago than [`Retention::older_than`].
    OlderThan {
        /// The rule's age, in seconds.
        age_s: u64,
    },
    /// Older than the newest `keep` results of the tasks matching `pattern`.
    BeyondNewest {
        /// The rule's pattern.
        pattern: String,
        /// How many it keeps.
        keep: usize,
    },
    /// Least recently used while the workflow was over [`Retention::max_bytes`].
    OverSizeCap {
        /// The cap, in bytes.
        max_bytes: u64,
    },
}

/// One stored result, as the rules see it.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub(crate) task: String,
    /// When the record was written.
    pub(crate) saved: Option<SystemTime>,
    /// When it was last read or saved.
    pub(crate) used: Option<SystemTime>,
    /// Record and big data.
    pub(crate) bytes: u64,
}

/// The results of one workflow that `policy` expires at `now`, as indices
/// into `candidates` with the reason, in the order the rules found them.
pub(crate) fn select(
    candidates: &[Candidate],
    policy: &Retention,
    now: SystemTime,
) -> Result<Vec<(usize, Expiry)>> {
    let mut expiry: Vec<Option<Expiry>> = vec![None; candidates.len()];
    if let Some(age) = policy.older_than {
        let age_s = age.as_secs();
        for (slot, candidate) in expiry.iter_mut().zip(candidates) {
            // An unknown time is no reason to remove anything.
            if candidate.saved.is_some_and(|saved| older(now, saved, age)) {
                slot.get_or_insert(Expiry::OlderThan { age_s });
            }
        }
    }
    for rule in &policy.keep_newest {
        let pattern = task_pattern(&rule.pattern)?;
        let mut matching: Vec<usize> = (0..candidates.len())
            .filter(|&index| pattern.matches(&candidates[index].task))
            .collect();
        // Newest first; equal times by name, so the choice is repeatable.
        matching.sort_by_key(|&index| {
            let candidate = &candidates[index];
            (Reverse(candidate.saved), &candidate.task)
        });
        for &index in matching.iter().skip(rule.count) {
            expiry[index].get_or_insert(Expiry::BeyondNewest {
                pattern: rule.pattern.clone(),
                keep: rule.count,
            });
        }
    }
    if let Some(max_bytes) = policy.max_bytes {
        let mut kept: Vec<usize> = (0..candidates.len())
            .filter(|&index| expiry[index].is_none())
            .collect();
        let mut total: u64 = kept.iter().map(|&index| candidates[index].bytes).sum();
        // Least recently used first; unknown times count as oldest.
        kept.sort_by_key(|&index| (candidates[index].used, &candidates[index].task));
        for index in kept {
            if total <= max_bytes {
                break;
            }
            total -= candidates[index].bytes;
            expiry[index] = Some(Expiry::OverSizeCap { max_bytes });
        }
    }
    Ok(expiry
        .into_iter()
        .enumerate()
        .filter_map(|(index, expiry)| expiry.map(|expiry| (index, expiry)))
        .collect())
}

fn older(now: SystemTime, then: SystemTime, age: Duration) -> bool {
    now.duration_since(then).is_ok_and(|elapsed| elapsed > age)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::maintenance::retention::KeepNewest;

    const T0: SystemTime = SystemTime::UNIX_EPOCH;

    fn at(seconds: u64) -> SystemTime {
        T0 + Duration::from_secs(seconds)
    }

    fn candidate(task: &str, saved: u64, used: u64, bytes: u64) -> Candidate {
        Candidate {
            task: task.to_owned(),
            saved: Some(at(saved)),
            used: Some(at(used)),
            bytes,
        }
    }

    fn expired(candidates: &[Candidate], policy: &Retention, now: u64) -> Vec<(String, Expiry)> {
        let now = T0 + Duration::from_secs(now);
        let mut found: Vec<_> = select(candidates, policy, now)
            .unwrap()
            .into_iter()
            .map(|(index, why)| (candidates[index].task.clone(), why))
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    }

    #[test]
    fn no_rule_expires_nothing() {
        let candidates = [candidate("a", 1, 1, 10), candidate("b", 2, 2, 10)];
        assert!(expired(&candidates, &Retention::default(), 1000).is_empty());
    }

    #[test]
    fn older_than_goes_by_the_time_saved() {
        let candidates = [
            candidate("old", 100, 990, 1),
            candidate("new", 950, 950, 1),
            Candidate {
                saved: None,
                ..candidate("unknown", 0, 0, 1)
            },
        ];
        let policy = Retention {
            older_than: Some(Duration::from_mins(1)),
            ..Retention::default()
        };
        assert_eq!(
            expired(&candidates, &policy, 1000),
            [("old".to_owned(), Expiry::OlderThan { age_s: 60 })]
        );
    }

    #[test]
    fn keep_newest_keeps_the_newest_of_each_pattern() {
        let candidates = [
            candidate("ckpt-1", 10, 10, 1),
            candidate("ckpt-2", 20, 20, 1),
            candidate("ckpt-3", 30, 30, 1),
            candidate("model", 5, 5, 1),
        ];
        let policy = Retention {
            keep_newest: vec![KeepNewest::new("ckpt-*", 2)],
            ..Retention::default()
        };
        let beyond = Expiry::BeyondNewest {
            pattern: "ckpt-*".to_owned(),
            keep: 2,
        };
        assert_eq!(
            expired(&candidates, &policy, 100),
            [("ckpt-1".to_owned(), beyond)]
        );
        let keep_none = Retention {
            keep_newest: vec![KeepNewest::new("*", 0)],
            ..Retention::default()
        };
        assert_eq!(expired(&candidates, &keep_none, 100).len(), 4);
    }

    #[test]
    fn the_size_cap_evicts_the_least_recently_used() {
        // "a" was saved first but read last: "b" goes before it.
        let candidates = [
            candidate("a", 10, 90, 40),
            candidate("b", 20, 20, 40),
            candidate("c", 30, 30, 40),
        ];
        let policy = Retention {
            max_bytes: Some(80),
            ..Retention::default()
        };
        assert_eq!(
            expired(&candidates, &policy, 100),
            [("b".to_owned(), Expiry::OverSizeCap { max_bytes: 80 })]
        );
        // What other rules expire counts as gone already.
        let with_age = Retention {
            older_than: Some(Duration::from_secs(75)),
            ..policy
        };
        let found = expired(&candidates, &with_age, 100);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(matches!(found[0].1, Expiry::OlderThan { .. }));
        assert!(matches!(found[1].1, Expiry::OlderThan { .. }));
    }

    proptest! {
        /// Whatever the times and sizes, what the cap keeps fits under it,
        /// and everything it removes was used no later than all it keeps.
        #[test]
        fn the_size_cap_keeps_the_most_recent_that_fit(
            entries in proptest::collection::vec((0_u64..50, 0_u64..1000), 0..30),
            max_bytes in 0_u64..10_000,
        ) {
            let candidates: Vec<Candidate> = entries
                .iter()
                .enumerate()
                .map(|(index, &(used, bytes))| candidate(&format!("t{index:02}"), 0, used, bytes))
                .collect();
            let policy = Retention { max_bytes: Some(max_bytes), ..Retention::default() };
            let gone: Vec<usize> = select(&candidates, &policy, T0)
                .unwrap()
                .into_iter()
                .map(|(index, _)| index)
                .collect();
            let kept: Vec<&Candidate> = (0..candidates.len())
                .filter(|index| !gone.contains(index))
                .map(|index| &candidates[index])
                .collect();
            prop_assert!(kept.iter().map(|c| c.bytes).sum::<u64>() <= max_bytes);
            for &index in &gone {
                for keeper in &kept {
                    prop_assert!(candidates[index].used <= keeper.used);
                }
            }
        }
    }
}

//! [`Retention`]: which results a storage keeps.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::storage::task_pattern;

/// A retention policy for [`Storage::apply_retention`](crate::Storage::apply_retention):
/// the rules that expire results, and the workflows no rule touches.
///
/// A result expires when any rule says so. With no rule, nothing expires.
///
/// ```
/// use std::time::Duration;
/// use functionfuse_core::maintenance::{KeepNewest, Retention};
///
/// let policy = Retention {
///     older_than: Some(Duration::from_hours(24 * 30)),
///     keep_newest: vec![KeepNewest::new("checkpoint-*", 3)],
///     max_bytes: Some(50 << 30),
///     protect: vec!["production-*".to_owned()],
///     ..Retention::default()
/// };
/// assert!(!policy.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retention {
    /// Expire results saved longer ago than this.
    pub older_than: Option<Duration>,
    /// Of the tasks matching each glob pattern, keep the newest results
    /// and expire the rest (a task matching several patterns goes when any
    /// of them expires it).
    pub keep_newest: Vec<KeepNewest>,
    /// Cap on each workflow's results (records and their big data, in
    /// bytes): the least recently *used* results (read, or else saved)
    /// expire until the rest fit. Applied after the other rules.
    pub max_bytes: Option<u64>,
    /// Glob patterns of workflows never touched: neither by these rules
    /// nor by the garbage collection that `ffuse gc` runs with them.
    pub protect: Vec<String>,
    /// The time ages are measured from; `None`: now. A later time
    /// previews what the policy will expire then.
    pub now: Option<SystemTime>,
}

impl Retention {
    /// Whether the policy has no rule, and so expires nothing.
    pub fn is_empty(&self) -> bool {
        self.older_than.is_none() && self.keep_newest.is_empty() && self.max_bytes.is_none()
    }

    /// Whether `workflow` is protected.
    ///
    /// # Errors
    /// [`Error::InvalidPattern`] for a protection pattern that is not a glob.
    pub fn protects(&self, workflow: &str) -> Result<bool> {
        for pattern in &self.protect {
            if task_pattern(pattern)?.matches(workflow) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Checks every pattern once, before anything is removed.
    pub(crate) fn validate(&self) -> Result<()> {
        for pattern in self
            .protect
            .iter()
            .chain(self.keep_newest.iter().map(|rule| &rule.pattern))
        {
            task_pattern(pattern)?;
        }
        Ok(())
    }
}

/// Keep the newest `count` results among the tasks matching `pattern`
/// (a glob, as in `ffuse ls`); `PATTERN=COUNT` on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeepNewest {
    /// The tasks the rule is about.
    pub pattern: String,
    /// How many of them to keep, newest first.
    pub count: usize,
}

impl KeepNewest {
    /// Keep the newest `count` results of the tasks matching `pattern`.
    pub fn new(pattern: impl Into<String>, count: usize) -> Self {
        Self {
            pattern: pattern.into(),
            count,
        }
    }
}

impl fmt::Display for KeepNewest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.pattern, self.count)
    }
}

impl FromStr for KeepNewest {
    type Err = Error;

    /// Parses `PATTERN=COUNT`, e.g. `checkpoint-*=3`.
    fn from_str(text: &str) -> Result<Self> {
        let invalid = |reason: &str| Error::InvalidPattern {
            pattern: text.to_owned(),
            reason: format!("{reason}; write PATTERN=COUNT, e.g. 'checkpoint-*=3'"),
        };
        let (pattern, count) = text
            .rsplit_once('=')
            .ok_or_else(|| invalid("no `=COUNT`"))?;
        if pattern.is_empty() {
            return Err(invalid("no pattern before `=`"));
        }
        let count = count
            .trim()
            .parse()
            .map_err(|_| invalid("the count is not a whole number"))?;
        task_pattern(pattern)?;
        Ok(Self::new(pattern, count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_newest_parses_pattern_and_count() {
        let rule: KeepNewest = "checkpoint-*=3".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rule, KeepNewest::new("checkpoint-*", 3));
        assert_eq!(rule.to_string(), "checkpoint-*=3");
        // The last `=` splits: a pattern may hold one.
        let rule: KeepNewest = "a=b=1".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rule, KeepNewest::new("a=b", 1));
        for bad in ["checkpoint-*", "=3", "x=-1", "x=three", "[=1"] {
            let error = bad.parse::<KeepNewest>().err();
            assert!(
                matches!(error, Some(Error::InvalidPattern { .. })),
                "{bad}: {error:?}"
            );
        }
    }

    #[test]
    fn protection_matches_workflow_globs() {
        let policy = Retention {
            protect: vec!["prod-*".to_owned(), "keep".to_owned()],
            ..Retention::default()
        };
        assert!(policy.is_empty());
        assert!(policy.protects("prod-1").unwrap_or(false));
        assert!(policy.protects("keep").unwrap_or(false));
        assert!(!policy.protects("dev").unwrap_or(true));
        let bad = Retention {
            protect: vec!["[".to_owned()],
            ..Retention::default()
        };
        assert!(bad.validate().is_err());
    }
}

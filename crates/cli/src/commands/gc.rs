//! `gc`: retention by policy, then garbage collection.

use std::time::Duration;

use functionfuse::Storage;
use functionfuse::maintenance::{Expiry, GarbageKind, GcReport, Retention, RetentionReport};
use serde::Serialize;

use crate::Outcome;
use crate::cli::{Global, RetentionArgs};
use crate::output;
use crate::progress::Bars;
use crate::spec::{self, Missing};

/// The reports as JSON, with their totals.
#[derive(Serialize)]
struct Json<'a> {
    #[serde(flatten)]
    report: &'a GcReport,
    count: usize,
    bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    retention: Option<RetentionJson<'a>>,
}

#[derive(Serialize)]
struct RetentionJson<'a> {
    #[serde(flatten)]
    report: &'a RetentionReport,
    count: usize,
    bytes: u64,
}

pub(crate) fn run(
    global: &Global,
    workflows: &[String],
    dry_run: bool,
    grace: Duration,
    retention: RetentionArgs,
) -> anyhow::Result<Outcome> {
    let storage = spec::open(&global.storage, Missing::Refuse)?;
    super::existing_workflows(&storage, workflows)?;
    let policy = Retention {
        older_than: retention.older_than,
        keep_newest: retention.keep_newest,
        max_bytes: retention.max_size,
        protect: retention.protect,
        now: None,
    };
    let bars = Bars::new(global.json);
    let expired = if policy.is_empty() && policy.protect.is_empty() {
        None
    } else if dry_run {
        Some(storage.find_expired(workflows, &policy)?)
    } else {
        Some(storage.apply_retention(workflows, &policy, &bars)?)
    };
    let garbage = match unprotected(&storage, workflows, expired.as_ref())? {
        None => GcReport {
            removed: !dry_run,
            grace_s: grace.as_secs_f64(),
            ..GcReport::default()
        },
        Some(workflows) if dry_run => storage.find_garbage(&workflows, grace)?,
        Some(workflows) => storage.collect_garbage(&workflows, grace, &bars)?,
    };
    // Notes of a real run include objects that could not be removed.
    let failed = |notes: &[String]| !dry_run && !notes.is_empty();
    let outcome = Outcome::clean_if(
        !failed(&garbage.notes) && !expired.as_ref().is_some_and(|r| failed(&r.notes)),
    );
    if global.json {
        output::json(&Json {
            report: &garbage,
            count: garbage.count(),
            bytes: garbage.bytes(),
            retention: expired.as_ref().map(|report| RetentionJson {
                report,
                count: report.count(),
                bytes: report.bytes(),
            }),
        })?;
        return Ok(outcome);
    }
    let location = storage.backend().location();
    if let Some(report) = &expired {
        print_expired(report, &location)?;
    }
    print_garbage(&garbage, grace, &location)?;
    Ok(outcome)
}

/// The workflows garbage collection may touch: `None` when protection
/// leaves none; empty for all (and the storage's leftovers).
fn unprotected(
    storage: &Storage,
    workflows: &[String],
    expired: Option<&RetentionReport>,
) -> anyhow::Result<Option<Vec<String>>> {
    let protected = expired.map_or(&[][..], |report| report.protected.as_slice());
    if protected.is_empty() {
        return Ok(Some(workflows.to_vec()));
    }
    let named = if workflows.is_empty() {
        storage.workflows()?
    } else {
        workflows.to_vec()
    };
    let rest: Vec<String> = named
        .into_iter()
        .filter(|workflow| !protected.contains(workflow))
        .collect();
    Ok((!rest.is_empty()).then_some(rest))
}

fn print_expired(report: &RetentionReport, location: &str) -> anyhow::Result<()> {
    if !report.expired.is_empty() {
        let rows = report
            .expired
            .iter()
            .map(|result| {
                vec![
                    result.workflow.clone(),
                    result.task.clone(),
                    rule(&result.expiry),
                    output::size(result.bytes),
                    output::age(result.saved_ns),
                    output::age(result.used_ns),
                ]
            })
            .collect();
        out!(
            "{}",
            output::table(
                &["WORKFLOW", "TASK", "EXPIRED BY", "SIZE", "SAVED", "USED"],
                &[3],
                rows
            )
        );
    }
    for workflow in &report.protected {
        out!("protected: {workflow}");
    }
    let summary = Summary {
        removed: report.removed,
        count: report.count(),
        bytes: report.bytes(),
        notes: &report.notes,
    };
    summary.print("expired result", location)
}

/// The rule that expired a result, as the table shows it.
fn rule(expiry: &Expiry) -> String {
    match expiry {
        Expiry::OlderThan { age_s } => format!(
            "older than {}",
            humantime::format_duration(Duration::from_secs(*age_s))
        ),
        Expiry::BeyondNewest { pattern, keep } => format!("keep newest {keep} of {pattern}"),
        Expiry::OverSizeCap { max_bytes } => format!("size cap {}", output::size(*max_bytes)),
    }
}

fn print_garbage(report: &GcReport, grace: Duration, location: &str) -> anyhow::Result<()> {
    if !report.garbage.is_empty() {
        let rows = report
            .garbage
            .iter()
            .map(|g| {
                vec![
                    match g.kind {
                        GarbageKind::Orphan => "orphan",
                        GarbageKind::Temporary => "temporary",
                        GarbageKind::InterruptedRemoval => "interrupted removal",
                        GarbageKind::ExpiredLease => "expired lease",
                        GarbageKind::StaleAccessMark => "stale access mark",
                    }
                    .to_owned(),
                    g.workflow.clone().unwrap_or_else(|| "-".to_owned()),
                    g.path.clone(),
                    output::size(g.bytes),
                    output::age(g.modified_ns),
                ]
            })
            .collect();
        out!(
            "{}",
            output::table(&["KIND", "WORKFLOW", "PATH", "SIZE", "AGE"], &[3], rows)
        );
    }
    let summary = Summary {
        removed: report.removed,
        count: report.count(),
        bytes: report.bytes(),
        notes: &report.notes,
    };
    summary.print("unreferenced item", location)?;
    if report.young > 0 {
        out!(
            "kept {} younger than the grace period ({}): a save in progress may still commit them",
            output::count(report.young, "unreferenced item"),
            humantime::format_duration(grace)
        );
    }
    Ok(())
}

/// The last lines of a report: its notes, and what went or would go.
struct Summary<'a> {
    removed: bool,
    count: usize,
    bytes: u64,
    notes: &'a [String],
}

impl Summary<'_> {
    fn print(&self, what: &str, location: &str) -> anyhow::Result<()> {
        for note in self.notes {
            out!("note: {note}");
        }
        let verb = if self.removed {
            "removed"
        } else {
            "would remove"
        };
        out!(
            "{verb} {} ({}) from {location}",
            output::count(self.count, what),
            output::size(self.bytes),
        );
        Ok(())
    }
}

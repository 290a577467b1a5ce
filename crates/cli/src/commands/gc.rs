//! `gc`.

use std::time::Duration;

use functionfuse::maintenance::{GarbageKind, GcReport};
use serde::Serialize;

use crate::Outcome;
use crate::cli::Global;
use crate::output;
use crate::progress::Bars;
use crate::spec::{self, Missing};

/// The report as JSON, with its totals.
#[derive(Serialize)]
struct Json<'a> {
    #[serde(flatten)]
    report: &'a GcReport,
    count: usize,
    bytes: u64,
}

pub(crate) fn run(
    global: &Global,
    workflows: &[String],
    dry_run: bool,
    grace: Duration,
) -> anyhow::Result<Outcome> {
    let storage = spec::open(&global.storage, Missing::Refuse)?;
    super::existing_workflows(&storage, workflows)?;
    let report = if dry_run {
        storage.find_garbage(workflows, grace)?
    } else {
        storage.collect_garbage(workflows, grace, &Bars::new(global.json))?
    };
    // Notes of a real run include objects that could not be removed.
    let outcome = Outcome::clean_if(!report.removed || report.notes.is_empty());
    if global.json {
        output::json(&Json {
            report: &report,
            count: report.count(),
            bytes: report.bytes(),
        })?;
        return Ok(outcome);
    }
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
    for note in &report.notes {
        out!("note: {note}");
    }
    let verb = if report.removed {
        "removed"
    } else {
        "would remove"
    };
    out!(
        "{verb} {} ({}) from {}",
        output::count(report.count(), "unreferenced item"),
        output::size(report.bytes()),
        storage.backend().location()
    );
    if report.young > 0 {
        out!(
            "kept {} younger than the grace period ({}): a save in progress may still commit them",
            output::count(report.young, "unreferenced item"),
            humantime::format_duration(grace)
        );
    }
    Ok(outcome)
}

//! Printing: tables with human-readable sizes and times, or JSON.

use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use comfy_table::{CellAlignment, Table, presets};
use serde::Serialize;

/// Prints `value` as pretty JSON on stdout.
pub(crate) fn json(value: &impl Serialize) -> anyhow::Result<()> {
    // Rendered first so that a closed stdout is a plain I/O error.
    let text = serde_json::to_string_pretty(value)?;
    writeln!(std::io::stdout().lock(), "{text}")?;
    Ok(())
}

/// A size like `1.5 MiB`.
pub(crate) fn size(bytes: u64) -> String {
    humansize::format_size(bytes, humansize::BINARY)
}

/// A time like `2026-11-25T22:40:05Z`, from nanoseconds since the epoch.
pub(crate) fn time(ns: Option<u64>) -> String {
    ns.map_or_else(
        || "-".to_owned(),
        |ns| humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_nanos(ns)).to_string(),
    )
}

/// How long ago, like `3m 12s`, from nanoseconds since the epoch.
pub(crate) fn age(ns: Option<u64>) -> String {
    let Some(ns) = ns else {
        return "-".to_owned();
    };
    let then = UNIX_EPOCH + Duration::from_nanos(ns);
    let elapsed = SystemTime::now().duration_since(then).unwrap_or_default();
    humantime::format_duration(Duration::from_secs(elapsed.as_secs())).to_string()
}

/// A table with a header row, no borders; columns listed in `right` are
/// right-aligned (numbers, sizes).
pub(crate) fn table(header: &[&str], right: &[usize], rows: Vec<Vec<String>>) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_header(header.to_vec());
    for row in rows {
        table.add_row(row);
    }
    for &index in right {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    // comfy-table pads both edges; the first column needs no indent.
    table
        .lines()
        .map(|line| {
            line.strip_prefix(' ')
                .unwrap_or(&line)
                .trim_end()
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// "1 task", "2 tasks".
pub(crate) fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// A problem of a report as one line: `error: workflow/task (object): message`.
pub(crate) fn problem(problem: &functionfuse::maintenance::Problem) -> String {
    let severity = match problem.severity {
        functionfuse::maintenance::Severity::Error => "error",
        functionfuse::maintenance::Severity::Warning => "warning",
    };
    let place = match (&problem.task, &problem.object) {
        (Some(task), Some(object)) => format!("{}/{task} ({object})", problem.workflow),
        (Some(task), None) => format!("{}/{task}", problem.workflow),
        _ => problem.workflow.clone(),
    };
    format!("{severity}: {place}: {}", problem.message)
}

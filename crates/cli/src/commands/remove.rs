//! `rm` and `rm-workflow`.

use std::io::IsTerminal as _;

use anyhow::Context as _;
use functionfuse::maintenance::Progress as _;
use serde::Serialize;

use crate::Outcome;
use crate::cli::{Confirm, Global};
use crate::output;
use crate::progress::Bars;
use crate::spec::{self, Missing};

/// What a removal did (or would do, on a dry run).
#[derive(Debug, Serialize)]
struct Removal<'a> {
    workflow: &'a str,
    dry_run: bool,
    /// Tasks removed (or that would be).
    tasks: Vec<String>,
    /// Their records and big data.
    bytes: u64,
}

pub(crate) fn tasks(
    global: &Global,
    workflow: &str,
    pattern: &str,
    confirm: &Confirm,
) -> anyhow::Result<Outcome> {
    let storage = spec::open(&global.storage, Missing::Refuse)?;
    super::existing_workflow(&storage, workflow)?;
    let infos = storage.task_infos(workflow, pattern)?;
    let bytes = infos.iter().map(|i| i.record_bytes + i.bigdata_bytes).sum();
    let mut removal = Removal {
        workflow,
        dry_run: confirm.dry_run,
        tasks: infos.iter().map(|i| i.task.clone()).collect(),
        bytes,
    };
    let what = format!(
        "{} ({}) of workflow `{workflow}` in {}",
        output::count(removal.tasks.len(), "task"),
        output::size(bytes),
        storage.backend().location()
    );
    if removal.tasks.is_empty() || confirm.dry_run || !confirmed(confirm, &what)? {
        if !confirm.dry_run {
            removal.tasks.clear();
            removal.bytes = 0;
        }
        return report(global, &removal, &what);
    }
    let bars = Bars::new(global.json);
    bars.start("removing", removal.tasks.len() as u64, bytes);
    for info in &infos {
        storage
            .remove_task(workflow, &info.task)
            .with_context(|| format!("stopped after removing some of {what}"))?;
        bars.advance(1, info.record_bytes + info.bigdata_bytes);
    }
    bars.finish();
    report(global, &removal, &what)
}

pub(crate) fn workflow(
    global: &Global,
    workflow: &str,
    confirm: &Confirm,
) -> anyhow::Result<Outcome> {
    let storage = spec::open(&global.storage, Missing::Refuse)?;
    super::existing_workflow(&storage, workflow)?;
    let summary = storage.workflow_summary(workflow)?;
    let tasks = storage.list_tasks(workflow, "*")?;
    let mut removal = Removal {
        workflow,
        dry_run: confirm.dry_run,
        tasks,
        bytes: summary.total_bytes(),
    };
    let what = format!(
        "workflow `{workflow}` ({}, {}) from {}",
        output::count(summary.tasks, "task"),
        output::size(summary.total_bytes()),
        storage.backend().location()
    );
    if confirm.dry_run || !confirmed(confirm, &what)? {
        if !confirm.dry_run {
            removal.tasks.clear();
            removal.bytes = 0;
        }
        return report(global, &removal, &what);
    }
    storage.remove_workflow(workflow)?;
    report(global, &removal, &what)
}

/// Asks on the terminal unless `--yes`. Without a terminal on stdin (a
/// script, a pipe) there is no one to ask, and the command goes ahead; a
/// terminal whose stderr is redirected could not show the question, so
/// that needs `--yes`.
fn confirmed(confirm: &Confirm, what: &str) -> anyhow::Result<bool> {
    if confirm.yes || !std::io::stdin().is_terminal() {
        return Ok(true);
    }
    if !std::io::stderr().is_terminal() {
        anyhow::bail!(
            "not removing {what}: stderr is not a terminal, so the confirmation question \
             cannot be shown; pass --yes to remove without asking"
        );
    }
    dialoguer::Confirm::new()
        .with_prompt(format!("Remove {what}?"))
        .default(false)
        .interact()
        .context("cannot ask for confirmation (pass --yes to skip it)")
}

fn report(global: &Global, removal: &Removal<'_>, what: &str) -> anyhow::Result<Outcome> {
    if global.json {
        output::json(removal)?;
    } else if removal.dry_run {
        out!("would remove {what}:");
        for task in &removal.tasks {
            out!("  {task}");
        }
    } else if removal.tasks.is_empty() && removal.bytes == 0 {
        out!("nothing removed");
    } else {
        out!("removed {what}");
    }
    Ok(Outcome::Clean)
}

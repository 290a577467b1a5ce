//! `verify`.

use functionfuse::maintenance::Severity;

use crate::Outcome;
use crate::cli::Global;
use crate::output;
use crate::progress::Bars;
use crate::spec::{self, Missing};

pub(crate) fn run(global: &Global, workflows: &[String]) -> anyhow::Result<Outcome> {
    let storage = spec::open(&global.storage, Missing::Refuse)?;
    super::existing_workflows(&storage, workflows)?;
    let report = storage.verify(workflows, &Bars::new(global.json))?;
    let outcome = if report.is_ok() {
        Outcome::Clean
    } else {
        Outcome::Problems
    };
    if global.json {
        output::json(&report)?;
        return Ok(outcome);
    }
    for problem in &report.problems {
        let severity = match problem.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let place = match (&problem.task, &problem.object) {
            (Some(task), Some(object)) => format!("{}/{task} ({object})", problem.workflow),
            (Some(task), None) => format!("{}/{task}", problem.workflow),
            _ => problem.workflow.clone(),
        };
        out!("{severity}: {place}: {}", problem.message);
    }
    let errors = report
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    out!(
        "checked {} and {} ({}) in {}: {}",
        output::count(report.checked, "record"),
        output::count(report.objects, "persistent object"),
        output::size(report.bytes),
        output::count(report.workflows, "workflow"),
        if errors == 0 {
            "all intact".to_owned()
        } else {
            format!("found {}", output::count(errors, "problem"))
        }
    );
    Ok(outcome)
}

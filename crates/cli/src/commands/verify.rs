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
    let outcome = Outcome::clean_if(report.is_ok());
    if global.json {
        output::json(&report)?;
        return Ok(outcome);
    }
    for problem in &report.problems {
        out!("{}", output::problem(problem));
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

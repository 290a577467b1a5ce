//! `cp`.

use functionfuse::maintenance::Overwrite;

use crate::Outcome;
use crate::cli::Global;
use crate::output;
use crate::progress::Bars;
use crate::spec::{self, Missing};

pub(crate) fn run(
    global: &Global,
    source: &str,
    destination: &str,
    workflows: &[String],
    overwrite: bool,
) -> anyhow::Result<Outcome> {
    let from = spec::open(source, Missing::Refuse)?;
    super::existing_workflows(&from, workflows)?;
    let to = spec::open(destination, Missing::Create)?;
    let overwrite = if overwrite {
        Overwrite::Replace
    } else {
        Overwrite::Skip
    };
    let report = from.copy_workflows(&to, workflows, overwrite, &Bars::new(global.json))?;
    let outcome = Outcome::clean_if(report.problems.is_empty());
    if global.json {
        output::json(&report)?;
        return Ok(outcome);
    }
    for problem in &report.problems {
        out!("{}", output::problem(problem));
    }
    out!(
        "copied {} with {} ({}) in {} from {} to {}",
        output::count(report.copied, "task"),
        output::count(report.objects, "persistent object"),
        output::size(report.bytes),
        output::count(report.workflows, "workflow"),
        from.backend().location(),
        to.backend().location()
    );
    if report.skipped > 0 {
        out!(
            "skipped {} the destination already holds (--overwrite replaces them)",
            output::count(report.skipped, "task")
        );
    }
    if !report.problems.is_empty() {
        out!(
            "{} not copied; `ffuse verify` on the source says more",
            output::count(report.problems.len(), "task")
        );
    }
    Ok(outcome)
}

//! `explain`: what each stored task was computed from and why, and what a
//! run would recompute because an upstream result changed.

use functionfuse::Verdict;

use crate::Outcome;
use crate::cli::Global;
use crate::output;
use crate::spec::{self, Missing};

pub(crate) fn run(global: &Global, workflow: &str, pattern: &str) -> anyhow::Result<Outcome> {
    let storage = spec::open(&global.storage, Missing::Refuse)?;
    super::existing_workflow(&storage, workflow)?;
    let nodes = storage.explain_workflow(workflow, pattern)?;
    if global.json {
        output::json(&nodes)?;
        return Ok(Outcome::Clean);
    }
    if nodes.is_empty() {
        out!("no task of workflow `{workflow}` matches {pattern:?}");
        return Ok(Outcome::Clean);
    }
    let rows = nodes
        .iter()
        .map(|node| {
            let key = node.key.as_ref().map_or_else(
                || "-".to_owned(),
                |key| {
                    let mut parts = Vec::new();
                    if let Some(version) = &key.version {
                        parts.push(format!("version {version}"));
                    }
                    if !key.inputs.is_empty() {
                        let names: Vec<&str> = key.inputs.keys().map(String::as_str).collect();
                        parts.push(format!("inputs {}", names.join(", ")));
                    }
                    if !key.upstream.is_empty() {
                        let names: Vec<&str> = key.upstream.keys().map(String::as_str).collect();
                        parts.push(format!("upstream {}", names.join(", ")));
                    }
                    parts.join("; ")
                },
            );
            let now = match &node.now {
                None => "plain result, not keyed".to_owned(),
                Some(Verdict::Fresh) => "fresh".to_owned(),
                Some(verdict) => format!("recompute: {verdict}"),
            };
            vec![
                node.task.clone(),
                output::time(Some(node.created_ns).filter(|&ns| ns > 0)),
                node.computed_because
                    .clone()
                    .unwrap_or_else(|| "-".to_owned()),
                key,
                now,
            ]
        })
        .collect();
    out!(
        "{}",
        output::table(&["TASK", "COMPUTED", "BECAUSE", "KEY", "NOW"], &[], rows)
    );
    Ok(Outcome::Clean)
}

//! `workflows`, `ls` and `show`.

use std::io::Write as _;

use functionfuse::maintenance::view::ViewOptions;
use functionfuse::type_names;

use crate::Outcome;
use crate::cli::Global;
use crate::output;
use crate::spec::{self, Missing};

pub(crate) fn workflows(global: &Global) -> anyhow::Result<Outcome> {
    let storage = spec::open(&global.storage, Missing::Refuse)?;
    let summaries = storage
        .workflows()?
        .iter()
        .map(|workflow| storage.workflow_summary(workflow))
        .collect::<Result<Vec<_>, _>>()?;
    if global.json {
        output::json(&summaries)?;
        return Ok(Outcome::Clean);
    }
    if summaries.is_empty() {
        out!("no workflows in {}", storage.backend().location());
        return Ok(Outcome::Clean);
    }
    let rows = summaries
        .iter()
        .map(|s| {
            vec![
                s.workflow.clone(),
                s.tasks.to_string(),
                output::size(s.total_bytes()),
                output::time(s.last_modified_ns),
            ]
        })
        .collect();
    out!(
        "{}",
        output::table(&["WORKFLOW", "TASKS", "SIZE", "LAST CHANGE"], &[1, 2], rows)
    );
    Ok(Outcome::Clean)
}

pub(crate) fn ls(global: &Global, workflow: &str, pattern: &str) -> anyhow::Result<Outcome> {
    let storage = spec::open(&global.storage, Missing::Refuse)?;
    super::existing_workflow(&storage, workflow)?;
    let infos = storage.task_infos(workflow, pattern)?;
    if global.json {
        output::json(&infos)?;
        return Ok(Outcome::Clean);
    }
    if infos.is_empty() {
        out!("no task of workflow `{workflow}` matches {pattern:?}");
        return Ok(Outcome::Clean);
    }
    let rows = infos
        .iter()
        .map(|info| {
            vec![
                info.task.clone(),
                output::size(info.record_bytes),
                if info.bigdata_bytes == 0 {
                    "-".to_owned()
                } else {
                    output::size(info.bigdata_bytes)
                },
                output::time(info.created_ns),
                info.type_name.clone().unwrap_or_else(|| {
                    format!("unreadable: {}", info.unreadable.as_deref().unwrap_or("?"))
                }),
            ]
        })
        .collect();
    out!(
        "{}",
        output::table(
            &["TASK", "RECORD", "BIG DATA", "CREATED", "TYPE"],
            &[1, 2],
            rows
        )
    );
    Ok(Outcome::Clean)
}

pub(crate) fn show(
    global: &Global,
    workflow: &str,
    task: &str,
    raw: bool,
    all: bool,
) -> anyhow::Result<Outcome> {
    let storage = spec::open(&global.storage, Missing::Refuse)?;
    let options = if all {
        ViewOptions {
            max_items: usize::MAX,
            preview_bytes: 64,
        }
    } else {
        ViewOptions::default()
    };
    let detail = storage.inspect_task(workflow, task, &options)?;
    if raw {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&detail.payload_bytes)?;
        stdout.flush()?;
        return Ok(Outcome::Clean);
    }
    if global.json {
        output::json(&detail)?;
        return Ok(Outcome::Clean);
    }
    out!("workflow  {}", detail.workflow);
    out!("task      {}", detail.task);
    out!("type      {}", type_names::short(&detail.type_name));
    out!("created   {}", output::time(Some(detail.created_ns)));
    out!("record    {}", output::size(detail.record_bytes));
    if !detail.big_data.is_empty() {
        out!(
            "big data  {}",
            output::count(detail.big_data.len(), "object")
        );
        let rows = detail
            .big_data
            .iter()
            .enumerate()
            .map(|(index, object)| {
                let metadata = &object.pid.metadata;
                let field = |key: &str| {
                    metadata.get(key).map_or_else(
                        || "-".to_owned(),
                        |v| v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                };
                vec![
                    index.to_string(),
                    object.pid.serializer.clone(),
                    field("dtype"),
                    field("shape"),
                    field("format"),
                    object.pid.location.clone(),
                    if object.objects == 0 {
                        "MISSING".to_owned()
                    } else {
                        output::size(object.bytes)
                    },
                ]
            })
            .collect();
        let table = output::table(
            &[
                "#",
                "SERIALIZER",
                "DTYPE",
                "SHAPE",
                "FORMAT",
                "LOCATION",
                "SIZE",
            ],
            &[0, 6],
            rows,
        );
        for line in table.lines() {
            out!("  {line}");
        }
    }
    out!("payload");
    let mut payload = detail.payload;
    point_at_table(&mut payload);
    out!("{}", serde_json::to_string_pretty(&payload)?);
    Ok(Outcome::Clean)
}

/// Replaces each persistent reference in the payload by a short pointer to
/// its row of the big-data table (the JSON output keeps the whole reference).
fn point_at_table(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if map.len() == 1
                && let Some(index) = map.get("$persistent").and_then(|r| r.get("index"))
            {
                *value = serde_json::Value::String(format!("<big data #{index}>"));
                return;
            }
            map.values_mut().for_each(point_at_table);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(point_at_table),
        _ => {}
    }
}

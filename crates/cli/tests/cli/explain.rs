//! `ffuse explain`: why each keyed task was computed, and which a run
//! would recompute because an upstream result changed since.

use functionfuse::Storage;
use functionfuse::ndarray::Array1;
use serde_json::json;

use crate::common::{WF, open_folder, open_s3, run, run_json, s3_spec};

/// A chain load → scale → report, computed once, then `load` recomputed
/// with another input (as if run on its own).
fn chain(storage: &Storage) {
    let load = |rows: usize| {
        storage
            .node(WF, "load")
            .input("rows", &rows)
            .version("1")
            .run(|| Array1::<f64>::ones(rows))
            .unwrap()
    };
    let data = load(10);
    let scale = storage
        .node(WF, "scale")
        .upstream("load")
        .input("factor", &2.0)
        .version("1")
        .run(|| data.value.sum() * 2.0)
        .unwrap();
    storage
        .node(WF, "report")
        .upstream("scale")
        .version("1")
        .run(|| format!("{}", scale.value))
        .unwrap();
    storage.save(WF, "plain", &1_u8).unwrap();
    load(20);
}

#[test]
fn explain_says_why_and_what_a_run_would_recompute() {
    let folder = tempfile::tempdir().unwrap();
    let s3 = s3_spec();
    let specs = [folder.path().display().to_string(), s3.clone()];
    chain(&open_folder(folder.path()));
    chain(&open_s3(&s3));
    for spec in &specs {
        let nodes = run_json(&["-s", spec, "explain", WF], 0);
        let by_task = |task: &str| {
            nodes
                .as_array()
                .unwrap()
                .iter()
                .find(|node| node["task"] == task)
                .unwrap_or_else(|| panic!("{task} in {nodes}"))
                .clone()
        };
        let load = by_task("load");
        assert_eq!(load["computed_because"], "input `rows` changed", "{spec}");
        assert_eq!(load["now"], "fresh");
        assert_eq!(load["key"]["version"], "1");
        assert_eq!(by_task("scale")["now"], "upstream `load` changed", "{spec}");
        assert_eq!(by_task("scale")["computed_because"], "not stored");
        assert_eq!(
            by_task("report")["now"],
            "upstream `scale` will be recomputed",
            "{spec}"
        );
        assert_eq!(by_task("plain")["now"], json!(null));
        assert_eq!(by_task("plain")["key"], json!(null));

        let table = run(&["-s", spec, "explain", WF, "s*"], 0);
        assert!(
            table.contains("recompute: upstream `load` changed"),
            "{table}"
        );
        assert!(table.contains("inputs factor; upstream load"), "{table}");
        assert!(!table.contains("report"), "{table}");
    }
}

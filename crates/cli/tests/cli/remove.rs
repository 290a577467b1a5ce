//! `rm` and `rm-workflow`, with dry runs.

use crate::common::{WF, fill, open_folder, open_s3, run, run_json, s3_spec};
use functionfuse::Storage;

fn big_data_count(storage: &Storage) -> usize {
    storage
        .backend()
        .scan(WF)
        .unwrap()
        .iter()
        .filter(|object| object.path.starts_with("bigdata/"))
        .count()
}

fn removes(spec: &str, storage: &Storage) {
    let before = big_data_count(storage);
    assert!(before >= 2);
    let dry = run_json(&["-s", spec, "rm", WF, "[ms]*", "--dry-run"], 0);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["tasks"], serde_json::json!(["matrix", "summary"]));
    assert!(dry["bytes"].as_u64().unwrap() > 30 * 40 * 8);
    assert_eq!(
        storage.list_tasks(WF, "*").unwrap().len(),
        4,
        "a dry run removed tasks"
    );

    // No terminal: no prompt, as with --yes.
    let removed = run_json(&["-s", spec, "rm", WF, "[ms]*"], 0);
    assert_eq!(removed["tasks"], serde_json::json!(["matrix", "summary"]));
    assert_eq!(storage.list_tasks(WF, "*").unwrap(), ["label", "numbers"]);
    assert_eq!(big_data_count(storage), 0, "big data left behind");
    let none = run(&["-s", spec, "rm", WF, "zzz*", "--yes"], 0);
    assert!(
        none.contains("nothing removed") || none.contains("0 tasks"),
        "{none}"
    );

    let dry = run(&["-s", spec, "rm-workflow", WF, "--dry-run"], 0);
    assert!(
        dry.contains("would remove workflow `experiment` (2 tasks"),
        "{dry}"
    );
    let gone = run_json(&["-s", spec, "rm-workflow", WF, "--yes"], 0);
    assert_eq!(gone["tasks"], serde_json::json!(["label", "numbers"]));
    let workflows = run_json(&["-s", spec, "workflows"], 0);
    assert_eq!(workflows.as_array().unwrap().len(), 1);
    assert_eq!(workflows[0]["workflow"], "other");
    run(&["-s", spec, "rm-workflow", WF, "--yes"], 2);
}

#[test]
fn removes_tasks_and_workflows_on_files() {
    let folder = tempfile::tempdir().unwrap();
    let storage = open_folder(folder.path());
    fill(&storage);
    removes(folder.path().to_str().unwrap(), &storage);
}

#[test]
fn removes_tasks_and_workflows_on_s3() {
    let spec = s3_spec();
    let storage = open_s3(&spec);
    fill(&storage);
    removes(&spec, &storage);
}

/// On a terminal (here `script`'s pseudo-terminal) `rm` asks first: "n"
/// keeps everything, "y" removes.
#[test]
fn asks_before_removing_on_a_terminal() {
    use std::io::{Read as _, Write as _};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    let folder = tempfile::tempdir().unwrap();
    let storage = open_folder(folder.path());
    fill(&storage);
    let ffuse = assert_cmd::cargo::cargo_bin("ffuse");
    for (answer, left) in [("n", 4), ("y", 2)] {
        let command = format!(
            "{} -s {} rm {WF} '[ms]*'",
            ffuse.display(),
            folder.path().display()
        );
        let mut child = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("`script` (util-linux) runs commands on a terminal");
        let mut stdout = child.stdout.take().unwrap();
        let (sender, receiver) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut chunk = [0; 4096];
            while let Ok(n) = stdout.read(&mut chunk) {
                if n == 0 || sender.send(chunk[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        // Answer once the question is on the screen.
        let started = Instant::now();
        let mut screen = Vec::new();
        while !String::from_utf8_lossy(&screen).contains("Remove 2 tasks") {
            assert!(
                started.elapsed() < Duration::from_mins(1),
                "no question: {}",
                String::from_utf8_lossy(&screen)
            );
            if let Ok(chunk) = receiver.recv_timeout(Duration::from_millis(100)) {
                screen.extend(chunk);
            }
        }
        child
            .stdin
            .as_mut()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
        reader.join().unwrap();
        assert_eq!(
            storage.list_tasks(WF, "*").unwrap().len(),
            left,
            "answer {answer}"
        );
    }
}

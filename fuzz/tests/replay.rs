//! Every kept input of every fuzz target (the corpus, and every input that
//! once crashed a target) runs again here, as a normal test.

use std::path::Path;

#[test]
fn every_kept_input_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut replayed = 0;
    for (name, target) in functionfuse_fuzz::TARGETS {
        let mut seeds = 0;
        for kind in ["corpus", "crashes"] {
            let folder = root.join(kind).join(name);
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                {
                    continue;
                }
                let data = std::fs::read(&path).unwrap();
                let outcome = std::panic::catch_unwind(|| target(&data));
                assert!(
                    outcome.is_ok(),
                    "target `{name}` fails on {}",
                    path.display()
                );
                replayed += 1;
                seeds += usize::from(kind == "corpus");
            }
        }
        assert!(seeds > 0, "target `{name}` has no corpus");
    }
    println!("replayed {replayed} inputs");
}

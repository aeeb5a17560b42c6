//! The docs' `policy-sim-audit` examples are true: every `console` block of `README.md` and
//! `docs/*.md` is read with the core's rules (`tests/readme.rs`), and the commands of this
//! crate's binary are run here (the core's test runs those of `policy-sim`).

use std::path::{Path, PathBuf};

#[path = "../../../tests/console/mod.rs"]
mod console;

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

#[test]
fn the_audit_examples_print_what_the_docs_show() {
    let root = project();
    let programs: console::Programs = &[
        (
            "policy-sim-audit",
            Some(Path::new(env!("CARGO_BIN_EXE_policy-sim-audit"))),
        ),
        ("policy-sim", None),
    ];
    let mut names: Vec<String> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    names.sort();
    names.insert(0, "README.md".to_string());
    let mut failures = Vec::new();
    for name in names {
        let text = std::fs::read_to_string(root.join(&name)).unwrap();
        let (ran, drifted) = console::run_document_with(&root, &name, &text, programs);
        failures.extend(drifted);
        let least = match name.as_str() {
            "README.md" => 1,
            "docs/audit.md" => 3,
            _ => 0,
        };
        assert!(ran >= least, "{name}: only {ran} audit examples ran");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

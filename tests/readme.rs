//! The README's and the docs' examples are true: every block fenced as `console` in
//! `README.md` and `docs/*.md` is run and its output compared, every `json file=PATH` block
//! is compared with that file, and every repository path the docs name in backticks exists.
//! A drifted example is reported by its file and line (`docs/gate.md:12: ...`).
//!
//! In a `console` block, a line `$ policy-sim ARGS` (continued by a trailing `\`) runs the
//! binary from the repository root with standard input empty; the lines up to the next
//! `$` are what it prints, standard output and standard error together as a terminal
//! shows them. A line `...` stands for any number of lines, and `...` inside a line for
//! any text. The exit code is 0 unless the command ends with a comment `# exit N`.
//! `$ cd DIR` changes the directory for the block's next commands. A `$ policy-sim` line
//! in a block not fenced as `console` is an error: every example that can run, runs.

use std::path::{Path, PathBuf};

mod console;
use console::{blocks, line_matches, lines_match, run_document_with, words};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The documents whose examples run: the README, then `docs/*.md` in name order.
fn documents() -> Vec<(String, String)> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    names.sort();
    names.insert(0, "README.md".to_string());
    names
        .into_iter()
        .map(|n| {
            let text = std::fs::read_to_string(root().join(&n)).unwrap();
            (n, text)
        })
        .collect()
}

/// Run every console example of one document that runs this crate's binary (those of
/// `policy-sim-audit` are run by `crates/policy-sim-audit/tests/docs.rs`).
fn run_document(name: &str, text: &str) -> (usize, Vec<String>) {
    let programs: console::Programs = &[
        (
            "policy-sim",
            Some(Path::new(env!("CARGO_BIN_EXE_policy-sim"))),
        ),
        ("policy-sim-audit", None),
    ];
    run_document_with(&root(), name, text, programs)
}

#[test]
fn readme_examples_print_what_the_readme_shows() {
    let mut failures = Vec::new();
    for (name, text) in documents() {
        let (ran, drifted) = run_document(&name, &text);
        failures.extend(drifted);
        // The README has many examples; each doc that shows the CLI at work has some.
        let least = match name.as_str() {
            "README.md" => 8,
            "docs/gate.md"
            | "docs/prover.md"
            | "docs/templates.md"
            | "docs/catalog.md"
            | "docs/peers-policy-types.md" => 1,
            _ => 0,
        };
        assert!(ran >= least, "{name}: only {ran} examples ran");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn readme_files_shown_are_the_files() {
    let mut compared = 0;
    for (name, text) in documents() {
        for block in blocks(&name, &text) {
            let Some(path) = block
                .info
                .split_whitespace()
                .find_map(|w| w.strip_prefix("file="))
            else {
                continue;
            };
            let file = std::fs::read_to_string(root().join(path)).unwrap();
            assert_eq!(
                block.lines.join("\n"),
                file.trim_end_matches('\n'),
                "{name}:{}: the block shows {path} as it is",
                block.line
            );
            compared += 1;
        }
    }
    assert!(compared >= 1);
}

#[test]
fn wildcards() {
    assert!(line_matches("a ... b", "a x y b"));
    assert!(line_matches("a ...", "a "));
    assert!(!line_matches("a ...", "a"));
    assert!(!line_matches("a ... b", "a x y c"));
    assert!(line_matches("exact", "exact"));
    assert!(!line_matches("exact", "exactly"));
    let e = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(lines_match(&e(&["a", "...", "d"]), &["a", "b", "c", "d"]));
    assert!(lines_match(&e(&["a", "..."]), &["a"]));
    assert!(!lines_match(&e(&["a", "...", "d"]), &["a", "b"]));
    assert_eq!(
        words("policy-sim actions 's3:Get*' \"a b\"  # exit 1"),
        (
            e(&["policy-sim", "actions", "s3:Get*", "a b"]),
            Some("exit 1".to_string())
        )
    );
}

#[test]
fn a_drifted_example_fails_and_names_its_file_and_line() {
    let good = "Text.\n\n```console\n$ policy-sim actions s3:GetObject\ns3:GetObject\n```\n";
    assert_eq!(run_document("doc.md", good), (1, Vec::new()));

    // A changed expected line fails, at the command's line.
    let drifted = good.replace("s3:GetObject\n```", "s3:GetObjectAcl\n```");
    let (ran, failures) = run_document("doc.md", &drifted);
    assert_eq!(ran, 1);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].starts_with("doc.md:4: $ policy-sim actions s3:GetObject\n"),
        "{}",
        failures[0]
    );
    assert!(failures[0].contains("--- the example\ns3:GetObjectAcl\n--- printed\ns3:GetObject\n"));

    // So does a line more, a line less and a wrong exit code.
    let more = good.replace("s3:GetObject\n```", "s3:GetObject\ns3:GetObject\n```");
    assert_eq!(run_document("doc.md", &more).1.len(), 1);
    let less = good.replace("\ns3:GetObject\n```", "\n```");
    assert_eq!(run_document("doc.md", &less).1.len(), 1);
    let exit = good.replace("s3:GetObject\ns3", "s3:GetObject  # exit 1\ns3");
    let (_, failures) = run_document("doc.md", &exit);
    assert!(failures[0].contains("exit code Some(0), the example says 1"));

    // A command in a block not fenced as console is an error, not skipped.
    let sh = good.replace("```console", "```sh");
    let (ran, failures) = run_document("doc.md", &sh);
    assert_eq!(ran, 0);
    assert_eq!(
        failures,
        [
            "doc.md:4: a policy-sim command in a block fenced as \"sh\": fence it as console so that it runs"
        ]
    );
}

/// The folders a repository path in the docs starts with; `shared/` is none of the
/// repository's, where the tutorials once were: a doc naming it points nowhere.
const REPOSITORY_DIRS: [&str; 12] = [
    "shared/",
    "crates/",
    "policies/",
    "fixtures/",
    "docs/",
    "src/",
    "scripts/",
    "tests/",
    "benches/",
    "fuzz/",
    ".ci/",
    ".github/",
];

/// The repository paths a document names in backticks, with their line: a span that starts
/// with one of the repository's folders and ends with a file extension or `/`. Spans with
/// placeholders (`<target>`, `*`, `...`, `${...}`) or a colon (ARNs, `FILE:LINE`) are not
/// paths of one file.
fn named_paths(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut fenced = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        for span in line.split('`').skip(1).step_by(2) {
            let is_path = REPOSITORY_DIRS.iter().any(|d| span.starts_with(d))
                && !span.contains(|c: char| c.is_whitespace() || "<>*{}$:".contains(c))
                && !span.contains("...")
                && (span.ends_with('/')
                    || span
                        .rsplit('/')
                        .next()
                        .and_then(|last| last.rsplit_once('.'))
                        .is_some_and(|(stem, ext)| {
                            !stem.is_empty() && ext.chars().all(|c| c.is_ascii_alphanumeric())
                        }));
            if is_path {
                out.push((i + 1, span));
            }
        }
    }
    out
}

#[test]
fn every_path_the_docs_name_exists() {
    let mut documents = documents();
    let name = "policies/README.md".to_string();
    let text = std::fs::read_to_string(root().join(&name)).unwrap();
    documents.push((name, text));
    let mut missing = Vec::new();
    let mut checked = 0;
    for (name, text) in &documents {
        for (line, path) in named_paths(text) {
            checked += 1;
            if !root().join(path).exists() {
                missing.push(format!("{name}:{line}: `{path}` is not in the repository"));
            }
        }
    }
    assert_eq!(missing, Vec::<String>::new());
    assert!(checked >= 50, "only {checked} paths checked");
}

#[test]
fn named_paths_are_what_looks_like_a_repository_path() {
    let text = "See `docs/gate.md`, `src/report/`, `fixtures/x/a.json` and `tests/readme.rs`.\n\
                Not `policy-sim gate`, `arn:aws:s3:::b/k.txt`, `fuzz/corpus/<target>/`,\n\
                `policies/*.json`, `src/lib.rs:12`, `cdk.out`, `crates` or `docs/x y.md`.\n\
                ```sh\n`docs/in-a-block.md`\n```\n";
    assert_eq!(
        named_paths(text),
        [
            (1, "docs/gate.md"),
            (1, "src/report/"),
            (1, "fixtures/x/a.json"),
            (1, "tests/readme.rs")
        ]
    );
}

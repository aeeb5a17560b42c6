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

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

/// A fenced block: its info string, first line number (1-based) and lines.
struct Block<'a> {
    info: &'a str,
    line: usize,
    lines: Vec<&'a str>,
}

fn blocks<'a>(name: &str, text: &'a str) -> Vec<Block<'a>> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        match (open.take(), line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.trim(),
                    line: i + 2,
                    lines: Vec::new(),
                })
            }
            (None, None) => {}
            (Some(b), Some("")) => out.push(b),
            (Some(mut b), _) => {
                b.lines.push(line);
                open = Some(b);
            }
        }
    }
    if let Some(b) = open {
        panic!("{name}:{}: a code block is not closed", b.line - 1);
    }
    out
}

/// One command of a console block and what it prints.
struct Example {
    line: usize,
    command: String,
    expected: Vec<String>,
}

fn examples(name: &str, block: &Block) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut lines = block.lines.iter().enumerate();
    while let Some((i, line)) = lines.next() {
        if let Some(first) = line.strip_prefix("$ ") {
            let mut command = first.to_string();
            while command.ends_with('\\') {
                command.pop();
                let (_, next) = lines.next().unwrap_or_else(|| {
                    panic!("{name}:{}: a command ends with `\\`", block.line + i)
                });
                command.push(' ');
                command.push_str(next.trim_start());
            }
            out.push(Example {
                line: block.line + i,
                command,
                expected: Vec::new(),
            });
        } else {
            let example = out
                .last_mut()
                .unwrap_or_else(|| panic!("{name}:{}: output before any command", block.line));
            example.expected.push(line.to_string());
        }
    }
    out
}

/// Shell words: quotes group, `#` starts a comment (returned apart).
fn words(command: &str) -> (Vec<String>, Option<String>) {
    let mut out = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                let w = word.get_or_insert_with(String::new);
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    w.push(q);
                }
            }
            '#' if word.is_none() => {
                let comment: String = chars.collect();
                return (out, Some(comment.trim().to_string()));
            }
            c if c.is_whitespace() => out.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    out.extend(word);
    (out, None)
}

/// Run the binary; standard output and standard error through one pipe, in order.
fn run(args: &[String], dir: &Path) -> (String, Option<i32>) {
    let (mut reader, writer) = std::io::pipe().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_policy-sim"));
    command
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(writer.try_clone().unwrap())
        .stderr(writer);
    // The renderer's choices follow the terminal; pin them to a plain pipe's.
    for var in [
        "FORCE_COLOR",
        "CLICOLOR_FORCE",
        "IGNORE_IS_TERMINAL",
        "NO_GRAPHICS",
        "FORCE_HYPERLINK",
    ] {
        command.env_remove(var);
    }
    let mut child = command.spawn().unwrap();
    drop(command);
    let mut out = Vec::new();
    reader.read_to_end(&mut out).unwrap();
    let status = child.wait().unwrap();
    (String::from_utf8_lossy(&out).into_owned(), status.code())
}

/// Does `actual` match `pattern`, where `...` is any text?
fn line_matches(pattern: &str, actual: &str) -> bool {
    let mut parts = pattern.split("...");
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = actual.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// Do the lines match, where a line `...` is any number of lines?
fn lines_match(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((e, rest)) if e.trim() == "..." => {
            (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..]))
        }
        Some((e, rest)) => actual
            .split_first()
            .is_some_and(|(a, more)| line_matches(e, a) && lines_match(rest, more)),
    }
}

fn trimmed<T: AsRef<str>>(lines: &[T]) -> &[T] {
    let end = lines
        .iter()
        .rposition(|l| !l.as_ref().trim().is_empty())
        .map_or(0, |i| i + 1);
    &lines[..end]
}

/// Run one example; `None` when it holds, else what went wrong.
fn check(example: &Example, dir: &Path) -> Option<String> {
    let (args, comment) = words(&example.command);
    let code = match comment.as_deref().and_then(|c| c.strip_prefix("exit ")) {
        Some(n) => n.trim().parse().expect("`# exit N` names a number"),
        None => 0,
    };
    let Some(("policy-sim", args)) = args.split_first().map(|(p, a)| (p.as_str(), a)) else {
        return Some(format!("not a policy-sim command: {}", example.command));
    };
    let (output, status) = run(args, dir);
    let actual: Vec<&str> = output.lines().collect();
    let expected = trimmed(&example.expected);
    if status == Some(code) && lines_match(expected, trimmed(&actual)) {
        return None;
    }
    Some(format!(
        "$ {}\nexit code {status:?}, the example says {code}\n--- the example\n{}\n--- printed\n{output}",
        example.command,
        expected.join("\n")
    ))
}

/// Run every console example of one document; how many ran, and what drifted, each
/// failure starting `NAME:LINE: `.
fn run_document(name: &str, text: &str) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    let mut ran = 0;
    for block in blocks(name, text) {
        let kind = block.info.split_whitespace().next().unwrap_or("");
        if kind != "console" {
            if let Some(i) = block
                .lines
                .iter()
                .position(|l| l.trim_start().starts_with("$ policy-sim"))
            {
                failures.push(format!(
                    "{name}:{}: a policy-sim command in a block fenced as {kind:?}: fence it as console so that it runs",
                    block.line + i
                ));
            }
            continue;
        }
        let mut dir = root();
        for example in examples(name, &block) {
            if let Some(to) = example.command.strip_prefix("cd ") {
                dir = dir.join(to.trim());
                continue;
            }
            ran += 1;
            if let Some(why) = check(&example, &dir) {
                failures.push(format!("{name}:{}: {why}", example.line));
            }
        }
    }
    (ran, failures)
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
const REPOSITORY_DIRS: [&str; 11] = [
    "shared/",
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
                `policies/*.json`, `src/lib.rs:12`, `cdk.out`, `crates/` or `docs/x y.md`.\n\
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

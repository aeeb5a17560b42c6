//! The README's examples are true: every block fenced as `console` is run and its output
//! compared, and every `json file=PATH` block is compared with that file.
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

/// A fenced block: its info string, first line number (1-based) and lines.
struct Block<'a> {
    info: &'a str,
    line: usize,
    lines: Vec<&'a str>,
}

fn blocks(text: &str) -> Vec<Block<'_>> {
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
    assert!(open.is_none(), "README.md: a code block is not closed");
    out
}

/// One command of a console block and what it prints.
struct Example {
    line: usize,
    command: String,
    expected: Vec<String>,
}

fn examples(block: &Block) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut lines = block.lines.iter().enumerate();
    while let Some((i, line)) = lines.next() {
        if let Some(first) = line.strip_prefix("$ ") {
            let mut command = first.to_string();
            while command.ends_with('\\') {
                command.pop();
                let (_, next) = lines.next().expect("a continued command goes on");
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
                .unwrap_or_else(|| panic!("README.md:{}: output before any command", block.line));
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
        "$ {}\nexit code {status:?}, README says {code}\n--- README\n{}\n--- printed\n{output}",
        example.command,
        expected.join("\n")
    ))
}

#[test]
fn readme_examples_print_what_the_readme_shows() {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut failures = Vec::new();
    let mut ran = 0;
    for block in blocks(&text) {
        let kind = block.info.split_whitespace().next().unwrap_or("");
        if kind != "console" {
            if let Some(i) = block
                .lines
                .iter()
                .position(|l| l.starts_with("$ policy-sim"))
            {
                failures.push(format!(
                    "README.md:{}: a policy-sim command in a block fenced as {kind:?}: fence it as console so that it runs",
                    block.line + i
                ));
            }
            continue;
        }
        let mut dir = root();
        for example in examples(&block) {
            if let Some(to) = example.command.strip_prefix("cd ") {
                dir = dir.join(to.trim());
                continue;
            }
            ran += 1;
            if let Some(why) = check(&example, &dir) {
                failures.push(format!("README.md:{}: {why}", example.line));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(ran >= 8, "only {ran} README examples ran");
}

#[test]
fn readme_files_shown_are_the_files() {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut compared = 0;
    for block in blocks(&text) {
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
            "README.md:{}: the block shows {path} as it is",
            block.line
        );
        compared += 1;
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

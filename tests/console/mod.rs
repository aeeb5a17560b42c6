//! Running the `console` examples of the docs (see `tests/readme.rs`, which states the
//! rules): shared by the core's test and the audit crate's (each runs the examples of its
//! own binary, and leaves the other's to the other).
#![allow(dead_code)]

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

/// A fenced block: its info string, first line number (1-based) and lines.
pub struct Block<'a> {
    /// The info string after the opening fence.
    pub info: &'a str,
    /// The first line's number.
    pub line: usize,
    /// The lines.
    pub lines: Vec<&'a str>,
}

pub fn blocks<'a>(name: &str, text: &'a str) -> Vec<Block<'a>> {
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
pub fn words(command: &str) -> (Vec<String>, Option<String>) {
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

/// Run `binary`; standard output and standard error through one pipe, in order.
fn run(binary: &Path, args: &[String], dir: &Path) -> (String, Option<i32>) {
    let (mut reader, writer) = std::io::pipe().unwrap();
    let mut command = Command::new(binary);
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
pub fn line_matches(pattern: &str, actual: &str) -> bool {
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
pub fn lines_match(expected: &[String], actual: &[&str]) -> bool {
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

/// The programs a test runs examples of: each name with its binary, or `None` for a
/// program whose examples another crate's test runs (they are skipped here).
pub type Programs<'a> = &'a [(&'a str, Option<&'a Path>)];

/// What checking one example gave.
enum Checked {
    /// It holds.
    Holds,
    /// Another crate's test runs it.
    Elsewhere,
    /// It drifted: what went wrong.
    Drifted(String),
}

/// Run one example.
fn check(example: &Example, dir: &Path, programs: Programs) -> Checked {
    let (args, comment) = words(&example.command);
    let code = match comment.as_deref().and_then(|c| c.strip_prefix("exit ")) {
        Some(n) => n.trim().parse().expect("`# exit N` names a number"),
        None => 0,
    };
    let found = args.split_first().and_then(|(p, a)| {
        programs
            .iter()
            .find(|(name, _)| name == p)
            .map(|(_, binary)| (*binary, a))
    });
    let Some((binary, args)) = found else {
        return Checked::Drifted(format!("not a policy-sim command: {}", example.command));
    };
    let Some(binary) = binary else {
        return Checked::Elsewhere;
    };
    let (output, status) = run(binary, args, dir);
    let actual: Vec<&str> = output.lines().collect();
    let expected = trimmed(&example.expected);
    if status == Some(code) && lines_match(expected, trimmed(&actual)) {
        return Checked::Holds;
    }
    Checked::Drifted(format!(
        "$ {}\nexit code {status:?}, the example says {code}\n--- the example\n{}\n--- printed\n{output}",
        example.command,
        expected.join("\n")
    ))
}

/// Run every console example of one document whose program is in `programs`; how many
/// ran, and what drifted, each failure starting `NAME:LINE: `. Commands run in `root`
/// (the repository) unless a `$ cd DIR` says otherwise.
pub fn run_document_with(
    root: &Path,
    name: &str,
    text: &str,
    programs: Programs,
) -> (usize, Vec<String>) {
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
        let mut dir = root.to_path_buf();
        for example in examples(name, &block) {
            if let Some(to) = example.command.strip_prefix("cd ") {
                dir = dir.join(to.trim());
                continue;
            }
            match check(&example, &dir, programs) {
                Checked::Holds => ran += 1,
                Checked::Elsewhere => {}
                Checked::Drifted(why) => {
                    ran += 1;
                    failures.push(format!("{name}:{}: {why}", example.line));
                }
            }
        }
    }
    (ran, failures)
}

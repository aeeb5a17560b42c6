//! Every command's `--help`: its usage, its exit codes and its examples. Each example in
//! every help is run from the repository root and must exit with a code its help lists
//! (and not 2), so the examples cannot drift from what the binary does.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_policy-sim"))
        .args(args)
        .current_dir(dir)
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn run(args: &[&str]) -> Output {
    run_in(&root(), args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The commands that do the work: every leaf of the command tree.
const COMMANDS: &[&[&str]] = &[
    &["check"],
    &["show"],
    &["prove", "isolation"],
    &["gate"],
    &["report"],
    &["lint"],
    &["actions"],
    &["fuzz", "isolation"],
    &["generate-requests"],
    &["completions"],
    &["man"],
];

/// The `--help` of a command.
fn help(command: &[&str]) -> String {
    let mut args = command.to_vec();
    args.push("--help");
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{command:?}: {}", stderr(&o));
    stdout(&o)
}

/// The lines of the section `title` (up to the next blank line), without their indent.
fn section<'a>(help: &'a str, title: &str) -> Vec<&'a str> {
    let mut lines = help.lines().skip_while(|l| *l != title);
    assert!(lines.next().is_some(), "no {title:?} section in:\n{help}");
    lines
        .take_while(|l| !l.is_empty())
        .map(|l| {
            l.strip_prefix("  ")
                .unwrap_or_else(|| panic!("{title} line not indented: {l:?}"))
        })
        .collect()
}

/// The exit codes a help lists (`  0    Allow ...`).
fn exit_codes(help: &str) -> Vec<i32> {
    section(help, "Exit codes:")
        .iter()
        .map(|l| {
            l.split_whitespace()
                .next()
                .and_then(|c| c.parse().ok())
                .unwrap_or_else(|| panic!("not an exit code line: {l:?}"))
        })
        .collect()
}

/// Shell words: single quotes group; `> FILE` redirects standard output. Anything else a
/// shell would interpret is refused, so that an example the test cannot run as a shell
/// would is not run some other way.
fn words(example: &str) -> (Vec<String>, Option<String>) {
    let mut out = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = example.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    w.push(q);
                }
            }
            '"' | '|' | '<' | '&' | ';' | '$' | '`' | '(' | ')' | '*' | '?' | '#' | '\\' => {
                panic!("{example}: {c:?} outside single quotes is not supported here")
            }
            c if c.is_whitespace() => out.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    out.extend(word);
    let redirect = match out.iter().position(|w| w == ">") {
        Some(at) => {
            assert_eq!(at + 2, out.len(), "{example}: `> FILE` ends the command");
            let file = out.pop();
            out.pop();
            file
        }
        None => None,
    };
    (out, redirect)
}

/// The flags whose value is a file or directory an example writes: the test writes it
/// into a scratch directory instead of the repository.
const WRITES: &[&str] = &["--sarif", "--junit", "--dir", "--html"];

#[test]
fn every_help_example_runs_and_exits_with_a_listed_code() {
    let scratch = std::env::temp_dir().join(format!("policy-sim-help-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    let mut ran = 0;
    for command in COMMANDS {
        let help = help(command);
        let codes = exit_codes(&help);
        assert!(
            !codes.contains(&0) || codes.contains(&2),
            "{command:?}: exit 2 (invalid input) is not listed"
        );
        let examples = section(&help, "Examples:");
        assert!(
            examples.len() >= 2,
            "{command:?}: fewer than two examples:\n{help}"
        );
        for example in examples {
            let (mut args, redirect) = words(example);
            assert_eq!(args[0], "policy-sim", "{example}");
            args.remove(0);
            assert!(
                args.starts_with(&command.iter().map(|c| c.to_string()).collect::<Vec<_>>()),
                "{command:?}: an example of another command: {example}"
            );
            let mut written = Vec::new();
            for i in 1..args.len() {
                if WRITES.contains(&args[i - 1].as_str()) {
                    let target = scratch.join(format!("{ran}-{}", i));
                    args[i] = target.display().to_string();
                    written.push(target);
                }
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = run(&args);
            let code = o.status.code();
            assert!(
                code.is_some_and(|c| c != 2 && codes.contains(&c)),
                "{example}: exit {code:?}, not one of {codes:?} other than 2\n{}",
                stderr(&o)
            );
            if redirect.is_some() {
                assert!(!o.stdout.is_empty(), "{example}: printed nothing");
            }
            for path in written {
                assert!(path.exists(), "{example}: wrote nothing to {path:?}");
            }
            ran += 1;
        }
    }
    assert!(ran >= 2 * COMMANDS.len());
    let _ = std::fs::remove_dir_all(&scratch);
}

#[test]
fn every_command_lists_its_exit_codes() {
    let expected: &[(&[&str], &[i32])] = &[
        (&["check"], &[0, 1, 2, 141]),
        (&["show"], &[0, 2, 141]),
        (&["prove", "isolation"], &[0, 1, 2, 3, 141]),
        (&["gate"], &[0, 1, 2, 141]),
        (&["report"], &[0, 2, 141]),
        (&["lint"], &[0, 1, 2, 141]),
        (&["actions"], &[0, 1, 2, 141]),
        (&["fuzz", "isolation"], &[0, 1, 2, 141]),
        (&["generate-requests"], &[0, 2, 141]),
        (&["completions"], &[0, 2, 141]),
        (&["man"], &[0, 2, 141]),
    ];
    assert_eq!(expected.len(), COMMANDS.len());
    for (command, codes) in expected {
        assert_eq!(exit_codes(&help(command)), *codes, "{command:?}");
    }
}

#[test]
fn usage_lines_mark_what_is_required() {
    let usage = |command: &[&str]| -> String {
        let help = help(command);
        let start = help.find("Usage: ").expect("a usage line");
        let end = help[start..].find("\n\n").map_or(help.len(), |e| start + e);
        help[start..end].to_string()
    };
    assert_eq!(
        usage(&["check"]),
        "Usage: policy-sim check [OPTIONS] <--policy <FILE>|--template <FILE>> --action <ACTION> --resource <ARN>\n       \
         policy-sim check [OPTIONS] <--policy <FILE>|--template <FILE>> --requests <FILE>"
    );
    for (command, name) in [
        (&["lint"][..], "lint"),
        (&["prove", "isolation"], "prove isolation"),
        (&["fuzz", "isolation"], "fuzz isolation"),
    ] {
        assert_eq!(
            usage(command),
            format!("Usage: policy-sim {name} [OPTIONS] <--policy <FILE>|--template <FILE>>")
        );
    }
    assert_eq!(
        usage(&["show"]),
        "Usage: policy-sim show [OPTIONS] --template <FILE>"
    );
    assert_eq!(
        usage(&["actions"]),
        "Usage: policy-sim actions [OPTIONS] <PATTERNS>..."
    );
    assert_eq!(
        usage(&["completions"]),
        "Usage: policy-sim completions [OPTIONS] <SHELL>"
    );
    // Flags required only in some combination say so in their help.
    let check = help(&["check"]);
    for flag in ["--action <ACTION>", "--resource <ARN>"] {
        let line = check
            .lines()
            .find(|l| l.trim_start().starts_with(flag))
            .unwrap();
        assert!(
            line.ends_with("Required unless --requests is given"),
            "{line}"
        );
    }
}

#[test]
fn lint_role_help_speaks_of_lint_not_the_cognito_flow() {
    let lint = help(&["lint"]);
    assert!(
        lint.contains("The role whose policies are linted"),
        "{lint}"
    );
    assert!(!lint.contains("Cognito flow"), "{lint}");
    assert!(!lint.contains("standard input;"), "{lint}");
    // lint refuses --principal and --resource-account: they are not offered.
    assert!(!lint.contains("--principal"), "{lint}");
    assert!(!lint.contains("--resource-account"), "{lint}");
    // check keeps its own wording.
    assert!(help(&["check"]).contains("naming a role skips the Cognito flow"));
}

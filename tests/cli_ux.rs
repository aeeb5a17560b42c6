//! The command line as a person meets it: colours on a terminal (and none in a pipe),
//! shell completions, man pages, and the combinations of flags it refuses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run the binary from `dir` with the colour variables cleared, then `env` set.
fn run_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_policy-sim"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn run(args: &[&str]) -> Output {
    run_env(&root(), args, &[])
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scratch directory of this test binary, empty.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("policy-sim-ux-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const GREEN: &str = "\x1b[1m\x1b[32m";
const RED: &str = "\x1b[1m\x1b[31m";
const YELLOW: &str = "\x1b[1m\x1b[33m";
const CYAN: &str = "\x1b[1m\x1b[36m";
const RESET: &str = "\x1b[0m";

/// `text` without the colour codes this binary writes.
fn plain(text: &str) -> String {
    [GREEN, RED, YELLOW, CYAN, RESET]
        .iter()
        .fold(text.to_string(), |t, code| t.replace(code, ""))
}

const CHECK_ALLOW: &[&str] = &[
    "check",
    "--policy",
    "policies/console-auth-role.json",
    "--identity",
    "us-east-1:abc",
    "--action",
    "s3:GetObject",
    "--resource",
    "arn:aws:s3:::notes-app-uploads/us-east-1:abcd/secret.txt",
];

#[test]
fn colour_marks_the_decision_word_only_when_asked() {
    let piped = run(CHECK_ALLOW);
    assert_eq!(piped.status.code(), Some(0), "{}", stderr(&piped));
    let text = stdout(&piped);
    assert!(text.starts_with("Decision: Allow\n"), "{text}");
    assert!(!text.contains('\x1b'), "{text}");

    let forced = run_env(&root(), CHECK_ALLOW, &[("CLICOLOR_FORCE", "1")]);
    assert_eq!(forced.status.code(), Some(0));
    let coloured = stdout(&forced);
    assert!(
        coloured.starts_with(&format!("Decision: {GREEN}Allow{RESET}\n")),
        "{coloured:?}"
    );
    // Only the decision word: the rest is the piped text, byte for byte.
    assert_eq!(coloured.matches('\x1b').count(), 3, "{coloured:?}");
    assert_eq!(plain(&coloured), text);

    for env in [
        &[("NO_COLOR", "1")][..],
        &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")],
        &[("CLICOLOR", "0")],
    ] {
        let o = run_env(&root(), CHECK_ALLOW, env);
        assert_eq!(stdout(&o), text, "{env:?}");
    }

    // A deny, a verdict.
    let deny = run_env(
        &root(),
        &[
            "check",
            "--policy",
            "policies/corrected-auth-role.json",
            "--action",
            "s3:PutBucketPolicy",
            "--resource",
            "arn:aws:s3:::notes-app-uploads",
        ],
        &[("CLICOLOR_FORCE", "1")],
    );
    assert_eq!(deny.status.code(), Some(1));
    assert!(stdout(&deny).starts_with(&format!("Decision: {RED}ImplicitDeny{RESET}\n")));
    let proof = run_env(
        &root(),
        &[
            "prove",
            "isolation",
            "--policy",
            "policies/console-auth-role.json",
            "--identity-format",
            "opaque",
        ],
        &[("CLICOLOR_FORCE", "1")],
    );
    assert_eq!(proof.status.code(), Some(1));
    assert!(stdout(&proof).starts_with(&format!("Verdict: {RED}violated{RESET}\n")));

    // JSON never takes colour.
    let mut json = CHECK_ALLOW.to_vec();
    json.extend(["--format", "json"]);
    let o = run_env(&root(), &json, &[("CLICOLOR_FORCE", "1")]);
    assert!(!stdout(&o).contains('\x1b'), "{}", stdout(&o));
}

#[test]
fn colour_marks_lint_severities_and_gate_results() {
    let args = ["lint", "--policy", "policies/console-auth-role.json"];
    let piped = stdout(&run(&args));
    let o = run_env(&root(), &args, &[("CLICOLOR_FORCE", "1")]);
    assert_eq!(o.status.code(), Some(1));
    let coloured = stdout(&o);
    assert_eq!(plain(&coloured), piped);
    let severities: Vec<&str> = coloured
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_once(" PS0").map(|(_, rest)| &rest[3..]))
        .map(|rest| rest.split_once(':').unwrap().0)
        .collect();
    assert_eq!(
        severities,
        [
            format!("{RED}error{RESET}"),
            format!("{YELLOW}warning{RESET}"),
            format!("{YELLOW}warning{RESET}"),
            format!("{CYAN}info{RESET}"),
        ]
    );
    // The summary line is left as it is.
    assert!(coloured.ends_with("\n4 finding(s): 1 error, 2 warnings, 1 info\n"));

    let gate = root().join("fixtures/readme/gate");
    let piped = stdout(&run_env(&gate, &["gate"], &[]));
    let o = run_env(&gate, &["gate"], &[("CLICOLOR_FORCE", "1")]);
    assert_eq!(o.status.code(), Some(1));
    let coloured = stdout(&o);
    assert_eq!(plain(&coloured), piped);
    let labels: Vec<&str> = coloured
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(label, _)| label))
        .collect();
    let (pass, fail) = (format!("{GREEN}PASS{RESET}"), format!("{RED}FAIL{RESET}"));
    assert_eq!(labels, [&*fail, &fail, &fail, &pass, "1"]);
}

#[test]
fn completions_for_every_shell_and_an_unknown_shell_refused() {
    let o = run(&["completions", "bash"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let bash = stdout(&o);
    for word in [
        "check",
        "show",
        "prove",
        "isolation",
        "gate",
        "lint",
        "actions",
        "fuzz",
        "generate-requests",
        "completions",
        "man",
        "--identity",
        "--requests",
        "--identity-format",
        "--solver",
        "--dir",
    ] {
        assert!(bash.contains(word), "{word} missing from the bash script");
    }
    // The script completes each subcommand's own options (in bash, as a user presses Tab).
    let script = std::env::temp_dir().join(format!("policy-sim-ux-{}.bash", std::process::id()));
    std::fs::write(&script, &bash).unwrap();
    let complete = |words: &str| -> String {
        let o = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source '{}'; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
                 _policy__sim policy-sim \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
                 echo \"${{COMPREPLY[*]}}\"",
                script.display()
            ))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o).trim_end().to_string()
    };
    assert_eq!(complete("policy-sim gen"), "generate-requests");
    assert_eq!(
        complete("policy-sim generate-requests --"),
        "--count --seed --root --help"
    );
    let check = complete("policy-sim check --");
    for flag in ["--identity", "--requests", "--principal", "--format"] {
        assert!(check.split(' ').any(|f| f == flag), "{flag}: {check}");
    }
    let prove = complete("policy-sim prove isolation --");
    assert!(
        prove.split(' ').any(|f| f == "--identity-format"),
        "{prove}"
    );
    let _ = std::fs::remove_file(&script);
    for (shell, marker) in [
        ("zsh", "#compdef policy-sim"),
        ("fish", "complete -c policy-sim"),
        ("elvish", "edit:completion:arg-completer[policy-sim]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let o = run(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
        assert!(stdout(&o).contains(marker), "{shell}");
    }
    let o = run(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o), "");
    assert!(
        stderr(&o).starts_with(
            "error: invalid value 'tcsh' for '<SHELL>'\n  [possible values: bash, elvish, fish, powershell, zsh]\n"
        ),
        "{}",
        stderr(&o)
    );
}

#[test]
fn man_prints_the_page_or_writes_one_per_command() {
    let o = run(&["man"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let page = stdout(&o);
    // roff: the crate's string definitions (`.ie`/`.el`), then the title.
    let title = page
        .lines()
        .find(|l| !l.starts_with(".ie ") && !l.starts_with(".el "))
        .unwrap();
    assert!(title.starts_with(".TH policy-sim 1 "), "{title}");
    for name in ["check", "prove", "gate", "lint", "completions", "man"] {
        assert!(
            page.contains(&format!("policy\\-sim\\-{name}(1)")),
            "{name}"
        );
    }
    let dir = scratch("man");
    let out = dir.join("share/man1");
    let o = run(&["man", "--dir", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    let mut pages: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    pages.sort();
    assert_eq!(
        pages,
        [
            "policy-sim-actions.1",
            "policy-sim-check.1",
            "policy-sim-completions.1",
            "policy-sim-fuzz-isolation.1",
            "policy-sim-fuzz.1",
            "policy-sim-gate.1",
            "policy-sim-generate-requests.1",
            "policy-sim-lint.1",
            "policy-sim-man.1",
            "policy-sim-prove-isolation.1",
            "policy-sim-prove.1",
            "policy-sim-report.1",
            "policy-sim-show.1",
            "policy-sim.1",
        ]
    );
    assert_eq!(
        std::fs::read_to_string(out.join("policy-sim.1")).unwrap(),
        page
    );
    let check = std::fs::read_to_string(out.join("policy-sim-check.1")).unwrap();
    assert!(check.contains(".TH policy-sim-check 1 "), "{check}");
    assert!(check.contains("Exit codes:"), "{check}");
    // A directory that cannot be made is exit 2, named.
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let o = run(&["man", "--dir", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with(&format!("error: {}: ", file.display())),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fuzz_refuses_a_solver_it_would_not_use() {
    for (flag, value) in [
        ("--solver", "smt"),
        ("--solver", "automata"),
        ("--smt-dir", "x"),
    ] {
        let o = run(&[
            "fuzz",
            "isolation",
            "--policy",
            "policies/corrected-auth-role.json",
            "--cases",
            "10",
            flag,
            value,
        ]);
        assert_eq!(o.status.code(), Some(2), "{flag}");
        assert_eq!(stdout(&o), "");
        assert_eq!(
            stderr(&o),
            format!(
                "error: fuzz isolation takes no {flag}: it samples requests and decides each with the evaluator (an SMT solver proves isolation with `prove isolation --solver smt`)\n"
            )
        );
    }
}

#[test]
fn a_batch_refuses_format_text_and_writes_json_lines() {
    let batch = [
        "check",
        "--policy",
        "policies/corrected-auth-role.json",
        "--requests",
        "fixtures/batch/example.jsonl",
    ];
    let lines = run(&batch);
    assert_eq!(lines.status.code(), Some(0), "{}", stderr(&lines));
    assert_eq!(stdout(&lines).lines().count(), 3);
    assert!(stdout(&lines).starts_with("{\"id\":\"own-read\",\"decision\":\"Allow\","));
    let mut json = batch.to_vec();
    json.extend(["--format", "json"]);
    let o = run(&json);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(o.stdout, lines.stdout);
    let mut text = batch.to_vec();
    text.extend(["--format", "text"]);
    let o = run(&text);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o), "");
    assert_eq!(
        stderr(&o),
        "error: --format text is for a single request: a batch (--requests) writes JSON Lines (leave --format out, or give --format json)\n"
    );
}

#[test]
fn a_flow_stopped_at_the_trust_policy_explains_the_trust_policy() {
    let o = run(&[
        "check",
        "--template",
        "fixtures/templates/trust/wrong-pool.yml",
        "--identity",
        "us-east-1:abc",
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::b/k",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["steps"][2]["step"], "trust-policy");
    assert_eq!(v["steps"][2]["passed"], false);
    assert_eq!(
        v["explanation"],
        serde_json::json!([{
            "policy": "fixtures/templates/trust/wrong-pool.yml#AuthRole/AssumeRolePolicyDocument",
            "index": 0,
            "sid": null,
            "effect": "Allow",
            "policy_type": "trust",
            "applies": false,
            "outcome": "condition_not_met",
            "reason": "condition not met: StringEquals cognito-identity.amazonaws.com:aud: request value(s) [\"us-east-1:00000000-0000-0000-0000-000000000000\"] do not satisfy policy value(s) [\"us-east-1:99999999-0000-0000-0000-000000000000\"]"
        }])
    );
}

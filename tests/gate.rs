//! The CI policy gate: each expectation kind passing and failing, isolation, no new access,
//! lint severities and suppressions, gate-file errors, exit codes, JUnit, and SARIF
//! validated against the SARIF 2.1.0 schema.

use std::path::{Path, PathBuf};
use std::process::Command;

use policy_sim::gate::{self, GateConfig, GateReport, Status};
use policy_sim::report;
use policy_sim::template::node::{Kind, Node};

const ID: &str = "us-east-1:9bd0357e-2ac1-418d-a609-bc5e7bc064e3";
const OTHER: &str = "us-east-1:0bd0357e-2ac1-418d-a609-bc5e7bc064e3";

/// A fresh directory for one test's files.
fn workdir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("gate")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "OwnFolder",
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:PutObject"],
      "Resource": "arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}/*"
    },
    {
      "Sid": "NoAdmin",
      "Effect": "Deny",
      "Action": "s3:*",
      "Resource": "arn:aws:s3:::notes/private/admin/*"
    }
  ]
}
"#;

/// How the gate names a file of `dir`: relative to the working directory (the package
/// root, where cargo runs tests).
fn shown(dir: &Path, name: &str) -> String {
    dir.join(name)
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap()
        .display()
        .to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Run a valid gate file; every one the tests run also follows the schema.
fn run(dir: &Path, gate_text: &str) -> GateReport {
    assert_follows_schema("gate.yml", gate_text);
    let path = write(dir, "gate.yml", gate_text);
    let gates = GateConfig::load(&path).expect("the gate file is valid");
    gate::run(&gates, "2026-06-01T00:00:00Z".parse().unwrap()).expect("the gate runs")
}

fn load_error(dir: &Path, gate_text: &str) -> String {
    let path = write(dir, "gate.yml", gate_text);
    match GateConfig::load(&path)
        .and_then(|g| gate::run(&g, "2026-06-01T00:00:00Z".parse().unwrap()))
    {
        Ok(r) => panic!("expected an error, got {:?}", r.checks),
        Err(e) => e.to_string().replace(&dir.display().to_string(), "DIR"),
    }
}

fn statuses(report: &GateReport) -> Vec<(String, Status)> {
    report
        .checks
        .iter()
        .map(|c| (c.name.clone(), c.status))
        .collect()
}

fn expect_entry(
    name: &str,
    identity: &str,
    action: &str,
    resource: &str,
    decision: &str,
) -> String {
    format!(
        "  - name: {name}\n    identity: {identity}\n    action: {action}\n    resource: {resource}\n    decision: {decision}\n"
    )
}

#[test]
fn each_expectation_kind_passes_and_fails() {
    let dir = workdir("expect");
    write(&dir, "p.json", POLICY);
    let own = format!("arn:aws:s3:::notes/private/{ID}/a");
    let other = format!("arn:aws:s3:::notes/private/{OTHER}/a");
    let admin = "arn:aws:s3:::notes/private/admin/a";
    let mut text = String::from("policies: p.json\nlint: {fail-on: []}\nexpect:\n");
    for (name, resource, decision) in [
        ("allow-pass", own.as_str(), "Allow"),
        ("allow-fail", other.as_str(), "Allow"),
        ("implicit-pass", other.as_str(), "ImplicitDeny"),
        ("implicit-fail", own.as_str(), "ImplicitDeny"),
        ("explicit-fail", own.as_str(), "ExplicitDeny"),
    ] {
        text.push_str(&expect_entry(name, ID, "s3:GetObject", resource, decision));
    }
    // The Deny: an identity whose own folder is `admin`.
    text.push_str(&expect_entry(
        "explicit-pass",
        "admin",
        "s3:GetObject",
        admin,
        "ExplicitDeny",
    ));
    let report = run(&dir, &text);
    assert_eq!(
        statuses(&report),
        [
            ("allow-fail".to_string(), Status::Fail),
            ("implicit-fail".to_string(), Status::Fail),
            ("explicit-fail".to_string(), Status::Fail),
            ("allow-pass".to_string(), Status::Pass),
            ("implicit-pass".to_string(), Status::Pass),
            ("explicit-pass".to_string(), Status::Pass),
            ("lint".to_string(), Status::Pass),
        ]
    );
    assert_eq!((report.passed(), report.failed()), (4, 3));
    assert_eq!(
        report.checks[1].message,
        format!(
            "implicit-fail: expected ImplicitDeny, got Allow for s3:GetObject on {own} (deciding: [{} Statement[0] (Sid OwnFolder, Allow)])",
            shown(&dir, "p.json")
        )
    );
    let loc = report.checks[0].location.clone().unwrap();
    assert_eq!((loc.1, loc.2), (9, 5), "allow-fail is the second entry");
    // Text: failures first, then the summary line.
    let text = report::gate::text(&report);
    assert!(text.starts_with("FAIL expect: allow-fail: expected Allow, got ImplicitDeny"));
    assert!(text.ends_with("\n4 passed, 3 failed\n"), "{text}");
}

#[test]
fn expectation_with_context() {
    let dir = workdir("context");
    write(
        &dir,
        "p.json",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::notes",
            "Condition": {"StringLike": {"s3:prefix": "private/${cognito-identity.amazonaws.com:sub}/*"}}}]}"#,
    );
    let report = run(
        &dir,
        &format!(
            "policies: p.json\nexpect:\n  - {{name: own, identity: \"{ID}\", action: s3:ListBucket, resource: \"arn:aws:s3:::notes\", context: {{s3:prefix: \"private/{ID}/\"}}, decision: Allow}}\n  - {{name: all, identity: \"{ID}\", action: s3:ListBucket, resource: \"arn:aws:s3:::notes\", context: {{s3:prefix: private/}}, decision: Allow}}\n"
        ),
    );
    assert_eq!(
        statuses(&report),
        [
            ("all".to_string(), Status::Fail),
            ("own".to_string(), Status::Pass),
            ("lint".to_string(), Status::Pass),
        ]
    );
}

#[test]
fn an_expectation_gives_its_identity_once() {
    // The identity rule of every input: an expectation's identity and a context key
    // naming the identity (in any case) is an error, not a silent replacement.
    let dir = workdir("identity-twice");
    write(&dir, "p.json", POLICY);
    let message = load_error(
        &dir,
        "policies: p.json\nexpect:\n  - {name: twice, identity: \"us-east-1:a\", action: s3:GetObject, resource: \"arn:aws:s3:::notes-app-uploads/private/us-east-1:b/k\", context: {Cognito-Identity.amazonaws.com:sub: \"us-east-1:b\"}, decision: Allow}\n",
    );
    assert!(
        message.ends_with(
            "identity and context[\"cognito-identity.amazonaws.com:sub\"] both set the identity; give one"
        ),
        "{message}"
    );
    let message = load_error(
        &dir,
        "policies: p.json\nexpect:\n  - {name: twice, action: s3:GetObject, resource: \"*\", context: {aws:SourceIp: 10.0.0.1, AWS:SOURCEIP: 10.0.0.2}, decision: Allow}\n",
    );
    assert!(
        message.ends_with("\" is given twice (keys are case-insensitive)"),
        "{message}"
    );
}

#[test]
fn isolation_holds_and_is_violated_with_a_counterexample() {
    let dir = workdir("isolation");
    write(&dir, "p.json", POLICY);
    let report = run(
        &dir,
        "policies: p.json\nisolation:\n  - identity-format: cognito\n",
    );
    assert_eq!(report.checks[0].kind, "isolation");
    assert_eq!(report.checks[0].status, Status::Pass);
    assert!(report.checks[0].message.starts_with("holds: "));

    write(
        &dir,
        "p.json",
        &POLICY.replace(
            "${cognito-identity.amazonaws.com:sub}/*",
            "${cognito-identity.amazonaws.com:sub}*",
        ),
    );
    let report = run(
        &dir,
        "policies: p.json\nisolation:\n  - identity-format: any\nlint: {fail-on: []}\n",
    );
    let c = &report.checks[0];
    assert_eq!((c.kind, c.status), ("isolation", Status::Fail));
    assert!(c.message.starts_with("violated: "), "{}", c.message);
    assert!(
        c.message.contains(
            "; fix: end the identity with '/': write arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}/* instead of"
        ),
        "{}",
        c.message
    );
    assert_eq!(c.rule, "gate/isolation");

    // A policy that no longer scopes anything by identity fails the check (it is not an
    // invalid gate file).
    write(
        &dir,
        "p.json",
        &POLICY.replace("${cognito-identity.amazonaws.com:sub}/*", "*"),
    );
    let report = run(
        &dir,
        "policies: p.json\nisolation:\n  - identity-format: cognito\nlint: {fail-on: []}\n",
    );
    let c = &report.checks[0];
    assert_eq!((c.kind, c.status), ("isolation", Status::Fail));
    assert!(
        c.message.starts_with("no per-identity area: "),
        "{}",
        c.message
    );
    // Naming the area proves it anyway: violated.
    let report = run(
        &dir,
        "policies: p.json\nisolation:\n  - identity-format: cognito\n    areas: [\"arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}/*\"]\nlint: {fail-on: []}\n",
    );
    assert!(report.checks[0].message.starts_with("violated: "));
}

#[test]
fn no_new_access_against_a_baseline_file() {
    let dir = workdir("no-new-access");
    write(&dir, "base.json", POLICY);
    let gate_text = "policies: p.json\nno-new-access: {baseline: base.json}\nlint: {fail-on: []}\n";
    // Unchanged and narrowed: pass.
    write(&dir, "p.json", POLICY);
    assert_eq!(run(&dir, gate_text).checks[0].status, Status::Pass);
    write(
        &dir,
        "p.json",
        &POLICY.replace(r#"["s3:GetObject", "s3:PutObject"]"#, r#""s3:GetObject""#),
    );
    let report = run(&dir, gate_text);
    assert_eq!(
        (report.checks[0].kind, report.checks[0].status),
        ("no-new-access", Status::Pass)
    );
    assert_eq!(
        report.checks[0].message,
        "no new access compared with base.json"
    );
    // Widened resource, widened action, removed Deny: each fails with an example.
    for (what, new) in [
        (
            "resource",
            POLICY.replace("/private/${cognito-identity.amazonaws.com:sub}/*", "/*"),
        ),
        (
            "action",
            POLICY.replace(r#"["s3:GetObject", "s3:PutObject"]"#, r#""s3:*""#),
        ),
        (
            "deny",
            POLICY.replace(
                r#""Effect": "Deny""#,
                r#""Effect": "Allow", "Condition": {"Bool": {"aws:ViaAWSService": "true"}}"#,
            ),
        ),
    ] {
        write(&dir, "p.json", &new);
        let report = run(&dir, gate_text);
        let c = &report.checks[0];
        assert_eq!(
            (c.kind, c.status),
            ("no-new-access", Status::Fail),
            "{what}"
        );
        assert!(
            c.message
                .starts_with("new access compared with base.json: "),
            "{what}: {}",
            c.message
        );
    }
}

#[test]
fn no_new_access_against_a_git_revision_that_does_not_exist_is_an_error() {
    let dir = workdir("git-rev");
    write(&dir, "p.json", POLICY);
    let status = Command::new("git").arg("init").arg("-q").arg(&dir).status();
    if !status.is_ok_and(|s| s.success()) {
        eprintln!("git is not available: skipped");
        return;
    }
    let e = load_error(
        &dir,
        "policies: p.json\nno-new-access: {baseline: \"git:no-such-rev\"}\n",
    );
    assert_eq!(
        e,
        "DIR/gate.yml:2:27: baseline git:no-such-rev: \"no-such-rev\" is not a commit of the git repository at DIR"
    );
}

#[test]
fn lint_severities_and_suppressions() {
    let dir = workdir("lint");
    write(
        &dir,
        "p.json",
        r#"{"Version": "2012-10-17", "Statement": [
  {"Sid": "Sync", "Effect": "Allow", "Action": "cognito-sync:*", "Resource": "*"},
  {"Sid": "Files", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}/*"}
]}"#,
    );
    // Default fail-on: error and warning. PS005 (warning) fails; PS006 (info) does not.
    let report = run(&dir, "policies: p.json\n");
    assert_eq!(
        statuses(&report),
        [(format!("PS005 {}", shown(&dir, "p.json")), Status::Fail)]
    );
    assert_eq!(
        report.checks[0].message,
        "PS005 warning: Statement[0]: wildcard action [cognito-sync:*] on Resource \"*\" (fix: name the actions and resources the principal needs)"
    );
    assert_eq!(
        report.checks[0].location,
        Some((shown(&dir, "p.json"), 2, 3))
    );
    // fail-on info: PS006 fails too (a listed severity fails, and every more severe one).
    let report = run(&dir, "policies: p.json\nlint: {fail-on: [info]}\n");
    assert_eq!(
        statuses(&report),
        [
            (format!("PS005 {}", shown(&dir, "p.json")), Status::Fail),
            (format!("PS006 {}", shown(&dir, "p.json")), Status::Fail)
        ]
    );
    // fail-on error: neither fails; the passing check says so.
    let report = run(&dir, "policies: p.json\nlint: {fail-on: [error]}\n");
    assert_eq!(
        report.checks[0].message,
        "no finding of severity error (2 finding(s) in all)"
    );
    let report = run(
        &dir,
        "policies: p.json\nlint:\n  fail-on: [error]\n  suppress: [{sid: Sync, reason: r}]\n",
    );
    assert_eq!(statuses(&report), [("lint".to_string(), Status::Pass)]);
    // Suppressed by Sid (every rule, or one rule), with a reason: passes, still reported.
    for suppress in [
        "{sid: Sync, reason: Cognito Sync datasets are per identity}",
        "{sid: Sync, rule: PS005, reason: Cognito Sync datasets are per identity}",
    ] {
        let report = run(
            &dir,
            &format!("policies: p.json\nlint:\n  suppress:\n    - {suppress}\n"),
        );
        assert_eq!(statuses(&report), [("lint".to_string(), Status::Pass)]);
        let (f, reason, fails) = &report.findings[0];
        assert!(!fails);
        assert_eq!(f.rule, "PS005");
        assert_eq!(
            reason.as_deref(),
            Some("Cognito Sync datasets are per identity")
        );
    }
    // Suppressing another rule or another Sid leaves the finding failing.
    let report = run(
        &dir,
        "policies: p.json\nlint:\n  suppress:\n    - {sid: Files, reason: r}\n",
    );
    assert_eq!(report.failed(), 1);
    // A suppression that matches nothing fails too (Sync has no PS006 finding).
    let report = run(
        &dir,
        "policies: p.json\nlint:\n  suppress:\n    - {sid: Sync, rule: PS006, reason: r}\n",
    );
    assert_eq!(report.failed(), 2);
    let c = report
        .checks
        .iter()
        .find(|c| c.rule == "gate/suppression")
        .unwrap();
    assert_eq!(
        c.message,
        "the suppression of PS006 of Sid \"Sync\" matches no finding: remove it, or a later statement with that Sid would be exempt unseen"
    );
    assert_eq!(c.location.as_ref().map(|l| (l.1, l.2)), Some((4, 7)));
}

#[test]
fn lint_findings_are_listed_errors_first() {
    let dir = workdir("lint-order");
    // Found in this order: PS005 (warning), PS001 (error), PS006 (info), PS001 (error).
    write(
        &dir,
        "p.json",
        r#"{"Version": "2012-10-17", "Statement": [
  {"Sid": "Sync", "Effect": "Allow", "Action": "cognito-sync:*", "Resource": "*"},
  {"Sid": "Files", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::notes/${cognito-identity.amazonaws.com:sub}*"},
  {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::notes/public/${aws:username}*"}
]}"#,
    );
    let p = shown(&dir, "p.json");
    let report = run(&dir, "policies: p.json\nlint: {fail-on: [info]}\n");
    let found: Vec<(&str, usize)> = report
        .findings
        .iter()
        .map(|(f, _, _)| (f.rule.as_str(), f.line))
        .collect();
    assert_eq!(
        found,
        [("PS001", 3), ("PS001", 4), ("PS005", 2), ("PS006", 3)]
    );
    // The failing checks, in the same order.
    assert_eq!(
        report::gate::text(&report),
        format!(
            "FAIL lint: PS001 error: Statement[1]: arn:aws:s3:::notes/${{cognito-identity.amazonaws.com:sub}}* has a policy variable followed by a wildcard: identity a can read and write the files of every identity whose id starts with a (fix: end the variable with a delimiter, e.g. .../${{cognito-identity.amazonaws.com:sub}}/*) [{p}:3:3]\n\
             FAIL lint: PS001 error: Statement[2]: arn:aws:s3:::notes/public/${{aws:username}}* has a policy variable followed by a wildcard: user a can read the files of every user whose name starts with a (fix: end the variable with a delimiter, e.g. .../${{cognito-identity.amazonaws.com:sub}}/*) [{p}:4:3]\n\
             FAIL lint: PS005 warning: Statement[0]: wildcard action [cognito-sync:*] on Resource \"*\" (fix: name the actions and resources the principal needs) [{p}:2:3]\n\
             FAIL lint: PS006 info: Statement[1]: s3:* grants every S3 action, bucket policy and ACL changes included (fix: grant only what the app uses, e.g. s3:GetObject, s3:PutObject, s3:DeleteObject) [{p}:3:3]\n\
             0 passed, 4 failed\n"
        )
    );
}

#[test]
fn gate_file_errors_name_the_place() {
    let dir = workdir("errors");
    write(&dir, "p.json", POLICY);
    for (text, expected) in [
        (
            "policies: p.json\nexpct: []\n",
            "DIR/gate.yml:2:8: unknown key \"expct\" in a gate (expected one of name, policies, template, managed-policies, principal, resource-account, resource-policies, boundary, session-policies, scps, rcps, expect, isolation, no-new-access, lint)",
        ),
        (
            "expect: []\n",
            "DIR/gate.yml:1:1: a gate needs policies or template",
        ),
        (
            "policies: p.json\ntemplate: {file: t.yml}\n",
            "DIR/gate.yml:2:11: give either policies or template, not both",
        ),
        (
            "policies: p.json\nexpect:\n  - {action: s3:GetObject, resource: x, decision: Allowed}\n",
            "DIR/gate.yml:3:51: decision \"Allowed\" must be Allow, ExplicitDeny or ImplicitDeny",
        ),
        (
            "policies: p.json\nexpect:\n  - {action: s3:GetObject, decision: Allow}\n",
            "DIR/gate.yml:3:5: an expect entry needs resource",
        ),
        (
            "policies: p.json\nlint:\n  suppress:\n    - {sid: OwnFolder}\n",
            "DIR/gate.yml:4:7: a suppression needs a reason",
        ),
        (
            "policies: p.json\nlint:\n  suppress:\n    - {sid: OwnFolder, rule: PS999, reason: r}\n",
            "DIR/gate.yml:4:7: unknown lint rule \"PS999\"",
        ),
        (
            "policies: p.json\nlint: {fail-on: [fatal]}\n",
            "DIR/gate.yml:2:17: unknown severity \"fatal\" (error, warning, info)",
        ),
        (
            "policies: missing-*.json\n",
            "policy pattern \"missing-*.json\" matches no file",
        ),
        ("gates: []\n", "DIR/gate.yml:1:8: gates is empty"),
        ("policies: []\n", "DIR/gate.yml:1:11: policies is empty"),
        (
            "policies: p.json\nlint:\n  suppress:\n    - {sid: OwnFolder, reason: \" \"}\n",
            "DIR/gate.yml:4:32: a suppression's reason is empty",
        ),
        (
            "gates:\n  - policies: p.json\nlint: {}\n",
            "DIR/gate.yml:3:7: unknown key \"lint\" in the gate file (expected one of gates)",
        ),
        ("policies: [p.json\n", "DIR/gate.yml:2:1: "),
    ] {
        let e = load_error(&dir, text);
        assert!(
            e.starts_with(expected),
            "{text:?}\n got: {e}\nwant: {expected}"
        );
    }
    // A policy the gate loads that is not valid JSON: an error naming it.
    write(
        &dir,
        "bad.json",
        "{\"Version\": \"2012-10-17\", \"Statement\": [}",
    );
    let e = load_error(&dir, "policies: bad.json\n");
    assert_eq!(
        e,
        format!(
            "{}:1:41: Statement[0]: expected value",
            shown(&dir, "bad.json")
        )
    );
}

#[test]
fn several_gates_in_one_file() {
    let dir = workdir("several");
    write(&dir, "p.json", POLICY);
    let report = run(
        &dir,
        &format!(
            "gates:\n  - name: first\n    policies: p.json\n{}  - policies: p.json\n    lint: {{fail-on: []}}\n",
            "    expect:\n      - {action: s3:GetObject, resource: x, decision: Allow}\n"
        ),
    );
    let gates: Vec<(&str, &str, Status)> = report
        .checks
        .iter()
        .map(|c| (c.gate.as_str(), c.kind, c.status))
        .collect();
    assert_eq!(
        gates,
        [
            ("first", "expect", Status::Fail),
            ("first", "lint", Status::Pass),
            ("gates[1]", "lint", Status::Pass),
        ]
    );
    assert!(report::gate::text(&report).starts_with("FAIL [first] expect: "));
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_policy-sim"))
}

#[test]
fn exit_codes_junit_and_json() {
    let dir = workdir("cli");
    write(&dir, "p.json", POLICY);
    let pass = write(
        &dir,
        "pass.yml",
        &format!(
            "policies: p.json\nexpect:\n{}",
            expect_entry(
                "own",
                ID,
                "s3:GetObject",
                &format!("arn:aws:s3:::notes/private/{ID}/a"),
                "Allow"
            )
        ),
    );
    let fail = write(
        &dir,
        "fail.yml",
        &format!(
            "policies: p.json\nexpect:\n{}",
            expect_entry(
                "other <&>",
                ID,
                "s3:GetObject",
                &format!("arn:aws:s3:::notes/private/{OTHER}/a"),
                "Allow"
            )
        ),
    );
    let invalid = write(
        &dir,
        "invalid.yml",
        "policies: p.json\nexpect: {action: 1}\n",
    );
    let code = |path: &Path, extra: &[&str]| {
        let out = bin()
            .arg("gate")
            .arg("--config")
            .arg(path)
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (c, out, _) = code(&pass, &[]);
    assert_eq!(c, Some(0));
    assert!(out.ends_with("2 passed, 0 failed\n"), "{out}");
    let junit = dir.join("junit.xml");
    let (c, out, _) = code(
        &fail,
        &["--junit", junit.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(c, Some(1));
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (json["passed"].as_u64(), json["failed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(json["checks"][0]["status"], "fail");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<testsuite name=\"policy-sim gate\" tests=\"2\" failures=\"1\">"),
        "{xml}"
    );
    assert!(xml.contains("<testcase classname=\"expect\" name=\"other &lt;&amp;&gt;\">\n      <failure message=\"other &lt;&amp;&gt;: expected Allow, got ImplicitDeny"), "{xml}");
    assert!(
        xml.contains("<testcase classname=\"lint\" name=\"lint\"/>"),
        "{xml}"
    );
    let (c, out, err) = code(&invalid, &[]);
    assert_eq!((c, out.as_str()), (Some(2), ""));
    assert!(
        err.contains("invalid.yml:2:9: an expect entry needs decision"),
        "{err}"
    );
    let (c, _, err) = code(&dir.join("missing.yml"), &[]);
    assert_eq!(c, Some(2));
    assert!(err.contains("missing.yml"), "{err}");
}

/// YAML node to JSON, for schema validation (scalars keep their YAML type).
fn to_json(node: &Node) -> serde_json::Value {
    use policy_sim::template::node::ScalarType;
    match &node.kind {
        Kind::Null => serde_json::Value::Null,
        Kind::Scalar(s, ScalarType::Str) => s.clone().into(),
        Kind::Scalar(s, ScalarType::Bool) => (s == "true").into(),
        Kind::Scalar(s, ScalarType::Number) => serde_json::from_str(s).unwrap_or(s.clone().into()),
        Kind::Seq(items) => items.iter().map(to_json).collect(),
        Kind::Map(entries) => entries
            .iter()
            .map(|(k, v)| (k.clone(), to_json(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    }
}

/// Assert that a gate file's text follows `docs/policy-gate.schema.json`.
fn assert_follows_schema(name: &str, text: &str) {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    let validator = SCHEMA.get_or_init(|| schema("docs/policy-gate.schema.json"));
    let node = policy_sim::template::node::parse(&name.into(), text).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&to_json(&node))
        .map(|e| e.to_string())
        .collect();
    assert_eq!(errors, Vec::<String>::new(), "{name}:\n{text}");
}

fn schema(path: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    // The SARIF schema's `language` pattern has a stray `]` (`...-[a-zA-Z]{2}]?$`): a literal
    // in ECMAScript, an error for Rust's regex crate. Escape it (same meaning) so the
    // vendored file can stay byte-for-byte the published one.
    let text = text.replace(
        r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#,
        r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$""#,
    );
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

/// The SARIF log of a report, as JSON.
fn sarif_json(report: &GateReport) -> serde_json::Value {
    serde_json::to_value(report::gate::sarif(report, policy_sim::load::display_path)).unwrap()
}

#[test]
fn sarif_is_valid_sarif_2_1_0() {
    let dir = workdir("sarif");
    write(
        &dir,
        "p.json",
        r#"{"Version": "2012-10-17", "Statement": [
  {"Sid": "Sync", "Effect": "Allow", "Action": "cognito-sync:*", "Resource": "*"},
  {"Sid": "Files", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::notes/${cognito-identity.amazonaws.com:sub}*"}
]}"#,
    );
    write(&dir, "base.json", POLICY);
    let report = run(
        &dir,
        "policies: p.json\nexpect:\n  - {action: s3:GetObject, resource: x, decision: Allow}\nisolation: {identity-format: any}\nno-new-access: {baseline: base.json}\nlint:\n  suppress:\n    - {sid: Sync, reason: per-identity datasets}\n",
    );
    let sarif = sarif_json(&report);
    let validator = schema("fixtures/sarif/sarif-2.1.0-rtm.5.json");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| e.to_string())
        .collect();
    assert_eq!(errors, Vec::<String>::new(), "{sarif:#}");
    // Rules, results with locations, the suppression with its reason.
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "policy-sim");
    let rules: Vec<&str> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        [
            "PS001",
            "PS005",
            "PS006",
            "gate/expect",
            "gate/isolation",
            "gate/no-new-access"
        ]
    );
    // Errors first, as lint lists them: PS001 (statement 1) before PS005 (statement 0).
    let ps005 = &run["results"][1];
    assert_eq!(
        ps005["suppressions"][0]["justification"],
        "per-identity datasets"
    );
    assert_eq!(
        ps005["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        shown(&dir, "p.json").as_str()
    );
    // Failed checks point into the gate file, relative to the working directory too.
    assert_eq!(
        run["results"][3]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        shown(&dir, "gate.yml").as_str()
    );
    assert_eq!(
        ps005["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );
    for r in run["results"].as_array().unwrap() {
        assert!(r["locations"][0]["physicalLocation"].is_object(), "{r}");
    }
    // Under `fail-on: []` nothing fails: findings are notes, their severity kept aside.
    let quiet = self::run(&dir, "policies: p.json\nlint: {fail-on: []}\n");
    let quiet = sarif_json(&quiet);
    assert_eq!(validator.iter_errors(&quiet).count(), 0, "{quiet:#}");
    let ps001 = quiet["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "PS001")
        .unwrap();
    assert_eq!(ps001["level"], "note");
    assert_eq!(ps001["properties"]["severity"], "error");
    assert_eq!(ps001["properties"]["failsGate"], false);
    // The schema does catch a broken document.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&broken));
}

#[test]
fn the_projects_gate_file_follows_its_schema() {
    let validator = schema("docs/policy-gate.schema.json");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("policy-gate.yml")).unwrap();
    let node = policy_sim::template::node::parse(&"policy-gate.yml".into(), &text).unwrap();
    let json = to_json(&node);
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert_eq!(errors, Vec::<String>::new());
    // And the schema rejects what the loader rejects.
    let mut typo = json.clone();
    typo["gates"][0]["expct"] = serde_json::json!([]);
    assert!(!validator.is_valid(&typo));
    assert!(!validator.is_valid(&serde_json::json!({"expect": []})));
    // The loader reads it.
    assert_eq!(
        GateConfig::load(&root.join("policy-gate.yml"))
            .unwrap()
            .len(),
        5
    );
}

#[test]
fn template_source() {
    let dir = workdir("template");
    let template =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/templates/seed-001/serverless.yml");
    let report = run(
        &dir,
        &format!(
            "template:\n  file: {}\n  params: {{ApiGatewayRestApi: a1b2c3d4e5, AttachmentsBucket.Arn: \"arn:aws:s3:::notes-app-uploads\"}}\nexpect:\n{}isolation: {{identity-format: cognito}}\nlint: {{fail-on: [warning]}}\n",
            template.display(),
            expect_entry(
                "api",
                ID,
                "execute-api:Invoke",
                "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes",
                "Allow"
            ),
        ),
    );
    let got: Vec<(&str, String, Status)> = report
        .checks
        .iter()
        .map(|c| (c.kind, c.name.clone(), c.status))
        .collect();
    let pool = "resources/cognito-identity-pool.yml";
    assert_eq!(
        got.iter().map(|(k, _, s)| (*k, *s)).collect::<Vec<_>>(),
        [
            ("lint", Status::Fail),
            ("lint", Status::Fail),
            ("expect", Status::Pass),
            ("isolation", Status::Pass),
        ],
        "{got:?}"
    );
    // Lint findings point into the template file that holds the statement.
    let (file, line, _) = report.checks[0].location.clone().unwrap();
    assert!(file.ends_with(pool), "{file}");
    assert_eq!(line, 51);
    // A git baseline needs policy files.
    let e = load_error(
        &dir,
        &format!(
            "template:\n  file: {}\n  params: {{ApiGatewayRestApi: a, AttachmentsBucket.Arn: \"arn:aws:s3:::b\"}}\nno-new-access: {{baseline: \"git:HEAD\"}}\n",
            template.display()
        ),
    );
    assert_eq!(
        e,
        "DIR/gate.yml:4:27: a git baseline needs the gate to load policy files (not a template)"
    );
}

#[test]
fn git_baseline_includes_policies_deleted_since() {
    let dir = workdir("git-deleted");
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(&dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !git(&["init", "-q"]) {
        eprintln!("git is not available: skipped");
        return;
    }
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    write(
        &dir,
        "policies/role.json",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b"}]}"#,
    );
    write(
        &dir,
        "policies/guard.json",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}"#,
    );
    assert!(git(&["add", "."]) && git(&["commit", "-q", "-m", "base"]));
    let gate_text = "policies: \"policies/*.json\"\nno-new-access: {baseline: \"git:HEAD\"}\nlint: {fail-on: []}\n";
    let report = run(&dir, gate_text);
    assert_eq!(report.checks[0].status, Status::Pass, "{:?}", report.checks);
    std::fs::remove_file(dir.join("policies/guard.json")).unwrap();
    let report = run(&dir, gate_text);
    let c = &report.checks[0];
    assert_eq!((c.kind, c.status), ("no-new-access", Status::Fail));
    assert_eq!(
        c.message,
        format!(
            "new access compared with git:HEAD: s3:DeleteBucket on arn:aws:s3:::b is allowed by {} Statement[0] (Allow) (the baseline: ExplicitDeny)",
            shown(&dir, "policies/role.json")
        )
    );
}

/// The gate files the project shows (its own, and the README's example) follow the
/// schema and load: the schema and the loader cannot drift apart unnoticed. (The gate
/// files the other tests run are checked against the schema as they run.)
#[test]
fn example_gate_files_follow_the_schema_and_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = &readme[readme.find("## A policy gate in CI").unwrap()..];
    let block = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap();
    let project = std::fs::read_to_string(root.join("policy-gate.yml")).unwrap();
    for (name, text, gates) in [
        ("policy-gate.yml", project.as_str(), 5),
        ("README.md", block, 1),
    ] {
        assert_follows_schema(name, text);
        let loaded =
            GateConfig::parse(&root.join(name), text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(loaded.len(), gates, "{name}");
    }
}

/// A template role with the gate's POLICY inline and a managed policy named by ARN.
const MANAGED_ROLE: &str = r#"Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {Federated: cognito-identity.amazonaws.com}
            Action: sts:AssumeRoleWithWebIdentity
      ManagedPolicyArns:
        - arn:aws:iam::123456789012:policy/TeamWide
      Policies:
        - PolicyName: Own
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - Effect: Allow
                Action: [s3:GetObject, s3:PutObject]
                Resource: arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}/*
"#;

#[test]
fn checks_that_depend_on_an_unseen_managed_policy_fail() {
    let dir = workdir("managed");
    write(&dir, "role.yml", MANAGED_ROLE);
    // The baseline: the role's own policy.
    write(
        &dir,
        "base.json",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}/*"}]}"#,
    );
    let checks = format!(
        "expect:\n{}isolation: [{{}}]\nno-new-access: {{baseline: base.json}}\nlint: {{fail-on: [error]}}\n",
        expect_entry(
            "own",
            ID,
            "s3:GetObject",
            &format!("arn:aws:s3:::notes/private/{ID}/a"),
            "Allow"
        )
    );
    // Before: every check passed, the isolation one with no warning at all.
    let report = run(&dir, &format!("template: {{file: role.yml}}\n{checks}"));
    let unseen = format!(
        "the verdict depends on policies that were not evaluated: managed policy arn:aws:iam::123456789012:policy/TeamWide ({}:12:11): its document is not given (give a managed policy's document under managed-policies: {{ARN: FILE}})",
        dir.join("role.yml").display()
    );
    let messages: Vec<(Status, &str, String)> = report
        .checks
        .iter()
        .map(|c| (c.status, c.kind, c.message.clone()))
        .collect();
    let own = format!("own: s3:GetObject on arn:aws:s3:::notes/private/{ID}/a");
    assert_eq!(
        messages,
        [
            (
                Status::Fail,
                "expect",
                format!("{own} cannot be decided: {unseen}")
            ),
            (
                Status::Fail,
                "isolation",
                format!("isolation cannot be decided: {unseen}")
            ),
            (
                Status::Fail,
                "no-new-access",
                format!("no-new-access compared with base.json cannot be decided: {unseen}")
            ),
            (
                Status::Pass,
                "lint",
                format!(
                    "no finding of severity error (0 finding(s) in all); not linted, not seen: managed policy arn:aws:iam::123456789012:policy/TeamWide ({}:12:11): its document is not given",
                    dir.join("role.yml").display()
                )
            ),
        ]
    );
    // Given its document, every check is decided.
    write(
        &dir,
        "team.json",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}]}"#,
    );
    let report = run(
        &dir,
        &format!(
            "template: {{file: role.yml}}\nmanaged-policies: {{'arn:aws:iam::123456789012:policy/TeamWide': team.json}}\n{checks}"
        ),
    );
    assert_eq!(report.failed(), 0, "{:?}", report.checks);
}

#[test]
fn managed_policies_key_errors() {
    let dir = workdir("managed-errors");
    write(&dir, "p.json", POLICY);
    write(&dir, "role.yml", MANAGED_ROLE);
    assert_eq!(
        load_error(
            &dir,
            "policies: p.json\nmanaged-policies: {'arn:aws:iam::1:policy/x': p.json}\n"
        ),
        "DIR/gate.yml:2:19: managed-policies applies to a template's role, and this gate loads policy files"
    );
    assert_eq!(
        load_error(
            &dir,
            "template: {file: role.yml}\nmanaged-policies: {TeamWide: p.json}\n"
        ),
        "DIR/gate.yml:2:19: managed policy \"TeamWide\" is not a policy ARN (arn:PARTITION:iam::ACCOUNT:policy/NAME)"
    );
}

/// A policy with an `iam:PassRole` on `*` (PS007, an error) in statement `Sid`.
fn pass_role(sid: &str) -> String {
    format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "{sid}", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}}]}}"#
    )
}

#[test]
fn a_suppression_is_scoped_to_its_policy_file() {
    let dir = workdir("suppression-scope");
    write(&dir, "a.json", &pass_role("Shared"));
    write(&dir, "b.json", &pass_role("Shared"));
    // With two files, a Sid alone could hide the other file's finding: it is refused.
    let err = load_error(
        &dir,
        "policies: [a.json, b.json]\nlint:\n  suppress:\n    - {sid: Shared, reason: reviewed in a.json}\n",
    );
    assert_eq!(
        err,
        format!(
            "DIR/gate.yml:4:7: a suppression needs a policy: the gate loads 2 policy files ({}, {}), and a Sid is unique within one policy only",
            shown(&dir, "a.json"),
            shown(&dir, "b.json")
        )
    );
    // Named, it covers that file's statement only: b.json's PassRole still fails.
    let report = run(
        &dir,
        "policies: [a.json, b.json]\nlint:\n  suppress:\n    - {policy: a.json, sid: Shared, reason: reviewed}\n",
    );
    assert_eq!(
        statuses(&report),
        [(format!("PS007 {}", shown(&dir, "b.json")), Status::Fail)]
    );
    let suppressed: Vec<bool> = report
        .findings
        .iter()
        .map(|(_, r, _)| r.is_some())
        .collect();
    assert_eq!(suppressed, [true, false]);
    // Through a glob, and written `./a.json`: the same file.
    let report = run(
        &dir,
        "policies: '*.json'\nlint:\n  suppress:\n    - {policy: ./a.json, sid: Shared, reason: r}\n    - {policy: b.json, sid: Shared, reason: r}\n",
    );
    assert_eq!(statuses(&report), [("lint".to_string(), Status::Pass)]);
    // A policy the gate does not load is an error.
    let err = load_error(
        &dir,
        "policies: [a.json, b.json]\nlint:\n  suppress:\n    - {policy: c.json, sid: Shared, reason: r}\n",
    );
    assert!(
        err.starts_with(
            "DIR/gate.yml:4:7: the suppression's policy \"c.json\" is not a file the gate loads ("
        ),
        "{err}"
    );
    // With one file, `policy` may be left out.
    let report = run(
        &dir,
        "policies: a.json\nlint:\n  suppress:\n    - {sid: Shared, reason: r}\n",
    );
    assert_eq!(statuses(&report), [("lint".to_string(), Status::Pass)]);
}

#[test]
fn globs_stay_inside_the_project_root_and_end() {
    let dir = workdir("glob-root");
    std::fs::create_dir_all(dir.join("proj/.git")).unwrap();
    std::fs::create_dir_all(dir.join("proj/pol")).unwrap();
    let proj = dir.join("proj");
    write(&proj, "pol/a.json", POLICY);
    write(&dir, "outside.json", POLICY);
    // Links back up (a loop), to itself, between two names, and out of the root.
    std::os::unix::fs::symlink(".", proj.join("pol/self")).unwrap();
    std::os::unix::fs::symlink("../pol", proj.join("pol/up")).unwrap();
    std::os::unix::fs::symlink("loop2", proj.join("pol/loop1")).unwrap();
    std::os::unix::fs::symlink("loop1", proj.join("pol/loop2")).unwrap();
    std::os::unix::fs::symlink("../..", proj.join("pol/out")).unwrap();
    let gate = |text: &str| {
        let path = write(&proj, "gate.yml", text);
        GateConfig::load(&path).and_then(|g| gate::run(&g, "2026-06-01T00:00:00Z".parse().unwrap()))
    };
    // Each file once, however many ways lead to it; nothing through `out`.
    let report = gate("policies: 'pol/**/*.json'\nlint: {fail-on: [info]}\n").unwrap();
    assert_eq!(statuses(&report), [("lint".to_string(), Status::Pass)]);
    let loaded = policy_sim::load::load_policies(
        &policy_sim::root::Root::discover(&proj),
        &["pol/**/*.json".to_string()],
        &proj,
    )
    .unwrap();
    assert_eq!(loaded.set.policies().len(), 1);
    let root = std::fs::canonicalize(&proj).unwrap().display().to_string();
    for pattern in ["/**/passwd", "../*.json", "/etc/passwd"] {
        let err = gate(&format!("policies: '{pattern}'\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("outside the project root {root}: not read")),
            "{pattern}: {err}"
        );
    }
    // A matching file that links out of the root is refused, not read.
    std::os::unix::fs::symlink("../../outside.json", proj.join("pol/b.json")).unwrap();
    let err = gate("policies: 'pol/*.json'\n").unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{} is outside the project root {root}: not read",
            proj.join("pol/b.json").display()
        )
    );
}

const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/Auth/CognitoIdentityCredentials";

/// A bucket policy with one statement: `principal` may `s3:GetObject` under `private/`.
fn bucket_policy(principal: &str, condition: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Shared","Effect":"Allow","Principal":{principal},"Action":"s3:GetObject","Resource":"arn:aws:s3:::notes/private/*"{condition}}}]}}"#
    )
}

#[test]
fn every_policy_type_decides_expectations() {
    let dir = workdir("types-expect");
    write(&dir, "p.json", POLICY);
    write(&dir, "bucket.json", &bucket_policy(r#""*""#, ""));
    write(
        &dir,
        "boundary.json",
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#,
    );
    write(
        &dir,
        "scp.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::notes/private/secret/*"}]}"#,
    );
    let gate_text = format!(
        "policies: p.json\nprincipal: {SESSION}\nresource-account: '111122223333'\nresource-policies:\n  - {{file: bucket.json, resource: 'arn:aws:s3:::notes'}}\nboundary: boundary.json\nscps: {{root: [scp.json]}}\nexpect:\n{}{}{}lint: {{fail-on: []}}\n",
        expect_entry(
            "other",
            OTHER,
            "s3:GetObject",
            &format!("arn:aws:s3:::notes/private/{ID}/a"),
            "Allow"
        ),
        expect_entry(
            "put",
            ID,
            "s3:PutObject",
            &format!("arn:aws:s3:::notes/private/{ID}/a"),
            "ImplicitDeny"
        ),
        expect_entry(
            "scp",
            ID,
            "s3:GetObject",
            "arn:aws:s3:::notes/private/secret/a",
            "Allow"
        ),
    );
    let report = run(&dir, &gate_text);
    let messages: Vec<(Status, &str)> = report
        .checks
        .iter()
        .map(|c| (c.status, c.message.as_str()))
        .collect();
    let scp = shown(&dir, "scp.json");
    assert_eq!(
        messages,
        [
            (
                Status::Fail,
                &*format!(
                    "scp: expected Allow, got ExplicitDeny (by scp) for s3:GetObject on arn:aws:s3:::notes/private/secret/a (deciding: [scp {scp} Statement[1] (Deny)])"
                )
            ),
            (
                Status::Pass,
                &*format!("other s3:GetObject on arn:aws:s3:::notes/private/{ID}/a: Allow")
            ),
            (
                Status::Pass,
                &*format!("put s3:PutObject on arn:aws:s3:::notes/private/{ID}/a: ImplicitDeny")
            ),
            (
                Status::Pass,
                "1 finding(s), reported only (fail-on is empty)"
            ),
        ]
    );
    // The one finding: the bucket policy's public grant.
    let f = &report.findings[0].0;
    assert_eq!(
        (f.rule.as_str(), f.file.as_str(), f.line, f.message.as_str()),
        (
            "PS015",
            &*shown(&dir, "bucket.json"),
            1,
            "Statement[0]: Allow of [s3:GetObject] to every principal (\"*\") with no Condition"
        )
    );
}

#[test]
fn no_new_access_with_every_policy_type() {
    let dir = workdir("types-no-new-access");
    write(&dir, "p.json", POLICY);
    write(&dir, "base.json", POLICY);
    write(&dir, "bucket.json", &bucket_policy(r#""*""#, ""));
    let allow = |action: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"{action}","Resource":"*"}}}}"#
        )
    };
    write(&dir, "wide.json", &allow("s3:*"));
    write(&dir, "narrow.json", &allow("s3:GetObject"));
    let gate = |keys: &str, base_keys: &str| {
        format!(
            "policies: p.json\nprincipal: {SESSION}\n{keys}no-new-access: {{baseline: base.json{base_keys}}}\nlint: {{fail-on: []}}\n"
        )
    };
    let check = |text: String| {
        let report = run(&dir, &text);
        let c = report
            .checks
            .into_iter()
            .find(|c| c.kind == "no-new-access")
            .unwrap();
        (c.status, c.message)
    };
    // A bucket policy that grants to everyone is new access, confirmed with a request.
    let (status, message) = check(gate(
        "resource-policies: [{file: bucket.json, resource: 'arn:aws:s3:::notes'}]\n",
        ", resource-policies: []",
    ));
    assert_eq!(status, Status::Fail);
    assert_eq!(
        message,
        format!(
            "new access compared with base.json: s3:GetObject on arn:aws:s3:::notes/private/ is allowed by resource {} Statement[0] (Sid Shared, Allow) (the baseline: ImplicitDeny)",
            shown(&dir, "bucket.json")
        )
    );
    // The same bucket policy on both sides: nothing new.
    let (status, message) = check(gate(
        "resource-policies: [{file: bucket.json, resource: 'arn:aws:s3:::notes'}]\n",
        "",
    ));
    assert_eq!(
        (status, message.as_str()),
        (Status::Pass, "no new access compared with base.json")
    );
    // Boundary, session policies and SCPs that only narrow pass.
    for (keys, base_keys) in [
        ("boundary: narrow.json\n", ", boundary: wide.json"),
        (
            "session-policies: [narrow.json]\n",
            ", session-policies: [wide.json]",
        ),
        (
            "scps: {root: [narrow.json], ou: [wide.json]}\n",
            ", scps: {root: [wide.json]}",
        ),
    ] {
        let (status, message) = check(gate(keys, base_keys));
        assert_eq!(
            (status, message.as_str()),
            (Status::Pass, "no new access compared with base.json"),
            "{keys}"
        );
    }
    // A widened SCP level is compared too; what the rest of the policies refuse is not
    // decided: unknown, which fails the gate.
    let (status, message) = check(gate(
        "scps: {root: [wide.json]}\n",
        ", scps: {root: [narrow.json]}",
    ));
    assert_eq!(status, Status::Unknown, "{message}");
    assert!(
        message.starts_with(
            "no-new-access unknown compared with base.json: the SCPs of level root: s3:"
        ),
        "{message}"
    );
}

#[test]
fn policy_type_keys_are_validated_with_their_place() {
    let dir = workdir("types-errors");
    write(&dir, "p.json", POLICY);
    write(&dir, "b.json", POLICY);
    for (text, expected) in [
        (
            "policies: p.json\nboundary: b.json\n",
            "DIR/gate.yml:2:11: boundary needs principal: the caller's ARN (policies of this type decide only for a named principal)",
        ),
        (
            "policies: p.json\nprincipal: arn:aws:iam::111122223333:role/Auth\n",
            "DIR/gate.yml:2:12: principal: \"arn:aws:iam::111122223333:role/Auth\" is a role; requests are made by its sessions: give the session ARN, e.g. arn:aws:sts::111122223333:assumed-role/Auth/SESSION",
        ),
        (
            "policies: p.json\nprincipal: arn:aws:iam::111122223333:user/alice\nsession-policies: [b.json]\n",
            "DIR/gate.yml:3:20: session-policies apply only to role and federated user sessions; the principal \"arn:aws:iam::111122223333:user/alice\" is not one",
        ),
        (
            "policies: p.json\nprincipal: '111122223333'\nresource-policies: [{file: b.json, resource: 'arn:aws:s3:::b*'}]\n",
            "DIR/gate.yml:3:46: resource \"arn:aws:s3:::b*\": not the ARN of one resource (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, no wildcard)",
        ),
        (
            "policies: p.json\nprincipal: '111122223333'\nresource-policies: [{file: b.json}]\n",
            "DIR/gate.yml:3:21: a resource policy needs resource",
        ),
        (
            "policies: p.json\nresource-account: '1234'\n",
            "DIR/gate.yml:2:19: resource-account \"1234\" is not an account id (12 digits)",
        ),
        (
            "policies: p.json\nprincipal: '111122223333'\nscps: {root: []}\n",
            "DIR/gate.yml:3:7: scps level \"root\" names no policy file",
        ),
        (
            "policies: p.json\nprincipal: '111122223333'\nno-new-access: {baseline: p.json, boundry: b.json}\n",
            "DIR/gate.yml:3:44: unknown key \"boundry\" in no-new-access (expected one of baseline, resource-policies, boundary, session-policies, scps, rcps)",
        ),
        (
            "policies: p.json\nprincipal: '111122223333'\nscps: {'111122223333': [b.json], '444455556666': [b.json]}\n",
            "DIR/gate.yml:2:12: SCP levels name two accounts, 111122223333 and 444455556666; an organization path ends in one account",
        ),
    ] {
        let e = load_error(&dir, text);
        assert!(
            e.starts_with(expected),
            "{text:?}\n got: {e}\nwant: {expected}"
        );
    }
}

/// The report's first check of `kind`.
fn first_of<'a>(report: &'a GateReport, kind: &str) -> &'a policy_sim::report::gate::CheckResult {
    report.checks.iter().find(|c| c.kind == kind).unwrap()
}

#[test]
fn isolation_areas_take_classes_and_a_fragile_holds_passes_with_its_fix() {
    let dir = workdir("isolation-classes");
    // Everyone signed in reads the protected folders; only the owner writes.
    write(
        &dir,
        "p.json",
        r#"{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::notes/protected/*"},
  {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::notes/protected/${cognito-identity.amazonaws.com:sub}/*"}
]}"#,
    );
    let area = "arn:aws:s3:::notes/protected/${cognito-identity.amazonaws.com:sub}/*";
    let report = run(
        &dir,
        &format!(
            "policies: p.json\nisolation:\n  - areas: [{{pattern: \"{area}\", others: read}}]\n  - areas: [\"{area}\"]\nlint: {{fail-on: []}}\n"
        ),
    );
    let statuses: Vec<(&str, Status)> = report
        .checks
        .iter()
        .filter(|c| c.kind == "isolation")
        .map(|c| (c.message.split(':').next().unwrap(), c.status))
        .collect();
    // Failures are listed first: the plain string is a private area.
    assert_eq!(
        statuses,
        [("violated", Status::Fail), ("holds", Status::Pass)]
    );
    // An unknown class is an error that names the values allowed.
    let path = write(
        &dir,
        "gate.yml",
        &format!(
            "policies: p.json\nisolation:\n  - areas: [{{pattern: \"{area}\", others: write}}]\n"
        ),
    );
    let e = GateConfig::load(&path).unwrap_err().to_string();
    assert!(e.contains("read or nothing"), "{e}");

    // The seed-003 shape holds for Cognito ids, passes, and says what it leans on.
    write(
        &dir,
        "p.json",
        &POLICY.replace(
            "${cognito-identity.amazonaws.com:sub}/*",
            "${cognito-identity.amazonaws.com:sub}*",
        ),
    );
    let report = run(
        &dir,
        "policies: p.json\nisolation:\n  - identity-format: cognito\nlint: {fail-on: []}\n",
    );
    let c = first_of(&report, "isolation");
    assert_eq!(c.status, Status::Pass);
    assert!(
        c.message.contains(
            "; fragile: it relies on the identity format, and under opaque it is violated: identity anna's file arn:aws:s3:::notes/private/anna/photo.jpg can be read by identity ann (s3:GetObject)"
        ),
        "{}",
        c.message
    );
    assert!(
        c.message.ends_with(
            "; fix: end the identity with '/': write arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}/* instead of arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}*, so that one id's pattern stops at its own folder"
        ),
        "{}",
        c.message
    );
}

#[test]
fn isolation_of_a_template_with_an_identity_pool_covers_every_role() {
    let dir = workdir("isolation-pool");
    let template = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/templates/pool-roles/guest-and-rule.yml"),
    )
    .unwrap();
    write(&dir, "t.yml", &template);
    let report = run(
        &dir,
        "template: {file: t.yml, role: AuthRole}\nisolation:\n  - identity-format: cognito\nlint: {fail-on: []}\n",
    );
    let c = first_of(&report, "isolation");
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.message.starts_with(
            "violated for identity pool IdentityPool (AuthRole holds, GuestRole violated, StaffRole violated); unauthenticated role GuestRole: violated: identity "
        ),
        "{}",
        c.message
    );
}

#[test]
fn every_deploy_input_is_a_gate_source() {
    let dir = workdir("inputs");
    let fixtures = "../../../../fixtures/templates";
    let own = "arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/a.txt";
    let report = run(
        &dir,
        &format!(
            "gates:
  - name: terraform
    template:
      file: {fixtures}/terraform/state.json
      role: notes-auth
    isolation: {{}}
    expect:
      - identity: us-east-1:abc
        action: s3:GetObject
        resource: {own}
        context: {{aws:SecureTransport: 'true'}}
        decision: Allow
  - name: cdk
    template:
      file: {fixtures}/cdk-notes/cdk.out
      role: NotesStack/AuthRole
      params:
        AuthRole900B840B.Arn: arn:aws:iam::123456789012:role/NotesStack-AuthRole
        NotesApi2FFCBC92: a1b2c3d4e5
    isolation: {{}}
  - name: sam
    template:
      file: {fixtures}/sam/template.yaml
      role: AuthRole
      params:
        NotesApi: a1b2c3d4e5
    isolation: {{}}
"
        ),
    );
    let passed: Vec<(&str, &str, Status)> = report
        .checks
        .iter()
        .filter(|c| c.kind != "lint")
        .map(|c| (c.gate.as_str(), c.kind, c.status))
        .collect();
    assert_eq!(
        passed,
        [
            ("terraform", "expect", Status::Pass),
            ("terraform", "isolation", Status::Pass),
            ("cdk", "isolation", Status::Pass),
            ("sam", "isolation", Status::Pass),
        ],
        "{:?}",
        report.checks
    );
    // Lint reads the SAM template's expansion and points into the SAM file: the API
    // policy SAM writes for a blacklist allows everyone else (as deployed).
    let sam_lint: Vec<(&str, Option<usize>)> = report
        .checks
        .iter()
        .filter(|c| c.gate == "sam" && c.kind == "lint")
        .map(|c| (c.rule, c.location.as_ref().map(|l| l.1)))
        .collect();
    assert_eq!(
        sam_lint,
        [
            ("PS015", Some(53)),
            ("PS015", Some(53)),
            ("PS009", Some(53)),
            ("PS009", Some(53))
        ]
    );
}

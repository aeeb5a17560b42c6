//! The `policy-sim` binary: output, explanations and exit codes.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary started in the project's root with `args`, its three streams piped.
fn spawn(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_policy-sim"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = spawn(args);
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        // A command may refuse its arguments before it reads standard input: a closed
        // pipe then is its answer, not a test failure.
        match input.write_all(bytes) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            Err(e) => panic!("cannot write standard input: {e}"),
        }
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const CONSOLE: &str = "policies/console-auth-role.json";
const STACK: &str = "policies/serverless-stack-auth-role.json";

#[test]
fn allow_explains_the_deciding_statement() {
    let o = run(
        &[
            "check",
            "--policy",
            CONSOLE,
            "--identity",
            "us-east-1:abc",
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::notes-app-uploads/us-east-1:abcd/secret.txt",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "Decision: Allow\n\
         Request:  s3:GetObject on arn:aws:s3:::notes-app-uploads/us-east-1:abcd/secret.txt as identity us-east-1:abc\n\
         Allowed by:\n\
         \x20 policies/console-auth-role.json Statement[1] (Allow)\n\
         Statements:\n\
         \x20 policies/console-auth-role.json Statement[0] (Allow): action not matched by Action [mobileanalytics:PutEvents, cognito-sync:*, cognito-identity:*]\n\
         \x20 policies/console-auth-role.json Statement[1] (Allow): applies (resource matched by arn:aws:s3:::notes-app-uploads/us-east-1:abc*)\n\
         \x20 policies/console-auth-role.json Statement[2] (Allow): action not matched by Action [execute-api:Invoke]\n"
    );
}

#[test]
fn implicit_deny_explains_every_statement() {
    let o = run(
        &[
            "check",
            "--policy",
            STACK,
            "--identity",
            "us-east-1:abc",
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::notes-app-uploads/private/us-east-1:abcd/x",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.starts_with("Decision: ImplicitDeny\n"), "{out}");
    assert!(out.contains("No statement allows the request, so it is denied by default.\n"));
    assert!(out.contains(
        "policies/serverless-stack-auth-role.json Statement[2] (Allow): resource not matched by Resource [arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/*]\n"
    ), "{out}");
}

#[test]
fn missing_identity_is_named_in_the_explanation() {
    let o = run(
        &[
            "check",
            "--policy",
            STACK,
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/x",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains(
        "resource not matched by Resource [arn:aws:s3:::notes-app-uploads/private/${cognito-identity.amazonaws.com:sub}/*]; ${cognito-identity.amazonaws.com:sub} has no value in the request, so its pattern matches nothing\n"
    ), "{}", stdout(&o));
}

#[test]
fn explicit_deny_and_condition_reasons() {
    let policy = br#"{"Version":"2012-10-17","Statement":[
        {"Sid":"All","Effect":"Allow","Action":"s3:*","Resource":"*"},
        {"Sid":"OnlyFromOffice","Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}},
        {"Sid":"Tagged","Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"red"}}}
    ]}"#;
    let o = run(
        &[
            "check",
            "--policy",
            "-",
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::b/k",
            "--context",
            "aws:SourceIp=192.0.2.1",
        ],
        Some(policy),
    );
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.starts_with("Decision: ExplicitDeny\n"), "{out}");
    assert!(
        out.contains("Denied by:\n  <stdin> Statement[1] (Sid OnlyFromOffice, Deny)\n"),
        "{out}"
    );
    assert!(out.contains(
        "  <stdin> Statement[2] (Sid Tagged, Allow): condition not met: StringEquals aws:PrincipalTag/team: the request has no value for aws:PrincipalTag/team (policy values [\"red\"])\n"
    ), "{out}");
}

#[test]
fn json_format_prints_the_batch_object_and_the_explanation() {
    let o = run(
        &[
            "check",
            "--policy",
            STACK,
            "--identity",
            "us-east-1:abc",
            "--action",
            "execute-api:Invoke",
            "--resource",
            "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        concat!(
            // A batch line's fields ...
            r#"{"id":null,"decision":"Allow","statements":[{"policy":"policies/serverless-stack-auth-role.json","index":1,"sid":null,"effect":"Allow","policy_type":"identity"}],"#,
            // ... then why each statement applies or not, as the text explanation says.
            r#""explanation":["#,
            r#"{"policy":"policies/serverless-stack-auth-role.json","index":0,"sid":null,"effect":"Allow","policy_type":"identity","applies":false,"outcome":"action_not_matched","reason":"action not matched by Action [mobileanalytics:PutEvents, cognito-sync:*, cognito-identity:*]"},"#,
            r#"{"policy":"policies/serverless-stack-auth-role.json","index":1,"sid":null,"effect":"Allow","policy_type":"identity","applies":true,"outcome":"applies","reason":"applies (resource matched by arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*)"},"#,
            r#"{"policy":"policies/serverless-stack-auth-role.json","index":2,"sid":null,"effect":"Allow","policy_type":"identity","applies":false,"outcome":"action_not_matched","reason":"action not matched by Action [s3:*]"}]}"#,
            "\n"
        )
    );
}

#[test]
fn repeated_context_key_is_multivalued() {
    let policy = br#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}}}"#;
    let args = |extra: &'static str| {
        vec![
            "check",
            "--policy",
            "-",
            "--action",
            "ec2:CreateTags",
            "--resource",
            "*",
            "--context",
            "aws:TagKeys=env",
            "--context",
            extra,
        ]
    };
    assert_eq!(
        run(&args("aws:TagKeys=team"), Some(policy)).status.code(),
        Some(0)
    );
    assert_eq!(
        run(&args("aws:TagKeys=cost"), Some(policy)).status.code(),
        Some(1)
    );
}

#[test]
fn several_policies_keep_their_names() {
    let o = run(
        &[
            "check",
            "--policy",
            CONSOLE,
            "--policy",
            STACK,
            "--action",
            "cognito-identity:GetId",
            "--resource",
            "*",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let names: Vec<&str> = v["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["policy"].as_str().unwrap())
        .collect();
    assert_eq!(names, [CONSOLE, STACK]);
}

#[test]
fn batch_output_matches_expected_lines_and_exit_code() {
    let o = run(
        &[
            "check",
            "--policy",
            "policies/corrected-auth-role.json",
            "--requests",
            "fixtures/batch/requests.jsonl",
        ],
        None,
    );
    let expected = std::fs::read_to_string(root().join("fixtures/batch/expected.jsonl")).unwrap();
    assert_eq!(stdout(&o), expected);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a malformed line makes the exit code 2"
    );
    assert_eq!(stderr(&o), "5 request(s) decided, 5 line(s) failed\n");
}

#[test]
fn clean_batch_from_stdin_exits_zero() {
    let input = std::fs::read(root().join("fixtures/batch/clean.jsonl")).unwrap();
    let o = run(
        &[
            "check",
            "--policy",
            CONSOLE,
            "--policy",
            "policies/corrected-auth-role.json",
            "--requests",
            "-",
        ],
        Some(&input),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let decisions: Vec<String> = stdout(&o)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!(
                "{}={}",
                v["id"].as_str().unwrap(),
                v["decision"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(decisions, ["a=Allow", "b=ImplicitDeny", "c=Allow"]);
}

#[test]
fn malformed_policy_exits_2_with_location() {
    let o = run(
        &[
            "check",
            "--policy",
            "fixtures/malformed/effect-lowercase.json",
            "--action",
            "s3:GetObject",
            "--resource",
            "*",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("fixtures/malformed/effect-lowercase.json:5:23: Statement[0].Effect:"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn garbage_bytes_exit_2_without_panic() {
    let mut bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    bytes.splice(0..0, b"{\"Statement\":".iter().copied());
    let o = run(
        &[
            "check",
            "--policy",
            "-",
            "--action",
            "s3:GetObject",
            "--resource",
            "*",
        ],
        Some(&bytes),
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("<stdin>:1:"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn missing_policy_file_exits_2() {
    let o = run(
        &[
            "check",
            "--policy",
            "no/such/file.json",
            "--action",
            "s3:GetObject",
            "--resource",
            "*",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("error: no/such/file.json: cannot read: "),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_requests_exit_2() {
    let base = ["check", "--policy", CONSOLE];
    let cases: [(&[&str], &str); 4] = [
        (
            &["--action", "s3GetObject", "--resource", "*"],
            "error: action \"s3GetObject\" is not of the form service:ActionName (without wildcards)\n",
        ),
        (
            &["--action", "s3:GetObject", "--resource", "notes/x"],
            "error: resource \"notes/x\" is not an ARN (arn:partition:service:region:account:resource) or '*'\n",
        ),
        (
            &[
                "--action",
                "s3:GetObject",
                "--resource",
                "*",
                "--context",
                "novalue",
            ],
            "error: --context \"novalue\" is not KEY=VALUE\n",
        ),
        (
            &[
                "--action",
                "s3:GetObject",
                "--resource",
                "*",
                "--identity",
                "a",
                "--context",
                "cognito-identity.amazonaws.com:sub=b",
            ],
            "error: --identity and --context cognito-identity.amazonaws.com:sub=... both set the identity; give one\n",
        ),
    ];
    for (extra, message) in cases {
        let args: Vec<&str> = base.iter().chain(extra.iter()).copied().collect();
        let o = run(&args, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(stderr(&o), message);
    }
}

#[test]
fn typed_context_value_that_does_not_parse_is_an_error() {
    let policy = br#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}}"#;
    let o = run(
        &[
            "check",
            "--policy",
            "-",
            "--action",
            "s3:GetObject",
            "--resource",
            "*",
            "--context",
            "aws:SourceIp=office",
        ],
        Some(policy),
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: request value \"office\" for aws:SourceIp is not an IP address (required by IpAddress)\n"
    );
}

const SEED_001: &str = "fixtures/templates/seed-001/serverless.yml";
const SEED_001_PARAMS: [&str; 6] = [
    "--param",
    "ApiGatewayRestApi=a1b2c3d4e5",
    "--param",
    "AttachmentsBucket.Arn=arn:aws:s3:::notes-app-uploads",
    "--param",
    "CognitoIdentityPool=us-east-1:11111111-2222-3333-4444-555555555555",
];

#[test]
fn template_check_runs_the_cognito_flow() {
    let mut args = vec!["check", "--template", SEED_001];
    args.extend(SEED_001_PARAMS);
    args.extend([
        "--identity",
        "us-east-1:abc",
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/a.txt",
    ]);
    let o = run(&args, None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("Decision: Allow\n"), "{out}");
    for step in [
        "1. identity-pool: passed",
        "2. role-attachment: passed",
        "3. trust-policy: passed",
        "4. permissions: passed",
    ] {
        assert!(out.contains(step), "{step} missing in {out}");
    }
    args.push("--unauthenticated");
    args.extend(["--format", "json"]);
    let o = run(&args, None);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o),
        "{\"id\":null,\"decision\":\"ImplicitDeny\",\"statements\":[],\"steps\":[{\"step\":\"identity-pool\",\"passed\":false,\"detail\":\"identity pool CognitoIdentityPool has AllowUnauthenticatedIdentities: false, so an unauthenticated identity gets no credentials\"}],\"explanation\":[]}\n"
    );
}

#[test]
fn template_missing_values_are_all_listed() {
    let o = run(
        &[
            "check",
            "--template",
            SEED_001,
            "--identity",
            "us-east-1:abc",
            "--action",
            "s3:GetObject",
            "--resource",
            "*",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("value(s) the template needs are not given"),
        "{err}"
    );
    for name in ["ApiGatewayRestApi", "AttachmentsBucket.Arn"] {
        assert!(err.contains(name), "{name} not listed: {err}");
    }
    // The identity pool's own id is bound in the flow: no value to give.
    assert!(!err.contains("CognitoIdentityPool"), "{err}");
}

#[test]
fn show_output_pipes_into_check() {
    let mut args = vec!["show", "--template", SEED_001];
    args.extend(&SEED_001_PARAMS[..4]);
    let shown = run(&args, None);
    assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
    let o = run(
        &[
            "check",
            "--policy",
            "-",
            "--identity",
            "us-east-1:abc",
            "--action",
            "s3:PutObject",
            "--resource",
            "arn:aws:s3:::notes-app-uploads/private/us-east-1:abcd/x",
        ],
        Some(&shown.stdout),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("Decision: ImplicitDeny\n"));
}

#[test]
fn template_role_checks_its_policies_alone() {
    let o = run(
        &[
            "check",
            "--template",
            "fixtures/templates/fn-sub/template.yml",
            "--role",
            "AppRole",
            "--identity",
            "us-east-1:abc",
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/x",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        concat!(
            r#"{"id":null,"decision":"Allow","statements":[{"policy":"fixtures/templates/fn-sub/template.yml#AppRole/Objects","index":0,"sid":null,"effect":"Allow","policy_type":"identity"}],"#,
            r#""explanation":["#,
            r#"{"policy":"fixtures/templates/fn-sub/template.yml#AppRole/Objects","index":0,"sid":null,"effect":"Allow","policy_type":"identity","applies":true,"outcome":"applies","reason":"applies (resource matched by arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/*)"},"#,
            r#"{"policy":"fixtures/templates/fn-sub/template.yml#AppRole/ApiPolicy","index":0,"sid":null,"effect":"Allow","policy_type":"identity","applies":false,"outcome":"action_not_matched","reason":"action not matched by Action [execute-api:Invoke]"},"#,
            r#"{"policy":"fixtures/templates/fn-sub/template.yml#AppRole/ListPolicy","index":0,"sid":null,"effect":"Allow","policy_type":"identity","applies":false,"outcome":"action_not_matched","reason":"action not matched by Action [s3:ListBucket]"},"#,
            r#"{"policy":"arn:aws:iam::aws:policy/AmazonCognitoReadOnly","index":0,"sid":null,"effect":"Allow","policy_type":"identity","applies":false,"outcome":"action_not_matched","reason":"action not matched by Action [cognito-identity:Describe*, cognito-identity:Get*, cognito-identity:List*, cognito-idp:Describe*, cognito-idp:AdminGet*, cognito-idp:AdminList*, cognito-idp:List*, cognito-idp:Get*, cognito-sync:Describe*, cognito-sync:Get*, cognito-sync:List*, iam:ListOpenIdConnectProviders, iam:ListRoles, sns:ListPlatformApplications]"}]}"#,
            "\n"
        )
    );
    // The AWS managed policy it names is evaluated from the bundled copy: nothing unseen.
    assert_eq!(stderr(&o), "");
}

#[test]
fn prove_isolation_verdicts_and_exit_codes() {
    let o = run(&["prove", "isolation", "--policy", CONSOLE], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("Verdict: holds\nIdentity format: cognito ("),
        "{}",
        stdout(&o)
    );
    let o = run(
        &[
            "prove",
            "isolation",
            "--policy",
            CONSOLE,
            "--identity-format",
            "any",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["verdict"], "violated");
    assert_eq!(v["identity_format"], "any");
    let c = &v["counterexample"];
    // The counterexample is confirmed by `check`.
    let confirm = run(
        &[
            "check",
            "--policy",
            CONSOLE,
            "--identity",
            c["attacker"].as_str().unwrap(),
            "--action",
            c["action"].as_str().unwrap(),
            "--resource",
            c["resource"].as_str().unwrap(),
        ],
        None,
    );
    assert_eq!(confirm.status.code(), Some(0), "{}", stdout(&confirm));
    // A vacuous policy is unknown (exit 3), bad input is 2.
    let vacuous = br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/*"},{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::b/private/*"}]}"#;
    let o = run(
        &[
            "prove",
            "isolation",
            "--policy",
            "-",
            "--area",
            "arn:aws:s3:::b/private/${cognito-identity.amazonaws.com:sub}/*",
        ],
        Some(vacuous),
    );
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    let o = run(
        &[
            "prove",
            "isolation",
            "--policy",
            CONSOLE,
            "--identity-format",
            "(",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn prove_isolation_from_a_template() {
    let mut args = vec!["prove", "isolation", "--template", SEED_001];
    args.extend(&SEED_001_PARAMS[..4]);
    let o = run(&args, None);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn fuzz_isolation_is_reproducible() {
    let args = [
        "fuzz",
        "isolation",
        "--policy",
        CONSOLE,
        "--identity-format",
        "any",
        "--seed",
        "7",
        "--format",
        "json",
    ];
    let first = run(&args, None);
    let second = run(&args, None);
    assert_eq!(first.status.code(), Some(1));
    assert_eq!(first.stdout, second.stdout);
    let o = run(
        &[
            "fuzz",
            "isolation",
            "--policy",
            "policies/corrected-auth-role.json",
            "--cases",
            "500",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        "No counterexample in 500 case(s) (seed 1, identity format cognito). Sampling cannot prove isolation: use `policy-sim prove isolation`.\n"
    );
}

#[test]
fn lint_reads_file_names_literally_and_exits_by_severity() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("lint-cli");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let policies = root().join("policies");
    // `role[prod].json` is that file, not a pattern matching `roled.json`.
    let bracket = dir.join("role[prod].json");
    std::fs::copy(policies.join("console-auth-role.json"), &bracket).unwrap();
    std::fs::copy(
        policies.join("corrected-auth-role.json"),
        dir.join("roled.json"),
    )
    .unwrap();
    let o = run(&["lint", "--policy", bracket.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("role[prod].json:15:5: PS001 error: "), "{out}");
    assert!(
        out.ends_with("4 finding(s): 1 error, 2 warnings, 1 info\n"),
        "{out}"
    );
    // No error or warning: exit 0.
    let o = run(
        &["lint", "--policy", dir.join("roled.json").to_str().unwrap()],
        None,
    );
    assert_eq!(
        (o.status.code(), stdout(&o)),
        (
            Some(0),
            "0 finding(s): 0 errors, 0 warnings, 0 info\n".to_string()
        )
    );
}

#[test]
fn lint_lists_errors_first_and_counts_each_severity() {
    let o = run(
        &["lint", "--policy", "policies/console-auth-role.json"],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let p = "policies/console-auth-role.json";
    assert_eq!(
        stdout(&o),
        format!(
            "{p}:15:5: PS001 error: Statement[1]: arn:aws:s3:::notes-app-uploads/${{cognito-identity.amazonaws.com:sub}}* has a policy variable followed by a wildcard: identity a can read and write the files of every identity whose id starts with a\n  \
             fix: end the variable with a delimiter, e.g. .../${{cognito-identity.amazonaws.com:sub}}/*\n\
             {p}:4:5: PS005 warning: Statement[0]: wildcard action [mobileanalytics:PutEvents, cognito-sync:*, cognito-identity:*] on Resource \"*\"\n  \
             fix: name the actions and resources the principal needs\n\
             {p}:4:5: PS008 warning: Statement[0]: mobileanalytics:PutEvents belongs to a deprecated service (mobileanalytics)\n  \
             fix: remove the action\n\
             {p}:15:5: PS006 info: Statement[1]: s3:* grants every S3 action, bucket policy and ACL changes included\n  \
             fix: grant only what the app uses, e.g. s3:GetObject, s3:PutObject, s3:DeleteObject\n\
             4 finding(s): 1 error, 2 warnings, 1 info\n"
        )
    );
    // JSON: an array (the shape scripts read), in the same order, every key of a finding.
    let o = run(&["lint", "--policy", p, "--format", "json"], None);
    assert_eq!(o.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let findings = json.as_array().unwrap();
    let listed: Vec<(&str, &str, u64)> = findings
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("PS001", "error", 15),
            ("PS005", "warning", 4),
            ("PS008", "warning", 4),
            ("PS006", "info", 15)
        ]
    );
    let keys: Vec<&String> = findings[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "rule",
            "severity",
            "message",
            "file",
            "line",
            "column",
            "hint",
            "sid",
            "statement"
        ]
    );
}

#[test]
fn actions_lists_what_a_pattern_covers() {
    let o = run(&["actions", "s3:GetObjec?", "iam:PassRole"], None);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "s3:GetObject\niam:PassRole\n");
    let o = run(&["actions", "--format", "json", "execute-api:Invoke"], None);
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(json[0]["action"], "execute-api:Invoke");
    assert_eq!(json[0]["resource_types"][1]["name"], "execute-api-general");
    assert_eq!(
        json[0]["resource_types"][1]["arn"],
        "arn:${Partition}:execute-api:${Region}:${Account}:${ApiId}/${Stage}/${Method}/${ApiSpecificResourcePath}"
    );
    // A typo: nothing listed, exit 1, a suggestion.
    let o = run(&["actions", "s3:GetObjcet"], None);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(1), ""));
    assert!(
        stderr(&o)
            .starts_with("s3:GetObjcet is not an action AWS documents (did you mean s3:GetObject,"),
        "{}",
        stderr(&o)
    );
}

/// `check` of `s3:ListBucket` on `resource` with the corrected auth role policy.
fn check_list_bucket(resource: &str) -> Output {
    let policy = root().join("policies/corrected-auth-role.json");
    run(
        &[
            "check",
            "--policy",
            policy.to_str().unwrap(),
            "--identity",
            "us-east-1:abc",
            "--action",
            "s3:ListBucket",
            "--resource",
            resource,
        ],
        None,
    )
}

#[test]
fn check_warns_when_the_action_cannot_apply_to_the_resource() {
    let o = check_list_bucket("arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("warning: s3:ListBucket does not apply to arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/: its resource types are "),
        "{}",
        stderr(&o)
    );
}

/// A template whose role's trust policy admits tokens until 2030 only.
fn dated_trust_template() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-flow-time");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("template.yml");
    std::fs::write(
        &path,
        "Resources:\n  Pool:\n    Type: AWS::Cognito::IdentityPool\n    Properties:\n      AllowUnauthenticatedIdentities: false\n      SupportedLoginProviders: {accounts.google.com: client}\n  Attach:\n    Type: AWS::Cognito::IdentityPoolRoleAttachment\n    Properties:\n      IdentityPoolId: !Ref Pool\n      Roles: {authenticated: !GetAtt Role.Arn}\n  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument:\n        Version: '2012-10-17'\n        Statement:\n          - Effect: Allow\n            Principal: {Federated: cognito-identity.amazonaws.com}\n            Action: sts:AssumeRoleWithWebIdentity\n            Condition:\n              StringEquals: {cognito-identity.amazonaws.com:aud: !Ref Pool}\n              DateLessThan: {aws:CurrentTime: '2030-01-01T00:00:00Z'}\n      Policies:\n        - PolicyName: P\n          PolicyDocument: {Version: '2012-10-17', Statement: [{Effect: Allow, Action: 's3:GetObject', Resource: '*'}]}\n",
    )
    .unwrap();
    path
}

#[test]
fn the_flow_presents_the_token_at_the_request_time() {
    let path = dated_trust_template();
    let at = |time: &str| {
        run(
            &[
                "check",
                "--template",
                path.to_str().unwrap(),
                "--param",
                "Pool=us-east-1:pool",
                "--identity",
                "us-east-1:abc",
                "--action",
                "s3:GetObject",
                "--resource",
                "arn:aws:s3:::b/k",
                "--context",
                &format!("aws:CurrentTime={time}"),
                "--format",
                "json",
            ],
            None,
        )
    };
    let before = at("2029-06-01T00:00:00Z");
    assert_eq!(before.status.code(), Some(0), "{}", stderr(&before));
    assert!(
        stdout(&before)
            .starts_with("{\"id\":null,\"decision\":\"Allow\",\"statements\":[{\"policy\":\""),
        "{}",
        stdout(&before)
    );
    // The trust policy no longer admits the token at the request's time.
    let after = at("2031-06-01T00:00:00Z");
    assert_eq!(after.status.code(), Some(1), "{}", stderr(&after));
    let out = stdout(&after);
    assert!(
        out.contains("{\"step\":\"trust-policy\",\"passed\":false,"),
        "{out}"
    );
}

#[test]
fn cognito_flow_arguments_are_named_by_their_flags() {
    let o = run(
        &[
            "check",
            "--template",
            SEED_001,
            "--action",
            "s3:GetObject",
            "--resource",
            "*",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: the template has an identity pool: the Cognito flow needs --identity ID (or name a role with --role to check its policies alone)\n"
    );
    let o = run(
        &[
            "check",
            "--template",
            "fixtures/templates/fn-sub/template.yml",
            "--identity",
            "us-east-1:abc",
            "--unauthenticated",
            "--action",
            "s3:GetObject",
            "--resource",
            "*",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: --unauthenticated needs the Cognito flow: a template with an identity pool, and no --role\n"
    );
}

#[test]
fn standard_input_is_read_once() {
    let o = run(
        &["prove", "isolation", "--policy", "-", "--policy", "-"],
        Some(b"{}"),
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: standard input (`-`) can be read only once: give `--policy -` once\n"
    );
    let o = run(&["check", "--policy", "-", "--requests", "-"], Some(b"{}"));
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: standard input (`-`) can be used by only one of --policy and --requests\n"
    );
}

#[test]
fn show_prints_one_policy_or_all_under_policies() {
    let template = "fixtures/templates/fn-sub/template.yml";
    let o = run(&["show", "--template", template], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let names: Vec<&str> = v["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Objects", "ApiPolicy", "ListPolicy"]);
    assert!(stdout(&o).starts_with(
        "{\n  \"policies\": [\n    {\n      \"name\": \"Objects\",\n      \"document\": {\n"
    ));
    let o = run(
        &["show", "--template", template, "--only", "ApiPolicy"],
        None,
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["Statement"][0]["Action"], "execute-api:Invoke");
    let o = run(&["show", "--template", template, "--only", "Nope"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).ends_with(
        "error: role AppRole has no policy \"Nope\" (its policies: Objects, ApiPolicy, ListPolicy)\n"
    ), "{}", stderr(&o));
}

#[test]
fn fuzz_text_names_the_counterexample() {
    let o = run(
        &[
            "fuzz",
            "isolation",
            "--policy",
            CONSOLE,
            "--identity-format",
            "any",
            "--seed",
            "7",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.starts_with(
            "Found after 3 case(s) (seed 7, identity format any):\nCounterexample:\n  victim:   identity "
        ),
        "{out}"
    );
    assert!(
        out.contains("\n  allowed by policies/console-auth-role.json Statement[1] (Allow)\n"),
        "{out}"
    );
}

/// The keys of a JSON object, in the order printed.
fn keys(v: &serde_json::Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

#[test]
fn json_outputs_keep_their_field_order() {
    let json = |args: &[&str]| -> serde_json::Value {
        let o = run(args, None);
        serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)))
    };
    let proof = json(&[
        "prove",
        "isolation",
        "--policy",
        CONSOLE,
        "--identity-format",
        "any",
        "--format",
        "json",
    ]);
    assert_eq!(
        keys(&proof),
        [
            "verdict",
            "identity_format",
            "areas",
            "reason",
            "counterexample",
            "assumptions",
            "area_classes",
            "shared",
            "fragile",
            "fix"
        ]
    );
    let counterexample = [
        "attacker",
        "victim",
        "action",
        "resource",
        "statement",
        "context",
        "reach",
        "class",
        "area",
    ];
    assert_eq!(keys(&proof["counterexample"]), counterexample);
    assert_eq!(
        keys(&proof["counterexample"]["statement"]),
        ["policy", "index", "sid", "effect", "policy_type"]
    );
    let holds = json(&[
        "prove",
        "isolation",
        "--policy",
        CONSOLE,
        "--format",
        "json",
    ]);
    assert_eq!(
        keys(&holds),
        [
            "verdict",
            "identity_format",
            "areas",
            "reason",
            "assumptions",
            "area_classes",
            "shared",
            "fragile",
            "fragility"
        ]
    );
    // The seed-003 policy holds for Cognito ids only because they have one length.
    assert_eq!(holds["fragile"], true);
    assert_eq!(holds["fragility"]["format"], "opaque");
    assert_eq!(holds["fragility"]["counterexample"]["attacker"], "ann");
    assert_eq!(holds["fragility"]["counterexample"]["victim"], "anna");
    assert_eq!(
        holds["fragility"]["fix"]["after"],
        "arn:aws:s3:::notes-app-uploads/${cognito-identity.amazonaws.com:sub}/*"
    );
    let fuzz = json(&[
        "fuzz",
        "isolation",
        "--policy",
        CONSOLE,
        "--identity-format",
        "any",
        "--seed",
        "7",
        "--format",
        "json",
    ]);
    assert_eq!(
        keys(&fuzz),
        [
            "found",
            "cases",
            "seed",
            "identity_format",
            "areas",
            "counterexample"
        ]
    );
    assert_eq!(keys(&fuzz["counterexample"]), counterexample);
    let actions = json(&["actions", "--format", "json", "s3:GetObject"]);
    assert_eq!(
        keys(&actions[0]),
        ["action", "access_level", "resource_types", "condition_keys"]
    );
    assert_eq!(
        keys(&actions[0]["resource_types"][0]),
        ["name", "required", "arn"]
    );
    let mut flow_args = vec!["check", "--template", SEED_001];
    flow_args.extend(SEED_001_PARAMS);
    flow_args.extend([
        "--identity",
        "us-east-1:abc",
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/a.txt",
        "--format",
        "json",
    ]);
    let flow = json(&flow_args);
    assert_eq!(
        keys(&flow),
        ["id", "decision", "statements", "steps", "explanation"]
    );
    // The permissions step ran: its deciding statement is listed.
    assert_eq!(
        keys(&flow["statements"][0]),
        ["policy", "index", "sid", "effect", "policy_type"]
    );
    assert_eq!(flow["statements"][0]["index"], 2);
    assert_eq!(keys(&flow["steps"][3]), ["step", "passed", "detail"]);
    assert_eq!(flow["steps"][3]["step"], "permissions");
    // The explanation of the permissions step: every statement of the role's policies.
    assert_eq!(
        keys(&flow["explanation"][2]),
        [
            "policy",
            "index",
            "sid",
            "effect",
            "policy_type",
            "applies",
            "outcome",
            "reason"
        ]
    );
    assert_eq!(flow["explanation"][2]["applies"], true);
    assert_eq!(flow["explanation"].as_array().unwrap().len(), 3);
}

#[test]
fn the_cli_names_the_option_the_library_does_not() {
    // The library says what is needed; the command line adds how to give it.
    let policy = br#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}"#;
    let o = run(
        &[
            "check",
            "--policy",
            "-",
            "--action",
            "s3:GetObject",
            "--resource",
            "*",
        ],
        Some(policy),
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: aws:securetransport is in every AWS request and this statement reads it; give its value (e.g. --context aws:securetransport=...)\n"
    );
}

#[test]
fn template_errors_name_the_options() {
    let check = ["--action", "s3:GetObject", "--resource", "*"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            [
                &[
                    "check",
                    "--template",
                    "fixtures/templates/malformed/two-roles.yml",
                ][..],
                &check,
            ]
            .concat(),
            "choose one with --role (RoleA, RoleB)",
        ),
        (
            [
                &[
                    "check",
                    "--template",
                    "fixtures/templates/malformed/missing-params.yml",
                ][..],
                &check,
            ]
            .concat(),
            "2 value(s) the template needs are not given; supply each with --param NAME=VALUE:\n  Bucket (template parameter), used at fixtures/templates/malformed/missing-params.yml:22:27\n",
        ),
        (
            vec![
                "show",
                "--template",
                "fixtures/templates/cloudformation-json/template.json",
                "--param",
                "ApiId=abc",
                "--param",
                "stage=prod",
            ],
            "error: fixtures/templates/cloudformation-json/template.json: --param stage is never used, but the template asks for Stage: misspelt? (without it, Stage keeps its default)\n",
        ),
        (
            [
                &["check", "--template", "x.yml", "--param", "novalue"][..],
                &check,
            ]
            .concat(),
            "error: --param \"novalue\" is not NAME=VALUE\n",
        ),
    ];
    for (args, want) in cases {
        let o = run(&args, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
fn prover_errors_name_the_options() {
    let base = [
        "prove",
        "isolation",
        "--policy",
        "policies/corrected-auth-role.json",
    ];
    let cases: &[(&[&str], &str)] = &[
        (
            &["--area", "arn:aws:s3:::b/*"],
            "error: --area \"arn:aws:s3:::b/*\" does not mention ${cognito-identity.amazonaws.com:sub}\n",
        ),
        (
            &["--identity-format", "regex:("],
            "error: --identity-format \"regex:(\" is not a valid regular expression: ",
        ),
        (
            &["--identity-format", "Any"],
            "error: --identity-format \"Any\" is not one of cognito, any, regex:<regular expression>\n",
        ),
    ];
    for (extra, want) in cases {
        let args: Vec<&str> = base.iter().chain(extra.iter()).copied().collect();
        let o = run(&args, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).starts_with(want), "{args:?}: {}", stderr(&o));
    }
    let o = run(
        &[
            "prove",
            "isolation",
            "--policy",
            "policies/console-auth-role.json",
            "--area",
            "bucket/*",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("error: --area \"bucket/*\": "),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_error_on_a_very_long_line_is_one_line_not_a_panic() {
    let policy = format!(
        "{{{}\"Version\":\"2012-10-17\",\"Statement\":{{\"Effect\":\"allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}}}}",
        " ".repeat(70_000)
    );
    for command in [
        &["check", "--action", "s3:GetObject", "--resource", "*"][..],
        &["lint"][..],
    ] {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wide-line");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("wide.json");
        std::fs::write(&path, &policy).unwrap();
        let path = path.display().to_string();
        let mut args = vec![command[0], "--policy", &path];
        args.extend_from_slice(&command[1..]);
        let o = run(&args, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.starts_with("error: "), "{err}");
        assert!(
            err.ends_with(":1:70053: Statement.Effect: Effect must be \"Allow\" or \"Deny\" (case-sensitive), found \"allow\"\n"),
            "{err}"
        );
    }
}

#[test]
fn an_absurd_thread_count_is_a_clear_error_not_a_panic() {
    let line = br#"{"id":"a","action":"s3:GetObject","resource":"arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/a.txt","identity":"us-east-1:abc"}"#;
    let args = |threads: &'static str| {
        [
            "check",
            "--policy",
            "policies/corrected-auth-role.json",
            "--requests",
            "-",
            "--threads",
            threads,
        ]
    };
    for threads in [
        "0",
        "257",
        "100000",
        "4294967296",
        "18446744073709551615",
        "x",
    ] {
        let o = run(&args(threads), Some(line));
        assert_eq!(o.status.code(), Some(2), "{threads}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!(
                "invalid value '{threads}' for '--threads <N>': expected a number of threads from 1 to 256"
            )),
            "{}",
            stderr(&o)
        );
        assert!(stdout(&o).is_empty());
    }
    let o = run(&args("256"), Some(line));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("{\"id\":\"a\",\"decision\":\"Allow\""),
        "{}",
        stdout(&o)
    );
}

/// An area that does not compile is the same error for `fuzz` as for `prove` (exit 2),
/// never a run that samples nothing and reports no counterexample.
#[test]
fn fuzz_isolation_rejects_an_invalid_area_like_prove() {
    let args = |command: &'static str| {
        vec![
            command,
            "isolation",
            "--policy",
            "policies/corrected-auth-role.json",
            "--area",
            "nonsense",
        ]
    };
    let prove = run(&args("prove"), None);
    let fuzz = run(&args("fuzz"), None);
    assert_eq!(prove.status.code(), Some(2), "{}", stderr(&prove));
    assert_eq!(fuzz.status.code(), Some(2), "{}", stderr(&fuzz));
    assert!(
        stderr(&fuzz).starts_with("error: --area \"nonsense\": "),
        "{}",
        stderr(&fuzz)
    );
    assert_eq!(stderr(&fuzz), stderr(&prove));
    assert_eq!(stdout(&fuzz), "");
}

#[test]
fn an_empty_identity_is_refused() {
    let o = run(
        &[
            "check",
            "--policy",
            "policies/corrected-auth-role.json",
            "--identity",
            "",
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::notes-app-uploads/private//a.txt",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: the identity is empty (a Cognito identity id never is)\n"
    );
}

#[test]
fn an_action_pattern_that_is_not_one_is_bad_input() {
    for (pattern, want) in [
        (
            "",
            "error: action \"\" is not of the form service:action (or \"*\")\n",
        ),
        (
            "s3:Get\u{1b}[31mObject",
            "error: action \"s3:Get\\u{1b}[31mObject\": the action name after \"s3\" must be non-empty, without ':' or spaces\n",
        ),
    ] {
        let o = run(&["actions", pattern], None);
        assert_eq!(o.status.code(), Some(2), "{pattern:?}");
        assert_eq!(stderr(&o), want);
    }
    // A well-formed pattern that covers nothing is still exit 1.
    let o = run(&["actions", "s3:NoSuchAction"], None);
    assert_eq!(o.status.code(), Some(1));
}

/// A project of its own (a `.git` directory marks its root) with a secret next to it,
/// outside it.
fn project(test: &str) -> (PathBuf, PathBuf) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("root")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("proj/.git")).unwrap();
    std::fs::write(dir.join("secret.env"), "TOKEN=hunter2-do-not-print\n").unwrap();
    (
        dir.join("proj"),
        std::fs::canonicalize(dir.join("proj")).unwrap(),
    )
}

/// Text without white space and frame characters: the graphical renderer wraps long
/// lines.
fn compact(s: &str) -> String {
    s.replace(|c: char| c.is_whitespace() || c == '│', "")
}

const SERVERLESS_ROLE: &str = "resources:\n  Resources:\n    Role:\n      Type: AWS::IAM::Role\n      Properties:\n        AssumeRolePolicyDocument: {Version: '2012-10-17', Statement: [{Effect: Allow, Principal: {Federated: cognito-identity.amazonaws.com}, Action: 'sts:AssumeRoleWithWebIdentity'}]}\n        Policies:\n          - PolicyName: P\n            PolicyDocument:\n              Version: '2012-10-17'\n              Statement:\n                - {Effect: Allow, Action: 's3:GetObject', Resource: '${self:custom.leak}'}\n";

#[test]
fn serverless_file_includes_stay_inside_the_project_root() {
    let (proj, canonical) = project("include");
    for (include, shown) in [
        ("../secret.env", format!("{}/../secret.env", proj.display())),
        ("/etc/passwd", "/etc/passwd".to_string()),
        ("/proc/self/environ", "/proc/self/environ".to_string()),
    ] {
        let template = proj.join("serverless.yml");
        std::fs::write(
            &template,
            format!("service: s\nprovider: {{name: aws}}\ncustom:\n  leak: ${{file({include})}}\n{SERVERLESS_ROLE}"),
        )
        .unwrap();
        let o = run(
            &["show", "--template", &template.display().to_string()],
            None,
        );
        assert_eq!(o.status.code(), Some(2), "{include}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            compact(&err).contains(&compact(&format!(
                "{shown} is outside the project root {}: not read",
                canonical.display()
            ))),
            "{err}"
        );
        assert!(
            !err.contains("hunter2") && !err.contains("root:x:"),
            "{err}"
        );
        assert!(stdout(&o).is_empty());
    }
    // A link inside the project to the file outside it is resolved first.
    let link = proj.join("linked.env");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(proj.join("../secret.env"), &link).unwrap();
    let template = proj.join("serverless.yml");
    std::fs::write(
        &template,
        format!("service: s\nprovider: {{name: aws}}\ncustom:\n  leak: ${{file(linked.env)}}\n{SERVERLESS_ROLE}"),
    )
    .unwrap();
    let o = run(
        &["show", "--template", &template.display().to_string()],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        compact(&stderr(&o)).contains("linked.envisoutsidetheprojectroot"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("hunter2"));
    // `--root` widens the root on purpose: the file is read (and is no ARN).
    let o = run(
        &[
            "show",
            "--root",
            &proj.join("..").display().to_string(),
            "--template",
            &template.display().to_string(),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        compact(&stderr(&o)).contains("isnotanARNpattern"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn every_input_is_read_inside_the_project_root() {
    let (proj, canonical) = project("inputs");
    std::fs::write(
        proj.join("p.json"),
        std::fs::read(root().join(CONSOLE)).unwrap(),
    )
    .unwrap();
    std::fs::write(
        proj.join("../r.jsonl"),
        "{\"action\":\"s3:GetObject\",\"resource\":\"*\"}\n",
    )
    .unwrap();
    let policy = proj.join("p.json").display().to_string();
    let requests = proj.join("../r.jsonl").display().to_string();
    let o = run(
        &["check", "--policy", &policy, "--requests", &requests],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!(
            "error: {requests} is outside the project root {}: not read\n",
            canonical.display()
        )
    );
    let o = run(
        &[
            "check",
            "--policy",
            &policy,
            "--policy",
            "/etc/passwd",
            "--action",
            "s3:GetObject",
            "--resource",
            "*",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("/etc/passwd is outside the project root"),
        "{}",
        stderr(&o)
    );
    // A root the user gives holds both.
    let o = run(
        &[
            "check",
            "--root",
            &proj.join("..").display().to_string(),
            "--policy",
            &policy,
            "--requests",
            &requests,
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(&["lint", "--root", &policy, "--policy", &policy], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot be used: not a directory"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_stream_named_twice_is_refused() {
    let line = b"{\"action\":\"s3:GetObject\",\"resource\":\"*\"}\n";
    for (policy, requests, first, again) in [
        ("/dev/stdin", "/dev/stdin", "/dev/stdin", "/dev/stdin"),
        ("-", "/dev/stdin", "standard input (`-`)", "/dev/stdin"),
        (
            "-",
            "/proc/self/fd/0",
            "standard input (`-`)",
            "/proc/self/fd/0",
        ),
    ] {
        let o = run(
            &[
                "check",
                "--root",
                "/",
                "--policy",
                policy,
                "--requests",
                requests,
            ],
            Some(line),
        );
        assert_eq!(
            o.status.code(),
            Some(2),
            "{policy} {requests}: {}",
            stderr(&o)
        );
        assert_eq!(
            stderr(&o),
            format!("error: {again} and {first} are the same input, which can be read only once\n")
        );
        assert!(stdout(&o).is_empty());
    }
    // Without `--root /` too: a pipe named on the command line is the user's stream.
    let o = run(
        &[
            "check",
            "--policy",
            "/dev/stdin",
            "--requests",
            "/dev/stdin",
        ],
        Some(line),
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: /dev/stdin and /dev/stdin are the same input, which can be read only once\n"
    );
}

#[test]
fn a_pipe_named_on_the_command_line_is_read_like_standard_input() {
    // `--requests <(...)` names /dev/fd/N, a pipe outside the project: it was refused as
    // a file outside the project root. Files stay confined; streams are the user's own.
    let line = br#"{"action":"s3:GetObject","resource":"arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/a","identity":"us-east-1:abc"}"#;
    let o = run(
        &[
            "check",
            "--policy",
            "policies/serverless-stack-auth-role.json",
            "--requests",
            "/dev/stdin",
        ],
        Some(line),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("\"decision\":\"Allow\""),
        "{}",
        stdout(&o)
    );
    let policy = std::fs::read(root().join("policies/serverless-stack-auth-role.json")).unwrap();
    let o = run(
        &[
            "check",
            "--policy",
            "/dev/stdin",
            "--identity",
            "us-east-1:abc",
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/a",
        ],
        Some(&policy),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // A device is no stream: still confined to the project root.
    let o = run(
        &[
            "check",
            "--policy",
            "policies/serverless-stack-auth-role.json",
            "--requests",
            "/dev/zero",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        compact(&stderr(&o)).contains("/dev/zeroisoutsidetheprojectroot"),
        "{}",
        stderr(&o)
    );
}

/// Run with standard output on /dev/full.
fn run_to_full(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_policy-sim"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        )
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_failed_write_names_standard_output() {
    let batch = [
        "check",
        "--policy",
        CONSOLE,
        "--requests",
        "fixtures/batch/clean.jsonl",
    ];
    let single = [
        "check",
        "--policy",
        CONSOLE,
        "--action",
        "s3:GetObject",
        "--resource",
        "*",
    ];
    let show = [
        "show",
        "--template",
        "fixtures/templates/fn-sub/template.yml",
    ];
    let actions = ["actions", "s3:GetObject"];
    for args in [&batch[..], &single[..], &show[..], &actions[..]] {
        let o = run_to_full(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        // (`show` warns first about what it leaves out.)
        assert!(
            stderr(&o)
                .ends_with("error: writing to stdout: No space left on device (os error 28)\n"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn a_closed_pipe_stops_the_batch_quietly() {
    let line = "{\"id\":1,\"action\":\"s3:GetObject\",\"resource\":\"arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/a.txt\",\"identity\":\"us-east-1:abc\"}\n";
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("closed-pipe");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("many.jsonl");
    // Enough requests that deciding them all would take long after the reader left.
    std::fs::write(&path, line.repeat(2_000_000)).unwrap();
    for threads in ["1", "4"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_policy-sim"))
            .args([
                "check",
                "--policy",
                CONSOLE,
                "--threads",
                threads,
                "--requests",
            ])
            .arg(&path)
            .current_dir(root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut first = [0u8; 16];
        let read = std::io::Read::read_exact(&mut out, &mut first);
        drop(out);
        let o = child.wait_with_output().unwrap();
        assert!(
            read.is_ok(),
            "threads {threads}: no output ({:?}): {}",
            o.status,
            stderr(&o)
        );
        assert_eq!(
            o.status.code(),
            Some(141),
            "threads {threads}: {}",
            stderr(&o)
        );
        assert_eq!(stderr(&o), "", "threads {threads}");
    }
    std::fs::remove_file(&path).unwrap();
}

/// Run with standard error on /dev/full (standard output piped).
fn run_with_full_stderr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_policy-sim"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        )
        .output()
        .unwrap()
}

#[test]
fn a_standard_error_that_cannot_be_written_is_no_crash() {
    // An error, a drawn error and a warning (before an Allow): each was a panic (exit
    // 101) when standard error could not be written; the exit code tells the outcome.
    let bad_identity = [
        "check",
        "--policy",
        CONSOLE,
        "--identity",
        "",
        "--action",
        "s3:GetObject",
        "--resource",
        "*",
    ];
    let drawn = [
        "check",
        "--policy",
        "fixtures/malformed/effect-lowercase.json",
        "--action",
        "s3:GetObject",
        "--resource",
        "*",
    ];
    for args in [&bad_identity[..], &drawn[..]] {
        assert_eq!(
            run_with_full_stderr(args).status.code(),
            Some(2),
            "{args:?}"
        );
    }
    let warned = run_with_full_stderr(&[
        "check",
        "--policy",
        CONSOLE,
        "--identity",
        "us-east-1:abc",
        "--action",
        "s3:ListBucket",
        "--resource",
        "arn:aws:s3:::notes-app-uploads/us-east-1:abc/a",
    ]);
    assert!(
        matches!(warned.status.code(), Some(0 | 1)),
        "{:?}",
        warned.status
    );
    assert!(stdout(&warned).starts_with("Decision: "));
}

/// A scratch directory under the build's temporary directory (inside this work tree).
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `t.yml` in `dir`: a template whose role has one policy, named `name` (a YAML scalar),
/// with `statements` (YAML flow sequence items).
fn one_policy_template(dir: &std::path::Path, name: &str, statements: &str) -> PathBuf {
    let template = dir.join("t.yml");
    std::fs::write(
        &template,
        format!(
            "Resources:\n  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      Policies:\n        - PolicyName: {name}\n          PolicyDocument:\n            Version: '2012-10-17'\n            Statement: [{statements}]\n"
        ),
    )
    .unwrap();
    template
}

/// `check --template template` of `s3:GetObject` on `arn:aws:s3:::b/k`, in `format`.
fn get_object_b_k(template: &std::path::Path, format: &str) -> Output {
    let template = template.to_str().unwrap();
    run(
        &[
            "check",
            "--template",
            template,
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::b/k",
            "--format",
            format,
        ],
        None,
    )
}

#[test]
fn control_characters_from_inputs_never_reach_the_terminal() {
    let dir = scratch("escapes");
    // A template policy name (any YAML string), shown in the explanation.
    let template = one_policy_template(
        &dir,
        r#""Own\e]0;pwned\a\e[2K\r\u202eX""#,
        "{Effect: Allow, Action: s3:GetObject, Resource: '*'}",
    );
    let o = get_object_b_k(&template, "text");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(
            "#Role/Own\\u{1b}]0;pwned\\u{7}\\u{1b}[2K\\u{d}\\u{202e}X Statement[0] (Allow): applies"
        ),
        "{}",
        stdout(&o)
    );
    // A file name (and so the message and the snippet's header), and a value in a
    // message.
    let evil = dir.join("e\u{1b}[31mvil.json");
    std::fs::write(
        &evil,
        r#"{"Version":"2012-10-17","Statement":{"Effect":"allow","Action":"s3:*","Resource":"*"}}"#,
    )
    .unwrap();
    let resource = dir.join("r.json");
    std::fs::write(
        &resource,
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b\u001b[2J"}}"#,
    )
    .unwrap();
    let bad = run(
        &[
            "check",
            "--policy",
            evil.to_str().unwrap(),
            "--action",
            "s3:GetObject",
            "--resource",
            "*",
        ],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
    let err = stderr(&bad);
    assert!(err.contains("e\\u{1b}[31mvil.json:1:53"), "{err}");
    let denied = run(
        &[
            "check",
            "--policy",
            resource.to_str().unwrap(),
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::c/k",
        ],
        None,
    );
    assert!(stdout(&denied).contains("not matched by Resource [arn:aws:s3:::b\\u{1b}[2J]"));
    for o in [&o, &bad, &denied] {
        for (name, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
            let text = String::from_utf8_lossy(bytes);
            assert!(
                !text.contains(['\u{1b}', '\u{7}', '\r', '\u{202e}']),
                "{name}: {text:?}"
            );
        }
    }
}

#[test]
fn the_home_directory_and_the_file_system_root_are_no_project_root() {
    // Outside any git work tree (an unpacked archive of the project), run from the home
    // directory or from `/`: the current directory was the root, so a template's
    // include of `../.aws/...` was read and printed.
    let home = std::env::temp_dir().join(format!("policy-sim-home-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(home.join("proj")).unwrap();
    std::fs::write(home.join("secret.yml"), "token: hunter2\n").unwrap();
    let template = home.join("proj/serverless.yml");
    std::fs::write(
        &template,
        "service: x\nprovider:\n  name: aws\nresources:\n  Resources:\n    Role:\n      Type: AWS::IAM::Role\n      Properties:\n        Policies:\n          - PolicyName: Own\n            PolicyDocument:\n              Version: '2012-10-17'\n              Statement:\n                - Effect: Allow\n                  Action: s3:GetObject\n                  Resource: arn:aws:s3:::${file(../secret.yml):token}/*\n",
    )
    .unwrap();
    for (cwd, input) in [
        (home.clone(), PathBuf::from("proj/serverless.yml")),
        (PathBuf::from("/"), template.clone()),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_policy-sim"))
            .args(["show", "--template"])
            .arg(&input)
            .current_dir(&cwd)
            .env("HOME", &home)
            .output()
            .unwrap();
        let (out, err) = (stdout(&o), stderr(&o));
        assert_eq!(
            o.status.code(),
            Some(2),
            "from {}: {out}{err}",
            cwd.display()
        );
        assert!(
            !out.contains("hunter2") && !err.contains("hunter2"),
            "{out}{err}"
        );
        assert!(err.contains("secret.yml is outside the project"), "{err}");
    }
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn a_long_resource_is_shortened_in_warnings() {
    // A 40 KB ARN was echoed in full on stderr; a value is shown up to 120 characters.
    let resource = format!(
        "arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/{}",
        "x".repeat(40_000)
    );
    let o = check_list_bucket(&resource);
    assert_eq!(o.status.code(), Some(1));
    let shown: String = resource.chars().take(120).collect();
    let expected = format!(
        "warning: s3:ListBucket does not apply to {shown}… ({} characters): its resource types are ",
        resource.chars().count()
    );
    assert!(stderr(&o).starts_with(&expected), "{}", stderr(&o));
    assert!(stderr(&o).len() < 2_000, "{}", stderr(&o));
}

#[test]
fn values_with_newlines_cannot_fake_a_line_of_the_report() {
    let dir = scratch("fake-lines");
    // A policy name (any YAML string) that tries to start a line of its own.
    let template = one_policy_template(
        &dir,
        r#""P\nDecision: Allow""#,
        "{Sid: S, Effect: Deny, Action: s3:GetObject, Resource: 'arn:aws:s3:::b/*'}, {Effect: Allow, Action: s3:GetObject, Resource: '*'}",
    );
    let o = get_object_b_k(&template, "text");
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(out.starts_with("Decision: ExplicitDeny\n"), "{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("Decision:")).count(),
        1,
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "Denied by:\n  {}#Role/P\\u{{a}}Decision: Allow Statement[0] (Sid S, Deny)\n",
            template.display()
        )),
        "{out}"
    );
    // JSON output keeps the value: JSON escapes the newline itself.
    let o = get_object_b_k(&template, "json");
    let policy = format!("{}#Role/P\\nDecision: Allow", template.display());
    assert_eq!(
        stdout(&o),
        format!(
            "{{\"id\":null,\"decision\":\"ExplicitDeny\",\"statements\":[{{\"policy\":\"{policy}\",\"index\":0,\"sid\":\"S\",\"effect\":\"Deny\",\"policy_type\":\"identity\"}}],\
             \"explanation\":[\
             {{\"policy\":\"{policy}\",\"index\":0,\"sid\":\"S\",\"effect\":\"Deny\",\"policy_type\":\"identity\",\"applies\":true,\"outcome\":\"applies\",\"reason\":\"applies (resource matched by arn:aws:s3:::b/*)\"}},\
             {{\"policy\":\"{policy}\",\"index\":1,\"sid\":null,\"effect\":\"Allow\",\"policy_type\":\"identity\",\"applies\":true,\"outcome\":\"applies\",\"reason\":\"applies (resource matched by *)\"}}]}}\n"
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_line_break_in_an_error_cannot_start_a_line_of_its_own() {
    // Gate errors print on one line (`error: MESSAGE`); a policy name holding a line break
    // started a line `Decision: Allow` of its own in the CI log.
    let (proj, _) = project("error-line-break");
    std::fs::write(
        proj.join("t.yml"),
        "Resources:\n  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument: {Version: '2012-10-17', Statement: [{Effect: Allow, Principal: {Federated: cognito-identity.amazonaws.com}, Action: 'sts:AssumeRoleWithWebIdentity'}]}\n      Policies:\n        - PolicyName: \"P\\nDecision: Allow\"\n          PolicyDocument: {Version: '2012-10-17', Statement: [{Effect: Maybe, Action: 's3:*', Resource: '*'}]}\n",
    )
    .unwrap();
    std::fs::write(proj.join("gate.yml"), "template: {file: t.yml}\n").unwrap();
    let o = run(
        &[
            "gate",
            "--config",
            &proj.join("gate.yml").display().to_string(),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("\n  Decision: Allow"), "{err}");
    assert!(
        !err.lines().any(|l| l.starts_with("Decision")),
        "a line of its own: {err}"
    );
}

// Every policy type: --principal, --resource-policy, --resource-account, --boundary,
// --session-policy, --scp, --rcp.

const TYPES: &str = "fixtures/policy-types";
const SESSION: &str = "arn:aws:sts::123456789012:assumed-role/AuthRole/s1";
const CORRECTED: &str = "policies/corrected-auth-role.json";

fn types_path(file: &str) -> String {
    format!("{TYPES}/{file}")
}

/// `check --policy CORRECTED` with `extra`, on `action` and `resource`.
fn check_types(extra: &[&str], action: &str, resource: &str) -> Output {
    let mut args = vec![
        "check",
        "--policy",
        CORRECTED,
        "--action",
        action,
        "--resource",
        resource,
    ];
    args.extend(extra);
    run(&args, None)
}

#[test]
fn every_policy_type_is_explained_with_its_result() {
    let (bucket, scp, rcp) = (
        types_path("bucket-public.json"),
        format!("root={}", types_path("scp-allow-all.json")),
        format!("root={}", types_path("rcp-tls.json")),
    );
    let args = [
        "--principal",
        SESSION,
        "--resource-policy",
        &bucket,
        "--scp",
        &scp,
        "--rcp",
        &rcp,
        "--context",
        "aws:SecureTransport=true",
    ];
    let object = "arn:aws:s3:::notes-app-uploads/public/x";
    let o = check_types(&args, "s3:GetObject", object);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "Decision: Allow\n\
         Request:  s3:GetObject on arn:aws:s3:::notes-app-uploads/public/x\n\
         Principal: arn:aws:sts::123456789012:assumed-role/AuthRole/s1 (AssumedRole)\n\
         resource account 123456789012, the principal's: give --resource-account for a bucket in another account\n\
         Decided by: resource\n\
         Allowed by:\n\
         \x20 scp root fixtures/policy-types/scp-allow-all.json Statement[0] (Allow)\n\
         \x20 resource fixtures/policy-types/bucket-public.json Statement[0] (Sid PublicRead, Allow)\n\
         Policy types:\n\
         \x20 identity: ImplicitDeny (no statement applies)\n\
         \x20 scp root: Allow (fixtures/policy-types/scp-allow-all.json Statement[0] (Allow))\n\
         \x20 rcp root: Allow (implicit RCPFullAWSAccess)\n\
         \x20 resource: Allow (fixtures/policy-types/bucket-public.json Statement[0] (Sid PublicRead, Allow); names the principal directly)\n\
         Statements:\n\
         \x20 identity policies/corrected-auth-role.json Statement[0] (Sid OwnPrivateFolderObjects, Allow): resource not matched by Resource [arn:aws:s3:::notes-app-uploads/private/${cognito-identity.amazonaws.com:sub}/*]; ${cognito-identity.amazonaws.com:sub} has no value in the request, so its pattern matches nothing\n\
         \x20 identity policies/corrected-auth-role.json Statement[1] (Sid ListOwnPrivateFolder, Allow): action not matched by Action [s3:ListBucket]\n\
         \x20 identity policies/corrected-auth-role.json Statement[2] (Sid InvokeNotesApi, Allow): action not matched by Action [execute-api:Invoke]\n\
         \x20 scp root fixtures/policy-types/scp-allow-all.json Statement[0] (Allow): applies (resource matched by *)\n\
         \x20 rcp root fixtures/policy-types/rcp-tls.json Statement[0] (Sid EnforceTls, Deny): condition not met: BoolIfExists aws:SecureTransport: request value(s) [\"true\"] do not satisfy policy value(s) [\"false\"]\n\
         \x20 resource fixtures/policy-types/bucket-public.json Statement[0] (Sid PublicRead, Allow): applies (resource matched by arn:aws:s3:::notes-app-uploads/public/*)\n"
    );
    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    let o = check_types(&json_args, "s3:GetObject", object);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        concat!(
            r#"{"id":null,"decision":"Allow","statements":[{"policy":"fixtures/policy-types/scp-allow-all.json","index":0,"sid":null,"effect":"Allow","policy_type":"scp","level":"root"},{"policy":"fixtures/policy-types/bucket-public.json","index":0,"sid":"PublicRead","effect":"Allow","policy_type":"resource"}],"#,
            r#""decided_by":"resource","principal":"arn:aws:sts::123456789012:assumed-role/AuthRole/s1","resource_account":{"account":"123456789012","source":"principal"},"cross_account":false,"#,
            r#""results":[{"policy_type":"identity","applies":true,"decision":"ImplicitDeny","statements":[]},"#,
            r#"{"policy_type":"scp","level":"root","applies":true,"decision":"Allow","statements":[{"policy":"fixtures/policy-types/scp-allow-all.json","index":0,"sid":null,"effect":"Allow","policy_type":"scp","level":"root"}]},"#,
            r#"{"policy_type":"rcp","level":"root","applies":true,"decision":"Allow","statements":[]},"#,
            r#"{"policy_type":"resource","resource":null,"applies":true,"decision":"Allow","grant":"direct","statements":[{"policy":"fixtures/policy-types/bucket-public.json","index":0,"sid":"PublicRead","effect":"Allow","policy_type":"resource"}]}],"#,
            // Every statement of every type, in the order of the text's `Statements:`.
            r#""explanation":["#,
            r#"{"policy":"policies/corrected-auth-role.json","index":0,"sid":"OwnPrivateFolderObjects","effect":"Allow","policy_type":"identity","applies":false,"outcome":"resource_not_matched","reason":"resource not matched by Resource [arn:aws:s3:::notes-app-uploads/private/${cognito-identity.amazonaws.com:sub}/*]; ${cognito-identity.amazonaws.com:sub} has no value in the request, so its pattern matches nothing"},"#,
            r#"{"policy":"policies/corrected-auth-role.json","index":1,"sid":"ListOwnPrivateFolder","effect":"Allow","policy_type":"identity","applies":false,"outcome":"action_not_matched","reason":"action not matched by Action [s3:ListBucket]"},"#,
            r#"{"policy":"policies/corrected-auth-role.json","index":2,"sid":"InvokeNotesApi","effect":"Allow","policy_type":"identity","applies":false,"outcome":"action_not_matched","reason":"action not matched by Action [execute-api:Invoke]"},"#,
            r#"{"policy":"fixtures/policy-types/scp-allow-all.json","index":0,"sid":null,"effect":"Allow","policy_type":"scp","level":"root","applies":true,"outcome":"applies","reason":"applies (resource matched by *)"},"#,
            r#"{"policy":"fixtures/policy-types/rcp-tls.json","index":0,"sid":"EnforceTls","effect":"Deny","policy_type":"rcp","level":"root","applies":false,"outcome":"condition_not_met","reason":"condition not met: BoolIfExists aws:SecureTransport: request value(s) [\"true\"] do not satisfy policy value(s) [\"false\"]"},"#,
            r#"{"policy":"fixtures/policy-types/bucket-public.json","index":0,"sid":"PublicRead","effect":"Allow","policy_type":"resource","applies":true,"outcome":"applies","reason":"applies (resource matched by arn:aws:s3:::notes-app-uploads/public/*)"}]}"#,
            "\n"
        )
    );
    // Over plain HTTP the RCP denies, and says so.
    let mut http = args.to_vec();
    http[9] = "aws:SecureTransport=false";
    let o = check_types(&http, "s3:GetObject", object);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("Decided by: rcp root\nDenied by:\n  rcp root fixtures/policy-types/rcp-tls.json Statement[0] (Sid EnforceTls, Deny)\n"), "{text}");
    assert!(text.contains("\n  rcp root: ExplicitDeny (fixtures/policy-types/rcp-tls.json Statement[0] (Sid EnforceTls, Deny))\n"), "{text}");
}

/// The lines of `text` from `Decided by:` up to `Statements:`.
fn verdict_lines(text: &str) -> String {
    let start = text.find("Decided by:").expect("a Decided by line");
    let end = text.find("Statements:").expect("a Statements line");
    text[start..end].to_string()
}

#[test]
fn cross_account_needs_the_identity_side_too() {
    let bucket = types_path("bucket-public.json");
    let o = check_types(
        &[
            "--principal",
            "arn:aws:sts::111122223333:assumed-role/AuthRole/s1",
            "--resource-account",
            "123456789012",
            "--resource-policy",
            &bucket,
        ],
        "s3:GetObject",
        "arn:aws:s3:::notes-app-uploads/public/x",
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains(
            "\nCross-account: the principal's account 111122223333, the resource's 123456789012\n"
        ),
        "{text}"
    );
    assert!(!text.contains("the principal's: give"), "{text}");
    assert_eq!(
        verdict_lines(&text),
        "Decided by: identity\n\
         The identity step does not allow the request, so it is denied by default.\n\
         Policy types:\n\
         \x20 identity: ImplicitDeny (no statement applies)\n\
         \x20 resource: Allow (fixtures/policy-types/bucket-public.json Statement[0] (Sid PublicRead, Allow); names the principal directly)\n"
    );
}

#[test]
fn boundary_and_session_policies_limit_the_identity_side() {
    let own = "arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/a";
    let (bucket, boundary, session) = (
        types_path("bucket-role.json"),
        types_path("boundary-sqs.json"),
        types_path("session-public.json"),
    );
    let o = check_types(
        &[
            "--principal",
            SESSION,
            "--identity",
            "us-east-1:abc",
            "--resource-policy",
            &bucket,
            "--boundary",
            &boundary,
        ],
        "s3:GetObject",
        own,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        verdict_lines(&stdout(&o)),
        "Decided by: boundary\n\
         The boundary step does not allow the request, so it is denied by default.\n\
         Policy types:\n\
         \x20 identity: Allow (policies/corrected-auth-role.json Statement[0] (Sid OwnPrivateFolderObjects, Allow))\n\
         \x20 resource: Allow (fixtures/policy-types/bucket-role.json Statement[0] (Sid RoleReads, Allow); names the principal's role)\n\
         \x20 boundary: ImplicitDeny (no statement applies)\n"
    );
    // Two session policies are one set: an Allow in either is enough.
    let public = types_path("session-public.json");
    let everything = types_path("scp-allow-all.json");
    for (policies, code, decided) in [
        (vec![session.as_str()], 1, "Decided by: session\n"),
        (
            vec![public.as_str(), everything.as_str()],
            0,
            "Decided by: identity\n",
        ),
    ] {
        let mut args = vec!["--principal", SESSION, "--identity", "us-east-1:abc"];
        for p in &policies {
            args.extend(["--session-policy", p]);
        }
        let o = check_types(&args, "s3:GetObject", own);
        assert_eq!(o.status.code(), Some(code), "{}", stderr(&o));
        assert!(
            verdict_lines(&stdout(&o)).starts_with(decided),
            "{}",
            stdout(&o)
        );
    }
}

#[test]
fn scp_levels_each_need_an_allow() {
    let (root_allow, ou_sqs, ou_deny) = (
        format!("root={}", types_path("scp-allow-all.json")),
        format!("ou={}", types_path("scp-only-sqs.json")),
        format!("ou={}", types_path("scp-deny-delete.json")),
    );
    let object = "arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/a";
    let base = ["--principal", SESSION, "--identity", "us-east-1:abc"];
    // The OU level allows SQS only: an implicit deny at that level.
    let mut args = base.to_vec();
    args.extend(["--scp", &root_allow, "--scp", &ou_sqs]);
    let o = check_types(&args, "s3:GetObject", object);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        verdict_lines(&stdout(&o)).starts_with(
            "Decided by: scp ou\nThe scp ou step does not allow the request, so it is denied by default.\n"
        ),
        "{}",
        stdout(&o)
    );
    // Files with the same label are one level: the OU's second SCP gives the Allow.
    let ou_all = format!("ou={}", types_path("scp-allow-all.json"));
    args.extend(["--scp", &ou_all, "--scp", &ou_deny]);
    let o = check_types(&args, "s3:GetObject", object);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = check_types(&args, "s3:DeleteObject", object);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Decided by: scp ou\nDenied by:\n  scp ou fixtures/policy-types/scp-deny-delete.json Statement[0] (Sid NoDeletes, Deny)\n"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn policy_type_errors_name_the_flag() {
    let api = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes";
    let (bucket, session, scp, rcp_allow) = (
        types_path("bucket-public.json"),
        types_path("session-public.json"),
        types_path("scp-allow-all.json"),
        format!("root={}", types_path("rcp-allow.json")),
    );
    let bare_scp = scp.clone();
    let empty_level = format!("={scp}");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--resource-policy", &bucket],
            "error: a resource policy is given, so the request needs its principal (the caller's ARN): give --principal\n",
        ),
        (
            vec![
                "--principal",
                "arn:aws:iam::123456789012:user/alice",
                "--session-policy",
                &session,
            ],
            "error: session policies apply only to role and federated user sessions; the principal \"arn:aws:iam::123456789012:user/alice\" is an IAM user\n",
        ),
        (
            vec!["--principal", SESSION, "--resource-account", "444455556666"],
            "error: the resource \"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes\" is in account 123456789012, not 444455556666 (given with --resource-account)\n",
        ),
        (
            vec!["--principal", SESSION, "--resource-account", "12345"],
            "error: --resource-account \"12345\" is not an account id (12 digits)\n",
        ),
        (
            vec!["--resource-account", "123456789012"],
            "error: --resource-account is compared with the principal's account: give --principal\n",
        ),
        (
            vec!["--principal", "arn:aws:iam::123456789012:role/AuthRole"],
            "error: --principal: \"arn:aws:iam::123456789012:role/AuthRole\" is a role; requests are made by its sessions: give the session ARN, e.g. arn:aws:sts::123456789012:assumed-role/AuthRole/SESSION\n",
        ),
        (
            vec!["--principal", SESSION, "--scp", &bare_scp],
            "error: invalid value 'fixtures/policy-types/scp-allow-all.json' for '--scp <LEVEL=FILE>': expected LEVEL=FILE, e.g. root=scp.json (LEVEL: root, an OU, the account)\n\nFor more information, try '--help'.\n",
        ),
        (
            vec!["--principal", SESSION, "--rcp", &empty_level],
            "error: invalid value '=fixtures/policy-types/scp-allow-all.json' for '--rcp <LEVEL=FILE>': expected LEVEL=FILE, e.g. root=scp.json (LEVEL: root, an OU, the account)\n\nFor more information, try '--help'.\n",
        ),
    ];
    for (args, message) in cases {
        let o = check_types(&args, "execute-api:Invoke", api);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), message, "{args:?}");
        assert_eq!(stdout(&o), "", "{args:?}");
    }
    // A file outside the project root is not read.
    let o = check_types(
        &["--principal", SESSION, "--boundary", "/etc/passwd"],
        "execute-api:Invoke",
        api,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("error: /etc/passwd is outside the project root "),
        "{}",
        stderr(&o)
    );
    // An RCP that allows is not an RCP: the file, line and column are shown.
    let o = check_types(
        &["--principal", SESSION, "--rcp", &rcp_allow],
        "execute-api:Invoke",
        api,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o)
            .contains("fixtures/policy-types/rcp-allow.json:3:96: Statement[0]: an RCP may use"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_cognito_flow_decides_with_the_policy_types_given() {
    let flow = |extra: &[&str], resource: &str| {
        let mut args = vec!["check", "--template", SEED_001];
        args.extend(SEED_001_PARAMS);
        args.extend(["--identity", "us-east-1:abc", "--action", "s3:GetObject"]);
        args.extend(["--resource", resource]);
        args.extend(extra);
        run(&args, None)
    };
    let public = "arn:aws:s3:::notes-app-uploads/public/a.txt";
    let own = "arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/a.txt";
    let bucket = types_path("bucket-public.json");
    // The role's policies do not reach public/: the bucket policy's "*" grant does, for
    // the role session Cognito creates (the default principal).
    let o = flow(&[], public);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let o = flow(&["--resource-policy", &bucket], public);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("with every policy type decide Allow (resource policy)"),
        "{}",
        stdout(&o)
    );
    // A boundary that allows only SQS takes the role's own grant away.
    let o = flow(&[], own);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = flow(&["--boundary", &types_path("boundary-sqs.json")], own);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("decide ImplicitDeny (boundary policy)"),
        "{}",
        stdout(&o)
    );
    // A session policy for a principal that is not a session is refused.
    let o = flow(
        &[
            "--principal",
            "arn:aws:iam::123456789012:user/alice",
            "--session-policy",
            &types_path("session-public.json"),
        ],
        own,
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: session policies apply only to role and federated user sessions; the principal \"arn:aws:iam::123456789012:user/alice\" is an IAM user\n"
    );
}

#[test]
fn batch_lines_take_the_flags_and_may_name_their_principal() {
    let (bucket, rcp) = (
        types_path("bucket-public.json"),
        format!("root={}", types_path("rcp-tls.json")),
    );
    for threads in ["1", "2"] {
        let o = run(
            &[
                "check",
                "--policy",
                CORRECTED,
                "--requests",
                "fixtures/batch/principals.jsonl",
                "--principal",
                SESSION,
                "--resource-policy",
                &bucket,
                "--rcp",
                &rcp,
                "--threads",
                threads,
            ],
            None,
        );
        assert_eq!(
            o.status.code(),
            Some(2),
            "a malformed line makes the exit code 2"
        );
        assert_eq!(
            stdout(&o),
            concat!(
                r#"{"id":"public-tls","decision":"Allow","statements":[{"policy":"fixtures/policy-types/bucket-public.json","index":0,"sid":"PublicRead","effect":"Allow","policy_type":"resource"}],"decided_by":"resource"}"#,
                "\n",
                r#"{"id":"public-http","decision":"ExplicitDeny","statements":[{"policy":"fixtures/policy-types/rcp-tls.json","index":0,"sid":"EnforceTls","effect":"Deny","policy_type":"rcp","level":"root"}],"decided_by":"rcp"}"#,
                "\n",
                r#"{"id":"own-folder","decision":"Allow","statements":[{"policy":"policies/corrected-auth-role.json","index":0,"sid":"OwnPrivateFolderObjects","effect":"Allow","policy_type":"identity"}],"decided_by":"identity"}"#,
                "\n",
                r#"{"id":"user","decision":"ImplicitDeny","statements":[],"decided_by":"identity"}"#,
                "\n",
                r#"{"line":5,"error":"principal: \"arn:aws:iam::123456789012:role/AuthRole\" is a role; requests are made by its sessions: give the session ARN, e.g. arn:aws:sts::123456789012:assumed-role/AuthRole/SESSION"}"#,
                "\n"
            )
        );
        assert_eq!(stderr(&o), "4 request(s) decided, 1 line(s) failed\n");
    }
    // Without --principal, a line without its own cannot be decided with a bucket policy.
    let o = run(
        &[
            "check",
            "--policy",
            CORRECTED,
            "--requests",
            "fixtures/batch/principals.jsonl",
            "--resource-policy",
            &bucket,
        ],
        None,
    );
    let out = stdout(&o);
    assert!(
        out.starts_with("{\"line\":1,\"error\":\"a resource policy is given, so the request needs its principal (the caller's ARN)\"}\n"),
        "{out}"
    );
    assert!(
        out.contains("{\"id\":\"user\",\"decision\":\"ImplicitDeny\","),
        "{out}"
    );
}

#[test]
fn a_templates_dangerous_bucket_policy_breaks_isolation_and_check_confirms_it() {
    let params = ["--param", "CognitoIdentityPool=us-east-1:pool"];
    let prove = |file: &str| {
        let mut args = vec!["prove", "isolation", "--template", file, "--format", "json"];
        args.extend(params);
        run(&args, None)
    };
    let o = prove("fixtures/templates/cognito-dangerous-bucket-policy.yml");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let proof: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(proof["verdict"], "violated");
    let c = &proof["counterexample"];
    assert_eq!(c["statement"]["policy_type"], "resource");
    assert_eq!(c["statement"]["sid"], "PublicReadPrivate");
    assert_eq!(
        c["principal"],
        "arn:aws:sts::123456789012:assumed-role/CognitoAuthRole/CognitoIdentityCredentials"
    );
    // `check` runs the Cognito flow for the attacker and allows the request, by the
    // bucket policy.
    let mut args = vec![
        "check",
        "--template",
        "fixtures/templates/cognito-dangerous-bucket-policy.yml",
        "--identity",
        c["attacker"].as_str().unwrap(),
        "--action",
        c["action"].as_str().unwrap(),
        "--resource",
        c["resource"].as_str().unwrap(),
    ];
    args.extend(params);
    let contexts: Vec<String> = c["context"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{k}={}", v[0].as_str().unwrap()))
        .collect();
    for kv in &contexts {
        args.extend(["--context", kv.as_str()]);
    }
    let o = run(&args, None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("decide Allow (resource policy)"),
        "{}",
        stdout(&o)
    );
    // The safe variant (its bucket policy only denies plain HTTP) holds.
    let o = prove("fixtures/templates/cognito-safe-bucket-policy.yml");
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn lint_reads_resource_policies_from_flags_and_templates() {
    let o = run(
        &[
            "lint",
            "--policy",
            CORRECTED,
            "--resource-policy",
            &types_path("bucket-public.json"),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).starts_with(&format!(
        "{}:4:5: PS015 error: Statement[0]: Allow of [s3:GetObject] to every principal (\"*\") with no Condition\n",
        types_path("bucket-public.json")
    )), "{}", stdout(&o));
    // A boundary may allow everything: the rules about broad grants do not apply to it.
    let o = run(
        &[
            "lint",
            "--policy",
            CORRECTED,
            "--boundary",
            &types_path("scp-allow-all.json"),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = run(
        &[
            "lint",
            "--template",
            "fixtures/templates/cognito-dangerous-bucket-policy.yml",
            "--param",
            "CognitoIdentityPool=us-east-1:pool",
        ],
        None,
    );
    assert!(
        stdout(&o).contains("fixtures/templates/cognito-dangerous-bucket-policy.yml:"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains(": PS015 error: Statement[0]: Allow of [s3:GetObject] to every principal (\"*\") with no Condition"));
    let o = run(
        &["lint", "--policy", CORRECTED, "--principal", SESSION],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: lint reads policies: --principal and --resource-account do not apply\n"
    );
}

#[test]
fn a_principal_may_have_no_identity_based_policies() {
    let o = run(
        &[
            "check",
            "--principal",
            SESSION,
            "--resource-policy",
            &types_path("bucket-role.json"),
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::notes-app-uploads/x",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let line: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(line["decided_by"], "resource");
    assert_eq!(line["results"][0]["policy_type"], "identity");
    assert_eq!(line["results"][0]["decision"], "ImplicitDeny");
    // Without a principal, identity-based policies are needed.
    let o = run(
        &["check", "--action", "s3:GetObject", "--resource", "*"],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--policy <FILE>"), "{}", stderr(&o));
}

#[test]
fn a_guest_is_scoped_down_by_cognitos_session_policy() {
    let guest = |action: &str, resource: &str| {
        run(
            &[
                "check",
                "--template",
                "fixtures/templates/policy-types/guests-broad.yml",
                "--param",
                "IdentityPool=us-east-1:pool",
                "--unauthenticated",
                "--identity",
                "us-east-1:abc",
                "--action",
                action,
                "--resource",
                resource,
                "--format",
                "json",
            ],
            None,
        )
    };
    // The guest role allows iam:ListUsers, the enhanced flow's session policy does not.
    let o = guest("iam:ListUsers", "*");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let line: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(line["decided_by"], "session");
    assert_eq!(stderr(&o), "");
    let o = guest("s3:GetObject", "arn:aws:s3:::notes/public/a");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let line: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        line["statements"][1]["policy"],
        "AmazonCognitoUnAuthedIdentitiesSessionPolicy"
    );
    assert_eq!(line["statements"][1]["policy_type"], "session");
}

#[test]
fn an_scp_path_of_another_account_does_not_bind_the_principal_and_says_why() {
    let o = run(
        &[
            "check",
            "--policy",
            CORRECTED,
            "--principal",
            SESSION,
            "--identity",
            "us-east-1:abc",
            "--scp",
            &format!("999988887777={}", types_path("scp-only-sqs.json")),
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/x",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("  scp 999988887777: does not apply: the organization path ends in another account than the principal's, taken as outside the organization\n"), "{}", stdout(&o));
    // The same SCPs for the principal's own account deny.
    let o = run(
        &[
            "check",
            "--policy",
            CORRECTED,
            "--principal",
            SESSION,
            "--identity",
            "us-east-1:abc",
            "--scp",
            &format!("123456789012={}", types_path("scp-only-sqs.json")),
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/x",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Decided by: scp 123456789012\n"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn fuzz_refuses_to_answer_when_a_sampled_request_cannot_be_decided() {
    let o = run(
        &[
            "fuzz",
            "isolation",
            "--policy",
            &types_path("deny-by-userid.json"),
            "--area",
            "arn:aws:s3:::notes-app-uploads/private/${cognito-identity.amazonaws.com:sub}/*",
            "--principal",
            SESSION,
            "--cases",
            "100",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("error: a sampled request cannot be decided, so sampling cannot answer: s3:GetObject on arn:aws:s3:::notes-app-uploads/private/"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).ends_with(": aws:userid is in every request signed with AWS credentials and this statement reads it; give its value\n"), "{}", stderr(&o));
}

#[test]
fn a_huge_principal_is_refused_and_shortened() {
    let big = format!(
        "arn:aws:sts::123456789012:assumed-role/R/{}",
        "a*".repeat(30_000)
    );
    let o = run(
        &[
            "check",
            "--policy",
            CORRECTED,
            "--principal",
            &big,
            "--action",
            "s3:GetObject",
            "--resource",
            "*",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).len() < 1_000, "{}", stderr(&o).len());
    assert!(
        stderr(&o).contains("… (60041 characters) is not a principal ARN"),
        "{}",
        stderr(&o)
    );
}

/// `prove isolation --template` on an identity pool without `--role`: every role the pool
/// hands out, the worst verdict deciding.
fn prove_pool_json(fixture: &str) -> (Option<i32>, serde_json::Value) {
    let out = run(
        &[
            "prove",
            "isolation",
            "--template",
            &format!("fixtures/templates/pool-roles/{fixture}"),
            "--format",
            "json",
        ],
        None,
    );
    let json = serde_json::from_str(stdout(&out).trim()).unwrap_or_else(|e| {
        panic!("{fixture}: {e}: {} {}", stdout(&out), stderr(&out));
    });
    (out.status.code(), json)
}

/// The (role, kind, verdict, vacuous) of each role of a pool proof.
fn pool_roles(json: &serde_json::Value) -> Vec<(String, String, String, bool)> {
    json["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["role"].as_str().unwrap().to_string(),
                r["kind"].as_str().unwrap().to_string(),
                r["verdict"].as_str().unwrap().to_string(),
                r["vacuous"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn role(name: &str, kind: &str, verdict: &str, vacuous: bool) -> (String, String, String, bool) {
    (name.into(), kind.into(), verdict.into(), vacuous)
}

#[test]
fn prove_isolation_on_a_pool_proves_every_role_and_a_guest_must_not_reach_a_signed_in_area() {
    let (code, json) = prove_pool_json("guest-and-rule.yml");
    assert_eq!(code, Some(1));
    assert_eq!(json["verdict"], "violated");
    assert_eq!(
        pool_roles(&json),
        [
            role("AuthRole", "authenticated", "holds", false),
            role("GuestRole", "unauthenticated", "violated", false),
            role("StaffRole", "mapped", "violated", false),
        ]
    );
    assert_eq!(json["identity_pool"], "IdentityPool");
    assert_eq!(json["deciding_role"], "GuestRole");
    assert_eq!(
        json["roles"][1]["via"],
        "RoleAttachment Roles.unauthenticated"
    );
    assert_eq!(
        json["roles"][2]["via"],
        "RoleAttachment RoleMappings google (Type Rules: rule 1)"
    );
    // The existing keys stay, for the deciding role.
    for key in [
        "identity_format",
        "areas",
        "reason",
        "assumptions",
        "shared",
    ] {
        assert!(json.get(key).is_some(), "{key} is kept");
    }
    assert_eq!(
        json["areas"],
        serde_json::json!(["arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}/*"])
    );
    // The guest's counterexample is confirmed by `check` through the Cognito flow, as a
    // guest (the scope-down session policy taking part).
    let c = &json["counterexample"];
    assert_eq!(c, &json["roles"][1]["counterexample"]);
    assert_eq!(
        c["principal"],
        "arn:aws:sts::123456789012:assumed-role/GuestRole/CognitoIdentityCredentials"
    );
    assert_eq!(c["action"], "s3:GetObject");
    let resource = c["resource"].as_str().unwrap();
    let victim = c["victim"].as_str().unwrap();
    assert!(resource.starts_with(&format!("arn:aws:s3:::notes/private/{victim}/")));
    let mut args: Vec<String> = [
        "check",
        "--template",
        "fixtures/templates/pool-roles/guest-and-rule.yml",
        "--param",
        "IdentityPool=us-east-1:11111111-2222-4333-8444-555555555555",
        "--unauthenticated",
        "--identity",
        c["attacker"].as_str().unwrap(),
        "--action",
        "s3:GetObject",
        "--resource",
        resource,
        "--format",
        "json",
    ]
    .map(String::from)
    .to_vec();
    for (k, vs) in c["context"].as_object().unwrap() {
        for v in vs.as_array().unwrap() {
            args.push("--context".into());
            args.push(format!("{k}={}", v.as_str().unwrap()));
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let checked: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(checked["decision"], "Allow");
}

#[test]
fn prove_isolation_on_a_correct_pool_holds_and_a_guest_without_an_area_does_not_make_it_unknown() {
    let (code, json) = prove_pool_json("correct.yml");
    assert_eq!(code, Some(0));
    assert_eq!(json["verdict"], "holds");
    assert_eq!(
        pool_roles(&json),
        [
            role("AuthRole", "authenticated", "holds", false),
            role("GuestRole", "unauthenticated", "holds", true),
            role("StaffRole", "mapped", "holds", false),
        ]
    );
    assert_eq!(
        json["roles"][1]["reason"],
        "for identities that are Cognito identity ids: <region>:<lowercase UUID>, e.g. us-east-1:9bd0357e-2ac1-418d-a609-bc5e7bc064e3 (all the same length after the colon, none contains '/'), no Allow statement reaches a resource inside another identity's area that no applicable Deny excludes; no identity reaches its own area either (tried us-east-1:7f3a9c2e-4b1d-4e8a-9c6f-2d5b8e1a0c3f): these policies give no access to the areas"
    );
    // `--role` proves that role alone, as before: the guest role by itself has no area.
    let out = run(
        &[
            "prove",
            "isolation",
            "--template",
            "fixtures/templates/pool-roles/correct.yml",
            "--role",
            "GuestRole",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: no area to check: no Allow statement's Resource mentions ${cognito-identity.amazonaws.com:sub} (under Version 2012-10-17); name one with --area\n"
    );
}

#[test]
fn prove_isolation_on_a_pool_fails_closed_on_a_role_outside_the_template() {
    let (code, json) = prove_pool_json("outside-role.yml");
    assert_eq!(code, Some(3));
    assert_eq!(json["verdict"], "unknown");
    assert_eq!(
        json["reason"],
        "role arn:aws:iam::123456789012:role/ExternalStaff is not a role of this template: its policies cannot be seen"
    );
    assert_eq!(
        pool_roles(&json),
        [
            role("AuthRole", "authenticated", "holds", false),
            role("GuestRole", "unauthenticated", "holds", true),
            role(
                "arn:aws:iam::123456789012:role/ExternalStaff",
                "mapped",
                "unknown",
                false
            ),
        ]
    );
}

#[test]
fn prove_isolation_on_a_pool_prints_one_section_per_role() {
    let out = run(
        &[
            "prove",
            "isolation",
            "--template",
            "fixtures/templates/pool-roles/guest-and-rule.yml",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.starts_with("Verdict: violated\n"), "{text}");
    assert!(
        text.contains(
            "\nRoles of identity pool IdentityPool (the proof above is of GuestRole, unauthenticated):\n"
        ),
        "{text}"
    );
    for line in [
        "\nRole AuthRole (authenticated, RoleAttachment Roles.authenticated): holds\n",
        "\nRole GuestRole (unauthenticated, RoleAttachment Roles.unauthenticated): violated\n",
        "\nRole StaffRole (mapped, RoleAttachment RoleMappings google (Type Rules: rule 1)): violated\n",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
}

/// A request line written to a pipe that stays open is answered before the next line
/// comes (as when following a log with `tail -f`): the reader hands on what has arrived
/// and the writer flushes each block.
#[test]
fn batch_lines_from_a_slow_pipe_are_answered_as_they_come() {
    let line = b"{\"id\":\"one\",\"identity\":\"us-east-1:abc\",\"action\":\"s3:GetObject\",\"resource\":\"arn:aws:s3:::b/k\"}\n";
    for threads in ["1", "2"] {
        let mut child = spawn(&[
            "check",
            "--policy",
            CORRECTED,
            "--threads",
            threads,
            "--requests",
            "-",
        ]);
        let mut input = child.stdin.take().unwrap();
        input.write_all(line).unwrap();
        input.flush().unwrap();
        // The answer is read while the input is still open; a generous bound, so that
        // only an answer held back until the end fails.
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut first = String::new();
            let read = std::io::BufRead::read_line(&mut out, &mut first);
            let _ = tx.send(read.map(|_| first));
            out
        });
        let answer = rx.recv_timeout(std::time::Duration::from_secs(60));
        drop(input);
        let _ = reader.join();
        let o = child.wait_with_output().unwrap();
        let first = answer
            .unwrap_or_else(|_| panic!("threads {threads}: no answer while the input was open"))
            .unwrap();
        assert!(
            first.starts_with("{\"id\":\"one\",\"decision\":\"ImplicitDeny\""),
            "threads {threads}: {first}"
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "threads {threads}: {}",
            stderr(&o)
        );
    }
}

//! Terraform plans and states (`terraform show -json`) read as templates: the notes app's
//! plan and state (`fixtures/templates/terraform/`) decide requests, prove isolation and
//! lint as the CloudFormation templates do; values known only after apply are listed all
//! at once; what could attach a policy to a role and is not read is refused.

use std::path::{Path, PathBuf};

use policy_sim::template::{Params, Template};
use serde_json::Value;

const PLAN: &str = "fixtures/templates/terraform/plan.json";
const STATE: &str = "fixtures/templates/terraform/state.json";
const POOL_ID: &str = "us-east-1:7d3e5b2a-1111-4c2d-9e8f-0a1b2c3d4e5f";
const OWN: &str = "arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/a.txt";
const OTHERS: &str = "arn:aws:s3:::notes-app-uploads/private/us-east-1:xyz/a.txt";
const API: &str = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary run on `args` in `dir`: (exit code, standard output, standard error).
fn run_in(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_policy-sim"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    run_in(&root(), args)
}

/// An error's message as one line: `error: MESSAGE`, or a drawn diagnostic's lines
/// (`  × ...`, `  │ ...`) joined.
fn message(err: &str) -> String {
    let err = without_notes(err);
    let err = err.as_str();
    if let Some(plain) = err.strip_prefix("error: ") {
        return plain.trim_end().to_string();
    }
    let mut out = Vec::new();
    for line in err.lines() {
        let Some(text) = line
            .strip_prefix("  × ")
            .or_else(|| line.strip_prefix("  │ "))
        else {
            break;
        };
        out.push(text.trim());
    }
    out.join(" ")
}

/// Standard error without its `note: ...` lines (what reading the input assumed, said on
/// every run; `the_plan_notes_each_symbolic_binding` checks them).
fn without_notes(err: &str) -> String {
    err.lines()
        .filter(|l| !l.starts_with("note: "))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The trust policy Cognito needs for `amr` and the pool.
fn trust(amr: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"cognito-identity.amazonaws.com"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"cognito-identity.amazonaws.com:aud":"{POOL_ID}"}},"ForAnyValue:StringLike":{{"cognito-identity.amazonaws.com:amr":"{amr}"}}}}}}]}}"#
    )
}

const AUTH_API: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"InvokeNotes","Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/GET/notes"}]}"#;

/// Every value the plan's Cognito flow needs, as `--param` arguments.
fn plan_params() -> Vec<String> {
    let pairs = [
        ("aws_cognito_identity_pool.main", POOL_ID.to_string()),
        (
            "aws_cognito_identity_pool_roles_attachment.main.roles.authenticated",
            "aws_iam_role.auth".to_string(),
        ),
        (
            "aws_cognito_identity_pool_roles_attachment.main.roles.unauthenticated",
            "arn:aws:iam::123456789012:role/notes-guest".to_string(),
        ),
        (
            "aws_iam_role.guest.assume_role_policy",
            trust("unauthenticated"),
        ),
        (
            "data.aws_iam_policy_document.auth_trust.json",
            trust("authenticated"),
        ),
        (
            "module.app.aws_iam_role_policy.auth_api.policy",
            AUTH_API.to_string(),
        ),
        (
            "module.app.aws_api_gateway_rest_api.api",
            "a1b2c3d4e5".to_string(),
        ),
    ];
    pairs
        .iter()
        .flat_map(|(k, v)| ["--param".to_string(), format!("{k}={v}")])
        .collect()
}

/// `check --format json` through the Cognito flow (or with `--role`): (exit code,
/// decision, the deciding policies' names).
fn check(
    file: &str,
    extra: &[&str],
    action: &str,
    resource: &str,
    params: &[String],
) -> (Option<i32>, String, Vec<String>) {
    let mut args = vec![
        "check",
        "--template",
        file,
        "--identity",
        "us-east-1:abc",
        "--action",
        action,
        "--resource",
        resource,
        "--context",
        "aws:SecureTransport=true",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    args.extend(params.iter().map(String::as_str));
    let (code, out, err) = run(&args);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    let deciding = v["statements"]
        .as_array()
        .map(|s| {
            s.iter()
                .map(|s| s["policy"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    (
        code,
        v["decision"].as_str().unwrap_or_default().to_string(),
        deciding,
    )
}

#[test]
fn the_state_decides_the_cognito_flow() {
    let none: &[String] = &[];
    let (code, decision, by) = check(STATE, &[], "s3:GetObject", OWN, none);
    assert_eq!((code, decision.as_str()), (Some(0), "Allow"));
    assert_eq!(
        by,
        [format!(
            "{STATE}#aws_iam_role.auth/aws_iam_role_policy.auth_s3"
        )]
    );
    let (_, decision, _) = check(STATE, &[], "s3:GetObject", OTHERS, none);
    assert_eq!(decision, "ImplicitDeny");
    // The managed policy attached by its ARN (joined to aws_iam_policy.deny_delete).
    let (_, decision, by) = check(STATE, &[], "s3:DeleteObject", OWN, none);
    assert_eq!(decision, "ExplicitDeny");
    assert_eq!(
        by,
        [format!(
            "{STATE}#aws_iam_role.auth/aws_iam_policy.deny_delete"
        )]
    );
    // The policy in module.app, for the API whose id the state knows, and the API's
    // resource policy (set by aws_api_gateway_rest_api_policy).
    let (_, decision, by) = check(STATE, &[], "execute-api:Invoke", API, none);
    assert_eq!(decision, "Allow");
    assert_eq!(
        by,
        [
            format!("{STATE}#aws_iam_role.auth/module.app.aws_iam_role_policy.auth_api"),
            format!("{STATE}#module.app.aws_api_gateway_rest_api.api/Policy")
        ]
    );
    // A guest gets the guest role, which has no access to the bucket.
    let (_, decision, _) = check(STATE, &["--unauthenticated"], "s3:GetObject", OWN, none);
    assert_eq!(decision, "ImplicitDeny");
    // The flow's steps name the addresses.
    let (code, out, err) = run(&[
        "check",
        "--template",
        STATE,
        "--identity",
        "us-east-1:abc",
        "--action",
        "s3:GetObject",
        "--resource",
        OWN,
        "--context",
        "aws:SecureTransport=true",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(&format!("  1. identity-pool: passed - identity pool aws_cognito_identity_pool.main ({POOL_ID}) issues credentials to authenticated identities\n  2. role-attachment: passed - aws_cognito_identity_pool_roles_attachment.main attaches role aws_iam_role.auth for authenticated identities\n")), "{out}");
}

#[test]
fn a_role_is_named_by_its_address_or_its_name() {
    let none: &[String] = &[];
    for role in ["aws_iam_role.auth", "notes-auth"] {
        let (code, decision, _) = check(STATE, &["--role", role], "s3:GetObject", OWN, none);
        assert_eq!((code, decision.as_str()), (Some(0), "Allow"), "{role}");
        let (code, decision, _) = check(STATE, &["--role", role], "s3:GetObject", OTHERS, none);
        assert_eq!(
            (code, decision.as_str()),
            (Some(1), "ImplicitDeny"),
            "{role}"
        );
    }
    let (code, _, err) = run(&["show", "--template", STATE, "--role", "notes-auht"]);
    assert_eq!(code, Some(2));
    assert_eq!(
        message(&err),
        format!(
            "{STATE}:1:1: role \"notes-auht\" not found (did you mean \"notes-auth\"?): the template's AWS::IAM::Role resources are [aws_iam_role.auth, aws_iam_role.guest]"
        )
    );
}

#[test]
fn the_plan_lists_every_value_known_only_after_apply_at_once() {
    let (code, _, err) = run(&[
        "check",
        "--template",
        PLAN,
        "--identity",
        "us-east-1:abc",
        "--action",
        "s3:GetObject",
        "--resource",
        OWN,
        "--context",
        "aws:SecureTransport=true",
    ]);
    assert_eq!(code, Some(2));
    assert_eq!(
        without_notes(&err).trim_end(),
        format!(
            "error: 6 value(s) the template needs are not given; supply each with --param NAME=VALUE:
  aws_cognito_identity_pool_roles_attachment.main.roles.authenticated (known only after apply), used at {PLAN}:521:30
  aws_cognito_identity_pool_roles_attachment.main.roles.unauthenticated (known only after apply), used at {PLAN}:522:32
  aws_iam_role.guest.assume_role_policy (known only after apply), used at {PLAN}:339:33
  data.aws_iam_policy_document.auth_trust.json (known only after apply), used at {PLAN}:304:33
  module.app.aws_api_gateway_rest_api.api (the resource's id, known only after apply), used at {PLAN}:572:21
  module.app.aws_iam_role_policy.auth_api.policy (known only after apply), used at {PLAN}:600:21"
        )
    );
}

#[test]
fn the_plan_with_its_values_decides_like_the_state() {
    let params = plan_params();
    let cases: &[(&[&str], &str, &str, &str)] = &[
        (&[], "s3:GetObject", OWN, "Allow"),
        (&[], "s3:GetObject", OTHERS, "ImplicitDeny"),
        (&[], "s3:DeleteObject", OWN, "ExplicitDeny"),
        (&[], "execute-api:Invoke", API, "Allow"),
        (&["--unauthenticated"], "s3:GetObject", OWN, "ImplicitDeny"),
        (&["--role", "notes-auth"], "s3:PutObject", OWN, "Allow"),
        (
            &["--role", "aws_iam_role.auth"],
            "s3:DeleteObject",
            OWN,
            "ExplicitDeny",
        ),
    ];
    for (extra, action, resource, expected) in cases {
        let (_, plan, plan_by) = check(PLAN, extra, action, resource, &params);
        let (_, state, state_by) = check(STATE, extra, action, resource, &[]);
        assert_eq!(
            (plan.as_str(), state.as_str()),
            (*expected, *expected),
            "{extra:?} {action} {resource}"
        );
        let names = |by: &[String], file: &str| {
            by.iter()
                .map(|p| p.strip_prefix(file).unwrap_or(p).to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&plan_by, PLAN), names(&state_by, STATE));
    }
    // The bound policy: the deny is attached through policy_arn = aws_iam_policy.deny_delete.arn,
    // unknown in the plan; the API policy is the one --param gave.
    let (_, _, by) = check(PLAN, &[], "execute-api:Invoke", API, &params);
    assert_eq!(
        by,
        [
            format!("{PLAN}#aws_iam_role.auth/module.app.aws_iam_role_policy.auth_api"),
            format!("{PLAN}#module.app.aws_api_gateway_rest_api.api/Policy")
        ]
    );
}

#[test]
fn show_asks_for_a_policy_document_and_prints_the_one_given() {
    let (code, _, err) = run(&["show", "--template", PLAN, "--role", "notes-auth"]);
    assert_eq!(code, Some(2));
    assert_eq!(
        without_notes(&err).trim_end(),
        format!(
            "error: 1 value(s) the template needs are not given; supply each with --param NAME=VALUE:\n  module.app.aws_iam_role_policy.auth_api.policy (known only after apply), used at {PLAN}:600:21"
        )
    );
    let param = format!("module.app.aws_iam_role_policy.auth_api.policy={AUTH_API}");
    let (code, out, err) = run(&[
        "show",
        "--template",
        PLAN,
        "--role",
        "notes-auth",
        "--param",
        &param,
    ]);
    assert_eq!(code, Some(0), "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = v["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "aws_iam_role_policy.auth_s3",
            "aws_iam_policy.deny_delete",
            "module.app.aws_iam_role_policy.auth_api"
        ]
    );
    let given: Value = serde_json::from_str(AUTH_API).unwrap();
    assert_eq!(v["policies"][2]["document"], given);
    // The state shows the same documents.
    let (code, state, _) = run(&["show", "--template", STATE, "--role", "aws_iam_role.auth"]);
    assert_eq!(code, Some(0));
    assert_eq!(serde_json::from_str::<Value>(&state).unwrap(), v);
}

/// A scratch directory `dir` holding the state with `from` replaced by `to` (every
/// occurrence).
fn edited_state(dir: &str, from: &str, to: &str) -> PathBuf {
    edited_state_all(dir, &[(from, to)])
}

/// A scratch directory `dir` holding the state with each replacement made.
fn edited_state_all(dir: &str, edits: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("policy-sim-terraform-{}", std::process::id()))
        .join(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = std::fs::read_to_string(root().join(STATE)).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{from}");
        text = text.replace(from, to);
    }
    std::fs::write(dir.join("state.json"), text).unwrap();
    dir
}

#[test]
fn isolation_is_proved_for_the_plan_and_the_state_and_broken_by_a_bucket_policy() {
    let params = plan_params();
    let mut args = vec!["prove", "isolation", "--template", PLAN];
    args.extend(params.iter().map(String::as_str));
    for args in [args, vec!["prove", "isolation", "--template", STATE]] {
        let (code, out, err) = run(&args);
        assert_eq!(code, Some(0), "{out}{err}");
        assert!(out.starts_with("Verdict: holds\n"), "{out}");
        assert!(out.contains("Role aws_iam_role.guest (unauthenticated, aws_cognito_identity_pool_roles_attachment.main Roles.unauthenticated): holds (no area of its own)"), "{out}");
    }
    // A bucket policy that lets every principal read private/* breaks it.
    let dir = edited_state(
        "isolation",
        r#"{\"Sid\":\"TlsOnly\",\"Effect\":\"Deny\""#,
        r#"{\"Sid\":\"PublicPrivate\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::notes-app-uploads/private/*\"},{\"Sid\":\"TlsOnly\",\"Effect\":\"Deny\""#,
    );
    let (code, out, err) = run_in(&dir, &["prove", "isolation", "--template", "state.json"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.starts_with("Verdict: violated\n"), "{out}");
    assert!(
        out.contains("allowed by resource policy state.json#aws_s3_bucket_policy.uploads/PolicyDocument Statement[0] (Sid PublicPrivate, Allow)"),
        "{out}"
    );
    // Without an aws_s3_bucket_policy, the bucket's own (deprecated) `policy` is its
    // bucket policy, and is read.
    let dir = edited_state_all(
        "isolation-own",
        &[
            (
                r#"{\"Sid\":\"TlsOnly\",\"Effect\":\"Deny\""#,
                r#"{\"Sid\":\"PublicPrivate\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::notes-app-uploads/private/*\"},{\"Sid\":\"TlsOnly\",\"Effect\":\"Deny\""#,
            ),
            (
                "\"type\": \"aws_s3_bucket_policy\"",
                "\"type\": \"aws_s3_bucket_notification\"",
            ),
        ],
    );
    let (code, out, err) = run_in(&dir, &["prove", "isolation", "--template", "state.json"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("allowed by resource policy state.json#aws_s3_bucket.uploads.policy/PolicyDocument Statement[0] (Sid PublicPrivate, Allow)"),
        "{out}"
    );
}

#[test]
fn lint_and_gate_point_at_the_file_the_line_and_the_address() {
    let dir = edited_state(
        "lint",
        r#"sub}/*\"},{\"Sid\":\"ListOwnFolder"#,
        r#"sub}*\"},{\"Sid\":\"ListOwnFolder"#,
    );
    let (code, out, err) = run_in(
        &dir,
        &["lint", "--template", "state.json", "--role", "notes-auth"],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        out.starts_with("state.json:130:23: PS001 error: aws_iam_role.auth/aws_iam_role_policy.auth_s3: Statement[0]: arn:aws:s3:::notes-app-uploads/private/${cognito-identity.amazonaws.com:sub}* has a policy variable followed by a wildcard"),
        "{out}"
    );
    std::fs::write(
        dir.join("policy-gate.yml"),
        "template: {file: state.json, role: notes-auth}\nlint: {fail-on: [error]}\n",
    )
    .unwrap();
    let (code, out, err) = run_in(&dir, &["gate"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        out.starts_with(
            "FAIL lint: PS001 error: aws_iam_role.auth/aws_iam_role_policy.auth_s3: Statement[0]: "
        ),
        "{out}"
    );
    assert!(out.contains("[state.json:130:23]\n"), "{out}");
    // A bucket policy's finding names its address too.
    let dir = edited_state(
        "lint-bucket",
        r#"{\"Sid\":\"TlsOnly\",\"Effect\":\"Deny\""#,
        r#"{\"Sid\":\"Public\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::notes-app-uploads/*\"},{\"Sid\":\"TlsOnly\",\"Effect\":\"Deny\""#,
    );
    let (_, out, _) = run_in(
        &dir,
        &["lint", "--template", "state.json", "--role", "notes-auth"],
    );
    assert!(
        out.contains(": PS015 error: aws_s3_bucket_policy.uploads/PolicyDocument: Statement[0]: Allow of [s3:GetObject] to every principal (\"*\") with no Condition"),
        "{out}"
    );
}

/// A plan of `changes` (resource_changes entries) and a configuration `root_module`.
fn plan_text(changes: &str, config: &str) -> String {
    format!(
        "{{\"format_version\": \"1.2\", \"terraform_version\": \"1.9.8\",\n\"resource_changes\": [\n{changes}\n],\n\"configuration\": {{\"root_module\": {config}}}}}\n"
    )
}

fn write(dir: &str, name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("policy-sim-terraform-{}", std::process::id()))
        .join(dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), text).unwrap();
    dir
}

fn change(address: &str, ty: &str, actions: &str, after: &str, unknown: &str) -> String {
    let name = address
        .split('.')
        .nth(1)
        .unwrap()
        .split('[')
        .next()
        .unwrap();
    format!(
        r#"{{"address": {address:?}, "mode": "managed", "type": "{ty}", "name": "{name}", "change": {{"actions": {actions}, "after": {after}, "after_unknown": {unknown}}}}}"#
    )
}

#[test]
fn attachments_that_are_not_read_are_refused_by_name() {
    for ty in [
        "aws_iam_role_policies_exclusive",
        "aws_iam_role_policy_attachments_exclusive",
        "awscc_iam_role_policy",
    ] {
        let text = plan_text(
            &change(
                &format!("{ty}.auth"),
                ty,
                r#"["create"]"#,
                r#"{"role_name": "notes-auth"}"#,
                "{}",
            ),
            "{}",
        );
        let dir = write(ty, "plan.json", &text);
        let (code, _, err) = run_in(&dir, &["show", "--template", "plan.json"]);
        assert_eq!(code, Some(2), "{err}");
        assert_eq!(
            message(&err),
            format!(
                "plan.json:3:1: {ty}.auth has type {ty}, which policy-sim does not read: it could attach policies to a role that would not be checked"
            )
        );
    }
}

#[test]
fn malformed_plans_are_refused_with_their_place() {
    let cases = [
        (
            "truncated",
            "{\"format_version\": \"1.2\", \"terraform_version\": \"1.9.8\",\n \"resource_changes\": [\n",
            "plan.json:3:1: invalid YAML",
        ),
        (
            "changes",
            "{\"format_version\": \"1.2\", \"terraform_version\": \"1.9.8\",\n \"resource_changes\": {\"a\": 1}}\n",
            "plan.json:2:22: resource_changes must be a list",
        ),
        (
            "version",
            "{\"format_version\": \"2.0\", \"terraform_version\": \"9.0.0\", \"values\": {}}\n",
            "plan.json:1:20: Terraform JSON format_version \"2.0\" is not supported (major versions 0 and 1 are)",
        ),
        (
            "raw-state",
            "{\"version\": 4, \"terraform_version\": \"1.9.8\", \"serial\": 3, \"resources\": []}\n",
            "plan.json:1:1: this Terraform file has no format_version: it is a raw state (terraform.tfstate), not the JSON that terraform show -json prints; give that output instead",
        ),
        (
            "action",
            &plan_text(
                &change(
                    "aws_iam_role.r",
                    "aws_iam_role",
                    r#"["explode"]"#,
                    "{}",
                    "{}",
                ),
                "{}",
            ),
            "plan.json:3:110: aws_iam_role.r: unknown change action \"explode\"",
        ),
        (
            "after",
            &plan_text(
                &change(
                    "aws_iam_role.r",
                    "aws_iam_role",
                    r#"["create"]"#,
                    "null",
                    "{}",
                ),
                "{}",
            ),
            "plan.json:3:97: aws_iam_role.r is not destroyed but its change has no \"after\"",
        ),
        (
            "intrinsic",
            &plan_text(
                &change(
                    "aws_iam_role.r",
                    "aws_iam_role",
                    r#"["create"]"#,
                    r#"{"name": {"Ref": "AWS::AccountId"}, "assume_role_policy": "{}"}"#,
                    "{}",
                ),
                "{}",
            ),
            "plan.json:3:139: a value of the plan is a mapping with the single key \"Ref\", which policy-sim would read as a CloudFormation function",
        ),
    ];
    for (name, text, expected) in cases {
        let dir = write(&format!("malformed-{name}"), "plan.json", text);
        let (code, _, err) = run_in(&dir, &["show", "--template", "plan.json"]);
        assert_eq!(code, Some(2), "{name}: {err}");
        assert!(message(&err).starts_with(expected), "{name}: {err}");
    }
}

/// Load a plan written to a scratch directory.
fn load(dir: &str, text: &str, params: &[(&str, &str)]) -> Result<Template, String> {
    let dir = write(dir, "plan.json", text);
    Template::load(&dir.join("plan.json"), Params::from_pairs(params)).map_err(|e| e.to_string())
}

#[test]
fn destroyed_instances_do_not_exist_and_for_each_instances_bind_by_their_own_address() {
    let role = change(
        "aws_iam_role.r",
        "aws_iam_role",
        r#"["no-op"]"#,
        r#"{"name": "app", "assume_role_policy": "{\"Version\":\"2012-10-17\",\"Statement\":[]}", "arn": "arn:aws:iam::123456789012:role/app"}"#,
        "{}",
    );
    let policy = |key: &str, actions: &str| {
        change(
            &format!("aws_iam_policy.p[\"{key}\"]"),
            "aws_iam_policy",
            actions,
            &format!(
                r#"{{"name": "{key}", "policy": "{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::{key}/*\"}}]}}"}}"#
            ),
            r#"{"arn": true}"#,
        )
    };
    let attachment = |name: &str, actions: &str| {
        change(
            &format!("aws_iam_role_policy_attachment.{name}"),
            "aws_iam_role_policy_attachment",
            actions,
            r#"{"role": "app"}"#,
            r#"{"policy_arn": true}"#,
        )
    };
    let changes = [
        role,
        policy("a.b", r#"["create"]"#),
        policy("old", r#"["delete"]"#),
        attachment("a", r#"["create"]"#),
        attachment("old", r#"["delete"]"#),
        change(
            "aws_iam_role_policy.gone",
            "aws_iam_role_policy",
            r#"["delete"]"#,
            r#"{}"#,
            "{}",
        ),
    ]
    .join(",\n");
    let config = r#"{"resources": [
      {"address": "aws_iam_role_policy_attachment.a", "mode": "managed", "type": "aws_iam_role_policy_attachment", "name": "a",
       "expressions": {"role": {"constant_value": "app"}, "policy_arn": {"references": ["aws_iam_policy.p[\"a.b\"].arn", "aws_iam_policy.p[\"a.b\"]", "aws_iam_policy.p"]}}}
    ]}"#;
    let t = load("for-each", &plan_text(&changes, config), &[]).unwrap();
    let addresses: Vec<&str> = t.resources().iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        addresses,
        [
            "aws_iam_role.r",
            "aws_iam_policy.p[\"a.b\"]",
            "aws_iam_role_policy_attachment.a"
        ]
    );
    let rp = t.role_policies("aws_iam_role.r").unwrap();
    let names: Vec<&str> = rp.policies.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["aws_iam_policy.p[\"a.b\"]"]);
    assert_eq!(
        t.notes,
        [
            "a value known only after apply is taken to be the resource its configuration refers to: aws_iam_role_policy_attachment.a.policy_arn = aws_iam_policy.p[\"a.b\"]"
        ]
    );
    assert_eq!(
        t.input.describe(),
        "Terraform plan or state (terraform show -json)"
    );
}

#[test]
fn a_reference_that_cannot_be_followed_is_a_value_to_give() {
    // The policy ARN comes from a local value: which policy it is cannot be told.
    let changes = [
        change(
            "aws_iam_role.r",
            "aws_iam_role",
            r#"["create"]"#,
            r#"{"name": "app", "assume_role_policy": "{}"}"#,
            "{}",
        ),
        change(
            "aws_iam_policy.p",
            "aws_iam_policy",
            r#"["create"]"#,
            r#"{"name": "p", "policy": "{\"Version\":\"2012-10-17\",\"Statement\":[]}"}"#,
            r#"{"arn": true}"#,
        ),
        change(
            "aws_iam_role_policy_attachment.a",
            "aws_iam_role_policy_attachment",
            r#"["create"]"#,
            r#"{}"#,
            r#"{"role": true, "policy_arn": true}"#,
        ),
    ]
    .join(",\n");
    let config = r#"{"resources": [
      {"address": "aws_iam_role_policy_attachment.a", "mode": "managed", "type": "aws_iam_role_policy_attachment", "name": "a",
       "expressions": {"role": {"references": ["aws_iam_role.r.name", "aws_iam_role.r"]}, "policy_arn": {"references": ["local.arn"]}}}
    ]}"#;
    let text = plan_text(&changes, config);
    let t = load("local", &text, &[]).unwrap();
    let e = t.role_policies("aws_iam_role.r").unwrap_err().to_string();
    assert_eq!(
        e,
        "1 value(s) the template needs are not given; supply each as a parameter NAME=VALUE:\n  aws_iam_role_policy_attachment.a.policy_arn (known only after apply), used at "
            .to_string()
            + &write("local", "plan.json", &text).join("plan.json").display().to_string()
            + ":5:216"
    );
    // Given, it is a managed policy named by ARN (its document is then needed).
    let arn = "arn:aws:iam::123456789012:policy/p";
    let t = load(
        "local",
        &text,
        &[("aws_iam_role_policy_attachment.a.policy_arn", arn)],
    )
    .unwrap();
    let rp = t.role_policies("aws_iam_role.r").unwrap();
    assert!(rp.policies.is_empty());
    let attached: Vec<&str> = rp.attached.iter().map(|a| a.arn.as_str()).collect();
    assert_eq!(attached, [arn]);
    assert_eq!(
        t.notes,
        [
            "a value known only after apply is taken to be the resource its configuration refers to: aws_iam_role_policy_attachment.a.role = aws_iam_role.r"
        ]
    );
}

#[test]
fn the_plan_notes_each_symbolic_binding() {
    let t = Template::load(&root().join(PLAN), Params::default()).unwrap();
    assert_eq!(
        t.notes,
        [
            // Attachments and bucket and API policies are read first, to join them; the
            // module's role is reached through the module variable
            // role_id = aws_iam_role.auth.id.
            "7 values known only after apply are taken to be the resources their configuration refers to: \
aws_iam_role_policy_attachment.auth_deny_delete.policy_arn = aws_iam_policy.deny_delete, \
aws_s3_bucket_policy.uploads.bucket = aws_s3_bucket.uploads, \
module.app.aws_api_gateway_rest_api_policy.api.rest_api_id = module.app.aws_api_gateway_rest_api.api, \
aws_iam_role.auth.assume_role_policy = data.aws_iam_policy_document.auth_trust, \
aws_iam_role_policy.auth_s3.role = aws_iam_role.auth, \
aws_cognito_identity_pool_roles_attachment.main.identity_pool_id = aws_cognito_identity_pool.main, \
module.app.aws_iam_role_policy.auth_api.role = aws_iam_role.auth",
            "the resource policy of module.app.aws_api_gateway_rest_api.api is the one module.app.aws_api_gateway_rest_api_policy.api sets",
        ]
    );
    // The destroyed bucket is not there; every other instance of the plan is.
    let addresses: Vec<&str> = t.resources().iter().map(|(k, _)| k.as_str()).collect();
    assert!(!addresses.contains(&"aws_s3_bucket.old_exports"));
    assert_eq!(t.region, "us-east-1");
    assert!(t.region_known);
}

#[test]
fn a_policy_attachment_attaches_to_every_role_it_lists() {
    let role = |name: &str| {
        change(
            &format!("aws_iam_role.{name}"),
            "aws_iam_role",
            r#"["no-op"]"#,
            &format!(r#"{{"name": "{name}", "assume_role_policy": "{{}}"}}"#),
            "{}",
        )
    };
    let changes = [
        role("a"),
        role("b"),
        role("c"),
        change(
            "aws_iam_policy.p",
            "aws_iam_policy",
            r#"["no-op"]"#,
            r#"{"name": "p", "arn": "arn:aws:iam::123456789012:policy/p", "policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}]}"}"#,
            "{}",
        ),
        change(
            "aws_iam_policy_attachment.mine",
            "aws_iam_policy_attachment",
            r#"["no-op"]"#,
            r#"{"name": "mine", "roles": ["a", "b"], "policy_arn": "arn:aws:iam::123456789012:policy/p"}"#,
            "{}",
        ),
        change(
            "aws_iam_policy_attachment.aws",
            "aws_iam_policy_attachment",
            r#"["no-op"]"#,
            r#"{"name": "aws", "roles": ["b"], "policy_arn": "arn:aws:iam::aws:policy/AmazonCognitoReadOnly"}"#,
            "{}",
        ),
    ]
    .join(",\n");
    let t = load("policy-attachment", &plan_text(&changes, "{}"), &[]).unwrap();
    let of = |role: &str| {
        let rp = t.role_policies(role).unwrap();
        let names: Vec<String> = rp.policies.iter().map(|p| p.name.clone()).collect();
        let arns: Vec<String> = rp.attached.iter().map(|a| a.arn.clone()).collect();
        (names, arns)
    };
    assert_eq!(
        of("aws_iam_role.a"),
        (vec!["aws_iam_policy.p".to_string()], vec![])
    );
    assert_eq!(
        of("aws_iam_role.b"),
        (
            vec!["aws_iam_policy.p".to_string()],
            vec!["arn:aws:iam::aws:policy/AmazonCognitoReadOnly".to_string()]
        )
    );
    assert_eq!(of("aws_iam_role.c"), (vec![], vec![]));
}

#[test]
fn proving_the_plan_lists_every_value_the_pool_roles_need_at_once() {
    // Not the trust policies: proving isolation reads the roles' permissions, not who may
    // assume them.
    let (code, _, err) = run(&["prove", "isolation", "--template", PLAN]);
    assert_eq!(code, Some(2));
    assert_eq!(
        without_notes(&err).trim_end(),
        format!(
            "error: 4 value(s) the template needs are not given; supply each with --param NAME=VALUE:
  aws_cognito_identity_pool_roles_attachment.main.roles.authenticated (known only after apply), used at {PLAN}:521:30
  aws_cognito_identity_pool_roles_attachment.main.roles.unauthenticated (known only after apply), used at {PLAN}:522:32
  module.app.aws_api_gateway_rest_api.api (the resource's id, known only after apply), used at {PLAN}:572:21
  module.app.aws_iam_role_policy.auth_api.policy (known only after apply), used at {PLAN}:600:21"
        )
    );
}

#[test]
fn a_value_given_with_param_wins_over_a_binding() {
    // The plan binds aws_iam_role_policy.auth_s3.role to aws_iam_role.auth through its
    // configuration; a --param for it is what the user knows better.
    let (code, _, err) = run(&["show", "--template", PLAN, "--role", "aws_iam_role.guest"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("error: role aws_iam_role.guest has no policies"),
        "{err}"
    );
    let (code, out, err) = run(&[
        "show",
        "--template",
        PLAN,
        "--role",
        "aws_iam_role.guest",
        "--param",
        "aws_iam_role_policy.auth_s3.role=notes-guest",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("\"Sid\": \"OwnPrivateFolder\""), "{out}");
    assert!(
        !err.contains("aws_iam_role_policy.auth_s3.role = aws_iam_role.auth"),
        "{err}"
    );
}

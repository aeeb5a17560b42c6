//! Templates without guesswork, driving the built binary as a new user would: every
//! missing value listed in one run, an identity pool's own id needing no `--param`,
//! `--param` names checked (Serverless `self:` paths, did-you-mean), hints for a template
//! given to `--policy` and for YAML that lost its line breaks, a warning for a Cognito
//! policy variable without `--identity`; and CloudFormation's `AWS::LanguageExtensions`
//! (`Fn::ForEach`, `Fn::Length`, `Fn::ToJsonString`, `Fn::FindInMap` defaults),
//! `Fn::GetAZs` and `Condition`s deciding what exists.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary run on `args` from `dir`: (exit code, standard output, standard error).
fn run_in(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_policy-sim"))
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

/// A drawn error's message (the lines after `×`/`│`, before the snippet), with all white
/// space removed: the renderer wraps long lines at its own width.
fn drawn(stderr: &str) -> String {
    let mut out = String::new();
    for line in stderr.lines() {
        if line.contains('╭') {
            break;
        }
        out.push_str(line.trim_start().trim_start_matches(['×', '│']));
    }
    squash(&out)
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

const PLAIN: &str = "fixtures/templates/ux/seed-001-plain.yml";
const SEED_001: &str = "fixtures/templates/seed-001/serverless.yml";
const OWN_FILE: &str = "arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/a.txt";

fn flow(template: &str, params: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["check", "--template", template];
    for p in params {
        args.extend(["--param", p]);
    }
    args.extend([
        "--identity",
        "us-east-1:abc",
        "--action",
        "s3:GetObject",
        "--resource",
        OWN_FILE,
    ]);
    run(&args)
}

#[test]
fn a_plain_cloudformation_file_lists_every_missing_value_in_one_run() {
    // Before: `Ref: ApiGatewayRestApi` (defined by the larger stack, not in this file)
    // stopped the run, and the other values came one run at a time.
    let (code, out, err) = flow(PLAIN, &[]);
    assert_eq!((code, out.as_str()), (Some(2), ""));
    assert_eq!(
        err,
        format!(
            "error: 2 value(s) the template needs are not given; supply each with --param NAME=VALUE:\n  \
             ApiGatewayRestApi (Ref to a name the template does not define), used at {PLAIN}:96:25\n  \
             AttachmentsBucket.Arn (Fn::GetAtt), used at {PLAIN}:108:25\n"
        )
    );
    // The two values given, the flow runs: no pool id was asked for.
    let (code, out, err) = flow(
        PLAIN,
        &[
            "ApiGatewayRestApi=a1b2c3d4e5",
            "AttachmentsBucket.Arn=arn:aws:s3:::notes-app-uploads",
        ],
    );
    assert_eq!((code, err.as_str()), (Some(0), ""), "{out}");
    assert!(out.contains("  1. identity-pool: passed - identity pool CognitoIdentityPool (us-east-1:00000000-0000-0000-0000-000000000000, standing for the id AWS assigns: every Ref to the pool and the token's aud use it) issues credentials to authenticated identities\n"), "{out}");
    assert!(out.contains("  3. trust-policy: passed - the trust policy of CognitoAuthRole allows sts:AssumeRoleWithWebIdentity for this token\n"), "{out}");
}

#[test]
fn a_misspelt_name_of_the_template_is_still_its_error() {
    // A Ref one letter off a defined name is a typo, not a value of the larger stack.
    let dir = std::env::temp_dir().join(format!("policy-sim-ux-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(root().join(PLAIN))
        .unwrap()
        .replace(
            "Fn::GetAtt: [AttachmentsBucket, Arn]",
            "Fn::GetAtt: [AttachmentBucket, Arn]",
        );
    std::fs::write(dir.join("t.yml"), text).unwrap();
    let (code, _, err) = run_in(
        &dir,
        &[
            "show",
            "--template",
            "t.yml",
            "--param",
            "ApiGatewayRestApi=x",
        ],
    );
    assert_eq!(code, Some(2));
    assert_eq!(
        drawn(&err),
        squash(
            "t.yml:108:25: Fn::GetAtt AttachmentBucket.Arn: the template has no resource \"AttachmentBucket\" (did you mean \"AttachmentsBucket\"?)"
        )
    );
}

#[test]
fn resource_policies_and_the_role_lack_values_together() {
    // The bucket policy's values (the bucket's generated name, an import) and the role's
    // (a parameter without default) in one list, with --role as without.
    let t = "fixtures/templates/ux/missing-everywhere.yml";
    let expected = format!(
        "error: 3 value(s) the template needs are not given; supply each with --param NAME=VALUE:\n  \
         Stage (template parameter), used at {t}:38:27\n  \
         Uploads (Ref to a resource), used at {t}:11:15, {t}:18:23\n  \
         trusted-account (Fn::ImportValue export), used at {t}:21:39\n"
    );
    for role in [None, Some("AppRole")] {
        let mut args = vec!["check", "--template", t];
        if let Some(r) = role {
            args.extend(["--role", r]);
        }
        args.extend(["--action", "s3:GetObject", "--resource", "arn:aws:s3:::x/y"]);
        let (code, _, err) = run(&args);
        assert_eq!((code, err.as_str()), (Some(2), expected.as_str()));
    }
}

#[test]
fn the_pool_id_is_bound_consistently_and_a_given_one_wins() {
    let api = "ApiGatewayRestApi=a1b2c3d4e5";
    let bucket = "AttachmentsBucket.Arn=arn:aws:s3:::notes-app-uploads";
    let (code, out, _) = flow(SEED_001, &[api, bucket]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("identity pool CognitoIdentityPool (us-east-1:00000000-0000-0000-0000-000000000000, standing for the id AWS assigns"), "{out}");
    // Given, the real id is used and said as it is.
    let given = "CognitoIdentityPool=us-east-1:11111111-2222-3333-4444-555555555555";
    let (code, out, _) = flow(SEED_001, &[api, bucket, given]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("  1. identity-pool: passed - identity pool CognitoIdentityPool (us-east-1:11111111-2222-3333-4444-555555555555) issues credentials to authenticated identities\n"), "{out}");
    // The bound id is the token's aud: a token from another pool is still refused.
    let (code, out, _) = run(&[
        "check",
        "--template",
        SEED_001,
        "--param",
        api,
        "--param",
        bucket,
        "--identity",
        "us-east-1:abc",
        "--context",
        "cognito-identity.amazonaws.com:aud=us-east-1:99999999-0000-0000-0000-000000000000",
        "--action",
        "s3:GetObject",
        "--resource",
        OWN_FILE,
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("  3. trust-policy: DENIED - the trust policy of CognitoAuthRole does not let cognito-identity.amazonaws.com assume it for this token (ImplicitDeny)\n"), "{out}");
    // A pool in a trust policy that names another pool by its literal id is not this one.
    let (code, out, _) = flow("fixtures/templates/trust/wrong-pool.yml", &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("3. trust-policy: DENIED"), "{out}");
}

#[test]
fn serverless_self_paths_are_settable_and_unknown_params_are_errors() {
    let t = "fixtures/templates/ux/sls-custom/serverless.yml";
    let show = |params: &[&str]| {
        let mut args = vec!["show", "--template", t];
        for p in params {
            args.extend(["--param", p]);
        }
        run(&args)
    };
    let (code, _, err) = show(&[]);
    assert_eq!(
        (code, err.as_str()),
        (
            Some(2),
            format!(
                "error: 1 value(s) the template needs are not given; supply each with --param NAME=VALUE:\n  \
                 self:custom.stage (Serverless variable), used at {t}:24:29\n"
            )
            .as_str()
        )
    );
    // The spelling the error suggests works.
    let (code, out, err) = show(&["self:custom.stage=prod"]);
    assert_eq!((code, err.as_str()), (Some(0), ""));
    assert!(
        out.contains("\"Resource\": \"arn:aws:s3:::prod-uploads/*\""),
        "{out}"
    );
    // A name that matches nothing: an error with the name it most likely meant.
    let (code, _, err) = show(&["stage=prod"]);
    assert_eq!(
        (code, err.as_str()),
        (
            Some(2),
            format!(
                "error: {t}: --param stage names nothing the template defines or uses (did you mean --param self:custom.stage=...?)\n"
            )
            .as_str()
        )
    );
    // Serverless's own options mean something even where the file does not use them.
    let (code, _, err) = show(&["self:custom.stage=prod", "opt:stage=prod"]);
    assert_eq!((code, err.as_str()), (Some(0), ""));
    let (code, _, err) = show(&["self:custom.stage=prod", "opt:bucket=x"]);
    assert_eq!(
        (code, err.as_str()),
        (
            Some(2),
            format!("error: {t}: --param opt:bucket names nothing the template defines or uses\n")
                .as_str()
        )
    );
}

#[test]
fn a_case_typo_in_a_param_is_named() {
    let (code, _, err) = flow(
        SEED_001,
        &[
            "ApiGatewayRestAPI=a1b2c3d4e5",
            "AttachmentsBucket.Arn=arn:aws:s3:::notes-app-uploads",
        ],
    );
    assert_eq!(
        (code, err.as_str()),
        (
            Some(2),
            format!("error: {SEED_001}: --param ApiGatewayRestAPI names nothing the template defines or uses (did you mean --param ApiGatewayRestApi=...?)\n").as_str()
        )
    );
    let (code, _, err) = flow(
        PLAIN,
        &[
            "ApiGatewayRestApi=a1b2c3d4e5",
            "AttachmentsBucket.ARN=arn:aws:s3:::notes-app-uploads",
        ],
    );
    assert_eq!(
        (code, err.as_str()),
        (
            Some(2),
            format!("error: {PLAIN}: --param AttachmentsBucket.ARN names nothing the template defines or uses (did you mean --param AttachmentsBucket.Arn=...?)\n").as_str()
        )
    );
}

#[test]
fn another_roles_value_is_a_legitimate_param() {
    // The template has two roles; the value of the other's policy is no error.
    let t = "fixtures/templates/ux/two-roles.yml";
    let (code, out, err) = run(&[
        "show",
        "--template",
        t,
        "--role",
        "ReaderRole",
        "--param",
        "WriterTable=notes",
    ]);
    assert_eq!((code, err.as_str()), (Some(0), ""), "{out}");
}

#[test]
fn a_template_given_to_policy_points_to_template() {
    let cases = [
        (
            SEED_001,
            "fixtures/templates/seed-001/serverless.yml:1:1: (document): expected value\nhint: fixtures/templates/seed-001/serverless.yml looks like a Serverless Framework service, not an IAM policy: read it with --template fixtures/templates/seed-001/serverless.yml",
        ),
        (
            "fixtures/templates/cloudformation-json/template.json",
            "fixtures/templates/cloudformation-json/template.json:2:30: AWSTemplateFormatVersion: unknown element \"AWSTemplateFormatVersion\" (expected one of Version, Id, Statement)\nhint: fixtures/templates/cloudformation-json/template.json looks like a CloudFormation template, not an IAM policy: read it with --template fixtures/templates/cloudformation-json/template.json",
        ),
        (
            "fixtures/templates/ux/foreach.yml",
            "fixtures/templates/ux/foreach.yml:1:1: (document): expected value\nhint: fixtures/templates/ux/foreach.yml looks like a CloudFormation template, not an IAM policy: read it with --template fixtures/templates/ux/foreach.yml",
        ),
    ];
    for (file, message) in cases {
        let (code, _, err) = run(&[
            "check",
            "--policy",
            file,
            "--action",
            "s3:GetObject",
            "--resource",
            "*",
        ]);
        assert_eq!(code, Some(2), "{file}");
        assert_eq!(drawn(&err), squash(message), "{file}: {err}");
    }
    let (code, _, err) = run(&[
        "check",
        "--policy",
        "fixtures/templates/seed-001",
        "--action",
        "s3:GetObject",
        "--resource",
        "*",
    ]);
    assert_eq!(
        (code, err.as_str()),
        (
            Some(2),
            "error: fixtures/templates/seed-001: cannot read: Is a directory (os error 21)\n  hint: fixtures/templates/seed-001 is a directory: --policy reads IAM policy files; a template (or another deploy input) is read with --template FILE\n"
        )
    );
    // A policy that is not valid gets no hint.
    let (code, _, err) = run(&[
        "check",
        "--policy",
        "fixtures/malformed/effect-lowercase.json",
        "--action",
        "s3:GetObject",
        "--resource",
        "*",
    ]);
    assert_eq!(code, Some(2));
    assert!(!err.contains("hint:"), "{err}");
}

#[test]
fn a_role_typo_lists_the_roles() {
    let (code, _, err) = run(&[
        "show",
        "--template",
        "fixtures/templates/cognito-dangerous-bucket-policy.yml",
        "--role",
        "CognitoAuthRol",
    ]);
    assert_eq!(code, Some(2));
    assert_eq!(
        drawn(&err),
        squash(
            "fixtures/templates/cognito-dangerous-bucket-policy.yml:5:1: role \"CognitoAuthRol\" not found (did you mean \"CognitoAuthRole\"?): the template's AWS::IAM::Role resources are [CognitoAuthRole]"
        )
    );
}

#[test]
fn yaml_that_lost_its_line_breaks_says_so() {
    // Seed 002's template as the blog shows it: every line break lost.
    let (code, _, err) = run(&[
        "show",
        "--template",
        "fixtures/templates/ux/seed-002-flattened/serverless.yml",
    ]);
    assert_eq!(
        (code, err.as_str()),
        (
            Some(2),
            "error: fixtures/templates/ux/seed-002-flattened/cognito-user-pool.yml:1:27: invalid YAML: mapping values are not allowed in this context; this line holds several `key: value` pairs: the file's line breaks and indentation seem lost (a template copied from a web page?), and YAML nests by indentation: restore them\n"
        )
    );
    // An ordinary YAML mistake gets no such note.
    let (code, _, err) = run(&[
        "show",
        "--template",
        "fixtures/templates/malformed/bad-yaml.yml",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("invalid YAML"), "{err}");
    assert!(!err.contains("line breaks"), "{err}");
}

#[test]
fn a_cognito_variable_without_identity_is_warned_about() {
    let check = |extra: &[&str]| {
        let mut args = vec![
            "check",
            "--policy",
            "policies/serverless-stack-auth-role.json",
            "--action",
            "s3:GetObject",
            "--resource",
            OWN_FILE,
        ];
        args.extend(extra);
        run(&args)
    };
    let (code, out, err) = check(&[]);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(
        err,
        "warning: the policies use ${cognito-identity.amazonaws.com:sub}, which has no value without --identity: a statement that uses it matches nothing (give the Cognito identity id with --identity ID)\n"
    );
    assert!(out.starts_with("Decision: ImplicitDeny\n"), "{out}");
    // With the identity (or the key in the context), no warning.
    for extra in [
        &["--identity", "us-east-1:abc"][..],
        &[
            "--context",
            "cognito-identity.amazonaws.com:sub=us-east-1:abc",
        ][..],
    ] {
        let (code, _, err) = check(extra);
        assert_eq!((code, err.as_str()), (Some(0), ""), "{extra:?}");
    }
    // A policy without the variable: no warning.
    let (_, _, err) = run(&[
        "check",
        "--policy",
        "fixtures/policy-types/bucket-public.json",
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::notes-app-uploads/public/x",
    ]);
    assert!(!err.contains("warning"), "{err}");
}

/// The role's resolved policies as `show` prints them.
fn show(template: &str, params: &[&str]) -> serde_json::Value {
    let mut args = vec!["show", "--template", template];
    for p in params {
        args.extend(["--param", p]);
    }
    let (code, out, err) = run(&args);
    assert_eq!((code, err.as_str()), (Some(0), ""), "{out}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn language_extensions_expand_loops_and_compute_lengths_and_json() {
    let t = "fixtures/templates/ux/foreach.yml";
    let doc = show(t, &[]);
    let names: Vec<&str> = doc["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    // One Deny per bucket, named from `&{Bucket}` (the `-` removed).
    assert_eq!(
        names,
        ["Everything", "Guardnotesarchive", "Guardnotesaudit"]
    );
    assert_eq!(
        doc["policies"][0]["document"]["Statement"][0]["Condition"],
        serde_json::json!({
            "StringEquals": {
                "aws:PrincipalTag/team": "team-notes",
                "aws:PrincipalTag/project": "project-notes"
            },
            "NumericLessThanEquals": {"s3:max-keys": 2}
        })
    );
    assert_eq!(
        doc["policies"][2]["document"]["Statement"][0]["Resource"],
        "arn:aws:s3:::notes-audit/*"
    );
    // The collection from a parameter: three buckets, three Denies, and the length 3.
    let doc = show(t, &["Buckets=a,b-c,d"]);
    assert_eq!(doc["policies"].as_array().unwrap().len(), 4);
    assert_eq!(doc["policies"][2]["name"], "Guardbc");
    assert_eq!(
        doc["policies"][0]["document"]["Statement"][0]["Condition"]["NumericLessThanEquals"]["s3:max-keys"],
        3
    );
    // The Deny decides: the expanded policies are evaluated, not skipped.
    let (code, out, _) = run(&[
        "check",
        "--template",
        t,
        "--action",
        "s3:DeleteObject",
        "--resource",
        "arn:aws:s3:::notes-audit/x",
        "--context",
        "aws:PrincipalTag/team=team-notes",
        "--context",
        "aws:PrincipalTag/project=project-notes",
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.starts_with("Decision: ExplicitDeny\n"), "{out}");
}

#[test]
fn loops_that_cannot_be_expanded_are_refused() {
    let cases = [
        (
            "foreach-no-transform.yml",
            "Fn::ForEach::Guards needs Transform: AWS::LanguageExtensions, which the template does not declare: it is not expanded, and what it produces could attach policies that would not be checked",
        ),
        (
            "foreach-in-metadata.yml",
            "Fn::ForEach::Notes stands outside Resources, Outputs and Conditions, the sections CloudFormation expands it in: it is not expanded, and what it produces could attach policies that would not be checked",
        ),
        (
            "foreach-clash.yml",
            "Fn::ForEach::Guards produces the key \"GuardA\", which this mapping already has",
        ),
    ];
    for (file, message) in cases {
        let path = format!("fixtures/templates/ux/{file}");
        let (code, _, err) = run(&["show", "--template", &path]);
        assert_eq!(code, Some(2), "{file}: {err}");
        assert!(drawn(&err).contains(&squash(message)), "{file}: {err}");
    }
    // A collection waiting on a value nobody gave: the resources are unknown, so the
    // value is asked for.
    let (code, _, err) = run(&[
        "show",
        "--template",
        "fixtures/templates/ux/foreach-missing.yml",
    ]);
    assert_eq!(
        (code, err.as_str()),
        (
            Some(2),
            "error: 1 value(s) the template needs are not given; supply each with --param NAME=VALUE:\n  Buckets (template parameter), used at fixtures/templates/ux/foreach-missing.yml:16:7\n"
        )
    );
}

#[test]
fn find_in_map_defaults_and_get_azs() {
    let t = "fixtures/templates/ux/mappings.yml";
    let doc = show(t, &["Fn::GetAZs:us-east-1=us-east-1a,us-east-1b"]);
    let st = &doc["Statement"][0];
    // The region is in the map; the stage is not, so the default applies.
    assert_eq!(
        st["Resource"],
        serde_json::json!([
            "arn:aws:s3:::notes-use1/*",
            "arn:aws:s3:::fallback-bucket/*"
        ])
    );
    assert_eq!(
        st["Condition"]["StringEquals"]["ec2:AvailabilityZone"],
        "us-east-1b"
    );
    // Without the zones: a value to give, never a guess.
    let (code, _, err) = run(&["show", "--template", t]);
    assert_eq!(
        (code, err.as_str()),
        (
            Some(2),
            format!("error: 1 value(s) the template needs are not given; supply each with --param NAME=VALUE:\n  Fn::GetAZs:us-east-1 (Fn::GetAZs, a comma-separated list), used at {t}:36:55\n").as_str()
        )
    );
}

#[test]
fn a_false_condition_removes_role_policies_bucket_policies_and_the_flow() {
    let t = "fixtures/templates/ux/conditions.yml";
    // Stage dev: the Deny policy and the public bucket policy are not created.
    let check = |stage: &str, action: &str, resource: &str, principal: Option<&str>| {
        let stage = format!("Stage={stage}");
        let mut args = vec![
            "check",
            "--template",
            t,
            "--role",
            "AppRole",
            "--param",
            &stage,
        ];
        if let Some(p) = principal {
            args.extend(["--principal", p]);
        }
        args.extend(["--action", action, "--resource", resource]);
        let (code, out, _) = run(&args);
        (code, out)
    };
    let (code, out) = check("dev", "s3:DeleteObject", "arn:aws:s3:::notes-data/x", None);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = check("prod", "s3:DeleteObject", "arn:aws:s3:::notes-data/x", None);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.starts_with("Decision: ExplicitDeny\n"), "{out}");
    // The bucket policy (prod only) lets another account's session read.
    let other = "arn:aws:sts::210987654321:assumed-role/Reader/s";
    let (code, out) = check(
        "dev",
        "s3:GetObject",
        "arn:aws:s3:::notes-data/x",
        Some(other),
    );
    assert_eq!(code, Some(1), "{out}");
    let (code, out) = check(
        "prod",
        "s3:GetObject",
        "arn:aws:s3:::notes-data/x",
        Some(other),
    );
    assert_eq!(code, Some(0), "{out}");
    // The identity pool exists in prod only: in dev the flow's first step denies.
    let flow_at = |stage: &str| {
        let stage = format!("Stage={stage}");
        run(&[
            "check",
            "--template",
            t,
            "--param",
            &stage,
            "--identity",
            "us-east-1:abc",
            "--action",
            "s3:PutObject",
            "--resource",
            "arn:aws:s3:::notes-data/x",
        ])
    };
    let (code, out, _) = flow_at("dev");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("  1. identity-pool: DENIED - identity pool Pool is not created (its Condition is false), so no identity gets credentials\n"), "{out}");
    let (code, out, _) = flow_at("prod");
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn the_flow_lists_the_role_names_values_with_the_policies() {
    let t = "fixtures/templates/ux/role-name.yml";
    let (code, _, err) = run(&[
        "check",
        "--template",
        t,
        "--identity",
        "us-east-1:abc",
        "--action",
        "dynamodb:GetItem",
        "--resource",
        "*",
    ]);
    assert_eq!(
        (code, err.as_str()),
        (
            Some(2),
            format!(
                "error: 2 value(s) the template needs are not given; supply each with --param NAME=VALUE:\n  \
                 Prefix (template parameter), used at {t}:20:17\n  \
                 Table (template parameter), used at {t}:33:69\n"
            )
            .as_str()
        )
    );
}

//! Red-team cases for issue 12 (every policy type): inputs on which policy-sim answers
//! `Allow`, `holds`, PASS or "no counterexample" where AWS's documentation says access is
//! refused or exists. Each test asserts the behaviour the documentation supports, so each
//! fails until its defect is fixed. Fixtures: `fixtures/redteam12/`.

use std::path::PathBuf;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_policy-sim"))
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .args(args)
        .output()
        .expect("run policy-sim")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const SESSION: &str = "arn:aws:sts::123456789012:assumed-role/AuthRole/CognitoIdentityCredentials";
const ID: &str = "us-east-1:9bd0357e-2ac1-418d-a609-bc5e7bc064e3";

/// Gate `resource-policies` with `resource: "arn:aws:s3:::notes-app-uploads/"` (a trailing
/// slash): the bucket policy, which grants the Cognito role every private folder, is
/// silently attached to nothing, and the gate PASSes its expectation and `isolation:
/// holds` (exit 0). AWS attaches a bucket policy to the bucket (S3 User Guide, "Bucket
/// policies for Amazon S3"), so the role reads other identities' objects. A resource
/// that is not a resource's ARN must be refused (exit 2), or the policy applied (exit 1).
#[test]
fn gate_resource_policy_with_trailing_slash_does_not_pass() {
    let o = run(&[
        "gate",
        "--config",
        "fixtures/redteam12/gate-trailing-slash.yml",
    ]);
    let out = stdout(&o);
    assert_ne!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(!out.contains("PASS [trailing slash] isolation"), "{out}");
    assert!(!out.contains("PASS [trailing slash] expect"), "{out}");
}

/// `aws:PrincipalIsAWSService` "is present in the request context for all signed API
/// requests that use AWS credentials" (IAM User Guide, "AWS global condition context
/// keys"), `false` for a role session. The bucket policy denies every non-service caller;
/// policy-sim takes the key as absent and answers Allow.
#[test]
fn principal_is_aws_service_is_false_for_a_named_principal() {
    let o = run(&[
        "check",
        "--policy",
        "fixtures/redteam12/identity-s3.json",
        "--principal",
        SESSION,
        "--resource-policy",
        "fixtures/redteam12/bucket-deny-non-service.json",
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::b/k",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(out.starts_with("Decision: ExplicitDeny"), "{out}");
}

/// The IAM console's "Revoke active sessions" attaches `AWSRevokeOlderSessions`, a Deny
/// on `aws:TokenIssueTime` earlier than a date (IAM User Guide, "Revoking IAM role
/// temporary security credentials"). `aws:TokenIssueTime` is in the context of every
/// request made with temporary credentials ("AWS global condition context keys"), so a
/// role session is refused (or, its issue time unknown, the request cannot be decided).
/// policy-sim takes the key as absent and answers Allow.
#[test]
fn revoke_older_sessions_does_not_allow_a_role_session() {
    let o = run(&[
        "check",
        "--policy",
        "fixtures/redteam12/revoke-older-sessions.json",
        "--principal",
        SESSION,
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::b/k",
    ]);
    let out = stdout(&o);
    assert_ne!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(!out.contains("Decision: Allow"), "{out}");
}

/// A Deny on long-term credentials (`Null aws:TokenIssueTime true`) does not apply to a
/// role session, which always carries the key (temporary credentials), so the identity
/// policy's `private/*` grant reaches every identity's folder. `fuzz isolation` reports
/// "No counterexample" with exit 0 (`prove isolation` fails closed with `unknown`).
#[test]
fn fuzz_finds_the_counterexample_a_session_key_hides() {
    let o = run(&[
        "fuzz",
        "isolation",
        "--policy",
        "fixtures/redteam12/deny-long-term-credentials.json",
        "--area",
        "arn:aws:s3:::notes-app-uploads/private/${cognito-identity.amazonaws.com:sub}/*",
        "--principal",
        SESSION,
    ]);
    let out = stdout(&o);
    assert_ne!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(!out.contains("No counterexample"), "{out}");
}

/// A template role with `Path: /app/` has the ARN `arn:aws:iam::ACCOUNT:role/app/AuthRole`
/// (IAM User Guide, "IAM identifiers"), the session's `aws:PrincipalArn`. The Cognito
/// default principal ignores `Path`, takes `role/AuthRole`, and the bucket policy's Deny
/// for the real role ARN does not apply: Allow where AWS denies explicitly.
#[test]
fn template_role_path_is_part_of_the_sessions_principal_arn() {
    let resource = format!("arn:aws:s3:::notes-uploads/private/{ID}/a.jpg");
    let o = run(&[
        "check",
        "--template",
        "fixtures/redteam12/role-path.yml",
        "--param",
        "IdentityPool=us-east-1:pool",
        "--param",
        "AWS::AccountId=123456789012",
        "--identity",
        ID,
        "--action",
        "s3:GetObject",
        "--resource",
        &resource,
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(out.starts_with("Decision: ExplicitDeny"), "{out}");
}

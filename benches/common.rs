//! The policies shared by the benchmarks: the seeds' authenticated-role policy, and the same
//! role decided with every policy type (a bucket policy, a permissions boundary, a session
//! policy and two SCP levels, from `benches/data/`).

use policy_sim::eval::PolicySet;
use policy_sim::eval::authorize::{Level, Policies, ScopedPolicy};
use policy_sim::lang::model::PolicyKind;
use policy_sim::lang::parse::parse_policy_as;
use policy_sim::lang::principal::Caller;
use policy_sim::request::Request;

/// The identity whose area the requests touch.
pub const IDENTITY: &str = "us-east-1:9bd0357e-2ac1-418d-a609-bc5e7bc064e3";
/// Another identity.
pub const OTHER: &str = "us-east-1:0bd0357e-2ac1-418d-a609-bc5e7bc064e3";

fn set(kind: PolicyKind, files: &[&str]) -> PolicySet {
    PolicySet::new(
        files
            .iter()
            .map(|f| {
                let path = format!("{}/{f}", env!("CARGO_MANIFEST_DIR"));
                let bytes = std::fs::read(&path).expect("a shipped file");
                parse_policy_as(f, &bytes, kind).expect("valid")
            })
            .collect(),
    )
}

/// The seeds' authenticated-role policy.
pub fn seed_set() -> PolicySet {
    set(
        PolicyKind::Identity,
        &["policies/serverless-stack-auth-role.json"],
    )
}

/// The seed policy with a bucket policy, a boundary, a session policy and two SCP levels.
pub fn all_types() -> Policies {
    Policies {
        identity: seed_set(),
        resource: vec![ScopedPolicy {
            resource: Some("arn:aws:s3:::notes-app-uploads".to_string()),
            set: set(PolicyKind::Resource, &["benches/data/bucket-policy.json"]),
        }],
        resource_account: Some("123456789012".to_string()),
        boundary: Some(set(PolicyKind::Identity, &["benches/data/boundary.json"])),
        session: Some(set(
            PolicyKind::Identity,
            &["benches/data/session-policy.json"],
        )),
        scps: vec![
            Level {
                label: "root".to_string(),
                set: set(PolicyKind::Identity, &["benches/data/scp-root.json"]),
            },
            Level {
                label: "ou-apps".to_string(),
                set: set(PolicyKind::Identity, &["benches/data/scp-ou.json"]),
            },
        ],
        rcps: Vec::new(),
    }
}

/// `s3:GetObject` by `IDENTITY` on the object of `owner`, without a principal.
pub fn seed_request(owner: &str) -> Request {
    let mut r = Request::new(
        "s3:GetObject",
        format!("arn:aws:s3:::notes-app-uploads/private/{owner}/photo.jpg"),
    )
    .with_identity(IDENTITY);
    r.context
        .fill_time_defaults("2026-01-01T00:00:00Z".parse().expect("a date"))
        .expect("valid times");
    r
}

/// [`seed_request`] made by the Cognito role session over TLS in us-east-1, prepared for
/// [`all_types`].
pub fn session_request(policies: &Policies, owner: &str) -> Request {
    let mut r = seed_request(owner);
    r.principal = Some(
        Caller::parse(
            "arn:aws:sts::123456789012:assumed-role/CognitoAuthRole/CognitoIdentityCredentials",
        )
        .expect("a session ARN"),
    );
    r.context.add("aws:SecureTransport", "true");
    r.context.add("aws:RequestedRegion", "us-east-1");
    policies.prepare(&mut r).expect("prepared");
    r
}

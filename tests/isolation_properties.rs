//! Property tests of isolation: on the safe shipped policies every identity reaches its own
//! area and never another's; on generated policies the prover never says `holds` when
//! sampling finds a counterexample (soundness), and every counterexample it gives is
//! allowed by the evaluator; nothing panics on odd identities.

use std::path::PathBuf;

use policy_sim::analysis::identity::IdentityFormat;
use policy_sim::analysis::prover::fuzz::fuzz_isolation;
use policy_sim::analysis::prover::{Verdict, prove_isolation};
use policy_sim::eval::authorize::Policies;
use policy_sim::eval::{Decision, PolicySet};
use policy_sim::lang::parse::parse_policy;
use policy_sim::request::Request;
use proptest::prelude::*;

fn shipped(name: &str) -> PolicySet {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("policies")
        .join(name);
    PolicySet::new(vec![
        parse_policy(name, &std::fs::read(path).unwrap()).unwrap(),
    ])
}

fn cognito_id() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["us-east-1", "eu-west-1", "ap-southeast-2"]),
        "[0-9a-f]{8}",
        "[0-9a-f]{4}",
        "[0-9a-f]{4}",
        "[0-9a-f]{4}",
        "[0-9a-f]{12}",
    )
        .prop_map(|(r, a, b, c, d, e)| format!("{r}:{a}-{b}-{c}-{d}-{e}"))
}

/// Identities that stress the patterns: prefixes of each other, slashes, wildcards,
/// dollar signs and non-ASCII text.
fn odd_id() -> impl Strategy<Value = String> {
    prop_oneof![
        cognito_id(),
        "[a-c]{1,4}",
        "[a-c/]{1,6}",
        "[a-c*?$]{1,5}",
        "[aé日/]{1,4}",
        cognito_id().prop_map(|id| format!("{id}/x")),
        cognito_id().prop_map(|id| id[..id.len() - 1].to_string()),
    ]
}

fn decide(set: &PolicySet, identity: &str, action: &str, resource: &str) -> Decision {
    let mut r = Request::new(action, resource).with_identity(identity);
    r.context
        .fill_time_defaults("2026-01-01T00:00:00Z".parse().unwrap())
        .unwrap();
    set.evaluate(&r).unwrap().decision
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn safe_policies_separate_cognito_identities(a in cognito_id(), b in cognito_id(), key in "[a-z0-9/._-]{0,20}") {
        for file in ["sst-auth-role.json", "serverless-stack-auth-role.json", "corrected-auth-role.json"] {
            let set = shipped(file);
            let own = format!("arn:aws:s3:::notes-app-uploads/private/{a}/{key}");
            prop_assert_eq!(decide(&set, &a, "s3:GetObject", &own), Decision::Allow, "{} own area", file);
            if a != b {
                let other = format!("arn:aws:s3:::notes-app-uploads/private/{b}/{key}");
                prop_assert_eq!(decide(&set, &a, "s3:GetObject", &other), Decision::ImplicitDeny, "{} other area", file);
            }
        }
    }

    #[test]
    fn evaluation_never_panics_on_odd_identities(a in odd_id(), b in odd_id(), key in "[a-zé/*?$]{0,8}") {
        for file in ["console-auth-role.json", "corrected-auth-role.json"] {
            let set = shipped(file);
            let resource = format!("arn:aws:s3:::notes-app-uploads/private/{b}/{key}");
            let _ = decide(&set, &a, "s3:GetObject", &resource);
        }
    }
}

/// A policy shaped like the tutorials', with one of their possible slips.
fn generated_policy(prefix: &str, before: &str, after: &str, action: &str) -> PolicySet {
    let resource = format!(
        "arn:aws:s3:::bucket/{prefix}{before}${{cognito-identity.amazonaws.com:sub}}{after}"
    );
    let doc = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]
    });
    PolicySet::new(vec![
        parse_policy("generated.json", &serde_json::to_vec(&doc).unwrap()).unwrap(),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(60))]

    #[test]
    fn prover_agrees_with_sampling(
        prefix in prop::sample::select(vec!["", "private/", "users/home/"]),
        before in prop::sample::select(vec!["", "*", "x-", "?"]),
        after in prop::sample::select(vec!["", "*", "/*", "/", "?/*", "*/*", "/?"]),
        action in prop::sample::select(vec!["s3:*", "s3:GetObject", "s3:Get*"]),
        format in prop::sample::select(vec!["cognito", "any", "regex:[a-c]{1,3}"]),
        seed in 0u64..1000,
    ) {
        let set = generated_policy(prefix, before, after, action);
        let f = IdentityFormat::parse(format).unwrap();
        let proof = prove_isolation(&Policies::identity_only(set.clone()), None, &[], &f, "2026-06-01T00:00:00Z".parse().unwrap()).unwrap();
        let sampled = fuzz_isolation(&Policies::identity_only(set.clone()), None, &proof.area_specs, &f, 300, seed, "2026-06-01T00:00:00Z".parse().unwrap()).unwrap();
        if let Some(c) = &sampled.counterexample {
            // Soundness: a violation that sampling finds is never proved away.
            prop_assert_ne!(proof.verdict, Verdict::Holds, "sampling found {:?}", c);
        }
        if let Some(c) = &proof.counterexample {
            prop_assert_eq!(decide(&set, &c.attacker, &c.action, &c.resource), Decision::Allow);
            prop_assert!(c.attacker != c.victim && f.matches(&c.attacker) && f.matches(&c.victim));
        }
    }
}

/// Generated combinations of every policy type for the Cognito role session.
mod policy_types {
    use super::*;
    use policy_sim::eval::authorize::{Level, ScopedPolicy};
    use policy_sim::lang::model::PolicyKind;
    use policy_sim::lang::parse::parse_policy_as;
    use policy_sim::lang::principal::Caller;
    use serde_json::{Value, json};

    const SESSION: &str =
        "arn:aws:sts::111122223333:assumed-role/CognitoAuthRole/CognitoIdentityCredentials";
    const OWN: &str = "arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}/*";

    fn set(kind: PolicyKind, statements: Vec<Value>) -> PolicySet {
        let doc = json!({"Version": "2012-10-17", "Statement": statements});
        let bytes = serde_json::to_vec(&doc).unwrap();
        PolicySet::new(vec![parse_policy_as("p.json", &bytes, kind).unwrap()])
    }

    fn allow(action: &str, resource: &str) -> Value {
        json!({"Effect": "Allow", "Action": action, "Resource": resource})
    }

    /// The policies of choice numbers: an identity policy with the own folder and maybe
    /// a broader Allow, a bucket policy, a boundary and an SCP level, each maybe absent.
    fn policies(
        broad: Option<(&str, &str)>,
        bucket: usize,
        boundary: usize,
        scp: usize,
        wide: &str,
    ) -> Policies {
        let mut identity = vec![allow("s3:GetObject", OWN)];
        identity.extend(broad.map(|(a, r)| allow(a, r)));
        let principals = [
            json!("*"),
            json!({"AWS": SESSION}),
            json!({"AWS": "arn:aws:iam::111122223333:role/CognitoAuthRole"}),
            json!({"AWS": "111122223333"}),
        ];
        let bucket = match bucket {
            0 => None,
            1..=4 => Some(
                json!({"Effect": "Allow", "Principal": principals[bucket - 1], "Action": "s3:GetObject", "Resource": wide}),
            ),
            5 => Some(
                json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "NotResource": OWN}),
            ),
            _ => Some(
                json!({"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": wide}),
            ),
        };
        let boundary = match boundary {
            0 => None,
            1 => Some(vec![allow("s3:*", OWN)]),
            2 => Some(vec![allow("s3:*", "arn:aws:s3:::notes/*")]),
            _ => Some(vec![allow("s3:GetObject", wide)]),
        };
        let full = allow("*", "*");
        let scp = match scp {
            0 => vec![],
            1 => vec![vec![full]],
            2 => vec![vec![
                full,
                json!({"Effect": "Deny", "Action": "s3:*", "NotResource": OWN}),
            ]],
            _ => vec![vec![full], vec![allow("s3:*", OWN)]],
        };
        Policies {
            identity: set(PolicyKind::Identity, identity),
            resource: bucket
                .map(|st| ScopedPolicy {
                    resource: Some("arn:aws:s3:::notes".to_string()),
                    set: set(PolicyKind::Resource, vec![st]),
                })
                .into_iter()
                .collect(),
            boundary: boundary.map(|st| set(PolicyKind::Identity, st)),
            scps: scp
                .into_iter()
                .enumerate()
                .map(|(i, st)| Level {
                    label: format!("level-{i}"),
                    set: set(PolicyKind::Identity, st),
                })
                .collect(),
            ..Policies::default()
        }
    }

    fn authorized(policies: &Policies, c: &policy_sim::analysis::prover::Counterexample) -> bool {
        let mut r = Request::new(c.action.clone(), c.resource.clone()).with_identity(&c.attacker);
        for (k, v) in &c.context {
            r.context.set(k, v.clone());
        }
        r.context
            .fill_time_defaults("2026-06-01T00:00:00Z".parse().unwrap())
            .unwrap();
        r.principal = Some(Caller::parse(SESSION).unwrap());
        policies.prepare(&mut r).unwrap();
        policies.authorize(&r).unwrap().verdict.decision == Decision::Allow
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn prover_agrees_with_sampling(
            broad in prop::option::of((
                prop::sample::select(vec!["s3:*", "s3:GetObject", "s3:PutObject"]),
                prop::sample::select(vec!["arn:aws:s3:::notes/private/*", "arn:aws:s3:::notes/*", "arn:aws:s3:::notes/private/*/x*"]),
            )),
            bucket in 0usize..7,
            boundary in 0usize..4,
            scp in 0usize..4,
            wide in prop::sample::select(vec!["arn:aws:s3:::notes/private/*", "arn:aws:s3:::notes/*", OWN]),
            format in prop::sample::select(vec!["cognito", "regex:[a-c]{1,3}"]),
            seed in 0u64..1000,
        ) {
            let policies = policies(broad, bucket, boundary, scp, wide);
            let caller = Caller::parse(SESSION).unwrap();
            let f = IdentityFormat::parse(format).unwrap();
            let now = "2026-06-01T00:00:00Z".parse().unwrap();
            let proof = prove_isolation(&policies, Some(&caller), &[], &f, now).unwrap();
            let sampled = fuzz_isolation(&policies, Some(&caller), &proof.area_specs, &f, 200, seed, now).unwrap();
            if let Some(c) = &sampled.counterexample {
                // Soundness: a violation that sampling finds is never proved away.
                prop_assert_ne!(proof.verdict, Verdict::Holds, "sampling found {:?}", c);
                prop_assert!(authorized(&policies, c));
            }
            if let Some(c) = &proof.counterexample {
                prop_assert!(authorized(&policies, c), "{:?}", c);
                prop_assert!(c.attacker != c.victim && f.matches(&c.attacker) && f.matches(&c.victim));
            }
        }
    }
}

//! Property test of no new access against brute force: random small policy pairs over a
//! small alphabet of actions and resource patterns (wildcards, the identity variable, a
//! variable with a default, `NotResource`, `Allow` and `Deny`), decided by the evaluator
//! on every request of a finite universe of actions, resources, identities and user names.
//!
//! The identities of the universe are in two regions (`us-east-1:aa`, `eu-west-1:bb`), or
//! hold no colon (`x`), so the comparison runs over every string (`any`).
//!
//! The rule: when the comparison says no new access, no request of the universe is allowed
//! by the new set and refused by the baseline; when it reports new access, its example is
//! allowed by the new set and refused by the baseline. The test prints how often the
//! answer is `unknown` where the brute force finds new access.

use policy_sim::analysis::identity::IdentityFormat;
use policy_sim::analysis::no_new_access::{DiffResult, NewAccess};
use policy_sim::eval::{Decision, PolicySet};
use policy_sim::lang::parse::parse_policy;
use policy_sim::request::Request;
use proptest::prelude::*;

const SUB: &str = "cognito-identity.amazonaws.com:sub";
const ACTIONS: &[&str] = &["s3:GetObject", "s3:PutObject"];
const ACTION_PATTERNS: &[&str] = &["s3:GetObject", "s3:PutObject", "s3:*"];
const RESOURCE_PATTERNS: &[&str] = &[
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/private/*",
    "arn:aws:s3:::b/private/us-east-1:*",
    "arn:aws:s3:::b/private/eu-west-1:*",
    "arn:aws:s3:::b/private/${cognito-identity.amazonaws.com:sub}/*",
    "arn:aws:s3:::b/${cognito-identity.amazonaws.com:sub}*",
    "arn:aws:s3:::b/${aws:username}/*",
    "arn:aws:s3:::b/${aws:username, 'public'}/*",
    "arn:aws:s3:::b/public/*",
    "arn:aws:s3:::b/alice/*",
    "arn:aws:s3:::b/*/${cognito-identity.amazonaws.com:sub}/*",
    "arn:aws:s3:::b/*:*/*",
];
/// Identities of the universe (`None`: a request without one).
const IDENTITIES: &[Option<&str>] = &[None, Some("us-east-1:aa"), Some("eu-west-1:bb"), Some("x")];
/// User names of the universe (`None`: a request without `aws:username`).
const USERS: &[Option<&str>] = &[None, Some("alice"), Some("public"), Some("us-east-1:aa")];

/// Resources of the universe: every key below `b/` built from the segments that the
/// patterns, identities and user names mention.
fn resources() -> Vec<String> {
    let segments = [
        "public",
        "alice",
        "private",
        "us-east-1:aa",
        "eu-west-1:bb",
        "x",
        "private/us-east-1:aa",
        "private/eu-west-1:bb",
        "private/x",
    ];
    let mut out = vec!["arn:aws:s3:::b".to_string()];
    for s in segments {
        out.push(format!("arn:aws:s3:::b/{s}"));
        out.push(format!("arn:aws:s3:::b/{s}/k"));
        out.push(format!("arn:aws:s3:::b/{s}k"));
    }
    out
}

fn request(action: &str, resource: &str, identity: Option<&str>, user: Option<&str>) -> Request {
    let mut r = Request::new(action, resource);
    if let Some(id) = identity {
        r = r.with_identity(id);
    }
    if let Some(u) = user {
        r.context.set("aws:username", vec![u.to_string()]);
    }
    r.context
        .fill_time_defaults("2026-06-01T00:00:00Z".parse().unwrap())
        .unwrap();
    r
}

fn decide(set: &PolicySet, r: &Request) -> Decision {
    set.evaluate(r).unwrap().decision
}

/// The request of a reported example, as `check` would be given it.
fn example_request(found: &NewAccess) -> Request {
    let mut r = Request::new(found.action.clone(), found.resource.clone());
    for (k, v) in &found.context {
        r.context.set(k, v.clone());
    }
    r.context
        .fill_time_defaults("2026-06-01T00:00:00Z".parse().unwrap())
        .unwrap();
    r
}

/// A statement: effect, action pattern, `Resource` or `NotResource`, one or two patterns.
fn statement() -> impl Strategy<Value = serde_json::Value> {
    (
        prop::bool::weighted(0.6),
        prop::sample::select(ACTION_PATTERNS),
        prop::bool::weighted(0.2),
        prop::collection::vec(prop::sample::select(RESOURCE_PATTERNS), 1..3),
    )
        .prop_map(|(allow, action, not, resources)| {
            let mut st = serde_json::json!({
                "Effect": if allow { "Allow" } else { "Deny" },
                "Action": action,
            });
            st[if not { "NotResource" } else { "Resource" }] = serde_json::json!(resources);
            st
        })
}

fn policy() -> impl Strategy<Value = Vec<serde_json::Value>> {
    prop::collection::vec(statement(), 1..4)
}

/// A baseline and a new policy: unrelated, or the new one the baseline with one statement
/// replaced (the small edits a review sees).
fn pair() -> impl Strategy<Value = (Vec<serde_json::Value>, Vec<serde_json::Value>)> {
    prop_oneof![
        (policy(), policy()),
        (policy(), statement(), any::<prop::sample::Index>()).prop_map(|(base, st, at)| {
            let mut new = base.clone();
            let i = at.index(new.len());
            new[i] = st;
            (base, new)
        }),
    ]
}

fn set(statements: &[serde_json::Value]) -> PolicySet {
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": statements});
    PolicySet::new(vec![
        parse_policy("p.json", &serde_json::to_vec(&doc).unwrap()).unwrap(),
    ])
}

/// A request of the universe the new set allows and the baseline refuses.
fn brute_force(new: &PolicySet, base: &PolicySet) -> Option<String> {
    for action in ACTIONS {
        for resource in resources() {
            for identity in IDENTITIES {
                for user in USERS {
                    let r = request(action, &resource, *identity, *user);
                    if decide(new, &r) == Decision::Allow && decide(base, &r) != Decision::Allow {
                        return Some(format!(
                            "{action} on {resource} as {identity:?} with aws:username {user:?}"
                        ));
                    }
                }
            }
        }
    }
    None
}

/// How often each answer came, over the generated pairs.
#[derive(Debug, Default)]
struct Tally {
    pass: usize,
    new_access: usize,
    /// `unknown` where the brute force finds no new access.
    unknown_without: usize,
    /// `unknown` where the brute force finds new access: what a more precise comparison
    /// would report.
    unknown_with: usize,
}

/// One pair: the rule holds ("pass => no new access in the universe; new access =>
/// its example is allowed by the new set and refused by the baseline"); the answer is
/// counted.
fn check_pair(
    base: &[serde_json::Value],
    new: &[serde_json::Value],
    tally: &mut Tally,
) -> Result<(), TestCaseError> {
    let (n, b) = (set(new), set(base));
    let answer = policy_sim::analysis::no_new_access::no_new_access(
        &n,
        &b,
        &IdentityFormat::parse("any").unwrap(),
        "2026-06-01T00:00:00Z".parse().unwrap(),
    );
    match answer {
        DiffResult::NoNewAccess => {
            let found = brute_force(&n, &b);
            prop_assert!(found.is_none(), "passed, yet {:?}", found);
            tally.pass += 1;
        }
        DiffResult::NewAccess(found) => {
            let r = example_request(&found);
            prop_assert_eq!(decide(&n, &r), Decision::Allow, "{:?}", found);
            prop_assert_ne!(decide(&b, &r), Decision::Allow, "{:?}", found);
            prop_assert_eq!(decide(&b, &r), found.baseline);
            tally.new_access += 1;
        }
        DiffResult::Unknown(why) => match brute_force(&n, &b) {
            Some(found) => {
                eprintln!(
                    "unknown ({why}), yet the brute force finds {found}: {base:?} -> {new:?}"
                );
                tally.unknown_with += 1;
            }
            None => {
                eprintln!(
                    "unknown ({why}), and the brute force finds nothing: {base:?} -> {new:?}"
                );
                tally.unknown_without += 1;
            }
        },
    }
    Ok(())
}

/// The rule on random pairs, and how often the answer is `unknown` where the brute force
/// finds new access (printed: the comparison's remaining imprecision).
#[test]
fn no_new_access_agrees_with_brute_force() {
    // A fixed seed: the printed counts compare between versions of the comparison.
    let config = ProptestConfig::with_cases(200);
    let rng = proptest::test_runner::TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = proptest::test_runner::TestRunner::new_with_rng(config, rng);
    let tally = std::cell::RefCell::new(Tally::default());
    let result = runner.run(&pair(), |(base, new)| {
        check_pair(&base, &new, &mut tally.borrow_mut())
    });
    let tally = tally.into_inner();
    eprintln!("{tally:?}");
    if let Err(e) = result {
        panic!("{e}");
    }
    // The comparison decides most pairs.
    assert!(tally.pass + tally.new_access > 0, "{tally:?}");
}

/// The universe is not empty of differences: the brute force itself finds the cases the
/// issue names (so a passing property is not a vacuous one).
#[test]
fn the_universe_holds_the_issue_cases() {
    let sub = format!("${{{SUB}}}");
    let st = |effect: &str, resource: &str| serde_json::json!({"Effect": effect, "Action": "s3:PutObject", "Resource": resource});
    let allow = st("Allow", &format!("arn:aws:s3:::b/private/{sub}/*"));
    let base = [
        allow.clone(),
        st("Deny", "arn:aws:s3:::b/private/us-east-1:*"),
    ];
    let new = [allow, st("Deny", "arn:aws:s3:::b/private/eu-west-1:*")];
    assert!(brute_force(&set(&new), &set(&base)).is_some());
    let base = [st("Allow", "arn:aws:s3:::b/${aws:username}/*")];
    let new = [st("Allow", "arn:aws:s3:::b/${aws:username, 'public'}/*")];
    assert!(brute_force(&set(&new), &set(&base)).is_some());
}

/// The caller of the tests with every policy type: a role session of account
/// 111122223333.
const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/Auth/s";
/// How a resource-policy statement may name the caller: directly, by its role, by its
/// account, or another account.
const PRINCIPALS: &[&str] = &[
    r#""*""#,
    r#"{"AWS": "arn:aws:sts::111122223333:assumed-role/Auth/s"}"#,
    r#"{"AWS": "arn:aws:iam::111122223333:role/Auth"}"#,
    r#"{"AWS": "111122223333"}"#,
    r#"{"AWS": "444455556666"}"#,
];

/// A bucket policy: statements of [`statement`] with a `Principal`.
fn bucket_policy() -> impl Strategy<Value = Vec<serde_json::Value>> {
    prop::collection::vec((statement(), prop::sample::select(PRINCIPALS)), 0..3).prop_map(|sts| {
        sts.into_iter()
            .map(|(mut st, principal)| {
                st["Principal"] = serde_json::from_str(principal).unwrap();
                st
            })
            .collect()
    })
}

/// Identity-based policies and a bucket policy of bucket `b`, as [`Policies`].
fn policies(
    identity: &[serde_json::Value],
    bucket: &[serde_json::Value],
) -> policy_sim::eval::authorize::Policies {
    use policy_sim::eval::authorize::{Policies, ScopedPolicy};
    use policy_sim::lang::model::PolicyKind;
    let mut p = Policies::identity_only(set(identity));
    if !bucket.is_empty() {
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": bucket});
        let policy = policy_sim::lang::parse::parse_policy_as(
            "bucket.json",
            &serde_json::to_vec(&doc).unwrap(),
            PolicyKind::Resource,
        )
        .unwrap();
        p.resource.push(ScopedPolicy {
            resource: Some("arn:aws:s3:::b".to_string()),
            set: PolicySet::new(vec![policy]),
        });
    }
    p
}

/// The decision of every policy type on `r`, for the caller [`SESSION`].
fn authorize(p: &policy_sim::eval::authorize::Policies, r: &Request) -> Decision {
    let mut r = r.clone();
    r.principal = Some(policy_sim::lang::principal::Caller::parse(SESSION).unwrap());
    p.prepare(&mut r).unwrap();
    p.authorize(&r).unwrap().verdict.decision
}

/// "Pass => no request of the universe is new access; new access => its example is",
/// with a bucket policy on each side (the same or changed) and identity-based policies.
#[test]
fn no_new_access_with_a_resource_policy_agrees_with_brute_force() {
    use policy_sim::analysis::no_new_access::{PoliciesDiff, no_new_access_policies};
    let config = ProptestConfig::with_cases(60);
    let rng = proptest::test_runner::TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = proptest::test_runner::TestRunner::new_with_rng(config, rng);
    let tally = std::cell::RefCell::new(Tally::default());
    let strategy = (pair(), bucket_policy(), bucket_policy(), prop::bool::ANY).prop_map(
        |((base, new), base_bucket, new_bucket, same_bucket)| {
            let new_bucket = if same_bucket {
                base_bucket.clone()
            } else {
                new_bucket
            };
            (base, new, base_bucket, new_bucket)
        },
    );
    let result = runner.run(&strategy, |(base, new, base_bucket, new_bucket)| {
        let (n, b) = (policies(&new, &new_bucket), policies(&base, &base_bucket));
        let caller = policy_sim::lang::principal::Caller::parse(SESSION).unwrap();
        let answer = no_new_access_policies(
            &n,
            &b,
            &caller,
            &IdentityFormat::parse("any").unwrap(),
            "2026-06-01T00:00:00Z".parse().unwrap(),
        );
        let brute = || {
            for action in ACTIONS {
                for resource in resources() {
                    for identity in IDENTITIES {
                        for user in USERS {
                            let r = request(action, &resource, *identity, *user);
                            if authorize(&n, &r) == Decision::Allow
                                && authorize(&b, &r) != Decision::Allow
                            {
                                return Some(format!("{action} on {resource} as {identity:?}"));
                            }
                        }
                    }
                }
            }
            None
        };
        let mut tally = tally.borrow_mut();
        match answer {
            PoliciesDiff::NoNewAccess => {
                let found = brute();
                prop_assert!(found.is_none(), "passed, yet {:?}", found);
                tally.pass += 1;
            }
            PoliciesDiff::NewAccess(found, _) => {
                let r = example_request(&found);
                prop_assert_eq!(authorize(&n, &r), Decision::Allow, "{:?}", found);
                prop_assert_eq!(authorize(&b, &r), found.baseline, "{:?}", found);
                prop_assert_ne!(found.baseline, Decision::Allow);
                tally.new_access += 1;
            }
            PoliciesDiff::Unknown(_) => match brute() {
                Some(_) => tally.unknown_with += 1,
                None => tally.unknown_without += 1,
            },
        }
        Ok(())
    });
    let tally = tally.into_inner();
    eprintln!("{tally:?}");
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(tally.pass > 0 && tally.new_access > 0, "{tally:?}");
}

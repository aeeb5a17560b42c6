//! `prove isolation` on policies with known verdicts (`fixtures/isolation/cases.json`), under
//! the `cognito` and `any` identity formats. Every counterexample is re-checked here,
//! independently of the prover: the evaluator must allow it, the resource must lie in the
//! victim's area, and the two identities must differ and fit the format.

use std::path::PathBuf;

use policy_sim::analysis::identity::IdentityFormat;
use policy_sim::analysis::prover::AreaSpec;
use policy_sim::analysis::prover::{Proof, Verdict, prove_isolation};
use policy_sim::eval::authorize::Policies;
use policy_sim::eval::{Decision, PolicySet};
use policy_sim::lang::arn::ArnPattern;
use policy_sim::lang::parse::parse_policy;
use policy_sim::lang::variables::Syntax;
use policy_sim::lang::wildcard::Match;
use policy_sim::request::{Context, Request};
use serde_json::Value;

fn cases() -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/isolation/cases.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `prove isolation` of identity-based policies alone, at a fixed time.
fn prove_identity(set: &PolicySet, areas: &[String], format: &IdentityFormat) -> Proof {
    let areas: Vec<AreaSpec> = areas.iter().map(AreaSpec::private).collect();
    prove_isolation(
        &Policies::identity_only(set.clone()),
        None,
        &areas,
        format,
        "2026-06-01T00:00:00Z".parse().unwrap(),
    )
    .unwrap()
}

fn verify_counterexample(set: &PolicySet, proof: &Proof, format: &IdentityFormat, name: &str) {
    let c = proof
        .counterexample
        .as_ref()
        .unwrap_or_else(|| panic!("{name}: violated without a counterexample"));
    assert_ne!(c.attacker, c.victim, "{name}");
    assert!(
        format.matches(&c.attacker),
        "{name}: attacker {} not in format",
        c.attacker
    );
    assert!(
        format.matches(&c.victim),
        "{name}: victim {} not in format",
        c.victim
    );
    let mut request = Request::new(c.action.clone(), c.resource.clone()).with_identity(&c.attacker);
    for (k, v) in &c.context {
        request.context.set(k, v.clone());
    }
    request
        .context
        .fill_time_defaults("2026-01-01T00:00:00Z".parse().unwrap())
        .unwrap();
    let ev = set.evaluate(&request).unwrap();
    assert_eq!(
        ev.decision,
        Decision::Allow,
        "{name}: the evaluator does not confirm {c:?}"
    );
    let syntax = Syntax {
        variables: true,
        wildcards: true,
    };
    let mut victim = Context::new();
    victim.add("cognito-identity.amazonaws.com:sub", &c.victim);
    let inside = proof.areas.iter().any(|a| {
        ArnPattern::parse(a, syntax)
            .unwrap()
            .matches(&c.resource, &victim)
            == Match::Yes
    });
    assert!(
        inside,
        "{name}: {} is not inside {}'s area",
        c.resource, c.victim
    );
}

#[test]
fn known_verdicts() {
    let all = cases();
    assert!(all.len() >= 20, "only {} cases", all.len());
    let mut failures = Vec::new();
    for case in &all {
        let name = case["name"].as_str().unwrap();
        let bytes = serde_json::to_vec(&case["policy"]).unwrap();
        let set = PolicySet::new(vec![parse_policy(name, &bytes).unwrap()]);
        let areas: Vec<String> = case
            .get("areas")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        for (format_name, expected) in case["expect"].as_object().unwrap() {
            let format = IdentityFormat::parse(format_name).unwrap();
            let proof = prove_identity(&set, &areas, &format);
            let expected = expected.as_str().unwrap();
            if proof.verdict.as_str() != expected {
                failures.push(format!(
                    "{name} [{format_name}]: expected {expected}, got {} ({})",
                    proof.verdict.as_str(),
                    proof.reason
                ));
                continue;
            }
            if proof.verdict == Verdict::Violated {
                verify_counterexample(&set, &proof, &format, name);
            } else {
                assert!(proof.counterexample.is_none());
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn shipped_policies() {
    let expectations = [
        ("console-auth-role.json", "holds", "violated"),
        ("serverless-auth-role.json", "holds", "violated"),
        ("serverless-stack-auth-role.json", "holds", "violated"),
        ("sst-auth-role.json", "holds", "violated"),
        ("corrected-auth-role.json", "holds", "violated"),
    ];
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies");
    for (file, cognito, any) in expectations {
        let bytes = std::fs::read(root.join(file)).unwrap();
        let set = PolicySet::new(vec![parse_policy(file, &bytes).unwrap()]);
        for (format_name, expected) in [("cognito", cognito), ("any", any)] {
            let format = IdentityFormat::parse(format_name).unwrap();
            let proof = prove_identity(&set, &[], &format);
            assert_eq!(
                proof.verdict.as_str(),
                expected,
                "{file} [{format_name}]: {}",
                proof.reason
            );
            if proof.verdict == Verdict::Violated {
                verify_counterexample(&set, &proof, &format, file);
            }
        }
    }
}

#[test]
fn console_prefix_flaw_is_explained() {
    let bytes = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies/console-auth-role.json"),
    )
    .unwrap();
    let set = PolicySet::new(vec![parse_policy("console.json", &bytes).unwrap()]);
    let proof = prove_identity(&set, &[], &IdentityFormat::parse("any").unwrap());
    let c = proof.counterexample.unwrap();
    // The harmful direction: the shorter id reaches the longer id's file, with readable
    // ids, and the victim comes first in the explanation.
    assert_eq!((c.attacker.as_str(), c.victim.as_str()), ("ann", "anna"));
    assert_eq!(
        proof.reason,
        "identity anna's file arn:aws:s3:::notes-app-uploads/anna/photo.jpg can be read by identity ann (s3:GetObject): ann is a prefix of anna and the pattern does not end the identity with '/', so ann's pattern covers every id that starts with ann"
    );
    let fix = proof.fix.unwrap();
    assert_eq!(
        (fix.before.as_deref(), fix.after.as_deref()),
        (
            Some("arn:aws:s3:::notes-app-uploads/${cognito-identity.amazonaws.com:sub}*"),
            Some("arn:aws:s3:::notes-app-uploads/${cognito-identity.amazonaws.com:sub}/*")
        )
    );
}

#[test]
fn errors() {
    let set = PolicySet::new(vec![
        parse_policy(
            "old.json",
            br#"{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${cognito-identity.amazonaws.com:sub}/*"}}"#,
        )
        .unwrap(),
    ]);
    let cognito = IdentityFormat::parse("cognito").unwrap();
    assert_eq!(
        prove_isolation(
            &Policies::identity_only(set.clone()),
            None,
            &[],
            &cognito,
            "2026-06-01T00:00:00Z".parse().unwrap()
        )
        .unwrap_err()
        .to_string(),
        "no area to check: no Allow statement's Resource mentions ${cognito-identity.amazonaws.com:sub} (under Version 2012-10-17); name one"
    );
    assert_eq!(
        prove_isolation(
            &Policies::identity_only(set.clone()),
            None,
            &[AreaSpec::private("arn:aws:s3:::b/*")],
            &cognito,
            "2026-06-01T00:00:00Z".parse().unwrap()
        )
        .unwrap_err()
        .to_string(),
        "area \"arn:aws:s3:::b/*\" does not mention ${cognito-identity.amazonaws.com:sub}"
    );
}

/// The SMT cross-check agrees with the automata wherever it decides (needs z3 or cvc5;
/// skipped with a message otherwise).
#[test]
fn smt_backend_cross_check() {
    use policy_sim::analysis::prover::{Backend, prove_isolation_with, smt::find_solver};
    let Some((program, args)) = find_solver() else {
        eprintln!("skipped: no z3 or cvc5 on the PATH (apt-get install z3)");
        return;
    };
    let backend = Backend::Smt {
        program: program.to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
        dir: None,
    };
    let format = IdentityFormat::parse("any").unwrap();
    let mut decided = 0;
    for case in cases().iter().take(12) {
        let name = case["name"].as_str().unwrap();
        let bytes = serde_json::to_vec(&case["policy"]).unwrap();
        let set = PolicySet::new(vec![parse_policy(name, &bytes).unwrap()]);
        let areas: Vec<String> = case
            .get("areas")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        let specs: Vec<AreaSpec> = areas.iter().map(AreaSpec::private).collect();
        let smt = prove_isolation_with(
            &Policies::identity_only(set.clone()),
            None,
            &specs,
            &format,
            &backend,
            "2026-06-01T00:00:00Z".parse().unwrap(),
        )
        .unwrap();
        let automata = prove_identity(&set, &areas, &format);
        if smt.verdict == Verdict::Unknown || automata.verdict == Verdict::Unknown {
            continue;
        }
        decided += 1;
        assert_eq!(
            smt.verdict, automata.verdict,
            "{name}: {} vs {}",
            smt.reason, automata.reason
        );
        if smt.verdict == Verdict::Violated {
            verify_counterexample(&set, &smt, &format, name);
        }
    }
    assert!(decided > 0, "the solver decided nothing");
}

#[test]
fn counterexamples_use_documented_actions() {
    // `s3:Restore*` matches none of the usual actions: the counterexample is still an
    // action AWS documents (from the catalog), not a made-up `s3:Restore`.
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:Restore*", "Resource": "arn:aws:s3:::notes/private/*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}/*"}
    ]});
    let set = PolicySet::new(vec![
        parse_policy("p.json", &serde_json::to_vec(&doc).unwrap()).unwrap(),
    ]);
    let format = IdentityFormat::parse("cognito").unwrap();
    let proof = prove_identity(&set, &[], &format);
    assert_eq!(proof.verdict, Verdict::Violated);
    verify_counterexample(&set, &proof, &format, "s3:Restore*");
    let c = proof.counterexample.as_ref().unwrap();
    assert_eq!(c.action, "s3:RestoreObject");
    assert!(policy_sim::catalog::catalog().action(&c.action).is_some());
}

/// A policy of `n` statements: the private area, and then in turn an `Allow` on another
/// bucket, a `Deny` (of `deny_action`) inside the private folder, a conditional `Allow` on
/// DynamoDB, and an `Allow` on a public folder. `broken` adds, last, an `Allow` that
/// reaches every private folder.
fn large_policy(n: usize, deny_action: &str, broken: bool) -> PolicySet {
    let sub = "${cognito-identity.amazonaws.com:sub}";
    let mut st = vec![
        serde_json::json!({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": format!("arn:aws:s3:::notes/private/{sub}/*")}),
    ];
    for i in 1..n {
        st.push(match i % 4 {
            0 => serde_json::json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::bucket-{i}/*")}),
            1 => serde_json::json!({"Effect": "Deny", "Action": deny_action, "Resource": format!("arn:aws:s3:::notes/private/locked-{i}/*")}),
            2 => serde_json::json!({"Effect": "Allow", "Action": "dynamodb:GetItem",
                "Resource": format!("arn:aws:dynamodb:us-east-1:123456789012:table/t{i}"),
                "Condition": {"StringEquals": {"aws:PrincipalTag/team": format!("t{i}")}}}),
            _ => serde_json::json!({"Effect": "Allow", "Action": "s3:PutObject", "Resource": format!("arn:aws:s3:::notes/public/{i}/*")}),
        });
    }
    if broken {
        st.push(serde_json::json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::notes/private/*/photos/*"}));
    }
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": st});
    PolicySet::new(vec![
        parse_policy("large.json", &serde_json::to_vec(&doc).unwrap()).unwrap(),
    ])
}

/// 20,000 statements: each `Allow` meets only the areas and `Deny` patterns it can
/// overlap (the pairwise loop over every statement took minutes, and listed an assumption
/// for every Allow and Deny pair). The answers are those of the small policy.
#[test]
fn twenty_thousand_statements() {
    let format = IdentityFormat::parse("cognito").unwrap();
    let now = "2026-06-01T00:00:00Z".parse().unwrap();
    let set = large_policy(20_000, "s3:DeleteObject", false);
    let proof = prove_identity(&set, &[], &format);
    assert_eq!(proof.verdict, Verdict::Holds, "{}", proof.reason);
    // One note per Deny that does not cover the area's Allow; none for the Allows that
    // cannot reach the area.
    assert_eq!(
        proof.assumptions.len(),
        5_000,
        "{:?}",
        &proof.assumptions[..3]
    );
    let set = large_policy(20_000, "s3:*", true);
    let proof = prove_identity(&set, &[], &format);
    assert_eq!(proof.verdict, Verdict::Violated, "{}", proof.reason);
    verify_counterexample(&set, &proof, &format, "broken");
    // Sampling finds it too, a case at a time near-linear in the statements.
    let fuzz = policy_sim::analysis::prover::fuzz::fuzz_isolation(
        &Policies::identity_only(set.clone()),
        None,
        &[],
        &format,
        200,
        1,
        now,
    )
    .unwrap();
    assert!(fuzz.counterexample.is_some(), "{fuzz:?}");
}

/// `fuzz isolation` refuses a count it could not finish instead of running for ever.
#[test]
fn fuzz_cases_are_capped() {
    use policy_sim::analysis::prover::{ProverError, fuzz};
    let set = large_policy(4, "s3:*", false);
    let format = IdentityFormat::parse("cognito").unwrap();
    let now = "2026-06-01T00:00:00Z".parse().unwrap();
    match fuzz::fuzz_isolation(
        &Policies::identity_only(set.clone()),
        None,
        &[],
        &format,
        fuzz::MAX_CASES + 1,
        1,
        now,
    ) {
        Err(e @ ProverError::TooManyCases { .. }) => assert_eq!(
            e.to_string(),
            "1000001 cases is more than one fuzz run may try (at most 1000000)"
        ),
        other => panic!("{other:?}"),
    }
}

// ---- Every policy type: the attacker is the Cognito role session carrying the identity.

mod policy_types {
    use super::*;
    use policy_sim::analysis::prover::fuzz::fuzz_isolation;
    use policy_sim::analysis::prover::{ProverError, Verdict};
    use policy_sim::eval::authorize::{Level, PolicyType, ScopedPolicy};
    use policy_sim::lang::model::PolicyKind;
    use policy_sim::lang::parse::parse_policy_as;
    use policy_sim::lang::principal::Caller;
    use serde_json::json;

    const SESSION: &str =
        "arn:aws:sts::111122223333:assumed-role/CognitoAuthRole/CognitoIdentityCredentials";
    const ROLE: &str = "arn:aws:iam::111122223333:role/CognitoAuthRole";
    const OWN: &str = "arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}/*";

    fn now() -> jiff::Timestamp {
        "2026-06-01T00:00:00Z".parse().unwrap()
    }

    fn caller() -> Caller {
        Caller::parse(SESSION).unwrap()
    }

    fn cognito() -> IdentityFormat {
        IdentityFormat::parse("cognito").unwrap()
    }

    fn set(name: &str, kind: PolicyKind, statements: Value) -> PolicySet {
        let doc = json!({"Version": "2012-10-17", "Statement": statements});
        let bytes = serde_json::to_vec(&doc).unwrap();
        PolicySet::new(vec![parse_policy_as(name, &bytes, kind).unwrap()])
    }

    /// Identity-based policies only: each identity its own folder, and when `broad`
    /// every private folder (which breaks isolation unless something else keeps it).
    fn base(broad: bool) -> Policies {
        let mut st = vec![
            json!({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": OWN}),
        ];
        if broad {
            st.push(json!({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::notes/private/*"}));
        }
        Policies::identity_only(set("identity.json", PolicyKind::Identity, Value::Array(st)))
    }

    fn bucket(name: &str, statements: Value) -> Vec<ScopedPolicy> {
        vec![ScopedPolicy {
            resource: Some(format!("arn:aws:s3:::{name}")),
            set: set("bucket-policy.json", PolicyKind::Resource, statements),
        }]
    }

    /// `Principal` may read every private folder.
    fn public_read(principal: Value) -> Value {
        json!([{"Sid": "PublicRead", "Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::notes/private/*"}])
    }

    /// `Principal` may do nothing outside the identity's own folder.
    fn deny_others(principal: Value) -> Value {
        json!([{"Effect": "Deny", "Principal": principal, "Action": "s3:*", "NotResource": OWN}])
    }

    /// A boundary or session policy of Allow statements on `resource`.
    fn allowing(name: &str, resource: &str) -> Option<PolicySet> {
        Some(set(
            name,
            PolicyKind::Identity,
            json!([{"Effect": "Allow", "Action": "s3:*", "Resource": resource}]),
        ))
    }

    fn level(label: &str, kind: PolicyKind, statements: Value) -> Level {
        Level {
            label: label.to_string(),
            set: set(&format!("{label}.json"), kind, statements),
        }
    }

    fn full_access() -> Value {
        json!({"Effect": "Allow", "Action": "*", "Resource": "*"})
    }

    fn prove(policies: &Policies) -> Proof {
        prove_isolation(policies, Some(&caller()), &[], &cognito(), now()).unwrap()
    }

    /// The counterexample's statement type, after confirming it here with the evaluator
    /// of `check` (prepare and authorize with every policy type), independently of the
    /// prover.
    fn confirmed(name: &str, policies: &Policies, proof: &Proof) -> PolicyType {
        assert_eq!(proof.verdict, Verdict::Violated, "{name}: {}", proof.reason);
        let c = proof.counterexample.as_ref().unwrap();
        assert_ne!(c.attacker, c.victim);
        assert_eq!(c.principal.as_deref(), Some(SESSION));
        let mut request =
            Request::new(c.action.clone(), c.resource.clone()).with_identity(&c.attacker);
        for (k, v) in &c.context {
            request.context.set(k, v.clone());
        }
        request.context.fill_time_defaults(now()).unwrap();
        request.principal = Some(caller());
        policies.prepare(&mut request).unwrap();
        let auth = policies.authorize(&request).unwrap();
        assert_eq!(auth.verdict.decision, Decision::Allow, "{name}: {c:?}");
        assert!(c.resource.starts_with("arn:aws:s3:::notes/private/"));
        assert!(!c.resource.contains(&c.attacker), "{name}: {c:?}");
        c.statement.policy_type
    }

    /// `None`: isolation holds; `Some(t)`: violated by a statement of type `t`.
    type Expect = Option<PolicyType>;

    #[test]
    fn every_policy_type_takes_part() {
        use PolicyKind::{Identity as Id, Resource as Res};
        let (resource, identity) = (Some(PolicyType::Resource), Some(PolicyType::Identity));
        let deny = json!({"Effect": "Deny", "Action": "s3:*", "NotResource": OWN});
        let own_scp = json!([{"Effect": "Allow", "Action": "s3:*", "Resource": OWN}]);
        let cases: Vec<(&str, Policies, Expect)> = vec![
            ("identity alone", base(false), None),
            ("broad identity Allow", base(true), identity),
            // Resource-policy grants: naming the session in any direct way, or its role.
            (
                "bucket grant *",
                Policies {
                    resource: bucket("notes", public_read(json!("*"))),
                    ..base(false)
                },
                resource,
            ),
            (
                "bucket grant AWS *",
                Policies {
                    resource: bucket("notes", public_read(json!({"AWS": "*"}))),
                    ..base(false)
                },
                resource,
            ),
            (
                "bucket grant session",
                Policies {
                    resource: bucket("notes", public_read(json!({"AWS": SESSION}))),
                    ..base(false)
                },
                resource,
            ),
            (
                "bucket grant role",
                Policies {
                    resource: bucket("notes", public_read(json!({"AWS": ROLE}))),
                    ..base(false)
                },
                resource,
            ),
            // ... and what does not grant on its own.
            (
                "bucket grant account",
                Policies {
                    resource: bucket("notes", public_read(json!({"AWS": "111122223333"}))),
                    ..base(false)
                },
                None,
            ),
            (
                "bucket grant root",
                Policies {
                    resource: bucket(
                        "notes",
                        public_read(json!({"AWS": "arn:aws:iam::111122223333:root"})),
                    ),
                    ..base(false)
                },
                None,
            ),
            (
                "bucket grant other role",
                Policies {
                    resource: bucket(
                        "notes",
                        public_read(json!({"AWS": "arn:aws:iam::444455556666:role/Other"})),
                    ),
                    ..base(false)
                },
                None,
            ),
            (
                "bucket grant service",
                Policies {
                    resource: bucket(
                        "notes",
                        public_read(json!({"Service": "lambda.amazonaws.com"})),
                    ),
                    ..base(false)
                },
                None,
            ),
            (
                "bucket grant federated",
                Policies {
                    resource: bucket(
                        "notes",
                        public_read(json!({"Federated": "cognito-identity.amazonaws.com"})),
                    ),
                    ..base(false)
                },
                None,
            ),
            (
                "other bucket's grant",
                Policies {
                    resource: bucket("other", public_read(json!("*"))),
                    ..base(false)
                },
                None,
            ),
            // Resource-policy denies, where they apply and name the session.
            (
                "bucket deny",
                Policies {
                    resource: bucket("notes", deny_others(json!("*"))),
                    ..base(true)
                },
                None,
            ),
            (
                "other bucket's deny",
                Policies {
                    resource: bucket("other", deny_others(json!("*"))),
                    ..base(true)
                },
                identity,
            ),
            (
                "bucket deny for bob",
                Policies {
                    resource: bucket(
                        "notes",
                        deny_others(json!({"AWS": "arn:aws:iam::111122223333:user/bob"})),
                    ),
                    ..base(true)
                },
                identity,
            ),
            // Boundary and session policies limit the identity side and a grant to the
            // role, not a grant to the session itself.
            (
                "own boundary",
                Policies {
                    boundary: allowing("boundary.json", OWN),
                    ..base(true)
                },
                None,
            ),
            (
                "bucket boundary",
                Policies {
                    boundary: allowing("boundary.json", "arn:aws:s3:::notes/*"),
                    ..base(true)
                },
                identity,
            ),
            (
                "own boundary, grant to role",
                Policies {
                    boundary: allowing("boundary.json", OWN),
                    resource: bucket("notes", public_read(json!({"AWS": ROLE}))),
                    ..base(false)
                },
                None,
            ),
            (
                "own boundary, grant to session",
                Policies {
                    boundary: allowing("boundary.json", OWN),
                    resource: bucket("notes", public_read(json!({"AWS": SESSION}))),
                    ..base(false)
                },
                resource,
            ),
            (
                "own session policy",
                Policies {
                    session: allowing("session.json", OWN),
                    ..base(true)
                },
                None,
            ),
            (
                "own session policy, grant to role",
                Policies {
                    session: allowing("session.json", OWN),
                    resource: bucket("notes", public_read(json!({"AWS": ROLE}))),
                    ..base(false)
                },
                None,
            ),
            // SCP levels: a Deny, an Allow needed at each level, the path of another account.
            (
                "SCP deny",
                Policies {
                    scps: vec![level("root", Id, json!([full_access(), deny.clone()]))],
                    ..base(true)
                },
                None,
            ),
            (
                "SCP deny of another account",
                Policies {
                    scps: vec![level("444455556666", Id, json!([full_access(), deny]))],
                    ..base(true)
                },
                identity,
            ),
            (
                "SCP level allowing own folder",
                Policies {
                    scps: vec![
                        level("root", Id, json!([full_access()])),
                        level("ou", Id, own_scp),
                    ],
                    ..base(true)
                },
                None,
            ),
            (
                "SCP full access",
                Policies {
                    scps: vec![level("root", Id, json!([full_access()]))],
                    ..base(true)
                },
                identity,
            ),
            // RCPs only deny.
            (
                "RCP deny",
                Policies {
                    rcps: vec![level("root", Res, deny_others(json!("*")))],
                    ..base(true)
                },
                None,
            ),
            (
                "RCP deny, bucket grant",
                Policies {
                    rcps: vec![level("root", Res, deny_others(json!("*")))],
                    resource: bucket("notes", public_read(json!("*"))),
                    ..base(false)
                },
                None,
            ),
        ];
        let mut failures = Vec::new();
        for (name, policies, expect) in &cases {
            let proof = prove(policies);
            let got = match proof.verdict {
                Verdict::Holds => None,
                Verdict::Violated => Some(confirmed(name, policies, &proof)),
                Verdict::Unknown => {
                    failures.push(format!("{name}: unknown: {}", proof.reason));
                    continue;
                }
            };
            if got != *expect {
                failures.push(format!(
                    "{name}: expected {expect:?}, got {got:?}: {}",
                    proof.reason
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn counterexample_names_the_bucket_policy_statement_and_its_type() {
        let policies = Policies {
            resource: bucket("notes", public_read(json!("*"))),
            ..base(false)
        };
        let proof = prove(&policies);
        let json =
            serde_json::to_value(policy_sim::report::proof::proof_json(&policies, &proof)).unwrap();
        let c = &json["counterexample"];
        assert_eq!(c["statement"]["policy_type"], "resource", "{json}");
        assert_eq!(c["statement"]["policy"], "bucket-policy.json");
        assert_eq!(c["statement"]["sid"], "PublicRead");
        assert_eq!(c["principal"], SESSION);
        let text = policy_sim::report::proof::proof_text(&policies, &proof);
        for line in [
            "  as principal arn:aws:sts::111122223333:assumed-role/CognitoAuthRole/CognitoIdentityCredentials\n",
            "  allowed by resource policy bucket-policy.json Statement[0] (Sid PublicRead, Allow)\n",
        ] {
            assert!(text.contains(line), "{text}");
        }
    }

    #[test]
    fn cross_account_bucket_needs_the_identity_side() {
        // The bucket is in another account: its policy's grant alone is not enough.
        let policies = Policies {
            resource: bucket("notes", public_read(json!("*"))),
            resource_account: Some("444455556666".to_string()),
            ..base(false)
        };
        let proof = prove(&policies);
        assert_eq!(proof.verdict, Verdict::Holds, "{}", proof.reason);
        assert!(
            proof
                .assumptions
                .iter()
                .any(|a| a.contains("in another account")),
            "{:?}",
            proof.assumptions
        );
        // Both sides allowing: violated, confirmed across accounts.
        let broad = Policies {
            identity: base(true).identity,
            ..policies
        };
        let proof = prove(&broad);
        assert_eq!(confirmed("both", &broad, &proof), PolicyType::Identity);
        // A bucket policy that grants each identity only its own folder: the broad
        // identity Allow alone is not enough across accounts.
        let own = json!([{"Effect": "Allow", "Principal": {"AWS": SESSION}, "Action": "s3:GetObject", "Resource": OWN}]);
        let policies = Policies {
            resource: bucket("notes", own),
            ..broad
        };
        let proof = prove(&policies);
        assert_eq!(proof.verdict, Verdict::Holds, "{}", proof.reason);
        // Without any bucket policy nothing reaches the bucket: vacuous, so unknown.
        let policies = Policies {
            resource: Vec::new(),
            ..policies
        };
        let proof = prove(&policies);
        assert_eq!(proof.verdict, Verdict::Unknown, "{}", proof.reason);
        assert!(proof.reason.contains("only vacuously"), "{}", proof.reason);
    }

    #[test]
    fn fuzz_finds_the_bucket_policy_violation() {
        let fuzz = |policies: &Policies| {
            fuzz_isolation(policies, Some(&caller()), &[], &cognito(), 200, 1, now()).unwrap()
        };
        let policies = Policies {
            resource: bucket("notes", public_read(json!("*"))),
            ..base(false)
        };
        let c = fuzz(&policies).counterexample.expect("found");
        assert_eq!(c.statement.policy_type, PolicyType::Resource);
        assert_eq!(c.principal.as_deref(), Some(SESSION));
        assert!(fuzz(&base(false)).counterexample.is_none());
    }

    #[test]
    fn other_policy_types_need_the_principal() {
        let policies = Policies {
            resource: bucket("notes", public_read(json!("*"))),
            ..base(false)
        };
        let e = prove_isolation(&policies, None, &[], &cognito(), now()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a resource policy is given, so the request needs its principal (the caller's ARN)"
        );
        let e = fuzz_isolation(&policies, None, &[], &cognito(), 10, 1, now()).unwrap_err();
        assert!(matches!(e, ProverError::Policies(_)), "{e}");
        let root = Caller::parse("111122223333").unwrap();
        let e = prove_isolation(&policies, Some(&root), &[], &cognito(), now()).unwrap_err();
        assert!(matches!(e, ProverError::RootPrincipal { .. }), "{e}");
    }
}

mod pool {
    use policy_sim::analysis::identity::IdentityFormat;
    use policy_sim::analysis::prover::{AreaSpec, Backend, Verdict};
    use policy_sim::cognito::roles::{PoolInputs, PoolRole, RoleKind, pool_roles, prove_pool};
    use policy_sim::eval::authorize::Policies;
    use policy_sim::managed::Given;
    use policy_sim::root::Root;
    use policy_sim::template::{Params, Template};

    fn template(name: &str) -> Template {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/templates/pool-roles")
            .join(name);
        Template::load(&path, Params::default()).unwrap()
    }

    #[test]
    fn the_roles_of_a_token_mapping_are_the_user_pool_groups_roles_and_an_unused_guest_role_is_said()
     {
        let roles = pool_roles(&template("token.yml")).unwrap();
        assert_eq!(roles.pool, "IdentityPool");
        assert_eq!(
            roles.roles,
            [
                PoolRole {
                    role: "AuthRole".into(),
                    kind: RoleKind::Authenticated,
                    via: "RoleAttachment Roles.authenticated".into(),
                    unresolved: None,
                },
                PoolRole {
                    role: "AdminRole".into(),
                    kind: RoleKind::Mapped,
                    via: "RoleAttachment RoleMappings userpool (Type Token: the role of user pool group Admins)".into(),
                    unresolved: None,
                },
            ]
        );
        assert_eq!(
            roles.notes,
            [
                "the unauthenticated role GuestRole is not used: identity pool IdentityPool has AllowUnauthenticatedIdentities: false"
            ]
        );
    }

    #[test]
    fn a_pool_whose_roles_reach_no_area_of_their_own_is_unknown_not_holds() {
        let t = template("correct.yml");
        let root = Root::discover(std::path::Path::new(&*t.file));
        let inputs = PoolInputs {
            root: &root,
            given: &Given::none(),
            extra: &Policies::default(),
            principal: None,
            backend: &Backend::Automata,
        };
        let areas = [AreaSpec::private(
            "arn:aws:s3:::elsewhere/${cognito-identity.amazonaws.com:sub}/*",
        )];
        let proof = prove_pool(
            &t,
            &inputs,
            &areas,
            &IdentityFormat::parse("cognito").unwrap(),
            "2026-06-01T00:00:00Z".parse().unwrap(),
        )
        .unwrap();
        assert_eq!(proof.verdict, Verdict::Unknown);
        assert_eq!(
            proof.reason,
            "no role of identity pool IdentityPool was found to let an identity reach its own area: isolation would hold only vacuously"
        );
        assert!(
            proof
                .roles
                .iter()
                .all(|r| r.proof.verdict == Verdict::Holds && r.proof.vacuous)
        );
    }
}

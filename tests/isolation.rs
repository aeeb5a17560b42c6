//! `prove isolation` on policies with known verdicts (`fixtures/isolation/cases.json`), under
//! the `cognito` and `any` identity formats. Every counterexample is re-checked here,
//! independently of the prover: the evaluator must allow it, the resource must lie in the
//! victim's area, and the two identities must differ and fit the format.

use std::path::PathBuf;

use policy_sim::analysis::identity::IdentityFormat;
use policy_sim::analysis::prover::{Proof, Verdict, prove_isolation};
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
            let proof = prove_isolation(
                &set,
                &areas,
                &format,
                "2026-06-01T00:00:00Z".parse().unwrap(),
            )
            .unwrap();
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
            let proof =
                prove_isolation(&set, &[], &format, "2026-06-01T00:00:00Z".parse().unwrap())
                    .unwrap();
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
    let proof = prove_isolation(
        &set,
        &[],
        &IdentityFormat::parse("any").unwrap(),
        "2026-06-01T00:00:00Z".parse().unwrap(),
    )
    .unwrap();
    let c = proof.counterexample.unwrap();
    assert!(c.victim.starts_with(&c.attacker) || c.attacker.starts_with(&c.victim));
    assert!(
        proof
            .reason
            .starts_with("one identity is a prefix of the other"),
        "{}",
        proof.reason
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
        prove_isolation(&set, &[], &cognito, "2026-06-01T00:00:00Z".parse().unwrap())
            .unwrap_err()
            .to_string(),
        "no area to check: no Allow statement's Resource mentions ${cognito-identity.amazonaws.com:sub} (under Version 2012-10-17); name one"
    );
    assert_eq!(
        prove_isolation(
            &set,
            &["arn:aws:s3:::b/*".to_string()],
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
        let smt = prove_isolation_with(
            &set,
            &areas,
            &format,
            &backend,
            "2026-06-01T00:00:00Z".parse().unwrap(),
        )
        .unwrap();
        let automata = prove_isolation(
            &set,
            &areas,
            &format,
            "2026-06-01T00:00:00Z".parse().unwrap(),
        )
        .unwrap();
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
    let proof =
        prove_isolation(&set, &[], &format, "2026-06-01T00:00:00Z".parse().unwrap()).unwrap();
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
    let proof = prove_isolation(&set, &[], &format, now).unwrap();
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
    let proof = prove_isolation(&set, &[], &format, now).unwrap();
    assert_eq!(proof.verdict, Verdict::Violated, "{}", proof.reason);
    verify_counterexample(&set, &proof, &format, "broken");
    // Sampling finds it too, a case at a time near-linear in the statements.
    let fuzz = policy_sim::analysis::prover::fuzz::fuzz_isolation(&set, &[], &format, 200, 1, now)
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
    match fuzz::fuzz_isolation(&set, &[], &format, fuzz::MAX_CASES + 1, 1, now) {
        Err(e @ ProverError::TooManyCases { .. }) => assert_eq!(
            e.to_string(),
            "1000001 cases is more than one fuzz run may try (at most 1000000)"
        ),
        other => panic!("{other:?}"),
    }
}

//! Policy parser, evaluator and lint. The input is a policy document (identity-based, and
//! read again as a resource-based policy).
//!
//! Properties:
//! - an error names the file and a place inside the text, renders, and is the same on a
//!   second read;
//! - a policy written back from its model (`policy_json`) parses to the same statements and
//!   decides every request the same way;
//! - deciding is deterministic; the indexed evaluator (sets of 32 statements or more) and
//!   the full scan of `explain` agree; the deciding statements apply and have the
//!   decision's effect;
//! - adding a copy of the policy changes nothing; adding a `Deny *` makes every decidable
//!   request an explicit deny; a policy with no `Allow` statement allows nothing;
//! - lint is deterministic and its findings point inside the file.

#![no_main]

use libfuzzer_sys::fuzz_target;
use policy_sim::eval::Outcome;
use policy_sim::lang::model::{Effect, PolicyKind};
use policy_sim::lang::parse::{parse_policy, parse_policy_as};
use policy_sim::lint::{Locations, lint_policy, policy_size};
use policy_sim::{Decision, Policy, PolicySet, Request};
use policy_sim_fuzz::{assert_loc_inside, now, policy_json, render, requests};

const NAME: &str = "fuzz.json";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for kind in [PolicyKind::Identity, PolicyKind::Resource] {
        let policy = match parse_policy_as(NAME, data, kind) {
            Ok(p) => p,
            Err(e) => {
                let again = parse_policy_as(NAME, data, kind).expect_err("parsed the second time");
                assert_eq!(
                    e.to_string(),
                    again.to_string(),
                    "errors differ between reads"
                );
                assert!(
                    e.to_string().starts_with(NAME),
                    "error without the file: {e}"
                );
                if let Some(loc) = e.loc() {
                    assert_loc_inside(loc, NAME, &text, "policy error");
                }
                render(&e);
                continue;
            }
        };
        round_trip(&policy, kind);
        if kind == PolicyKind::Identity {
            decisions(&policy);
            lint(&policy, &text);
        }
    }
});

/// Written back from its model, the policy parses to the same statements and decides alike.
fn round_trip(policy: &Policy, kind: PolicyKind) {
    let json = policy_json::to_json(policy);
    let again = match parse_policy_as(NAME, json.as_bytes(), kind) {
        Ok(p) => p,
        Err(e) => panic!("the policy written from its model does not parse: {e}\n{json}"),
    };
    let keys = |p: &Policy| -> Vec<(String, Option<String>)> {
        p.statements
            .iter()
            .map(|s| (s.key(), s.sid.clone()))
            .collect()
    };
    assert_eq!(
        keys(policy),
        keys(&again),
        "statements differ after a round trip\n{json}"
    );
    if kind == PolicyKind::Identity {
        let a = PolicySet::new(vec![policy.clone()]);
        let b = PolicySet::new(vec![again]);
        for r in requests::for_policy(policy, now()) {
            assert_eq!(decide(&a, &r), decide(&b, &r), "{r:?}\n{json}");
        }
    }
}

/// The decision, or `None` for a request the set refuses.
fn decide(set: &PolicySet, r: &Request) -> Option<Decision> {
    set.evaluate(r).ok().map(|e| e.decision)
}

fn decisions(policy: &Policy) {
    let one = PolicySet::new(vec![policy.clone()]);
    // Enough copies to pass the evaluator's index threshold (32 statements).
    let copies = 32usize.div_ceil(policy.statements.len().max(1)) + 1;
    let many = PolicySet::new(vec![policy.clone(); copies]);
    let deny_all = parse_policy(
        "deny.json",
        br#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}"#,
    )
    .expect("a valid policy");
    let denied = PolicySet::new(vec![policy.clone(), deny_all]);
    let has_allow = policy.statements.iter().any(|s| s.effect == Effect::Allow);
    for r in requests::for_policy(policy, now()) {
        let first = one.evaluate(&r);
        let again = one.evaluate(&r);
        assert_eq!(
            first.as_ref().map_err(ToString::to_string),
            again.as_ref().map_err(ToString::to_string),
            "not deterministic: {r:?}"
        );
        let Ok(eval) = first else { continue };
        if !has_allow {
            assert_ne!(
                eval.decision,
                Decision::Allow,
                "Allow with no Allow statement: {r:?}"
            );
        }
        if let Ok(m) = many.evaluate(&r) {
            assert_eq!(
                m.decision, eval.decision,
                "indexed evaluation differs: {r:?}"
            );
        }
        if let Ok(d) = denied.evaluate(&r) {
            assert_eq!(
                d.decision,
                Decision::ExplicitDeny,
                "Deny * did not deny: {r:?}"
            );
        }
        check_explanation(&one, &r, eval.decision);
        if let Ok(x) = many.explain(&r) {
            assert_eq!(
                x.evaluation.decision, eval.decision,
                "explain (copies) differs: {r:?}"
            );
        }
    }
}

/// `explain` scans every statement: its decision, the deciding statements and the
/// outcomes agree with `evaluate`.
fn check_explanation(set: &PolicySet, r: &Request, decision: Decision) {
    let Ok(x) = set.explain(r) else { return };
    assert_eq!(
        x.evaluation.decision, decision,
        "explain differs from evaluate: {r:?}"
    );
    let applies = |effect: Effect| {
        x.outcomes
            .iter()
            .any(|(s, o)| *o == Outcome::Applies && set.statement(*s).effect == effect)
    };
    assert_eq!(
        Decision::combine(applies(Effect::Deny), applies(Effect::Allow)),
        decision,
        "outcomes do not give the decision: {r:?}"
    );
    for s in &x.evaluation.deciding {
        let outcome = x.outcomes.iter().find(|(o, _)| o == s).map(|(_, o)| o);
        assert_eq!(
            outcome,
            Some(&Outcome::Applies),
            "a deciding statement does not apply"
        );
        let effect = set.statement(*s).effect;
        let expected = match decision {
            Decision::Allow => Effect::Allow,
            Decision::ExplicitDeny => Effect::Deny,
            Decision::ImplicitDeny => panic!("an implicit deny has deciding statements: {r:?}"),
        };
        assert_eq!(
            effect, expected,
            "a deciding statement has the other effect"
        );
    }
}

fn lint(policy: &Policy, text: &str) {
    let locations = Locations::from_text(NAME, text);
    let size = Some(policy_size(text));
    let findings = lint_policy(policy, &locations, size, false);
    assert_eq!(
        findings,
        lint_policy(policy, &locations, size, false),
        "lint differs"
    );
    for f in &findings {
        assert_eq!(f.file, NAME, "a finding names another file");
        let loc = policy_sim::loc::Loc::new(NAME, f.line, f.column);
        assert_loc_inside(&loc, NAME, text, "lint finding");
    }
}

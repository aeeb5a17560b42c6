//! Isolation as apps define it: private and protected areas, listing leaks, the `opaque`
//! format and fragile `holds`, on the shipped fixtures (Amplify Gen 1 and Gen 2, AWS's
//! per-user folder example) and on every listing shape. Every counterexample is decided
//! again here with the evaluator `check` runs, independently of the prover.

use std::path::PathBuf;

use policy_sim::analysis::identity::IdentityFormat;
use policy_sim::analysis::prover::{
    AreaSpec, Counterexample, Others, Proof, Reach, Verdict, prove_isolation,
};
use policy_sim::catalog::{AccessClass, catalog};
use policy_sim::eval::authorize::{Policies, PolicyType, ScopedPolicy};
use policy_sim::eval::{Decision, PolicySet};
use policy_sim::lang::arn::ArnPattern;
use policy_sim::lang::model::PolicyKind;
use policy_sim::lang::parse::{parse_policy, parse_policy_as};
use policy_sim::lang::principal::Caller;
use policy_sim::lang::variables::Syntax;
use policy_sim::lang::wildcard::Match;
use policy_sim::request::{Context, Request};
use serde_json::{Value, json};

const BUCKET: &str = "arn:aws:s3:::notes";
const PRIVATE: &str = "arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}/*";
const PROTECTED: &str = "arn:aws:s3:::notes/protected/${cognito-identity.amazonaws.com:sub}/*";

fn now() -> jiff::Timestamp {
    "2026-06-01T00:00:00Z".parse().unwrap()
}

fn format(name: &str) -> IdentityFormat {
    IdentityFormat::parse(name).unwrap()
}

fn file(path: &str) -> PolicySet {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
    PolicySet::new(vec![
        parse_policy(path, &std::fs::read(full).unwrap()).unwrap(),
    ])
}

fn set(statements: Value) -> PolicySet {
    let doc = json!({"Version": "2012-10-17", "Statement": statements});
    PolicySet::new(vec![
        parse_policy("p.json", &serde_json::to_vec(&doc).unwrap()).unwrap(),
    ])
}

fn specs(private: &[&str], protected: &[&str]) -> Vec<AreaSpec> {
    private
        .iter()
        .map(|p| AreaSpec::private(*p))
        .chain(protected.iter().map(|p| AreaSpec::protected(*p)))
        .collect()
}

/// Is `resource` inside `area` for `victim`?
fn inside(area: &str, resource: &str, victim: &str) -> bool {
    let syntax = Syntax {
        variables: true,
        wildcards: true,
    };
    let mut ctx = Context::new();
    ctx.add("cognito-identity.amazonaws.com:sub", victim);
    ArnPattern::parse(area, syntax)
        .unwrap()
        .matches(resource, &ctx)
        == Match::Yes
}

/// Decide the counterexample's request with the evaluator (every policy type, the
/// principal when given) and check that it is what the proof says it is: distinct ids of
/// the format, allowed, inside the victim's area (or for a listing, naming a resource of
/// it with an `s3:prefix` its key starts with), and a write on a protected area.
fn confirm(
    policies: &Policies,
    principal: Option<&Caller>,
    proof: &Proof,
    c: &Counterexample,
    f: &IdentityFormat,
) {
    assert_ne!(c.attacker, c.victim);
    assert!(f.matches(&c.attacker) && f.matches(&c.victim), "{c:?}");
    let mut request = Request::new(c.action.clone(), c.resource.clone()).with_identity(&c.attacker);
    for (k, v) in &c.context {
        request.context.set(k, v.clone());
    }
    request.context.fill_time_defaults(now()).unwrap();
    request.principal = principal.cloned();
    policies.prepare(&mut request).unwrap();
    let auth = policies.authorize(&request).unwrap();
    assert_eq!(
        auth.verdict.decision,
        Decision::Allow,
        "not confirmed: {c:?}"
    );
    let spec = proof
        .area_specs
        .iter()
        .find(|a| a.pattern == c.area)
        .unwrap_or_else(|| panic!("{} is not an area of the proof", c.area));
    match c.reach {
        Reach::Object => assert!(inside(&c.area, &c.resource, &c.victim), "{c:?}"),
        Reach::Listing => {
            let revealed = c.reveals.as_deref().unwrap();
            assert!(inside(&c.area, revealed, &c.victim), "{c:?}");
            let key = revealed
                .strip_prefix(&format!("{}/", c.resource))
                .unwrap_or_else(|| panic!("{revealed} is not in the bucket {}", c.resource));
            let prefix = &c.context["s3:prefix"][0];
            assert!(key.starts_with(prefix.as_str()), "{key} / {prefix}");
            assert_ne!(
                spec.others,
                Others::Read,
                "listing a protected area is allowed"
            );
        }
    }
    if spec.others == Others::Read {
        assert_eq!(c.class, AccessClass::Write, "{c:?}");
        assert_eq!(catalog().access_class(&c.action), AccessClass::Write);
    }
    if spec.others == Others::Write {
        assert_eq!(c.class, AccessClass::Read, "{c:?}");
        assert_eq!(catalog().access_class(&c.action), AccessClass::Read);
    }
}

fn prove_checked(
    policies: &Policies,
    principal: Option<&Caller>,
    areas: &[AreaSpec],
    f: &IdentityFormat,
) -> Proof {
    let proof = prove_isolation(policies, principal, areas, f, now()).unwrap();
    if let Some(c) = &proof.counterexample {
        confirm(policies, principal, &proof, c, f);
    }
    if let Some(fragile) = &proof.fragile {
        confirm(
            policies,
            principal,
            &proof,
            &fragile.counterexample,
            &format("opaque"),
        );
    }
    proof
}

fn prove(st: Value, areas: &[AreaSpec], f: &str) -> Proof {
    let policies = Policies::identity_only(set(st));
    prove_checked(&policies, None, areas, &format(f))
}

#[test]
fn fixtures_have_their_expected_verdicts() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/isolation/expected.json");
    let cases: Vec<Value> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(cases.len(), 12);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let mut policies = Vec::new();
        for p in case["policies"].as_array().unwrap() {
            policies.extend(file(p.as_str().unwrap()).policies().iter().cloned());
        }
        let policies = Policies::identity_only(PolicySet::new(policies));
        let strings = |key: &str| -> Vec<&str> {
            case.get(key)
                .and_then(Value::as_array)
                .map(|a| a.iter().map(|v| v.as_str().unwrap()).collect())
                .unwrap_or_default()
        };
        let areas = specs(&strings("areas"), &strings("write_areas"));
        for (f, expected) in case["expect"].as_object().unwrap() {
            let proof = prove_checked(&policies, None, &areas, &format(f));
            assert_eq!(
                proof.verdict.as_str(),
                expected.as_str().unwrap(),
                "{name} under {f}: {}",
                proof.reason
            );
            if f == "cognito"
                && let Some(fragile) = case.get("fragile").and_then(Value::as_bool)
            {
                assert_eq!(proof.fragile.is_some(), fragile, "{name}: fragile");
            }
            let c = proof
                .counterexample
                .as_ref()
                .or(proof.fragile.as_ref().map(|x| &x.counterexample));
            if let (Some(c), Some(reach)) = (c, case.get("reach")) {
                assert_eq!(
                    c.reach.as_str(),
                    reach.as_str().unwrap(),
                    "{name} under {f}"
                );
            }
            if let Some(hint) = case.get("hint").and_then(Value::as_bool) {
                assert_eq!(proof.hint.is_some(), hint, "{name}: hint");
            }
        }
    }
}

/// The object statement every listing shape comes with: each identity its own folder.
fn own_objects() -> Value {
    json!({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": PRIVATE})
}

fn listing(condition: Option<Value>) -> Value {
    let mut st = json!({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET});
    if let Some(c) = condition {
        st["Condition"] = c;
    }
    json!([own_objects(), st])
}

fn prefix_like(values: &[&str]) -> Option<Value> {
    Some(json!({"StringLike": {"s3:prefix": values}}))
}

#[test]
fn listing_without_a_prefix_bound_names_every_private_file() {
    let areas = specs(&[PRIVATE], &[]);
    for f in ["cognito", "opaque"] {
        let proof = prove(listing(None), &areas, f);
        assert_eq!(proof.verdict, Verdict::Violated, "{f}: {}", proof.reason);
        let c = proof.counterexample.unwrap();
        assert_eq!(
            (c.reach, c.action.as_str()),
            (Reach::Listing, "s3:ListBucket")
        );
        // The most telling prefix: the victim's own folder.
        assert_eq!(
            c.context["s3:prefix"],
            [format!("private/{}/", c.victim)],
            "{f}"
        );
        let fix = proof.fix.unwrap();
        assert_eq!(
            fix.after.as_deref(),
            Some(
                r#"{"StringLike": {"s3:prefix": ["private/${cognito-identity.amazonaws.com:sub}/", "private/${cognito-identity.amazonaws.com:sub}/*"]}}"#
            )
        );
    }
    // A protected area may be listed by others.
    let proof = prove(listing(None), &specs(&[], &[PRIVATE]), "cognito");
    assert_eq!(proof.verdict, Verdict::Holds, "{}", proof.reason);
}

#[test]
fn listing_every_private_folder_leaks() {
    let proof = prove(
        listing(prefix_like(&["private/*"])),
        &specs(&[PRIVATE], &[]),
        "cognito",
    );
    assert_eq!(proof.verdict, Verdict::Violated, "{}", proof.reason);
    let c = proof.counterexample.unwrap();
    assert_eq!(c.reach, Reach::Listing);
    assert!(
        proof.reason.starts_with(&format!(
            "the names of identity {}'s files (such as arn:aws:s3:::notes/private/{}/",
            c.victim, c.victim
        )),
        "{}",
        proof.reason
    );
    assert!(
        proof
            .reason
            .ends_with("the statement that allows the listing does not bound s3:prefix to the identity's own folder"),
        "{}",
        proof.reason
    );
}

#[test]
fn a_prefix_without_slash_is_fragile_and_leaks_under_opaque() {
    let st = listing(prefix_like(&[
        "private/${cognito-identity.amazonaws.com:sub}*",
    ]));
    let areas = specs(&[PRIVATE], &[]);
    let proof = prove(st.clone(), &areas, "cognito");
    assert_eq!(proof.verdict, Verdict::Holds, "{}", proof.reason);
    let fragile = proof.fragile.expect("fragile");
    assert_eq!(fragile.format, "opaque");
    assert_eq!(fragile.counterexample.reach, Reach::Listing);
    let proof = prove(st, &areas, "opaque");
    assert_eq!(proof.verdict, Verdict::Violated);
    let c = proof.counterexample.unwrap();
    assert_eq!((c.attacker.as_str(), c.victim.as_str()), ("ann", "anna"));
    assert_eq!(c.context["s3:prefix"], ["private/anna/"]);
    assert_eq!(
        c.reveals.as_deref(),
        Some("arn:aws:s3:::notes/private/anna/photo.jpg")
    );
    let fix = proof.fix.unwrap();
    assert_eq!(
        (fix.before.as_deref(), fix.after.as_deref()),
        (
            Some("private/${cognito-identity.amazonaws.com:sub}*"),
            Some("private/${cognito-identity.amazonaws.com:sub}/*")
        )
    );
}

#[test]
fn a_prefix_ended_by_a_slash_holds_robustly() {
    let st = listing(prefix_like(&[
        "private/${cognito-identity.amazonaws.com:sub}/",
        "private/${cognito-identity.amazonaws.com:sub}/*",
    ]));
    let areas = specs(&[PRIVATE], &[]);
    for f in ["cognito", "opaque"] {
        let proof = prove(st.clone(), &areas, f);
        assert_eq!(proof.verdict, Verdict::Holds, "{f}: {}", proof.reason);
        assert!(proof.fragile.is_none(), "{f}");
    }
    // `any` lets an id hold '/', so a folder of one id lies inside another's.
    let proof = prove(st, &areas, "any");
    assert_eq!(proof.verdict, Verdict::Violated);
}

#[test]
fn protected_areas_share_reads_and_isolate_writes() {
    let reads = json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::notes/protected/*"});
    let own = json!({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "Resource": PROTECTED});
    let as_designed = specs(&[], &[PROTECTED]);
    let proof = prove(json!([reads.clone(), own.clone()]), &as_designed, "cognito");
    assert_eq!(proof.verdict, Verdict::Holds, "{}", proof.reason);
    assert!(proof.hint.is_none());
    // Named as private, the shared read is the violation, and the default areas say so.
    let proof = prove(json!([reads.clone(), own.clone()]), &[], "cognito");
    assert_eq!(proof.verdict, Verdict::Violated);
    assert_eq!(
        proof.counterexample.as_ref().unwrap().class,
        AccessClass::Read
    );
    assert!(
        proof
            .hint
            .as_deref()
            .unwrap()
            .ends_with(&format!(
                "where others may read and only the owner may write: --write-area {PROTECTED} (in a gate file: {{pattern: {PROTECTED}, others: read}})"
            )),
        "{:?}",
        proof.hint
    );
    // A write by others breaks a protected area.
    let writes = json!({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::notes/protected/*"});
    let proof = prove(
        json!([reads.clone(), own.clone(), writes]),
        &as_designed,
        "cognito",
    );
    assert_eq!(proof.verdict, Verdict::Violated);
    let c = proof.counterexample.unwrap();
    assert_eq!(
        (c.action.as_str(), c.class),
        ("s3:PutObject", AccessClass::Write)
    );
    // A wildcard of reads may cover an action AWS adds later: that counts as write.
    let future = json!({"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::notes/protected/*"});
    let proof = prove(json!([own, future]), &as_designed, "cognito");
    assert_eq!(proof.verdict, Verdict::Violated);
    let c = proof.counterexample.unwrap();
    assert_eq!(c.action, "s3:GetFuture");
    assert!(
        proof
            .reason
            .contains("s3:GetFuture is not an action the catalog knows (one AWS may add later), and such an action counts as write"),
        "{}",
        proof.reason
    );
}

#[test]
fn the_guest_scope_reaches_no_signed_in_area() {
    // The Amplify guest role's read policy, against the signed-in identities' areas.
    let guest = file("fixtures/isolation/amplify-gen1/guest-read.json");
    let own = set(json!([own_objects()]));
    let mut all = guest.policies().to_vec();
    all.extend(own.policies().iter().cloned());
    let policies = Policies::identity_only(PolicySet::new(all));
    let areas = specs(
        &["arn:aws:s3:::notes-app-uploads/private/${cognito-identity.amazonaws.com:sub}/*"],
        &["arn:aws:s3:::notes-app-uploads/protected/${cognito-identity.amazonaws.com:sub}/*"],
    );
    let proof = prove_checked(&policies, None, &areas, &format("opaque"));
    assert_eq!(proof.verdict, Verdict::Holds, "{}", proof.reason);
    // A guest read policy that lists the private folders too leaks their names.
    let leaky = set(json!([
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::notes-app-uploads",
         "Condition": {"StringLike": {"s3:prefix": ["public/*", "private/*"]}}},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::notes-app-uploads/private/${cognito-identity.amazonaws.com:sub}/*"}
    ]));
    let proof = prove_checked(
        &Policies::identity_only(leaky),
        None,
        &areas,
        &format("cognito"),
    );
    assert_eq!(proof.verdict, Verdict::Violated);
    assert_eq!(proof.counterexample.unwrap().reach, Reach::Listing);
}

#[test]
fn a_bucket_policy_that_lists_for_everyone_breaks_isolation() {
    let session =
        "arn:aws:sts::111122223333:assumed-role/CognitoAuthRole/CognitoIdentityCredentials";
    let caller = Caller::parse(session).unwrap();
    let bucket_policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "ListForAll", "Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket", "Resource": BUCKET}
    ]});
    let policies = Policies {
        identity: set(json!([own_objects()])),
        resource: vec![ScopedPolicy {
            resource: Some(BUCKET.to_string()),
            set: PolicySet::new(vec![
                parse_policy_as(
                    "bucket.json",
                    &serde_json::to_vec(&bucket_policy).unwrap(),
                    PolicyKind::Resource,
                )
                .unwrap(),
            ]),
        }],
        ..Policies::default()
    };
    let proof = prove_checked(
        &policies,
        Some(&caller),
        &specs(&[PRIVATE], &[]),
        &format("cognito"),
    );
    assert_eq!(proof.verdict, Verdict::Violated, "{}", proof.reason);
    let c = proof.counterexample.unwrap();
    assert_eq!(c.reach, Reach::Listing);
    assert_eq!(c.statement.policy_type, PolicyType::Resource);
    // Without it, the identity policy alone keeps the areas apart.
    let alone = Policies {
        resource: Vec::new(),
        ..policies
    };
    let proof = prove_checked(
        &alone,
        Some(&caller),
        &specs(&[PRIVATE], &[]),
        &format("opaque"),
    );
    assert_eq!(proof.verdict, Verdict::Holds, "{}", proof.reason);
}

#[test]
fn opaque_is_a_named_format() {
    let f = format("opaque");
    assert!(f.matches("a") && f.matches("us-east-1:x") && !f.matches("a/b"));
    assert!(IdentityFormat::parse("Opaque").is_err());
}

#[test]
fn fuzzing_finds_listing_leaks_and_respects_protected_areas() {
    use policy_sim::analysis::prover::fuzz::fuzz_isolation;
    let policies = Policies::identity_only(set(listing(None)));
    let f = format("cognito");
    let found = fuzz_isolation(&policies, None, &specs(&[PRIVATE], &[]), &f, 200, 7, now())
        .unwrap()
        .counterexample
        .expect("a listing leak is found");
    assert_eq!(found.reach, Reach::Listing);
    let proof = prove_checked(&policies, None, &specs(&[PRIVATE], &[]), &f);
    confirm(&policies, None, &proof, &found, &f);
    // Reads inside a protected area are allowed, so sampling finds nothing there.
    let reads = set(json!([
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::notes/protected/*"},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": PROTECTED}
    ]));
    let result = fuzz_isolation(
        &Policies::identity_only(reads),
        None,
        &specs(&[], &[PROTECTED]),
        &f,
        300,
        7,
        now(),
    )
    .unwrap();
    assert!(
        result.counterexample.is_none(),
        "{:?}",
        result.counterexample
    );
}

/// Amplify Gen 2 before `@aws-amplify/backend-storage` 1.2.1 wrote `*` into the identity
/// slot for non-owner rules (`protected/*/*`), with a `Deny` for a sub-path.
#[test]
fn a_star_in_the_identity_slot_reads_every_protected_folder() {
    let st = json!([
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": [
            "arn:aws:s3:::notes/protected/*/*", PROTECTED, PRIVATE]},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET, "Condition": {"StringLike": {"s3:prefix": [
            "protected/*/*", "protected/*/",
            "private/${cognito-identity.amazonaws.com:sub}/*", "private/${cognito-identity.amazonaws.com:sub}/"]}}},
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": [PROTECTED, PRIVATE]},
        {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::notes/protected/*/archive/*"}
    ]);
    let proof = prove(st.clone(), &[], "cognito");
    assert_eq!(proof.verdict, Verdict::Violated);
    assert_eq!(proof.counterexample.as_ref().unwrap().area, PROTECTED);
    assert!(proof.hint.is_some());
    for f in ["cognito", "opaque"] {
        let proof = prove(st.clone(), &specs(&[PRIVATE], &[PROTECTED]), f);
        assert_eq!(proof.verdict, Verdict::Holds, "{f}: {}", proof.reason);
        assert!(proof.fragile.is_none());
    }
    // Listing every protected folder and one level more reaches no private area, but a
    // star before the private folder's identity does.
    let mut leaky = st;
    leaky[1]["Condition"]["StringLike"]["s3:prefix"] = json!(["protected/*/*", "private/*/"]);
    let proof = prove(leaky, &specs(&[PRIVATE], &[PROTECTED]), "cognito");
    assert_eq!(proof.verdict, Verdict::Violated);
    let c = proof.counterexample.unwrap();
    assert_eq!((c.reach, c.area.as_str()), (Reach::Listing, PRIVATE));
}

/// Conditions decided on the policy text, soundly: a statement whose conditions
/// contradict each other applies to nothing, and a `Deny` whose conditions are among the
/// `Allow`'s applies wherever the `Allow` does.
#[test]
fn contradictions_and_shared_conditions_decide_without_guessing() {
    let areas = specs(&[PRIVATE], &[]);
    let contradiction = json!([own_objects(),
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::notes/private/*",
         "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}, "NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]);
    let proof = prove(contradiction, &areas, "opaque");
    assert_eq!(proof.verdict, Verdict::Holds, "{}", proof.reason);
    let tls = json!({"Bool": {"aws:SecureTransport": "true"}});
    let shared = json!([own_objects(),
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::notes/private/*", "Condition": tls},
        {"Effect": "Deny", "Action": "s3:*", "NotResource": PRIVATE, "Condition": tls}]);
    let proof = prove(shared.clone(), &areas, "opaque");
    assert_eq!(proof.verdict, Verdict::Holds, "{}", proof.reason);
    // A Deny whose condition the Allow does not share is not relied on: the Allow applies
    // without TLS, where the Deny does not.
    let mut other = shared;
    other[1]["Condition"] = json!({"Bool": {"aws:SecureTransport": "false"}});
    let proof = prove(other, &areas, "opaque");
    assert_eq!(proof.verdict, Verdict::Violated, "{}", proof.reason);
}

/// `StringEquals` compares the text as written: a `*` in its value is a character, and
/// the counterexample's context carries it (the request is then confirmed).
#[test]
fn a_star_in_a_string_equals_value_is_a_character() {
    let st = json!([own_objects(),
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::notes/private/*",
         "Condition": {"StringEquals": {"aws:UserAgent": "notes-app/*"}}}]);
    let proof = prove(st, &specs(&[PRIVATE], &[]), "cognito");
    assert_eq!(proof.verdict, Verdict::Violated, "{}", proof.reason);
    assert_eq!(
        proof.counterexample.unwrap().context["aws:UserAgent"],
        ["notes-app/*"]
    );
}

/// A pattern that is literal but for the identity, used twice (`public/${sub}${sub}`),
/// names one identity per resource: it holds against itself, and another statement that
/// reaches into it is still found.
#[test]
fn a_repeated_identity_in_a_literal_pattern_names_one_identity() {
    let doubled = "arn:aws:s3:::notes/public/${cognito-identity.amazonaws.com:sub}${cognito-identity.amazonaws.com:sub}";
    let own = json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": doubled});
    for f in ["any", "opaque", "cognito"] {
        let proof = prove(json!([own.clone()]), &[], f);
        assert_eq!(proof.verdict, Verdict::Holds, "{f}: {}", proof.reason);
    }
    let other = json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::notes/public/ab*"});
    let proof = prove(json!([own, other]), &[], "opaque");
    assert_eq!(proof.verdict, Verdict::Violated, "{}", proof.reason);
}

/// The area as the access report asks about reads alone: others may write, not read.
fn reads_only(pattern: &str) -> Vec<AreaSpec> {
    vec![AreaSpec {
        pattern: pattern.to_string(),
        others: Others::Write,
    }]
}

#[test]
fn asked_about_reads_alone_the_prover_finds_every_kind_of_read() {
    let shared = "arn:aws:s3:::notes/private/*";
    // Each statement lets every identity read every private file, in its own way.
    for reads in [
        json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": shared}),
        json!({"Effect": "Allow", "Action": "s3:Get*", "Resource": shared}),
        json!({"Effect": "Allow", "NotAction": "s3:PutObject", "Resource": shared}),
        json!({"Effect": "Allow", "Action": "s3:*Object", "Resource": shared}),
    ] {
        let p = prove(
            json!([own_objects(), reads.clone()]),
            &reads_only(PRIVATE),
            "cognito",
        );
        assert_eq!(p.verdict, Verdict::Violated, "{reads}: {}", p.reason);
        let c = p.counterexample.unwrap();
        assert_eq!(c.class, AccessClass::Read, "{reads}: {c:?}");
    }
    // A listing that names other identities' files is a read.
    let p = prove(listing(None), &reads_only(PRIVATE), "cognito");
    assert_eq!(p.verdict, Verdict::Violated, "{}", p.reason);
    assert_eq!(p.counterexample.unwrap().reach, Reach::Listing);
    // Writes to every private file are not reads: reads alone hold (and writes do not).
    let writes = json!([
        own_objects(),
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": shared}
    ]);
    let p = prove(writes.clone(), &reads_only(PRIVATE), "cognito");
    assert_eq!(p.verdict, Verdict::Holds, "{}", p.reason);
    let p = prove(writes, &specs(&[], &[PRIVATE]), "cognito");
    assert_eq!(p.verdict, Verdict::Violated, "{}", p.reason);
    assert_eq!(p.counterexample.unwrap().class, AccessClass::Write);
}

mod observed {
    use policy_sim::analysis::prover::{AreaOwners, AreaSpec, Touch};

    const A: &str = "us-east-1:11111111-2222-3333-4444-555555555555";
    const B: &str = "us-east-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

    fn owners() -> AreaOwners {
        AreaOwners::new(&[
            AreaSpec::private("arn:aws:s3:::b/private/${cognito-identity.amazonaws.com:sub}/*"),
            AreaSpec::protected("arn:aws:s3:::b/protected/${cognito-identity.amazonaws.com:sub}/*"),
        ])
        .unwrap()
    }

    fn object(key: &str) -> String {
        format!("arn:aws:s3:::b/{key}")
    }

    #[test]
    fn objects_are_attributed_to_their_owner() {
        let o = owners();
        let get = |who: Option<&str>, action: &str, key: &str| {
            o.touch(who, action, &object(key), None, false)
        };
        assert_eq!(
            get(Some(A), "s3:GetObject", &format!("private/{A}/n.txt")),
            Touch::Own { area: 0 }
        );
        assert_eq!(
            get(Some(A), "s3:GetObject", &format!("private/{B}/n.txt")),
            Touch::Other {
                area: 0,
                owner: B.to_string(),
                forbidden: true
            }
        );
        // A protected area: others may read, not write.
        assert_eq!(
            get(Some(A), "s3:GetObject", &format!("protected/{B}/n.txt")),
            Touch::Other {
                area: 1,
                owner: B.to_string(),
                forbidden: false
            }
        );
        assert_eq!(
            get(Some(A), "s3:PutObject", &format!("protected/{B}/n.txt")),
            Touch::Other {
                area: 1,
                owner: B.to_string(),
                forbidden: true
            }
        );
        // Opaque owners are read off a segment.
        assert_eq!(
            get(Some(A), "s3:DeleteObject", "private/bob/n.txt"),
            Touch::Other {
                area: 0,
                owner: "bob".to_string(),
                forbidden: true
            }
        );
        assert_eq!(get(Some(A), "s3:GetObject", "public/x"), Touch::Outside);
        assert_eq!(
            get(None, "s3:GetObject", &format!("private/{B}/n")),
            Touch::Outside
        );
        // The area directory itself is no one's object: outside.
        assert_eq!(get(Some(A), "s3:GetObject", "private/x"), Touch::Outside);
    }

    #[test]
    fn unattributable_resources_in_an_area_are_not_taken_to_be_safe() {
        // An owner with a slash: no candidate reproduces it, yet the key is inside the
        // pattern read with any identity.
        let o = AreaOwners::new(&[AreaSpec::private(
            "arn:aws:s3:::b/u/${cognito-identity.amazonaws.com:sub}/data",
        )])
        .unwrap();
        assert_eq!(
            o.touch(
                Some(A),
                "s3:GetObject",
                "arn:aws:s3:::b/u/x/y/data",
                None,
                false
            ),
            Touch::Unattributed { area: 0 }
        );
        assert_eq!(
            o.touch(
                Some(A),
                "s3:GetObject",
                &format!("arn:aws:s3:::b/u/{A}/data"),
                None,
                false
            ),
            Touch::Own { area: 0 }
        );
    }

    #[test]
    fn listings_reach_what_their_prefix_spans() {
        let o = owners();
        let list = |prefix: Option<&str>| {
            o.touch(Some(A), "s3:ListBucket", "arn:aws:s3:::b", prefix, true)
        };
        assert_eq!(list(Some(&format!("private/{A}/"))), Touch::Own { area: 0 });
        assert_eq!(
            list(Some(&format!("private/{B}/"))),
            Touch::Other {
                area: 0,
                owner: B.to_string(),
                forbidden: true
            }
        );
        assert_eq!(
            list(Some(&format!("private/{B}"))),
            Touch::Other {
                area: 0,
                owner: B.to_string(),
                forbidden: true
            }
        );
        for everyone in [None, Some(""), Some("priv"), Some("private/")] {
            assert_eq!(
                list(everyone),
                Touch::Everyone {
                    area: 0,
                    forbidden: true
                },
                "{everyone:?}"
            );
        }
        // Listing the protected area's root reveals names others may read.
        assert_eq!(
            list(Some("protected/")),
            Touch::Everyone {
                area: 1,
                forbidden: false
            }
        );
        assert_eq!(list(Some("public/")), Touch::Outside);
    }

    #[test]
    fn areas_without_the_identity_are_errors() {
        let e = AreaOwners::new(&[AreaSpec::private("arn:aws:s3:::b/private/*")]).unwrap_err();
        assert!(e.to_string().contains("arn:aws:s3:::b/private/*"), "{e}");
    }

    #[test]
    fn the_strictest_area_decides() {
        // Bob's private folder lies inside a protected area too: reading it is forbidden.
        let o = AreaOwners::new(&[
            AreaSpec::protected("arn:aws:s3:::b/${cognito-identity.amazonaws.com:sub}/*"),
            AreaSpec::private("arn:aws:s3:::b/${cognito-identity.amazonaws.com:sub}/private/*"),
        ])
        .unwrap();
        let key = format!("arn:aws:s3:::b/{B}/private/x");
        assert_eq!(
            o.touch(Some(A), "s3:GetObject", &key, None, false),
            Touch::Other {
                area: 1,
                owner: B.to_string(),
                forbidden: true
            }
        );
        // Outside bob's private folder, his protected area may be read.
        assert_eq!(
            o.touch(
                Some(A),
                "s3:GetObject",
                &format!("arn:aws:s3:::b/{B}/y"),
                None,
                false
            ),
            Touch::Other {
                area: 0,
                owner: B.to_string(),
                forbidden: false
            }
        );
    }

    #[test]
    fn listings_into_an_area_that_are_no_ones_folder_are_unattributed() {
        let o = AreaOwners::new(&[
            AreaSpec::private("arn:aws:s3:::b/avatars/${cognito-identity.amazonaws.com:sub}.png"),
            AreaSpec::private("arn:aws:s3:::c/*/${cognito-identity.amazonaws.com:sub}/*"),
        ])
        .unwrap();
        // Every id of a region, and a team folder of a wildcard area.
        for (bucket, prefix) in [("b", "avatars/us-east-1:"), ("c", "team1/")] {
            assert_eq!(
                o.touch(
                    Some(A),
                    "s3:ListBucket",
                    &format!("arn:aws:s3:::{bucket}"),
                    Some(prefix),
                    true
                ),
                Touch::Unattributed {
                    area: usize::from(bucket == "c")
                },
                "{prefix}"
            );
        }
        // Every S3 list action lists; HeadBucket (authorized as s3:ListBucket) does not.
        assert!(AreaOwners::lists(
            "s3:ListBucketMultipartUploads",
            "arn:aws:s3:::b",
            None
        ));
        assert!(AreaOwners::lists(
            "s3:ListBucket",
            "arn:aws:s3:::b",
            Some("ListObjectsV2")
        ));
        assert!(!AreaOwners::lists(
            "s3:ListBucket",
            "arn:aws:s3:::b",
            Some("HeadBucket")
        ));
        assert!(!AreaOwners::lists(
            "s3:ListMultipartUploadParts",
            "arn:aws:s3:::b/k",
            None
        ));
        assert!(!AreaOwners::lists("s3:GetObject", "arn:aws:s3:::b", None));
    }

    #[test]
    fn long_resources_are_not_searched_and_not_safe() {
        let o = owners();
        let long = format!("arn:aws:s3:::b/private/{}x", "a/".repeat(500_000));
        assert_eq!(
            o.touch(Some(A), "s3:GetObject", &long, None, false),
            Touch::Unattributed { area: 0 }
        );
        // Many segments: the owner is the first segment the area accepts.
        let many = format!("arn:aws:s3:::b/private/{}x", "a/".repeat(1000));
        assert_eq!(
            o.touch(Some(A), "s3:GetObject", &many, None, false),
            Touch::Other {
                area: 0,
                owner: "a".to_string(),
                forbidden: true
            }
        );
    }
}

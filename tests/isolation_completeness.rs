//! Completeness and soundness of `prove isolation` on random small policies, measured
//! against brute force.
//!
//! A deterministic generator writes small identity policies (1 to 4 statements, `Allow`
//! and `Deny`, `Action` and `NotAction`, `Resource` and `NotResource` built from pieces
//! such as `private/`, `${cognito-identity.amazonaws.com:sub}`, `*`, `?` and `/`, and
//! sometimes conditions on `s3:prefix`, `aws:SourceIp`, `aws:SourceVpc` and
//! `aws:SecureTransport`, in positive, negated and `IfExists` forms). Brute force then
//! decides, with the evaluator `check` runs, every request of a small domain: identities
//! from a pool per format, resources of each default area made from the same pieces,
//! object actions and bucket listings, and request contexts over the keys the policy
//! names. It finds a real violation (attacker ≠ victim, resource inside the victim's
//! area, allowed; or a listing with an `s3:prefix` that a key of the victim's area starts
//! with) and whether the policy is vacuous (no identity reaches its own area).
//!
//! `random_policies_sound` (a few hundred policies, every run) asserts soundness: no
//! `holds` where brute force finds a violation, every counterexample allowed by the
//! evaluator with distinct identities of the format. `random_policies_rates` (ignored;
//! `cargo test --release --test isolation_completeness -- --ignored --nocapture`) runs
//! thousands and prints the rates that `docs/prover.md` reports.

use std::collections::BTreeMap;

use policy_sim::analysis::confirm::{ContextMap, decide};
use policy_sim::analysis::identity::IdentityFormat;
use policy_sim::analysis::prover::{Proof, Reach, Verdict, prove_isolation};
use policy_sim::eval::authorize::Policies;
use policy_sim::eval::{Decision, PolicySet};
use policy_sim::lang::parse::parse_policy;
use serde_json::{Value, json};

const SUB: &str = "${cognito-identity.amazonaws.com:sub}";
const BUCKET: &str = "arn:aws:s3:::b";

fn now() -> jiff::Timestamp {
    "2026-06-01T00:00:00Z".parse().unwrap()
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }
}

/// One resource pattern from the pieces.
fn resource(rng: &mut Rng, mentions_list: bool) -> String {
    if rng.chance(6) {
        return "*".to_string();
    }
    if mentions_list && rng.chance(50) {
        return BUCKET.to_string();
    }
    let pieces = [
        "private/",
        SUB,
        SUB,
        "*",
        "?",
        "/",
        "x",
        "public/",
        "/*",
        "private/*",
    ];
    let mut key = String::new();
    for _ in 0..1 + rng.below(3) {
        key.push_str(rng.pick(&pieces));
    }
    format!("{BUCKET}/{key}")
}

/// One condition block (or none).
fn conditions(rng: &mut Rng) -> Option<Value> {
    if !rng.chance(35) {
        return None;
    }
    let prefix_values = [
        "private/${cognito-identity.amazonaws.com:sub}/*",
        "private/${cognito-identity.amazonaws.com:sub}*",
        "${cognito-identity.amazonaws.com:sub}/*",
        "private/${cognito-identity.amazonaws.com:sub}/",
        "private/*",
        "*",
        "",
    ];
    let mut block = serde_json::Map::new();
    for _ in 0..1 + rng.below(2) {
        let (op, key, value): (&str, &str, Value) = match rng.below(9) {
            0 | 1 => (
                rng.pick(&["StringLike", "StringEquals", "StringLike"]),
                "s3:prefix",
                json!(rng.pick(&prefix_values)),
            ),
            2 => (
                rng.pick(&["StringLikeIfExists", "StringNotLike", "StringNotEquals"]),
                "s3:prefix",
                json!(rng.pick(&prefix_values)),
            ),
            3 => ("StringEquals", "aws:SourceVpc", json!("vpc-1")),
            4 => (
                rng.pick(&["StringNotEquals", "StringEqualsIfExists"]),
                "aws:SourceVpc",
                json!("vpc-1"),
            ),
            5 => ("IpAddress", "aws:SourceIp", json!("10.0.0.0/8")),
            6 => ("NotIpAddress", "aws:SourceIp", json!("10.0.0.0/8")),
            7 => (
                rng.pick(&["Bool", "BoolIfExists"]),
                "aws:SecureTransport",
                json!(rng.pick(&["true", "false"])),
            ),
            _ => (
                "StringLike",
                "s3:prefix",
                json!([rng.pick(&prefix_values), rng.pick(&prefix_values)]),
            ),
        };
        let entry = block
            .entry(op.to_string())
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        entry
            .as_object_mut()
            .unwrap()
            .insert(key.to_string(), value);
    }
    Some(Value::Object(block))
}

/// A random small identity policy (1 to 4 statements, the first an `Allow` that mentions
/// the identity variable, so the policy has a default area).
fn random_policy(seed: u64) -> Value {
    let mut rng = Rng::new(seed);
    let n = 1 + rng.below(4);
    let mut statements = Vec::new();
    for i in 0..n {
        let allow = i == 0 || rng.chance(65);
        let actions = [
            "s3:GetObject",
            "s3:PutObject",
            "s3:Get*",
            "s3:*",
            "s3:ListBucket",
            "s3:DeleteObject",
        ];
        let (action_key, action) = if rng.chance(12) {
            (
                "NotAction",
                json!([rng.pick(&["s3:PutObject", "s3:Get*", "s3:ListBucket"])]),
            )
        } else if rng.chance(25) {
            ("Action", json!([rng.pick(&actions), rng.pick(&actions)]))
        } else {
            ("Action", json!(rng.pick(&actions)))
        };
        let lists = action_key == "Action" && action.to_string().contains("List")
            || action == json!("s3:*");
        let mut resources: Vec<String> = (0..1 + rng.below(2))
            .map(|_| resource(&mut rng, lists))
            .collect();
        if i == 0 && !resources.iter().any(|r| r.contains(SUB)) {
            resources[0] = format!(
                "{BUCKET}/{}{SUB}{}",
                rng.pick(&["", "private/", "*", "private/*/"]),
                rng.pick(&["/*", "*", "", "/", "?*", "/x"])
            );
        }
        let resource_key = if i > 0 && rng.chance(12) {
            "NotResource"
        } else {
            "Resource"
        };
        let mut st = serde_json::Map::new();
        st.insert("Effect".into(), json!(if allow { "Allow" } else { "Deny" }));
        st.insert(action_key.into(), action);
        st.insert(resource_key.into(), json!(resources));
        if let Some(c) = conditions(&mut rng) {
            st.insert("Condition".into(), c);
        }
        statements.push(Value::Object(st));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The identity pools brute force ranges over, per format.
fn pool(format: &str) -> Vec<String> {
    match format {
        "any" => ["a", "aa", "ab", "b", "a/b"].map(String::from).to_vec(),
        "opaque" => ["a", "aa", "ab", "b", "ba"].map(String::from).to_vec(),
        _ => [
            "us-east-1:11111111-1111-1111-1111-111111111111",
            "us-east-1:22222222-2222-2222-2222-222222222222",
            "us-east-1:11111111-1111-1111-1111-111111111112",
        ]
        .map(String::from)
        .to_vec(),
    }
}

/// The resources of `area` for `victim`: its pattern with the identity substituted and
/// each wildcard filled from a few pieces (at most 48).
fn area_resources(area: &str, victim: &str) -> Vec<String> {
    let text = area.replace(SUB, "\u{0}");
    let mut out = vec![String::new()];
    for c in text.chars() {
        let fills: Vec<String> = match c {
            '\u{0}' => vec![victim.to_string()],
            '*' => ["", "x", "/x", "a", "b/", "a/b"].map(String::from).to_vec(),
            '?' => ["x", "/", "a"].map(String::from).to_vec(),
            _ => vec![c.to_string()],
        };
        out = out
            .iter()
            .flat_map(|prefix| fills.iter().map(move |f| format!("{prefix}{f}")))
            .take(48)
            .collect();
    }
    out.sort();
    out.dedup();
    out
}

/// The request contexts brute force tries: every combination of values of the keys the
/// policy names (`aws:SecureTransport` is always present), and for `s3:prefix` the values
/// `prefixes` gives.
fn contexts(doc: &str, prefixes: &[Option<String>]) -> Vec<ContextMap> {
    let mut dims: Vec<(&str, Vec<Option<&str>>)> = Vec::new();
    dims.push((
        "aws:SecureTransport",
        if doc.contains("aws:SecureTransport") {
            vec![Some("true"), Some("false")]
        } else {
            vec![Some("true")]
        },
    ));
    if doc.contains("aws:SourceIp") {
        dims.push(("aws:SourceIp", vec![Some("10.0.0.1"), Some("192.0.2.7")]));
    }
    if doc.contains("aws:SourceVpc") {
        dims.push(("aws:SourceVpc", vec![None, Some("vpc-1")]));
    }
    let mut out = vec![ContextMap::new()];
    for (key, values) in dims {
        out = out
            .iter()
            .flat_map(|ctx| {
                values.iter().map(move |v| {
                    let mut c = ctx.clone();
                    if let Some(v) = v {
                        c.insert(key.to_string(), vec![v.to_string()]);
                    }
                    c
                })
            })
            .collect();
    }
    if !doc.contains("s3:prefix") {
        return out;
    }
    out.iter()
        .flat_map(|ctx| {
            prefixes.iter().map(move |p| {
                let mut c = ctx.clone();
                if let Some(p) = p {
                    c.insert("s3:prefix".to_string(), vec![p.clone()]);
                }
                c
            })
        })
        .collect()
}

/// Is `resource` inside `victim`'s area `area` (as the evaluator matches the pattern)?
fn inside(area: &str, resource: &str, victim: &str) -> bool {
    let doc = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": area}
    ]});
    let set = PolicySet::new(vec![
        parse_policy("area.json", &serde_json::to_vec(&doc).unwrap()).unwrap(),
    ]);
    let policies = Policies::identity_only(set);
    decide(
        &policies,
        None,
        ["s3:GetObject", resource],
        victim,
        &ContextMap::new(),
        now(),
    ) == Some(Decision::Allow)
}

const OBJECT_ACTIONS: [&str; 3] = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"];

/// What brute force finds for one policy under one format.
#[derive(Debug, Default)]
struct Brute {
    /// Some identity reaches its own area.
    reaches_own: bool,
    /// A violation: (attacker, victim, action, resource, context).
    violation: Option<(String, String, String, String, ContextMap)>,
}

fn brute_force(policies: &Policies, doc: &str, areas: &[String], format: &str) -> Brute {
    let ids = pool(format);
    let f = IdentityFormat::parse(format).unwrap();
    let mut out = Brute::default();
    let allowed = |action: &str, resource: &str, id: &str, ctx: &ContextMap| {
        decide(policies, None, [action, resource], id, ctx, now()) == Some(Decision::Allow)
    };
    for area in areas {
        for victim in ids.iter().filter(|v| f.matches(v)) {
            let resources: Vec<String> = area_resources(area, victim)
                .into_iter()
                .filter(|r| inside(area, r, victim))
                .collect();
            for r in &resources {
                let key = r.strip_prefix(&format!("{BUCKET}/"));
                let object_prefixes: Vec<Option<String>> = vec![None];
                let listing_prefixes: Vec<Option<String>> = std::iter::once(None)
                    .chain(key.into_iter().flat_map(|k| {
                        (1..=k.len())
                            .filter(|&i| k.is_char_boundary(i))
                            .map(|i| Some(k[..i].to_string()))
                    }))
                    .collect();
                let object_contexts = contexts(doc, &object_prefixes);
                let listing_contexts = contexts(doc, &listing_prefixes);
                for attacker in ids.iter().filter(|a| f.matches(a)) {
                    if !out.reaches_own && attacker == victim {
                        out.reaches_own = OBJECT_ACTIONS.iter().any(|action| {
                            object_contexts
                                .iter()
                                .any(|ctx| allowed(action, r, attacker, ctx))
                        });
                    }
                    if attacker == victim || out.violation.is_some() {
                        continue;
                    }
                    for action in OBJECT_ACTIONS {
                        if let Some(ctx) = object_contexts
                            .iter()
                            .find(|ctx| allowed(action, r, attacker, ctx))
                        {
                            out.violation = Some((
                                attacker.clone(),
                                victim.clone(),
                                action.to_string(),
                                r.clone(),
                                ctx.clone(),
                            ));
                            break;
                        }
                    }
                    if out.violation.is_some() || key.is_none() {
                        continue;
                    }
                    if let Some(ctx) = listing_contexts
                        .iter()
                        .find(|ctx| allowed("s3:ListBucket", BUCKET, attacker, ctx))
                    {
                        out.violation = Some((
                            attacker.clone(),
                            victim.clone(),
                            "s3:ListBucket".to_string(),
                            r.clone(),
                            ctx.clone(),
                        ));
                    }
                }
                if out.reaches_own && out.violation.is_some() {
                    return out;
                }
            }
        }
    }
    out
}

/// Check the prover's counterexample with the evaluator; panics with the policy when it
/// is not confirmed.
fn assert_confirmed(policies: &Policies, proof: &Proof, format: &str, doc: &str) {
    let Some(c) = &proof.counterexample else {
        return;
    };
    let f = IdentityFormat::parse(format).unwrap();
    assert!(
        c.attacker != c.victim && f.matches(&c.attacker) && f.matches(&c.victim),
        "{format}: {c:?}\n{doc}"
    );
    assert_eq!(
        decide(
            policies,
            None,
            [&c.action, &c.resource],
            &c.attacker,
            &c.context,
            now()
        ),
        Some(Decision::Allow),
        "{format}: counterexample not allowed: {c:?}\n{doc}"
    );
    let reached = match c.reach {
        Reach::Object => &c.resource,
        Reach::Listing => c.reveals.as_ref().unwrap(),
    };
    assert!(
        inside(&c.area, reached, &c.victim),
        "{format}: {reached} not inside the area of {}: {c:?}\n{doc}",
        c.victim
    );
    if c.reach == Reach::Listing
        && let Some(p) = c.context.get("s3:prefix").and_then(|v| v.first())
    {
        let key = reached.strip_prefix(&format!("{BUCKET}/")).unwrap_or("");
        assert!(key.starts_with(p.as_str()), "{c:?}\n{doc}");
    }
}

/// The counts for one format.
#[derive(Debug, Default)]
struct Tally {
    policies: usize,
    no_area: usize,
    vacuous: usize,
    holds: usize,
    violated: usize,
    unknown: usize,
    /// Brute force found a violation, the prover said `unknown`.
    missed: usize,
    /// Unknown reasons, by their first words.
    reasons: BTreeMap<String, usize>,
    /// A few unknown policies, for reading.
    examples: Vec<String>,
}

/// A short bucket for an unknown reason: its text with ids, areas and labels cut.
fn reason_bucket(reason: &str) -> String {
    let first = reason.split("; ").next().unwrap_or(reason);
    for marker in [
        "grew past",
        "no identity was found to reach its own area",
        "is not confirmed to list",
        "is not confirmed to reach",
        "the witness needs the same identity twice",
        "not inside the area",
        "do not fit the identity format",
        "could not decide",
    ] {
        if first.contains(marker) {
            return marker.to_string();
        }
    }
    first.chars().take(80).collect()
}

fn run(seeds: std::ops::Range<u64>, format: &str, tally: &mut Tally) {
    let f = IdentityFormat::parse(format).unwrap();
    for seed in seeds {
        let doc = random_policy(seed);
        let text = serde_json::to_string(&doc).unwrap();
        let set = PolicySet::new(vec![parse_policy("random.json", text.as_bytes()).unwrap()]);
        let policies = Policies::identity_only(set);
        tally.policies += 1;
        let proof = match prove_isolation(&policies, None, &[], &f, now()) {
            Ok(p) => p,
            Err(_) => {
                tally.no_area += 1;
                continue;
            }
        };
        assert_confirmed(&policies, &proof, format, &text);
        if let Some(fragile) = &proof.fragile {
            let weaker = Proof {
                counterexample: Some(fragile.counterexample.clone()),
                ..proof.clone()
            };
            assert_confirmed(&policies, &weaker, "opaque", &text);
        }
        let brute = brute_force(&policies, &text, &proof.areas, format);
        if let Some(v) = &brute.violation {
            assert_ne!(
                proof.verdict,
                Verdict::Holds,
                "{format}: holds, but brute force finds {v:?}\n{text}"
            );
        }
        if !brute.reaches_own && brute.violation.is_none() {
            tally.vacuous += 1;
            continue;
        }
        match proof.verdict {
            Verdict::Holds => tally.holds += 1,
            Verdict::Violated => tally.violated += 1,
            Verdict::Unknown => {
                tally.unknown += 1;
                if brute.violation.is_some() {
                    tally.missed += 1;
                }
                *tally
                    .reasons
                    .entry(reason_bucket(&proof.reason))
                    .or_default() += 1;
                if tally.examples.len()
                    < std::env::var("RANDOM_EXAMPLES")
                        .ok()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(6)
                {
                    tally
                        .examples
                        .push(format!("{text}\n  -> {}", proof.reason));
                }
            }
        }
    }
}

fn report(format: &str, t: &Tally) {
    let decided = t.policies - t.no_area - t.vacuous;
    println!(
        "{format}: {} policies, {} non-vacuous: holds {}, violated {}, unknown {} ({:.2}%), unknown with a brute-force violation {}",
        t.policies,
        decided,
        t.holds,
        t.violated,
        t.unknown,
        100.0 * t.unknown as f64 / decided.max(1) as f64,
        t.missed
    );
    for (reason, n) in &t.reasons {
        println!("  {n:5}  {reason}");
    }
    for e in &t.examples {
        println!("  example: {e}");
    }
}

#[test]
fn random_policies_sound() {
    for format in ["any", "opaque", "cognito"] {
        let mut t = Tally::default();
        run(0..150, format, &mut t);
        report(format, &t);
    }
}

#[test]
#[ignore = "thousands of policies; run with --release -- --ignored --nocapture"]
fn random_policies_rates() {
    let n: u64 = std::env::var("RANDOM_POLICIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    for format in ["any", "opaque", "cognito"] {
        let mut t = Tally::default();
        run(1000..1000 + n, format, &mut t);
        report(format, &t);
    }
}

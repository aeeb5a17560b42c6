//! Decision cost: the seeds' authenticated-role policy (one Allow and one ImplicitDeny
//! request), and generated policy sets of 10 to 5,000 statements over 50 services.
//! Run: `cargo bench --bench evaluate`. Figures are recorded in docs/performance.md.

use std::hint::black_box;

#[path = "common.rs"]
mod common;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use policy_sim::eval::{Decision, PolicySet, StatementRef};
use policy_sim::lang::parse::parse_policy;
use policy_sim::request::Request;

use common::{IDENTITY, OTHER, seed_request, seed_set};

fn seed_policy(c: &mut Criterion) {
    let set = seed_set();
    let allow = seed_request(IDENTITY);
    let deny = seed_request(OTHER);
    let mut out: Vec<StatementRef> = Vec::new();
    assert_eq!(
        set.evaluate_into(&allow, &mut out).unwrap(),
        Decision::Allow
    );
    assert_eq!(
        set.evaluate_into(&deny, &mut out).unwrap(),
        Decision::ImplicitDeny
    );
    let mut g = c.benchmark_group("seed_policy");
    g.bench_function("allow", |b| {
        b.iter(|| set.evaluate_into(black_box(&allow), &mut out).unwrap())
    });
    g.bench_function("implicit_deny", |b| {
        b.iter(|| set.evaluate_into(black_box(&deny), &mut out).unwrap())
    });
    g.finish();
}

/// A policy set of `n` statements spread over 50 services, in policies of at most 100
/// statements; actions are exact names, `Service:Prefix*` wildcards and a few NotAction
/// statements; resources are ARNs with literal, prefix and variable parts.
pub fn generated_set(n: usize) -> PolicySet {
    let mut policies = Vec::new();
    let mut statements = Vec::new();
    for i in 0..n {
        let service = format!("svc{:02}", i % 50);
        let action = match i % 4 {
            0 => format!("\"{service}:Get{i}\""),
            1 => format!("[\"{service}:Put{i}\", \"{service}:Delete{i}\"]"),
            2 => format!("\"{service}:List{i}*\""),
            _ => format!("\"{service}:Describe{i}\""),
        };
        let resource = match i % 3 {
            0 => format!("arn:aws:{service}:us-east-1:123456789012:res{i}/*"),
            1 => format!("arn:aws:{service}:*:*:res{i}/${{aws:username}}/*"),
            _ => format!("arn:aws:{service}:us-east-1:123456789012:exact{i}"),
        };
        let effect = if i % 10 == 9 { "Deny" } else { "Allow" };
        let condition = if i % 5 == 4 {
            r#","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}"#
        } else {
            ""
        };
        statements.push(format!(
            r#"{{"Effect":"{effect}","Action":{action},"Resource":"{resource}"{condition}}}"#
        ));
        if statements.len() == 100 || i + 1 == n {
            let doc = format!(
                r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
                statements.join(",")
            );
            let name = format!("generated-{}.json", policies.len());
            policies.push(parse_policy(&name, doc.as_bytes()).unwrap());
            statements.clear();
        }
    }
    PolicySet::new(policies)
}

fn scaling(c: &mut Criterion) {
    let mut g = c.benchmark_group("scaling");
    for n in [10usize, 100, 1000, 5000] {
        let set = generated_set(n);
        // A request that hits a statement near the end, one that hits nothing.
        // The last statement index with a Put action (i % 4 == 1) and a variable resource
        // (i % 3 == 1).
        let k = ((n - 2) / 12) * 12 + 1;
        let mut hit = Request::new(
            format!("svc{:02}:Put{k}", k % 50),
            format!(
                "arn:aws:svc{:02}:us-east-1:123456789012:res{k}/alice/x",
                k % 50
            ),
        );
        hit.context.add("aws:username", "alice");
        hit.context.add("aws:RequestedRegion", "us-east-1");
        let miss = Request::new("svc07:Nothing", "arn:aws:svc07:us-east-1:123456789012:none");
        let mut out = Vec::new();
        assert_eq!(set.evaluate_into(&hit, &mut out).unwrap(), Decision::Allow);
        assert_eq!(
            set.evaluate_into(&miss, &mut out).unwrap(),
            Decision::ImplicitDeny
        );
        g.bench_with_input(BenchmarkId::new("allow", n), &hit, |b, r| {
            b.iter(|| set.evaluate_into(black_box(r), &mut out).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("implicit_deny", n), &miss, |b, r| {
            b.iter(|| set.evaluate_into(black_box(r), &mut out).unwrap())
        });
    }
    g.finish();
}

/// The seed policy decided with a bucket policy, a boundary, a session policy and two SCP
/// levels (`benches/common.rs`).
fn all_policy_types(c: &mut Criterion) {
    use policy_sim::eval::authorize::{PolicyType, Scratch};
    let policies = common::all_types();
    let allow = common::session_request(&policies, IDENTITY);
    let deny = common::session_request(&policies, OTHER);
    let mut scratch = Scratch::default();
    let v = policies.authorize_into(&allow, &mut scratch).unwrap();
    assert_eq!(
        (v.decision, v.decided_by),
        (Decision::Allow, PolicyType::Identity)
    );
    let v = policies.authorize_into(&deny, &mut scratch).unwrap();
    assert_eq!(v.decision, Decision::ImplicitDeny);
    let mut g = c.benchmark_group("all_policy_types");
    g.bench_function("allow", |b| {
        b.iter(|| {
            policies
                .authorize_into(black_box(&allow), &mut scratch)
                .unwrap()
        })
    });
    g.bench_function("implicit_deny", |b| {
        b.iter(|| {
            policies
                .authorize_into(black_box(&deny), &mut scratch)
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, seed_policy, scaling, all_policy_types);
criterion_main!(benches);

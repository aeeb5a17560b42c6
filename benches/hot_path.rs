//! A fixed workload for instruction counting: `valgrind --tool=callgrind` on this binary
//! gives a steady per-decision figure whatever else the machine is doing.
//!
//! `target/release/deps/hot_path-* allow|deny|setup N` evaluates the seed policy N times
//! (or only loads it, for `setup`); per-decision instructions are
//! (Ir(allow N) - Ir(setup)) / N. See docs/performance.md.

use std::hint::black_box;

use policy_sim::eval::{PolicySet, StatementRef};
use policy_sim::lang::parse::parse_policy;
use policy_sim::request::Request;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("setup");
    let n: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies/serverless-stack-auth-role.json"
    );
    let bytes = std::fs::read(path).expect("the seed policy is shipped");
    let set = PolicySet::new(vec![parse_policy("seed.json", &bytes).expect("valid")]);
    let id = "us-east-1:9bd0357e-2ac1-418d-a609-bc5e7bc064e3";
    let other = "us-east-1:0bd0357e-2ac1-418d-a609-bc5e7bc064e3";
    let resource =
        |owner: &str| format!("arn:aws:s3:::notes-app-uploads/private/{owner}/photo.jpg");
    let mut request = match mode {
        "deny" => Request::new("s3:GetObject", resource(other)),
        _ => Request::new("s3:GetObject", resource(id)),
    }
    .with_identity(id);
    request
        .context
        .fill_time_defaults("2026-01-01T00:00:00Z".parse().expect("a date"))
        .expect("valid times");
    let mut out: Vec<StatementRef> = Vec::with_capacity(8);
    if mode == "setup" {
        return;
    }
    for _ in 0..n {
        black_box(
            set.evaluate_into(black_box(&request), &mut out)
                .expect("valid request"),
        );
    }
}

//! A fixed workload for instruction counting: `valgrind --tool=callgrind` on this binary
//! gives a steady per-decision figure whatever else the machine is doing.
//!
//! `target/release/deps/hot_path-* allow|deny|setup N` evaluates the seed policy N times
//! (or only loads it, for `setup`); `all-allow|all-deny` decide the same requests by the
//! role session with every policy type (`benches/common.rs`). Per-decision instructions are
//! (Ir(allow N) - Ir(setup)) / N. See docs/performance.md.

use std::hint::black_box;

#[path = "common.rs"]
mod common;

use policy_sim::eval::StatementRef;
use policy_sim::eval::authorize::Scratch;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("setup");
    let n: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let set = common::seed_set();
    let policies = common::all_types();
    let owner = match mode {
        "deny" | "all-deny" => common::OTHER,
        _ => common::IDENTITY,
    };
    let request = common::seed_request(owner);
    let session = common::session_request(&policies, owner);
    let mut out: Vec<StatementRef> = Vec::with_capacity(8);
    let mut scratch = Scratch::default();
    match mode {
        "allow" | "deny" => {
            for _ in 0..n {
                black_box(
                    set.evaluate_into(black_box(&request), &mut out)
                        .expect("valid request"),
                );
            }
        }
        "all-allow" | "all-deny" => {
            for _ in 0..n {
                black_box(
                    policies
                        .authorize_into(black_box(&session), &mut scratch)
                        .expect("valid request"),
                );
            }
        }
        _ => {}
    }
}

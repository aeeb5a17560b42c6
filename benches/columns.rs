//! Deciding requests held as columns ([`policy_sim::eval::columns`]): 100,000 rows of
//! `generate-requests --count 100000 --seed 1`, split into columns laid out as Arrow lays
//! out a string array (one text buffer, an offset per cell), decided by one
//! `ColumnDecider` (one thread):
//!
//! - `identity/keys`: the seed policy alone, the context as key columns;
//! - `identity/context_json`: the same, the context as one JSON object cell per row;
//! - `all_types/keys`: every policy type (`benches/common.rs`), as the Cognito role
//!   session given as the default principal;
//! - `identity/lines`, for comparison: the same requests as JSON lines through
//!   `check --requests`'s batch (one thread, output written to memory).
//!
//! Throughput is in rows: the time per row is the reported time divided by 100,000. Run:
//! `cargo bench --bench columns`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use policy_sim::eval::authorize::Policies;
use policy_sim::eval::columns::{ColumnDecider, Columns, RowResult, TextColumn};
use policy_sim::lang::principal::Caller;
use policy_sim::report::batch::{BatchOptions, run_authorized};

// Shared with the other benchmarks; this one uses only its policies.
#[allow(dead_code)]
#[path = "common.rs"]
mod common;

const ROWS: u64 = 100_000;

/// A column as an Arrow string array holds it: every cell's text in one buffer, and each
/// cell's end offset (no nulls here).
#[derive(Default)]
struct Packed {
    text: String,
    ends: Vec<usize>,
}

impl Packed {
    fn push(&mut self, cell: &str) {
        self.text.push_str(cell);
        self.ends.push(self.text.len());
    }
}

impl TextColumn for Packed {
    fn len(&self) -> usize {
        self.ends.len()
    }
    fn get(&self, row: usize) -> Option<&str> {
        let end = *self.ends.get(row)?;
        let start = match row.checked_sub(1) {
            Some(before) => *self.ends.get(before)?,
            None => 0,
        };
        self.text.get(start..end)
    }
}

/// The requests' columns.
struct Batch {
    lines: Vec<u8>,
    identity: Packed,
    action: Packed,
    resource: Packed,
    context: Packed,
    keys: Vec<(String, Packed)>,
}

fn batch() -> Batch {
    let mut lines = Vec::new();
    policy_sim::workload::write_requests(&mut lines, ROWS, 1).expect("in memory");
    let names = ["aws:SourceIp", "aws:SecureTransport", "aws:RequestedRegion"];
    let mut b = Batch {
        lines: Vec::new(),
        identity: Packed::default(),
        action: Packed::default(),
        resource: Packed::default(),
        context: Packed::default(),
        keys: names
            .iter()
            .map(|n| (n.to_string(), Packed::default()))
            .collect(),
    };
    for line in String::from_utf8(lines.clone()).expect("UTF-8").lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a request line");
        let text = |f: &str| v[f].as_str().expect("a string");
        b.identity.push(text("identity"));
        b.action.push(text("action"));
        b.resource.push(text("resource"));
        b.context.push(&v["context"].to_string());
        for (name, column) in &mut b.keys {
            column.push(v["context"][name.as_str()].as_str().expect("a key"));
        }
    }
    b.lines = lines;
    b
}

fn columns(c: &mut Criterion) {
    let b = batch();
    let now = "2026-01-01T00:00:00Z".parse().expect("a timestamp");
    let seed = Policies::identity_only(common::seed_set());
    let all = common::all_types();
    let session = Caller::parse(
        "arn:aws:sts::123456789012:assumed-role/CognitoAuthRole/CognitoIdentityCredentials",
    )
    .expect("a session ARN");
    let keys: Vec<(&str, &dyn TextColumn)> = b
        .keys
        .iter()
        .map(|(n, c)| (n.as_str(), c as &dyn TextColumn))
        .collect();
    let with_keys = Columns {
        identity: Some(&b.identity),
        keys: &keys,
        ..Columns::new(&b.action, &b.resource)
    };
    let with_json = Columns {
        identity: Some(&b.identity),
        context: Some(&b.context),
        ..Columns::new(&b.action, &b.resource)
    };
    let mut g = c.benchmark_group("columns");
    g.throughput(Throughput::Elements(ROWS));
    g.sample_size(10);
    let mut out = Vec::with_capacity(ROWS as usize);
    for (name, policies, principal, columns) in [
        ("identity/keys", &seed, None, &with_keys),
        ("identity/context_json", &seed, None, &with_json),
        ("all_types/keys", &all, Some(session.clone()), &with_keys),
    ] {
        let mut decider = ColumnDecider::new(policies, principal, now);
        decider.decide(columns, &mut out).expect("equal lengths");
        let failed = out
            .iter()
            .filter(|r| matches!(r, RowResult::Failed(_)))
            .count();
        assert_eq!(failed, 0, "{name}: every row is decided");
        g.bench_function(name, |bench| {
            bench.iter(|| {
                decider
                    .decide(black_box(columns), &mut out)
                    .expect("equal lengths")
            })
        });
    }
    let mut written = Vec::with_capacity(b.lines.len() * 2);
    g.bench_function("identity/lines", |bench| {
        bench.iter(|| {
            written.clear();
            run_authorized(
                &seed,
                None,
                black_box(&b.lines[..]),
                &mut written,
                BatchOptions { threads: 1, now },
            )
            .expect("in memory")
        })
    });
    g.finish();
}

criterion_group!(benches, columns);
criterion_main!(benches);

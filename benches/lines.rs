//! Reading one batch request line (`check --requests`): a line of `generate-requests`
//! (the usual shape, read by the scanner), and the same line with one escape in its first
//! key (the scanner gives up at once and the general serde_json reader reads the line,
//! as every line was read before issue 16). Both include filling the time keys and
//! validating the request. Run: `cargo bench --bench lines`. Figures are recorded in
//! docs/performance.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use policy_sim::request::lines::{RequestBuffer, parse_request_into};

/// Line 1 of `generate-requests --count 1 --seed 1`.
const USUAL: &str = r#"{"id":"r0","identity":"us-east-1:6775dc77-0156-4f61-9afc-d44d14cf8bfe","action":"s3:GetObject","resource":"arn:aws:s3:::notes-app-uploads/private/us-east-1:6775dc77-0156-4f61-9afc-d44d14cf8bfe/file-637.jpg","context":{"aws:SourceIp":"10.248.237.150","aws:SecureTransport":"true","aws:RequestedRegion":"us-east-1"}}"#;

fn lines(c: &mut Criterion) {
    let now = "2026-01-01T00:00:00Z".parse().expect("a timestamp");
    let escaped = USUAL.replacen(r#""id""#, r#""\u0069d""#, 1);
    let mut buffer = RequestBuffer::default();
    let mut g = c.benchmark_group("request_line");
    for (name, line) in [("scanned", USUAL), ("general", escaped.as_str())] {
        parse_request_into(line, now, &mut buffer).expect("a valid line");
        assert_eq!(buffer.id_json, b"\"r0\"");
        g.bench_function(name, |b| {
            b.iter(|| parse_request_into(black_box(line), now, &mut buffer).expect("valid"))
        });
    }
    g.finish();
}

criterion_group!(benches, lines);
criterion_main!(benches);

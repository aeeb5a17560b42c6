//! The action catalog: parsing the embedded data (the start-up cost of the first lookup),
//! and the lookups lint and `check` make.
//!
//! Run: `cargo bench --bench catalog`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    c.bench_function("catalog/load", |b| {
        b.iter(|| black_box(policy_sim::catalog::load()))
    });
    let cat = policy_sim::catalog::catalog();
    c.bench_function("catalog/lookup s3:GetObject", |b| {
        b.iter(|| black_box(cat.action(black_box("s3:GetObject"))))
    });
    c.bench_function("catalog/expand s3:Get*", |b| {
        b.iter(|| black_box(cat.expand(black_box("s3:Get*"))))
    });
    c.bench_function("catalog/applies_to s3:ListBucket object", |b| {
        b.iter(|| {
            black_box(cat.applies_to(
                black_box("s3:ListBucket"),
                black_box("arn:aws:s3:::notes/private/a/b.jpg"),
            ))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

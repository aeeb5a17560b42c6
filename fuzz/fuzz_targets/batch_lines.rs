//! Batch line parser and batch runner. The input is JSON Lines requests, decided against
//! the shipped policies (`policies/`).
//!
//! Properties, per line:
//! - a buffer reused across lines (as batch workers do) reads the same request, or the
//!   same error, as a fresh one;
//! - a request written back as a line (every value quoted, the identity as its context
//!   key) reads to the same request and decision;
//! - deciding is deterministic and `explain` agrees with `evaluate`;
//! - errors render.
//!
//! For the whole input: one thread and several give the same output, with one JSON line
//! per decided or failed request.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use policy_sim::lang::parse::parse_policy;
use policy_sim::report::batch::{BatchOptions, run_batch};
use policy_sim::request::lines::{RequestBuffer, parse_request_into, parse_request_line};
use policy_sim::{PolicySet, Request};
use policy_sim_fuzz::{now, render};
use serde_json::{Map, Value, json};

fn set() -> &'static PolicySet {
    static SET: OnceLock<PolicySet> = OnceLock::new();
    SET.get_or_init(|| {
        let files: [(&str, &[u8]); 5] = [
            (
                "console-auth-role.json",
                include_bytes!("../../policies/console-auth-role.json"),
            ),
            (
                "corrected-auth-role.json",
                include_bytes!("../../policies/corrected-auth-role.json"),
            ),
            (
                "serverless-auth-role.json",
                include_bytes!("../../policies/serverless-auth-role.json"),
            ),
            (
                "serverless-stack-auth-role.json",
                include_bytes!("../../policies/serverless-stack-auth-role.json"),
            ),
            (
                "sst-auth-role.json",
                include_bytes!("../../policies/sst-auth-role.json"),
            ),
        ];
        let policies = files
            .iter()
            .map(|(name, bytes)| parse_policy(name, bytes).expect("a shipped policy parses"))
            .collect();
        PolicySet::new(policies)
    })
}

/// The request as a JSON line: context values as strings, the identity in the context.
fn line_of(r: &Request) -> String {
    let context: Map<String, Value> = r
        .context
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    json!({"action": r.action, "resource": r.resource, "context": context}).to_string()
}

fn check_line(line: &str, buffer: &mut RequestBuffer) {
    let fresh = parse_request_line(line, now());
    let reused = parse_request_into(line, now(), buffer);
    match (&fresh, &reused) {
        (Ok(f), Ok(())) => {
            assert_eq!(
                f.request, buffer.request,
                "a reused buffer reads another request"
            );
            let id: Value = serde_json::from_slice(&buffer.id_json).expect("the id is JSON");
            assert_eq!(f.id, id, "a reused buffer reads another id");
        }
        (Err(a), Err(b)) => {
            assert_eq!(
                a.to_string(),
                b.to_string(),
                "a reused buffer gives another error"
            );
            render(a);
            return;
        }
        _ => panic!("fresh {fresh:?} but reused {reused:?}"),
    }
    let request = &fresh.expect("checked above").request;
    let written = line_of(request);
    match parse_request_line(&written, now()) {
        Ok(again) => assert_eq!(&again.request, request, "written back: {written}"),
        Err(e) => panic!("the request written back does not read: {e}\n{written}"),
    }
    let set = set();
    let first = set.evaluate(request).map_err(|e| e.to_string());
    assert_eq!(
        first,
        set.evaluate(request).map_err(|e| e.to_string()),
        "not deterministic"
    );
    if let (Ok(e), Ok(x)) = (&first, set.explain(request)) {
        assert_eq!(e, &x.evaluation, "explain differs from evaluate");
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut buffer = RequestBuffer::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            check_line(line, &mut buffer);
        }
    }
    let run = |threads| {
        let mut out = Vec::new();
        let summary = run_batch(
            set(),
            data,
            &mut out,
            BatchOptions {
                threads,
                now: now(),
            },
        )
        .expect("writing to memory cannot fail");
        (summary, out)
    };
    let (summary, out) = run(1);
    assert_eq!((summary, out.clone()), run(2), "threads change the output");
    let lines: Vec<&[u8]> = out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        lines.len(),
        summary.decided + summary.failed,
        "one output line per request"
    );
    for l in lines {
        let v: Value = serde_json::from_slice(l).expect("each output line is JSON");
        assert!(v.is_object(), "each output line is an object");
    }
});

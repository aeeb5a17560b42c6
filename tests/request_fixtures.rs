//! Table-driven decisions: every case in `fixtures/requests/*.json` is evaluated and its
//! decision (and, where given, the deciding statements) compared with the expectation.
//!
//! Fixture format: `{"description": ..., "groups": [{"policies": [{"name", "document"}] |
//! "policy_files": [path], "cases": [{"id", "identity"?, "action", "resource", "context"?,
//! "expect", "statements"?: ["policy-name#index"]}]}]}`; `"expect": "Error"` with
//! `"error": MESSAGE` for a request the evaluator must refuse. The harness's "now" is
//! 2026-01-01T00:00:00Z, used for `aws:CurrentTime`/`aws:EpochTime` when a case omits them.

use std::path::{Path, PathBuf};

use policy_sim::eval::{Decision, PolicySet};
use policy_sim::lang::parse::parse_policy;
use policy_sim::request::{Context, Request};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn now() -> jiff::Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

fn load_group(group: &Value, fixture: &Path) -> PolicySet {
    let mut policies = Vec::new();
    if let Some(files) = group.get("policy_files").and_then(Value::as_array) {
        for f in files {
            let rel = f.as_str().unwrap();
            let bytes = std::fs::read(root().join(rel)).unwrap();
            policies.push(parse_policy(rel, &bytes).unwrap_or_else(|e| {
                panic!("{}: policy {rel} does not load: {e}", fixture.display())
            }));
        }
    }
    if let Some(inline) = group.get("policies").and_then(Value::as_array) {
        for p in inline {
            let name = p["name"].as_str().unwrap();
            let bytes = serde_json::to_vec(&p["document"]).unwrap();
            policies.push(parse_policy(name, &bytes).unwrap_or_else(|e| {
                panic!("{}: policy {name} does not load: {e}", fixture.display())
            }));
        }
    }
    assert!(
        !policies.is_empty(),
        "{}: a group without policies",
        fixture.display()
    );
    PolicySet::new(policies)
}

fn build_request(case: &Value) -> Request {
    let mut context = Context::new();
    if let Some(ctx) = case.get("context").and_then(Value::as_object) {
        for (k, v) in ctx {
            let values = match v {
                Value::String(s) => vec![s.clone()],
                Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
                other => panic!("unsupported context value {other}"),
            };
            context.set(k, values);
        }
    }
    let mut request = Request {
        action: case["action"].as_str().unwrap().to_string(),
        resource: case["resource"].as_str().unwrap().to_string(),
        context,
        principal: None,
    };
    if let Some(identity) = case.get("identity").and_then(Value::as_str) {
        request = request.with_identity(identity);
    }
    request.context.fill_time_defaults(now()).unwrap();
    request
}

#[test]
fn request_fixtures_decide_as_expected() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures/requests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut total = 0;
    let mut failures = Vec::new();
    for file in &files {
        let doc: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        for group in doc["groups"].as_array().unwrap() {
            let set = load_group(group, file);
            for case in group["cases"].as_array().unwrap() {
                total += 1;
                let id = case["id"].as_str().unwrap();
                let request = build_request(case);
                let expect = case["expect"].as_str().unwrap();
                if expect == "Error" {
                    // A request the evaluator must refuse, with exactly this message.
                    let want = case["error"].as_str().unwrap();
                    match set.evaluate(&request) {
                        Err(e) if e.to_string() == want => {}
                        other => failures.push(format!(
                            "{}: {id}: expected error {want:?}, got {other:?}",
                            file.display()
                        )),
                    }
                    continue;
                }
                let expected = Decision::parse(expect)
                    .unwrap_or_else(|| panic!("{id}: bad expectation {expect}"));
                let ev = match set.evaluate(&request) {
                    Ok(ev) => ev,
                    Err(e) => {
                        failures.push(format!("{}: {id}: error {e}", file.display()));
                        continue;
                    }
                };
                if ev.decision != expected {
                    failures.push(format!(
                        "{}: {id}: expected {}, got {}",
                        file.display(),
                        expected.as_str(),
                        ev.decision.as_str()
                    ));
                }
                if let Some(want) = case.get("statements").and_then(Value::as_array) {
                    let got: Vec<String> = ev
                        .deciding
                        .iter()
                        .map(|r| format!("{}#{}", set.policy(*r).name, set.statement(*r).index))
                        .collect();
                    let want: Vec<String> = want
                        .iter()
                        .map(|v| v.as_str().unwrap().to_string())
                        .collect();
                    if got != want {
                        failures.push(format!(
                            "{}: {id}: deciding statements {got:?}, expected {want:?}",
                            file.display()
                        ));
                    }
                }
                // `explain` must agree with `evaluate`.
                let ex = set.explain(&request).unwrap();
                assert_eq!(ex.evaluation, ev, "{id}: explain disagrees with evaluate");
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Guard against fixtures silently disappearing.
    assert!(total >= 150, "only {total} request cases found");
}

//! Table-driven decisions with every policy type: each case in
//! `fixtures/authorization/*.json` is decided with the identity-based policies, the
//! resource's policy, the boundary, the session policies, the SCP and RCP levels of its
//! group, and its decision and deciding policy type (`decided_by`, where given) are
//! compared with the documentation's answer the fixture records. The format is in
//! `fixtures/authorization/README.md`; the harness's "now" is 2026-01-01T00:00:00Z.
//!
//! A group whose policies do not load (an RCP with an `Allow`, ...) is a group of `Error`
//! cases: each names a substring of the error.

use std::path::{Path, PathBuf};

use policy_sim::eval::authorize::{Level, Policies, ScopedPolicy};
use policy_sim::eval::{Decision, PolicySet};
use policy_sim::lang::model::{Policy, PolicyKind};
use policy_sim::lang::parse::parse_policy_as;
use policy_sim::lang::principal::Caller;
use policy_sim::request::Request;
use serde_json::Value;

/// Cases that do not give the fixture's answer yet, each for a reason named here; a
/// listed case that gives it fails the test (remove it from the list then).
const PENDING: &[&str] = &[];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn now() -> jiff::Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

/// One `{name, document}` parsed as `kind`.
fn policy(item: &Value, kind: PolicyKind) -> Result<Policy, String> {
    let name = item["name"].as_str().expect("a policy has a name");
    let bytes = serde_json::to_vec(&item["document"]).unwrap();
    parse_policy_as(name, &bytes, kind).map_err(|e| e.to_string())
}

fn set(items: Option<&Value>, kind: PolicyKind) -> Result<Option<PolicySet>, String> {
    let Some(items) = items.and_then(Value::as_array) else {
        return Ok(None);
    };
    let policies = items
        .iter()
        .map(|i| policy(i, kind))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(PolicySet::new(policies)))
}

fn levels(items: Option<&Value>, kind: PolicyKind) -> Result<Vec<Level>, String> {
    let Some(items) = items.and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .map(|level| {
            let label = level[0].as_str().expect("a level label").to_string();
            let set = set(Some(&level[1]), kind)?.expect("a level's policies");
            Ok(Level { label, set })
        })
        .collect()
}

/// The group's policies, or why they do not load.
fn group_policies(group: &Value) -> Result<Policies, String> {
    let resource = group
        .get("resource")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|item| {
            Ok(ScopedPolicy {
                resource: None,
                set: PolicySet::new(vec![policy(item, PolicyKind::Resource)?]),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let boundary = match group.get("boundary") {
        Some(item) => Some(PolicySet::new(vec![policy(item, PolicyKind::Identity)?])),
        None => None,
    };
    Ok(Policies {
        identity: set(group.get("identity"), PolicyKind::Identity)?.unwrap_or_default(),
        resource,
        resource_account: None,
        boundary,
        session: set(group.get("session"), PolicyKind::Identity)?,
        scps: levels(group.get("scps"), PolicyKind::Scp)?,
        rcps: levels(group.get("rcps"), PolicyKind::Rcp)?,
    })
}

fn request(case: &Value) -> Result<Request, String> {
    let mut request = Request::new(
        case["action"].as_str().unwrap(),
        case["resource"].as_str().unwrap(),
    );
    if let Some(ctx) = case.get("context").and_then(Value::as_object) {
        for (k, v) in ctx {
            match v {
                Value::String(s) => request.context.add(k, s),
                Value::Array(a) => {
                    for x in a {
                        request.context.add(k, x.as_str().unwrap());
                    }
                }
                other => panic!("unsupported context value {other}"),
            }
        }
    }
    if let Some(identity) = case.get("identity").and_then(Value::as_str) {
        request.set_identity(identity).map_err(|e| e.to_string())?;
    }
    if let Some(p) = case.get("principal").and_then(Value::as_str) {
        request.principal = Some(Caller::parse(p).map_err(|e| e.to_string())?);
    }
    request
        .context
        .fill_time_defaults(now())
        .map_err(|e| e.to_string())?;
    Ok(request)
}

/// The case's decision and deciding type, or the error.
fn decide(policies: &Result<Policies, String>, case: &Value) -> Result<(Decision, String), String> {
    let mut policies = policies.clone()?;
    policies.resource_account = case
        .get("resource_account")
        .and_then(Value::as_str)
        .map(str::to_string);
    policies.validate().map_err(|e| e.to_string())?;
    let mut request = request(case)?;
    policies.prepare(&mut request).map_err(|e| e.to_string())?;
    let verdict = policies
        .authorize(&request)
        .map_err(|e| e.to_string())?
        .verdict;
    Ok((verdict.decision, verdict.decided_by.as_str().to_string()))
}

/// Why `case` does not give its expected answer, if it does not.
fn check(policies: &Result<Policies, String>, case: &Value) -> Option<String> {
    let expect = case["expect"].as_str().unwrap();
    let got = decide(policies, case);
    if expect == "Error" {
        let want = case["error"]
            .as_str()
            .expect("an Error case names its error");
        return match got {
            Err(e) if e.contains(want) => None,
            other => Some(format!("expected an error with {want:?}, got {other:?}")),
        };
    }
    let expected = Decision::parse(expect).unwrap_or_else(|| panic!("bad expectation {expect}"));
    match got {
        Err(e) => Some(format!("expected {expect}, got the error {e:?}")),
        Ok((decision, _)) if decision != expected => {
            Some(format!("expected {expect}, got {}", decision.as_str()))
        }
        Ok((_, by)) => match case.get("decided_by").and_then(Value::as_str) {
            Some(want) if want != by => Some(format!("expected decided by {want}, got {by}")),
            _ => None,
        },
    }
}

fn fixture_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn authorization_fixtures_decide_as_documented() {
    let mut total = 0;
    let mut failures = Vec::new();
    let mut pending_passed = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for file in fixture_files(&root().join("fixtures/authorization")) {
        let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for group in doc["groups"].as_array().unwrap() {
            let policies = group_policies(group);
            for case in group["cases"].as_array().unwrap() {
                total += 1;
                let id = case["id"].as_str().unwrap();
                assert!(ids.insert(id.to_string()), "{name}: case id {id:?} twice");
                let problem = check(&policies, case);
                match (problem, PENDING.contains(&id)) {
                    (None, false) | (Some(_), true) => {}
                    (None, true) => pending_passed.push(id.to_string()),
                    (Some(p), false) => failures.push(format!("{name}: {id}: {p}")),
                }
            }
        }
    }
    assert!(total >= 100, "only {total} cases found");
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        pending_passed.is_empty(),
        "these cases pass now: remove them from PENDING: {pending_passed:?}"
    );
}

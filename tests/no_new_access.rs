//! No new access: widening the resource or the action, removing a Deny or a condition is
//! caught, with a confirmed example; a pure narrowing passes.

use policy_sim::context::Request;
use policy_sim::diff::{DiffResult, IDENTITY, no_new_access};
use policy_sim::eval::{Decision, PolicySet};
use policy_sim::parse::parse_policy;

fn set(doc: serde_json::Value) -> PolicySet {
    PolicySet::new(vec![
        parse_policy("p.json", &serde_json::to_vec(&doc).unwrap()).unwrap(),
    ])
}

fn baseline() -> serde_json::Value {
    serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}/*",
         "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
        {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::notes/private/admin/*"}
    ]})
}

fn expect_new(new: serde_json::Value, what: &str) {
    let (n, b) = (set(new), set(baseline()));
    match no_new_access(&n, &b) {
        DiffResult::NewAccess(found) => {
            // Re-check the example independently.
            let decide = |s: &PolicySet| {
                let mut r = Request::new(found.action.clone(), found.resource.clone())
                    .with_identity(IDENTITY);
                for (k, v) in &found.context {
                    if k != "cognito-identity.amazonaws.com:sub" {
                        r.context.set(k, v.clone());
                    }
                }
                r.context
                    .fill_time_defaults("2026-01-01T00:00:00Z".parse().unwrap())
                    .unwrap();
                s.evaluate(&r).unwrap().decision
            };
            assert_eq!(decide(&n), Decision::Allow, "{what}: {found:?}");
            assert_ne!(decide(&b), Decision::Allow, "{what}: {found:?}");
        }
        other => panic!("{what}: expected new access, got {other:?}"),
    }
}

#[test]
fn widened_resource_is_caught() {
    let mut new = baseline();
    new["Statement"][0]["Resource"] = "arn:aws:s3:::notes/private/*".into();
    expect_new(new, "widened resource");
}

#[test]
fn widened_action_is_caught() {
    let mut new = baseline();
    new["Statement"][0]["Action"] = "s3:*".into();
    expect_new(new, "widened action");
}

#[test]
fn removed_deny_is_caught() {
    let mut new = baseline();
    new["Statement"][0]["Resource"] = "arn:aws:s3:::notes/*".into();
    new["Statement"][0]["Condition"] = serde_json::json!({"Bool": {"aws:SecureTransport": "true"}});
    let mut base = baseline();
    base["Statement"][0]["Resource"] = "arn:aws:s3:::notes/*".into();
    let mut new_without_deny = new.clone();
    new_without_deny["Statement"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    let (n, b) = (set(new_without_deny), set(base));
    match no_new_access(&n, &b) {
        DiffResult::NewAccess(found) => {
            assert!(
                found
                    .resource
                    .starts_with("arn:aws:s3:::notes/private/admin/"),
                "{found:?}"
            );
            assert_eq!(found.baseline, Decision::ExplicitDeny);
        }
        other => panic!("removed deny: {other:?}"),
    }
    // The same policy with its Deny kept adds nothing.
    assert_eq!(
        no_new_access(
            &set(new),
            &set({
                let mut b = baseline();
                b["Statement"][0]["Resource"] = "arn:aws:s3:::notes/*".into();
                b
            })
        ),
        DiffResult::NoNewAccess
    );
}

#[test]
fn removed_condition_is_caught() {
    let mut new = baseline();
    new["Statement"][0]
        .as_object_mut()
        .unwrap()
        .remove("Condition");
    expect_new(new, "removed condition");
}

#[test]
fn pure_narrowing_passes() {
    let mut new = baseline();
    new["Statement"][0]["Action"] = "s3:GetObject".into();
    new["Statement"][0]["Resource"] =
        "arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}/photos/*".into();
    assert_eq!(
        no_new_access(&set(new), &set(baseline())),
        DiffResult::NoNewAccess
    );
    assert_eq!(
        no_new_access(&set(baseline()), &set(baseline())),
        DiffResult::NoNewAccess
    );
}

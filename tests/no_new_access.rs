//! No new access: widening the resource or the action, removing a Deny or a condition is
//! caught, with a confirmed example; a pure narrowing passes.

use policy_sim::analysis::identity::IdentityFormat;
use policy_sim::analysis::no_new_access::{DiffResult, NewAccess};
use policy_sim::eval::{Decision, PolicySet};
use policy_sim::lang::parse::parse_policy;
use policy_sim::request::Request;

/// The comparison over Cognito identities at a fixed time (the library takes the clock
/// from its caller).
fn no_new_access(new: &PolicySet, baseline: &PolicySet) -> DiffResult {
    no_new_access_as("cognito", new, baseline)
}

/// The comparison over the identities of `format`.
fn no_new_access_as(format: &str, new: &PolicySet, baseline: &PolicySet) -> DiffResult {
    policy_sim::analysis::no_new_access::no_new_access(
        new,
        baseline,
        &IdentityFormat::parse(format).unwrap(),
        "2026-06-01T00:00:00Z".parse().unwrap(),
    )
}

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

fn expect_new(new: serde_json::Value, what: &str) -> NewAccess {
    expect_new_vs(baseline(), new, what)
}

/// The comparison finds new access, and the evaluator agrees on both sides.
fn expect_new_vs(base: serde_json::Value, new: serde_json::Value, what: &str) -> NewAccess {
    let (n, b) = (set(new), set(base));
    match no_new_access(&n, &b) {
        DiffResult::NewAccess(found) => {
            // Re-check the example independently.
            let decide = |s: &PolicySet| {
                // The context holds the identity too, when the request has one.
                let mut r = Request::new(found.action.clone(), found.resource.clone());
                for (k, v) in &found.context {
                    r.context.set(k, v.clone());
                }
                r.context
                    .fill_time_defaults("2026-01-01T00:00:00Z".parse().unwrap())
                    .unwrap();
                s.evaluate(&r).unwrap().decision
            };
            assert_eq!(decide(&n), Decision::Allow, "{what}: {found:?}");
            assert_ne!(decide(&b), Decision::Allow, "{what}: {found:?}");
            found
        }
        other => panic!("{what}: expected new access, got {other:?}"),
    }
}

fn policy(statements: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"Version": "2012-10-17", "Statement": statements})
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

#[test]
fn shrunk_deny_action_list_is_caught() {
    // Whichever action leaves the Deny, and in whichever position.
    let app = serde_json::json!({"Sid": "App", "Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]});
    let guard = |actions: serde_json::Value| serde_json::json!({"Sid": "Guard", "Effect": "Deny", "Action": actions, "Resource": "*"});
    let base = policy(serde_json::json!([
        app,
        guard(serde_json::json!(["s3:DeleteBucket", "s3:PutBucketPolicy"]))
    ]));
    for kept in ["s3:DeleteBucket", "s3:PutBucketPolicy"] {
        let found = expect_new_vs(
            base.clone(),
            policy(serde_json::json!([app, guard(kept.into())])),
            kept,
        );
        let dropped = if kept == "s3:DeleteBucket" {
            "s3:PutBucketPolicy"
        } else {
            "s3:DeleteBucket"
        };
        assert_eq!(
            (found.action.as_str(), found.resource.as_str()),
            (dropped, "arn:aws:s3:::b")
        );
        assert_eq!(found.baseline, Decision::ExplicitDeny);
    }
    let base = policy(
        serde_json::json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": ["iam:*", "organizations:*"], "Resource": "*"}]),
    );
    let new = policy(
        serde_json::json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": ["iam:*"], "Resource": "*"}]),
    );
    let found = expect_new_vs(base, new, "organizations dropped from the Deny");
    assert!(found.action.starts_with("organizations:"), "{found:?}");
}

#[test]
fn widened_not_action_deny_is_caught() {
    let base = policy(
        serde_json::json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}]),
    );
    let new = policy(
        serde_json::json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "NotAction": ["s3:*", "ec2:*"], "Resource": "*"}]),
    );
    let found = expect_new_vs(base, new, "NotAction widened");
    assert!(found.action.starts_with("ec2:"), "{found:?}");
}

#[test]
fn new_deny_covering_only_part_of_the_actions_is_not_trusted_for_all() {
    // "Allow only EC2": everything but ec2:* is denied, and ec2:* is new.
    let base = policy(
        serde_json::json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]),
    );
    let new = policy(
        serde_json::json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "NotAction": "ec2:*", "Resource": "*"}]),
    );
    let found = expect_new_vs(base, new, "allow only EC2");
    assert!(found.action.starts_with("ec2:"), "{found:?}");
    // Examples use documented actions and, where one fits, their documented ARN format.
    let (_, action) = policy_sim::catalog::catalog()
        .action(&found.action)
        .expect("a documented action");
    assert!(
        matches!(
            policy_sim::catalog::catalog().applies_to(&found.action, &found.resource),
            Some(policy_sim::catalog::Applicability::Applies(_))
        ),
        "{found:?} ({})",
        action.name
    );
}

#[test]
fn every_pattern_of_a_baseline_statement_is_tried() {
    let base = policy(
        serde_json::json!([{"Effect": "Allow", "Action": ["s3:GetObject", "s3:*"], "Resource": "arn:aws:s3:::b/*"}, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]),
    );
    let new = policy(serde_json::json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]));
    let found = expect_new_vs(base, new, "s3:* on *");
    assert!(
        !found.action.eq_ignore_ascii_case("s3:GetObject"),
        "{found:?}"
    );
}

#[test]
fn policy_variables_are_compared_by_key_and_version() {
    let at = |resource: &str| {
        policy(
            serde_json::json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": resource}]),
        )
    };
    // Another variable is another value.
    expect_new_vs(
        at("arn:aws:s3:::b/${aws:userid}/*"),
        at("arn:aws:s3:::b/${aws:PrincipalTag/team}/*"),
        "variable swapped",
    );
    // A baseline wildcard does not cover the value by chance.
    expect_new_vs(
        at("arn:aws:s3:::home/p*"),
        at("arn:aws:s3:::home/${aws:username}/*"),
        "wildcard vs variable",
    );
    expect_new_vs(
        at("arn:aws:s3:::home/us-east-1:*"),
        at("arn:aws:s3:::home/${cognito-identity.amazonaws.com:sub}/*"),
        "region prefix vs identity",
    );
    // Under 2008-10-17 the baseline's `${...}` is literal text; 2012 reads it as a variable.
    let mut literal = at("arn:aws:s3:::b/${aws:username}/*");
    literal["Version"] = "2008-10-17".into();
    expect_new_vs(
        literal.clone(),
        at("arn:aws:s3:::b/${aws:username}/*"),
        "Version added",
    );
    // The same variable on both sides: nothing new.
    assert_eq!(
        no_new_access(
            &set(at("arn:aws:s3:::b/${aws:username}/x/*")),
            &set(at("arn:aws:s3:::b/${aws:username}/*"))
        ),
        DiffResult::NoNewAccess
    );
}

#[test]
fn unchanged_policies_with_hard_shapes_pass() {
    // A conditional Deny, Allow with NotResource / NotAction, Deny with NotResource: the
    // same policy compared with itself is no new access, not unknown.
    for statements in [
        serde_json::json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}, {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]),
        serde_json::json!([{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}]),
        serde_json::json!([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]),
        serde_json::json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::b/*"}]),
    ] {
        let p = policy(statements.clone());
        assert_eq!(
            no_new_access(&set(p.clone()), &set(p)),
            DiffResult::NoNewAccess,
            "{statements}"
        );
    }
}

/// A `*` inside the region of a baseline ARN stays inside the region (the evaluator
/// matches the first five components separately), so a resource whose region and account
/// hold an extra colon is not covered by it: new access, confirmed by the evaluator.
#[test]
fn wildcard_in_a_region_does_not_cross_a_colon() {
    let at = |resource: &str| {
        policy(
            serde_json::json!([{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": resource}]),
        )
    };
    let resource = "arn:aws:execute-api:us-east:x-1:123456789012:api/prod/GET/x";
    let base = at("arn:aws:execute-api:*-1:123456789012:api/*");
    let new = at(resource);
    let found = expect_new_vs(base.clone(), new.clone(), "colon inside the region");
    assert_eq!(found.action, "execute-api:Invoke");
    assert_eq!(found.resource, resource);
    // `check` decides ImplicitDeny on the baseline and Allow on the new set.
    let decide = |doc: serde_json::Value| {
        set(doc)
            .evaluate(&Request::new("execute-api:Invoke", resource))
            .unwrap()
            .decision
    };
    assert_eq!(decide(base), Decision::ImplicitDeny);
    assert_eq!(decide(new), Decision::Allow);
    assert_eq!(found.baseline, Decision::ImplicitDeny);
}

/// The same case through the CI gate: the no-new-access check fails.
#[test]
fn gate_reports_the_colon_case() {
    use policy_sim::gate::{self, GateConfig, Status};
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-new-access-colon");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let doc = |resource: &str| {
        policy(
            serde_json::json!([{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": resource}]),
        )
        .to_string()
    };
    std::fs::write(
        dir.join("base.json"),
        doc("arn:aws:execute-api:*-1:123456789012:api/*"),
    )
    .unwrap();
    std::fs::write(
        dir.join("p.json"),
        doc("arn:aws:execute-api:us-east:x-1:123456789012:api/prod/GET/x"),
    )
    .unwrap();
    let gate_file = dir.join("gate.yml");
    std::fs::write(
        &gate_file,
        "policies: p.json\nno-new-access: {baseline: base.json}\nlint: {fail-on: []}\n",
    )
    .unwrap();
    let report = gate::run(
        &GateConfig::load(&gate_file).unwrap(),
        "2026-06-01T00:00:00Z".parse().unwrap(),
    )
    .unwrap();
    let check = report
        .checks
        .iter()
        .find(|c| c.name == "no-new-access")
        .expect("a no-new-access check");
    assert_eq!(check.status, Status::Fail, "{}", check.message);
    assert!(
        check
            .message
            .contains("arn:aws:execute-api:us-east:x-1:123456789012:api/prod/GET/x"),
        "{}",
        check.message
    );
}

/// A policy variable takes every value, not only the one the comparison starts from: a new
/// `Allow` on `b/${aws:username}` reaches `b/admin`, which a baseline `Deny` refuses, for
/// the user `admin`. The example is confirmed with that value in its context.
#[test]
fn a_variable_can_take_the_value_a_baseline_deny_names() {
    let base = policy(serde_json::json!([
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/admin"}
    ]));
    let new = policy(serde_json::json!([
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${aws:username}"}
    ]));
    let found = expect_new_vs(base, new, "variable reaching a denied name");
    assert_eq!(found.resource, "arn:aws:s3:::b/admin", "{found:?}");
    assert_eq!(found.context["aws:username"], vec!["admin".to_string()]);
    assert_eq!(found.baseline, Decision::ExplicitDeny);
}

/// The baseline `Deny` reads the same variable. Where the new set keeps that `Deny`, or
/// the new `Allow` cannot reach what it refuses for any value, the comparison shows no new
/// access; where the new set drops it, the `Allow` reaches it for every user.
#[test]
fn a_baseline_deny_with_the_same_variable() {
    let allow = |resource: &str| serde_json::json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": resource});
    let deny = |resource: &str| serde_json::json!({"Effect": "Deny", "Action": "s3:GetObject", "Resource": resource});
    let base = policy(serde_json::json!([
        allow("arn:aws:s3:::b/*"),
        deny("arn:aws:s3:::b/${aws:username}")
    ]));
    // The Deny kept: nothing new.
    let kept = policy(serde_json::json!([
        allow("arn:aws:s3:::b/${aws:username}"),
        deny("arn:aws:s3:::b/${aws:username}")
    ]));
    assert_eq!(
        no_new_access(&set(kept), &set(base.clone())),
        DiffResult::NoNewAccess
    );
    // The Deny dropped: each user reaches `b/<own name>`, which the baseline refused.
    let dropped = policy(serde_json::json!([allow("arn:aws:s3:::b/${aws:username}")]));
    let found = expect_new_vs(base, dropped, "dropped deny with a variable");
    assert_eq!(found.baseline, Decision::ExplicitDeny);
    // Another part of the user's own folder than the one denied: nothing new, for every
    // value of the variable.
    let base = policy(serde_json::json!([
        allow("arn:aws:s3:::b/*"),
        deny("arn:aws:s3:::b/${aws:username}/private/*")
    ]));
    let public = policy(serde_json::json!([allow(
        "arn:aws:s3:::b/${aws:username}/public/*"
    )]));
    assert_eq!(
        no_new_access(&set(public), &set(base.clone())),
        DiffResult::NoNewAccess
    );
    // A literal Deny under the user's folder is reached by a user of that name.
    let base = policy(serde_json::json!([
        allow("arn:aws:s3:::b/*"),
        deny("arn:aws:s3:::b/root/x/k")
    ]));
    let found = expect_new_vs(
        base,
        policy(serde_json::json!([allow(
            "arn:aws:s3:::b/${aws:username}/x/*"
        )])),
        "literal deny inside the variable's folder",
    );
    assert_eq!(found.context["aws:username"], vec!["root".to_string()]);
}

/// A variable with a default also stands for requests without its key: changing
/// `b/${aws:username}/*` to `b/${aws:username, 'public'}/*` lets every request without
/// `aws:username` (every Cognito role session) reach `b/public/*`. Found with the key
/// absent, and confirmed by the evaluator.
#[test]
fn a_default_reaches_requests_without_the_key() {
    let at = |resource: &str| {
        policy(
            serde_json::json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": resource}]),
        )
    };
    let found = expect_new_vs(
        at("arn:aws:s3:::b/${aws:username}/*"),
        at("arn:aws:s3:::b/${aws:username, 'public'}/*"),
        "default added",
    );
    assert!(
        found.resource.starts_with("arn:aws:s3:::b/public/"),
        "{found:?}"
    );
    assert!(!found.context.contains_key("aws:username"), "{found:?}");
    assert_eq!(found.baseline, Decision::ImplicitDeny);
    // The same default on both sides: nothing new.
    assert_eq!(
        no_new_access(
            &set(at("arn:aws:s3:::b/${aws:username, 'public'}/x/*")),
            &set(at("arn:aws:s3:::b/${aws:username, 'public'}/*"))
        ),
        DiffResult::NoNewAccess
    );
    // A default in a Deny: removed, the requests without the key reach what it refused.
    let base = policy(serde_json::json!([
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${aws:userid, 'anonymous'}/*"}
    ]));
    let new = policy(serde_json::json!([
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${aws:userid}/*"}
    ]));
    let found = expect_new_vs(base, new, "default dropped from a Deny");
    assert!(
        found.resource.starts_with("arn:aws:s3:::b/anonymous/"),
        "{found:?}"
    );
    assert_eq!(found.baseline, Decision::ExplicitDeny);
}

/// The identity takes every value: moving a Deny from `us-east-1:*` to `eu-west-1:*`
/// under the identity's folder gives the us-east-1 identities new access. Found with the
/// identity a free string in the automata, and confirmed with a concrete Cognito identity
/// of us-east-1.
#[test]
fn a_deny_moved_between_identity_regions_is_found() {
    let sub = "${cognito-identity.amazonaws.com:sub}";
    let allow = serde_json::json!({"Effect": "Allow", "Action": "s3:PutObject",
        "Resource": format!("arn:aws:s3:::b/private/{sub}/*")});
    let deny = |region: &str| {
        serde_json::json!({"Effect": "Deny", "Action": "s3:PutObject",
        "Resource": format!("arn:aws:s3:::b/private/{region}:*")})
    };
    let base = policy(serde_json::json!([allow, deny("us-east-1")]));
    let new = policy(serde_json::json!([allow, deny("eu-west-1")]));
    let found = expect_new_vs(base, new, "deny moved");
    let identity = "us-east-1:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
    assert_eq!(found.action, "s3:PutObject");
    assert_eq!(
        found.resource,
        format!("arn:aws:s3:::b/private/{identity}/")
    );
    assert_eq!(
        found.context["cognito-identity.amazonaws.com:sub"],
        [identity]
    );
    assert_eq!(found.baseline, Decision::ExplicitDeny);
}

/// Policies that read the identity and change nothing for any identity pass: the
/// comparison covers every identity of the format, not one sample value.
#[test]
fn identity_policies_that_change_nothing_for_any_identity_pass() {
    let sub = "${cognito-identity.amazonaws.com:sub}";
    let statements = |list: &[(&str, String)]| {
        let sts: Vec<serde_json::Value> = list
            .iter()
            .map(|(effect, resource)| {
                serde_json::json!({"Effect": effect, "Action": "s3:PutObject", "Resource": resource})
            })
            .collect();
        set(policy(serde_json::json!(sts)))
    };
    let everything = ("Allow", "arn:aws:s3:::b/*".to_string());
    // A Deny on the identity's folder widened to the identity's folder at any depth.
    let base = statements(&[
        everything.clone(),
        ("Deny", format!("arn:aws:s3:::b/private/{sub}/*")),
    ]);
    let new = statements(&[everything, ("Deny", format!("arn:aws:s3:::b/*/{sub}/*"))]);
    assert_eq!(no_new_access(&new, &base), DiffResult::NoNewAccess);
    assert_eq!(no_new_access(&base, &base), DiffResult::NoNewAccess);
    // Every Cognito identity holds a colon, so the baseline already allowed every
    // identity's folder: nothing new for a Cognito identity. Any string may lack the
    // colon: new access, confirmed with such an identity.
    let base = statements(&[("Allow", "arn:aws:s3:::b/private/*:*/*".to_string())]);
    let new = statements(&[("Allow", format!("arn:aws:s3:::b/private/{sub}/*"))]);
    assert_eq!(no_new_access(&new, &base), DiffResult::NoNewAccess);
    match no_new_access_as("any", &new, &base) {
        DiffResult::NewAccess(found) => {
            assert_eq!(found.resource, "arn:aws:s3:::b/private/a/");
            assert_eq!(found.context["cognito-identity.amazonaws.com:sub"], ["a"]);
            assert_eq!(found.baseline, Decision::ImplicitDeny);
        }
        other => panic!("{other:?}"),
    }
}

/// Where the identity meets another variable, the comparison uses one stand-in value for
/// it; the example shows a realistic Cognito id instead, confirmed on both sides.
#[test]
fn an_example_names_a_realistic_identity() {
    let found = expect_new(
        policy(serde_json::json!([
            {"Effect": "Allow", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::notes/shared/${cognito-identity.amazonaws.com:sub}/${aws:username}"}
        ])),
        "identity and user name in one pattern",
    );
    let real = "us-east-1:7f3a9c2e-4b1d-4e8a-9c6f-2d5b8e1a0c3f";
    assert!(
        !format!("{found:?}").contains("~cognito-identity~"),
        "{found:?}"
    );
    assert!(
        found
            .resource
            .starts_with(&format!("arn:aws:s3:::notes/shared/{real}/")),
        "{found:?}"
    );
    assert_eq!(
        found.context["cognito-identity.amazonaws.com:sub"],
        vec![real.to_string()]
    );
}

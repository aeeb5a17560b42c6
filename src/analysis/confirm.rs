//! Candidates made concrete and checked with the evaluator.
//!
//! The searches reason about patterns; what they report must be real. Every
//! counterexample of the prover and every example of new access is a request built here
//! and decided by [`PolicySet::evaluate`], the same evaluator `policy-sim check` runs.

use std::collections::BTreeMap;

use crate::eval::{Decision, PolicySet};
use crate::lang::condition::{Comparison, SetQualifier, Value};
use crate::lang::keys::{ALWAYS_PRESENT, COGNITO_SUB};
use crate::lang::model::Statement;
use crate::request::Request;

/// A request context: condition keys (as written) and their values.
pub type ContextMap = BTreeMap<String, Vec<String>>;

/// A request context under which `st`'s conditions plausibly hold for `identity`, plus the
/// keys AWS puts in every request.
pub fn plausible_context(st: &Statement, identity: &str) -> ContextMap {
    let mut ctx = ContextMap::new();
    let mut vars = crate::request::Context::new();
    vars.add(COGNITO_SUB, identity);
    for c in &st.conditions {
        let op = c.operator;
        let absent_is_true = op.if_exists
            || op.qualifier == SetQualifier::ForAllValues
            || (op.negated && op.qualifier == SetQualifier::None);
        if op.comparison == Comparison::Null {
            // `Null: false` holds when the key is present.
            if c.values.iter().any(|v| matches!(v, Value::Null(false))) {
                ctx.insert(c.key.clone(), vec!["x".to_string()]);
            }
            continue;
        }
        if absent_is_true || c.key_lower == COGNITO_SUB {
            // The identity comes from the request, never from a condition's value.
            continue;
        }
        let value = match c.values.first() {
            Some(Value::Text(p)) => p.render(&vars).replace('*', "").replace('?', "x"),
            Some(Value::Arn(p)) => p.render(&vars).replace(['*', '?'], "x"),
            Some(Value::Ip(net)) => net.addr().to_string(),
            Some(
                Value::Number(_)
                | Value::Date(_)
                | Value::Bool(_)
                | Value::BoolVariable(_)
                | Value::Binary(_)
                | Value::Null(_),
            )
            | None => c.raw_values.first().cloned().unwrap_or_default(),
        };
        ctx.insert(c.key.clone(), vec![value]);
    }
    let defaults = [
        ("aws:SecureTransport", "true"),
        ("aws:RequestedRegion", "us-east-1"),
        ("aws:PrincipalAccount", "123456789012"),
        (
            "aws:PrincipalArn",
            "arn:aws:iam::123456789012:role/authenticated",
        ),
        ("aws:PrincipalType", "AssumedRole"),
        ("aws:UserAgent", "policy-sim"),
    ];
    for (k, v) in defaults {
        debug_assert!(ALWAYS_PRESENT.contains(&k.to_ascii_lowercase().as_str()));
        if !ctx.keys().any(|key| key.eq_ignore_ascii_case(k)) {
            ctx.insert(k.to_string(), vec![v.to_string()]);
        }
    }
    ctx
}

/// The request `identity` makes for `action` on `resource` with context `ctx` (whose
/// identity key, if any, is left out: the identity is the request's own). `None` when
/// the context's time keys cannot be completed. `now` is the time of a request whose context
/// names none.
pub fn request(
    action: &str,
    resource: &str,
    identity: &str,
    ctx: &ContextMap,
    now: jiff::Timestamp,
) -> Option<Request> {
    let mut r = Request::new(action, resource).with_identity(identity);
    for (k, v) in ctx {
        if !k.eq_ignore_ascii_case(COGNITO_SUB) {
            r.context.set(k, v.clone());
        }
    }
    r.context.fill_time_defaults(now).ok()?;
    Some(r)
}

/// The evaluator's decision on [`request`]; `None` when the request cannot be built or
/// evaluated.
pub fn decide(
    set: &PolicySet,
    action: &str,
    resource: &str,
    identity: &str,
    ctx: &ContextMap,
    now: jiff::Timestamp,
) -> Option<Decision> {
    let r = request(action, resource, identity, ctx, now)?;
    set.evaluate(&r).ok().map(|e| e.decision)
}

//! Candidates made concrete and checked with the evaluator.
//!
//! The searches reason about patterns; what they report must be real. Every
//! counterexample of the prover is a request built here and decided by
//! [`Policies::prepare`] and [`Policies::authorize_into`], the same evaluator `policy-sim
//! check` runs, with every policy type.

use std::collections::BTreeMap;

use crate::eval::Decision;
use crate::eval::authorize::{Policies, Scratch};
use crate::lang::condition::{Comparison, SetQualifier, Value};
use crate::lang::keys::{ALWAYS_PRESENT, COGNITO_SUB};
use crate::lang::model::Statement;
use crate::lang::principal::Caller;
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
            // A `StringLike` value's wildcards read as little as possible; any other string
            // operator compares the text as written (its `*` is a character).
            Some(Value::Text(p)) if op.comparison == Comparison::StringLike => {
                p.render(&vars).replace('*', "").replace('?', "x")
            }
            Some(Value::Text(p)) => p.render(&vars),
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

/// How many request contexts [`alternative_contexts`] gives at most.
pub const CONTEXT_TRIES: usize = 32;

/// Request contexts to try after `base` (which comes first) for a request of `identity`:
/// each key that a condition of `statements` names takes, besides its value in `base`,
/// the values the conditions name (the identity substituted, wildcards filled), a value
/// outside them, and no value; at most [`CONTEXT_TRIES`] combinations. These only serve
/// requests that the evaluator decides again, so any choice is safe.
pub fn alternative_contexts(
    statements: &[&Statement],
    base: &ContextMap,
    identity: &str,
) -> Vec<ContextMap> {
    let mut vars = crate::request::Context::new();
    vars.add(COGNITO_SUB, identity);
    let mut options: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    for c in statements.iter().flat_map(|st| &st.conditions) {
        let lower = &c.key_lower;
        if lower == COGNITO_SUB
            || lower.starts_with("aws:principal")
            || lower == crate::lang::keys::RESOURCE_ACCOUNT
            || c.operator.comparison == Comparison::Null
        {
            continue;
        }
        let key = base
            .keys()
            .find(|k| k.eq_ignore_ascii_case(&c.key))
            .cloned()
            .unwrap_or_else(|| c.key.clone());
        let entry = options
            .entry(key.clone())
            .or_insert_with(|| vec![base.get(&key).and_then(|v| v.first()).cloned()]);
        let mut add = |v: Option<String>| {
            if !entry.contains(&v) {
                entry.push(v);
            }
        };
        for v in &c.values {
            match v {
                Value::Text(p) => {
                    let rendered = p.render(&vars);
                    add(Some(rendered.replace('*', "").replace('?', "x")));
                    add(Some(rendered.replace(['*', '?'], "x")));
                    // As written: what a `StringEquals` compares.
                    add(Some(rendered));
                }
                Value::Arn(p) => add(Some(p.render(&vars).replace(['*', '?'], "x"))),
                Value::Ip(net) => {
                    add(Some(net.addr().to_string()));
                    add(Some("192.0.2.7".to_string()));
                }
                Value::Bool(b) => {
                    add(Some(b.to_string()));
                    add(Some((!b).to_string()));
                }
                _ => {}
            }
        }
        add(Some("other".to_string()));
        add(None);
    }
    let mut out = vec![base.clone()];
    for (key, values) in &options {
        let mut next = Vec::new();
        'grow: for ctx in &out {
            for v in values {
                if next.len() >= CONTEXT_TRIES {
                    break 'grow;
                }
                let mut c = ctx.clone();
                c.retain(|k, _| !k.eq_ignore_ascii_case(key));
                if let Some(v) = v {
                    c.insert(key.clone(), vec![v.clone()]);
                }
                next.push(c);
            }
        }
        out = next;
    }
    out.dedup();
    out
}

/// [`plausible_context`] for a request of `principal`: without the keys the principal
/// determines ([`Caller::context_keys`]) and `aws:ResourceAccount`, which
/// [`Policies::prepare`] sets from the principal and the resource (a made-up value would
/// contradict them). Without a principal, [`plausible_context`].
pub fn plausible_context_for(
    st: &Statement,
    identity: &str,
    principal: Option<&Caller>,
    now: jiff::Timestamp,
) -> ContextMap {
    let mut ctx = plausible_context(st, identity);
    // A session's requests carry these keys (`lang::keys::SESSION_PRESENT`): credentials
    // issued at the time of the request, without MFA (as Cognito's are), unless the
    // statement's own conditions chose values.
    if principal.is_some_and(|c| c.kind().is_session()) {
        let has = |ctx: &ContextMap, key: &str| ctx.keys().any(|k| k.eq_ignore_ascii_case(key));
        if !has(&ctx, "aws:TokenIssueTime") {
            let issued = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
            ctx.insert("aws:TokenIssueTime".to_string(), vec![issued]);
        }
        if !has(&ctx, "aws:MultiFactorAuthPresent") {
            ctx.insert(
                "aws:MultiFactorAuthPresent".to_string(),
                vec!["false".to_string()],
            );
        }
    }
    if let Some(caller) = principal {
        let derived = caller.context_keys();
        ctx.retain(|k, _| {
            !k.eq_ignore_ascii_case(crate::lang::keys::RESOURCE_ACCOUNT)
                && !derived.iter().any(|(key, _)| k.eq_ignore_ascii_case(key))
        });
    }
    ctx
}

/// The request `identity` makes as `principal` (when given) for `action` on `resource`
/// with context `ctx` (whose identity key, if any, is left out: the identity is the
/// request's own), prepared for `policies` ([`Policies::prepare`]). `None` when the
/// context's time keys cannot be completed or the request does not fit the policies.
/// `now` is the time of a request whose context names none.
pub fn request(
    policies: &Policies,
    principal: Option<&Caller>,
    [action, resource]: [&str; 2],
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
    r.principal = principal.cloned();
    policies.prepare(&mut r).ok()?;
    Some(r)
}

/// The evaluator's decision on [`request`] with every policy type; `None` when the
/// request cannot be built or evaluated.
pub fn decide(
    policies: &Policies,
    principal: Option<&Caller>,
    [action, resource]: [&str; 2],
    identity: &str,
    ctx: &ContextMap,
    now: jiff::Timestamp,
) -> Option<Decision> {
    let r = request(policies, principal, [action, resource], identity, ctx, now)?;
    policies
        .authorize_into(&r, &mut Scratch::default())
        .ok()
        .map(|v| v.decision)
}

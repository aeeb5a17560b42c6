//! No new access: does a new policy set allow a request that a baseline set denied?
//!
//! Decided on the patterns, like the prover, not by sampling. For every `Allow` statement
//! `S` of the new set and every resource pattern of it:
//!
//! 1. For every group `M` of baseline `Allow` statements (every subset, up to 10 of them),
//!    the automata look for an action that `S` and every statement of `M` cover and no
//!    other baseline `Allow` does; then for a resource of `S`'s pattern that no statement of
//!    `M` that *certainly* applies covers. A baseline statement certainly applies when its
//!    conditions are among `S`'s own: otherwise a context can make it not apply (a
//!    removed condition is new access).
//! 2. For every baseline `Deny`: an action and a resource that both `S` and the `Deny`
//!    cover (a removed `Deny` is new access).
//!
//! Each candidate is made concrete (policy variables take fixed values; the context
//! satisfies `S`'s conditions, with variants that switch the baseline's conditions off)
//! and checked with the evaluator on both sets. A confirmed candidate is new access. A
//! candidate no context confirms, or a search that is too large, makes the answer
//! `unknown`; no candidate at all means no new access.

use std::collections::BTreeMap;

use crate::context::{ALWAYS_PRESENT, COGNITO_SUB, Request};
use crate::eval::{Decision, PolicySet, StatementRef};
use crate::policy::{ActionSpec, Effect, ResourceSpec, Statement, Version};
use crate::prover::search::{Elem, Glob, find_string};
use crate::variables::{Piece, Syntax};

/// The identity used for `${cognito-identity.amazonaws.com:sub}` in comparisons.
pub const IDENTITY: &str = "us-east-1:00000000-0000-0000-0000-000000000000";
/// The value every other policy variable takes in comparisons.
const VARIABLE_VALUE: &str = "policy-sim-value";
/// Baseline `Allow` statements beyond this many make the grouping step give up.
const MAX_GROUP: usize = 10;
const SEARCH_LIMIT: usize = 100_000;

/// A request the new set allows and the baseline denies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccess {
    /// The action.
    pub action: String,
    /// The resource.
    pub resource: String,
    /// The request context.
    pub context: BTreeMap<String, Vec<String>>,
    /// The new statement that allows it.
    pub statement: StatementRef,
    /// The baseline's decision for it.
    pub baseline: Decision,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffResult {
    /// Nothing the baseline denied is allowed now.
    NoNewAccess,
    /// An example of new access.
    NewAccess(NewAccess),
    /// Could not decide; why.
    Unknown(String),
}

fn glob(text: &str, variables: bool, lowercase: bool) -> Option<Glob> {
    if text == "*" {
        return Some(Glob(vec![Elem::Star]));
    }
    let pieces = crate::variables::parse_pieces(
        text,
        Syntax {
            variables,
            wildcards: true,
        },
    )
    .ok()?;
    let mut out = Vec::new();
    for p in pieces {
        match p {
            Piece::Literal(l) => {
                let l = if lowercase {
                    l.to_ascii_lowercase()
                } else {
                    l.to_string()
                };
                out.extend(l.bytes().map(Elem::Byte));
            }
            Piece::Star => out.push(Elem::Star),
            Piece::AnyChar => out.push(Elem::AnyChar),
            Piece::Variable(v) => {
                let value = if &*v.key_lower == COGNITO_SUB {
                    IDENTITY
                } else {
                    VARIABLE_VALUE
                };
                out.extend(value.bytes().map(Elem::Byte));
            }
        }
    }
    Some(Glob(out))
}

fn star() -> Glob {
    Glob(vec![Elem::Star])
}

/// `arn:?*:?*:*:*:*`: a resource found for a comparison must be an ARN.
fn arn_shape() -> Glob {
    let mut g: Vec<Elem> = b"arn:".iter().map(|b| Elem::Byte(*b)).collect();
    g.extend([
        Elem::AnyChar,
        Elem::Star,
        Elem::Byte(b':'),
        Elem::AnyChar,
        Elem::Star,
    ]);
    for _ in 0..3 {
        g.extend([Elem::Byte(b':'), Elem::Star]);
    }
    Glob(g)
}

/// (globs an action must match, globs it must not), for a statement's actions.
fn action_globs(st: &Statement) -> (Vec<Glob>, Vec<Glob>) {
    match &st.action {
        ActionSpec::Action(ps) => (
            ps.iter()
                .filter_map(|p| glob(p.source(), false, true))
                .collect(),
            Vec::new(),
        ),
        ActionSpec::NotAction(ps) => (
            vec![star()],
            ps.iter()
                .filter_map(|p| glob(p.source(), false, true))
                .collect(),
        ),
    }
}

fn resource_globs(st: &Statement, variables: bool) -> (Vec<Glob>, Vec<Glob>) {
    match &st.resource {
        Some(ResourceSpec::Resource(ps)) => (
            ps.iter()
                .filter_map(|p| glob(p.source(), variables, false))
                .collect(),
            Vec::new(),
        ),
        Some(ResourceSpec::NotResource(ps)) => (
            vec![star()],
            ps.iter()
                .filter_map(|p| glob(p.source(), variables, false))
                .collect(),
        ),
        None => (vec![star()], Vec::new()),
    }
}

/// An action covered by `st` (one of its patterns) and by every `with`, and by no
/// `without`. Action names match without regard to case; the example takes the spelling
/// of a literal action in `st` or `with` when it is one (`s3:GetObject`, not
/// `s3:getobject`).
fn find_action(st: &Statement, with: &[&Statement], without: &[&Statement]) -> Option<String> {
    let found = find_action_lowercase(st, with, without)?;
    let spelled = std::iter::once(st)
        .chain(with.iter().copied())
        .flat_map(|t| match &t.action {
            ActionSpec::Action(p) | ActionSpec::NotAction(p) => p.iter().map(|p| p.source()),
        })
        .find(|src| src.eq_ignore_ascii_case(&found));
    Some(spelled.map_or(found, str::to_string))
}

fn find_action_lowercase(
    st: &Statement,
    with: &[&Statement],
    without: &[&Statement],
) -> Option<String> {
    let (s_any, s_not) = action_globs(st);
    for s_glob in &s_any {
        let mut require = vec![s_glob.clone()];
        let mut forbid = s_not.clone();
        let mut ok = true;
        for t in with {
            let (any, not) = action_globs(t);
            // A statement with several patterns: require one of them (try each union
            // member through the caller's enumeration is too costly; use the first that
            // works).
            let mut found = false;
            for g in &any {
                let mut r = require.clone();
                r.push(g.clone());
                let mut f = forbid.clone();
                f.extend(not.iter().cloned());
                if find_string(&r, &f, SEARCH_LIMIT).is_some() {
                    require = r;
                    forbid = f;
                    found = true;
                    break;
                }
            }
            if !found {
                ok = false;
                break;
            }
        }
        if !ok {
            continue;
        }
        for t in without {
            let (any, _) = action_globs(t);
            // An action outside `t`: outside every one of its patterns (NotAction
            // statements are left to the evaluator's check).
            if matches!(t.action, ActionSpec::Action(_)) {
                forbid.extend(any);
            }
        }
        if let Some(bytes) = find_string(&require, &forbid, SEARCH_LIMIT) {
            let a = String::from_utf8(bytes).ok()?;
            // Make it look like an action: `service:Name`.
            if a.contains(':') && !a.ends_with(':') {
                return Some(a);
            }
            let mut r2 = require.clone();
            r2.push(Glob(
                b"*:?*"
                    .iter()
                    .map(|b| {
                        if *b == b'*' {
                            Elem::Star
                        } else if *b == b'?' {
                            Elem::AnyChar
                        } else {
                            Elem::Byte(*b)
                        }
                    })
                    .collect(),
            ));
            if let Some(b) = find_string(&r2, &forbid, SEARCH_LIMIT) {
                return String::from_utf8(b).ok();
            }
        }
    }
    None
}

/// Does `t` apply whenever `s` does, as far as conditions go (its conditions are among
/// `s`'s)?
fn conditions_implied(t: &Statement, s: &Statement) -> bool {
    t.conditions.iter().all(|c| {
        s.conditions.iter().any(|d| {
            d.operator == c.operator && d.key_lower == c.key_lower && d.raw_values == c.raw_values
        })
    })
}

fn vars_of(st: &Statement) -> Vec<String> {
    let mut out = Vec::new();
    for text in match &st.resource {
        Some(ResourceSpec::Resource(p) | ResourceSpec::NotResource(p)) => {
            p.iter().map(|p| p.source()).collect()
        }
        None => Vec::new(),
    }
    .into_iter()
    .chain(
        st.conditions
            .iter()
            .flat_map(|c| c.raw_values.iter().map(String::as_str)),
    ) {
        if let Ok(pieces) = crate::variables::parse_pieces(
            text,
            Syntax {
                variables: true,
                wildcards: true,
            },
        ) {
            for p in pieces {
                if let Piece::Variable(v) = p
                    && !out.contains(&v.key.to_string())
                {
                    out.push(v.key.to_string());
                }
            }
        }
    }
    out
}

/// Contexts to try: one under which `s`'s conditions plausibly hold, and variants that
/// switch off each baseline condition key.
fn contexts(s: &Statement, baseline: &PolicySet) -> Vec<BTreeMap<String, Vec<String>>> {
    let mut base = crate::prover::plausible_context(s, IDENTITY);
    for key in vars_of(s) {
        if !key.eq_ignore_ascii_case(COGNITO_SUB) {
            base.entry(key)
                .or_insert_with(|| vec![VARIABLE_VALUE.to_string()]);
        }
    }
    let mut out = vec![base.clone()];
    let mut keys: Vec<String> = Vec::new();
    for p in baseline.policies() {
        for st in &p.statements {
            for c in &st.conditions {
                if !keys.contains(&c.key) {
                    keys.push(c.key.clone());
                }
            }
        }
    }
    for key in keys {
        let mut v = base.clone();
        let always = ALWAYS_PRESENT.contains(&key.to_ascii_lowercase().as_str());
        let existing = v.keys().find(|k| k.eq_ignore_ascii_case(&key)).cloned();
        match (always, existing) {
            (true, Some(k)) => {
                let flipped = match v[&k].first().map(String::as_str) {
                    Some("true") => "false",
                    Some("false") => "true",
                    _ => "policy-sim-other",
                };
                v.insert(k, vec![flipped.to_string()]);
            }
            (false, Some(k)) => {
                v.remove(&k);
            }
            (_, None) => {
                v.insert(key.clone(), vec!["policy-sim-other".to_string()]);
            }
        }
        out.push(v);
    }
    out
}

fn decide(
    set: &PolicySet,
    action: &str,
    resource: &str,
    ctx: &BTreeMap<String, Vec<String>>,
) -> Option<Decision> {
    let mut r = Request::new(action, resource).with_identity(IDENTITY);
    for (k, v) in ctx {
        if !k.eq_ignore_ascii_case(COGNITO_SUB) {
            r.context.set(k, v.clone());
        }
    }
    r.context.fill_time_defaults(jiff::Timestamp::now()).ok()?;
    set.evaluate(&r).ok().map(|e| e.decision)
}

fn confirm(
    new: &PolicySet,
    baseline: &PolicySet,
    st: StatementRef,
    action: &str,
    resource: &str,
) -> Result<NewAccess, String> {
    let s = new.statement(st);
    for ctx in contexts(s, baseline) {
        let n = decide(new, action, resource, &ctx);
        let b = decide(baseline, action, resource, &ctx);
        if n == Some(Decision::Allow)
            && let Some(b @ (Decision::ImplicitDeny | Decision::ExplicitDeny)) = b
        {
            return Ok(NewAccess {
                action: action.to_string(),
                resource: resource.to_string(),
                context: ctx,
                statement: st,
                baseline: b,
            });
        }
    }
    Err(format!(
        "{action} on {resource} may be new access, but no request context confirmed it"
    ))
}

/// Resources the new set's unconditional `Deny` statements certainly refuse for `action`.
fn new_denies(new: &PolicySet, action: &str) -> Vec<Glob> {
    let mut out = Vec::new();
    for p in new.policies() {
        let vars = p.version == Some(Version::V2012_10_17);
        for st in &p.statements {
            if st.effect == Effect::Deny && st.conditions.is_empty() && st.matches_action(action) {
                let (res, not) = resource_globs(st, vars);
                if not.is_empty() {
                    out.extend(res);
                }
            }
        }
    }
    out
}

/// Compare `new` with `baseline`.
pub fn no_new_access(new: &PolicySet, baseline: &PolicySet) -> DiffResult {
    let refs = |set: &PolicySet| -> Vec<StatementRef> {
        set.policies()
            .iter()
            .enumerate()
            .flat_map(|(p, pol)| {
                (0..pol.statements.len()).map(move |s| StatementRef {
                    policy: p,
                    statement: s,
                })
            })
            .collect()
    };
    let base_allows: Vec<&Statement> = refs(baseline)
        .into_iter()
        .map(|r| baseline.statement(r))
        .filter(|s| s.effect == Effect::Allow)
        .collect();
    let base_denies: Vec<&Statement> = refs(baseline)
        .into_iter()
        .map(|r| baseline.statement(r))
        .filter(|s| s.effect == Effect::Deny)
        .collect();
    if base_allows.len() > MAX_GROUP {
        return DiffResult::Unknown(format!(
            "the baseline has {} Allow statements; the comparison groups at most {MAX_GROUP}",
            base_allows.len()
        ));
    }
    let mut unknown: Vec<String> = Vec::new();
    for r in refs(new) {
        let s = new.statement(r);
        if s.effect != Effect::Allow {
            continue;
        }
        let vars = new.policy(r).version == Some(Version::V2012_10_17);
        let (s_res, s_res_not) = resource_globs(s, vars);
        // 1. Baseline groups that cover the action, and a resource they leave out.
        for mask in 0u32..(1 << base_allows.len()) {
            let with: Vec<&Statement> = (0..base_allows.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| base_allows[i])
                .collect();
            let without: Vec<&Statement> = (0..base_allows.len())
                .filter(|i| mask & (1 << i) == 0)
                .map(|i| base_allows[i])
                .collect();
            let Some(action) = find_action(s, &with, &without) else {
                continue;
            };
            for p in &s_res {
                let mut forbid = s_res_not.clone();
                forbid.extend(new_denies(new, &action));
                for t in &with {
                    if !conditions_implied(t, s) {
                        continue;
                    }
                    let tvars = true;
                    let (t_res, t_not) = resource_globs(t, tvars);
                    if t_not.is_empty() {
                        forbid.extend(t_res);
                    }
                }
                if let Some(bytes) = find_string(&[p.clone(), arn_shape()], &forbid, SEARCH_LIMIT)
                    && let Ok(resource) = String::from_utf8(bytes)
                {
                    match confirm(new, baseline, r, &action, &resource) {
                        Ok(found) => return DiffResult::NewAccess(found),
                        Err(e) => unknown.push(e),
                    }
                }
            }
        }
        // 2. Requests a baseline Deny refused.
        for d in &base_denies {
            let Some(action) = find_action(s, &[d], &[]) else {
                continue;
            };
            let (d_res, d_not) = resource_globs(d, true);
            for p in &s_res {
                for dg in &d_res {
                    let mut forbid = s_res_not.clone();
                    forbid.extend(d_not.iter().cloned());
                    forbid.extend(new_denies(new, &action));
                    if let Some(bytes) =
                        find_string(&[p.clone(), dg.clone(), arn_shape()], &forbid, SEARCH_LIMIT)
                        && let Ok(resource) = String::from_utf8(bytes)
                    {
                        match confirm(new, baseline, r, &action, &resource) {
                            Ok(found) => return DiffResult::NewAccess(found),
                            Err(e) => unknown.push(e),
                        }
                    }
                }
            }
        }
    }
    if unknown.is_empty() {
        DiffResult::NoNewAccess
    } else {
        unknown.dedup();
        DiffResult::Unknown(unknown.join("; "))
    }
}

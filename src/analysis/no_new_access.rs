//! No new access: does a new policy set allow a request that a baseline set denied?
//!
//! Decided on the patterns, like the prover, not by sampling. For every `Allow` statement
//! `S` of the new set:
//!
//! 1. Unless the baseline has the same statement, actions are partitioned by every baseline
//!    `Allow` and every unconditional new `Deny` ("covers it" or not, every combination);
//!    the automata look for an action in each non-empty cell that `S` covers (every
//!    pattern of every statement is tried), then for a resource of `S`'s pattern that none
//!    of the cell's new `Deny`s and none of its baseline `Allow`s that *certainly* apply
//!    covers. A baseline statement certainly applies when its conditions are among `S`'s
//!    own: otherwise a context can make it not apply (a removed condition is new access).
//! 2. For every baseline `Deny` the new set does not keep unchanged, partitioned the same
//!    way by the new unconditional `Deny`s: an action and a resource that both `S` and the
//!    `Deny` cover (a removed or shrunk `Deny` is new access).
//!
//! Each candidate is made concrete (policy variables take one value per key; the context
//! satisfies `S`'s conditions, with variants that switch the baseline's conditions off)
//! and checked with the evaluator on both sets. A confirmed candidate is new access. A
//! candidate no context confirms, or a search that passes its limits, makes the answer
//! `unknown`; no candidate at all means no new access.

use std::collections::BTreeMap;

use crate::analysis::prover::search::{Elem, Glob, StringSearch, search_string};
use crate::eval::{Decision, PolicySet, StatementRef};
use crate::lang::keys::{ALWAYS_PRESENT, COGNITO_SUB};
use crate::lang::model::{ActionSpec, Effect, ResourceSpec, Statement, Version};
use crate::lang::variables::{Piece, Syntax};
use crate::request::Request;

/// The identity used for `${cognito-identity.amazonaws.com:sub}` in comparisons. Like every
/// variable's value it starts with `~`, which no realistic pattern puts where a variable
/// goes, so a wildcard of the other policy (`private/us-east-1:*`) does not cover it by
/// chance.
pub const IDENTITY: &str = "~cognito-identity~";
/// Statements an action is partitioned by (baseline `Allow`s and the new set's
/// unconditional `Deny`s) beyond this many make the comparison say `unknown`.
const MAX_GROUP: usize = 12;
/// Feasibility checks one action search may make before giving up.
const ACTION_BUDGET: usize = 4_096;
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

/// The value policy variable `key_lower` takes in comparisons, the same on both sides:
/// distinct per key (so `${aws:userid}` and `${aws:PrincipalTag/team}` differ), and
/// starting with `~` (see [`IDENTITY`]).
pub fn variable_value(key_lower: &str) -> String {
    if key_lower == COGNITO_SUB {
        IDENTITY.to_string()
    } else {
        format!("~{key_lower}~")
    }
}

fn glob(text: &str, variables: bool, lowercase: bool) -> Option<Glob> {
    if text == "*" {
        return Some(Glob(vec![Elem::Star]));
    }
    let pieces = crate::lang::variables::parse_pieces(
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
                let value = variable_value(&v.key_lower);
                let value = if lowercase {
                    value.to_ascii_lowercase()
                } else {
                    value
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

/// What an action must satisfy with respect to one statement: match one of `choose` (when
/// given; an empty list cannot be met) and none of `forbid`.
struct ActionNeed {
    choose: Option<Vec<Glob>>,
    forbid: Vec<Glob>,
}

/// The action is covered by `st`.
fn covered(st: &Statement) -> ActionNeed {
    let (any, not) = action_globs(st);
    match st.action {
        ActionSpec::Action(_) => ActionNeed {
            choose: Some(any),
            forbid: Vec::new(),
        },
        ActionSpec::NotAction(_) => ActionNeed {
            choose: None,
            forbid: not,
        },
    }
}

/// The action is not covered by `st`.
fn not_covered(st: &Statement) -> ActionNeed {
    let (any, not) = action_globs(st);
    match st.action {
        ActionSpec::Action(_) => ActionNeed {
            choose: None,
            forbid: any,
        },
        ActionSpec::NotAction(_) => ActionNeed {
            choose: Some(not),
            forbid: Vec::new(),
        },
    }
}

/// The outcome of an action search.
enum ActionSearch {
    Found(String),
    Empty,
    TooLarge,
}

/// `service:name`: the shape of every real action.
fn action_shape() -> Glob {
    Glob(vec![
        Elem::AnyChar,
        Elem::Star,
        Elem::Byte(b':'),
        Elem::AnyChar,
        Elem::Star,
    ])
}

/// An action meeting every need, trying every combination of the choices (a statement
/// with several action patterns covers an action through any one of them).
fn find_action(needs: &[ActionNeed]) -> ActionSearch {
    let forbid: Vec<Glob> = needs
        .iter()
        .flat_map(|n| n.forbid.iter().cloned())
        .collect();
    let choices: Vec<&Vec<Glob>> = needs.iter().filter_map(|n| n.choose.as_ref()).collect();
    let mut budget = ACTION_BUDGET;
    let mut require = vec![action_shape()];
    choose_actions(&choices, &mut require, &forbid, &mut budget)
}

fn choose_actions(
    choices: &[&Vec<Glob>],
    require: &mut Vec<Glob>,
    forbid: &[Glob],
    budget: &mut usize,
) -> ActionSearch {
    if *budget == 0 {
        return ActionSearch::TooLarge;
    }
    *budget -= 1;
    match search_string(require, forbid, SEARCH_LIMIT) {
        StringSearch::Empty => return ActionSearch::Empty,
        StringSearch::TooLarge => return ActionSearch::TooLarge,
        StringSearch::Found(bytes) if choices.is_empty() => {
            return match String::from_utf8(bytes) {
                Ok(a) => ActionSearch::Found(a),
                // Globs of UTF-8 patterns accept only UTF-8; never reached.
                Err(_) => ActionSearch::TooLarge,
            };
        }
        StringSearch::Found(_) => {}
    }
    let mut too_large = false;
    for g in choices[0] {
        require.push(g.clone());
        let r = choose_actions(&choices[1..], require, forbid, budget);
        require.pop();
        match r {
            ActionSearch::Found(a) => return ActionSearch::Found(a),
            ActionSearch::TooLarge => too_large = true,
            ActionSearch::Empty => {}
        }
    }
    if too_large {
        ActionSearch::TooLarge
    } else {
        ActionSearch::Empty
    }
}

/// Documented actions (from the [`crate::catalog`]) that `s` (and `also`, when given)
/// covers, one per cell: keyed by which of `members` cover it (bit `i` for member `i`).
/// These are the witnesses a reader recognises (`s3:PutObject`, not `s3:3`); cells with no
/// documented action still go to the automata, so actions newer than the catalog are
/// not missed.
fn documented_witnesses(
    s: &Statement,
    also: Option<&Statement>,
    members: &[Stmt],
) -> std::collections::HashMap<u32, String> {
    let mut out = std::collections::HashMap::new();
    let mut name = String::new();
    for service in &crate::catalog::catalog().services {
        for a in &service.actions {
            name.clear();
            name.push_str(service.prefix);
            name.push(':');
            name.push_str(a.name);
            if !s.matches_action(&name) || also.is_some_and(|t| !t.matches_action(&name)) {
                continue;
            }
            let mask = members
                .iter()
                .enumerate()
                .filter(|(_, t)| t.st.matches_action(&name))
                .fold(0u32, |m, (i, _)| m | (1 << i));
            out.entry(mask).or_insert_with(|| name.clone());
        }
    }
    out
}

/// The action as a policy spells it, when it is one of the literal actions of `sts`
/// (`s3:GetObject`, not the `s3:getobject` the case-insensitive search finds).
fn spelled(action: String, sts: &[&Statement]) -> String {
    sts.iter()
        .flat_map(|t| match &t.action {
            ActionSpec::Action(p) | ActionSpec::NotAction(p) => p.iter().map(|p| p.source()),
        })
        .find(|src| src.eq_ignore_ascii_case(&action))
        .map_or(action, str::to_string)
}

/// Does `t` apply whenever `s` does, as far as conditions go (its conditions are among
/// `s`'s)?
/// Values with `${...}` read the same only when both policies read variables (or both
/// take them literally).
fn conditions_implied(t: &Statement, t_vars: bool, s: &Statement, s_vars: bool) -> bool {
    t.conditions.iter().all(|c| {
        s.conditions.iter().any(|d| {
            d.operator == c.operator
                && d.key_lower == c.key_lower
                && d.raw_values == c.raw_values
                && (t_vars == s_vars || !c.raw_values.iter().any(|v| v.contains("${")))
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
        if let Ok(pieces) = crate::lang::variables::parse_pieces(
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
    let mut base = crate::analysis::prover::plausible_context(s, IDENTITY);
    for key in vars_of(s) {
        if !key.eq_ignore_ascii_case(COGNITO_SUB) {
            let value = variable_value(&key.to_ascii_lowercase());
            base.entry(key).or_insert_with(|| vec![value]);
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

/// A statement with whether its policy reads policy variables (Version 2012-10-17).
#[derive(Clone, Copy)]
struct Stmt<'a> {
    st: &'a Statement,
    vars: bool,
}

impl Stmt<'_> {
    /// Equal keys mean the same statement to the evaluator.
    fn key(&self) -> String {
        format!("{}|{}", self.vars, crate::lint::statement_key(self.st))
    }
}

fn stmts(set: &PolicySet, effect: Effect) -> Vec<(StatementRef, Stmt<'_>)> {
    set.policies()
        .iter()
        .enumerate()
        .flat_map(|(p, pol)| {
            let vars = pol.version == Some(Version::V2012_10_17);
            pol.statements
                .iter()
                .enumerate()
                .filter(move |(_, st)| st.effect == effect)
                .map(move |(s, st)| {
                    (
                        StatementRef {
                            policy: p,
                            statement: s,
                        },
                        Stmt { st, vars },
                    )
                })
        })
        .collect()
}

/// An action of one cell of the partition: covered by every statement of `required`, and
/// by exactly the `members` whose bit is set in `mask`. A documented witness when the
/// cell has one, else what the automata find; spelled as the policy spells it. `None`
/// when the cell is empty, or the search gave up (recorded in `unknown`).
fn cell_action(
    required: &[&Statement],
    members: &[Stmt],
    mask: u32,
    documented: &std::collections::HashMap<u32, String>,
    unknown: &mut Vec<String>,
) -> Option<String> {
    if let Some(a) = documented.get(&mask) {
        return Some(spelled(a.clone(), required));
    }
    let mut needs: Vec<ActionNeed> = required.iter().map(|t| covered(t)).collect();
    for (i, t) in members.iter().enumerate() {
        needs.push(if mask & (1 << i) != 0 {
            covered(t.st)
        } else {
            not_covered(t.st)
        });
    }
    match find_action(&needs) {
        ActionSearch::Found(a) => Some(spelled(a, required)),
        ActionSearch::Empty => None,
        ActionSearch::TooLarge => {
            unknown.push("an action search was too large".to_string());
            None
        }
    }
}

/// Resources to leave out of a candidate search: those every statement of `certain`
/// refuses or grants for certain (their `Resource` patterns; statements with
/// `NotResource` are left out, an over-approximation of the candidates).
fn certain_resources(certain: &[Stmt]) -> Vec<Glob> {
    let mut out = Vec::new();
    for t in certain {
        let (res, not) = resource_globs(t.st, t.vars);
        if not.is_empty() {
            out.extend(res);
        }
    }
    out
}

/// Compare `new` with `baseline`: is there a request the new set allows and the baseline
/// does not? Sound for [`DiffResult::NoNewAccess`] (every candidate is searched
/// symbolically; see the module docs); each [`DiffResult::NewAccess`] is confirmed by the
/// evaluator on both sets.
pub fn no_new_access(new: &PolicySet, baseline: &PolicySet) -> DiffResult {
    let base_allows = stmts(baseline, Effect::Allow);
    let base_denies = stmts(baseline, Effect::Deny);
    let new_denies = stmts(new, Effect::Deny);
    let base_allow_keys: Vec<String> = base_allows.iter().map(|(_, t)| t.key()).collect();
    let new_deny_keys: Vec<String> = new_denies.iter().map(|(_, t)| t.key()).collect();
    // The new set's unconditional Denies: an action they cover is refused on their resources.
    let new_unconditional: Vec<Stmt> = new_denies
        .iter()
        .map(|(_, t)| *t)
        .filter(|t| t.st.conditions.is_empty())
        .collect();
    let mut unknown: Vec<String> = Vec::new();
    for (r, s) in stmts(new, Effect::Allow) {
        let (s_res, s_res_not) = resource_globs(s.st, s.vars);
        // 1. Requests `s` allows that no baseline Allow certainly covers. Skipped when the
        //    baseline has the very same statement: it applies whenever `s` does.
        if !base_allow_keys.contains(&s.key()) {
            let members: Vec<Stmt> = base_allows
                .iter()
                .map(|(_, t)| *t)
                .chain(new_unconditional.iter().copied())
                .collect();
            if members.len() > MAX_GROUP {
                unknown.push(format!(
                    "{} baseline Allow and new unconditional Deny statements; the comparison partitions actions by at most {MAX_GROUP}",
                    members.len()
                ));
            } else {
                let documented = documented_witnesses(s.st, None, &members);
                for mask in 0u32..(1 << members.len()) {
                    let inside = |i: usize| mask & (1 << i) != 0;
                    let Some(action) =
                        cell_action(&[s.st], &members, mask, &documented, &mut unknown)
                    else {
                        continue;
                    };
                    // Resources left out: the new Denies that cover the action, and the
                    // baseline Allows that cover it and certainly apply when `s` does.
                    let certain: Vec<Stmt> = members
                        .iter()
                        .enumerate()
                        .filter(|(i, t)| {
                            inside(*i)
                                && (t.st.effect == Effect::Deny
                                    || conditions_implied(t.st, t.vars, s.st, s.vars))
                        })
                        .map(|(_, t)| *t)
                        .collect();
                    let mut forbid = s_res_not.clone();
                    forbid.extend(certain_resources(&certain));
                    let requires = s_res.iter().map(|p| vec![p.clone(), arn_shape()]);
                    if let Some(found) =
                        search_resources(new, baseline, r, &action, requires, &forbid, &mut unknown)
                    {
                        return DiffResult::NewAccess(found);
                    }
                }
            }
        }
        // 2. Requests a baseline Deny refused, unless the new set keeps the same Deny.
        for (_, d) in &base_denies {
            if new_deny_keys.contains(&d.key()) {
                continue;
            }
            if new_unconditional.len() > MAX_GROUP {
                unknown.push(format!(
                    "{} new unconditional Deny statements; the comparison partitions actions by at most {MAX_GROUP}",
                    new_unconditional.len()
                ));
                break;
            }
            let (d_res, d_not) = resource_globs(d.st, d.vars);
            let documented = documented_witnesses(s.st, Some(d.st), &new_unconditional);
            for mask in 0u32..(1 << new_unconditional.len()) {
                let inside = |i: usize| mask & (1 << i) != 0;
                let Some(action) = cell_action(
                    &[s.st, d.st],
                    &new_unconditional,
                    mask,
                    &documented,
                    &mut unknown,
                ) else {
                    continue;
                };
                let certain: Vec<Stmt> = new_unconditional
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| inside(*i))
                    .map(|(_, t)| *t)
                    .collect();
                let mut forbid = s_res_not.clone();
                forbid.extend(d_not.iter().cloned());
                forbid.extend(certain_resources(&certain));
                let requires = s_res.iter().flat_map(|p| {
                    d_res
                        .iter()
                        .map(move |dg| vec![p.clone(), dg.clone(), arn_shape()])
                });
                if let Some(found) =
                    search_resources(new, baseline, r, &action, requires, &forbid, &mut unknown)
                {
                    return DiffResult::NewAccess(found);
                }
            }
        }
    }
    if unknown.is_empty() {
        DiffResult::NoNewAccess
    } else {
        unknown.sort();
        unknown.dedup();
        DiffResult::Unknown(unknown.join("; "))
    }
}

/// Globs of the documented ARN formats of `action`, with example values for the partition
/// (`aws`), region (`us-east-1`) and account (`123456789012`) and one or more characters
/// for every other placeholder.
fn documented_arn_shapes(action: &str) -> Vec<Glob> {
    let Some((service, a)) = crate::catalog::catalog().action(action) else {
        return Vec::new();
    };
    a.resource_types()
        .filter_map(|(name, _)| service.resource_type(name))
        .map(|t| {
            let mut out = Vec::new();
            let mut rest = t.arn;
            while !rest.is_empty() {
                if let Some(after) = rest.strip_prefix("${")
                    && let Some(end) = after.find('}')
                {
                    match &after[..end] {
                        "Partition" => out.extend(b"aws".iter().map(|b| Elem::Byte(*b))),
                        "Region" => out.extend(b"us-east-1".iter().map(|b| Elem::Byte(*b))),
                        "Account" => out.extend(b"123456789012".iter().map(|b| Elem::Byte(*b))),
                        _ => out.extend([Elem::AnyChar, Elem::Star]),
                    }
                    rest = &after[end + 1..];
                    continue;
                }
                let c = rest.chars().next().expect("rest is not empty");
                out.extend(c.to_string().bytes().map(Elem::Byte));
                rest = &rest[c.len_utf8()..];
            }
            Glob(out)
        })
        .collect()
}

/// Search each `require` list for a resource outside `forbid`, and confirm it with the
/// evaluator: the first confirmed request, else `None` (recording in `unknown` searches
/// that gave up and candidates no context confirmed).
fn search_resources(
    new: &PolicySet,
    baseline: &PolicySet,
    r: StatementRef,
    action: &str,
    requires: impl Iterator<Item = Vec<Glob>>,
    forbid: &[Glob],
    unknown: &mut Vec<String>,
) -> Option<NewAccess> {
    let shapes = documented_arn_shapes(action);
    for require in requires {
        // A resource of one of the action's documented ARN formats reads best; it is only a
        // preference: when none is found, any resource is searched for.
        for shape in &shapes {
            let mut preferred = require.clone();
            preferred.push(shape.clone());
            if let StringSearch::Found(bytes) = search_string(&preferred, forbid, SEARCH_LIMIT)
                && let Ok(resource) = String::from_utf8(bytes)
                && let Ok(found) = confirm(new, baseline, r, action, &resource)
            {
                return Some(found);
            }
        }
        match search_string(&require, forbid, SEARCH_LIMIT) {
            StringSearch::Empty => {}
            StringSearch::TooLarge => {
                unknown.push(format!("the resource search for {action} was too large"))
            }
            StringSearch::Found(bytes) => {
                let Ok(resource) = String::from_utf8(bytes) else {
                    unknown.push(format!("a resource candidate for {action} is not UTF-8"));
                    continue;
                };
                match confirm(new, baseline, r, action, &resource) {
                    Ok(found) => return Some(found),
                    Err(e) => unknown.push(e),
                }
            }
        }
    }
    None
}

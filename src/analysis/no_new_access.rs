//! No new access: does a new policy set allow a request that a baseline set denied?
//!
//! Decided on the patterns, like the prover, not by sampling: action and resource patterns
//! become globs through the one translator ([`crate::analysis::translate`]), exactly as the
//! evaluator matches them (a `*` in a region stays in the region), with every policy
//! variable at one value per key ([`variable_value`]). For every `Allow` statement `S` of
//! the new set:
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
//!
//! One value per variable finds candidates, but a variable takes every value
//! (`b/${aws:username}` is `b/admin` for the user `admin`), so where a search reads a
//! variable and finds nothing at that value, the empty answer must also be shown for every
//! value (`Comparison::for_every_value`): the patterns that read variables line up (the
//! same text and variables through the last variable, in the resource part, and what
//! follows leaves nothing), or a search with every variable reading anything (the
//! excluding patterns that read variables left out, which only adds candidates) finds
//! nothing. A resource that search finds is confirmed with the variable's value read off
//! it (one variable, not the identity); otherwise the answer is `unknown`.
//!
//! The identity (`${cognito-identity.amazonaws.com:sub}`) ranges over the identity
//! format's values: where the patterns of one search read the identity and no other
//! variable, the translator reads it as the slot ([`Reading::Identity`]) and
//! [`search_identity`] looks for one identity and one resource together, every pattern
//! reading that identity (`Comparison::for_every_identity`). Nothing found is a proof
//! for every identity; a candidate is confirmed with the identity read off it. Where the
//! identity meets another variable, it takes the one value [`IDENTITY`] as above, and
//! for every value is not shown: `unknown` unless new access is confirmed.
//!
//! A request may also lack a variable's key: the variable is then its default
//! (`${key, 'default'}`), or its pattern matches nothing. The whole comparison is run once
//! per combination of absent keys ([`no_new_access`]), the translator reading those
//! variables as absent ([`Reading::Absent`]); an example's context lacks those keys, and
//! holds the identity when the request has one.

use std::collections::HashMap;

use crate::analysis::actions::{
    ActionNeed, ActionSearch, SEARCH_LIMIT, covered, find_action, not_covered,
};
use crate::analysis::confirm::{ContextMap, plausible_context};
use crate::analysis::glob::{Class, Elem, Glob};
use crate::analysis::identity::IdentityFormat;
use crate::analysis::search::{IdentitySearch, Span, StringSearch, search_identity, search_string};
use crate::analysis::translate::{
    FormatFill, Reading, Variables, arn_glob, format_glob, is_identity,
};
use crate::eval::authorize::{Level, Policies, TypedRef};
use crate::eval::{Decision, PolicySet, StatementRef};
use crate::lang::arn::ArnPattern;
use crate::lang::condition::Value;
use crate::lang::keys::{ALWAYS_PRESENT, COGNITO_SUB};
use crate::lang::model::{ActionSpec, Effect, ResourceSpec, Statement};
use crate::lang::principal::{Caller, Grant};
use crate::lang::variables::{Piece, Variable};
use crate::lang::wildcard::Pattern;

/// The identity used for `${cognito-identity.amazonaws.com:sub}` in comparisons where it
/// meets another variable (elsewhere it ranges over the identity format). Like every
/// variable's value it starts with `~`, which no realistic pattern puts where a variable
/// goes, so a wildcard of the other policy (`private/us-east-1:*`) does not cover it by
/// chance.
pub const IDENTITY: &str = "~cognito-identity~";
/// Statements an action is partitioned by (baseline `Allow`s and the new set's
/// unconditional `Deny`s) beyond this many make the comparison say `unknown`.
const MAX_GROUP: usize = 12;

/// A request the new set allows and the baseline denies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccess {
    /// The action.
    pub action: String,
    /// The resource.
    pub resource: String,
    /// The request context.
    pub context: ContextMap,
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

/// The keys (lowercase) of the policy variables of `p`.
fn pattern_keys(p: &ArnPattern) -> Vec<String> {
    match p {
        ArnPattern::Any(_) => Vec::new(),
        ArnPattern::Arn { parts, .. } => parts
            .iter()
            .flat_map(|part| part.pieces())
            .filter_map(|piece| match piece {
                Piece::Variable(v) => Some(v.key_lower.to_string()),
                Piece::Literal(_) | Piece::Star | Piece::AnyChar => None,
            })
            .collect(),
    }
}

/// The keys (lowercase) of the policy variables in the resource part of `p`.
fn resource_part_keys(p: &ArnPattern) -> impl Iterator<Item = &str> + '_ {
    let parts = match p {
        ArnPattern::Any(_) => &[][..],
        ArnPattern::Arn { parts, .. } => parts.get(4..).unwrap_or_default(),
    };
    parts
        .iter()
        .flat_map(|part| part.pieces())
        .filter_map(|piece| match piece {
            Piece::Variable(v) => Some(&*v.key_lower),
            Piece::Literal(_) | Piece::Star | Piece::AnyChar => None,
        })
}

/// A resource pattern as the comparison reads it.
#[derive(Clone)]
struct Res<'a> {
    /// Its glob, policy variables at their comparison values ([`variable_value`]).
    fixed: Glob,
    /// The pattern, when it reads policy variables: then `fixed` is exact only for
    /// requests whose context has those values.
    vars: Option<&'a ArnPattern>,
    /// Whether the requests lack some of those variables' keys.
    absent: bool,
    /// The glob with the identity as the slot and every other variable at its comparison
    /// value, when the pattern reads the identity and the requests have one.
    tracked: Option<Glob>,
    /// Whether `tracked` matches exactly what the pattern matches for the identity its
    /// slot reads: the identity occurs once, in the resource part.
    tracked_exact: bool,
    /// Whether the pattern reads a variable other than the identity whose key the
    /// requests have.
    other_vars: bool,
}

impl<'a> Res<'a> {
    /// A glob without policy variables.
    fn plain(glob: Glob) -> Res<'a> {
        Res {
            fixed: glob,
            vars: None,
            absent: false,
            tracked: None,
            tracked_exact: false,
            other_vars: false,
        }
    }

    /// The pattern with the keys of `absent` (lowercase) missing from the request and
    /// every other variable at its comparison value.
    fn of(p: &'a ArnPattern, absent: &[String]) -> Res<'a> {
        let value = |v: &Variable| {
            if absent.iter().any(|k| **k == *v.key_lower) {
                Reading::Absent
            } else {
                Reading::Value(variable_value(&v.key_lower))
            }
        };
        let keys = pattern_keys(p);
        let present = |k: &&String| !absent.contains(k);
        let identity = keys.iter().filter(present).filter(|k| *k == COGNITO_SUB);
        let tracked = |v: &Variable| match value(v) {
            Reading::Value(_) if is_identity(v) => Reading::Identity,
            reading @ (Reading::Value(_) | Reading::Absent | Reading::Any | Reading::Identity) => {
                reading
            }
        };
        let tracked =
            (identity.clone().count() > 0).then(|| arn_glob(p, &Variables::Fixed(&tracked)));
        Res {
            fixed: arn_glob(p, &Variables::Fixed(&value)),
            // A pattern whose variables' keys are all absent reads no value: `fixed` is
            // exact for it.
            vars: keys.iter().any(|k| !absent.contains(k)).then_some(p),
            absent: keys.iter().any(|k| absent.contains(k)),
            tracked_exact: tracked.is_some()
                && identity.count() == 1
                && resource_part_keys(p).any(|k| k == COGNITO_SUB),
            tracked,
            other_vars: keys.iter().filter(present).any(|k| k != COGNITO_SUB),
        }
    }

    /// The glob with every variable reading anything, but those whose keys the requests
    /// lack (`absent`, lowercase): what the pattern matches for some value of its
    /// variables.
    fn widened(&self, absent: &[String]) -> Glob {
        let reading = |v: &Variable| {
            if absent.iter().any(|k| **k == *v.key_lower) {
                Reading::Absent
            } else {
                Reading::Any
            }
        };
        self.vars.map_or_else(
            || self.fixed.clone(),
            |p| arn_glob(p, &Variables::Fixed(&reading)),
        )
    }
}

/// One token of the head of a pattern (see [`head_and_tail`]).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Text(String),
    Var(Variable),
}

/// A pattern whose variables all sit in the resource part, with no wildcard before the
/// last of them, split into its head (the text and variables through the last variable)
/// and the glob of the rest (which reads no variable). For every value of the variables
/// the pattern matches the head's text followed by a match of the tail.
fn head_and_tail(res: &Res) -> Option<(Vec<Tok>, Glob)> {
    let Some(ArnPattern::Arn { parts, .. }) = res.vars else {
        return None;
    };
    // A variable whose key the requests lack is not at its comparison value in `fixed`.
    if res.absent {
        return None;
    }
    let is_var = |piece: &Piece| matches!(piece, Piece::Variable(_));
    let last = parts
        .iter()
        .enumerate()
        .flat_map(|(i, p)| p.pieces().iter().rposition(is_var).map(|j| (i, j)))
        .next_back()?;
    let mut head = vec![Tok::Text("arn:".to_string())];
    let mut len = "arn:".len();
    let mut text = |head: &mut Vec<Tok>, t: &str| {
        len += t.len();
        match head.last_mut() {
            Some(Tok::Text(prev)) => prev.push_str(t),
            Some(Tok::Var(_)) | None => head.push(Tok::Text(t.to_string())),
        }
    };
    for (i, part) in parts.iter().enumerate().take(last.0 + 1) {
        if i > 0 {
            text(&mut head, ":");
        }
        let pieces = part.pieces();
        let end = if i == last.0 {
            last.1 + 1
        } else {
            pieces.len()
        };
        for piece in &pieces[..end] {
            match piece {
                Piece::Literal(l) => text(&mut head, l),
                // A variable in the partition, service, region or account: its value's
                // colons change how the ARN splits.
                Piece::Variable(_) if i < 4 => return None,
                Piece::Variable(v) => {
                    text(&mut head, "");
                    head.push(Tok::Var(v.clone()));
                }
                Piece::Star | Piece::AnyChar => return None,
            }
        }
    }
    // The variables' comparison values are in `fixed` too.
    let len = len
        + head
            .iter()
            .map(|t| match t {
                Tok::Var(v) => variable_value(&v.key_lower).len(),
                Tok::Text(_) => 0,
            })
            .sum::<usize>();
    let elems = &res.fixed.0;
    (elems.len() >= len && elems[..len].iter().all(|e| matches!(e, Elem::Byte(_))))
        .then(|| (head, Glob(elems[len..].to_vec())))
}

/// Is there, for certain, no resource that matches every glob of `require` and none of
/// `forbid` for any value of the policy variables? Shown when every pattern of `require`
/// that reads variables has the same head (see [`head_and_tail`]): for each value the
/// head is one text, so it suffices that the tails of those patterns leave nothing
/// outside the tails of the `forbid` patterns with that head (the other globs are left
/// out, which only adds candidates).
fn aligned_tails_empty(require: &[Res], forbid: &[Res]) -> bool {
    let mut head = None;
    let mut tails = Vec::new();
    for r in require.iter().filter(|r| r.vars.is_some()) {
        let Some((h, t)) = head_and_tail(r) else {
            return false;
        };
        if *head.get_or_insert_with(|| h.clone()) != h {
            return false;
        }
        tails.push(t);
    }
    let Some(head) = head else {
        return false;
    };
    let forbid: Vec<Glob> = forbid
        .iter()
        .filter_map(head_and_tail)
        .filter(|(h, _)| *h == head)
        .map(|(_, t)| t)
        .collect();
    search_string(&tails, &forbid, SEARCH_LIMIT) == StringSearch::Empty
}

/// The value of the one policy variable the patterns of `require` read under which they
/// all match `resource`, as a context entry; `None` when they read several variables (or
/// the identity, which is the request's own), or no value fits.
fn derive_values(require: &[Res], resource: &str) -> Option<ContextMap> {
    let mut keys: Vec<&Variable> = Vec::new();
    for p in require.iter().filter_map(|r| r.vars) {
        if let ArnPattern::Arn { parts, .. } = p {
            for piece in parts.iter().flat_map(|part| part.pieces()) {
                if let Piece::Variable(v) = piece
                    && !keys.iter().any(|k| k.key_lower == v.key_lower)
                {
                    keys.push(v);
                }
            }
        }
    }
    let [key] = keys[..] else {
        return None;
    };
    if &*key.key_lower == COGNITO_SUB {
        return None;
    }
    let bounds: Vec<usize> = resource
        .char_indices()
        .map(|(i, _)| i)
        .chain([resource.len()])
        .collect();
    for (a, &start) in bounds.iter().enumerate() {
        for &end in &bounds[a..] {
            let value = &resource[start..end];
            let fixed = |_: &Variable| Reading::Value(value.to_string());
            if require
                .iter()
                .filter_map(|r| r.vars)
                .all(|p| arn_glob(p, &Variables::Fixed(&fixed)).matches(resource.as_bytes()))
            {
                return Some(ContextMap::from([(
                    key.key.to_string(),
                    vec![value.to_string()],
                )]));
            }
        }
    }
    None
}

/// `arn:?*:?*:*:*:*`: a resource found for a comparison must be an ARN.
fn arn_shape() -> Glob {
    let (one, any) = (Elem::AnyChar(Class::All), Elem::Star(Class::All));
    let mut g = Glob::literal("arn:");
    g.0.extend([one, any, Elem::Byte(b':'), one, any]);
    for _ in 0..3 {
        g.0.extend([Elem::Byte(b':'), any]);
    }
    g
}

/// (globs a resource must match one of, globs it must match none of), for a statement's
/// resources.
fn resource_globs<'a>(st: &'a Statement, absent: &[String]) -> (Vec<Res<'a>>, Vec<Res<'a>>) {
    let of = |p| Res::of(p, absent);
    match &st.resource {
        Some(ResourceSpec::Resource(ps)) => (ps.iter().map(of).collect(), Vec::new()),
        Some(ResourceSpec::NotResource(ps)) => (
            vec![Res::plain(Glob::everything())],
            ps.iter().map(of).collect(),
        ),
        None => (vec![Res::plain(Glob::everything())], Vec::new()),
    }
}

/// Documented actions (from the [`crate::catalog`]) that every statement of `required`
/// covers, one per cell: keyed by which of `members` cover it (bit `i` for member `i`).
/// These are the witnesses a reader recognises (`s3:PutObject`, not `s3:3`); cells with no
/// documented action still go to the automata, so actions newer than the catalog are
/// not missed.
fn documented_witnesses(required: &[&Statement], members: &[Stmt]) -> HashMap<u32, String> {
    let mut out = HashMap::new();
    let mut name = String::new();
    for service in &crate::catalog::catalog().services {
        for a in &service.actions {
            name.clear();
            name.push_str(service.prefix);
            name.push(':');
            name.push_str(a.name);
            if !required.iter().all(|t| t.matches_action(&name)) {
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

/// The keys of the policy variables `st` reads (as first written), in its resources and
/// its condition values.
fn variable_keys(st: &Statement) -> Vec<String> {
    fn arn_parts(p: &ArnPattern) -> &[Pattern] {
        match p {
            ArnPattern::Any(_) => &[],
            ArnPattern::Arn { parts, .. } => parts,
        }
    }
    let resources: Vec<&Pattern> = match &st.resource {
        Some(ResourceSpec::Resource(ps) | ResourceSpec::NotResource(ps)) => {
            ps.iter().flat_map(arn_parts).collect()
        }
        None => Vec::new(),
    };
    let values = st
        .conditions
        .iter()
        .flat_map(|c| &c.values)
        .flat_map(|v| match v {
            Value::Text(p) | Value::BoolVariable(p) => std::slice::from_ref(p),
            Value::Arn(a) => arn_parts(a),
            Value::Number(_)
            | Value::Date(_)
            | Value::Bool(_)
            | Value::Binary(_)
            | Value::Ip(_)
            | Value::Null(_) => &[],
        });
    let mut out: Vec<String> = Vec::new();
    for piece in resources.into_iter().chain(values).flat_map(|p| p.pieces()) {
        if let Piece::Variable(v) = piece
            && !out.iter().any(|k| **k == *v.key)
        {
            out.push(v.key.to_string());
        }
    }
    out
}

/// Contexts to try: one under which `s`'s conditions plausibly hold, and variants that
/// switch off each baseline condition key.
fn contexts(s: &Statement, baseline: &PolicySet) -> Vec<ContextMap> {
    let mut base = plausible_context(s, IDENTITY);
    for key in variable_keys(s) {
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

/// The evaluator's decision on the request for `action` on `resource` whose context is
/// `ctx`, the identity included (as its key); `None` when it cannot be built.
fn decide_request(
    set: &PolicySet,
    (action, resource): (&str, &str),
    ctx: &ContextMap,
    now: jiff::Timestamp,
) -> Option<Decision> {
    let mut r = crate::request::Request::new(action, resource);
    for (k, v) in ctx {
        r.context.set(k, v.clone());
    }
    r.context.fill_time_defaults(now).ok()?;
    set.evaluate(&r).ok().map(|e| e.decision)
}

/// Confirm a candidate with the evaluator on both sets, under the [`contexts`] of the new
/// statement with the policy variable values `values` set and the keys of `absent`
/// (lowercase) left out of the request (the identity too, when it is one of them).
fn confirm(
    (new, baseline): (&PolicySet, &PolicySet),
    st: StatementRef,
    (action, resource): (&str, &str),
    (values, absent): (&ContextMap, &[String]),
    now: jiff::Timestamp,
) -> Result<NewAccess, String> {
    let s = new.statement(st);
    for mut ctx in contexts(s, baseline) {
        ctx.insert(COGNITO_SUB.to_string(), vec![IDENTITY.to_string()]);
        for (key, value) in values {
            ctx.retain(|k, _| !k.eq_ignore_ascii_case(key));
            ctx.insert(key.clone(), value.clone());
        }
        ctx.retain(|k, _| !absent.contains(&k.to_ascii_lowercase()));
        let n = decide_request(new, (action, resource), &ctx, now);
        let b = decide_request(baseline, (action, resource), &ctx, now);
        if n == Some(Decision::Allow)
            && let Some(b @ (Decision::ImplicitDeny | Decision::ExplicitDeny)) = b
        {
            let found = NewAccess {
                action: action.to_string(),
                resource: resource.to_string(),
                context: ctx,
                statement: st,
                baseline: b,
            };
            return Ok(readable(found, (new, baseline), now));
        }
    }
    Err(format!(
        "{action} on {resource} may be new access, but no request context confirmed it"
    ))
}

/// `found` with the comparison's identity value ([`IDENTITY`]) replaced by a realistic
/// Cognito id in its resource and context, when the evaluator still decides the same on
/// both sets; else `found` as it is.
fn readable(
    found: NewAccess,
    (new, baseline): (&PolicySet, &PolicySet),
    now: jiff::Timestamp,
) -> NewAccess {
    let real = crate::analysis::identity::COGNITO_EXAMPLES[0];
    let holds_identity = found.resource.contains(IDENTITY)
        || found
            .context
            .values()
            .flatten()
            .any(|v| v.contains(IDENTITY));
    if !holds_identity {
        return found;
    }
    let resource = found.resource.replace(IDENTITY, real);
    let context: ContextMap = found
        .context
        .iter()
        .map(|(k, vs)| {
            (
                k.clone(),
                vs.iter().map(|v| v.replace(IDENTITY, real)).collect(),
            )
        })
        .collect();
    let request = (found.action.as_str(), resource.as_str());
    let same = decide_request(new, request, &context, now) == Some(Decision::Allow)
        && decide_request(baseline, request, &context, now) == Some(found.baseline);
    if same {
        NewAccess {
            resource,
            context,
            ..found
        }
    } else {
        found
    }
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
        format!("{}|{}", self.vars, self.st.key())
    }
}

fn stmts(set: &PolicySet, effect: Effect) -> Vec<(StatementRef, Stmt<'_>)> {
    set.policies()
        .iter()
        .enumerate()
        .flat_map(|(p, pol)| {
            let vars = pol.has_variables_enabled();
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
    documented: &HashMap<u32, String>,
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
fn certain_resources<'a>(certain: &[Stmt<'a>], absent: &[String]) -> Vec<Res<'a>> {
    let mut out = Vec::new();
    for t in certain {
        let (res, not) = resource_globs(t.st, absent);
        if not.is_empty() {
            out.extend(res);
        }
    }
    out
}

/// One comparison: the two sets, their statements by kind, and what could not be decided.
struct Comparison<'a> {
    /// The time of the confirming requests.
    now: jiff::Timestamp,
    new: &'a PolicySet,
    baseline: &'a PolicySet,
    base_allows: Vec<(StatementRef, Stmt<'a>)>,
    base_denies: Vec<(StatementRef, Stmt<'a>)>,
    new_deny_keys: Vec<String>,
    /// The new set's unconditional Denies: an action they cover is refused on their
    /// resources.
    new_unconditional: Vec<Stmt<'a>>,
    /// The policy variable keys (lowercase) the requests compared lack.
    absent: Vec<String>,
    /// The identities `${cognito-identity.amazonaws.com:sub}` ranges over.
    format: &'a IdentityFormat,
    unknown: Vec<String>,
}

impl<'a> Comparison<'a> {
    fn new(
        (new, baseline): (&'a PolicySet, &'a PolicySet),
        format: &'a IdentityFormat,
        now: jiff::Timestamp,
    ) -> Comparison<'a> {
        let new_denies = stmts(new, Effect::Deny);
        Comparison {
            now,
            format,
            absent: Vec::new(),
            new,
            baseline,
            base_allows: stmts(baseline, Effect::Allow),
            base_denies: stmts(baseline, Effect::Deny),
            new_deny_keys: new_denies.iter().map(|(_, t)| t.key()).collect(),
            new_unconditional: new_denies
                .iter()
                .map(|(_, t)| *t)
                .filter(|t| t.st.conditions.is_empty())
                .collect(),
            unknown: Vec::new(),
        }
    }

    /// Step 1: requests the new `Allow` `s` grants that no baseline `Allow` certainly
    /// covers. Skipped when the baseline has the very same statement: it applies whenever
    /// `s` does.
    fn beyond_baseline_allows(&mut self, r: StatementRef, s: Stmt<'a>) -> Option<NewAccess> {
        if self.base_allows.iter().any(|(_, t)| t.key() == s.key()) {
            return None;
        }
        let members: Vec<Stmt> = self
            .base_allows
            .iter()
            .map(|(_, t)| *t)
            .chain(self.new_unconditional.iter().copied())
            .collect();
        if members.len() > MAX_GROUP {
            self.unknown.push(format!(
                "{} baseline Allow and new unconditional Deny statements; the comparison partitions actions by at most {MAX_GROUP}",
                members.len()
            ));
            return None;
        }
        let (s_res, s_res_not) = resource_globs(s.st, &self.absent);
        let requires: Vec<Vec<Res>> = s_res
            .iter()
            .map(|p| vec![p.clone(), Res::plain(arn_shape())])
            .collect();
        // Resources left out: the new Denies that cover the action, and the baseline
        // Allows that cover it and certainly apply when `s` does.
        let certain = |t: &Stmt| {
            t.st.effect == Effect::Deny || conditions_implied(t.st, t.vars, s.st, s.vars)
        };
        self.search_cells(r, &[s.st], &members, &certain, &requires, &s_res_not)
    }

    /// Step 2: requests the baseline `Deny` `d` refused that the new `Allow` `s` reaches,
    /// unless the new set keeps the same `Deny`.
    fn past_removed_deny(
        &mut self,
        r: StatementRef,
        s: Stmt<'a>,
        d: Stmt<'a>,
    ) -> Option<NewAccess> {
        if self.new_deny_keys.contains(&d.key()) {
            return None;
        }
        let members = self.new_unconditional.clone();
        if members.len() > MAX_GROUP {
            self.unknown.push(format!(
                "{} new unconditional Deny statements; the comparison partitions actions by at most {MAX_GROUP}",
                members.len()
            ));
            return None;
        }
        let (s_res, mut forbid) = resource_globs(s.st, &self.absent);
        let (d_res, d_not) = resource_globs(d.st, &self.absent);
        forbid.extend(d_not);
        let requires: Vec<Vec<Res>> = s_res
            .iter()
            .flat_map(|p| {
                d_res
                    .iter()
                    .map(move |dg| vec![p.clone(), dg.clone(), Res::plain(arn_shape())])
            })
            .collect();
        self.search_cells(r, &[s.st, d.st], &members, &|_| true, &requires, &forbid)
    }

    /// For each cell of the partition of the actions every `required` statement covers by
    /// `members` (covers it or not, every combination), an action of the cell; then a
    /// resource that matches one of `requires` and none of `forbid`, nor the `Resource`
    /// patterns of the cell's members that cover the action and are `certain` to apply.
    fn search_cells(
        &mut self,
        r: StatementRef,
        required: &[&Statement],
        members: &[Stmt<'a>],
        certain: &dyn Fn(&Stmt) -> bool,
        requires: &[Vec<Res<'a>>],
        forbid: &[Res<'a>],
    ) -> Option<NewAccess> {
        let documented = documented_witnesses(required, members);
        for mask in 0u32..(1 << members.len()) {
            let Some(action) = cell_action(required, members, mask, &documented, &mut self.unknown)
            else {
                continue;
            };
            let certain: Vec<Stmt<'a>> = members
                .iter()
                .enumerate()
                .filter(|(i, t)| mask & (1 << i) != 0 && certain(t))
                .map(|(_, t)| *t)
                .collect();
            let mut forbid = forbid.to_vec();
            forbid.extend(certain_resources(&certain, &self.absent));
            if let Some(found) =
                self.search_resources(r, &action, requires.iter().cloned(), &forbid)
            {
                return Some(found);
            }
        }
        None
    }

    /// Search each `require` list for a resource outside `forbid`, and confirm it with the
    /// evaluator: the first confirmed request, else `None` (recording in `unknown` searches
    /// that gave up and candidates no context confirmed). Where policy variables are
    /// involved, "none" is only trusted once [`Comparison::for_every_value`] shows it.
    fn search_resources(
        &mut self,
        r: StatementRef,
        action: &str,
        requires: impl Iterator<Item = Vec<Res<'a>>>,
        forbid: &[Res<'a>],
    ) -> Option<NewAccess> {
        let sets = (self.new, self.baseline);
        let shapes = documented_arn_shapes(action);
        let none = ContextMap::new();
        let forbid_res = forbid;
        let forbid_globs: Vec<Glob> = forbid.iter().map(|f| f.fixed.clone()).collect();
        let forbid_vars = forbid.iter().any(|f| f.vars.is_some());
        for require_res in requires {
            let reads = require_res.iter().chain(forbid_res);
            if reads.clone().any(|g| g.tracked.is_some()) && !reads.clone().any(|g| g.other_vars) {
                let found = self.for_every_identity(r, action, &require_res, forbid_res, &shapes);
                if found.is_some() {
                    return found;
                }
                continue;
            }
            let require: Vec<Glob> = require_res.iter().map(|g| g.fixed.clone()).collect();
            let forbid = &forbid_globs[..];
            // A resource of one of the action's documented ARN formats reads best; it is only a
            // preference: when none is found, any resource is searched for.
            for shape in &shapes {
                let mut preferred = require.clone();
                preferred.push(shape.clone());
                if let StringSearch::Found(bytes) = search_string(&preferred, forbid, SEARCH_LIMIT)
                    && let Ok(resource) = String::from_utf8(bytes)
                    && let Ok(found) = confirm(
                        sets,
                        r,
                        (action, &resource),
                        (&none, &self.absent),
                        self.now,
                    )
                {
                    return Some(found);
                }
            }
            match search_string(&require, forbid, SEARCH_LIMIT) {
                StringSearch::Empty => {
                    if forbid_vars || require_res.iter().any(|g| g.vars.is_some()) {
                        let found = self.for_every_value(r, action, &require_res, forbid_res);
                        if found.is_some() {
                            return found;
                        }
                    }
                }
                StringSearch::TooLarge => self
                    .unknown
                    .push(format!("the resource search for {action} was too large")),
                StringSearch::Found(bytes) => {
                    let Ok(resource) = String::from_utf8(bytes) else {
                        self.unknown
                            .push(format!("a resource candidate for {action} is not UTF-8"));
                        continue;
                    };
                    match confirm(
                        sets,
                        r,
                        (action, &resource),
                        (&none, &self.absent),
                        self.now,
                    ) {
                        Ok(found) => return Some(found),
                        Err(e) => self.unknown.push(e),
                    }
                }
            }
        }
        None
    }

    /// A resource that matches every pattern of `require` and none of `forbid` for some
    /// identity of the format, the identity a free string in the automata
    /// ([`search_identity`]; the patterns read no other variable), confirmed with that
    /// identity; a resource of one of the action's documented ARN `shapes` first.
    /// Nothing found is a proof for every identity; a candidate no request confirms, or a
    /// search too large, is recorded as unknown.
    fn for_every_identity(
        &mut self,
        r: StatementRef,
        action: &str,
        require: &[Res<'a>],
        forbid: &[Res<'a>],
        shapes: &[Glob],
    ) -> Option<NewAccess> {
        let require: Vec<Glob> = require
            .iter()
            .map(|g| g.tracked.clone().unwrap_or_else(|| g.fixed.clone()))
            .collect();
        // A pattern that reads the identity more than once, or outside the resource part,
        // is left out of `forbid`: only more candidates.
        let forbid: Vec<Glob> = forbid
            .iter()
            .filter_map(|g| match &g.tracked {
                Some(t) => g.tracked_exact.then(|| t.clone()),
                None => Some(g.fixed.clone()),
            })
            .collect();
        for shape in shapes {
            let mut preferred = require.clone();
            preferred.push(shape.clone());
            if let IdentitySearch::Found { resource, identity } =
                search_identity(&preferred, &forbid, self.format, SEARCH_LIMIT)
                && let Ok(found) = self.confirm_identity(r, action, &resource, identity)
            {
                return Some(found);
            }
        }
        match search_identity(&require, &forbid, self.format, SEARCH_LIMIT) {
            IdentitySearch::Empty => None,
            IdentitySearch::TooLarge => {
                self.unknown.push(format!(
                    "the resource search for {action} over every identity was too large"
                ));
                None
            }
            IdentitySearch::Found { resource, identity } => {
                match self.confirm_identity(r, action, &resource, identity) {
                    Ok(found) => Some(found),
                    Err(e) => {
                        self.unknown.push(e);
                        None
                    }
                }
            }
        }
    }

    /// Confirm a candidate of [`Comparison::for_every_identity`] with the identity at
    /// `identity` in the resource, or (when it does not occur there) the format's
    /// examples.
    fn confirm_identity(
        &self,
        r: StatementRef,
        action: &str,
        resource: &[u8],
        identity: Option<Span>,
    ) -> Result<NewAccess, String> {
        let Ok(resource) = String::from_utf8(resource.to_vec()) else {
            return Err(format!("a resource candidate for {action} is not UTF-8"));
        };
        let identities: Vec<String> = match identity {
            Some(span) => resource
                .get(span.start..span.end)
                .map(str::to_string)
                .into_iter()
                .collect(),
            None => {
                let first = self.format.example();
                let second = first
                    .as_deref()
                    .and_then(|f| self.format.example_except(&[f]));
                first.into_iter().chain(second).collect()
            }
        };
        for id in identities {
            let values = ContextMap::from([(COGNITO_SUB.to_string(), vec![id])]);
            if let Ok(found) = confirm(
                (self.new, self.baseline),
                r,
                (action, &resource),
                (&values, &self.absent),
                self.now,
            ) {
                return Ok(found);
            }
        }
        Err(format!(
            "{action} on {resource} may be new access for some identity, but no request context confirmed it"
        ))
    }

    /// The fixed-value search found no resource for `require` outside `forbid`; show that
    /// no value of the policy variables gives one either. Either the patterns line up
    /// ([`aligned_tails_empty`]), or a search with every variable reading anything (and the
    /// `forbid` patterns that read variables left out) finds nothing. A resource that
    /// search finds is confirmed with the variable's value read off it; what is neither
    /// shown nor confirmed is recorded as unknown.
    fn for_every_value(
        &mut self,
        r: StatementRef,
        action: &str,
        require: &[Res<'a>],
        forbid: &[Res<'a>],
    ) -> Option<NewAccess> {
        if aligned_tails_empty(require, forbid) {
            return None;
        }
        let widened: Vec<Glob> = require.iter().map(|r| r.widened(&self.absent)).collect();
        let plain: Vec<Glob> = forbid
            .iter()
            .filter(|f| f.vars.is_none())
            .map(|f| f.fixed.clone())
            .collect();
        match search_string(&widened, &plain, SEARCH_LIMIT) {
            StringSearch::Empty => None,
            StringSearch::TooLarge => {
                self.unknown.push(format!(
                    "the resource search for {action} over every value of the policy variables was too large"
                ));
                None
            }
            StringSearch::Found(bytes) => {
                let resource = String::from_utf8_lossy(&bytes).into_owned();
                let sets = (self.new, self.baseline);
                if let Some(values) = derive_values(require, &resource)
                    && let Ok(found) = confirm(
                        sets,
                        r,
                        (action, &resource),
                        (&values, &self.absent),
                        self.now,
                    )
                {
                    return Some(found);
                }
                self.unknown.push(format!(
                    "{action} on {resource} may be new access for some value of a policy variable, but no value confirmed it"
                ));
                None
            }
        }
    }
}

/// Compare `new` with `baseline`: is there a request the new set allows and the baseline
/// does not, for any identity of `format`? Sound for [`DiffResult::NoNewAccess`] (every candidate is searched
/// symbolically; see the module docs); each [`DiffResult::NewAccess`] is confirmed by the
/// evaluator on both sets, at time `now` (the library never reads the clock).
///
/// Requests that lack some of the policy variables' keys are compared too (a variable
/// then reads its default, or its pattern matches nothing): every combination of absent
/// keys when the policies read at most [`MAX_ABSENT_KEYS`] keys, else each key alone,
/// and the answer is at best `unknown`.
pub fn no_new_access(
    new: &PolicySet,
    baseline: &PolicySet,
    format: &IdentityFormat,
    now: jiff::Timestamp,
) -> DiffResult {
    let keys = policy_variable_keys(&[new, baseline]);
    let mut unknown = Vec::new();
    if keys.len() > MAX_ABSENT_KEYS {
        unknown.push(format!(
            "the policies read {} policy variable keys; requests lacking more than one of them at once are not compared (at most {MAX_ABSENT_KEYS} keys are)",
            keys.len()
        ));
    }
    for absent in absent_combinations(&keys) {
        let mut cmp = Comparison::new((new, baseline), format, now);
        cmp.absent = absent;
        let base_denies: Vec<Stmt> = cmp.base_denies.iter().map(|(_, d)| *d).collect();
        for (r, s) in stmts(new, Effect::Allow) {
            if let Some(found) = cmp.beyond_baseline_allows(r, s) {
                return DiffResult::NewAccess(found);
            }
            for &d in &base_denies {
                if let Some(found) = cmp.past_removed_deny(r, s, d) {
                    return DiffResult::NewAccess(found);
                }
            }
        }
        unknown.append(&mut cmp.unknown);
    }
    if unknown.is_empty() {
        DiffResult::NoNewAccess
    } else {
        unknown.sort();
        unknown.dedup();
        DiffResult::Unknown(unknown.join("; "))
    }
}

/// Policy variable keys beyond this many are left out one at a time only (see
/// [`no_new_access`]).
pub const MAX_ABSENT_KEYS: usize = 3;

/// The keys (lowercase, sorted) of the policy variables the statements of `sets` read,
/// in policies that read variables at all.
fn policy_variable_keys(sets: &[&PolicySet]) -> Vec<String> {
    let mut keys: Vec<String> = sets
        .iter()
        .flat_map(|set| set.policies())
        .filter(|p| p.has_variables_enabled())
        .flat_map(|p| &p.statements)
        .flat_map(variable_keys)
        .map(|k| k.to_ascii_lowercase())
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The sets of keys to leave out of the compared requests: none first, then every
/// combination (at most [`MAX_ABSENT_KEYS`] keys), else each key alone.
fn absent_combinations(keys: &[String]) -> Vec<Vec<String>> {
    if keys.len() > MAX_ABSENT_KEYS {
        return std::iter::once(Vec::new())
            .chain(keys.iter().map(|k| vec![k.clone()]))
            .collect();
    }
    let mut out: Vec<Vec<String>> = (0u32..1 << keys.len())
        .map(|mask| {
            keys.iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, k)| k.clone())
                .collect()
        })
        .collect();
    out.sort_by_key(Vec::len);
    out
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
        .map(|t| format_glob(t.arn, FormatFill::Examples))
        .collect()
}

/// The answer for every policy type ([`no_new_access_policies`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoliciesDiff {
    /// Nothing the baseline denied is allowed now.
    NoNewAccess,
    /// An example of new access, confirmed with every policy type on both sides: the
    /// request (its `statement` is that of the first deciding statement) and the
    /// statements that allow it in the new policies.
    NewAccess(NewAccess, Vec<TypedRef>),
    /// Could not decide; why.
    Unknown(String),
}

/// Which way one comparison of a pair of policy sets goes: every request the new set
/// allows the baseline's allows (`Allow`), or every request the baseline's explicitly
/// denies the new set explicitly denies (`Deny`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dimension {
    Allow,
    Deny,
}

/// One comparison of a pair of policy sets of the same role in the flowchart.
struct Pair {
    /// How the answer names the pair (`the resource policy of arn:aws:s3:::b`).
    what: String,
    new: PolicySet,
    baseline: PolicySet,
    dimension: Dimension,
}

/// `set` as it reads for `caller`: the statements whose `Principal`/`NotPrincipal` do not
/// cover the caller are left out, and those that do lose the element (it always holds);
/// with `min_grant`, the `Allow` statements that name the caller less strongly are left
/// out too (a resource-based policy's grant of at least that kind).
fn for_caller(set: &PolicySet, caller: &Caller, min_grant: Option<Grant>) -> PolicySet {
    let policies = set
        .policies()
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p.statements.retain(|st| {
                let grant_ok = match (min_grant, st.effect, &st.principal) {
                    (Some(k), Effect::Allow, Some(principal)) => {
                        caller.grant(principal).is_some_and(|g| g >= k)
                    }
                    (Some(_), Effect::Allow, None) => false,
                    (None, _, _) | (Some(_), Effect::Deny, _) => true,
                };
                grant_ok && st.matches_principal(Some(caller))
            });
            for st in &mut p.statements {
                st.principal = None;
                st.not_principal = None;
            }
            p
        })
        .collect();
    PolicySet::new(policies)
}

/// The `Deny` statements of `set` as `Allow`s: a request the result allows is one `set`
/// explicitly denies.
fn denies_as_allows(set: &PolicySet) -> PolicySet {
    let policies = set
        .policies()
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p.statements.retain(|st| st.effect == Effect::Deny);
            for st in &mut p.statements {
                st.effect = Effect::Allow;
            }
            p
        })
        .collect();
    PolicySet::new(policies)
}

/// A set that allows every request (an absent boundary, session policy or SCP level).
fn allow_all() -> PolicySet {
    let doc =
        br#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
    let policy = crate::lang::parse::parse_policy("(none)", doc).expect("a valid policy");
    PolicySet::new(vec![policy])
}

/// The account label of a side's organization levels, if any (`None` also when two
/// labels differ: the evaluator refuses those policies).
fn level_account(levels: &[Level]) -> Option<&str> {
    levels
        .iter()
        .map(|l| l.label.as_str())
        .find(|l| l.len() == 12 && l.bytes().all(|b| b.is_ascii_digit()))
}

/// Each side's resource-based policies, one set per resource (its policies together).
fn by_scope(p: &Policies) -> Vec<(Option<&str>, PolicySet)> {
    let mut out: Vec<(Option<&str>, Vec<crate::lang::model::Policy>)> = Vec::new();
    for r in &p.resource {
        let scope = r.resource.as_deref();
        let policies = r.set.policies().iter().cloned();
        match out.iter_mut().find(|(s, _)| *s == scope) {
            Some((_, ps)) => ps.extend(policies),
            None => out.push((scope, policies.collect())),
        }
    }
    out.into_iter()
        .map(|(s, ps)| (s, PolicySet::new(ps)))
        .collect()
}

/// The pairs to compare for `caller`; `Err` for a difference the comparison cannot
/// read. The argument that the pairs suffice is in [`no_new_access_policies`].
fn pairs(new: &Policies, baseline: &Policies, caller: &Caller) -> Result<Vec<Pair>, String> {
    let (mut n_caller, mut b_caller) = (caller.clone(), caller.clone());
    n_caller.set_bounded(new.boundary.is_some());
    b_caller.set_bounded(baseline.boundary.is_some());
    let mut out = Vec::new();
    let mut both = |what: String, n: &PolicySet, b: &PolicySet, dims: &[Dimension]| {
        for &dimension in dims {
            out.push(Pair {
                what: what.clone(),
                new: for_caller(n, &n_caller, None),
                baseline: for_caller(b, &b_caller, None),
                dimension,
            });
        }
    };
    let full = [Dimension::Allow, Dimension::Deny];
    both(
        "the identity-based policies".into(),
        &new.identity,
        &baseline.identity,
        &full,
    );
    let all = allow_all();
    let federated = caller.kind() == crate::lang::principal::CallerKind::FederatedUser;
    if federated && new.session.is_some() != baseline.session.is_some() {
        return Err("session policies are given on one side only, for a federated user".into());
    }
    for (what, n, b) in [
        (
            "the permissions boundary",
            &new.boundary,
            &baseline.boundary,
        ),
        ("the session policies", &new.session, &baseline.session),
    ] {
        both(
            what.into(),
            n.as_ref().unwrap_or(&all),
            b.as_ref().unwrap_or(&all),
            &full,
        );
    }
    // SCP levels: all of a side apply to the caller, or none; a level must allow.
    let applying = |p: &Policies| -> Vec<(String, PolicySet)> {
        match level_account(&p.scps) {
            Some(a) if a != caller.account_id() => Vec::new(),
            Some(_) | None => p
                .scps
                .iter()
                .map(|l| (l.label.clone(), l.set.clone()))
                .collect(),
        }
    };
    let new_scps = applying(new);
    for (label, b) in applying(baseline) {
        let n = new_scps
            .iter()
            .find(|(l, _)| *l == label)
            .map_or(&all, |(_, s)| s);
        both(
            format!("the SCPs of level {label}"),
            n,
            &b,
            &[Dimension::Allow],
        );
    }
    // RCP levels only deny; which apply depends on the resource's account, the same on
    // both sides when the account labels are.
    if level_account(&new.rcps) != level_account(&baseline.rcps) && !baseline.rcps.is_empty() {
        return Err("the RCP levels are labelled with different accounts".into());
    }
    let none = PolicySet::default();
    for l in &baseline.rcps {
        let n = new
            .rcps
            .iter()
            .find(|n| n.label == l.label)
            .map_or(&none, |n| &n.set);
        both(
            format!("the RCPs of level {}", l.label),
            n,
            &l.set,
            &[Dimension::Deny],
        );
    }
    resource_pairs(new, baseline, (&n_caller, &b_caller), &mut out)?;
    Ok(out)
}

/// The pairs of resource-based policies, by resource: each kind of grant (account, role,
/// direct) for the `Allow`s, and the `Deny`s.
fn resource_pairs(
    new: &Policies,
    baseline: &Policies,
    (n_caller, b_caller): (&Caller, &Caller),
    out: &mut Vec<Pair>,
) -> Result<(), String> {
    let (new_scopes, base_scopes) = (by_scope(new), by_scope(baseline));
    let none = PolicySet::default();
    for (scope, _) in &base_scopes {
        // Without its key policy a KMS key's access is the identity side's alone, so a
        // removed resource policy may widen; a removed resource policy is not compared.
        if !new_scopes.iter().any(|(s, _)| s == scope) {
            return Err(format!(
                "the baseline's resource policy of {} is not in the new policies",
                scope.unwrap_or("the requested resource")
            ));
        }
    }
    for (scope, n) in &new_scopes {
        let b = base_scopes
            .iter()
            .find(|(s, _)| s == scope)
            .map_or(&none, |(_, b)| b);
        let what = format!(
            "the resource policy of {}",
            scope.unwrap_or("the requested resource")
        );
        for k in [Grant::Account, Grant::Role, Grant::Direct] {
            out.push(Pair {
                what: format!("{what} ({} grants)", k.as_str()),
                new: for_caller(n, n_caller, Some(k)),
                baseline: for_caller(b, b_caller, Some(k)),
                dimension: Dimension::Allow,
            });
        }
        out.push(Pair {
            what,
            new: for_caller(n, n_caller, None),
            baseline: for_caller(b, b_caller, None),
            dimension: Dimension::Deny,
        });
    }
    Ok(())
}

/// Confirm a candidate with every policy type on both sides, for `caller`: the keys the
/// caller determines are the caller's, whatever the candidate's context says (they are
/// left out of the example's context, which holds what a request would give).
fn confirm_policies(
    (new, baseline): (&Policies, &Policies),
    caller: &Caller,
    c: &NewAccess,
    now: jiff::Timestamp,
) -> Option<(NewAccess, Vec<TypedRef>)> {
    let mut r = crate::request::Request::new(c.action.as_str(), c.resource.as_str());
    r.principal = Some(caller.clone());
    let derived: Vec<&str> = caller
        .context_keys()
        .into_iter()
        .map(|(k, _)| k)
        .chain([crate::lang::keys::RESOURCE_ACCOUNT])
        .collect();
    let mut context = c.context.clone();
    context.retain(|k, _| !derived.iter().any(|d| d.eq_ignore_ascii_case(k)));
    for (k, v) in &context {
        r.context.set(k, v.clone());
    }
    r.context.fill_time_defaults(now).ok()?;
    let decide = |p: &Policies| {
        let mut r = r.clone();
        p.prepare(&mut r).ok()?;
        p.authorize(&r).ok()
    };
    let (a_new, a_base) = (decide(new)?, decide(baseline)?);
    if a_new.verdict.decision != Decision::Allow || a_base.verdict.decision == Decision::Allow {
        return None;
    }
    let first = a_new.deciding.first()?;
    Some((
        NewAccess {
            action: c.action.clone(),
            resource: c.resource.clone(),
            context,
            statement: first.statement,
            baseline: a_base.verdict.decision,
        },
        a_new.deciding,
    ))
}

/// Compare every policy type of `new` with `baseline` for requests of `caller`: is there
/// a request the new policies allow and the baseline's refuse? Both sides share the
/// caller and the resource account.
///
/// AWS's flowchart is monotone in each policy set's answer (explicit deny < implicit
/// deny < allow; for a resource-based policy's allow, the grant: account < role <
/// direct): a set that allows more can only make the final answer allow more. So when
/// each set of the new side allows nothing its baseline partner refuses, and explicitly
/// denies whatever its partner explicitly denies, nothing new is allowed. The sets are
/// paired by role: the identity-based policies; the permissions boundary and the
/// session policies (absent: allow everything); the SCP levels by label (a level only
/// the new side has can only refuse; one only the baseline has is compared with allow
/// everything), where only allowing counts; the RCP levels by label, where only denying
/// counts; the resource-based policies by resource, their `Allow`s compared for each
/// kind of grant. Each pair is compared with [`no_new_access`] (denies as allows for the
/// deny side), on the statements whose `Principal` covers the caller. A candidate is
/// confirmed with the evaluator on both whole sides ([`Policies::authorize`]); one that is
/// not (another type refuses it) leaves the answer `unknown`, as does a difference the
/// pairing cannot read (a resource policy the new side drops).
///
/// With identity-based policies alone on both sides this is [`no_new_access`], its
/// example confirmed for `caller`.
pub fn no_new_access_policies(
    new: &Policies,
    baseline: &Policies,
    caller: &Caller,
    format: &IdentityFormat,
    now: jiff::Timestamp,
) -> PoliciesDiff {
    if new.is_identity_only() && baseline.is_identity_only() {
        return match no_new_access(&new.identity, &baseline.identity, format, now) {
            DiffResult::NoNewAccess => PoliciesDiff::NoNewAccess,
            DiffResult::Unknown(why) => PoliciesDiff::Unknown(why),
            // The example holds for some caller; confirmed for this one.
            DiffResult::NewAccess(c) => match confirm_policies((new, baseline), caller, &c, now) {
                Some((found, deciding)) => PoliciesDiff::NewAccess(found, deciding),
                None => PoliciesDiff::Unknown(format!(
                    "{} on {} is new access for some caller, but not confirmed for {}",
                    c.action,
                    c.resource,
                    caller.arn()
                )),
            },
        };
    }
    let pairs = match pairs(new, baseline, caller) {
        Ok(p) => p,
        Err(why) => return PoliciesDiff::Unknown(why),
    };
    let mut unknown = Vec::new();
    for pair in pairs {
        let result = match pair.dimension {
            Dimension::Allow => no_new_access(&pair.new, &pair.baseline, format, now),
            Dimension::Deny => no_new_access(
                &denies_as_allows(&pair.baseline),
                &denies_as_allows(&pair.new),
                format,
                now,
            ),
        };
        match result {
            DiffResult::NoNewAccess => {}
            DiffResult::Unknown(why) => unknown.push(format!("{}: {why}", pair.what)),
            DiffResult::NewAccess(c) => match confirm_policies((new, baseline), caller, &c, now) {
                Some((found, deciding)) => return PoliciesDiff::NewAccess(found, deciding),
                None => unknown.push(format!(
                    "{}: {} on {} {} here and not in the baseline, but the whole policies do not confirm new access",
                    pair.what,
                    c.action,
                    c.resource,
                    match pair.dimension {
                        Dimension::Allow => "is allowed",
                        Dimension::Deny => "is no longer explicitly denied",
                    }
                )),
            },
        }
    }
    if unknown.is_empty() {
        PoliciesDiff::NoNewAccess
    } else {
        unknown.dedup();
        PoliciesDiff::Unknown(unknown.join("; "))
    }
}

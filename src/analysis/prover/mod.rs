//! `prove isolation`: can any identity reach another identity's private area?
//!
//! An *area* is a resource pattern with `${cognito-identity.amazonaws.com:sub}`, such as
//! `arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}/*`. Isolation holds
//! when, for every two distinct identities `a ≠ b` of the identity format, no action is
//! allowed for `a` on a resource inside `b`'s area.
//!
//! Method (why `holds` is sound, in `docs/prover.md`): for every `Allow` statement and
//! every area, [`search::search`] looks for a resource accepted by the statement's pattern
//! (identity slot = attacker) and the area (slot = victim), with distinct identities, that
//! no applicable `Deny` excludes. Everything that could widen access is widened: `Allow`
//! conditions are taken as satisfiable, `Deny` statements are only used when they certainly
//! apply (no conditions, exact patterns, covering every action of the `Allow`), other
//! variables match anything. An empty search proves isolation for that pair. A witness is
//! made concrete and re-checked with the evaluator; only a confirmed one is a
//! counterexample, anything else is `unknown`.

pub mod format;
pub mod fuzz;
pub mod search;
pub mod smt;

use std::collections::BTreeMap;

use crate::condition::{Comparison, SetQualifier};
use crate::eval::{Decision, PolicySet, StatementRef};
use crate::lang::arn::ArnPattern;
use crate::lang::keys::{ALWAYS_PRESENT, COGNITO_SUB};
use crate::lang::model::{ActionSpec, Effect, ResourceSpec, Statement, Version};
use crate::lang::variables::{Piece, Syntax};
use crate::lang::wildcard::{Match, Pattern};
use crate::request::Request;
use format::IdentityFormat;
use search::{Elem, Glob, Problem, SearchResult, Witness};

/// The three answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No identity can reach another's area (within the identity format).
    Holds,
    /// A confirmed counterexample exists.
    Violated,
    /// Neither could be established; the reason says why.
    Unknown,
}

impl Verdict {
    /// `holds`, `violated`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Violated => "violated",
            Verdict::Unknown => "unknown",
        }
    }
}

/// A confirmed violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counterexample {
    /// The identity that gets access.
    pub attacker: String,
    /// The identity whose area it reaches.
    pub victim: String,
    /// The action allowed.
    pub action: String,
    /// The resource, inside the victim's area.
    pub resource: String,
    /// The request context under which `check` allows it.
    pub context: BTreeMap<String, Vec<String>>,
    /// The statement that allows it.
    pub statement: StatementRef,
}

/// The prover's answer.
#[derive(Debug, Clone)]
pub struct Proof {
    /// The verdict.
    pub verdict: Verdict,
    /// The identity format assumed (`cognito`, `any`, or the regex).
    pub identity_format: String,
    /// The format in words.
    pub format_description: String,
    /// The areas checked.
    pub areas: Vec<String>,
    /// Why, in plain words.
    pub reason: String,
    /// For `violated`.
    pub counterexample: Option<Counterexample>,
    /// What was assumed or left out (conditions, ignored denies).
    pub assumptions: Vec<String>,
}

/// The identity variable, in lowercase.
const SUB: &str = "cognito-identity.amazonaws.com:sub";

fn is_sub(v: &crate::lang::variables::Variable) -> bool {
    &*v.key_lower == SUB
}

/// How a pattern's text becomes a byte glob.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    /// Allowed pattern or area: the first identity variable is the slot, every other
    /// variable matches anything (a widening).
    Tracked,
    /// Something to match at least one of (a `NotResource` deny): variables match anything
    /// (a widening of the set, so the deny applies less).
    Widened,
    /// An exact exclusion: no variable, and a plain-text ARN head (else `None`).
    Exact,
}

fn glob_of(text: &str, variables: bool, usage: Use) -> Option<Glob> {
    if text == "*" {
        return Some(Glob(vec![Elem::Star]));
    }
    let syntax = Syntax {
        variables,
        wildcards: true,
    };
    let pieces = crate::lang::variables::parse_pieces(text, syntax).ok()?;
    if usage == Use::Exact {
        let head_plain = ArnPattern::parse(text, syntax)
            .ok()
            .is_some_and(|p| p.has_literal_head());
        if !head_plain || pieces.iter().any(|p| matches!(p, Piece::Variable(_))) {
            return None;
        }
    }
    let mut out = Vec::new();
    let mut slot_used = false;
    for p in pieces {
        match p {
            Piece::Literal(l) => out.extend(l.bytes().map(Elem::Byte)),
            Piece::Star => out.push(Elem::Star),
            Piece::AnyChar => out.push(Elem::AnyChar),
            Piece::Variable(v) if usage == Use::Tracked && is_sub(&v) && !slot_used => {
                slot_used = true;
                out.push(Elem::Slot);
            }
            Piece::Variable(_) => out.push(Elem::Star),
        }
    }
    Some(Glob(out))
}

fn mentions_sub(text: &str) -> bool {
    crate::lang::variables::parse_pieces(
        text,
        Syntax {
            variables: true,
            wildcards: true,
        },
    )
    .is_ok_and(|p| {
        p.iter()
            .any(|p| matches!(p, Piece::Variable(v) if is_sub(v)))
    })
}

/// The areas: `--area` patterns, or every `Allow` resource pattern that mentions the
/// identity variable.
pub fn default_areas(set: &PolicySet) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for policy in set.policies() {
        if policy.version != Some(Version::V2012_10_17) {
            continue;
        }
        for st in &policy.statements {
            if st.effect != Effect::Allow {
                continue;
            }
            if let Some(ResourceSpec::Resource(patterns)) = &st.resource {
                for p in patterns {
                    if mentions_sub(p.source()) && !out.iter().any(|a| a == p.source()) {
                        out.push(p.source().to_string());
                    }
                }
            }
        }
    }
    out
}

/// Does some pattern of `deny` cover `p` for sure?
fn action_covered(p: &Pattern, deny: &ActionSpec) -> bool {
    match deny {
        ActionSpec::Action(qs) => qs.iter().any(|q| {
            if q.is_match_all() {
                return true;
            }
            match (p.as_exact(), q.as_exact()) {
                (Some(a), Some(b)) => a == b,
                (Some(a), None) => q.matches(a, &crate::lang::variables::NoVariables) == Match::Yes,
                (None, _) => {
                    // `svc:Pre*` covers a wildcard pattern that starts with `svc:Pre`.
                    let q_src = q.source().to_ascii_lowercase();
                    let p_src = p.source().to_ascii_lowercase();
                    let prefix = q_src.strip_suffix('*');
                    prefix.is_some_and(|pre| !pre.contains(['*', '?']) && p_src.starts_with(pre))
                }
            }
        }),
        ActionSpec::NotAction(qs) => p.as_exact().is_some_and(|a| {
            !qs.iter()
                .any(|q| q.matches(a, &crate::lang::variables::NoVariables) == Match::Yes)
        }),
    }
}

/// Does `deny` certainly apply to every action `allow` allows?
fn covers_all_actions(allow: &Statement, deny: &Statement) -> bool {
    match &allow.action {
        ActionSpec::Action(ps) => ps.iter().all(|p| action_covered(p, &deny.action)),
        ActionSpec::NotAction(_) => {
            matches!(&deny.action, ActionSpec::Action(qs) if qs.iter().any(Pattern::is_match_all))
        }
    }
}

/// The service an area's ARN names (`s3` in `arn:aws:s3:::...`), when it is plain text.
pub(crate) fn area_service(area: &str) -> Option<String> {
    let service = area.split(':').nth(2)?;
    (!service.is_empty() && !service.contains(['*', '?', '$']))
        .then(|| service.to_ascii_lowercase())
}

/// Can `st` allow some action of `service`? An action acts only on its own service's
/// resources (`docs/prover.md`), so other statements cannot reach an area.
fn may_act_on(st: &Statement, service: Option<&str>) -> bool {
    let Some(service) = service else { return true };
    let prefix = format!("{service}:");
    match &st.action {
        ActionSpec::Action(ps) => ps.iter().any(|p| {
            let src = p.source().to_ascii_lowercase();
            p.is_match_all() || src.starts_with(&prefix) || !src.contains(':')
        }),
        ActionSpec::NotAction(ps) => !ps
            .iter()
            .any(|p| p.source().eq_ignore_ascii_case(&format!("{service}:*")) || p.is_match_all()),
    }
}

/// Concrete actions to try for a counterexample, of `service` when known: actions the
/// catalog documents first (the usual ones, then up to 16 more of the service that `st`
/// covers), then made-up names that only match the patterns (`s3:Any`), so a statement
/// that allows only undocumented actions still gets a candidate.
pub(crate) fn candidate_actions_for(st: &Statement, service: Option<&str>) -> Vec<String> {
    let catalog = crate::catalog::catalog();
    let own: Vec<String> = candidate_actions(st)
        .into_iter()
        .chain(service.map(|s| format!("{s}:GetObject")))
        .filter(|a| {
            service.is_none_or(|s| {
                a.split(':')
                    .next()
                    .is_some_and(|svc| svc.eq_ignore_ascii_case(s))
            })
        })
        .filter(|a| st.matches_action(a))
        .collect();
    let (documented, made_up): (Vec<String>, Vec<String>) =
        own.into_iter().partition(|a| catalog.action(a).is_some());
    let mut out = documented;
    if let Some(svc) = service.and_then(|s| catalog.service(s)) {
        out.extend(
            svc.actions
                .iter()
                .map(|a| format!("{}:{}", svc.prefix, a.name))
                .filter(|a| st.matches_action(a))
                .take(16),
        );
    }
    out.extend(made_up);
    let mut seen = std::collections::HashSet::new();
    out.retain(|a| seen.insert(a.to_ascii_lowercase()));
    out
}

/// Concrete actions to try for a counterexample.
fn candidate_actions(st: &Statement) -> Vec<String> {
    const PREFERRED: &[&str] = &[
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
        "execute-api:Invoke",
        "dynamodb:GetItem",
    ];
    let none = crate::lang::variables::NoVariables;
    let mut out: Vec<String> = Vec::new();
    match &st.action {
        ActionSpec::Action(ps) => {
            for p in ps {
                if let Some(e) = p.as_exact() {
                    out.push(p.source().to_string());
                    let _ = e;
                    continue;
                }
                for pref in PREFERRED {
                    if p.matches(pref, &none) == Match::Yes {
                        out.push(pref.to_string());
                    }
                }
                let generic: String = p.source().replace('*', "").replace('?', "X");
                let generic = match generic.split_once(':') {
                    Some((svc, "")) => format!("{svc}:Any"),
                    _ => generic,
                };
                out.push(generic);
            }
        }
        ActionSpec::NotAction(ps) => {
            for pref in PREFERRED {
                if !ps.iter().any(|p| p.matches(pref, &none) == Match::Yes) {
                    out.push(pref.to_string());
                }
            }
        }
    }
    out.dedup();
    out
}

/// A request context under which `st`'s conditions plausibly hold, plus the keys AWS puts
/// in every request.
pub(crate) fn plausible_context(st: &Statement, attacker: &str) -> BTreeMap<String, Vec<String>> {
    let mut ctx: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut vars = crate::request::Context::new();
    vars.add(COGNITO_SUB, attacker);
    for c in &st.conditions {
        let op = c.operator;
        let absent_is_true = op.if_exists
            || op.qualifier == SetQualifier::ForAllValues
            || (op.negated && op.qualifier == SetQualifier::None);
        if op.comparison == Comparison::Null {
            if c.raw_values.iter().any(|v| v.eq_ignore_ascii_case("false")) {
                ctx.insert(c.key.clone(), vec!["x".to_string()]);
            }
            continue;
        }
        if absent_is_true || c.key_lower == COGNITO_SUB {
            // The identity comes from the request, never from a condition's value.
            continue;
        }
        let value = match c.values.first() {
            Some(crate::condition::Value::Text(p)) => {
                p.render(&vars).replace('*', "").replace('?', "x")
            }
            Some(crate::condition::Value::Arn(p)) => p.render(&vars).replace(['*', '?'], "x"),
            Some(crate::condition::Value::Ip(net)) => net.addr().to_string(),
            _ => c.raw_values.first().cloned().unwrap_or_default(),
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

pub(crate) fn request_for(
    action: &str,
    resource: &str,
    attacker: &str,
    ctx: &BTreeMap<String, Vec<String>>,
) -> Request {
    let mut r = Request::new(action, resource).with_identity(attacker);
    for (k, v) in ctx {
        r.context.set(k, v.clone());
    }
    let _ = r.context.fill_time_defaults(jiff::Timestamp::now());
    r
}

/// Is `resource` inside `area` for `victim`?
pub(crate) fn in_area(area: &str, resource: &str, victim: &str) -> bool {
    let Ok(p) = ArnPattern::parse_with(
        area,
        Syntax {
            variables: true,
            wildcards: true,
        },
        crate::lang::arn::ArnSyntax::Resource,
    ) else {
        return false;
    };
    let mut ctx = crate::request::Context::new();
    ctx.add(COGNITO_SUB, victim);
    p.matches(resource, &ctx) == Match::Yes
}

/// Try to turn a witness into a confirmed counterexample.
fn confirm(
    set: &PolicySet,
    st_ref: StatementRef,
    area: &str,
    w: &Witness,
    format: &IdentityFormat,
) -> Result<Counterexample, String> {
    let resource = String::from_utf8(w.resource.clone())
        .map_err(|_| "the witness resource is not valid UTF-8".to_string())?;
    let victim = resource[w.victim.start..w.victim.end].to_string();
    let attacker = match w.attacker {
        Some(span) => resource[span.start..span.end].to_string(),
        None => format
            .example_except(&[&victim])
            .ok_or("no second identity of the format exists")?,
    };
    let first = check_concrete(set, st_ref, area, &resource, &attacker, &victim, format);
    if first.is_ok() || attacker != victim {
        return first;
    }
    // Spans that start apart read the same bytes only by the search's choice of
    // representatives: try the victim's identity with one character changed, wherever
    // the spans do not overlap.
    let overlap = w
        .attacker
        .is_some_and(|a| a.start < w.victim.end && w.victim.start < a.end);
    if overlap {
        return first;
    }
    for i in 0..victim.len() {
        if !victim.is_char_boundary(i) || !victim.is_char_boundary(i + 1) {
            continue;
        }
        for replacement in ['1', 'b', 'x', '0', 'a', '2', 'z'] {
            let mut other = victim.clone();
            other.replace_range(i..i + 1, replacement.encode_utf8(&mut [0; 4]));
            if other == victim || !format.matches(&other) {
                continue;
            }
            let mut r = resource.clone();
            r.replace_range(w.victim.start..w.victim.end, &other);
            if let Ok(c) = check_concrete(set, st_ref, area, &r, &attacker, &other, format) {
                return Ok(c);
            }
        }
    }
    first
}

/// Check a concrete candidate with the evaluator: distinct identities of the format, the
/// resource inside the victim's area, and the attacker allowed.
fn check_concrete(
    set: &PolicySet,
    st_ref: StatementRef,
    area: &str,
    resource: &str,
    attacker: &str,
    victim: &str,
    format: &IdentityFormat,
) -> Result<Counterexample, String> {
    if attacker == victim {
        return Err(format!(
            "the witness needs the same identity twice ({attacker})"
        ));
    }
    if !format.matches(attacker) || !format.matches(victim) {
        return Err("the witness identities do not fit the identity format".to_string());
    }
    if !in_area(area, resource, victim) {
        return Err(format!(
            "{resource} is not inside the area of {victim} after all"
        ));
    }
    let st = set.statement(st_ref);
    let context = plausible_context(st, attacker);
    for action in candidate_actions_for(st, area_service(area).as_deref()) {
        let req = request_for(&action, resource, attacker, &context);
        if let Ok(ev) = set.evaluate(&req)
            && ev.decision == Decision::Allow
        {
            return Ok(Counterexample {
                attacker: attacker.to_string(),
                victim: victim.to_string(),
                action,
                resource: resource.to_string(),
                context,
                statement: st_ref,
            });
        }
    }
    Err(format!(
        "{attacker} is not confirmed to reach {resource} (conditions or denies the search widened)"
    ))
}

fn explain_violation(c: &Counterexample, has_slot: bool) -> String {
    let (a, b) = (&c.attacker, &c.victim);
    if !has_slot {
        format!(
            "the statement that allows it does not depend on the identity, so {a} can {} inside the area of {b}",
            c.action
        )
    } else if a.contains('/') || b.contains('/') {
        format!(
            "an identity containing '/' ({}) reaches into a folder that belongs to another identity ({}); Cognito ids never contain '/', so this needs a looser identity format",
            if a.contains('/') { a } else { b },
            if a.contains('/') { b } else { a }
        )
    } else if b.starts_with(a.as_str()) || a.starts_with(b.as_str()) {
        format!(
            "one identity is a prefix of the other ({a} / {b}) and the pattern does not end the identity with a delimiter such as '/', so the shorter id's pattern covers the longer id's objects"
        )
    } else {
        format!(
            "{a} is allowed {} on {} inside the area of {b}",
            c.action, c.resource
        )
    }
}

/// Prove isolation of `areas` (default: [`default_areas`]) for `format`.
pub fn prove_isolation(
    set: &PolicySet,
    areas: &[String],
    format: &IdentityFormat,
) -> Result<Proof, String> {
    prove_isolation_with(set, areas, format, &Backend::Automata)
}

/// How each search problem is decided.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The built-in product-automaton search (no dependencies).
    Automata,
    /// An SMT solver binary (`z3` or `cvc5`) on SMT-LIB2 strings; scripts are also written
    /// to `dir` when given.
    Smt {
        /// The solver program.
        program: String,
        /// Its arguments.
        args: Vec<String>,
        /// Where to keep the scripts, if anywhere.
        dir: Option<std::path::PathBuf>,
    },
}

/// [`prove_isolation`] with a choice of backend.
pub fn prove_isolation_with(
    set: &PolicySet,
    areas: &[String],
    format: &IdentityFormat,
    backend: &Backend,
) -> Result<Proof, String> {
    let mut script_count = 0usize;
    let areas: Vec<String> = if areas.is_empty() {
        default_areas(set)
    } else {
        areas.to_vec()
    };
    if areas.is_empty() {
        return Err(format!(
            "no area to check: no Allow statement's Resource mentions ${{{}}} (under Version 2012-10-17); name one with --area",
            "cognito-identity.amazonaws.com:sub"
        ));
    }
    let mut area_globs = Vec::new();
    for a in &areas {
        ArnPattern::parse(
            a,
            Syntax {
                variables: true,
                wildcards: true,
            },
        )
        .map_err(|e| format!("--area {a:?}: {e}"))?;
        if !mentions_sub(a) {
            return Err(format!(
                "--area {a:?} does not mention ${{cognito-identity.amazonaws.com:sub}}"
            ));
        }
        area_globs.push(
            glob_of(a, true, Use::Tracked).ok_or_else(|| format!("--area {a:?} cannot be read"))?,
        );
    }
    let mut assumptions: Vec<String> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let label = |r: StatementRef| crate::report::statement_label(set, r);
    let refs: Vec<StatementRef> = set
        .policies()
        .iter()
        .enumerate()
        .flat_map(|(p, pol)| {
            (0..pol.statements.len()).map(move |s| StatementRef {
                policy: p,
                statement: s,
            })
        })
        .collect();
    for &r in &refs {
        let st = set.statement(r);
        if st.effect != Effect::Allow {
            continue;
        }
        let vars = set.policy(r).version == Some(Version::V2012_10_17);
        if !st.conditions.is_empty() {
            let note = format!("{}: its conditions are assumed to be satisfiable", label(r));
            if !assumptions.contains(&note) {
                assumptions.push(note);
            }
        }
        // Denies that certainly apply to every action of this statement.
        let mut must_not: Vec<Glob> = Vec::new();
        let mut must_match_any: Vec<Vec<Glob>> = Vec::new();
        let mut carve_outs: Vec<Glob> = Vec::new();
        for &d in &refs {
            let deny = set.statement(d);
            if deny.effect != Effect::Deny {
                continue;
            }
            let dvars = set.policy(d).version == Some(Version::V2012_10_17);
            let why_not = if !deny.conditions.is_empty() {
                Some("it has conditions, assumed not to hold")
            } else if !covers_all_actions(st, deny) {
                Some("it does not certainly cover every action this Allow grants")
            } else {
                None
            };
            if let Some(why) = why_not {
                let note = format!("{} is ignored for {}: {why}", label(d), label(r));
                if !assumptions.contains(&note) {
                    assumptions.push(note);
                }
                continue;
            }
            match &deny.resource {
                Some(ResourceSpec::Resource(ps)) => {
                    for p in ps {
                        match glob_of(p.source(), dvars, Use::Exact) {
                            Some(g) => must_not.push(g),
                            None => assumptions.push(format!(
                                "{}: pattern {} is not used (variables or wildcards before the resource part)",
                                label(d),
                                p.source()
                            )),
                        }
                    }
                }
                Some(ResourceSpec::NotResource(ps)) => {
                    // A one-pattern carve-out with the identity (`Deny ... NotResource
                    // private/${sub}/*`) keeps its slot: it can stand for the attacker
                    // when the Allow itself does not depend on the identity.
                    if let [only] = ps.as_slice()
                        && dvars
                        && mentions_sub(only.source())
                        && let Some(g) = glob_of(only.source(), true, Use::Tracked)
                    {
                        carve_outs.push(g);
                    }
                    let group: Option<Vec<Glob>> = ps
                        .iter()
                        .map(|p| glob_of(p.source(), dvars, Use::Widened))
                        .collect();
                    if let Some(group) = group {
                        must_match_any.push(group);
                    }
                }
                None => {}
            }
        }
        // What the Allow covers.
        let (allow_globs, extra_not): (Vec<Option<Glob>>, Vec<Glob>) = match &st.resource {
            Some(ResourceSpec::Resource(ps)) => (
                ps.iter()
                    .filter_map(|p| glob_of(p.source(), vars, Use::Tracked).map(Some))
                    .collect(),
                Vec::new(),
            ),
            Some(ResourceSpec::NotResource(ps)) => (
                vec![None],
                ps.iter()
                    .filter_map(|p| glob_of(p.source(), vars, Use::Exact))
                    .collect(),
            ),
            None => (vec![None], Vec::new()),
        };
        let mut all_not = must_not.clone();
        all_not.extend(extra_not);
        for allow in &allow_globs {
            // An Allow that does not depend on the identity, under a carve-out that does:
            // the carve-out's pattern carries the attacker, and the Allow's own pattern (if
            // any) becomes a constraint to match.
            let (tracked, must_match): (Option<&Glob>, Vec<Vec<Glob>>) = match (
                allow.as_ref().is_some_and(Glob::has_slot),
                carve_outs.first(),
            ) {
                (false, Some(carve_out)) => {
                    let mut groups = must_match_any.clone();
                    if let Some(a) = allow {
                        groups.push(vec![a.clone()]);
                    }
                    (Some(carve_out), groups)
                }
                _ => (allow.as_ref(), must_match_any.clone()),
            };
            for (area, area_glob) in areas.iter().zip(&area_globs) {
                if !may_act_on(st, area_service(area).as_deref()) {
                    let note = format!(
                        "{}: its actions belong to other services than the area {area}, so they are taken not to act on it",
                        label(r)
                    );
                    if !assumptions.contains(&note) {
                        assumptions.push(note);
                    }
                    continue;
                }
                let problem = Problem {
                    allow: tracked,
                    area: area_glob,
                    must_not: &all_not,
                    must_match_any: &must_match,
                    format,
                };
                if let Backend::Smt { program, args, dir } = backend {
                    let script = smt::script(&problem)?;
                    script_count += 1;
                    if let Some(dir) = dir {
                        std::fs::create_dir_all(dir)
                            .and_then(|()| {
                                std::fs::write(
                                    dir.join(format!("problem-{script_count}.smt2")),
                                    &script,
                                )
                            })
                            .map_err(|e| {
                                format!("cannot write SMT scripts to {}: {e}", dir.display())
                            })?;
                    }
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    let answer =
                        smt::solve(program, &args, &script).unwrap_or_else(smt::SmtResult::Unknown);
                    match answer {
                        smt::SmtResult::Unsat => {}
                        smt::SmtResult::Unknown(why) => unknown.push(format!(
                            "{program} could not decide {} against area {area}: {why}",
                            label(r)
                        )),
                        smt::SmtResult::Sat {
                            resource,
                            attacker,
                            victim,
                        } => {
                            match check_concrete(set, r, area, &resource, &attacker, &victim, format) {
                                Ok(c) => {
                                    let reason = explain_violation(&c, tracked.is_some_and(Glob::has_slot));
                                    return Ok(Proof {
                                        verdict: Verdict::Violated,
                                        identity_format: format.name.clone(),
                                        format_description: format.description.clone(),
                                        areas,
                                        reason,
                                        counterexample: Some(c),
                                        assumptions,
                                    });
                                }
                                Err(e) => unknown.push(format!(
                                    "{} may reach area {area} ({program}'s witness), but it was not confirmed: {e}",
                                    label(r)
                                )),
                            }
                        }
                    }
                    continue;
                }
                match search::search(&problem) {
                    SearchResult::Empty => {}
                    SearchResult::TooLarge => unknown.push(format!(
                        "the search for {} against area {area} grew past {} states",
                        label(r),
                        search::STATE_LIMIT
                    )),
                    SearchResult::Found(witnesses) => {
                        let mut reasons = Vec::new();
                        for w in &witnesses {
                            match confirm(set, r, area, w, format) {
                                Ok(c) => {
                                    let reason =
                                        explain_violation(&c, tracked.is_some_and(Glob::has_slot));
                                    return Ok(Proof {
                                        verdict: Verdict::Violated,
                                        identity_format: format.name.clone(),
                                        format_description: format.description.clone(),
                                        areas,
                                        reason,
                                        counterexample: Some(c),
                                        assumptions,
                                    });
                                }
                                Err(e) => reasons.push(e),
                            }
                        }
                        unknown.push(format!(
                            "{} may reach area {area}, but no witness was confirmed: {}",
                            label(r),
                            reasons.first().cloned().unwrap_or_default()
                        ));
                    }
                }
            }
        }
    }
    if !unknown.is_empty() {
        return Ok(Proof {
            verdict: Verdict::Unknown,
            identity_format: format.name.clone(),
            format_description: format.description.clone(),
            areas,
            reason: unknown.join("; "),
            counterexample: None,
            assumptions,
        });
    }
    // Not vacuous: an identity reaches its own area.
    let own = format.example().unwrap_or_default();
    let reachable = areas.iter().any(|area| {
        let resource = own_resource(area, &own);
        refs.iter().any(|&r| {
            let st = set.statement(r);
            st.effect == Effect::Allow
                && candidate_actions_for(st, area_service(area).as_deref())
                    .iter()
                    .any(|action| {
                        let req =
                            request_for(action, &resource, &own, &plausible_context(st, &own));
                        set.evaluate(&req)
                            .is_ok_and(|e| e.decision == Decision::Allow)
                    })
        })
    });
    if !reachable {
        return Ok(Proof {
            verdict: Verdict::Unknown,
            identity_format: format.name.clone(),
            format_description: format.description.clone(),
            areas,
            reason: format!(
                "no identity was found to reach its own area (tried {own}): isolation would hold only vacuously"
            ),
            counterexample: None,
            assumptions,
        });
    }
    Ok(Proof {
        verdict: Verdict::Holds,
        identity_format: format.name.clone(),
        format_description: format.description.clone(),
        areas,
        reason: format!(
            "for identities that are {}, no Allow statement reaches a resource inside another identity's area that no applicable Deny excludes; each identity reaches its own area (checked with {own})",
            format.description
        ),
        counterexample: None,
        assumptions,
    })
}

/// An area pattern's pieces (variables and wildcards read); empty when it does not parse
/// (areas are validated before they are used).
pub(crate) fn area_pieces(area: &str) -> Vec<Piece> {
    crate::lang::variables::parse_pieces(
        area,
        Syntax {
            variables: true,
            wildcards: true,
        },
    )
    .unwrap_or_default()
}

/// A resource inside `area` for `identity`: wildcards filled with plain text.
fn own_resource(area: &str, identity: &str) -> String {
    let pieces = area_pieces(area);
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Literal(l) => out.push_str(&l),
            Piece::Variable(v) if is_sub(&v) => out.push_str(identity),
            Piece::Variable(_) | Piece::Star | Piece::AnyChar => out.push('x'),
        }
    }
    out
}

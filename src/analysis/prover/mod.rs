//! `prove isolation`: can any identity reach another identity's private area?
//!
//! An *area* is a resource pattern with `${cognito-identity.amazonaws.com:sub}`, such as
//! `arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}/*`. Isolation holds
//! when, for every two distinct identities `a ≠ b` of the identity format, no action is
//! allowed for `a` on a resource inside `b`'s area.
//!
//! Method (why `holds` is sound, in `docs/prover.md`): for every `Allow` statement and
//! every area, a [`Solver`] looks for a resource accepted by the statement's pattern
//! (identity slot = attacker) and the area (slot = victim), with distinct identities, that
//! no applicable `Deny` excludes. Patterns become globs through the one translator
//! ([`crate::analysis::translate`]), exactly as the evaluator reads them. Everything that
//! could widen access is widened: `Allow` conditions are taken as satisfiable, `Deny`
//! statements are only used when they certainly apply (no conditions, no variables in
//! their resources, covering every action of the `Allow`), other variables match
//! anything. An empty search proves isolation for that pair. A candidate is made concrete
//! and re-checked with the evaluator; only a confirmed one is a counterexample, anything
//! else is `unknown`.

mod area;
pub mod fuzz;
mod index;
pub mod smt;
pub mod solver;
mod witness;

use std::collections::{HashMap, HashSet};

use crate::analysis::actions::{covers_every_action, may_act_on};
use crate::analysis::confirm::{ContextMap, decide, plausible_context};
use crate::analysis::glob::Glob;
use crate::analysis::identity::IdentityFormat;
use crate::analysis::search::Problem;
use crate::analysis::translate::{Variables, arn_glob, mentions_identity};
use crate::eval::{Decision, PolicySet, StatementRef};
use crate::lang::model::{ActionSpec, Effect, ResourceSpec, Statement};
use area::Area;
use index::HeadIndex;
use smt::SmtError;
use solver::{Answer, Automata, Candidate, Smt, Solver, Undecided};
use witness::{candidate_actions_for, explain_violation};

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
    pub context: ContextMap,
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

/// Why a proof could not be attempted.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ProverError {
    /// No area was named and no `Allow` resource mentions the identity variable.
    #[error(
        "no area to check: no Allow statement's Resource mentions ${{cognito-identity.amazonaws.com:sub}} (under Version 2012-10-17); name one"
    )]
    NoArea,
    /// An area is not an ARN pattern.
    #[error("area {area:?}: {message}")]
    InvalidArea {
        /// The area as given.
        area: String,
        /// Why it is not an ARN pattern.
        message: String,
    },
    /// An area does not mention the identity variable.
    #[error("area {area:?} does not mention ${{cognito-identity.amazonaws.com:sub}}")]
    AreaWithoutIdentity {
        /// The area as given.
        area: String,
    },
    /// `fuzz isolation` was asked for more cases than one run may try.
    #[error("{cases} cases is more than one fuzz run may try (at most {max})", max = fuzz::MAX_CASES)]
    TooManyCases {
        /// The count asked for.
        cases: u64,
    },
    /// The SMT backend cannot be used.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Smt(#[from] SmtError),
}

/// The areas: every `Allow` resource pattern that mentions the identity variable (which
/// only a `2012-10-17` policy reads as a variable), in order, without repeats.
pub fn default_areas(set: &PolicySet) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for policy in set.policies() {
        for st in policy
            .statements
            .iter()
            .filter(|s| s.effect == Effect::Allow)
        {
            if let Some(ResourceSpec::Resource(patterns)) = &st.resource {
                for p in patterns.iter().filter(|p| mentions_identity(p)) {
                    if seen.insert(p.source()) {
                        out.push(p.source().to_string());
                    }
                }
            }
        }
    }
    out
}

/// Prove isolation of `areas` (default: [`default_areas`]) for `format`. `now` is the
/// time of the requests that confirm a counterexample (the library never reads the clock).
pub fn prove_isolation(
    set: &PolicySet,
    areas: &[String],
    format: &IdentityFormat,
    now: jiff::Timestamp,
) -> Result<Proof, ProverError> {
    prove_isolation_with(set, areas, format, &Backend::Automata, now)
}

/// Which [`Solver`] decides each search problem.
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

impl Backend {
    /// The solver this choice names.
    pub fn solver(&self) -> Box<dyn Solver> {
        match self {
            Backend::Automata => Box::new(Automata),
            Backend::Smt { program, args, dir } => Box::new(Smt {
                program: program.clone(),
                args: args.clone(),
                dir: dir.clone(),
                scripts: 0,
            }),
        }
    }
}

/// [`prove_isolation`] with a choice of backend.
pub fn prove_isolation_with(
    set: &PolicySet,
    areas: &[String],
    format: &IdentityFormat,
    backend: &Backend,
    now: jiff::Timestamp,
) -> Result<Proof, ProverError> {
    prove_isolation_by(set, areas, format, backend.solver().as_mut(), now)
}

/// [`prove_isolation`] with any [`Solver`].
pub fn prove_isolation_by(
    set: &PolicySet,
    areas: &[String],
    format: &IdentityFormat,
    solver: &mut dyn Solver,
    now: jiff::Timestamp,
) -> Result<Proof, ProverError> {
    let areas = compile_areas(set, areas)?;
    let mut run = Run {
        set,
        format,
        now,
        areas: &areas,
        area_index: HeadIndex::new(areas.iter().map(|a| &a.glob).zip(0..)),
        denies: Denies::new(set),
        covers: HashMap::new(),
        acts: HashMap::new(),
        assumptions: Vec::new(),
        noted: HashSet::new(),
        unknown: Vec::new(),
    };
    for &r in set.statement_refs() {
        if set.statement(r).effect != Effect::Allow {
            continue;
        }
        if let Some((c, reason)) = run.check_allow(r, solver)? {
            return Ok(run.proof(Verdict::Violated, reason, Some(c)));
        }
    }
    Ok(run.conclude())
}

/// The areas named, else [`default_areas`]; compiled.
fn compile_areas(set: &PolicySet, areas: &[String]) -> Result<Vec<Area>, ProverError> {
    let areas = if areas.is_empty() {
        default_areas(set)
    } else {
        areas.to_vec()
    };
    if areas.is_empty() {
        return Err(ProverError::NoArea);
    }
    areas.iter().map(|a| Area::parse(a)).collect()
}

/// What the `Deny` statements that certainly apply to one search problem exclude.
#[derive(Default)]
struct Exclusions {
    /// Resource patterns the resource must not match.
    must_not: Vec<Glob>,
    /// `NotResource` groups: the resource must match one pattern of each.
    must_match_any: Vec<Vec<Glob>>,
    /// One-pattern `NotResource` carve-outs with the identity slot.
    carve_outs: Vec<Glob>,
}

/// A `Deny` statement, compiled once for the whole proof.
struct Deny {
    r: StatementRef,
    /// Its `Resource` patterns: the glob, or `None` for a pattern with policy variables
    /// (which has no single value and is not used).
    resource: Vec<Option<Glob>>,
    /// Its `NotResource` patterns (every variable reading anything), and the one-pattern
    /// carve-out with the identity slot, if that is what it is.
    not_resource: Option<(Vec<Glob>, Option<Glob>)>,
}

/// The `Deny` statements of the set, compiled once and indexed by the literal heads of
/// their `Resource` patterns, so that each search problem only meets the patterns that
/// can overlap it (see [`index`]).
struct Denies {
    all: Vec<Deny>,
    /// (deny, pattern) by the pattern's literal head.
    by_head: HeadIndex<(usize, usize)>,
    /// The denies without `Resource` patterns (`NotResource`, or no resource element):
    /// every problem meets them.
    others: Vec<usize>,
}

impl Denies {
    fn new(set: &PolicySet) -> Denies {
        let mut all = Vec::new();
        for d in set.refs_with_effect(Effect::Deny) {
            let (resource, not_resource) = match &set.statement(d).resource {
                Some(ResourceSpec::Resource(ps)) => (
                    ps.iter()
                        .map(|p| (!p.has_variables()).then(|| arn_glob(p, &Variables::Widen)))
                        .collect(),
                    None,
                ),
                // A one-pattern carve-out with the identity (`Deny ... NotResource
                // private/${sub}/*`) keeps its slot: it can stand for the attacker when
                // the Allow itself does not depend on the identity.
                Some(ResourceSpec::NotResource(ps)) => (
                    Vec::new(),
                    Some((
                        ps.iter().map(|p| arn_glob(p, &Variables::Widen)).collect(),
                        match ps.as_slice() {
                            [only] if mentions_identity(only) => {
                                Some(arn_glob(only, &Variables::TrackIdentity))
                            }
                            _ => None,
                        },
                    )),
                ),
                None => (Vec::new(), None),
            };
            all.push(Deny {
                r: d,
                resource,
                not_resource,
            });
        }
        // A pattern with variables is indexed under an empty head: it meets every problem
        // (to be noted as not used).
        let empty = Glob(Vec::new());
        let mut entries = Vec::new();
        for (i, d) in all.iter().enumerate() {
            for (j, g) in d.resource.iter().enumerate() {
                entries.push((g.as_ref().unwrap_or(&empty), (i, j)));
            }
        }
        let by_head = HeadIndex::new(entries);
        let others = (0..all.len())
            .filter(|&i| all[i].resource.is_empty())
            .collect();
        Denies {
            all,
            by_head,
            others,
        }
    }
}

/// One proof in progress.
struct Run<'a> {
    set: &'a PolicySet,
    format: &'a IdentityFormat,
    /// The time of the confirming requests.
    now: jiff::Timestamp,
    areas: &'a [Area],
    /// The areas by the literal heads of their globs.
    area_index: HeadIndex<usize>,
    denies: Denies,
    /// `covers_every_action` by (Allow actions, Deny actions): many statements share
    /// their action lists.
    covers: HashMap<(String, String), bool>,
    /// `may_act_on` by (Allow actions, service).
    acts: HashMap<(String, String), bool>,
    assumptions: Vec<String>,
    noted: HashSet<String>,
    unknown: Vec<String>,
}

/// The action list of a statement as a key (equal keys cover the same actions).
fn action_key(st: &Statement) -> String {
    let (not, ps) = match &st.action {
        ActionSpec::Action(ps) => (false, ps),
        ActionSpec::NotAction(ps) => (true, ps),
    };
    let sources: Vec<&str> = ps.iter().map(|p| p.source()).collect();
    format!("{not}|{sources:?}")
}

impl Run<'_> {
    fn label(&self, r: StatementRef) -> String {
        self.set.label(r)
    }

    fn assume(&mut self, note: String) {
        if self.noted.insert(note.clone()) {
            self.assumptions.push(note);
        }
    }

    fn proof(
        self,
        verdict: Verdict,
        reason: String,
        counterexample: Option<Counterexample>,
    ) -> Proof {
        Proof {
            verdict,
            identity_format: self.format.name.clone(),
            format_description: self.format.description.clone(),
            areas: self.areas.iter().map(|a| a.source.clone()).collect(),
            reason,
            counterexample,
            assumptions: self.assumptions,
        }
    }

    /// Does the `Deny` `d` certainly apply wherever the `Allow` `r` does (no conditions,
    /// every action covered)? When not, that is noted.
    fn deny_applies(&mut self, r: StatementRef, d: StatementRef) -> bool {
        let (st, deny) = (self.set.statement(r), self.set.statement(d));
        let why_not = if !deny.conditions.is_empty() {
            Some("it has conditions, assumed not to hold")
        } else {
            let key = (action_key(st), action_key(deny));
            let covers = *self
                .covers
                .entry(key)
                .or_insert_with(|| covers_every_action(st, deny));
            (!covers).then_some("it does not certainly cover every action this Allow grants")
        };
        if let Some(why) = why_not {
            let note = format!("{} is ignored for {}: {why}", self.label(d), self.label(r));
            self.assume(note);
        }
        why_not.is_none()
    }

    /// What the `Deny` statements that certainly apply exclude for the `Allow` `r` on
    /// resources whose literal head is compatible with `head`; the denies that do not
    /// certainly apply are listed as assumptions. `None` when a `NotResource` deny leaves
    /// out none of those resources: every one of them is refused.
    fn exclusions(&mut self, r: StatementRef, head: &[u8]) -> Option<Exclusions> {
        let mut out = Exclusions::default();
        let mut hits = self.denies.by_head.compatible_with(head);
        hits.sort_unstable();
        for (i, j) in hits {
            let d = self.denies.all[i].r;
            if !self.deny_applies(r, d) {
                continue;
            }
            match &self.denies.all[i].resource[j] {
                Some(g) => out.must_not.push(g.clone()),
                None => {
                    let source = match &self.set.statement(d).resource {
                        Some(ResourceSpec::Resource(ps)) => ps[j].source().to_string(),
                        Some(ResourceSpec::NotResource(_)) | None => String::new(),
                    };
                    let note = format!(
                        "{}: pattern {source} is not used (its policy variables have no single value)",
                        self.label(d)
                    );
                    self.assume(note);
                }
            }
        }
        for k in 0..self.denies.others.len() {
            let i = self.denies.others[k];
            let d = self.denies.all[i].r;
            let Some((group, carve_out)) = self.denies.all[i].not_resource.clone() else {
                continue;
            };
            if !self.deny_applies(r, d) {
                continue;
            }
            if !group
                .iter()
                .any(|g| index::compatible(&g.literal_head(), head))
            {
                return None;
            }
            out.carve_outs.extend(carve_out);
            out.must_match_any.push(group);
        }
        Some(out)
    }

    /// Check one `Allow` against every area it can overlap: a confirmed counterexample
    /// (with the reason in words), or `None` (what could not be decided is recorded).
    fn check_allow(
        &mut self,
        r: StatementRef,
        solver: &mut dyn Solver,
    ) -> Result<Option<(Counterexample, String)>, ProverError> {
        let st = self.set.statement(r);
        let (allows, not_resources) = allow_globs(st);
        let mut noted_conditions = st.conditions.is_empty();
        for allow in &allows {
            let allow_head = allow.as_ref().map(Glob::literal_head).unwrap_or_default();
            let mut areas = self.area_index.compatible_with(&allow_head);
            areas.sort_unstable();
            for a in areas {
                let area = &self.areas[a];
                if !self.acts_on(r, area) {
                    continue;
                }
                if !noted_conditions {
                    noted_conditions = true;
                    let note = format!(
                        "{}: its conditions are assumed to be satisfiable",
                        self.label(r)
                    );
                    self.assume(note);
                }
                let area_head = area.glob.literal_head();
                let head = if area_head.len() > allow_head.len() {
                    &area_head
                } else {
                    &allow_head
                };
                let Some(exclusions) = self.exclusions(r, head) else {
                    continue;
                };
                let mut must_not = exclusions.must_not;
                must_not.extend(not_resources.iter().cloned());
                // An Allow that does not depend on the identity, under a carve-out that
                // does: the carve-out's pattern carries the attacker, and the Allow's own
                // pattern (if any) becomes a constraint to match.
                let mut must_match = exclusions.must_match_any;
                let tracked = match (
                    allow.as_ref().is_some_and(Glob::has_slot),
                    exclusions.carve_outs.first(),
                ) {
                    (false, Some(carve_out)) => {
                        must_match.extend(allow.iter().map(|a| vec![a.clone()]));
                        Some(carve_out)
                    }
                    (true, _) | (false, None) => allow.as_ref(),
                };
                let problem = Problem {
                    allow: tracked,
                    area: &area.glob,
                    must_not: &must_not,
                    must_match_any: &must_match,
                    format: self.format,
                };
                let answer = solver.decide(&problem)?;
                if let Some(c) = self.settle(r, area, answer) {
                    let reason = explain_violation(&c, tracked.is_some_and(Glob::has_slot));
                    return Ok(Some((c, reason)));
                }
            }
        }
        Ok(None)
    }

    /// Can the `Allow` `r` act on `area` at all? An action acts only on its own service's
    /// resources; a statement whose actions are all of other services is skipped, and
    /// that is listed as an assumption.
    fn acts_on(&mut self, r: StatementRef, area: &Area) -> bool {
        let st = self.set.statement(r);
        let Some(service) = area.service.as_deref() else {
            return true;
        };
        let key = (action_key(st), service.to_string());
        if *self
            .acts
            .entry(key)
            .or_insert_with(|| may_act_on(st, service))
        {
            return true;
        }
        let note = format!(
            "{}: its actions belong to other services than the area {}, so they are taken not to act on it",
            self.label(r),
            area.source
        );
        self.assume(note);
        false
    }

    /// Act on a solver's answer for `r` against `area`: a confirmed counterexample, or
    /// `None` with anything undecided recorded.
    fn settle(&mut self, r: StatementRef, area: &Area, answer: Answer) -> Option<Counterexample> {
        let label = self.label(r);
        let why = match answer {
            Answer::Empty => return None,
            Answer::Undecided(Undecided::StateLimit) => format!(
                "the search for {label} against area {} grew past {} states",
                area.source,
                crate::analysis::search::STATE_LIMIT
            ),
            Answer::Undecided(Undecided::Solver { program, why }) => format!(
                "{program} could not decide {label} against area {}: {why}",
                area.source
            ),
            Answer::Candidates(candidates) => {
                let mut reasons = Vec::new();
                for candidate in &candidates {
                    match witness::confirm(self.set, r, area, candidate, self.format, self.now) {
                        Ok(c) => return Some(c),
                        Err(e) => reasons.push(e),
                    }
                }
                let first = reasons.first().cloned().unwrap_or_default();
                match candidates.first() {
                    Some(Candidate::Concrete { solver, .. }) => format!(
                        "{label} may reach area {} ({solver}'s witness), but it was not confirmed: {first}",
                        area.source
                    ),
                    Some(Candidate::Witness(_)) | None => format!(
                        "{label} may reach area {}, but no witness was confirmed: {first}",
                        area.source
                    ),
                }
            }
        };
        self.unknown.push(why);
        None
    }

    /// The verdict once no counterexample was found: `unknown` when something was not
    /// decided or isolation would hold only vacuously, else `holds`.
    fn conclude(self) -> Proof {
        if !self.unknown.is_empty() {
            let reason = self.unknown.join("; ");
            return self.proof(Verdict::Unknown, reason, None);
        }
        // Not vacuous: an identity reaches its own area.
        let own = self.format.example().unwrap_or_default();
        if !reaches_own_area(self.set, self.areas, &own, self.now) {
            let reason = format!(
                "no identity was found to reach its own area (tried {own}): isolation would hold only vacuously"
            );
            return self.proof(Verdict::Unknown, reason, None);
        }
        let reason = format!(
            "for identities that are {}, no Allow statement reaches a resource inside another identity's area that no applicable Deny excludes; each identity reaches its own area (checked with {own})",
            self.format.description
        );
        self.proof(Verdict::Holds, reason, None)
    }
}

/// What an `Allow` covers: its resource patterns (identity as the slot; `None` for "every
/// resource"), and the patterns it leaves out (`NotResource` without variables; one with
/// variables is dropped, which only allows more).
fn allow_globs(st: &Statement) -> (Vec<Option<Glob>>, Vec<Glob>) {
    match &st.resource {
        Some(ResourceSpec::Resource(ps)) => (
            ps.iter()
                .map(|p| Some(arn_glob(p, &Variables::TrackIdentity)))
                .collect(),
            Vec::new(),
        ),
        Some(ResourceSpec::NotResource(ps)) => (
            vec![None],
            ps.iter()
                .filter(|p| !p.has_variables())
                .map(|p| arn_glob(p, &Variables::Widen))
                .collect(),
        ),
        None => (vec![None], Vec::new()),
    }
}

/// Does identity `own` reach its own area, for some `Allow` and one of its candidate
/// actions, as the evaluator decides?
fn reaches_own_area(set: &PolicySet, areas: &[Area], own: &str, now: jiff::Timestamp) -> bool {
    let allows: Vec<StatementRef> = set.refs_with_effect(Effect::Allow).collect();
    areas.iter().any(|area| {
        let resource = area.example(own);
        allows.iter().any(|&r| {
            let st = set.statement(r);
            let context = plausible_context(st, own);
            candidate_actions_for(st, area.service.as_deref())
                .iter()
                .any(|action| {
                    decide(set, action, &resource, own, &context, now) == Some(Decision::Allow)
                })
        })
    })
}

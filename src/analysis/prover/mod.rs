//! `prove isolation`: can any identity reach another identity's private area?
//!
//! An *area* is a resource pattern with `${cognito-identity.amazonaws.com:sub}`, such as
//! `arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}/*`. Isolation holds
//! when, for every two distinct identities `a ≠ b` of the identity format, no action is
//! allowed for `a` on a resource inside `b`'s area.
//!
//! The attacker is one principal (the Cognito role session) whose requests carry the
//! identity; every policy type AWS evaluates takes part ([`Policies`]): identity-based
//! `Allow`s and resource-policy `Allow`s that name the principal can grant, `Deny`s of
//! every type can keep isolation, and the boundary, the session policies and the SCP
//! levels must also allow (see `subject`).
//!
//! Method (why `holds` is sound, in `docs/prover.md`): for every `Allow` statement that
//! can grant and every area, a [`Solver`] looks for a resource accepted by the statement's pattern
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
mod listing;
pub mod smt;
pub mod solver;
mod subject;
mod witness;

use std::collections::{HashMap, HashSet};

use crate::analysis::actions::{covers_every_action, may_act_on, may_read_on, may_write_on};
use crate::analysis::confirm::ContextMap;
use crate::analysis::glob::{Class, Elem, Glob};
use crate::analysis::identity::IdentityFormat;
use crate::analysis::search::Problem;
use crate::analysis::translate::{Variables, arn_glob, mentions_identity};
use crate::eval::authorize::{AuthorizeError, Policies, PolicyType, TypedRef};
use crate::eval::{Decision, PolicySet};
use crate::lang::arn::ArnPattern;
use crate::lang::model::{ActionSpec, Effect, ResourceSpec, Statement};
use crate::lang::principal::Caller;
use area::Area;
pub use area::{AreaOwners, AreaSpec, Others, Touch};
use index::HeadIndex;
use smt::SmtError;
use solver::{Answer, Automata, Candidate, Smt, Solver, Undecided};
pub(crate) use subject::typed_label;
use subject::{Applying, Grantor, LevelPattern, Route, Subject, scope_globs};
pub use witness::Fix;
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

/// How a counterexample reaches the victim's area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// A request on a resource inside the area.
    Object,
    /// A listing of the bucket (`s3:ListBucket` ...) whose answer names resources inside
    /// the area.
    Listing,
}

impl Reach {
    /// `object` or `listing`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reach::Object => "object",
            Reach::Listing => "listing",
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
    /// The resource requested: inside the victim's area, or for a listing the bucket.
    pub resource: String,
    /// An object request or a listing.
    pub reach: Reach,
    /// For a listing: a resource inside the victim's area whose name the listing reveals.
    pub reveals: Option<String>,
    /// The area reached (as given).
    pub area: String,
    /// Whether the action reads or writes (the catalog's access level).
    pub class: crate::catalog::AccessClass,
    /// The request context under which `check` allows it.
    pub context: ContextMap,
    /// The principal making the request, when one was given.
    pub principal: Option<String>,
    /// The statement that allows it, with its policy type.
    pub statement: TypedRef,
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
    /// For `violated`: the smallest change to the policy that removes this
    /// counterexample, when one is obvious.
    pub fix: Option<Fix>,
    /// For `violated` with the default areas: a statement lets every identity read a
    /// prefix of the area (Amplify's protected level); the area may be meant as a
    /// `--write-area`.
    pub hint: Option<String>,
    /// For `holds`: the answer relies on the identity format; under `opaque` it is
    /// violated (with that counterexample).
    pub fragile: Option<Fragility>,
    /// What was assumed or left out (conditions, ignored denies).
    pub assumptions: Vec<String>,
    /// The areas checked, with what others may do inside each (in the order of `areas`).
    pub area_specs: Vec<AreaSpec>,
    /// Resource patterns of `Allow` statements without the identity variable: shared
    /// zones (`public/*`), listed, not reported unless they reach an area.
    pub shared: Vec<String>,
    /// For `holds` of one role among several ([`Scope::Among`]): no identity was found to
    /// reach its own area through these policies, so the role alone shows nothing about
    /// the areas; the roles together must reach them.
    pub vacuous: bool,
}

/// What a proof is part of: it decides whether `holds` needs an identity that reaches its
/// own area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The policies are the whole subject: `holds` needs some identity to reach its own
    /// area (else isolation would hold only vacuously, and the answer is `unknown`).
    Alone,
    /// The policies are one role among several that share the areas (the roles of an
    /// identity pool): a role that reaches no area of its own `holds` with
    /// [`Proof::vacuous`] set, and whoever combines the roles asks that one of them
    /// reaches its own area. `defaulted` says the areas are the roles' default areas.
    Among {
        /// The areas given are the roles' default areas, not named ones.
        defaulted: bool,
    },
}

/// Why a `holds` relies on the identity format.
#[derive(Debug, Clone)]
pub struct Fragility {
    /// The weaker format it fails under (`opaque`).
    pub format: String,
    /// The confirmed counterexample under that format.
    pub counterexample: Counterexample,
    /// Why, in words.
    pub reason: String,
    /// The change that makes it hold under that format too, when obvious.
    pub fix: Option<Fix>,
}

/// Why a proof could not be attempted.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ProverError {
    /// No area was named and no `Allow` resource mentions the identity variable.
    #[error(
        "no area to check: no Allow statement's Resource mentions ${{cognito-identity.amazonaws.com:sub}} (under Version 2012-10-17); name one"
    )]
    NoArea,
    /// `fuzz isolation` met a request the evaluator could not decide (a key it needs has
    /// no value), so "no counterexample" would be a guess.
    #[error("a sampled request cannot be decided, so sampling cannot answer: {reason}")]
    Undecided {
        /// The request and why.
        reason: String,
    },
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
    /// The policies cannot be used together, or not for this principal.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Policies(#[from] AuthorizeError),
    /// The principal is an account's root user, which every identity shares.
    #[error(
        "the principal {arn:?} is an account's root user, which has every permission in its account; isolation is about the sessions that carry identities: give the role session's ARN"
    )]
    RootPrincipal {
        /// The principal's ARN.
        arn: String,
    },
}

/// The areas: every `Allow` resource pattern that mentions the identity variable (which
/// only a `2012-10-17` policy reads as a variable), in order, without repeats.
pub fn default_areas(set: &PolicySet) -> Vec<String> {
    areas_in([set])
}

/// [`default_areas`] of the identity-based and the resource-based policies, in that
/// order.
pub fn default_areas_of(policies: &Policies) -> Vec<String> {
    areas_in(std::iter::once(&policies.identity).chain(policies.resource.iter().map(|p| &p.set)))
}

fn areas_in<'a>(sets: impl IntoIterator<Item = &'a PolicySet>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for policy in sets.into_iter().flat_map(|set| set.policies()) {
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

/// A resource inside the area `spec` of `identity`: its wildcards read `x` and its other
/// variables `x` (`arn:aws:s3:::b/private/ID/x`). Errors as a proof of the area would.
pub fn area_example(spec: &AreaSpec, identity: &str) -> Result<String, ProverError> {
    Ok(area::Area::parse(spec)?.example(identity))
}

/// Prove isolation of `areas` (default: [`default_areas_of`]) for `format`, for the
/// requests `principal` makes with each identity (`None`: identity-based policies alone,
/// as [`Policies::identity_only`] holds them; any other policy type needs the
/// principal). `now` is the time of the requests that confirm a counterexample (the
/// library never reads the clock).
pub fn prove_isolation(
    policies: &Policies,
    principal: Option<&Caller>,
    areas: &[AreaSpec],
    format: &IdentityFormat,
    now: jiff::Timestamp,
) -> Result<Proof, ProverError> {
    prove_isolation_with(policies, principal, areas, format, &Backend::Automata, now)
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
    policies: &Policies,
    principal: Option<&Caller>,
    areas: &[AreaSpec],
    format: &IdentityFormat,
    backend: &Backend,
    now: jiff::Timestamp,
) -> Result<Proof, ProverError> {
    prove_isolation_by(
        policies,
        principal,
        areas,
        format,
        backend.solver().as_mut(),
        now,
    )
}

/// [`prove_isolation`] with any [`Solver`].
///
/// A `holds` under a format other than `opaque` and `any` is proved again under `opaque`
/// (with the automata): when that is violated, the proof is fragile
/// ([`Proof::fragile`]): it relies on every id having one length.
pub fn prove_isolation_by(
    policies: &Policies,
    principal: Option<&Caller>,
    areas: &[AreaSpec],
    format: &IdentityFormat,
    solver: &mut dyn Solver,
    now: jiff::Timestamp,
) -> Result<Proof, ProverError> {
    prove_isolation_in(
        Scope::Alone,
        policies,
        principal,
        areas,
        format,
        solver,
        now,
    )
}

/// [`prove_isolation_by`] for a proof that is part of `scope`.
pub fn prove_isolation_in(
    scope: Scope,
    policies: &Policies,
    principal: Option<&Caller>,
    areas: &[AreaSpec],
    format: &IdentityFormat,
    solver: &mut dyn Solver,
    now: jiff::Timestamp,
) -> Result<Proof, ProverError> {
    let mut proof = prove_once(scope, policies, principal, areas, format, solver, now)?;
    if proof.verdict == Verdict::Holds && !format.is_weakest() {
        let opaque = IdentityFormat::parse("opaque").map_err(|e| ProverError::InvalidArea {
            area: String::new(),
            message: e.to_string(),
        })?;
        let weaker = prove_once(
            scope,
            policies,
            principal,
            areas,
            &opaque,
            &mut Automata,
            now,
        )?;
        if let (Verdict::Violated, Some(counterexample)) = (weaker.verdict, weaker.counterexample) {
            proof.fragile = Some(Fragility {
                format: opaque.name,
                counterexample,
                reason: weaker.reason,
                fix: weaker.fix,
            });
        }
    }
    Ok(proof)
}

/// One proof under one format.
fn prove_once(
    scope: Scope,
    policies: &Policies,
    principal: Option<&Caller>,
    areas: &[AreaSpec],
    format: &IdentityFormat,
    solver: &mut dyn Solver,
    now: jiff::Timestamp,
) -> Result<Proof, ProverError> {
    let subject = checked_subject(policies, principal, now)?;
    let defaulted = match scope {
        Scope::Alone => areas.is_empty(),
        Scope::Among { defaulted } => defaulted,
    };
    let areas = compile_areas(policies, areas)?;
    let mut run = Run {
        defaulted,
        require_own: scope == Scope::Alone,
        applying: areas.iter().map(|a| subject.applying(a)).collect(),
        denies: Denies::new(&subject),
        subject,
        format,
        now,
        areas: &areas,
        area_index: HeadIndex::new(areas.iter().map(|a| &a.glob).zip(0..)),
        covers: HashMap::new(),
        acts: HashMap::new(),
        writes: HashMap::new(),
        reads: HashMap::new(),
        limits: HashMap::new(),
        assumptions: Vec::new(),
        noted: HashSet::new(),
        unknown: Vec::new(),
    };
    let grantors = run.subject.grantors();
    for &g in &grantors {
        if let Some((c, reason)) = run.check_allow(g, solver)? {
            return Ok(run.violated(c, reason));
        }
    }
    for &g in &grantors {
        if let Some((c, reason)) = run.check_listing(g, solver)? {
            return Ok(run.violated(c, reason));
        }
    }
    Ok(run.conclude())
}

/// The subject of a proof or a fuzz run, once the policies are known to fit together and
/// to fit the principal (the errors `check` gives for them).
fn checked_subject<'a>(
    policies: &'a Policies,
    principal: Option<&Caller>,
    now: jiff::Timestamp,
) -> Result<Subject<'a>, ProverError> {
    policies.validate()?;
    let mut probe = crate::request::Request::new("s3:GetObject", "*");
    probe.principal = principal.cloned();
    policies.prepare(&mut probe)?;
    if let Some(c) = principal
        && subject::is_root(Some(c))
    {
        return Err(ProverError::RootPrincipal {
            arn: c.arn().to_string(),
        });
    }
    Ok(Subject::new(policies, principal, now))
}

/// The areas named, else [`default_areas_of`] as private areas; compiled.
fn compile_areas(policies: &Policies, areas: &[AreaSpec]) -> Result<Vec<Area>, ProverError> {
    let areas = if areas.is_empty() {
        default_areas_of(policies)
            .into_iter()
            .map(AreaSpec::private)
            .collect()
    } else {
        areas.to_vec()
    };
    if areas.is_empty() {
        return Err(ProverError::NoArea);
    }
    areas.iter().map(Area::parse).collect()
}

/// The resource patterns of the `Allow` statements (identity- and resource-based) that do
/// not mention the identity and name a resource of one of `services` (plain text in the
/// pattern): the shared zones, in order, without repeats.
fn shared_zones(policies: &Policies, services: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let sets = std::iter::once(&policies.identity).chain(policies.resource.iter().map(|p| &p.set));
    for policy in sets.flat_map(|set| set.policies()) {
        for st in policy
            .statements
            .iter()
            .filter(|s| s.effect == Effect::Allow)
        {
            let Some(ResourceSpec::Resource(patterns)) = &st.resource else {
                continue;
            };
            for p in patterns.iter().filter(|p| !mentions_identity(p)) {
                let service = match p {
                    crate::lang::arn::ArnPattern::Arn { parts, .. } => {
                        parts.get(1).and_then(|s| s.as_exact())
                    }
                    crate::lang::arn::ArnPattern::Any(_) => None,
                };
                let of_area =
                    service.is_some_and(|s| services.iter().any(|a| a.eq_ignore_ascii_case(s)));
                if of_area && !out.iter().any(|o| o == p.source()) {
                    out.push(p.source().to_string());
                }
            }
        }
    }
    out
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
    r: TypedRef,
    /// For a resource policy's `Deny` with `Resource` patterns: the resource the policy is
    /// for (it denies only there).
    scope: Option<String>,
    /// Its `Resource` patterns: the glob, or `None` for a pattern with policy variables
    /// (which has no single value and is not used).
    resource: Vec<Option<Glob>>,
    /// Its `NotResource` patterns (every variable reading anything), and the one-pattern
    /// carve-out with the identity slot, if that is what it is.
    not_resource: Option<(Vec<Glob>, Option<Glob>)>,
}

impl Deny {
    /// Compile the `Deny` `st`; `scope` is the resource its resource policy is for.
    fn new(r: TypedRef, st: &Statement, scope: Option<&str>) -> Deny {
        let (resource, not_resource) = match &st.resource {
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
            // A resource policy's statement without `Resource` denies the resource the
            // policy is for (exactly its scope); without a scope, whatever is requested.
            None => {
                let globs = match scope {
                    Some(scope) => scope_globs(scope),
                    None => vec![Glob(vec![Elem::Star(Class::All)])],
                };
                return Deny {
                    r,
                    scope: None,
                    resource: globs.into_iter().map(Some).collect(),
                    not_resource: None,
                };
            }
        };
        Deny {
            r,
            scope: scope.map(str::to_string),
            resource,
            not_resource,
        }
    }
}

/// The `Deny` statements of every policy type that name the attacker (a `Principal` or
/// `NotPrincipal` that does not cover it never applies), compiled once and indexed by the
/// literal heads of their `Resource` patterns, so that each search problem only meets the
/// patterns that can overlap it (see [`index`]).
struct Denies {
    all: Vec<Deny>,
    /// (deny, pattern) by the pattern's literal head.
    by_head: HeadIndex<(usize, usize)>,
    /// The denies without `Resource` patterns (`NotResource`, or no resource element):
    /// every problem meets them.
    others: Vec<usize>,
}

impl Denies {
    fn new(subject: &Subject) -> Denies {
        let mut all = Vec::new();
        for (policy_type, index, set) in subject.policies.sets() {
            let scope = subject.scope(policy_type, index);
            for d in set.refs_with_effect(Effect::Deny) {
                let st = set.statement(d);
                if !subject.names_attacker(st) {
                    continue;
                }
                let r = TypedRef {
                    policy_type,
                    index,
                    statement: d,
                };
                all.push(Deny::new(r, st, scope));
            }
        }
        Denies::index(all)
    }

    fn index(all: Vec<Deny>) -> Denies {
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
    /// No area was named: the default areas are checked (as private).
    defaulted: bool,
    /// `holds` needs an identity that reaches its own area ([`Scope::Alone`]).
    require_own: bool,
    subject: Subject<'a>,
    format: &'a IdentityFormat,
    /// The time of the confirming requests.
    now: jiff::Timestamp,
    areas: &'a [Area],
    /// The areas by the literal heads of their globs.
    area_index: HeadIndex<usize>,
    /// By area: the organization levels that take part.
    applying: Vec<Applying>,
    denies: Denies,
    /// `covers_every_action` by (Allow actions, Deny actions): many statements share
    /// their action lists.
    covers: HashMap<(String, String), bool>,
    /// `may_act_on` by (Allow actions, service).
    acts: HashMap<(String, String), bool>,
    /// `may_write_on` by (Allow actions, service).
    writes: HashMap<(String, String), bool>,
    /// `may_read_on` by (Allow actions, service).
    reads: HashMap<(String, String), bool>,
    /// What a limiting level lets through, by (Allow actions, level, area).
    limits: HashMap<(String, PolicyType, usize, usize), Option<Vec<LevelPattern>>>,
    assumptions: Vec<String>,
    noted: HashSet<String>,
    unknown: Vec<String>,
}

/// Does every condition of `deny` appear, the same operator, key and compiled values, among
/// the conditions of `allow`? Then in every request where `allow` applies, `deny`'s
/// conditions hold too (the same test on the same request). True for a `deny` without
/// conditions.
fn conditions_implied(deny: &Statement, allow: &Statement) -> bool {
    deny.conditions.iter().all(|d| {
        allow
            .conditions
            .iter()
            .any(|a| a.operator == d.operator && a.key_lower == d.key_lower && a.values == d.values)
    })
}

/// Can `st`'s conditions never hold together? Only plain contradictions are recognised:
/// one key tested by an operator and by its negation with the same values (`IpAddress`
/// and `NotIpAddress` of one range), or by `Bool` with two different values; each
/// without `IfExists` or a set qualifier. Such a statement applies to no request.
fn conditions_contradict(st: &Statement) -> bool {
    use crate::lang::condition::{Comparison, SetQualifier};
    let plain = |c: &crate::lang::condition::Condition| {
        !c.operator.if_exists && c.operator.qualifier == SetQualifier::None
    };
    st.conditions.iter().filter(|c| plain(c)).any(|a| {
        st.conditions.iter().filter(|c| plain(c)).any(|b| {
            a.key_lower == b.key_lower
                && a.operator.comparison == b.operator.comparison
                && ((a.operator.negated != b.operator.negated && a.values == b.values)
                    || (a.operator.comparison == Comparison::Bool
                        && !a.operator.negated
                        && !b.operator.negated
                        && a.values.len() == 1
                        && b.values.len() == 1
                        && a.values != b.values))
        })
    })
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
    fn label(&self, r: TypedRef) -> String {
        self.subject.label(r)
    }

    /// Note once per statement (`noted` starts true for one without conditions) that the
    /// `Allow` `r`'s conditions are taken as satisfiable.
    fn note_conditions(&mut self, r: TypedRef, noted: &mut bool) {
        if !*noted {
            *noted = true;
            let note = format!(
                "{}: its conditions are assumed to be satisfiable",
                self.label(r)
            );
            self.assume(note);
        }
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
        let services: Vec<&str> = self
            .areas
            .iter()
            .filter_map(|a| a.service.as_deref())
            .collect();
        Proof {
            verdict,
            identity_format: self.format.name.clone(),
            format_description: self.format.description.clone(),
            areas: self.areas.iter().map(|a| a.source.clone()).collect(),
            reason,
            counterexample,
            fix: None,
            hint: None,
            fragile: None,
            assumptions: self.assumptions,
            area_specs: self
                .areas
                .iter()
                .map(|a| AreaSpec {
                    pattern: a.source.clone(),
                    others: a.others,
                })
                .collect(),
            shared: shared_zones(self.subject.policies, &services),
            vacuous: false,
        }
    }

    /// The proof for a confirmed counterexample: with the fix when one is obvious, and
    /// with the default areas, the hint that a read-for-all statement may mean a
    /// protected area.
    fn violated(self, c: Counterexample, reason: String) -> Proof {
        let st = self.subject.statement(c.statement);
        let area = self.areas.iter().find(|a| a.source == c.area);
        let fix = area.and_then(|a| witness::fix_for(st, a, &c));
        let hint = match area {
            Some(a) if self.defaulted => {
                witness::protected_hint(st, a, &c, &self.subject.label(c.statement))
            }
            Some(_) | None => None,
        };
        let mut proof = self.proof(Verdict::Violated, reason, Some(c));
        proof.fix = fix;
        proof.hint = hint;
        proof
    }

    /// Does the `Deny` `d` certainly apply wherever the `Allow` `r` does (no conditions,
    /// every action covered)? When not, that is noted.
    fn deny_applies(&mut self, r: TypedRef, d: TypedRef) -> bool {
        let (st, deny) = (self.subject.statement(r), self.subject.statement(d));
        let why_not = if !conditions_implied(deny, st) {
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

    /// Does the `Deny` `i` take part in every request the problem with literal head `head`
    /// on area `area` searches? A resource policy's `Deny` only where every such resource
    /// lies under the policy's resource; an organization level's only where the level
    /// takes part for the area. When not, that is noted.
    fn deny_reaches(&mut self, i: usize, head: &[u8], area: usize) -> bool {
        let d = &self.denies.all[i];
        let why_not = match (d.r.policy_type, &d.scope) {
            (PolicyType::Resource, Some(scope)) => {
                let under = format!("{scope}/");
                (!head.starts_with(under.as_bytes())).then(|| {
                    format!(
                        "its policy is for {scope}, and not every resource searched is under it"
                    )
                })
            }
            (PolicyType::Scp, _) if !self.applying[area].scps[d.r.index] => Some(
                "its SCP level is not certain to take part in requests on this area".to_string(),
            ),
            (PolicyType::Rcp, _) if !self.applying[area].rcps[d.r.index] => Some(
                "its RCP level is not certain to take part in requests on this area".to_string(),
            ),
            _ => None,
        };
        if let Some(why) = &why_not {
            let note = format!(
                "{} is ignored for area {}: {why}",
                self.label(d.r),
                self.areas[area].source
            );
            self.assume(note);
        }
        why_not.is_none()
    }

    /// What the `Deny` statements that certainly apply exclude for the `Allow` `r` on
    /// resources of area `area` whose literal head is compatible with `head`; the denies
    /// that do not certainly apply are listed as assumptions. `None` when a `NotResource`
    /// deny leaves out none of those resources: every one of them is refused.
    fn exclusions(&mut self, r: TypedRef, head: &[u8], area: usize) -> Option<Exclusions> {
        let mut out = Exclusions::default();
        let mut hits = self.denies.by_head.compatible_with(head);
        hits.sort_unstable();
        for (i, j) in hits {
            let d = self.denies.all[i].r;
            if !self.deny_reaches(i, head, area) || !self.deny_applies(r, d) {
                continue;
            }
            match &self.denies.all[i].resource[j] {
                Some(g) => out.must_not.push(g.clone()),
                None => {
                    let source = match &self.subject.statement(d).resource {
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
            if !self.deny_reaches(i, head, area) || !self.deny_applies(r, d) {
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

    /// What the levels that must also allow (boundary, session policies, SCP levels, and
    /// across accounts the resource policies) let through for `g` on area `area`: one
    /// group per level, the resource must match a pattern of each. A level that narrows
    /// nothing gives no group.
    fn limits(&mut self, g: Grantor, area: usize) -> Vec<Vec<LevelPattern>> {
        let st = self.subject.statement(g.r);
        let service = self.areas[area].service.as_deref();
        let mut levels = self.subject.limiting_levels(g.route, &self.applying[area]);
        let resource_side = (PolicyType::Resource, usize::MAX);
        if g.route == Route::Identity && self.subject.cross_account(&self.areas[area]) {
            levels.push(resource_side);
        }
        let mut out = Vec::new();
        for level in levels {
            let key = (action_key(st), level.0, level.1, area);
            let subject = &self.subject;
            let group = self.limits.entry(key).or_insert_with(|| {
                if level == resource_side {
                    subject.resource_side_allows(st, service)
                } else {
                    subject.level_allows(level, st, service)
                }
            });
            out.extend(group.clone());
        }
        out
    }

    /// Check one `Allow` against every area it can overlap: a confirmed counterexample
    /// (with the reason in words), or `None` (what could not be decided is recorded).
    fn check_allow(
        &mut self,
        g: Grantor,
        solver: &mut dyn Solver,
    ) -> Result<Option<(Counterexample, String)>, ProverError> {
        let r = g.r;
        let st = self.subject.statement(r);
        if conditions_contradict(st) {
            return Ok(None);
        }
        let (allows, not_resources) = allow_globs(st);
        let scope = self.subject.scope(r.policy_type, r.index);
        let mut noted_conditions = st.conditions.is_empty();
        let patterns: Vec<Option<&ArnPattern>> = match &st.resource {
            Some(ResourceSpec::Resource(ps)) => ps.iter().map(Some).collect(),
            Some(ResourceSpec::NotResource(_)) | None => vec![None],
        };
        for (allow, pattern) in allows.iter().zip(patterns) {
            let allow_head = match (allow, scope) {
                (Some(a), _) => a.literal_head(),
                (None, Some(scope)) => scope.as_bytes().to_vec(),
                (None, None) => Vec::new(),
            };
            let mut areas = self.area_index.compatible_with(&allow_head);
            areas.sort_unstable();
            for a in areas {
                let area = &self.areas[a];
                if pattern.is_some_and(|p| *p == area.pattern && identity_determined(p)) {
                    // The area's own pattern, literal but for the identity: a resource it
                    // matches names one identity, so attacker and victim are the same.
                    continue;
                }
                if !self.acts_on(r, area) || !self.grants_alone(g, area) {
                    continue;
                }
                self.note_conditions(r, &mut noted_conditions);
                let area_head = area.glob.literal_head();
                let head = if area_head.len() > allow_head.len() {
                    &area_head
                } else {
                    &allow_head
                };
                let Some(exclusions) = self.exclusions(r, head, a) else {
                    continue;
                };
                let mut must_not = exclusions.must_not;
                must_not.extend(not_resources.iter().cloned());
                let mut must_match = exclusions.must_match_any;
                must_match.extend(scope.map(scope_globs));
                let limits = self.limits(g, a);
                for (tracked, must_match) in
                    shapes(allow.as_ref(), &exclusions.carve_outs, must_match, limits)
                {
                    let problem = Problem {
                        allow: tracked.as_ref(),
                        area: &area.glob,
                        must_not: &must_not,
                        must_match_any: &must_match,
                        format: self.format,
                    };
                    let answer = solver.decide(&problem)?;
                    if let Some(c) = self.settle(r, a, answer) {
                        let reason = explain_violation(
                            &c,
                            &self.areas[a],
                            tracked.is_some_and(|t| t.has_slot()),
                        );
                        return Ok(Some((c, reason)));
                    }
                }
            }
        }
        Ok(None)
    }

    /// Can `g` grant on `area` without the identity side? A resource-policy grant does
    /// only within the principal's account: on an area certainly in another account the
    /// identity-based `Allow`s (searched on their own) are needed as well.
    fn grants_alone(&mut self, g: Grantor, area: &Area) -> bool {
        match g.route {
            Route::Identity => true,
            Route::Role | Route::Direct => {
                if !self.subject.cross_account(area) {
                    return true;
                }
                let note = format!(
                    "{}: the area {} is in another account than the principal's, so this grant needs an identity-based Allow as well (those are searched on their own)",
                    self.label(g.r),
                    area.source
                );
                self.assume(note);
                false
            }
        }
    }

    /// Can the `Allow` `r` act on `area` at all, in a way the area forbids to others? An
    /// action acts only on its own service's resources; a statement whose actions are all
    /// of other services is skipped, and that is listed as an assumption. On a protected
    /// area, a statement that can only read (the catalog's `Read` and `List` actions) is
    /// skipped too: others may read there.
    fn acts_on(&mut self, r: TypedRef, area: &Area) -> bool {
        let st = self.subject.statement(r);
        let Some(service) = area.service.as_deref() else {
            return true;
        };
        let key = (action_key(st), service.to_string());
        if *self
            .acts
            .entry(key.clone())
            .or_insert_with(|| may_act_on(st, service))
        {
            return match area.others {
                Others::Nothing => true,
                Others::Read => *self
                    .writes
                    .entry(key)
                    .or_insert_with(|| may_write_on(st, service)),
                Others::Write => *self
                    .reads
                    .entry(key)
                    .or_insert_with(|| may_read_on(st, service)),
            };
        }
        let note = format!(
            "{}: its actions belong to other services than the area {}, so they are taken not to act on it",
            self.label(r),
            area.source
        );
        self.assume(note);
        false
    }

    /// Act on a solver's answer for `r` against area `a`: a confirmed counterexample, or
    /// `None` with anything undecided recorded.
    fn settle(&mut self, r: TypedRef, a: usize, answer: Answer) -> Option<Counterexample> {
        self.settle_with(r, a, answer, witness::Request::Object)
    }

    /// [`Run::settle`] for the kind of request `request` says.
    fn settle_with(
        &mut self,
        r: TypedRef,
        a: usize,
        answer: Answer,
        request: witness::Request<'_>,
    ) -> Option<Counterexample> {
        let label = self.label(r);
        let area = &self.areas[a];
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
                    let found = witness::confirm(
                        &self.subject,
                        (r, request),
                        area,
                        candidate,
                        self.format,
                        self.now,
                    );
                    match found {
                        Ok(c) => return Some(c),
                        Err(e) => reasons.push(e),
                    }
                }
                if let Some(c) =
                    witness::confirm_pool(&self.subject, (r, request), area, self.format, self.now)
                {
                    return Some(c);
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
        let found = own_identities(self.format)
            .into_iter()
            .find(|own| reaches_own_area(&self.subject, self.areas, own, self.now));
        let own = found
            .clone()
            .unwrap_or_else(|| readable_identity(self.format));
        if found.is_none() {
            if self.require_own {
                let reason = format!(
                    "no identity was found to reach its own area (tried {own}): isolation would hold only vacuously"
                );
                return self.proof(Verdict::Unknown, reason, None);
            }
            let reason = format!(
                "for identities that are {}, no Allow statement reaches a resource inside another identity's area that no applicable Deny excludes; no identity reaches its own area either (tried {own}): these policies give no access to the areas",
                self.format.description
            );
            let mut proof = self.proof(Verdict::Holds, reason, None);
            proof.vacuous = true;
            return proof;
        }
        let reason = format!(
            "for identities that are {}, no Allow statement reaches a resource inside another identity's area that no applicable Deny excludes; each identity reaches its own area (checked with {own})",
            self.format.description
        );
        self.proof(Verdict::Holds, reason, None)
    }
}

/// The search problems for one `Allow` pattern (`None`: every resource): which pattern
/// carries the attacker's identity (the tracked one), and the groups the resource must
/// match a pattern of. The search tracks one attacker slot, so:
/// - an `Allow` that depends on the identity carries it, and the limiting levels'
///   patterns read every variable as anything (a widening);
/// - otherwise a one-pattern `NotResource` carve-out holding the identity carries it,
///   and the `Allow`'s own pattern becomes a constraint to match;
/// - otherwise, when a limiting level (boundary, session policies, an SCP level) has
///   patterns with the identity, one problem per pattern of that level (the resource
///   must match one of them: a disjunction), that pattern carrying the attacker's
///   identity, which is what the evaluator reads for it.
fn shapes(
    allow: Option<&Glob>,
    carve_outs: &[Glob],
    mut must_match: Vec<Vec<Glob>>,
    mut limits: Vec<Vec<LevelPattern>>,
) -> Vec<(Option<Glob>, Vec<Vec<Glob>>)> {
    let widened = |group: &[LevelPattern]| group.iter().map(|p| p.widened.clone()).collect();
    if allow.is_some_and(Glob::has_slot) {
        must_match.extend(limits.iter().map(|g| widened(g)));
        return vec![(allow.cloned(), must_match)];
    }
    if let Some(carve_out) = carve_outs.first() {
        must_match.extend(allow.iter().map(|a| vec![(*a).clone()]));
        must_match.extend(limits.iter().map(|g| widened(g)));
        return vec![(Some(carve_out.clone()), must_match)];
    }
    let Some(k) = limits
        .iter()
        .position(|g| g.iter().any(|p| p.tracked.is_some()))
    else {
        must_match.extend(limits.iter().map(|g| widened(g)));
        return vec![(allow.cloned(), must_match)];
    };
    let split = limits.remove(k);
    must_match.extend(allow.iter().map(|a| vec![(*a).clone()]));
    must_match.extend(limits.iter().map(|g| widened(g)));
    split
        .into_iter()
        .map(|p| (Some(p.tracked.unwrap_or(p.widened)), must_match.clone()))
        .collect()
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

/// Is `p` literal text but for occurrences of the identity variable (at least one)? Then
/// a resource it matches for some identity determines that identity: the text around
/// the occurrences is fixed, so the resource's length gives the identity's length, and
/// the identity is the text at its first occurrence.
fn identity_determined(p: &ArnPattern) -> bool {
    use crate::lang::variables::Piece;
    let ArnPattern::Arn { parts, .. } = p else {
        return false;
    };
    mentions_identity(p)
        && parts
            .iter()
            .flat_map(|part| part.pieces())
            .all(|piece| match piece {
                Piece::Literal(_) => true,
                Piece::Variable(v) => crate::analysis::translate::is_identity(v),
                Piece::Star | Piece::AnyChar => false,
            })
}

/// A readable identity of `format` for examples: a realistic Cognito id, `alice`, or the
/// format's shortest id.
fn readable_identity(format: &IdentityFormat) -> String {
    [crate::analysis::identity::COGNITO_EXAMPLES[0], "alice"]
        .into_iter()
        .find(|id| format.matches(id))
        .map(str::to_string)
        .or_else(|| format.example())
        .unwrap_or_default()
}

/// The identities the vacuity check tries: a readable one, the format's shortest, and
/// one more.
fn own_identities(format: &IdentityFormat) -> Vec<String> {
    let mut out = vec![readable_identity(format)];
    for id in [format.example(), format.example_except(&["a", "0"])]
        .into_iter()
        .flatten()
    {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// Requests the vacuity check may decide for one identity before it answers "no".
const OWN_AREA_BUDGET: usize = 4_096;

/// Does identity `own` reach its own area, for some statement that can grant and one of
/// its candidate actions, as the evaluator decides? Each statement is tried with its
/// plausible context, then with the alternative contexts its conditions and those of the
/// conditional `Deny`s suggest ([`crate::analysis::confirm::alternative_contexts`]),
/// within [`OWN_AREA_BUDGET`] decisions. Only an `Allow` the evaluator gives counts, so
/// a "yes" is always real.
fn reaches_own_area(subject: &Subject, areas: &[Area], own: &str, now: jiff::Timestamp) -> bool {
    let grantors = subject.grantors();
    let conditional_denies: Vec<&Statement> = subject
        .policies
        .sets()
        .flat_map(|(_, _, set)| {
            set.refs_with_effect(Effect::Deny)
                .map(move |d| set.statement(d))
        })
        .filter(|st| !st.conditions.is_empty())
        .collect();
    // A decision depends only on the request: statements that share their actions and
    // context ask the same ones, which are decided once.
    let mut actions: HashMap<(String, Option<String>), Vec<String>> = HashMap::new();
    let mut asked: HashSet<(String, String, ContextMap)> = HashSet::new();
    let mut allowed = |action: &str, resource: &str, context: &ContextMap| {
        asked.insert((action.to_string(), resource.to_string(), context.clone()))
            && subject.decide(action, resource, own, context, now) == Some(Decision::Allow)
    };
    // First every statement with its plausible context (as many decisions as distinct
    // requests), then the alternatives within the budget.
    for area in areas {
        let resource = area.example(own);
        for g in &grantors {
            let st = subject.statement(g.r);
            let context = subject.context(st, own);
            let list = actions
                .entry((action_key(st), area.service.clone()))
                .or_insert_with(|| candidate_actions_for(st, area.service.as_deref()));
            if list
                .iter()
                .any(|action| allowed(action, &resource, &context))
            {
                return true;
            }
        }
    }
    let mut budget = OWN_AREA_BUDGET;
    for area in areas {
        let resource = area.example(own);
        for g in &grantors {
            let st = subject.statement(g.r);
            let list = actions
                .entry((action_key(st), area.service.clone()))
                .or_insert_with(|| candidate_actions_for(st, area.service.as_deref()))
                .clone();
            let base = subject.context(st, own);
            let mut statements = vec![st];
            statements.extend(conditional_denies.iter().copied());
            let contexts = crate::analysis::confirm::alternative_contexts(&statements, &base, own);
            for context in contexts.iter().skip(1) {
                for action in &list {
                    if budget == 0 {
                        return false;
                    }
                    budget -= 1;
                    if allowed(action, &resource, context) {
                        return true;
                    }
                }
            }
        }
    }
    false
}

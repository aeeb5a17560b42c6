//! The access report of a gate file ([`crate::report::access`]): the gate's checks, and
//! per gate who can reach each per-identity area, decided with the same prover and
//! evaluator as every other command.
//!
//! | cell | how it is decided |
//! |---|---|
//! | own identity | sampled: every documented action of the class that applies to a resource of the owner's area (and for read, a listing of the owner's folder), through the Cognito flow when the template has an identity pool |
//! | other identities | proved: the isolation prover, asked about reads alone and writes alone, with the authenticated roles as the attacker |
//! | guests | proved the same way with the unauthenticated role as the attacker |
//! | everyone via a resource policy | proved, for each outsider [`outsiders`] lists, against the resource-based policies |

use jiff::Timestamp;

use super::config::{GateConfig, Source};
use super::loading::{load_source, load_types};
use super::{GateError, run::decide};
use crate::analysis::identity::IdentityFormat;
use crate::analysis::prover::{
    AreaSpec, Counterexample, Others, Proof, Scope, Verdict, area_example, default_areas_of,
    prove_isolation, prove_isolation_in,
};
use crate::catalog::{AccessClass, Applicability, catalog};
use crate::cognito::roles::{PoolInputs, RoleKind, RoleProof, prove_pool};
use crate::cognito::{FlowRequest, has_identity_pool, simulate_with};
use crate::eval::Decision;
use crate::eval::authorize::{Policies, TypedRef};
use crate::lang::principal::Caller;
use crate::lint::{Finding, Locations};
use crate::load::Loaded;
use crate::loc::Loc;
use crate::managed::Claim;
use crate::report::access::{
    AccessReport, Cell, Class, CounterexampleView, FindingView, FlowStepView, GateAccess,
    MatrixRow, PolicyText, Reach, RoleAccess, StatementSpan,
};
use crate::report::gate::GateFinding;
use crate::request::Request;
use crate::template::Template;

/// The most areas one gate's report shows.
pub const MAX_AREAS: usize = 32;

/// The identity the sampled requests use, when the identity format takes it.
const OWNER: &str = "us-east-1:9bd0357e-2ac1-418d-a609-bc5e7bc064e3";

/// Build the access report of `gates` (one gate file) and `report`, what [`super::run`]
/// found for them: decide every cell. `now` is the time of every request (the library never reads the clock).
///
/// Costs two prover runs per area (reads, writes) per attacker role, and one decision per
/// documented action of the area's service per sampled cell.
pub fn access_report(
    config: &str,
    gates: &[GateConfig],
    report: super::GateReport,
    now: Timestamp,
) -> Result<AccessReport, GateError> {
    let mut out = Vec::new();
    for cfg in gates {
        out.push(gate_access(cfg, &report.checks, &report.findings, now)?);
    }
    Ok(AccessReport {
        config: config.to_string(),
        decided_at: now.to_string(),
        checks: report.checks,
        gates: out,
    })
}

/// A role whose policies the report shows and samples.
struct Party {
    name: String,
    kind: Option<RoleKind>,
    caller: Option<Caller>,
    loaded: Option<Loaded>,
    unresolved: Option<String>,
}

fn gate_access(
    cfg: &GateConfig,
    checks: &[crate::report::gate::CheckResult],
    findings: &[GateFinding],
    now: Timestamp,
) -> Result<GateAccess, GateError> {
    let (loaded, session, template) = load_source(cfg)?;
    let typed = load_types(cfg)?;
    let at_file = || Loc::new(cfg.file.display().to_string(), 1, 1);
    let policies = loaded
        .policies()
        .with(typed.policies.clone())
        .map_err(|e| cannot(&at_file(), e))?;
    let caller = cfg
        .principal
        .as_ref()
        .map(|(c, _)| c.clone())
        .or_else(|| session.clone().filter(|_| !policies.is_identity_only()));
    // Every area with the identity format its check proves it for (the policies' own
    // areas, private and under `cognito`, when the gate names none).
    let mut areas: Vec<AreaCheck> = Vec::new();
    for iso in &cfg.isolation {
        let format = IdentityFormat::parse(&iso.format).map_err(|m| cannot(&iso.loc, m))?;
        let specs = if iso.areas.is_empty() {
            default_areas_of(&policies)
                .into_iter()
                .map(AreaSpec::private)
                .collect()
        } else {
            iso.areas.clone()
        };
        for spec in specs {
            areas.push(AreaCheck::new(spec, &format, &iso.loc)?);
        }
    }
    if cfg.isolation.is_empty() {
        let format = IdentityFormat::parse("cognito").map_err(|m| cannot(&at_file(), m))?;
        for a in default_areas_of(&policies) {
            areas.push(AreaCheck::new(AreaSpec::private(a), &format, &at_file())?);
        }
    }
    let mut seen = std::collections::HashSet::new();
    areas.retain(|a| seen.insert((a.spec.clone(), a.format.name.clone())));
    // Each area costs four proofs per role: a bound keeps a policy with thousands of
    // identity-scoped resources from running for hours.
    if areas.len() > MAX_AREAS {
        let loc = cfg
            .isolation
            .first()
            .map_or_else(at_file, |i| i.loc.clone());
        return Err(cannot(
            &loc,
            format!(
                "the report shows at most {MAX_AREAS} areas, and this gate has {}: name the areas to show in an isolation check's areas",
                areas.len()
            ),
        ));
    }

    let pool = template.as_ref().filter(|t| has_identity_pool(t));
    let mut parties = Vec::new();
    let mut notes = template.as_ref().map_or_else(Vec::new, |t| t.notes.clone());
    match (&cfg.source, pool) {
        (_, Some(t)) => {
            let pool_roles =
                crate::cognito::roles::pool_roles(t).map_err(|e| cannot(&at_file(), e))?;
            for role in pool_roles.roles {
                let (caller, loaded) = if role.unresolved.is_some() {
                    (None, None)
                } else {
                    let loaded =
                        crate::load::load_role(&cfg.root, t, Some(&role.role), &cfg.managed)
                            .map_err(GateError::Policies)?;
                    let caller = match &cfg.principal {
                        Some((c, _)) => c.clone(),
                        None => crate::cognito::role_session(t, &role.role)
                            .map_err(|e| cannot(&at_file(), e))?,
                    };
                    (Some(caller), Some(loaded))
                };
                parties.push(Party {
                    name: role.role.clone(),
                    kind: Some(role.kind),
                    caller,
                    loaded,
                    unresolved: role.unresolved.clone(),
                });
            }
            notes.extend(pool_roles.notes);
        }
        (Source::Template { .. }, None) => parties.push(Party {
            name: template
                .as_ref()
                .and_then(|t| t.select_role(role_of(cfg)).ok())
                .unwrap_or_else(|| "role".into()),
            kind: None,
            caller: caller.clone(),
            loaded: Some(loaded),
            unresolved: None,
        }),
        (Source::Policies(_), None) => parties.push(Party {
            name: "policies".into(),
            kind: None,
            caller: caller.clone(),
            loaded: Some(loaded),
            unresolved: None,
        }),
    }
    notes.dedup();

    let mut counterexamples = Vec::new();
    let mut matrix = Vec::new();
    for area in &areas {
        for class in [Class::Read, Class::Write] {
            let row = matrix_row(
                cfg,
                (pool, &parties, &policies, &typed.policies, caller.as_ref()),
                (area, class),
                &mut counterexamples,
                now,
            )?;
            matrix.push(row);
        }
    }
    let no_matrix = areas.is_empty().then(|| {
        "no per-identity area: no Allow statement's Resource mentions ${cognito-identity.amazonaws.com:sub}, and the gate file names none".to_string()
    });

    let mut roles = Vec::new();
    for (i, p) in parties.iter().enumerate() {
        // The resource-based policies and the gate's other policy types are the same for
        // every role: shown with the first.
        let files = if i == 0 { &typed.files[..] } else { &[] };
        roles.push(role_access(
            cfg,
            pool,
            (p, i == 0),
            (&typed.policies, files),
            findings,
            areas.first(),
            now,
        ));
    }
    // Link each counterexample to the statement that allows it.
    for (i, c) in counterexamples.iter().enumerate() {
        if let Some(anchor) = &c.anchor {
            for r in &mut roles {
                for p in &mut r.policies {
                    for s in &mut p.statements {
                        if &s.anchor == anchor {
                            s.counterexamples.push(i);
                        }
                    }
                }
            }
        }
    }
    let checks: Vec<_> = checks
        .iter()
        .filter(|c| c.gate == cfg.name)
        .cloned()
        .collect();
    let baseline = checks.iter().find(|c| c.kind == "no-new-access").cloned();
    Ok(GateAccess {
        name: cfg.name.clone(),
        source: match &cfg.source {
            Source::Policies(p) => format!("policies: {}", p.join(", ")),
            Source::Template { file, role, .. } => match role {
                Some(r) => format!("template: {file} (role {r})"),
                None => format!("template: {file}"),
            },
        },
        notes,
        matrix,
        no_matrix,
        counterexamples,
        roles,
        checks,
        baseline,
    })
}

/// An area, the identity format it is proved for, where the gate file says so, and the
/// identities the sampled requests use (the owner, and another).
struct AreaCheck {
    spec: AreaSpec,
    format: IdentityFormat,
    loc: Loc,
    owner: String,
}

impl AreaCheck {
    fn new(spec: AreaSpec, format: &IdentityFormat, loc: &Loc) -> Result<AreaCheck, GateError> {
        // An identity that looks like Cognito's, when the format takes it.
        let owner = if format.matches(OWNER) {
            Some(OWNER.to_string())
        } else {
            format.example()
        }
        .ok_or_else(|| cannot(loc, "the identity format matches no identity"))?;
        Ok(AreaCheck {
            spec,
            format: format.clone(),
            loc: loc.clone(),
            owner,
        })
    }
}

fn role_of(cfg: &GateConfig) -> Option<&str> {
    match &cfg.source {
        Source::Template { role, .. } => role.as_deref(),
        Source::Policies(_) => None,
    }
}

fn cannot(loc: &Loc, message: impl std::fmt::Display) -> GateError {
    GateError::Check {
        loc: loc.clone(),
        message: message.to_string(),
    }
}

/// One row: `area` and `class`, every party's cell. `typed` are the gate file's policy
/// types (resource-based policies, boundary, session, SCPs, RCPs), which take part in every
/// role's requests.
fn matrix_row(
    cfg: &GateConfig,
    (pool, parties, policies, typed, caller): (
        Option<&Template>,
        &[Party],
        &Policies,
        &Policies,
        Option<&Caller>,
    ),
    (area, class): (&AreaCheck, Class),
    counterexamples: &mut Vec<CounterexampleView>,
    now: Timestamp,
) -> Result<MatrixRow, GateError> {
    let (spec, format, loc, owner) = (&area.spec, &area.format, &area.loc, &area.owner);
    let protected = spec.others == Others::Read;
    // Others may read a protected area; nothing else is theirs.
    let forbidden = !(protected && class == Class::Read);
    let requests = sample_requests(spec, class, owner).map_err(|m| cannot(loc, m))?;

    // The owner, on its own area.
    let own = match pool {
        Some(t) => own_by_flow(cfg, t, typed, &requests, owner, now),
        None => own_by_policies(policies, caller, parties, &requests, owner, now),
    };
    let own = own_cell(own);

    // Other identities, guests and everyone else: proofs about this class alone.
    let asked = AreaSpec {
        pattern: spec.pattern.clone(),
        others: match class {
            Class::Read => Others::Write,
            Class::Write => Others::Read,
        },
    };
    let (others, guests) = match pool {
        Some(t) => {
            let inputs = PoolInputs {
                root: &cfg.root,
                given: &cfg.managed,
                extra: typed,
                principal: cfg.principal.as_ref().map(|(c, _)| c),
                backend: &crate::analysis::prover::Backend::Automata,
            };
            let proof = prove_pool(t, &inputs, std::slice::from_ref(&asked), format, now)
                .map_err(|m| cannot(loc, m))?;
            let by = |guest: bool| -> Vec<&RoleProof> {
                proof
                    .roles
                    .iter()
                    .filter(|r| (r.role.kind == RoleKind::Unauthenticated) == guest)
                    .collect()
            };
            let others = proved_cell(&by(false), forbidden, counterexamples);
            let guests = if by(true).is_empty() {
                none_cell("the identity pool has no unauthenticated role")
            } else {
                proved_cell(&by(true), forbidden, counterexamples)
            };
            (others, guests)
        }
        None => {
            let mut proof =
                prove_isolation(policies, caller, std::slice::from_ref(&asked), format, now)
                    .map_err(|m| cannot(loc, m))?;
            if let Some(l) = parties.first().and_then(|p| p.loaded.as_ref()) {
                l.settle(&mut proof);
            }
            let cell = proof_cell(&proof, policies, forbidden, counterexamples);
            (cell, none_cell("no identity pool: no guest role"))
        }
    };

    // Everyone, through the resource-based policies.
    let everyone = everyone_cell(
        policies,
        caller,
        (&asked, format),
        forbidden,
        counterexamples,
        now,
    );

    let cells = [&others, &guests, &everyone];
    let verdict = if cells.iter().any(|c| c.forbidden && c.reach == Reach::Yes) {
        "violated"
    } else if cells
        .iter()
        .any(|c| c.forbidden && c.reach == Reach::Unknown)
    {
        "unknown"
    } else {
        "holds"
    };
    Ok(MatrixRow {
        area: spec.pattern.clone(),
        kind: if protected { "protected" } else { "private" },
        identity_format: format.name.clone(),
        owner: owner.clone(),
        class,
        own,
        others,
        guests,
        everyone,
        verdict,
    })
}

/// A sampled request: action, resource, context.
struct Sample {
    action: String,
    resource: String,
    context: Vec<(String, String)>,
}

/// The requests tried for `class` on the area of `identity`: every documented action of
/// the area's service of that class that applies to a resource inside the area, and for
/// read on an S3 area a listing of the identity's folder.
fn sample_requests(spec: &AreaSpec, class: Class, identity: &str) -> Result<Vec<Sample>, String> {
    let resource = area_example(spec, identity).map_err(|e| e.to_string())?;
    let service = resource.split(':').nth(2).unwrap_or_default().to_string();
    let want = match class {
        Class::Read => AccessClass::Read,
        Class::Write => AccessClass::Write,
    };
    let mut out = Vec::new();
    if let Some(s) = catalog().service(&service) {
        for a in &s.actions {
            let name = format!("{}:{}", s.prefix, a.name);
            if a.access_class() == want
                && matches!(
                    catalog().applies_to(&name, &resource),
                    Some(Applicability::Applies(_))
                )
            {
                out.push(Sample {
                    action: name,
                    resource: resource.clone(),
                    context: tls(),
                });
            }
        }
    }
    if class == Class::Read
        && service == "s3"
        && let Some((bucket, key)) = resource
            .strip_prefix("arn:aws:s3:::")
            .and_then(|r| r.split_once('/'))
        && let Some(at) = key.find(identity)
    {
        let end = at + identity.len();
        let prefix = if key[end..].starts_with('/') {
            &key[..=end]
        } else {
            &key[..end]
        };
        let mut context = tls();
        context.push(("s3:prefix".into(), prefix.to_string()));
        out.push(Sample {
            action: "s3:ListBucket".into(),
            resource: format!("arn:aws:s3:::{bucket}"),
            context,
        });
    }
    Ok(out)
}

/// Requests are sampled as an app makes them: over TLS.
fn tls() -> Vec<(String, String)> {
    vec![("aws:SecureTransport".into(), "true".into())]
}

fn request(s: &Sample, identity: Option<&str>, now: Timestamp) -> Option<Request> {
    let mut r = Request::new(s.action.clone(), s.resource.clone());
    for (k, v) in &s.context {
        r.context.set(k, vec![v.clone()]);
    }
    if let Some(id) = identity {
        r.set_identity(id).ok()?;
    }
    r.context.fill_time_defaults(now).ok()?;
    Some(r)
}

/// What sampling found: the actions allowed, how many requests were tried, and the first
/// error.
struct Sampled {
    allowed: Vec<String>,
    tried: usize,
    error: Option<String>,
}

/// Decide each of `requests` with `allows`: `Ok(true)` allowed, `Ok(false)` not, `Err` not
/// decided; `None` from `made` when the request cannot be made (not tried).
fn sample_each(
    requests: &[Sample],
    mut made: impl FnMut(&Sample) -> Option<Request>,
    mut allows: impl FnMut(Request) -> Result<bool, String>,
) -> Sampled {
    let mut out = Sampled {
        allowed: Vec::new(),
        tried: 0,
        error: None,
    };
    for s in requests {
        let Some(r) = made(s) else {
            continue;
        };
        out.tried += 1;
        match allows(r) {
            Ok(true) => out.allowed.push(s.action.clone()),
            Ok(false) => {}
            Err(e) => {
                out.error.get_or_insert(e);
            }
        }
    }
    out
}

fn own_by_policies(
    policies: &Policies,
    caller: Option<&Caller>,
    parties: &[Party],
    requests: &[Sample],
    owner: &str,
    now: Timestamp,
) -> Sampled {
    // A decision that depends on a policy the tool did not see is not made.
    if let Some(Err(ns)) = parties
        .first()
        .and_then(|p| p.loaded.as_ref())
        .map(|l| l.gap(Claim::Decision))
    {
        return Sampled {
            allowed: Vec::new(),
            tried: requests.len(),
            error: Some(ns.to_string()),
        };
    }
    sample_each(
        requests,
        |s| {
            let mut r = request(s, Some(owner), now)?;
            r.principal = caller.cloned();
            Some(r)
        },
        |r| Ok(decide(policies, r)?.0 == Decision::Allow),
    )
}

fn own_by_flow(
    cfg: &GateConfig,
    t: &Template,
    typed: &Policies,
    requests: &[Sample],
    owner: &str,
    now: Timestamp,
) -> Sampled {
    sample_each(
        requests,
        |s| {
            let mut r = request(s, None, now)?;
            r.principal = cfg.principal.as_ref().map(|(c, _)| c.clone());
            Some(r)
        },
        |r| {
            let flow = FlowRequest {
                identity: owner.to_string(),
                authenticated: true,
                request: r,
                extra: typed.clone(),
            };
            let o =
                simulate_with(t, &flow, &cfg.root, &cfg.managed, now).map_err(|e| e.to_string())?;
            Ok(o.decision == Decision::Allow)
        },
    )
}

/// The owner's cell: sampled, and never a leak (the area is the owner's).
fn own_cell(s: Sampled) -> Cell {
    let cell = |reach, detail| Cell {
        reach,
        forbidden: false,
        method: "sampled",
        detail,
        reason: None,
        counterexample: None,
    };
    if !s.allowed.is_empty() {
        let shown = s
            .allowed
            .iter()
            .take(6)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        let more = match s.allowed.len().saturating_sub(6) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        return cell(
            Reach::Yes,
            format!(
                "the owner is allowed {} of {} request(s) tried: {shown}{more}",
                s.allowed.len(),
                s.tried
            ),
        );
    }
    match s.error {
        Some(e) => cell(
            Reach::Unknown,
            format!("a request could not be decided: {e}"),
        ),
        None if s.tried == 0 => cell(
            Reach::Unknown,
            "no documented action of this class applies to the area".into(),
        ),
        None => cell(
            Reach::No,
            format!("none of {} request(s) tried is allowed", s.tried),
        ),
    }
}

fn none_cell(why: &str) -> Cell {
    Cell {
        reach: Reach::None,
        forbidden: false,
        method: "proved",
        detail: why.to_string(),
        reason: None,
        counterexample: None,
    }
}

/// The anchor of a policy's statement in the report.
pub(crate) fn anchor(policy: &str, statement: usize) -> String {
    // One anchor per name: ASCII letters and digits as they are, any other character as
    // its code point between dashes.
    let mut out = String::from("st-");
    for c in policy.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else {
            out.push_str(&format!("-{:x}-", u32::from(c)));
        }
    }
    format!("{out}-{statement}")
}

fn anchor_of(policies: &Policies, r: TypedRef) -> String {
    let set = policies.set(r.policy_type, r.index);
    let name = &set.policies()[r.statement.policy].name;
    anchor(name, r.statement.statement)
}

fn view(c: &Counterexample, policies: &Policies) -> CounterexampleView {
    CounterexampleView {
        who: match &c.principal {
            Some(p) => format!("identity {} as {p}", c.attacker),
            None => format!("identity {}", c.attacker),
        },
        victim: Some(c.victim.clone()),
        action: c.action.clone(),
        resource: c.resource.clone(),
        reveals: c.reveals.clone(),
        context: c
            .context
            .iter()
            .filter(|(k, _)| !set_by_the_request(k))
            .map(|(k, v)| format!("{k}={}", v.join(",")))
            .collect(),
        statement: format!(
            "{} {}",
            c.statement.policy_type.as_str(),
            policies.label(c.statement)
        ),
        anchor: Some(anchor_of(policies, c.statement)),
    }
}

/// Keys every request of the caller carries (its principal, the time, the TLS and agent
/// the counterexample was confirmed with): shown once in the counterexample's `who`, not
/// as part of what makes it work.
fn set_by_the_request(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.starts_with("aws:principal")
        || key.starts_with("cognito-identity.amazonaws.com:")
        || [
            "aws:currenttime",
            "aws:epochtime",
            "aws:tokenissuetime",
            "aws:useragent",
            "aws:requestedregion",
            "aws:securetransport",
            "aws:multifactorauthpresent",
            "aws:userid",
            "aws:username",
        ]
        .contains(&key.as_str())
}

fn proof_cell(
    proof: &Proof,
    policies: &Policies,
    forbidden: bool,
    counterexamples: &mut Vec<CounterexampleView>,
) -> Cell {
    let (reach, detail, counterexample) = match (proof.verdict, &proof.counterexample) {
        (Verdict::Violated, Some(c)) => {
            counterexamples.push(view(c, policies));
            (
                Reach::Yes,
                format!("{} on {}", c.action, c.resource),
                Some(counterexamples.len() - 1),
            )
        }
        (Verdict::Holds, _) => (
            Reach::No,
            "no request of this class reaches another identity's area".to_string(),
            None,
        ),
        (Verdict::Violated | Verdict::Unknown, _) => (
            Reach::Unknown,
            "neither proved nor refuted".to_string(),
            None,
        ),
    };
    Cell {
        reach,
        forbidden,
        method: "proved",
        detail,
        reason: Some(proof.reason.clone()),
        counterexample,
    }
}

/// The worst of several roles' proofs: a counterexample first, then unknown, else holds.
fn proved_cell(
    roles: &[&RoleProof],
    forbidden: bool,
    counterexamples: &mut Vec<CounterexampleView>,
) -> Cell {
    let rank = |r: &&&RoleProof| match r.proof.verdict {
        Verdict::Violated => 0,
        Verdict::Unknown => 1,
        Verdict::Holds => 2,
    };
    let Some(worst) = roles.iter().min_by_key(rank) else {
        return none_cell("no such role");
    };
    let mut cell = proof_cell(&worst.proof, &worst.policies, forbidden, counterexamples);
    cell.detail = format!("role {}: {}", worst.role.role, cell.detail);
    cell
}

/// Principals outside the app, each proved against the resource-based policies: the
/// `everyone` column. See [`outsiders`] for who they are and how each is modelled.
fn everyone_cell(
    policies: &Policies,
    caller: Option<&Caller>,
    (asked, format): (&AreaSpec, &IdentityFormat),
    forbidden: bool,
    counterexamples: &mut Vec<CounterexampleView>,
    now: Timestamp,
) -> Cell {
    if policies.resource.is_empty() {
        return none_cell("no resource-based policy");
    }
    let unknown = |detail: String| Cell {
        reach: Reach::Unknown,
        forbidden,
        method: "proved",
        detail,
        reason: None,
        counterexample: None,
    };
    let owner_account = policies
        .resource_account
        .clone()
        .or_else(|| caller.map(|c| c.account_id().to_string()));
    let found = outsiders(policies, owner_account.as_deref());
    let mut unknowns = found.unmodelled;
    let mut holds = Vec::new();
    for o in found.callers {
        let Ok(who) = Caller::parse(&o.arn) else {
            unknowns.push(format!("{} cannot be made a caller", o.arn));
            continue;
        };
        let as_them = match o.model {
            // The resource-based policy alone decides: the caller's account taken to be the
            // resource's, without identity-based policies.
            Model::ResourceAlone => Policies {
                resource: policies.resource.clone(),
                resource_account: Some(o.account.clone()),
                rcps: policies.rcps.clone(),
                ..Policies::default()
            },
            // An account named as a whole grants whatever that account's own policies
            // allow: every permission there, across accounts.
            Model::WholeAccount => {
                let everything = crate::lang::parse::parse_policy(
                    "(the named account's own policies: every permission)",
                    br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
                );
                match everything {
                    Ok(p) => Policies {
                        identity: crate::eval::PolicySet::new(vec![p]),
                        resource: policies.resource.clone(),
                        resource_account: owner_account.clone(),
                        rcps: policies.rcps.clone(),
                        ..Policies::default()
                    },
                    Err(e) => {
                        unknowns.push(e.to_string());
                        continue;
                    }
                }
            }
        };
        let proof = prove_isolation_in(
            Scope::Among { defaulted: false },
            &as_them,
            Some(&who),
            std::slice::from_ref(asked),
            format,
            crate::analysis::prover::Backend::Automata.solver().as_mut(),
            now,
        );
        match proof {
            Ok(mut p) if p.verdict == Verdict::Violated && p.counterexample.is_some() => {
                // Name the resource-based statement that lets the outsider in (the
                // prover names the first Allow it followed, which may be the outsider's own).
                if let Some(c) = p.counterexample.as_mut()
                    && let Some(r) = granting_resource_statement(&as_them, &who, c, now)
                {
                    c.statement = r;
                }
                let mut cell = proof_cell(&p, &as_them, forbidden, counterexamples);
                if let Some(i) = cell.counterexample {
                    counterexamples[i].who = o.arn.clone();
                }
                cell.detail = format!("{}: {}", o.arn, cell.detail);
                return cell;
            }
            Ok(p) if p.verdict == Verdict::Holds => holds.push(o.arn),
            Ok(p) => unknowns.push(format!("{}: {}", o.arn, p.reason)),
            Err(e) => unknowns.push(format!("{}: {e}", o.arn)),
        }
    }
    let mut detail = if unknowns.is_empty() {
        format!(
            "no request of this class by {} reaches an identity's area",
            holds.join(", ")
        )
    } else {
        unknowns.join("; ")
    };
    if !found.same_account.is_empty() {
        detail.push_str(&format!(
            "; not counted, of the resource's own account: {}",
            found.same_account.join(", ")
        ));
    }
    let mut cell = unknown(detail);
    if unknowns.is_empty() {
        cell.reach = Reach::No;
    }
    cell
}

/// The resource-based statement among those that allow the counterexample's request.
fn granting_resource_statement(
    policies: &Policies,
    who: &Caller,
    c: &Counterexample,
    now: Timestamp,
) -> Option<TypedRef> {
    let mut r = Request::new(c.action.clone(), c.resource.clone());
    for (k, v) in &c.context {
        r.context.set(k, v.clone());
    }
    r.principal = Some(who.clone());
    r.context.fill_time_defaults(now).ok()?;
    policies.prepare(&mut r).ok()?;
    let a = policies.authorize(&r).ok()?;
    a.deciding
        .iter()
        .find(|d| d.policy_type == crate::eval::authorize::PolicyType::Resource)
        .copied()
}

/// How an outsider's requests are decided.
enum Model {
    /// By the resource-based policies alone.
    ResourceAlone,
    /// As a principal of another account with every permission there.
    WholeAccount,
}

/// One principal the `everyone` column proves for.
struct Outsider {
    arn: String,
    account: String,
    model: Model,
}

/// Who the `everyone` column is about.
struct Outsiders {
    callers: Vec<Outsider>,
    /// Principals of kinds not modelled (services, web identity providers, canonical
    /// users, patterns): they make the column unknown.
    unmodelled: Vec<String>,
    /// Principals of the resource's own account the policies name: the account's own
    /// roles and users, not counted.
    same_account: Vec<String>,
}

/// The outsiders: a principal of an account nobody names (`Principal: "*"`, `NotPrincipal`
/// and conditions on the account reach it), decided by the resource-based policies alone;
/// every user or role of another account the `Allow` statements name, the same way (its
/// own account's policies are its to write); and every other account named as a whole, as
/// one of its principals with every permission there.
fn outsiders(policies: &Policies, owner: Option<&str>) -> Outsiders {
    use crate::lang::model::{Effect, Principal};
    let nobody = if owner == Some("111122223333") {
        "222233334444"
    } else {
        "111122223333"
    };
    let mut out = Outsiders {
        callers: vec![Outsider {
            arn: format!("arn:aws:iam::{nobody}:user/outsider"),
            account: nobody.to_string(),
            model: Model::ResourceAlone,
        }],
        unmodelled: Vec::new(),
        same_account: Vec::new(),
    };
    for set in policies.resource.iter().map(|p| &p.set) {
        for policy in set.policies() {
            for st in policy
                .statements
                .iter()
                .filter(|s| s.effect == Effect::Allow)
            {
                let Some(Principal::Map(entries)) = &st.principal else {
                    continue;
                };
                for (kind, values) in entries {
                    if kind != "AWS" {
                        out.unmodelled.push(format!(
                            "{} names a {kind} principal ({}), which is not modelled",
                            policy.name,
                            values.join(", ")
                        ));
                        continue;
                    }
                    for v in values.iter().filter(|v| *v != "*") {
                        let Some((arn, account, whole)) = principal_caller(v) else {
                            out.unmodelled.push(format!(
                                "{} names the principal {v}, which is not modelled",
                                policy.name
                            ));
                            continue;
                        };
                        if owner == Some(account.as_str()) {
                            if !out.same_account.contains(v) {
                                out.same_account.push(v.clone());
                            }
                        } else if !out.callers.iter().any(|c| c.arn == arn) {
                            out.callers.push(Outsider {
                                arn,
                                account,
                                model: if whole {
                                    Model::WholeAccount
                                } else {
                                    Model::ResourceAlone
                                },
                            });
                        }
                    }
                }
            }
        }
    }
    out
}

/// A caller that a `Principal` value `{"AWS": v}` matches, its account, and whether `v`
/// names the account as a whole (an account id or its root) rather than one user or role
/// (a role as one of its sessions).
fn principal_caller(v: &str) -> Option<(String, String, bool)> {
    if v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit()) {
        return Some((format!("arn:aws:iam::{v}:user/anyone"), v.to_string(), true));
    }
    let rest = v.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let (partition, service, _region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if account.contains(['*', '?']) || resource.contains(['*', '?']) {
        return None;
    }
    let account = account.to_string();
    match (service, resource) {
        ("iam", "root") => Some((
            format!("arn:{partition}:iam::{account}:user/anyone"),
            account,
            true,
        )),
        ("iam", r) if r.starts_with("user/") => Some((v.to_string(), account, false)),
        ("iam", r) if r.starts_with("role/") => {
            let name = r.rsplit('/').next()?;
            Some((
                format!("arn:{partition}:sts::{account}:assumed-role/{name}/session"),
                account,
                false,
            ))
        }
        ("sts", r) if r.starts_with("assumed-role/") => Some((v.to_string(), account, false)),
        _ => None,
    }
}

/// A role's section: its flow for a sample read of its own area, and its policies'
/// texts with the findings about them.
#[allow(clippy::too_many_arguments)]
fn role_access(
    cfg: &GateConfig,
    pool: Option<&Template>,
    (p, first): (&Party, bool),
    (extra, typed): (&Policies, &[super::loading::TypedFile]),
    findings: &[GateFinding],
    area: Option<&AreaCheck>,
    now: Timestamp,
) -> RoleAccess {
    let mut flow = Vec::new();
    let mut flow_request = None;
    if let (Some(t), Some(kind), Some(area)) = (pool, p.kind, area)
        && let owner = area.owner.as_str()
        && let Ok(requests) = sample_requests(&area.spec, Class::Read, owner)
        && let Some(s) = requests.first()
        && let Some(r) = request(s, None, now)
    {
        let req = FlowRequest {
            identity: owner.to_string(),
            authenticated: kind != RoleKind::Unauthenticated,
            request: r,
            extra: extra.clone(),
        };
        flow_request = Some(format!(
            "{} on {} as {} identity {owner}",
            s.action,
            s.resource,
            if req.authenticated {
                "authenticated"
            } else {
                "unauthenticated"
            }
        ));
        match simulate_with(t, &req, &cfg.root, &cfg.managed, now) {
            Ok(o) => {
                flow = o
                    .steps
                    .iter()
                    .map(|s| FlowStepView {
                        step: s.step.as_str(),
                        passed: s.passed,
                        detail: s.detail.clone(),
                    })
                    .collect()
            }
            Err(e) => {
                flow.push(FlowStepView {
                    step: "error",
                    passed: false,
                    detail: e.to_string(),
                });
            }
        }
    }
    let mut policies = Vec::new();
    if let Some(l) = &p.loaded {
        for (i, policy) in l.set.policies().iter().enumerate() {
            let src = l.sources.get(i).and_then(|s| s.as_ref()).map(|s| &s.0);
            policies.push(policy_text(cfg, policy, "identity", src, findings));
        }
        for (i, (_, policy)) in l.resource_policies.iter().enumerate().filter(|_| first) {
            let src = l
                .resource_sources
                .get(i)
                .and_then(|s| s.as_ref())
                .map(|s| &s.0);
            policies.push(policy_text(cfg, policy, "resource", src, findings));
        }
        if let Some(b) = l.boundary.as_ref().filter(|_| first || pool.is_some()) {
            policies.push(policy_text(cfg, b, "boundary", None, findings));
        }
    }
    for t in typed {
        policies.push(policy_text(
            cfg,
            &t.policy,
            t.policy_type.as_str(),
            Some(&t.source.0),
            findings,
        ));
    }
    RoleAccess {
        name: p.name.clone(),
        kind: p
            .kind
            .map_or(
                if p.name == "policies" {
                    "policies"
                } else {
                    "role"
                },
                |k| k.as_str(),
            )
            .to_string(),
        principal: p.caller.as_ref().map(|c| c.arn().to_string()),
        flow,
        flow_request,
        unresolved: p.unresolved.clone(),
        policies,
    }
}

/// A policy's text and its statements' spans, with the lint findings about each.
fn policy_text(
    cfg: &GateConfig,
    policy: &crate::lang::model::Policy,
    policy_type: &'static str,
    src: Option<&Locations>,
    findings: &[GateFinding],
) -> PolicyText {
    let text = src
        .and_then(|s| s.document.as_ref())
        .and_then(|loc| read_extent(cfg, loc));
    let mut out = PolicyText {
        name: policy.name.clone(),
        policy_type,
        file: text.as_ref().map(|t| t.0.clone()),
        first_line: text.as_ref().map_or(1, |t| t.1),
        lines: text.as_ref().map_or_else(Vec::new, |t| t.2.clone()),
        missing: text.is_none().then(|| {
            "its text is not in a file of the project (a bundled AWS managed policy, standard input or a value resolved from the template)".to_string()
        }),
        statements: Vec::new(),
    };
    let all: Vec<String> = text.as_ref().map(|t| t.3.clone()).unwrap_or_default();
    for (i, st) in policy.statements.iter().enumerate() {
        let lines = src
            .and_then(|s| s.statements.get(i))
            .filter(|_| text.is_some())
            .map(|loc| (loc.line, extent(&all, loc.line, loc.column)));
        let label = crate::eval::statement_label(policy, st);
        let file = text.as_ref().map(|t| t.0.as_str());
        let about: Vec<FindingView> = findings
            .iter()
            .filter(|(f, _, _)| finding_is_about(f, &policy.name, file, i, lines))
            .map(|(f, suppressed, _)| FindingView {
                rule: f.rule.to_string(),
                severity: f.severity.as_str(),
                message: f.message.clone(),
                hint: f.hint.clone(),
                suppressed: suppressed.clone(),
            })
            .collect();
        out.statements.push(StatementSpan {
            index: i,
            label,
            anchor: anchor(&policy.name, i),
            lines,
            counterexamples: Vec::new(),
            findings: about,
        });
    }
    out
}

/// Is finding `f` about statement `i` of the policy named `name` (whose text is in
/// `file`, the statement at `lines`)?
fn finding_is_about(
    f: &Finding,
    name: &str,
    file: Option<&str>,
    i: usize,
    lines: Option<(usize, usize)>,
) -> bool {
    if f.statement != Some(i) {
        return false;
    }
    let in_file = f.file == name
        || file.is_some_and(|file| f.file == file || f.file.split('#').next() == Some(file));
    in_file && lines.is_none_or(|(a, b)| (a..=b).contains(&f.line))
}

/// The lines of the node at `loc` (a policy document), read inside the project root:
/// (file, first line, its lines, every line of the file).
fn read_extent(cfg: &GateConfig, loc: &Loc) -> Option<(String, usize, Vec<String>, Vec<String>)> {
    let path = cfg.root.resolve(std::path::Path::new(&*loc.file)).ok()?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut cfg.root.open(&path).ok()?, &mut text).ok()?;
    let all: Vec<String> = text.lines().map(str::to_string).collect();
    if loc.line == 0 || loc.line > all.len() {
        return None;
    }
    let last = extent(&all, loc.line, loc.column);
    Some((
        loc.file.to_string(),
        loc.line,
        all[loc.line - 1..last].to_vec(),
        all,
    ))
}

/// The last line (1-based) of the value that starts at `line`:`column`: a JSON object or
/// array ends at its matching bracket; a YAML block at the last line indented deeper
/// than its start (blank lines inside it kept); anything else is one line.
pub(crate) fn extent(lines: &[String], line: usize, column: usize) -> usize {
    let Some(first) = lines.get(line.wrapping_sub(1)) else {
        return line;
    };
    let start: usize = first
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(first.len(), |(i, _)| i);
    let rest = &first[start..];
    if rest.starts_with('{') || rest.starts_with('[') {
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        for (n, l) in lines.iter().enumerate().skip(line - 1) {
            let text = if n == line - 1 { rest } else { l.as_str() };
            for c in text.chars() {
                if in_string {
                    match (escaped, c) {
                        (true, _) => escaped = false,
                        (false, '\\') => escaped = true,
                        (false, '"') => in_string = false,
                        _ => {}
                    }
                    continue;
                }
                match c {
                    '"' => in_string = true,
                    '{' | '[' => depth += 1,
                    '}' | ']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return n + 1;
                        }
                    }
                    _ => {}
                }
            }
        }
        return lines.len();
    }
    if rest.starts_with('"') || rest.starts_with('\'') {
        return line;
    }
    // YAML: the block goes on while lines are blank or indented at least as far as its
    // first key.
    let indent = column.saturating_sub(1);
    let mut last = line;
    for (n, l) in lines.iter().enumerate().skip(line) {
        if l.trim().is_empty() {
            continue;
        }
        let lead = l.chars().take_while(|c| *c == ' ').count();
        if lead < indent || (lead == indent && l.trim_start().starts_with("- ")) {
            break;
        }
        last = n + 1;
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn a_json_value_ends_at_its_bracket() {
        let l = lines(
            "{\n  \"Statement\": [\n    {\"A\": \"}\"},\n    {\n      \"B\": 1\n    }\n  ]\n}\nx",
        );
        assert_eq!(extent(&l, 1, 1), 8);
        assert_eq!(extent(&l, 2, 16), 7);
        assert_eq!(extent(&l, 3, 5), 3);
        assert_eq!(extent(&l, 4, 5), 6);
    }

    #[test]
    fn a_yaml_block_ends_where_indentation_returns() {
        let l = lines(
            "Doc:\n  Statement:\n    - Effect: Allow\n      Action: s3:GetObject\n\n      Resource: x\n    - Effect: Deny\n      Action: '*'\nNext: 1",
        );
        assert_eq!(extent(&l, 3, 7), 6);
        assert_eq!(extent(&l, 7, 7), 8);
        assert_eq!(extent(&l, 2, 3), 8);
    }

    #[test]
    fn anchors_are_one_per_name() {
        assert_eq!(anchor("p/a-b.json", 2), "st-p-2f-a-2d-b-2e-json-2");
        assert_ne!(anchor("a-b", 0), anchor("a_b", 0));
        assert_ne!(anchor("A", 0), anchor("a", 0));
        assert_eq!(anchor("t#R", 0), "st-t-23-R-0");
    }
}

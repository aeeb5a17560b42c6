//! The checks: each gate's expectations, isolation properties, `no-new-access` and lint,
//! one step per kind of check.

use jiff::Timestamp;

use super::config::{Expectation, GateConfig, IsolationCheck, Suppression};
use super::loading::{TypedFile, load_baseline, load_baseline_types, load_source, load_types};
use super::{CheckResult, GateError, GateReport, Status};
use crate::analysis::identity::IdentityFormat;
use crate::analysis::no_new_access::{
    DiffResult, PoliciesDiff, no_new_access, no_new_access_policies,
};
use crate::analysis::prover::{Verdict, default_areas_of, prove_isolation};
use crate::eval::Decision;
use crate::eval::authorize::Policies;
use crate::lang::principal::Caller;
use crate::lint::{Finding, Severity, by_severity, lint_typed};
use crate::load::Loaded;
use crate::loc::Loc;
use crate::managed::{Claim, NotSeen};
use crate::report::gate::GateFinding;
use crate::request::Request;

/// Run every gate; `now` is the default of the time context keys (the library never
/// reads the clock itself).
pub fn run(gates: &[GateConfig], now: Timestamp) -> Result<GateReport, GateError> {
    let mut report = GateReport {
        checks: Vec::new(),
        findings: Vec::new(),
    };
    for cfg in gates {
        let (loaded, session, template) = load_source(cfg)?;
        let typed = load_types(cfg)?;
        // The template's resource-based policies and the role's boundary, with the gate's.
        let policies = loaded
            .policies()
            .with(typed.policies.clone())
            .map_err(|e| {
                let loc = cfg.principal.as_ref().map_or_else(
                    || Loc::new(cfg.file.display().to_string(), 1, 1),
                    |(_, l)| l.clone(),
                );
                cannot_run(&loc, e)
            })?;
        // Without a principal in the gate file, a template's identity pool makes the role
        // session Cognito creates the caller (only needed beyond identity-based policies).
        let default_caller = session.filter(|_| !policies.is_identity_only());
        let gate = Gate {
            cfg,
            template: template.as_ref(),
            typed: &typed.policies,
            loaded: &loaded,
            policies: &policies,
            caller: cfg
                .principal
                .as_ref()
                .map(|(c, _)| c)
                .or(default_caller.as_ref()),
        };
        let mut checks = Vec::new();
        for e in &cfg.expect {
            checks.push(expectation(&gate, e, now)?);
        }
        for iso in &cfg.isolation {
            checks.push(isolation(&gate, iso, now)?);
        }
        if let Some((spec, loc)) = &cfg.baseline {
            checks.push(baseline(cfg, &gate, spec, loc, now)?);
        }
        let scopes = suppression_scopes(cfg, &loaded, &typed.files)?;
        let (lint_checks, findings) = lint(cfg, &loaded, &typed.files, &scopes);
        checks.extend(lint_checks);
        for c in &mut checks {
            c.gate = cfg.name.clone();
        }
        report.checks.extend(checks);
        report.findings.extend(findings);
    }
    // Stable: failures first, each group in file order.
    report.checks.sort_by_key(|c| c.status == Status::Pass);
    Ok(report)
}

/// What every check of one gate decides with: the identity-based policies as loaded (with
/// what was not seen), every policy type, and the gate's caller.
struct Gate<'a> {
    cfg: &'a GateConfig,
    /// The template, for a template source: with an identity pool, isolation covers every
    /// role the pool hands out.
    template: Option<&'a crate::template::Template>,
    /// The policy types the gate file gives (besides the template's).
    typed: &'a Policies,
    loaded: &'a Loaded,
    policies: &'a Policies,
    caller: Option<&'a Caller>,
}

/// A check of `kind` (its gate is filled in by [`run_at`]).
fn check(
    kind: &'static str,
    name: String,
    status: Status,
    message: String,
    rule: &'static str,
    location: Option<(String, usize, usize)>,
) -> CheckResult {
    CheckResult {
        gate: String::new(),
        kind,
        name,
        status,
        message,
        rule,
        location,
    }
}

fn at(loc: &Loc) -> Option<(String, usize, usize)> {
    Some((loc.file.to_string(), loc.line, loc.column))
}

/// Why a check's verdict cannot stand: the policies it depends on that were not
/// evaluated, and what the gate file can do about a managed policy's.
fn not_seen(ns: &NotSeen) -> String {
    if ns.wants_document() {
        format!("{ns} (give a managed policy's document under managed-policies: {{ARN: FILE}})")
    } else {
        ns.to_string()
    }
}

/// The verdict's `(status, message)`, or a failure naming what the verdict depends on and
/// was not seen (for `claim`; `None` claims nothing).
fn settle(
    loaded: &Loaded,
    claim: Option<Claim>,
    verdict: (Status, String),
    what: &str,
) -> (Status, String) {
    match claim.map(|c| loaded.gap(c)) {
        Some(Err(ns)) => (
            Status::Fail,
            format!("{what} cannot be decided: {}", not_seen(&ns)),
        ),
        Some(Ok(())) | None => verdict,
    }
}

fn cannot_run(loc: &Loc, message: impl std::fmt::Display) -> GateError {
    GateError::Check {
        loc: loc.clone(),
        message: message.to_string(),
    }
}

/// `expect`: the request gets the decision the gate file states, decided with every
/// policy type for the entry's principal (else the gate's).
fn expectation(gate: &Gate, e: &Expectation, now: Timestamp) -> Result<CheckResult, GateError> {
    let mut r = Request::new(e.action.clone(), e.resource.clone());
    for (k, v) in &e.context {
        // Context keys are case-insensitive: two spellings of one key are one key given
        // twice, not a replacement.
        if r.context.has_key(k) {
            return Err(cannot_run(
                &e.loc,
                format!("context key {k:?} is given twice (keys are case-insensitive)"),
            ));
        }
        r.context.set(k, v.clone());
    }
    // The identity rule of every input: the identity or the context key, not both.
    if let Some(id) = &e.identity {
        r.set_identity(id).map_err(|m| cannot_run(&e.loc, m))?;
    }
    r.context
        .fill_time_defaults(now)
        .map_err(|m| cannot_run(&e.loc, m))?;
    r.principal = e.principal.clone().or_else(|| gate.caller.cloned());
    let decided = decide(gate.policies, r);
    let (status, message) = match decided {
        Ok((decision, _, _)) if decision == e.decision => (
            Status::Pass,
            format!(
                "{} {} on {}: {}",
                e.name,
                e.action,
                e.resource,
                decision.as_str()
            ),
        ),
        Ok((decision, by, deciding)) => (
            Status::Fail,
            format!(
                "{}: expected {}, got {}{by} for {} on {} (deciding: [{}])",
                e.name,
                e.decision.as_str(),
                decision.as_str(),
                e.action,
                e.resource,
                deciding.join(", ")
            ),
        ),
        Err(x) => (
            Status::Fail,
            format!("{}: the request cannot be evaluated: {x}", e.name),
        ),
    };
    let (status, message) = settle(
        gate.loaded,
        Some(Claim::Decision),
        (status, message),
        &format!("{}: {} on {}", e.name, e.action, e.resource),
    );
    Ok(check(
        "expect",
        e.name.clone(),
        status,
        message,
        "gate/expect",
        at(&e.loc),
    ))
}

/// The decision on `r`, the policy type that decided (` (by resource)`; empty for the
/// identity-based policies alone) and the deciding statements' labels. Identity-based
/// policies without a principal are decided as `check` decides them.
pub(super) fn decide(
    policies: &Policies,
    mut r: Request,
) -> Result<(Decision, String, Vec<String>), String> {
    if r.principal.is_none() && policies.is_identity_only() {
        let set = &policies.identity;
        let ev = set.evaluate(&r).map_err(|e| e.to_string())?;
        let deciding = ev.deciding.iter().map(|d| set.label(*d)).collect();
        return Ok((ev.decision, String::new(), deciding));
    }
    policies.prepare(&mut r).map_err(|e| e.to_string())?;
    let a = policies.authorize(&r).map_err(|e| e.to_string())?;
    let deciding = a
        .deciding
        .iter()
        .map(|d| format!("{} {}", d.policy_type.as_str(), policies.label(*d)))
        .collect();
    Ok((
        a.verdict.decision,
        format!(" (by {})", a.verdict.decided_by.as_str()),
        deciding,
    ))
}

/// `isolation`: the prover's verdict; no per-identity area at all fails.
fn isolation(gate: &Gate, iso: &IsolationCheck, now: Timestamp) -> Result<CheckResult, GateError> {
    let loaded = gate.loaded;
    let policies = gate.policies;
    let format = IdentityFormat::parse(&iso.format).map_err(|m| cannot_run(&iso.loc, m))?;
    let name = format!("isolation ({})", iso.format);
    if iso.areas.is_empty() && default_areas_of(policies).is_empty() {
        // The policy no longer scopes anything by identity: the property cannot hold
        // as the gate states it. A failed check, not an invalid gate file.
        return Ok(check(
            "isolation",
            name,
            Status::Fail,
            "no per-identity area: no Allow statement's Resource mentions ${cognito-identity.amazonaws.com:sub} (under Version 2012-10-17); name the areas in the gate file to prove them anyway".to_string(),
            "gate/isolation",
            at(&iso.loc),
        ));
    }
    if let Some(t) = gate.template
        && crate::cognito::has_identity_pool(t)
    {
        return pool_isolation(gate, t, iso, (&format, name), now);
    }
    let proof = prove_isolation(gate.policies, gate.caller, &iso.areas, &format, now)
        .map_err(|m| cannot_run(&iso.loc, m))?;
    let (status, claim) = match proof.verdict {
        Verdict::Holds => (Status::Pass, Some(Claim::NoneAllowed)),
        Verdict::Violated => (Status::Fail, Some(Claim::SomeAllowed)),
        Verdict::Unknown => (Status::Unknown, None),
    };
    let message = proof_message(&proof);
    let (status, message) = settle(loaded, claim, (status, message), "isolation");
    Ok(isolation_result(iso, name, (status, message)))
}

/// The result of the isolation check `iso`.
fn isolation_result(
    iso: &IsolationCheck,
    name: String,
    (status, message): (Status, String),
) -> CheckResult {
    check(
        "isolation",
        name,
        status,
        message,
        "gate/isolation",
        at(&iso.loc),
    )
}

/// Isolation of a template with an identity pool: every role the pool hands out is the
/// attacker in turn (the gate's `template: role` names the role of its other checks).
fn pool_isolation(
    gate: &Gate,
    t: &crate::template::Template,
    iso: &IsolationCheck,
    (format, name): (&IdentityFormat, String),
    now: Timestamp,
) -> Result<CheckResult, GateError> {
    use crate::cognito::roles::{PoolInputs, prove_pool};
    let backend = crate::analysis::prover::Backend::Automata;
    let inputs = PoolInputs {
        root: &gate.cfg.root,
        given: &gate.cfg.managed,
        extra: gate.typed,
        principal: gate.cfg.principal.as_ref().map(|(c, _)| c),
        backend: &backend,
    };
    let pool =
        prove_pool(t, &inputs, &iso.areas, format, now).map_err(|m| cannot_run(&iso.loc, m))?;
    let status = match pool.verdict {
        Verdict::Holds => Status::Pass,
        Verdict::Violated => Status::Fail,
        Verdict::Unknown => Status::Unknown,
    };
    let deciding = pool.deciding();
    let roles: Vec<String> = pool
        .roles
        .iter()
        .map(|r| format!("{} {}", r.role.role, r.proof.verdict.as_str()))
        .collect();
    let mut message = format!(
        "{} for identity pool {} ({}); {} role {}: {}",
        pool.verdict.as_str(),
        pool.pool,
        roles.join(", "),
        deciding.role.kind.as_str(),
        deciding.role.role,
        proof_message(&deciding.proof)
    );
    for note in &pool.notes {
        message.push_str(&format!("; {note}"));
    }
    Ok(isolation_result(iso, name, (status, message)))
}

/// A proof in one line: the verdict and why, the fix and the hint, and for a fragile
/// `holds` what it leans on.
fn proof_message(proof: &crate::analysis::prover::Proof) -> String {
    let mut message = format!("{}: {}", proof.verdict.as_str(), proof.reason);
    if let Some(fix) = &proof.fix {
        message.push_str(&format!("; fix: {}", fix.summary));
    }
    if let Some(hint) = &proof.hint {
        message.push_str(&format!("; hint: {hint}"));
    }
    // A fragile `holds` passes, and says what it leans on and how to make it robust.
    if let Some(f) = &proof.fragile {
        message.push_str(&format!(
            "; fragile: it relies on the identity format, and under {} it is violated: {}",
            f.format, f.reason
        ));
        if let Some(fix) = &f.fix {
            message.push_str(&format!("; fix: {}", fix.summary));
        }
    }
    message
}

/// `no-new-access`: nothing the baseline denied is allowed now.
fn baseline(
    cfg: &GateConfig,
    gate: &Gate,
    spec: &str,
    loc: &Loc,
    now: Timestamp,
) -> Result<CheckResult, GateError> {
    let baseline = load_baseline(cfg, spec).map_err(|reason| GateError::Baseline {
        loc: loc.clone(),
        reason: Box::new(reason),
    })?;
    let base = load_baseline_types(cfg, spec, baseline)?;
    let new = gate.policies;
    // The identities compared: those the isolation checks name (`cognito` by default);
    // every string when they name different formats.
    let mut formats: Vec<&str> = cfg.isolation.iter().map(|i| i.format.as_str()).collect();
    formats.sort_unstable();
    formats.dedup();
    let format = match formats[..] {
        [] => "cognito",
        [one] => one,
        [_, _, ..] => "any",
    };
    let format = IdentityFormat::parse(format).map_err(|m| cannot_run(loc, m))?;
    let result = match gate.caller {
        Some(caller) => no_new_access_policies(new, &base, caller, &format, now),
        None => match no_new_access(&new.identity, &base.identity, &format, now) {
            DiffResult::NoNewAccess => PoliciesDiff::NoNewAccess,
            DiffResult::Unknown(why) => PoliciesDiff::Unknown(why),
            DiffResult::NewAccess(n) => PoliciesDiff::NewAccess(n, Vec::new()),
        },
    };
    let claim = match &result {
        PoliciesDiff::NoNewAccess => Some(Claim::NoneAllowed),
        PoliciesDiff::NewAccess(..) => Some(Claim::SomeAllowed),
        PoliciesDiff::Unknown(_) => None,
    };
    let verdict = match result {
        PoliciesDiff::NoNewAccess => (Status::Pass, format!("no new access compared with {spec}")),
        PoliciesDiff::NewAccess(n, deciding) => {
            // Identity-based policies alone keep today's wording; otherwise the statement
            // is named with its policy type.
            let by = match deciding.first() {
                Some(d) if !(new.is_identity_only() && base.is_identity_only()) => {
                    format!("{} {}", d.policy_type.as_str(), new.label(*d))
                }
                Some(_) | None => new.identity.label(n.statement),
            };
            (
                Status::Fail,
                format!(
                    "new access compared with {spec}: {} on {} is allowed by {by} (the baseline: {})",
                    n.action,
                    n.resource,
                    n.baseline.as_str()
                ),
            )
        }
        PoliciesDiff::Unknown(why) => (
            Status::Unknown,
            format!("no-new-access unknown compared with {spec}: {why}"),
        ),
    };
    let (status, message) = settle(
        gate.loaded,
        claim,
        verdict,
        &format!("no-new-access compared with {spec}"),
    );
    Ok(check(
        "no-new-access",
        "no-new-access".into(),
        status,
        message,
        "gate/no-new-access",
        at(loc),
    ))
}

/// The file each suppression is about, as findings name it: `None` when the gate loads
/// one file (or none: standard input), so that the suppression's Sid is unique. With
/// several files a Sid may repeat, so a suppression must name its file (`policy:`,
/// relative to the gate file), and the file must be one the gate loads.
fn suppression_scopes(
    cfg: &GateConfig,
    loaded: &Loaded,
    typed: &[TypedFile],
) -> Result<Vec<Option<String>>, GateError> {
    // Every file the gate lints: its identity-based policies, then those of other types.
    let files: Vec<(&String, &std::path::PathBuf)> = loaded
        .files
        .iter()
        .map(|(n, p)| (n, p))
        .chain(
            typed
                .iter()
                .filter_map(|t| t.file.1.as_ref().map(|p| (&t.file.0, p))),
        )
        .collect();
    let names = || {
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        names.join(", ")
    };
    let dir = cfg.dir();
    let mut scopes = Vec::with_capacity(cfg.suppress.len());
    for s in &cfg.suppress {
        let Some(policy) = &s.policy else {
            if files.len() > 1 {
                return Err(cannot_run(
                    &s.loc,
                    format!(
                        "a suppression needs a policy: the gate loads {} policy files ({}), and a Sid is unique within one policy only",
                        files.len(),
                        names()
                    ),
                ));
            }
            scopes.push(None);
            continue;
        };
        let resolved = cfg.root.resolve(&dir.join(policy)).ok();
        let Some((name, _)) = files
            .iter()
            .find(|(_, file)| Some(*file) == resolved.as_ref())
        else {
            return Err(cannot_run(
                &s.loc,
                format!(
                    "the suppression's policy {policy:?} is not a file the gate loads ({})",
                    names()
                ),
            ));
        };
        scopes.push((files.len() > 1).then(|| (*name).clone()));
    }
    Ok(scopes)
}

/// Does suppression `s`, about the file `scope` (see [`suppression_scopes`]), cover
/// finding `f`?
fn covers(s: &Suppression, scope: Option<&str>, f: &Finding) -> bool {
    f.sid.as_deref() == Some(s.sid.as_str())
        && s.rule.is_none_or(|r| r == f.rule)
        && scope.is_none_or(|file| file == f.file)
}

/// `lint`: a failing check per finding that fails the gate and per suppression that
/// matches nothing, else one passing check; and every finding, with its suppression's
/// reason and whether it fails the gate. `scopes` are the suppressions' files.
fn lint(
    cfg: &GateConfig,
    loaded: &Loaded,
    typed: &[TypedFile],
    scopes: &[Option<String>],
) -> (Vec<CheckResult>, Vec<GateFinding>) {
    let covers = |i: usize, f: &Finding| covers(&cfg.suppress[i], scopes[i].as_deref(), f);
    let mut checks = Vec::new();
    let mut findings = Vec::new();
    // The files of other types read from the work tree (a git baseline's are not linted).
    let typed_findings = typed.iter().filter(|t| t.file.1.is_some()).flat_map(|t| {
        lint_typed(
            &crate::eval::PolicySet::new(vec![t.policy.clone()]),
            &[Some(t.source.clone())],
            t.policy_type,
        )
    });
    // Listed as `lint` lists them: errors first.
    let mut all: Vec<Finding> = loaded.lint().into_iter().chain(typed_findings).collect();
    by_severity(&mut all);
    for f in all {
        let suppressed = (0..cfg.suppress.len())
            .find(|&i| covers(i, &f))
            .map(|i| &cfg.suppress[i]);
        // A listed severity fails the gate, and so does every more severe one.
        let fails = suppressed.is_none() && cfg.fail_on.iter().any(|s| f.severity >= *s);
        if fails {
            checks.push(check(
                "lint",
                format!("{} {}", f.rule, f.file),
                Status::Fail,
                format!(
                    "{} {}: {} (fix: {})",
                    f.rule,
                    f.severity.as_str(),
                    f.message,
                    f.hint
                ),
                f.rule.as_str(),
                Some((f.file.clone(), f.line, f.column)),
            ));
        }
        findings.push((f, suppressed.map(|s| s.reason.clone()), fails));
    }
    // A suppression that matches nothing fails: it would silently exempt whatever
    // statement takes that Sid next.
    for (i, s) in cfg.suppress.iter().enumerate() {
        if !findings.iter().any(|(f, _, _)| covers(i, f)) {
            let what = match &s.rule {
                Some(r) => format!("{r} of Sid {:?}", s.sid),
                None => format!("Sid {:?}", s.sid),
            };
            checks.push(check(
                "lint",
                format!("suppression {what}"),
                Status::Fail,
                format!(
                    "the suppression of {what} matches no finding: remove it, or a later statement with that Sid would be exempt unseen"
                ),
                "gate/suppression",
                at(&s.loc),
            ));
        }
    }
    if checks.is_empty() {
        checks.push(check(
            "lint",
            "lint".into(),
            Status::Pass,
            lint_summary(&cfg.fail_on, findings.len()) + &unlinted(loaded),
            "gate/lint",
            None,
        ));
    }
    (checks, findings)
}

/// What lint did not see, for the message of a passing `lint` check: the policies the
/// role names and the tool did not evaluate.
fn unlinted(loaded: &Loaded) -> String {
    if loaded.unseen.is_empty() {
        return String::new();
    }
    let items: Vec<String> = loaded.unseen.iter().map(|u| u.to_string()).collect();
    format!("; not linted, not seen: {}", items.join("; "))
}

/// The message of a passing `lint` check.
fn lint_summary(fail_on: &[Severity], findings: usize) -> String {
    match fail_on.iter().min() {
        None => format!("{findings} finding(s), reported only (fail-on is empty)"),
        Some(least) => format!(
            "no finding of severity {}{} ({findings} finding(s) in all)",
            least.as_str(),
            if *least == Severity::Error {
                ""
            } else {
                " or above"
            },
        ),
    }
}

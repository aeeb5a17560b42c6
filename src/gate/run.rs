//! The checks: each gate's expectations, isolation properties, `no-new-access` and lint,
//! one step per kind of check.

use jiff::Timestamp;

use super::config::{Expectation, GateConfig, IsolationCheck, Suppression};
use super::loading::{load_baseline, load_source};
use super::{CheckResult, GateError, GateReport, Status};
use crate::analysis::identity::IdentityFormat;
use crate::analysis::no_new_access::{DiffResult, no_new_access};
use crate::analysis::prover::{Verdict, default_areas, prove_isolation};
use crate::lint::{Finding, Severity};
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
        let loaded = load_source(cfg)?;
        let mut checks = Vec::new();
        for e in &cfg.expect {
            checks.push(expectation(&loaded, e, now)?);
        }
        for iso in &cfg.isolation {
            checks.push(isolation(&loaded, iso, now)?);
        }
        if let Some((spec, loc)) = &cfg.baseline {
            checks.push(baseline(cfg, &loaded, spec, loc, now)?);
        }
        let scopes = suppression_scopes(cfg, &loaded)?;
        let (lint_checks, findings) = lint(cfg, &loaded, &scopes);
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

/// `expect`: the request gets the decision the gate file states.
fn expectation(loaded: &Loaded, e: &Expectation, now: Timestamp) -> Result<CheckResult, GateError> {
    let set = &loaded.set;
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
    let (status, message) = match set.evaluate(&r) {
        Ok(ev) if ev.decision == e.decision => (
            Status::Pass,
            format!(
                "{} {} on {}: {}",
                e.name,
                e.action,
                e.resource,
                ev.decision.as_str()
            ),
        ),
        Ok(ev) => {
            let deciding: Vec<String> = ev.deciding.iter().map(|d| set.label(*d)).collect();
            (
                Status::Fail,
                format!(
                    "{}: expected {}, got {} for {} on {} (deciding: [{}])",
                    e.name,
                    e.decision.as_str(),
                    ev.decision.as_str(),
                    e.action,
                    e.resource,
                    deciding.join(", ")
                ),
            )
        }
        Err(x) => (
            Status::Fail,
            format!("{}: the request cannot be evaluated: {x}", e.name),
        ),
    };
    let (status, message) = settle(
        loaded,
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

/// `isolation`: the prover's verdict; no per-identity area at all fails.
fn isolation(
    loaded: &Loaded,
    iso: &IsolationCheck,
    now: Timestamp,
) -> Result<CheckResult, GateError> {
    let set = &loaded.set;
    let format = IdentityFormat::parse(&iso.format).map_err(|m| cannot_run(&iso.loc, m))?;
    let name = format!("isolation ({})", iso.format);
    if iso.areas.is_empty() && default_areas(set).is_empty() {
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
    let policies = crate::eval::authorize::Policies::identity_only(set.clone());
    let proof = prove_isolation(&policies, None, &iso.areas, &format, now)
        .map_err(|m| cannot_run(&iso.loc, m))?;
    let (status, claim) = match proof.verdict {
        Verdict::Holds => (Status::Pass, Some(Claim::NoneAllowed)),
        Verdict::Violated => (Status::Fail, Some(Claim::SomeAllowed)),
        Verdict::Unknown => (Status::Unknown, None),
    };
    let mut message = format!("{}: {}", proof.verdict.as_str(), proof.reason);
    if let Some(c) = &proof.counterexample {
        message.push_str(&format!(
            "; counterexample: {} can {} {} inside the area of {}",
            c.attacker, c.action, c.resource, c.victim
        ));
    }
    let (status, message) = settle(loaded, claim, (status, message), "isolation");
    Ok(check(
        "isolation",
        name,
        status,
        message,
        "gate/isolation",
        at(&iso.loc),
    ))
}

/// `no-new-access`: nothing the baseline denied is allowed now.
fn baseline(
    cfg: &GateConfig,
    loaded: &Loaded,
    spec: &str,
    loc: &Loc,
    now: Timestamp,
) -> Result<CheckResult, GateError> {
    let baseline = load_baseline(cfg, spec).map_err(|reason| GateError::Baseline {
        loc: loc.clone(),
        reason: Box::new(reason),
    })?;
    let set = &loaded.set;
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
    let result = no_new_access(set, &baseline, &format, now);
    let claim = match &result {
        DiffResult::NoNewAccess => Some(Claim::NoneAllowed),
        DiffResult::NewAccess(_) => Some(Claim::SomeAllowed),
        DiffResult::Unknown(_) => None,
    };
    let verdict = match result {
        DiffResult::NoNewAccess => (Status::Pass, format!("no new access compared with {spec}")),
        DiffResult::NewAccess(n) => (
            Status::Fail,
            format!(
                "new access compared with {spec}: {} on {} is allowed by {} (the baseline: {})",
                n.action,
                n.resource,
                set.label(n.statement),
                n.baseline.as_str()
            ),
        ),
        DiffResult::Unknown(why) => (
            Status::Unknown,
            format!("no-new-access unknown compared with {spec}: {why}"),
        ),
    };
    let (status, message) = settle(
        loaded,
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
fn suppression_scopes(cfg: &GateConfig, loaded: &Loaded) -> Result<Vec<Option<String>>, GateError> {
    let names = || {
        let names: Vec<&str> = loaded.files.iter().map(|(n, _)| n.as_str()).collect();
        names.join(", ")
    };
    let dir = cfg.dir();
    let mut scopes = Vec::with_capacity(cfg.suppress.len());
    for s in &cfg.suppress {
        let Some(policy) = &s.policy else {
            if loaded.files.len() > 1 {
                return Err(cannot_run(
                    &s.loc,
                    format!(
                        "a suppression needs a policy: the gate loads {} policy files ({}), and a Sid is unique within one policy only",
                        loaded.files.len(),
                        names()
                    ),
                ));
            }
            scopes.push(None);
            continue;
        };
        let resolved = cfg.root.resolve(&dir.join(policy)).ok();
        let Some((name, _)) = loaded
            .files
            .iter()
            .find(|(_, file)| Some(file) == resolved.as_ref())
        else {
            return Err(cannot_run(
                &s.loc,
                format!(
                    "the suppression's policy {policy:?} is not a file the gate loads ({})",
                    names()
                ),
            ));
        };
        scopes.push((loaded.files.len() > 1).then(|| name.clone()));
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
    scopes: &[Option<String>],
) -> (Vec<CheckResult>, Vec<GateFinding>) {
    let covers = |i: usize, f: &Finding| covers(&cfg.suppress[i], scopes[i].as_deref(), f);
    let mut checks = Vec::new();
    let mut findings = Vec::new();
    for f in loaded.lint() {
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

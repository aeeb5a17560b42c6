//! Candidates of a solver made concrete and confirmed with the evaluator: distinct
//! identities of the format, the resource inside the victim's area, and a request of the
//! attacker that the policies of every type allow ([`crate::eval::authorize`]).

use crate::analysis::identity::IdentityFormat;
use crate::analysis::search::Witness;
use crate::eval::Decision;
use crate::eval::authorize::TypedRef;
use crate::lang::model::{ActionSpec, Statement};
use crate::lang::variables::{NoVariables, Piece};
use crate::lang::wildcard::Match;

use super::Counterexample;
use super::area::Area;
use super::solver::Candidate;
use super::subject::Subject;

/// Confirm one candidate for the `Allow` statement `r` against `area`.
pub(crate) fn confirm(
    subject: &Subject,
    r: TypedRef,
    area: &Area,
    candidate: &Candidate,
    format: &IdentityFormat,
    now: jiff::Timestamp,
) -> Result<Counterexample, String> {
    match candidate {
        Candidate::Witness(w) => confirm_witness(subject, r, area, w, format, now),
        Candidate::Concrete {
            resource,
            attacker,
            victim,
            ..
        } => check_concrete(subject, r, area, resource, [attacker, victim], format, now),
    }
}

/// Try to turn a witness of the automata into a confirmed counterexample.
fn confirm_witness(
    subject: &Subject,
    st_ref: TypedRef,
    area: &Area,
    w: &Witness,
    format: &IdentityFormat,
    now: jiff::Timestamp,
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
    let first = check_concrete(
        subject,
        st_ref,
        area,
        &resource,
        [&attacker, &victim],
        format,
        now,
    );
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
            if let Ok(c) =
                check_concrete(subject, st_ref, area, &r, [&attacker, &other], format, now)
            {
                return Ok(c);
            }
        }
    }
    first
}

/// Check a concrete candidate with the evaluator: distinct identities of the format, the
/// resource inside the victim's area, and the attacker allowed.
fn check_concrete(
    subject: &Subject,
    st_ref: TypedRef,
    area: &Area,
    resource: &str,
    [attacker, victim]: [&str; 2],
    format: &IdentityFormat,
    now: jiff::Timestamp,
) -> Result<Counterexample, String> {
    if attacker == victim {
        return Err(format!(
            "the witness needs the same identity twice ({attacker})"
        ));
    }
    if !format.matches(attacker) || !format.matches(victim) {
        return Err("the witness identities do not fit the identity format".to_string());
    }
    if !area.contains(resource, victim) {
        return Err(format!(
            "{resource} is not inside the area of {victim} after all"
        ));
    }
    let st = subject.statement(st_ref);
    let context = subject.context(st, attacker);
    for action in candidate_actions_for(st, area.service.as_deref()) {
        if subject.decide(&action, resource, attacker, &context, now) == Some(Decision::Allow) {
            return Ok(Counterexample {
                attacker: attacker.to_string(),
                victim: victim.to_string(),
                action,
                resource: resource.to_string(),
                context,
                principal: subject.caller.as_ref().map(|c| c.arn().to_string()),
                statement: st_ref,
            });
        }
    }
    Err(format!(
        "{attacker} is not confirmed to reach {resource} (conditions or denies the search widened)"
    ))
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

/// Concrete actions to try for a counterexample: the statement's own action names, the
/// usual actions its patterns cover, and for each wildcard pattern a name made from it
/// (`s3:Get*` gives `s3:get`, `s3:*` gives `s3:Any`).
fn candidate_actions(st: &Statement) -> Vec<String> {
    const PREFERRED: &[&str] = &[
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
        "execute-api:Invoke",
        "dynamodb:GetItem",
    ];
    let covers =
        |p: &crate::lang::wildcard::Pattern, a: &str| p.matches(a, &NoVariables) == Match::Yes;
    let mut out: Vec<String> = Vec::new();
    match &st.action {
        ActionSpec::Action(ps) => {
            for p in ps {
                if p.as_exact().is_some() {
                    out.push(p.source().to_string());
                    continue;
                }
                out.extend(
                    PREFERRED
                        .iter()
                        .filter(|a| covers(p, a))
                        .map(|a| a.to_string()),
                );
                let made_up: String = p
                    .pieces()
                    .iter()
                    .map(|piece| match piece {
                        Piece::Literal(l) => l.to_string(),
                        Piece::AnyChar => "x".to_string(),
                        Piece::Star | Piece::Variable(_) => String::new(),
                    })
                    .collect();
                out.push(match made_up.split_once(':') {
                    Some((svc, "")) => format!("{svc}:Any"),
                    _ => made_up,
                });
            }
        }
        ActionSpec::NotAction(ps) => {
            out.extend(
                PREFERRED
                    .iter()
                    .filter(|a| !ps.iter().any(|p| covers(p, a)))
                    .map(|a| a.to_string()),
            );
        }
    }
    out.dedup();
    out
}

/// Why a confirmed counterexample breaks isolation, in words.
pub(crate) fn explain_violation(c: &Counterexample, has_slot: bool) -> String {
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

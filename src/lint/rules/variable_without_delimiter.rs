//! `PS001`: a policy variable followed by `*` or `?` in a resource
//! (`.../${cognito-identity.amazonaws.com:sub}*`): the pattern of identity `a` also
//! covers identity `ab`. Only under `"Version": "2012-10-17"`; under older versions the
//! text is literal and `PS002` reports it instead.
//!
//! The message says what can happen, in words: who (the variable's identity, user or
//! caller, as `a`), what (read, write, or both: the catalog's access levels of the
//! statement's actions, [`crate::catalog::Catalog::access_of`]) and whose files (every
//! one whose value starts with `a`).

use super::{Hit, StatementCx, components};
use crate::catalog::Access;
use crate::lang::arn::ArnPattern;
use crate::lang::model::{Effect, ResourceSpec};
use crate::lang::variables::{Piece, Variable};
use crate::lint::{Rule, RuleId, Severity};

/// The rule.
pub(in crate::lint) const RULE: Rule = Rule {
    id: RuleId::PS001,
    name: "variable-without-delimiter",
    severity: Severity::Error,
    description: "a policy variable followed by a wildcard: the pattern of one identity covers every identity that starts with it",
};

/// Each resource pattern with a variable right before a wildcard.
pub(super) fn check(cx: &StatementCx<'_>, out: &mut Vec<Hit>) {
    if !cx.policy.v2012 {
        return;
    }
    // The statement's access, computed once and only for a statement with a finding.
    let mut access = None;
    for r in cx.resources() {
        if let Some(found) = variable_then_wildcard(r) {
            let access =
                *access.get_or_insert_with(|| crate::catalog::catalog().access_of(&cx.st.action));
            out.push(Hit::new(
                RULE.id,
                format!(
                    "{}: {} has a policy variable followed by a wildcard: {}",
                    cx.label,
                    r.source(),
                    consequence(cx, r, &found, access)
                ),
                "end the variable with a delimiter, e.g. .../${cognito-identity.amazonaws.com:sub}/*",
            ));
        }
    }
}

/// A variable right before a wildcard, in a component of a resource pattern.
struct Found<'a> {
    /// The pieces of the component before the variable.
    before: &'a [Piece],
    /// The variable.
    variable: &'a Variable,
    /// The wildcards right after it.
    wildcards: &'a [Piece],
}

/// The first variable piece right before a `*` or `?` piece of a compiled component.
/// Variables only occur in the resource component, so no pair spans two components.
fn variable_then_wildcard(p: &ArnPattern) -> Option<Found<'_>> {
    components(p).iter().find_map(|part| {
        let pieces = part.pieces();
        pieces.iter().enumerate().find_map(|(i, piece)| {
            let Piece::Variable(variable) = piece else {
                return None;
            };
            let after = &pieces[i + 1..];
            let run = after.iter().position(Piece::is_text).unwrap_or(after.len());
            (run > 0).then(|| Found {
                before: &pieces[..i],
                variable,
                wildcards: &after[..run],
            })
        })
    })
}

/// What can happen, for the value `a` of the variable: `identity a can read and write
/// the files of every identity whose id starts with a`.
fn consequence(
    cx: &StatementCx<'_>,
    resource: &ArnPattern,
    found: &Found,
    access: Access,
) -> String {
    let (one, every) = named(found.variable);
    let whose = whose(resource, found, &every);
    let how = match (access.read, access.write) {
        (true, true) => "read and write",
        (true, false) => "read",
        (false, true) => "write",
        // No action at all (`"NotAction": "*"`).
        (false, false) => return format!("the pattern of {one} also covers {whose}"),
    };
    let not_resource = matches!(cx.st.resource, Some(ResourceSpec::NotResource(_)));
    match (cx.st.effect, not_resource) {
        (Effect::Allow, false) => format!("{one} can {how} {whose}"),
        (Effect::Deny, false) => format!("this Deny also refuses {one} {how} access to {whose}"),
        (Effect::Allow, true) => format!("this Allow gives {one} no {how} access to {whose}"),
        (Effect::Deny, true) => format!("this Deny does not refuse {one} {how} access to {whose}"),
    }
}

/// Whose resources the pattern also covers: `the files of every identity whose id starts
/// with a`. In S3, a variable after a `/` names objects (files), else buckets.
fn whose(resource: &ArnPattern, found: &Found, every: &str) -> String {
    // `*` among the wildcards: any longer value; only `?`: that many more characters.
    let which = if found.wildcards.contains(&Piece::Star) {
        "starts with a".to_string()
    } else {
        match found.wildcards.len() {
            1 => "is a followed by one character".to_string(),
            n => format!("is a followed by {n} characters"),
        }
    };
    let in_key = found
        .before
        .iter()
        .any(|p| matches!(p, Piece::Literal(l) if l.contains('/')));
    let things = match components(resource).get(1) {
        Some(service) if service.source() == "s3" && in_key => "files",
        Some(service) if service.source() == "s3" => "buckets",
        _ => "resources",
    };
    format!("the {things} of {every} {which}")
}

/// Who the variable names, in words: one of them (with the value `a`), and every one of
/// them with their value (`identity a`, `every identity whose id`).
fn named(variable: &Variable) -> (String, String) {
    match &*variable.key_lower {
        "cognito-identity.amazonaws.com:sub" => {
            ("identity a".into(), "every identity whose id".into())
        }
        "aws:username" => ("user a".into(), "every user whose name".into()),
        "aws:userid" => (
            "the caller whose user id is a".into(),
            "every caller whose user id".into(),
        ),
        _ => (
            format!("the caller whose {} is a", variable.key),
            format!("every caller whose {}", variable.key),
        ),
    }
}

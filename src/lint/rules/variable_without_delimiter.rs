//! `PS001`: a policy variable followed by `*` or `?` in a resource
//! (`.../${cognito-identity.amazonaws.com:sub}*`): the pattern of identity `a` also
//! covers identity `ab`. Only under `"Version": "2012-10-17"`; under older versions the
//! text is literal and `PS002` reports it instead.

use super::{Hit, StatementCx, components};
use crate::lang::arn::ArnPattern;
use crate::lang::variables::Piece;
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
    for r in cx.resources() {
        if variable_then_wildcard(r) {
            out.push(Hit::new(
                RULE.id,
                format!(
                    "{}: {} has a policy variable followed by a wildcard",
                    cx.label,
                    r.source()
                ),
                "end the variable with a delimiter, e.g. .../${cognito-identity.amazonaws.com:sub}/*",
            ));
        }
    }
}

/// A compiled component with a variable piece right before a `*` or `?` piece.
/// Variables only occur in the resource component, so no pair spans two components.
fn variable_then_wildcard(p: &ArnPattern) -> bool {
    components(p).iter().any(|part| {
        part.pieces().windows(2).any(|w| {
            matches!(
                (&w[0], &w[1]),
                (Piece::Variable(_), Piece::Star | Piece::AnyChar)
            )
        })
    })
}

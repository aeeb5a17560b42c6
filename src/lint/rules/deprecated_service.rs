//! `PS008`: an action of a discontinued service: it grants nothing and marks a policy
//! copied from an old tutorial. The services and the dates AWS ended them are listed in
//! `docs/gate.md`.

use super::{Hit, StatementCx};
use crate::lang::variables::Piece;
use crate::lang::wildcard::Pattern;
use crate::lint::{Rule, RuleId, Severity};

/// The rule.
pub(in crate::lint) const RULE: Rule = Rule {
    id: RuleId::PS008,
    name: "deprecated-service",
    severity: Severity::Warning,
    description: "a deprecated AWS service",
};

/// Service prefixes of AWS services that AWS has discontinued (Amazon Mobile Analytics
/// was shut down in 2018; the others in 2024 and 2025).
const DEPRECATED: &[&str] = &[
    "mobileanalytics",
    "opsworks",
    "opsworks-cm",
    "codestar",
    "honeycode",
    "qldb",
    "robomaker",
    "iotanalytics",
    "elastictranscoder",
    "evidently",
];

/// Each `Action` or `NotAction` pattern of a deprecated service, in an `Allow` or a
/// `Deny` (the action is dead either way).
pub(super) fn check(cx: &StatementCx<'_>, out: &mut Vec<Hit>) {
    for p in cx.actions() {
        if let Some(service) = service(p)
            && DEPRECATED.contains(&service)
        {
            out.push(Hit::new(
                RULE.id,
                format!(
                    "{}: {} belongs to a deprecated service ({service})",
                    cx.label,
                    p.source()
                ),
                "remove the action",
            ));
        }
    }
}

/// The service prefix when it is plain text (action patterns are compiled in lowercase).
fn service(p: &Pattern) -> Option<&str> {
    match p.pieces().first() {
        Some(Piece::Literal(l)) => l.split_once(':').map(|(service, _)| service),
        _ => None,
    }
}

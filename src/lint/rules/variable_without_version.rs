//! `PS002`: a policy variable (in a resource or a condition value) in a policy without
//! `"Version": "2012-10-17"`: AWS matches `${...}` literally under `2008-10-17` or with no
//! version.

use super::{Hit, StatementCx, components};
use crate::lang::arn::ArnPattern;
use crate::lang::variables::Piece;
use crate::lint::{Rule, RuleId, Severity};

/// The rule.
pub(in crate::lint) const RULE: Rule = Rule {
    id: RuleId::PS002,
    name: "variable-without-version",
    severity: Severity::Error,
    description: "a policy variable in a policy without \"Version\": \"2012-10-17\": AWS takes ${...} literally",
};

const HINT: &str = "add \"Version\": \"2012-10-17\"";

/// Each resource with a `${`, then one finding for the condition values.
pub(super) fn check(cx: &StatementCx<'_>, out: &mut Vec<Hit>) {
    if cx.policy.v2012 {
        return;
    }
    for r in cx.resources() {
        if literal_variable(r) {
            out.push(Hit::new(
                RULE.id,
                format!(
                    "{}: {} has a policy variable, but the policy's Version is not 2012-10-17, so AWS matches the text literally",
                    cx.label,
                    r.source()
                ),
                HINT,
            ));
        }
    }
    if cx
        .st
        .conditions
        .iter()
        .any(|c| c.raw_values.iter().any(|v| v.contains("${")))
    {
        out.push(Hit::new(
            RULE.id,
            format!(
                "{}: a condition value has a policy variable, but the policy's Version is not 2012-10-17",
                cx.label
            ),
            HINT,
        ));
    }
}

/// Without the 2012 version a pattern is compiled without variables: a `${` is literal
/// text in one of its components.
fn literal_variable(p: &ArnPattern) -> bool {
    components(p).iter().any(|part| {
        part.pieces()
            .iter()
            .any(|piece| matches!(piece, Piece::Literal(l) if l.contains("${")))
    })
}

//! `PS009`: a statement identical to an earlier one (ignoring `Sid`): noise that hides
//! real changes in review. Statements are compared as written: effect, actions,
//! resources, conditions, in order.

use super::{Hit, StatementCx};
use crate::lint::{Rule, RuleId, Severity};

/// The rule.
pub(in crate::lint) const RULE: Rule = Rule {
    id: RuleId::PS009,
    name: "duplicate-statement",
    severity: Severity::Warning,
    description: "a statement identical to an earlier one",
};

/// A statement whose key an earlier statement has.
pub(super) fn check(cx: &StatementCx<'_>, out: &mut Vec<Hit>) {
    let keys = &cx.policy.keys;
    if let Some(first) = keys[..cx.index].iter().position(|k| *k == keys[cx.index]) {
        out.push(Hit::new(
            RULE.id,
            format!("{} repeats Statement[{first}]", cx.label),
            "remove the duplicate",
        ));
    }
}

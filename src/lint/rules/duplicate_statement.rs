//! `PS009`: a statement identical to an earlier one (ignoring `Sid`): noise that hides
//! real changes in review. Statements are compared as written: effect, actions,
//! resources, conditions, in order.

use std::collections::HashMap;

use super::{Hit, StatementCx};
use crate::lang::model::{Policy, Statement};
use crate::lint::{Rule, RuleId, Severity};

/// The rule.
pub(in crate::lint) const RULE: Rule = Rule {
    id: RuleId::PS009,
    name: "duplicate-statement",
    severity: Severity::Warning,
    description: "a statement identical to an earlier one",
};

/// For each statement, the earlier statement with the same key, if any: one pass with an
/// index from key to first position.
pub(super) fn first_same(policy: &Policy) -> Vec<Option<usize>> {
    let mut first: HashMap<String, usize> = HashMap::new();
    policy
        .statements
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let j = *first.entry(Statement::key(st)).or_insert(i);
            (j != i).then_some(j)
        })
        .collect()
}

/// A statement whose key an earlier statement has.
pub(super) fn check(cx: &StatementCx<'_>, out: &mut Vec<Hit>) {
    if let Some(first) = cx.policy.first_same[cx.index] {
        out.push(Hit::new(
            RULE.id,
            format!("{} repeats Statement[{first}]", cx.label),
            "remove the duplicate",
        ));
    }
}

//! `PS009`: a statement identical to an earlier one (ignoring `Sid`): noise that hides
//! real changes in review. Statements are compared as written: effect, actions,
//! resources, conditions, in order.

use super::{Hit, StatementCx};
use crate::lang::arn::ArnPattern;
use crate::lang::model::{ActionSpec, ResourceSpec, Statement};
use crate::lang::wildcard::Pattern;
use crate::lint::{Rule, RuleId, Severity};

/// The rule.
pub(in crate::lint) const RULE: Rule = Rule {
    id: RuleId::PS009,
    name: "duplicate-statement",
    severity: Severity::Warning,
    description: "a statement identical to an earlier one",
};

/// A statement as the evaluator sees it (effect, actions, resources, conditions; not the
/// `Sid`): equal keys, same statement.
pub(crate) fn statement_key(st: &Statement) -> String {
    let (not_action, actions) = match &st.action {
        ActionSpec::Action(p) => (false, p),
        ActionSpec::NotAction(p) => (true, p),
    };
    let (not_resource, resources): (bool, &[ArnPattern]) = match &st.resource {
        Some(ResourceSpec::Resource(p)) => (false, p),
        Some(ResourceSpec::NotResource(p)) => (true, p),
        None => (false, &[]),
    };
    let actions: Vec<&str> = actions.iter().map(Pattern::source).collect();
    let resources: Vec<&str> = resources.iter().map(ArnPattern::source).collect();
    let conditions: Vec<String> = st
        .conditions
        .iter()
        .map(|c| format!("{}|{}|{:?}", c.operator, c.key_lower, c.raw_values))
        .collect();
    format!(
        "{:?}|{not_action:?}|{actions:?}|{not_resource:?}|{resources:?}|{conditions:?}",
        st.effect
    )
}

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

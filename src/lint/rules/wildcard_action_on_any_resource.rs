//! `PS005`: an `Allow` of a wildcard action (any `*` or `?`, or a `NotAction`) on
//! `"Resource": "*"` or with `NotResource`: the broad grants least privilege removes
//! first.

use super::{Hit, StatementCx, has_wildcard};
use crate::lang::model::ActionSpec;
use crate::lint::{Rule, RuleId, Severity};

/// The rule.
pub(in crate::lint) const RULE: Rule = Rule {
    id: RuleId::PS005,
    name: "wildcard-action-on-any-resource",
    severity: Severity::Warning,
    description: "a wildcard action on \"Resource\": \"*\"",
};

/// A wildcard `Action` pattern, or any `NotAction`, allowed on every resource.
pub(super) fn check(cx: &StatementCx<'_>, out: &mut Vec<Hit>) {
    let wildcard_action = match &cx.st.action {
        ActionSpec::Action(p) => p.iter().any(has_wildcard),
        ActionSpec::NotAction(_) => true,
    };
    if cx.is_allow() && cx.on_any && wildcard_action {
        out.push(Hit::new(
            RULE.id,
            format!(
                "{}: wildcard action [{}] on Resource \"*\"",
                cx.label,
                cx.action_list()
            ),
            "name the actions and resources the principal needs",
        ));
    }
}

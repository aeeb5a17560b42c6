//! `PS003`: `Allow` with `NotAction` grants every action not listed, future ones too.

use super::{Hit, StatementCx};
use crate::lang::model::ActionSpec;
use crate::lint::{Rule, RuleId, Severity};

/// The rule.
pub(in crate::lint) const RULE: Rule = Rule {
    id: RuleId::PS003,
    name: "allow-not-action",
    severity: Severity::Warning,
    description: "Allow with NotAction grants every action not listed, including future ones",
};

/// An `Allow` with `NotAction` (a `Deny` with `NotAction` is the usual guard rail).
pub(super) fn check(cx: &StatementCx<'_>, out: &mut Vec<Hit>) {
    if cx.is_allow() && matches!(cx.st.action, ActionSpec::NotAction(_)) {
        out.push(Hit::new(
            RULE.id,
            format!("{}: Allow with NotAction [{}]", cx.label, cx.action_list()),
            "list the actions to allow with Action instead",
        ));
    }
}

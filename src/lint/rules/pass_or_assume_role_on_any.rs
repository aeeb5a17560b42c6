//! `PS007`: an `Allow` whose actions cover `iam:PassRole` or `sts:AssumeRole` (an
//! `Action` pattern that matches them, or a `NotAction` that does not exclude them) on
//! `"Resource": "*"` or with `NotResource`: the principal can hand any role to a
//! service, or become it.

use super::{Hit, StatementCx};
use crate::lint::{Rule, RuleId, Severity};

/// The rule.
pub(in crate::lint) const RULE: Rule = Rule {
    id: RuleId::PS007,
    name: "pass-or-assume-role-on-any",
    severity: Severity::Error,
    description: "iam:PassRole or sts:AssumeRole on \"Resource\": \"*\"",
};

/// An `Allow` of either action on every resource.
pub(super) fn check(cx: &StatementCx<'_>, out: &mut Vec<Hit>) {
    let hands_over_roles =
        cx.st.matches_action("iam:PassRole") || cx.st.matches_action("sts:AssumeRole");
    if cx.is_allow() && cx.on_any && hands_over_roles {
        out.push(Hit::new(
            RULE.id,
            format!(
                "{}: iam:PassRole or sts:AssumeRole on Resource \"*\"",
                cx.label
            ),
            "restrict Resource to the role ARNs that may be passed or assumed",
        ));
    }
}

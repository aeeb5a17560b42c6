//! `PS010`: an `Allow` after an unconditional `Allow` of `*` on `*` adds nothing.
//! Shadowing other than by `Allow * on *` is not reported (see `docs/gate.md`).

use super::{Hit, StatementCx};
use crate::lang::arn::ArnPattern;
use crate::lang::model::{ActionSpec, Effect, Policy, ResourceSpec};
use crate::lint::{Rule, RuleId, Severity};

/// The rule.
pub(in crate::lint) const RULE: Rule = Rule {
    id: RuleId::PS010,
    name: "shadowed-statement",
    severity: Severity::Info,
    description: "an Allow already covered by an unconditional Allow of * on *",
};

/// The first unconditional `Allow` of `*` on `*`.
pub(super) fn first_allow_all(policy: &Policy) -> Option<usize> {
    policy.statements.iter().position(|st| {
        st.effect == Effect::Allow
            && st.conditions.is_empty()
            && matches!(&st.action, ActionSpec::Action(p) if p.iter().any(|p| p.is_match_all()))
            && matches!(&st.resource, Some(ResourceSpec::Resource(p))
                if p.iter().any(|p| matches!(p, ArnPattern::Any(_))))
    })
}

/// Every other `Allow` of a policy that has one.
pub(super) fn check(cx: &StatementCx<'_>, out: &mut Vec<Hit>) {
    if cx.is_allow()
        && let Some(j) = cx.policy.allow_all
        && j != cx.index
    {
        out.push(Hit::new(
            RULE.id,
            format!(
                "{} adds nothing: Statement[{j}] already allows * on *",
                cx.label
            ),
            "remove the statement, or narrow the broad one",
        ));
    }
}

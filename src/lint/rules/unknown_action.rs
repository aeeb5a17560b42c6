//! `PS012`: an action no service documents (with "did you mean"), or a pattern that
//! covers no documented action: a typo grants, or in a `Deny` denies, nothing. Uses the
//! bundled action catalog (`docs/catalog.md`).

use super::{Hit, StatementCx, has_wildcard};
use crate::lint::{Rule, RuleId, Severity};

/// The rule.
pub(in crate::lint) const RULE: Rule = Rule {
    id: RuleId::PS012,
    name: "unknown-action",
    severity: Severity::Error,
    description: "an action AWS does not document (a typo grants or denies nothing), or a pattern that covers none",
};

/// How many unknown actions of one policy get "did you mean" suggestions: each compares
/// the name with every action of its service, so a policy of thousands of typos would
/// take minutes. The rest are reported without suggestions.
pub(super) const SUGGESTED_PER_POLICY: usize = 100;

/// Each `Action`/`NotAction` entry that names or covers no documented action.
pub(super) fn check(cx: &StatementCx<'_>, out: &mut Vec<Hit>) {
    let catalog = crate::catalog::catalog();
    for (p, expanded) in cx.actions().iter().zip(&cx.expanded) {
        if !expanded.is_empty() {
            continue;
        }
        let source = p.source();
        let message = if has_wildcard(p) {
            format!("{source} covers no action AWS documents")
        } else {
            let left = cx.policy.suggestions_left.get();
            cx.policy.suggestions_left.set(left.saturating_sub(1));
            crate::catalog::unknown_action_message(source, &catalog.lookup_with(source, left > 0))
        };
        out.push(Hit::new(
            RULE.id,
            format!("{}: {message}", cx.label),
            "use the action names of the Service Authorization Reference (`policy-sim actions PATTERN` lists them)",
        ));
    }
}

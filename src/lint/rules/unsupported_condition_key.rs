//! `PS014`: a service condition key none of the statement's actions supports: the
//! request never carries it, so the condition never holds. Uses the bundled action
//! catalog (`docs/catalog.md`).

use super::{Hit, StatementCx};
use crate::lint::{Rule, RuleId, Severity};

/// The rule.
pub(in crate::lint) const RULE: Rule = Rule {
    id: RuleId::PS014,
    name: "unsupported-condition-key",
    severity: Severity::Warning,
    description: "a service condition key that none of the statement's actions supports",
};

/// Each condition on a key of the actions' own service that none of them supports.
pub(super) fn check(cx: &StatementCx<'_>, out: &mut Vec<Hit>) {
    let actions = cx.catalog_actions();
    if actions.is_empty() {
        return;
    }
    for cond in &cx.st.conditions {
        let key = cond.key.as_str();
        if !unsupported(key, &actions) {
            continue;
        }
        out.push(Hit::new(
            RULE.id,
            format!(
                "{}: condition key {key} is supported by none of [{}]: the request never has it, so the condition never holds",
                cx.label,
                cx.action_list()
            ),
            "use a key the actions support (see the Service Authorization Reference), or a global aws: key",
        ));
    }
}

/// Is `key` a key of the service of every one of `actions` that none of them supports?
fn unsupported(key: &str, actions: &[&str]) -> bool {
    let Some((prefix, _)) = key.split_once(':') else {
        return false;
    };
    // Global keys, and keys of identity providers (`accounts.google.com:aud`).
    if prefix.eq_ignore_ascii_case("aws") || prefix.contains('.') {
        return false;
    }
    // Only keys of the actions' own service: some keys of one service are documented for
    // use with others (`ec2:SourceInstanceARN`, `lambda:SourceFunctionArn`) ...
    let same_service: Vec<&str> = actions
        .iter()
        .copied()
        .filter(|a| {
            a.split(':')
                .next()
                .is_some_and(|s| s.eq_ignore_ascii_case(prefix))
        })
        .collect();
    // ... and only when every action is of that service (with others, the key may be
    // one of those cross-service keys).
    if same_service.is_empty() || same_service.len() < actions.len() {
        return false;
    }
    let catalog = crate::catalog::catalog();
    !same_service.iter().any(|a| {
        catalog
            .action(a)
            .is_none_or(|(_, act)| crate::catalog::action_supports_key(act, key))
    })
}

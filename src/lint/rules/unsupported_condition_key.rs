//! `PS014`: a service condition key none of the statement's actions supports: the
//! request never carries it, so the condition never holds. Uses the bundled action
//! catalog (`docs/catalog.md`).
//!
//! The keys the actions support are gathered once per statement (a set bounded by the
//! catalog's keys of one service), so each condition costs one scan of that set, not one
//! of every action.

use std::collections::BTreeSet;

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
    let Some(supported) = Supported::of(&actions) else {
        return;
    };
    let mut list = None;
    for cond in &cx.st.conditions {
        let key = cond.key.as_str();
        if !supported.rejects(key) {
            continue;
        }
        let list = list.get_or_insert_with(|| cx.action_list());
        out.push(Hit::new(
            RULE.id,
            format!(
                "{}: condition key {key} is supported by none of [{list}]: the request never has it, so the condition never holds",
                cx.label,
            ),
            "use a key the actions support (see the Service Authorization Reference), or a global aws: key",
        ));
    }
}

/// What the statement's actions support, when they are all of one service.
struct Supported {
    /// The service prefix of every action.
    service: String,
    /// The documented keys of all the actions together.
    keys: BTreeSet<&'static str>,
}

impl Supported {
    /// `None` when there are no actions, they belong to several services (a key of one
    /// service may then be one documented for use with another: `ec2:SourceInstanceARN`,
    /// `lambda:SourceFunctionArn`), or one is not in the catalog.
    fn of(actions: &[&str]) -> Option<Supported> {
        let catalog = crate::catalog::catalog();
        let service = actions.first()?.split(':').next()?.to_ascii_lowercase();
        let mut keys = BTreeSet::new();
        for a in actions {
            let (s, act) = catalog.action(a)?;
            if !s.prefix.eq_ignore_ascii_case(&service) {
                return None;
            }
            keys.extend(act.condition_keys());
        }
        Some(Supported { service, keys })
    }

    /// Is `key` a key of the actions' service that none of them supports?
    fn rejects(&self, key: &str) -> bool {
        let Some((prefix, _)) = key.split_once(':') else {
            return false;
        };
        // Global keys, and keys of identity providers (`accounts.google.com:aud`), are
        // not of the service.
        prefix.eq_ignore_ascii_case(&self.service)
            && !self
                .keys
                .iter()
                .any(|k| crate::catalog::key_matches(k, key))
    }
}

//! `PS004`: `Allow` with `NotResource` grants every resource not listed.

use super::{Hit, StatementCx};
use crate::lang::arn::ArnPattern;
use crate::lang::model::ResourceSpec;
use crate::lint::{Rule, RuleId, Severity};

/// The rule.
pub(in crate::lint) const RULE: Rule = Rule {
    id: RuleId::PS004,
    name: "allow-not-resource",
    severity: Severity::Warning,
    description: "Allow with NotResource grants every resource not listed",
};

/// An `Allow` with `NotResource`.
pub(super) fn check(cx: &StatementCx<'_>, out: &mut Vec<Hit>) {
    if cx.is_allow()
        && let Some(ResourceSpec::NotResource(patterns)) = &cx.st.resource
    {
        let sources: Vec<&str> = patterns.iter().map(ArnPattern::source).collect();
        out.push(Hit::new(
            RULE.id,
            format!(
                "{}: Allow with NotResource [{}]",
                cx.label,
                sources.join(", ")
            ),
            "list the resources to allow with Resource instead",
        ));
    }
}

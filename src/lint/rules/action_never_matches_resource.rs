//! `PS013`: a statement whose actions can apply to none of its resources (no resource
//! type of theirs has an ARN the patterns match): the grant is dead, usually
//! `s3:ListBucket` on `bucket/*` or an object action on the bucket. Uses the bundled
//! action catalog (`docs/catalog.md`).
//!
//! Each ARN format is compared with the resources once per statement (many actions share
//! their formats: `s3:*` expands to 150 actions of 5 formats).

use std::collections::HashMap;

use super::{Hit, StatementCx};
use crate::analysis::translate::pattern_may_match_format;
use crate::lang::arn::ArnPattern;
use crate::lang::model::ResourceSpec;
use crate::lang::wildcard::Pattern;
use crate::lint::{Rule, RuleId, Severity};

/// The rule.
pub(in crate::lint) const RULE: Rule = Rule {
    id: RuleId::PS013,
    name: "action-never-matches-resource",
    severity: Severity::Warning,
    description: "a statement whose actions can never apply to its resources (no resource type of theirs has a matching ARN)",
};

/// An `Action` statement on named resources (`Allow` or `Deny`) none of whose actions
/// can apply to any of them.
pub(super) fn check(cx: &StatementCx<'_>, out: &mut Vec<Hit>) {
    let actions = cx.catalog_actions();
    let Some(ResourceSpec::Resource(resources)) = &cx.st.resource else {
        return;
    };
    let mut seen = HashMap::new();
    if actions.is_empty() || actions.iter().any(|a| applies(a, resources, &mut seen)) {
        return;
    }
    let shown: Vec<&str> = cx.actions().iter().take(3).map(Pattern::source).collect();
    let sources: Vec<&str> = resources.iter().map(ArnPattern::source).collect();
    out.push(Hit::new(
        RULE.id,
        format!(
            "{}: [{}] can never apply to [{}]: none of their resource types has a matching ARN",
            cx.label,
            shown.join(", "),
            sources.join(", ")
        ),
        "check the resource ARN format of each action (`policy-sim actions --format json ACTION`)",
    ));
}

/// Can `action` apply to one of `resources`? `true` when unsure. `seen` keeps the answer
/// for each format already compared with `resources`.
fn applies(action: &str, resources: &[ArnPattern], seen: &mut HashMap<&'static str, bool>) -> bool {
    let Some((service, a)) = crate::catalog::catalog().action(action) else {
        return true;
    };
    let formats: Vec<&'static str> = a
        .resource_types()
        .filter_map(|(name, _)| service.resource_type(name))
        .flat_map(|t| t.formats(service.prefix))
        .collect();
    if formats.is_empty() {
        // No resource type: AWS's own examples grant these on `*` and on ARN patterns
        // (`arn:aws:s3:::*`), so nothing is certain here.
        return true;
    }
    formats.iter().any(|f| {
        *seen
            .entry(f)
            .or_insert_with(|| resources.iter().any(|p| pattern_may_match_format(p, f)))
    })
}

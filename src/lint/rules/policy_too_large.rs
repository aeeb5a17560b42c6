//! `PS011`: a policy over AWS's size limit, which AWS refuses to save: 6,144 characters
//! for a managed policy; 10,240 for the sum of a role's inline policies (template roles);
//! white space not counted ([`crate::lint::policy_size`]).

use super::Hit;
use crate::lint::{Rule, RuleId, Severity};

/// The rule.
pub(in crate::lint) const RULE: Rule = Rule {
    id: RuleId::PS011,
    name: "policy-too-large",
    severity: Severity::Error,
    description: "a policy over AWS's size limit",
};

/// AWS's limit on a managed policy, in characters without white space.
const MANAGED_LIMIT: usize = 6_144;
/// AWS's limit on the sum of a role's inline policies, in characters without white space.
const INLINE_ROLE_LIMIT: usize = 10_240;

/// One policy of `size` characters: over the managed limit, or (`inline`) the inline one.
pub(in crate::lint) fn check_policy(size: usize, inline: bool) -> Option<Hit> {
    let limit = if inline {
        INLINE_ROLE_LIMIT
    } else {
        MANAGED_LIMIT
    };
    (size > limit).then(|| {
        Hit::new(
            RULE.id,
            format!("the policy has {size} characters without white space; the limit is {limit}"),
            "split it into several policies",
        )
    })
}

/// A role's inline policies, `total` characters together.
pub(in crate::lint) fn check_role(total: usize) -> Option<Hit> {
    (total > INLINE_ROLE_LIMIT).then(|| {
        Hit::new(
            RULE.id,
            format!(
                "the role's inline policies have {total} characters without white space together; the limit is {INLINE_ROLE_LIMIT}"
            ),
            "move statements into managed policies, or narrow them",
        )
    })
}

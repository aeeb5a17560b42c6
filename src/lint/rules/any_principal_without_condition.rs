//! `PS015`: a resource-based policy's `Allow` to every principal (`"Principal": "*"` or
//! `{"AWS": "*"}`) with no `Condition`: anyone, in any account or none, gets the access
//! (an S3 bucket policy that makes objects public).

use super::{Hit, StatementCx};
use crate::lang::model::Principal;
use crate::lint::{Rule, RuleId, Severity};

/// The rule.
pub(in crate::lint) const RULE: Rule = Rule {
    id: RuleId::PS015,
    name: "any-principal-without-condition",
    severity: Severity::Error,
    description: "a resource-based policy allows every principal (\"*\") with no condition",
};

/// Does `p` name every principal (`"*"`, or `"*"` among its `AWS` entries)?
fn is_everyone(p: &Principal) -> bool {
    match p {
        Principal::Any => true,
        Principal::Map(entries) => entries
            .iter()
            .any(|(kind, values)| kind == "AWS" && values.iter().any(|v| v == "*")),
    }
}

/// An unconditional `Allow` whose `Principal` is everyone.
pub(super) fn check(cx: &StatementCx<'_>, out: &mut Vec<Hit>) {
    if cx.is_allow()
        && cx.st.conditions.is_empty()
        && cx.st.principal.as_ref().is_some_and(is_everyone)
    {
        out.push(Hit::new(
            RULE.id,
            format!(
                "{}: Allow of [{}] to every principal (\"*\") with no Condition",
                cx.label,
                cx.action_list()
            ),
            "name the principals (account, role or user ARNs), or add a Condition that limits who is allowed (aws:PrincipalOrgID, aws:SourceVpce, aws:PrincipalArn)",
        ));
    }
}

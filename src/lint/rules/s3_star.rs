//! `PS006`: an `Allow` of `s3:*`, which includes bucket policy, ACL and lifecycle
//! changes; apps need a few object actions.

use super::{Hit, StatementCx};
use crate::lang::model::ActionSpec;
use crate::lang::variables::Piece;
use crate::lang::wildcard::Pattern;
use crate::lint::{Rule, RuleId, Severity};

/// The rule.
pub(in crate::lint) const RULE: Rule = Rule {
    id: RuleId::PS006,
    name: "s3-star",
    severity: Severity::Info,
    description: "s3:* where narrower actions would do",
};

/// An `Allow` whose `Action` has `s3:*` (a `Deny` of `s3:*` is a guard rail).
pub(super) fn check(cx: &StatementCx<'_>, out: &mut Vec<Hit>) {
    if cx.is_allow()
        && let ActionSpec::Action(patterns) = &cx.st.action
        && patterns.iter().any(is_s3_star)
    {
        out.push(Hit::new(
            RULE.id,
            format!(
                "{}: s3:* grants every S3 action, bucket policy and ACL changes included",
                cx.label
            ),
            "grant only what the app uses, e.g. s3:GetObject, s3:PutObject, s3:DeleteObject",
        ));
    }
}

/// `s3:*` in any case (action patterns are compiled in lowercase).
fn is_s3_star(p: &Pattern) -> bool {
    matches!(p.pieces(), [Piece::Literal(l), Piece::Star] if &**l == "s3:")
}

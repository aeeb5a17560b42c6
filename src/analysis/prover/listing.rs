//! Listing leaks: a bucket listing (`s3:ListBucket`, `s3:ListBucketVersions`, and the
//! other `List` actions of S3 on a bucket) answers with key names. Identity `a` reaches
//! identity `b`'s private area when `a` may list the area's bucket with an `s3:prefix`
//! that some key of `b`'s area starts with (the empty prefix included, when the
//! statement does not bound it).
//!
//! The search is the one of object requests ([`crate::analysis::search`]), on a pattern
//! made from the listing statement: `arn:aws:s3:::BUCKET/` followed by the prefix the
//! statement allows (its `StringLike` / `StringEquals` values on `s3:prefix`, the
//! identity as the attacker's slot) and `*`: a resource of the victim's area matches it
//! exactly when its key starts with an allowed prefix. What is widened:
//! - a prefix bound other than one positive `StringLike`/`StringEquals` condition without
//!   `IfExists` (negated operators, `IfExists`, `ForAllValues:`, other string operators)
//!   allows every prefix;
//! - the statement's other conditions are taken as satisfiable;
//! - the boundary, session policies and SCP levels are not used to narrow, and a `Deny`
//!   is used only when it has no condition, names the list action and the bucket, and
//!   names the attacker (it then removes the action for that bucket).
//!
//! Candidates are confirmed with the evaluator: the list request with the `s3:prefix`
//! found must be allowed ([`super::witness`]). A protected area (`--write-area`) may be
//! listed by others: only private areas are searched.

use crate::analysis::glob::{Class, Elem, Glob};
use crate::analysis::search::Problem;
use crate::analysis::translate::{Variables, arn_glob, text_glob};
use crate::catalog::{action_supports_key, catalog};
use crate::eval::authorize::{PolicyType, TypedRef};
use crate::lang::condition::{Comparison, SetQualifier, Value};
use crate::lang::model::{ResourceSpec, Statement};

use super::area::Others;
use super::solver::Solver;
use super::subject::{Grantor, scope_globs};
use super::witness::{self, S3_PREFIX, explain_violation};
use super::{Counterexample, ProverError, Run};

/// The list actions of S3 on a bucket, from the catalog (`s3:ListBucket`,
/// `s3:ListBucketVersions`, `s3:ListBucketMultipartUploads`, ...), listed once.
pub(super) fn bucket_list_actions() -> &'static [String] {
    static ACTIONS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    ACTIONS.get_or_init(|| {
        let Some(s3) = catalog().service("s3") else {
            return Vec::new();
        };
        s3.actions
            .iter()
            .filter(|a| a.access_level == "List" && a.resource_types().any(|(n, _)| n == "bucket"))
            .map(|a| format!("s3:{}", a.name))
            .collect()
    })
}

/// The prefixes `st` lets a listing use, as globs over the key (the identity as the
/// slot): one per value of its `s3:prefix` bound, or `*` when it does not bound the
/// prefix (see the module documentation for what counts as a bound).
fn prefix_globs(st: &Statement, takes_prefix: bool) -> Vec<Glob> {
    if !takes_prefix {
        return vec![Glob::everything()];
    }
    let bound = st.conditions.iter().find(|c| {
        let op = c.operator;
        c.key_lower == S3_PREFIX
            && matches!(
                op.comparison,
                Comparison::StringLike | Comparison::StringEquals
            )
            && !op.negated
            && !op.if_exists
            && op.qualifier != SetQualifier::ForAllValues
    });
    let Some(bound) = bound else {
        return vec![Glob::everything()];
    };
    let mut out = Vec::new();
    for v in &bound.values {
        match v {
            Value::Text(p) => out.push(text_glob(p, &Variables::TrackIdentity)),
            // String operators compile text values only.
            _ => return vec![Glob::everything()],
        }
    }
    out
}

/// Does `st` cover the resource `arn` (its patterns widened: every variable reading
/// anything)? A resource policy's statement without `Resource` covers its own resource
/// `scope`.
fn covers_resource(st: &Statement, scope: Option<&str>, arn: &str) -> bool {
    let bytes = arn.as_bytes();
    match &st.resource {
        Some(ResourceSpec::Resource(ps)) => ps
            .iter()
            .any(|p| arn_glob(p, &Variables::Widen).matches(bytes)),
        // Only patterns without variables exclude (dropping one only allows more).
        Some(ResourceSpec::NotResource(ps)) => !ps
            .iter()
            .filter(|p| !p.has_variables())
            .any(|p| arn_glob(p, &Variables::Widen).matches(bytes)),
        None => scope.is_none_or(|s| scope_globs(s).iter().any(|g| g.matches(bytes))),
    }
}

impl Run<'_> {
    /// Does a `Deny` without conditions that names the attacker certainly refuse `action`
    /// on the bucket `arn` (its `Resource` patterns without variables, or a resource
    /// policy's own resource)?
    fn listing_denied(&self, action: &str, arn: &str) -> bool {
        self.denies.all.iter().any(|d| {
            let st = self.subject.statement(d.r);
            let organization = matches!(d.r.policy_type, PolicyType::Scp | PolicyType::Rcp);
            !organization
                && st.conditions.is_empty()
                && st.matches_action(action)
                && d.resource
                    .iter()
                    .flatten()
                    .any(|g| g.matches(arn.as_bytes()))
                && d.scope
                    .as_deref()
                    .is_none_or(|s| s == arn || arn.starts_with(&format!("{s}/")))
        })
    }

    /// Check whether the `Allow` `g` lets one identity list the key names of another's
    /// private area: a confirmed counterexample (with the reason), or `None` (what could
    /// not be decided is recorded).
    pub(super) fn check_listing(
        &mut self,
        g: Grantor,
        solver: &mut dyn Solver,
    ) -> Result<Option<(Counterexample, String)>, ProverError> {
        let r: TypedRef = g.r;
        let st = self.subject.statement(r);
        if super::conditions_contradict(st) {
            return Ok(None);
        }
        let actions: Vec<&String> = bucket_list_actions()
            .iter()
            .filter(|a| st.matches_action(a))
            .collect();
        if actions.is_empty() {
            return Ok(None);
        }
        let scope = self.subject.scope(r.policy_type, r.index);
        let mut noted_conditions = st.conditions.is_empty();
        for a in 0..self.areas.len() {
            let area = &self.areas[a];
            let Some(bucket) = area.bucket.clone() else {
                continue;
            };
            if area.others == Others::Read {
                continue;
            }
            let arn = format!("arn:aws:s3:::{bucket}");
            if !covers_resource(st, scope, &arn) || !self.grants_alone(g, area) {
                continue;
            }
            for action in &actions {
                if self.listing_denied(action, &arn) {
                    continue;
                }
                self.note_conditions(r, &mut noted_conditions);
                let takes_prefix = catalog()
                    .action(action)
                    .is_some_and(|(_, act)| action_supports_key(act, S3_PREFIX));
                for prefix in prefix_globs(st, takes_prefix) {
                    let action = action.as_str();
                    let mut allow = Glob::literal(&format!("{arn}/"));
                    let has_slot = prefix.has_slot();
                    allow.0.extend(prefix.0);
                    allow.0.push(Elem::Star(Class::All));
                    let problem = Problem {
                        allow: Some(&allow),
                        area: &self.areas[a].glob,
                        must_not: &[],
                        must_match_any: &[],
                        format: self.format,
                    };
                    let answer = solver.decide(&problem)?;
                    let request = witness::Request::Listing {
                        action,
                        bucket: &arn,
                    };
                    if let Some(c) = self.settle_with(r, a, answer, request) {
                        let reason = explain_violation(&c, &self.areas[a], has_slot);
                        return Ok(Some((c, reason)));
                    }
                }
            }
        }
        Ok(None)
    }
}

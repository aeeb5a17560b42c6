//! The lint rules, one file each, named after the rule (`PS005`,
//! `wildcard-action-on-any-resource`, is `wildcard_action_on_any_resource.rs`): its
//! [`Rule`](super::Rule) and its check.
//!
//! Statement rules run in [`STATEMENT_RULES`] order on each statement, which is the order
//! of a statement's findings. What several rules need (the statement's label, whether it
//! covers every resource, the catalog's expansion of its actions) is computed once, in
//! [`StatementCx`]. `PS011` looks at whole policies: [`policy_too_large`] is called by
//! [`super::lint_policy`] and [`super::lint_set`].

pub(super) mod action_never_matches_resource;
pub(super) mod allow_not_action;
pub(super) mod allow_not_resource;
pub(super) mod any_principal_without_condition;
pub(super) mod deprecated_service;
pub(super) mod duplicate_statement;
pub(super) mod pass_or_assume_role_on_any;
pub(super) mod policy_too_large;
pub(super) mod s3_star;
pub(super) mod shadowed_statement;
pub(super) mod unknown_action;
pub(super) mod unsupported_condition_key;
pub(super) mod variable_without_delimiter;
pub(super) mod variable_without_version;
pub(super) mod wildcard_action_on_any_resource;

use super::{Finding, Locations, RuleId};
use crate::lang::arn::ArnPattern;
use crate::lang::model::{ActionSpec, Effect, Policy, ResourceSpec, Statement, Version};
use crate::lang::variables::Piece;
use crate::lang::wildcard::Pattern;

/// A finding before it has a place: the rule, what is wrong, how to fix it.
pub(super) struct Hit {
    rule: RuleId,
    message: String,
    hint: &'static str,
}

impl Hit {
    /// A finding of `rule`.
    pub(super) fn new(rule: RuleId, message: String, hint: &'static str) -> Hit {
        Hit {
            rule,
            message,
            hint,
        }
    }

    /// The finding at statement `index` of a policy (`None`: the policy itself).
    pub(super) fn finding(
        self,
        file: &str,
        locations: &Locations,
        index: Option<usize>,
        sid: Option<&String>,
    ) -> Finding {
        let (line, column) = locations.of(index);
        Finding {
            rule: self.rule,
            severity: self.rule.severity(),
            message: self.message,
            file: file.to_string(),
            line,
            column,
            hint: self.hint.to_string(),
            sid: sid.cloned(),
            statement: index,
        }
    }
}

/// What the statement rules share about a policy.
pub(super) struct PolicyCx {
    /// Policy variables are substituted (`"Version": "2012-10-17"`).
    v2012: bool,
    /// The first unconditional `Allow` of `*` on `*` (PS010).
    allow_all: Option<usize>,
    /// For each statement, the first statement with the same key (the statement as the
    /// evaluator sees it), when that is an earlier one (PS009). One hash lookup per
    /// statement: comparing each statement with every earlier one was quadratic.
    first_same: Vec<Option<usize>>,
    /// Unknown actions still given "did you mean" suggestions in this policy (PS012).
    suggestions_left: std::cell::Cell<usize>,
}

/// One statement and what several rules need to know about it.
pub(super) struct StatementCx<'a> {
    /// The policy.
    policy: &'a PolicyCx,
    /// The statement's position in the policy.
    index: usize,
    /// The statement.
    st: &'a Statement,
    /// `Statement[i]`, as messages name it.
    label: String,
    /// Every resource: `"Resource": "*"`, or a `NotResource` (all but a few).
    on_any: bool,
    /// The catalog's expansion of each `Action`/`NotAction` pattern (PS012 to PS014).
    expanded: Vec<Vec<String>>,
}

impl StatementCx<'_> {
    /// True for an `Allow` statement.
    fn is_allow(&self) -> bool {
        self.st.effect == Effect::Allow
    }

    /// The `Action` or `NotAction` patterns.
    fn actions(&self) -> &[Pattern] {
        match &self.st.action {
            ActionSpec::Action(p) | ActionSpec::NotAction(p) => p,
        }
    }

    /// The `Resource` or `NotResource` patterns.
    fn resources(&self) -> &[ArnPattern] {
        match &self.st.resource {
            Some(ResourceSpec::Resource(p) | ResourceSpec::NotResource(p)) => p,
            None => &[],
        }
    }

    /// The action patterns as written, joined for a message.
    fn action_list(&self) -> String {
        let sources: Vec<&str> = self.actions().iter().map(Pattern::source).collect();
        sources.join(", ")
    }

    /// Every documented action the `Action` patterns cover (none for `NotAction`).
    fn catalog_actions(&self) -> Vec<&str> {
        match self.st.action {
            ActionSpec::Action(_) => self.expanded.iter().flatten().map(String::as_str).collect(),
            ActionSpec::NotAction(_) => Vec::new(),
        }
    }
}

/// The compiled components of an ARN pattern (none for `*`).
fn components(p: &ArnPattern) -> &[Pattern] {
    match p {
        ArnPattern::Arn { parts, .. } => parts,
        ArnPattern::Any(_) => &[],
    }
}

/// True when a pattern has a `*` or `?`.
fn has_wildcard(p: &Pattern) -> bool {
    p.pieces()
        .iter()
        .any(|piece| matches!(piece, Piece::Star | Piece::AnyChar))
}

/// A statement rule: adds its findings for one statement.
type StatementRule = fn(&StatementCx<'_>, &mut Vec<Hit>);

/// The statement rules, in the order their findings are listed.
const STATEMENT_RULES: &[StatementRule] = &[
    variable_without_delimiter::check,
    variable_without_version::check,
    allow_not_action::check,
    allow_not_resource::check,
    wildcard_action_on_any_resource::check,
    s3_star::check,
    pass_or_assume_role_on_any::check,
    shadowed_statement::check,
    deprecated_service::check,
    unknown_action::check,
    action_never_matches_resource::check,
    unsupported_condition_key::check,
    any_principal_without_condition::check,
    duplicate_statement::check,
];

/// Every statement rule on every statement: each statement's index and findings.
pub(super) fn check_statements(policy: &Policy) -> Vec<(usize, Vec<Hit>)> {
    let catalog = crate::catalog::catalog();
    let cx = PolicyCx {
        v2012: policy.version == Some(Version::V2012_10_17),
        allow_all: shadowed_statement::first_allow_all(policy),
        first_same: duplicate_statement::first_same(policy),
        suggestions_left: std::cell::Cell::new(unknown_action::SUGGESTED_PER_POLICY),
    };
    let mut out = Vec::new();
    for (index, st) in policy.statements.iter().enumerate() {
        let mut scx = StatementCx {
            policy: &cx,
            index,
            st,
            label: format!("Statement[{}]", st.index),
            on_any: match &st.resource {
                Some(ResourceSpec::Resource(p)) => {
                    p.iter().any(|p| matches!(p, ArnPattern::Any(_)))
                }
                Some(ResourceSpec::NotResource(_)) => true,
                None => false,
            },
            expanded: Vec::new(),
        };
        scx.expanded = scx
            .actions()
            .iter()
            .map(|p| catalog.expand(p.source()))
            .collect();
        let mut hits = Vec::new();
        for rule in STATEMENT_RULES {
            rule(&scx, &mut hits);
        }
        out.push((index, hits));
    }
    out
}

//! Lint: known-dangerous patterns in policies, each finding with an id, a severity, a
//! message, the file, line and column of the statement, and a fix hint.
//!
//! | id | severity | finds |
//! |---|---|---|
//! | `PS001` | error | a policy variable followed by `*` or `?`: one identity's pattern covers every id that starts with it |
//! | `PS002` | error | a policy variable in a policy without `"Version": "2012-10-17"`: AWS takes it literally |
//! | `PS003` | warning | `Allow` with `NotAction` |
//! | `PS004` | warning | `Allow` with `NotResource` |
//! | `PS005` | warning | a wildcard action (`*` or `service:*`) on `"Resource": "*"` |
//! | `PS006` | info | `s3:*` where narrower actions would do |
//! | `PS007` | error | `iam:PassRole` or `sts:AssumeRole` on `"Resource": "*"` |
//! | `PS008` | warning | a deprecated service (`mobileanalytics`) |
//! | `PS009` | warning | a statement identical to an earlier one |
//! | `PS010` | info | an `Allow` already covered by an unconditional `Allow` of `*` on `*` |
//! | `PS011` | error | a policy over AWS's size limit (6,144 characters without white space for a managed policy; 10,240 for the sum of a role's inline policies) |
//! | `PS012` | error | an action AWS does not document, or a pattern that covers none (uses the action catalog) |
//! | `PS013` | warning | a statement whose actions can never apply to its resources (uses the action catalog) |
//! | `PS014` | warning | a service condition key that none of the statement's actions supports (uses the action catalog) |
//! | `PS015` | error | a resource-based policy's `Allow` to every principal (`"*"`) with no `Condition` |
//!
//! Policies of other types than identity-based are linted with the rules that apply to
//! them ([`rule_applies`]). Findings are listed errors first, then warnings, then infos
//! ([`by_severity`]), with a count per severity ([`Counts`]).
//!
//! Each rule has one home, a file of `src/lint/rules/` named after the rule: its [`Rule`]
//! description and its check. Rules read the compiled policy ([`crate::lang::model`]):
//! patterns as parsed pieces, never the text re-read.

mod rules;

use serde::{Serialize, Serializer};

use crate::eval::PolicySet;
use crate::eval::authorize::PolicyType;
use crate::lang::model::Policy;
use crate::template::node::{Loc, Node};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Likely a mistake or an over-grant.
    Warning,
    /// A security bug or a policy AWS would refuse or misread.
    Error,
}

impl Severity {
    /// `info`, `warning`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// Parse the text form.
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

/// A lint rule's id. Serialized (JSON, SARIF) as its text, `"PS005"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(clippy::upper_case_acronyms)]
pub enum RuleId {
    /// A policy variable followed by a wildcard.
    PS001,
    /// A policy variable without `"Version": "2012-10-17"`.
    PS002,
    /// `Allow` with `NotAction`.
    PS003,
    /// `Allow` with `NotResource`.
    PS004,
    /// A wildcard action on `"Resource": "*"`.
    PS005,
    /// `s3:*`.
    PS006,
    /// `iam:PassRole` or `sts:AssumeRole` on `"Resource": "*"`.
    PS007,
    /// A deprecated service.
    PS008,
    /// A duplicate statement.
    PS009,
    /// A statement shadowed by an `Allow` of `*` on `*`.
    PS010,
    /// A policy over AWS's size limit.
    PS011,
    /// An action AWS does not document.
    PS012,
    /// Actions that never apply to the statement's resources.
    PS013,
    /// A condition key none of the actions supports.
    PS014,
    /// A resource-based policy's unconditional `Allow` to every principal.
    PS015,
}

impl RuleId {
    /// Every rule id, in order.
    pub const ALL: [RuleId; 15] = [
        RuleId::PS001,
        RuleId::PS002,
        RuleId::PS003,
        RuleId::PS004,
        RuleId::PS005,
        RuleId::PS006,
        RuleId::PS007,
        RuleId::PS008,
        RuleId::PS009,
        RuleId::PS010,
        RuleId::PS011,
        RuleId::PS012,
        RuleId::PS013,
        RuleId::PS014,
        RuleId::PS015,
    ];

    /// `PS001`...
    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::PS001 => "PS001",
            RuleId::PS002 => "PS002",
            RuleId::PS003 => "PS003",
            RuleId::PS004 => "PS004",
            RuleId::PS005 => "PS005",
            RuleId::PS006 => "PS006",
            RuleId::PS007 => "PS007",
            RuleId::PS008 => "PS008",
            RuleId::PS009 => "PS009",
            RuleId::PS010 => "PS010",
            RuleId::PS011 => "PS011",
            RuleId::PS012 => "PS012",
            RuleId::PS013 => "PS013",
            RuleId::PS014 => "PS014",
            RuleId::PS015 => "PS015",
        }
    }

    /// The id written `s` (exactly: `PS005`).
    pub fn parse(s: &str) -> Option<RuleId> {
        RuleId::ALL.into_iter().find(|id| id.as_str() == s)
    }

    /// The rule's description.
    pub fn rule(self) -> &'static Rule {
        &RULES[self as usize]
    }

    /// The rule's severity.
    pub fn severity(self) -> Severity {
        self.rule().severity
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RuleId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl PartialEq<&str> for RuleId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for RuleId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// A rule: id, severity, what it finds.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// `PS001`...
    pub id: RuleId,
    /// A short name (also the name of the rule's file in `src/lint/rules/`).
    pub name: &'static str,
    /// Its severity.
    pub severity: Severity,
    /// What it finds.
    pub description: &'static str,
}

/// Every rule, in [`RuleId`] order.
pub const RULES: &[Rule] = &[
    rules::variable_without_delimiter::RULE,
    rules::variable_without_version::RULE,
    rules::allow_not_action::RULE,
    rules::allow_not_resource::RULE,
    rules::wildcard_action_on_any_resource::RULE,
    rules::s3_star::RULE,
    rules::pass_or_assume_role_on_any::RULE,
    rules::deprecated_service::RULE,
    rules::duplicate_statement::RULE,
    rules::shadowed_statement::RULE,
    rules::policy_too_large::RULE,
    rules::unknown_action::RULE,
    rules::action_never_matches_resource::RULE,
    rules::unsupported_condition_key::RULE,
    rules::any_principal_without_condition::RULE,
];

/// The rule with this id (`"PS005"`).
pub fn rule(id: &str) -> Option<&'static Rule> {
    RuleId::parse(id).map(RuleId::rule)
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule id.
    pub rule: RuleId,
    /// Its severity.
    pub severity: Severity,
    /// What is wrong here.
    pub message: String,
    /// The file.
    pub file: String,
    /// 1-based line of the statement (or 1).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// How to fix it.
    pub hint: String,
    /// The statement's Sid, for suppressions.
    pub sid: Option<String>,
    /// The statement's index (none for policy-wide findings).
    pub statement: Option<usize>,
}

/// Put findings in the order lint lists them: errors first, then warnings, then infos;
/// within a severity in the order they were found (the sort is stable).
pub fn by_severity<F: std::borrow::Borrow<Finding>>(findings: &mut [F]) {
    findings.sort_by_key(|f| std::cmp::Reverse(f.borrow().severity));
}

/// How many findings there are of each severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Findings of severity error.
    pub error: usize,
    /// Findings of severity warning.
    pub warning: usize,
    /// Findings of severity info.
    pub info: usize,
}

impl Counts {
    /// The counts of `findings`.
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Counts {
        let mut counts = Counts::default();
        for f in findings {
            match f.severity {
                Severity::Error => counts.error += 1,
                Severity::Warning => counts.warning += 1,
                Severity::Info => counts.info += 1,
            }
        }
        counts
    }
}

/// Where a policy's statements start, when its source text is known.
#[derive(Debug, Clone, Default)]
pub struct Locations {
    /// The policy document's location.
    pub document: Option<Loc>,
    /// Each statement's location, by index.
    pub statements: Vec<Loc>,
}

impl Locations {
    /// Locations of a policy's statements from its JSON (or YAML) text.
    pub fn from_text(file: &str, text: &str) -> Locations {
        match crate::template::node::parse(&std::sync::Arc::from(file), text) {
            Ok(doc) => Locations::from_node(&doc),
            Err(_) => Locations::default(),
        }
    }

    /// Locations from a policy document node (a template's `PolicyDocument`).
    pub fn from_node(doc: &Node) -> Locations {
        let statements = match doc.get("Statement") {
            Some(s) => match s.as_seq() {
                Some(items) => items.iter().map(|n| n.loc.clone()).collect(),
                None => vec![s.loc.clone()],
            },
            None => Vec::new(),
        };
        Locations {
            document: Some(doc.loc.clone()),
            statements,
        }
    }

    /// The file the locations point into (a template, for a template's policy).
    fn file(&self) -> Option<String> {
        self.document.as_ref().map(|l| l.file.to_string())
    }

    /// Line and column of statement `index`, else of the document, else 1:1.
    fn of(&self, index: Option<usize>) -> (usize, usize) {
        let loc = index
            .and_then(|i| self.statements.get(i))
            .or(self.document.as_ref());
        loc.map_or((1, 1), |l| (l.line, l.column))
    }
}

/// Lint one policy. `size` is the policy's size in characters without white space, when
/// known; `inline` selects the size limit of a role's inline policies.
pub fn lint_policy(
    policy: &Policy,
    locations: &Locations,
    size: Option<usize>,
    inline: bool,
) -> Vec<Finding> {
    // The file the locations point into (a template, for a template's policy), else the
    // policy's name.
    let file = locations.file().unwrap_or_else(|| policy.name.clone());
    let mut out = Vec::new();
    for (index, hits) in rules::check_statements(policy) {
        let sid = policy.statements[index]
            .sid
            .as_ref()
            .filter(|s| !s.is_empty());
        out.extend(
            hits.into_iter()
                .map(|hit| hit.finding(&file, locations, Some(index), sid)),
        );
    }
    if let Some(size) = size
        && let Some(hit) = rules::policy_too_large::check_policy(size, inline)
    {
        out.push(hit.finding(&file, locations, None, None));
    }
    out
}

/// Characters of `text` other than white space (AWS's measure of policy size).
pub fn policy_size(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// Lint every policy of a set. `sources` gives each policy's locations and size (from its
/// text) where known; `inline` marks a role's inline policies, whose sizes count together.
pub fn lint_set(
    set: &PolicySet,
    sources: &[Option<(Locations, usize)>],
    inline: bool,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut inline_total = 0;
    for (i, policy) in set.policies().iter().enumerate() {
        let (locations, size) = match sources.get(i).and_then(Option::as_ref) {
            Some((l, s)) => (l.clone(), Some(*s)),
            None => (Locations::default(), None),
        };
        inline_total += size.unwrap_or(0);
        // A role's inline policies count against one aggregate limit (below), not each.
        let own_size = if inline { None } else { size };
        out.extend(lint_policy(policy, &locations, own_size, inline));
    }
    if inline && let Some(hit) = rules::policy_too_large::check_role(inline_total) {
        let first = sources.first().and_then(Option::as_ref).map(|(l, _)| l);
        let file = first.and_then(Locations::file).unwrap_or_else(|| {
            set.policies()
                .first()
                .map_or_else(String::new, |p| p.name.clone())
        });
        out.push(hit.finding(&file, first.unwrap_or(&Locations::default()), None, None));
    }
    out
}

/// Does `rule` apply to a policy of type `t`? Every rule applies to identity-based
/// policies. Permissions boundaries, session policies, SCPs and RCPs grant nothing (their
/// `Allow` only limits what others grant, and `Allow * on *` is their usual form), so the
/// rules about broad grants (PS003 to PS007, PS010) do not apply to them; the size limit
/// (PS011) is a managed policy's, which a boundary is and the others are not (their limits
/// differ and are not checked). PS015 is about resource-based policies; an RCP's only
/// `Allow` is the `RCPFullAWSAccess` shape, which it would flag.
pub fn rule_applies(rule: RuleId, t: PolicyType) -> bool {
    let grants = matches!(t, PolicyType::Identity | PolicyType::Resource);
    match rule {
        RuleId::PS001
        | RuleId::PS002
        | RuleId::PS008
        | RuleId::PS009
        | RuleId::PS012
        | RuleId::PS013
        | RuleId::PS014 => true,
        RuleId::PS003
        | RuleId::PS004
        | RuleId::PS005
        | RuleId::PS006
        | RuleId::PS007
        | RuleId::PS010 => grants,
        RuleId::PS011 => matches!(t, PolicyType::Identity | PolicyType::Boundary),
        RuleId::PS015 => t == PolicyType::Resource,
    }
}

/// Lint policies of type `t` (each file on its own: their sizes do not add up), with the
/// rules that apply to that type ([`rule_applies`]).
pub fn lint_typed(
    set: &PolicySet,
    sources: &[Option<(Locations, usize)>],
    t: PolicyType,
) -> Vec<Finding> {
    let mut out = lint_set(set, sources, false);
    out.retain(|f| rule_applies(f.rule, t));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_listed_in_id_order() {
        for (i, id) in RuleId::ALL.into_iter().enumerate() {
            assert_eq!(RULES[i].id, id);
            assert_eq!(RuleId::parse(id.as_str()), Some(id));
            let file = format!(
                "{}/src/lint/rules/{}.rs",
                env!("CARGO_MANIFEST_DIR"),
                RULES[i].name.replace('-', "_")
            );
            assert!(
                std::path::Path::new(&file).is_file(),
                "{id}: the rule's file is named after it"
            );
        }
        assert_eq!(RULES.len(), RuleId::ALL.len());
        assert_eq!(RuleId::parse("PS999"), None);
        assert_eq!(serde_json::to_string(&RuleId::PS005).unwrap(), "\"PS005\"");
    }
}

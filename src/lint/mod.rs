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

use serde::Serialize;

use crate::eval::PolicySet;
use crate::lang::model::{ActionSpec, Effect, Policy, ResourceSpec, Statement, Version};
use crate::lang::variables::{Piece, Syntax};
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

/// A rule: id, severity, what it finds.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// `PS001`...
    pub id: &'static str,
    /// A short name.
    pub name: &'static str,
    /// Its severity.
    pub severity: Severity,
    /// What it finds.
    pub description: &'static str,
}

/// Every rule.
pub const RULES: &[Rule] = &[
    Rule {
        id: "PS001",
        name: "variable-without-delimiter",
        severity: Severity::Error,
        description: "a policy variable followed by a wildcard: the pattern of one identity covers every identity that starts with it",
    },
    Rule {
        id: "PS002",
        name: "variable-without-version",
        severity: Severity::Error,
        description: "a policy variable in a policy without \"Version\": \"2012-10-17\": AWS takes ${...} literally",
    },
    Rule {
        id: "PS003",
        name: "allow-not-action",
        severity: Severity::Warning,
        description: "Allow with NotAction grants every action not listed, including future ones",
    },
    Rule {
        id: "PS004",
        name: "allow-not-resource",
        severity: Severity::Warning,
        description: "Allow with NotResource grants every resource not listed",
    },
    Rule {
        id: "PS005",
        name: "wildcard-action-on-any-resource",
        severity: Severity::Warning,
        description: "a wildcard action on \"Resource\": \"*\"",
    },
    Rule {
        id: "PS006",
        name: "s3-star",
        severity: Severity::Info,
        description: "s3:* where narrower actions would do",
    },
    Rule {
        id: "PS007",
        name: "pass-or-assume-role-on-any",
        severity: Severity::Error,
        description: "iam:PassRole or sts:AssumeRole on \"Resource\": \"*\"",
    },
    Rule {
        id: "PS008",
        name: "deprecated-service",
        severity: Severity::Warning,
        description: "a deprecated AWS service",
    },
    Rule {
        id: "PS009",
        name: "duplicate-statement",
        severity: Severity::Warning,
        description: "a statement identical to an earlier one",
    },
    Rule {
        id: "PS010",
        name: "shadowed-statement",
        severity: Severity::Info,
        description: "an Allow already covered by an unconditional Allow of * on *",
    },
    Rule {
        id: "PS011",
        name: "policy-too-large",
        severity: Severity::Error,
        description: "a policy over AWS's size limit",
    },
    Rule {
        id: "PS012",
        name: "unknown-action",
        severity: Severity::Error,
        description: "an action AWS does not document (a typo grants or denies nothing), or a pattern that covers none",
    },
    Rule {
        id: "PS013",
        name: "action-never-matches-resource",
        severity: Severity::Warning,
        description: "a statement whose actions can never apply to its resources (no resource type of theirs has a matching ARN)",
    },
    Rule {
        id: "PS014",
        name: "unsupported-condition-key",
        severity: Severity::Warning,
        description: "a service condition key that none of the statement's actions supports",
    },
];

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// Services AWS has retired (Amazon Mobile Analytics was shut down in 2018).
/// Service prefixes of AWS services that AWS has discontinued (listed with their dates in
/// `docs/gate.md`). Granting their actions grants nothing useful and marks a policy copied
/// from an old tutorial.
const DEPRECATED: &[&str] = &[
    "mobileanalytics",
    "opsworks",
    "opsworks-cm",
    "codestar",
    "honeycode",
    "qldb",
    "robomaker",
    "iotanalytics",
    "elastictranscoder",
    "evidently",
];

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule id.
    pub rule: &'static str,
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

    fn of(&self, index: Option<usize>) -> (usize, usize) {
        let loc = index
            .and_then(|i| self.statements.get(i))
            .or(self.document.as_ref());
        loc.map_or((1, 1), |l| (l.line, l.column))
    }
}

fn sub_followed_by_wildcard(text: &str) -> bool {
    let Ok(pieces) = crate::lang::variables::parse_pieces(
        text,
        Syntax {
            variables: true,
            wildcards: true,
        },
    ) else {
        return false;
    };
    pieces.windows(2).any(|w| {
        matches!(
            (&w[0], &w[1]),
            (Piece::Variable(_), Piece::Star | Piece::AnyChar)
        )
    })
}

fn resource_sources(st: &Statement) -> Vec<&str> {
    match &st.resource {
        Some(ResourceSpec::Resource(p) | ResourceSpec::NotResource(p)) => {
            p.iter().map(|p| p.source()).collect()
        }
        None => Vec::new(),
    }
}

fn action_sources(st: &Statement) -> Vec<&str> {
    match &st.action {
        ActionSpec::Action(p) | ActionSpec::NotAction(p) => p.iter().map(|p| p.source()).collect(),
    }
}

/// Lint one policy. `size` is the policy's size in characters without white space, when
/// known.
pub fn lint_policy(
    policy: &Policy,
    locations: &Locations,
    size: Option<usize>,
    inline: bool,
) -> Vec<Finding> {
    let mut out = Vec::new();
    // The file the locations point into (a template, for a template's policy), else the
    // policy's name.
    let file = locations
        .document
        .as_ref()
        .map_or_else(|| policy.name.clone(), |l| l.file.to_string());
    let mut push = |rule_id: &'static str,
                    index: Option<usize>,
                    sid: Option<&String>,
                    message: String,
                    hint: &str| {
        let (line, column) = locations.of(index);
        let r = rule(rule_id).expect("rule ids are listed");
        out.push(Finding {
            rule: rule_id,
            severity: r.severity,
            message,
            file: file.clone(),
            line,
            column,
            hint: hint.to_string(),
            sid: sid.cloned(),
            statement: index,
        });
    };
    let v2012 = policy.version == Some(Version::V2012_10_17);
    let mut seen: Vec<String> = Vec::new();
    let allow_all_unconditional = policy.statements.iter().position(|st| {
        st.effect == Effect::Allow
            && st.conditions.is_empty()
            && matches!(&st.action, ActionSpec::Action(p) if p.iter().any(|p| p.is_match_all()))
            && matches!(&st.resource, Some(ResourceSpec::Resource(p)) if p.iter().any(|p| p.source() == "*"))
    });
    for (i, st) in policy.statements.iter().enumerate() {
        let sid = st.sid.as_ref().filter(|s| !s.is_empty());
        let label = format!("Statement[{}]", st.index);
        let resources = resource_sources(st);
        let actions = action_sources(st);
        // Every resource: `"Resource": "*"`, or a `NotResource` (all but a few).
        let on_any = match &st.resource {
            Some(ResourceSpec::Resource(p)) => p.iter().any(|p| p.source() == "*"),
            Some(ResourceSpec::NotResource(_)) => true,
            None => false,
        };
        for r in &resources {
            if v2012 && sub_followed_by_wildcard(r) {
                push(
                    "PS001",
                    Some(i),
                    sid,
                    format!("{label}: {r} has a policy variable followed by a wildcard"),
                    "end the variable with a delimiter, e.g. .../${cognito-identity.amazonaws.com:sub}/*",
                );
            }
            if !v2012 && r.contains("${") {
                push(
                    "PS002",
                    Some(i),
                    sid,
                    format!(
                        "{label}: {r} has a policy variable, but the policy's Version is not 2012-10-17, so AWS matches the text literally"
                    ),
                    "add \"Version\": \"2012-10-17\"",
                );
            }
        }
        if !v2012
            && st
                .conditions
                .iter()
                .any(|c| c.raw_values.iter().any(|v| v.contains("${")))
        {
            push(
                "PS002",
                Some(i),
                sid,
                format!(
                    "{label}: a condition value has a policy variable, but the policy's Version is not 2012-10-17"
                ),
                "add \"Version\": \"2012-10-17\"",
            );
        }
        if st.effect == Effect::Allow {
            if matches!(st.action, ActionSpec::NotAction(_)) {
                push(
                    "PS003",
                    Some(i),
                    sid,
                    format!("{label}: Allow with NotAction [{}]", actions.join(", ")),
                    "list the actions to allow with Action instead",
                );
            }
            if matches!(st.resource, Some(ResourceSpec::NotResource(_))) {
                push(
                    "PS004",
                    Some(i),
                    sid,
                    format!("{label}: Allow with NotResource [{}]", resources.join(", ")),
                    "list the resources to allow with Resource instead",
                );
            }
            let wildcard_action = match &st.action {
                ActionSpec::Action(p) => p.iter().any(|p| p.source().contains(['*', '?'])),
                ActionSpec::NotAction(_) => true,
            };
            if on_any && wildcard_action {
                push(
                    "PS005",
                    Some(i),
                    sid,
                    format!(
                        "{label}: wildcard action [{}] on Resource \"*\"",
                        actions.join(", ")
                    ),
                    "name the actions and resources the principal needs",
                );
            }
            if actions.iter().any(|a| a.eq_ignore_ascii_case("s3:*"))
                && matches!(st.action, ActionSpec::Action(_))
            {
                push(
                    "PS006",
                    Some(i),
                    sid,
                    format!(
                        "{label}: s3:* grants every S3 action, bucket policy and ACL changes included"
                    ),
                    "grant only what the app uses, e.g. s3:GetObject, s3:PutObject, s3:DeleteObject",
                );
            }
            let none = crate::lang::variables::NoVariables;
            let grants = |action: &str| match &st.action {
                ActionSpec::Action(ps) => ps
                    .iter()
                    .any(|p| p.matches(action, &none) == crate::lang::wildcard::Match::Yes),
                ActionSpec::NotAction(ps) => ps
                    .iter()
                    .all(|p| p.matches(action, &none) == crate::lang::wildcard::Match::No),
            };
            let grants_role_handover = grants("iam:PassRole") || grants("sts:AssumeRole");
            if on_any && grants_role_handover {
                push(
                    "PS007",
                    Some(i),
                    sid,
                    format!("{label}: iam:PassRole or sts:AssumeRole on Resource \"*\""),
                    "restrict Resource to the role ARNs that may be passed or assumed",
                );
            }
            if let Some(j) = allow_all_unconditional
                && j != i
            {
                push(
                    "PS010",
                    Some(i),
                    sid,
                    format!("{label} adds nothing: Statement[{j}] already allows * on *"),
                    "remove the statement, or narrow the broad one",
                );
            }
        }
        for a in &actions {
            let service = a.split(':').next().unwrap_or("").to_ascii_lowercase();
            if DEPRECATED.contains(&service.as_str()) {
                push(
                    "PS008",
                    Some(i),
                    sid,
                    format!("{label}: {a} belongs to a deprecated service ({service})"),
                    "remove the action",
                );
            }
        }
        for f in catalog_findings(st) {
            push(f.0, Some(i), sid, format!("{label}: {}", f.1), f.2);
        }
        let key = crate::analysis::statement_key(st);
        if let Some(first) = seen.iter().position(|k| *k == key) {
            push(
                "PS009",
                Some(i),
                sid,
                format!("{label} repeats Statement[{first}]"),
                "remove the duplicate",
            );
        }
        seen.push(key);
    }
    if let Some(size) = size {
        let limit = if inline {
            INLINE_ROLE_LIMIT
        } else {
            MANAGED_LIMIT
        };
        if size > limit {
            push(
                "PS011",
                None,
                None,
                format!(
                    "the policy has {size} characters without white space; the limit is {limit}"
                ),
                "split it into several policies",
            );
        }
    }
    out
}

/// Findings that need the action catalog (PS012, PS013, PS014): `(rule, message, hint)`.
fn catalog_findings(st: &Statement) -> Vec<(&'static str, String, &'static str)> {
    use crate::analysis::translate::pattern_may_match_format;
    use crate::catalog::{catalog, unknown_action_message};
    let c = catalog();
    let mut out = Vec::new();
    let patterns = action_sources(st);
    // PS012: every Action/NotAction entry must name or cover a documented action.
    let mut actions: Vec<String> = Vec::new();
    for p in &patterns {
        let expanded = c.expand(p);
        if expanded.is_empty() {
            let message = if p.contains(['*', '?']) {
                format!("{p} covers no action AWS documents")
            } else {
                unknown_action_message(p, &c.lookup(p))
            };
            out.push((
                "PS012",
                message,
                "use the action names of the Service Authorization Reference (`policy-sim actions PATTERN` lists them)",
            ));
        }
        actions.extend(expanded);
    }
    let ActionSpec::Action(_) = st.action else {
        return out;
    };
    // PS013: an Allow/Deny on named resources whose actions can apply to none of them.
    if let Some(ResourceSpec::Resource(resources)) = &st.resource
        && !actions.is_empty()
    {
        let sources: Vec<&str> = resources.iter().map(|r| r.source()).collect();
        let applies = |action: &str| -> bool {
            let Some((service, a)) = c.action(action) else {
                return true;
            };
            let types: Vec<&str> = a
                .resource_types()
                .filter_map(|(name, _)| service.resource_type(name))
                .flat_map(|t| t.formats(service.prefix))
                .collect();
            if types.is_empty() {
                // No resource type: AWS's own examples grant these on `*` and on ARN
                // patterns (`arn:aws:s3:::*`), so nothing is certain here.
                return true;
            }
            resources
                .iter()
                .any(|p| types.iter().any(|f| pattern_may_match_format(p, f)))
        };
        if !actions.iter().any(|a| applies(a)) {
            let shown: Vec<&str> = patterns.iter().take(3).copied().collect();
            out.push((
                "PS013",
                format!(
                    "[{}] can never apply to [{}]: none of their resource types has a matching ARN",
                    shown.join(", "),
                    sources.join(", ")
                ),
                "check the resource ARN format of each action (`policy-sim actions --format json ACTION`)",
            ));
        }
    }
    // PS014: a service condition key none of the actions supports.
    if !actions.is_empty() {
        for cond in &st.conditions {
            let key = cond.key.as_str();
            let Some((prefix, _)) = key.split_once(':') else {
                continue;
            };
            // Global keys, and keys of identity providers (`accounts.google.com:aud`).
            if prefix.eq_ignore_ascii_case("aws") || prefix.contains('.') {
                continue;
            }
            // Only keys of the actions' own service: some keys of one service are
            // documented for use with others (`ec2:SourceInstanceARN`, `lambda:SourceFunctionArn`).
            let same_service: Vec<&String> = actions
                .iter()
                .filter(|a| {
                    a.split(':')
                        .next()
                        .is_some_and(|s| s.eq_ignore_ascii_case(prefix))
                })
                .collect();
            // ... and only when every action is of that service (with others, the key
            // may be one of those cross-service keys).
            if same_service.is_empty() || same_service.len() < actions.len() {
                continue;
            }
            let supported = same_service.iter().any(|a| {
                c.action(a)
                    .is_none_or(|(_, act)| crate::catalog::action_supports_key(act, key))
            });
            if !supported {
                out.push((
                    "PS014",
                    format!(
                        "condition key {key} is supported by none of [{}]: the request never has it, so the condition never holds",
                        patterns.join(", ")
                    ),
                    "use a key the actions support (see the Service Authorization Reference), or a global aws: key",
                ));
            }
        }
    }
    out
}

/// Characters of `text` other than white space (AWS's measure of policy size).
pub fn policy_size(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// Lint every policy of a set. `sources` gives each policy's text (for locations and
/// size) where known.
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
    if inline && inline_total > INLINE_ROLE_LIMIT {
        let first = set.policies().first();
        let (line, column) = sources
            .first()
            .and_then(Option::as_ref)
            .map_or((1, 1), |(l, _)| l.of(None));
        out.push(Finding {
            rule: "PS011",
            severity: Severity::Error,
            message: format!(
                "the role's inline policies have {inline_total} characters without white space together; the limit is {INLINE_ROLE_LIMIT}"
            ),
            file: sources
                .first()
                .and_then(Option::as_ref)
                .and_then(|(l, _)| l.document.as_ref())
                .map_or_else(
                    || first.map_or_else(String::new, |p| p.name.clone()),
                    |l| l.file.to_string(),
                ),
            line,
            column,
            hint: "move statements into managed policies, or narrow them".to_string(),
            sid: None,
            statement: None,
        });
    }
    out
}

/// AWS's limit on a managed policy, in characters without white space.
const MANAGED_LIMIT: usize = 6_144;
/// AWS's limit on the sum of a role's inline policies, in characters without white space.
const INLINE_ROLE_LIMIT: usize = 10_240;

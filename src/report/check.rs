//! `check`: the decision on one request, as the JSON object a batch run writes for it,
//! as that object with the explanation of every statement (`check --format json` on one
//! request), or as a human-readable explanation of every statement.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value as Json;

use super::{field, statement_out};
use crate::eval::authorize::{
    AccountSource, Authorization, Policies, PolicyType, SetResult, TypedRef,
};
use crate::eval::{Decision, Evaluation, Explanation, Outcome, PolicySet};
use crate::lang::model::{ActionSpec, ResourceSpec, Statement};
use crate::lang::principal::Grant;
use crate::lang::variables::Piece;
use crate::lang::wildcard::Match;
use crate::request::Request;

/// One deciding statement in an output line.
#[derive(Debug, Serialize)]
pub struct StatementOut<'a> {
    /// The policy's name (file path).
    pub policy: &'a str,
    /// Index in the policy's `Statement` list.
    pub index: usize,
    /// `Sid`, or `null`.
    pub sid: Option<&'a str>,
    /// `Allow` or `Deny`.
    pub effect: &'static str,
    /// The policy type of the statement's policy: `identity`, `resource`, `boundary`,
    /// `session`, `scp`, `rcp`.
    pub policy_type: &'static str,
    /// For an SCP or RCP: the organization level's label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<&'a str>,
}

/// The output object for one request, fields in this order:
/// `{"id":...,"decision":"Allow|ExplicitDeny|ImplicitDeny","statements":[...]}`.
#[derive(Debug, Serialize)]
pub struct OutputLine<'a> {
    /// The request's `id`, or `null`.
    pub id: &'a Json,
    /// The decision.
    pub decision: &'static str,
    /// The statements that decided (empty for `ImplicitDeny`).
    pub statements: Vec<StatementOut<'a>>,
}

/// Build the output object for one evaluated request.
pub fn evaluation_json<'a>(
    set: &'a PolicySet,
    id: &'a Json,
    evaluation: &Evaluation,
) -> OutputLine<'a> {
    OutputLine {
        id,
        decision: evaluation.decision.as_str(),
        statements: evaluation
            .deciding
            .iter()
            .map(|r| statement_out(set, *r))
            .collect(),
    }
}

/// How a value from the input is written into a reason: as a field of a text line
/// ([`field`]), or as it is (for JSON, which escapes it itself).
#[derive(Clone, Copy)]
enum Quote {
    /// For a line of text.
    Text,
    /// For a JSON string.
    Json,
}

impl Quote {
    fn of(self, value: &str) -> String {
        match self {
            Quote::Text => field(value).to_string(),
            Quote::Json => value.to_string(),
        }
    }
}

fn why_principal(st: &Statement, request: &Request, q: Quote) -> String {
    let who = match &request.principal {
        Some(c) => format!("{} {}", c.kind().principal_type(), q.of(c.arn())),
        None => "an unnamed principal".to_string(),
    };
    let (element, p) = match (&st.principal, &st.not_principal) {
        (Some(p), _) => ("Principal", p),
        (None, Some(p)) => ("NotPrincipal", p),
        (None, None) => return "principal not matched".to_string(),
    };
    format!("{who} is not covered by {element} {}", principal_text(p, q))
}

fn principal_text(p: &crate::lang::model::Principal, q: Quote) -> String {
    match p {
        crate::lang::model::Principal::Any => "\"*\"".to_string(),
        crate::lang::model::Principal::Map(entries) => entries
            .iter()
            .map(|(k, v)| format!("{}: [{}]", q.of(k), q.of(&v.join(", "))))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

fn why_action(st: &Statement, q: Quote) -> String {
    match &st.action {
        ActionSpec::Action(p) => format!(
            "action not matched by Action [{}]",
            q.of(&p.iter().map(|p| p.source()).collect::<Vec<_>>().join(", "))
        ),
        ActionSpec::NotAction(p) => format!(
            "action excluded by NotAction [{}]",
            q.of(&p.iter().map(|p| p.source()).collect::<Vec<_>>().join(", "))
        ),
    }
}

fn why_resource(st: &Statement, request: &Request, q: Quote) -> String {
    let (name, patterns) = match &st.resource {
        Some(ResourceSpec::Resource(p)) => ("not matched by Resource", p),
        Some(ResourceSpec::NotResource(p)) => ("excluded by NotResource", p),
        None => return "no Resource element".to_string(),
    };
    let mut out = format!(
        "resource {name} [{}]",
        q.of(&patterns
            .iter()
            .map(|p| p.render(&request.context))
            .collect::<Vec<_>>()
            .join(", "))
    );
    let mut missing: Vec<String> = Vec::new();
    for p in patterns {
        if p.matches(&request.resource, &request.context) == Match::Unresolved
            && let crate::lang::arn::ArnPattern::Arn { parts, .. } = p
        {
            for part in parts.iter() {
                for piece in part.pieces() {
                    if let Piece::Variable(v) = piece
                        && crate::lang::variables::resolve(v, &request.context).is_none()
                        && !missing.contains(&v.to_string())
                    {
                        missing.push(v.to_string());
                    }
                }
            }
        }
    }
    if !missing.is_empty() {
        let _ = write!(
            out,
            "; {} has no value in the request, so its pattern matches nothing",
            q.of(&missing.join(", "))
        );
    }
    out
}

fn applies_text(st: &Statement, request: &Request, q: Quote) -> String {
    let vars = &request.context;
    let matched = match &st.resource {
        None => None,
        Some(ResourceSpec::Resource(p)) => p
            .iter()
            .find(|p| p.matches(&request.resource, vars) == Match::Yes)
            .map(|p| format!("resource matched by {}", q.of(&p.render(vars)))),
        Some(ResourceSpec::NotResource(_)) => {
            Some("resource not excluded by NotResource".to_string())
        }
    };
    let mut out = String::from("applies");
    if let Some(m) = matched {
        let _ = write!(out, " ({m}");
        if !st.conditions.is_empty() {
            let _ = write!(out, "; all {} condition(s) hold", st.conditions.len());
        }
        out.push(')');
    }
    out
}

/// The first lines of an explanation: the decision and the request.
fn header(decision: Decision, request: &Request) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Decision: {}", decision.as_str());
    let _ = write!(
        out,
        "Request:  {} on {}",
        field(&request.action),
        field(&request.resource)
    );
    if let Some(identity) = request.context.get(crate::lang::keys::COGNITO_SUB) {
        let _ = write!(out, " as identity {}", field(&identity.join(", ")));
    }
    let _ = writeln!(out);
    out
}

/// The human-readable explanation of a decision.
pub fn explanation_text(set: &PolicySet, request: &Request, explanation: &Explanation) -> String {
    let ev = &explanation.evaluation;
    let mut out = header(ev.decision, request);
    match ev.decision {
        crate::eval::Decision::Allow => {
            let _ = writeln!(out, "Allowed by:");
        }
        crate::eval::Decision::ExplicitDeny => {
            let _ = writeln!(out, "Denied by:");
        }
        crate::eval::Decision::ImplicitDeny => {
            let _ = writeln!(
                out,
                "No statement allows the request, so it is denied by default."
            );
        }
    }
    for r in &ev.deciding {
        let _ = writeln!(out, "  {}", field(&set.label(*r)));
    }
    let _ = writeln!(out, "Statements:");
    write_statements(&mut out, "", set, request, explanation);
    out
}

/// One line per statement of `set`: its label (after `prefix`) and why it applies or not.
fn write_statements(
    out: &mut String,
    prefix: &str,
    set: &PolicySet,
    request: &Request,
    explanation: &Explanation,
) {
    for (r, outcome) in &explanation.outcomes {
        let why = reason(set.statement(*r), outcome, request, Quote::Text);
        let _ = writeln!(out, "  {prefix}{}: {}", field(&set.label(*r)), why);
    }
}

/// Why a statement applies to `request` or not, as the explanation words it.
fn reason(st: &Statement, outcome: &Outcome, request: &Request, q: Quote) -> String {
    match outcome {
        Outcome::Applies => applies_text(st, request, q),
        Outcome::PrincipalNotMatched => why_principal(st, request, q),
        Outcome::ActionNotMatched => why_action(st, q),
        Outcome::ResourceNotMatched => why_resource(st, request, q),
        Outcome::ConditionNotMet { reason, .. } => {
            format!("condition not met: {}", q.of(reason))
        }
    }
}

/// The name of an outcome in the JSON explanation.
fn outcome_name(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Applies => "applies",
        Outcome::PrincipalNotMatched => "principal_not_matched",
        Outcome::ActionNotMatched => "action_not_matched",
        Outcome::ResourceNotMatched => "resource_not_matched",
        Outcome::ConditionNotMet { .. } => "condition_not_met",
    }
}

/// One statement of the explanation in the JSON object of a single request: the
/// statement as output objects name it, then whether it applies, the outcome's name and
/// the reason the text explanation gives (values as they are: JSON escapes them).
#[derive(Debug, Serialize)]
pub struct ExplainedOut<'a> {
    /// The statement (`policy`, `index`, `sid`, `effect`, `policy_type`, `level`).
    #[serde(flatten)]
    pub statement: StatementOut<'a>,
    /// Whether action, resource, principal and conditions all match.
    pub applies: bool,
    /// `applies`, `principal_not_matched`, `action_not_matched`, `resource_not_matched`
    /// or `condition_not_met`.
    pub outcome: &'static str,
    /// Why, as the text explanation says it, e.g. `action not matched by Action [...]`.
    pub reason: String,
}

/// The JSON object of a single request: the decision's object (`T`, a batch line's
/// fields and what follows them), then `explanation`, one entry per statement, in the
/// order of the text explanation's `Statements:`.
#[derive(Debug, Serialize)]
pub struct Explained<'a, T> {
    /// The decision's object.
    #[serde(flatten)]
    pub line: T,
    /// Every statement, and why it applies or not.
    pub explanation: Vec<ExplainedOut<'a>>,
}

/// The explanation's entries for one policy set whose statements are named as of
/// `policy_type` (`level`: an SCP's or RCP's level label).
pub(crate) fn explained<'a>(
    set: &'a PolicySet,
    policy_type: &'static str,
    level: Option<&'a str>,
    request: &Request,
    explanation: &Explanation,
) -> impl Iterator<Item = ExplainedOut<'a>> {
    explanation.outcomes.iter().map(move |(r, outcome)| {
        let st = set.statement(*r);
        ExplainedOut {
            statement: StatementOut {
                policy: &set.policy(*r).name,
                index: st.index,
                sid: st.sid.as_deref(),
                effect: st.effect.as_str(),
                policy_type,
                level,
            },
            applies: matches!(outcome, Outcome::Applies),
            outcome: outcome_name(outcome),
            reason: reason(st, outcome, request, Quote::Json),
        }
    })
}

/// The explanation of a request to identity-based policies, for [`Explained`].
pub fn explanation_json<'a>(
    set: &'a PolicySet,
    request: &Request,
    explanation: &Explanation,
) -> Vec<ExplainedOut<'a>> {
    explained(
        set,
        PolicyType::Identity.as_str(),
        None,
        request,
        explanation,
    )
    .collect()
}

/// The explanation of a request decided with every policy type, for [`Explained`]:
/// every set's statements, in [`Policies::sets`] order (`explanations` in that order).
pub fn authorization_explanation_json<'a>(
    policies: &'a Policies,
    request: &Request,
    explanations: &[Explanation],
) -> Vec<ExplainedOut<'a>> {
    policies
        .sets()
        .zip(explanations)
        .flat_map(|((policy_type, index, set), explanation)| {
            let level = super::level_label(policies, policy_type, index);
            explained(set, policy_type.as_str(), level, request, explanation).collect::<Vec<_>>()
        })
        .collect()
}

/// A policy set as outputs name it: `identity`, `resource` (with the resource it is
/// attached to, when given), `boundary`, `session`, `scp LEVEL`, `rcp LEVEL`.
pub fn set_label(policies: &Policies, policy_type: PolicyType, index: usize) -> String {
    let name = policy_type.as_str();
    match policy_type {
        PolicyType::Scp | PolicyType::Rcp => format!(
            "{name} {}",
            field(super::level_label(policies, policy_type, index).unwrap_or(""))
        ),
        PolicyType::Resource => match &policies.resource[index].resource {
            Some(arn) => format!("{name} {}", field(arn)),
            None if policies.resource.len() > 1 => format!("{name}[{index}]"),
            None => name.to_string(),
        },
        PolicyType::Identity | PolicyType::Boundary | PolicyType::Session => name.to_string(),
    }
}

/// How a resource-based policy's grant names the caller, in words.
fn grant_text(grant: Grant) -> &'static str {
    match grant {
        Grant::Direct => "names the principal directly",
        Grant::Role => "names the principal's role",
        Grant::Account => "names the principal's account only",
    }
}

/// One policy set's own result, as the text after `label: `.
fn result_text(policies: &Policies, r: &SetResult) -> String {
    if !r.applies {
        return match r.policy_type {
            PolicyType::Scp => "does not apply: the organization path ends in another account than the principal's, taken as outside the organization".to_string(),
            PolicyType::Rcp => "does not apply: the resource is in another account than the path's, or RCPs do not govern the action's service".to_string(),
            PolicyType::Resource => "does not apply: the policy is another resource's".to_string(),
            PolicyType::Identity | PolicyType::Boundary | PolicyType::Session => {
                "does not apply to this request".to_string()
            }
        };
    }
    let set = policies.set(r.policy_type, r.index);
    let mut why: Vec<String> = r
        .deciding
        .iter()
        .map(|s| field(&set.label(*s)).to_string())
        .collect();
    if let Some(g) = r.grant {
        why.push(grant_text(g).to_string());
    }
    let why = match (r.policy_type, r.decision, why.is_empty()) {
        (PolicyType::Rcp, Decision::Allow, true) => "implicit RCPFullAWSAccess".to_string(),
        (_, Decision::ImplicitDeny, true) => "no statement applies".to_string(),
        (_, _, _) => why.join("; "),
    };
    format!("{} ({why})", r.decision.as_str())
}

/// The human-readable explanation of a decision with every policy type: the decision,
/// the request and principal, the resource's account when it was taken to be the
/// principal's, whether the request crosses accounts, the policy type that decided and
/// its statements, every policy set's own result (in flowchart order), then every
/// statement of every set. `explanations` are the sets' explanations, in
/// [`Policies::sets`] order.
pub fn authorization_text(
    policies: &Policies,
    request: &Request,
    authorization: &Authorization,
    explanations: &[Explanation],
) -> String {
    let verdict = authorization.verdict;
    let mut out = header(verdict.decision, request);
    if let Some(c) = &request.principal {
        let _ = writeln!(
            out,
            "Principal: {} ({})",
            field(c.arn()),
            c.kind().principal_type()
        );
    }
    match (&authorization.resource_account, &request.principal) {
        (Some((account, AccountSource::Principal)), _) => {
            let _ = writeln!(
                out,
                "resource account {}, the principal's: give --resource-account for a bucket in another account",
                field(account)
            );
        }
        (Some((account, _)), Some(c)) if authorization.cross_account => {
            let _ = writeln!(
                out,
                "Cross-account: the principal's account {}, the resource's {}",
                field(c.account_id()),
                field(account)
            );
        }
        _ => {}
    }
    let decider = set_label(policies, verdict.decided_by, verdict.index);
    let _ = writeln!(out, "Decided by: {decider}");
    match verdict.decision {
        Decision::Allow => {
            let _ = writeln!(out, "Allowed by:");
        }
        Decision::ExplicitDeny => {
            let _ = writeln!(out, "Denied by:");
        }
        Decision::ImplicitDeny => {
            let _ = writeln!(
                out,
                "The {decider} step does not allow the request, so it is denied by default."
            );
        }
    }
    for r in &authorization.deciding {
        let _ = writeln!(
            out,
            "  {} {}",
            set_label(policies, r.policy_type, r.index),
            field(&policies.label(*r))
        );
    }
    let _ = writeln!(out, "Policy types:");
    for r in &authorization.results {
        let _ = writeln!(
            out,
            "  {}: {}",
            set_label(policies, r.policy_type, r.index),
            result_text(policies, r)
        );
    }
    let _ = writeln!(out, "Statements:");
    for ((policy_type, index, set), explanation) in policies.sets().zip(explanations) {
        let prefix = format!("{} ", set_label(policies, policy_type, index));
        write_statements(&mut out, &prefix, set, request, explanation);
    }
    out
}

/// One policy set's own result in the JSON object.
#[derive(Debug, Serialize)]
pub struct ResultOut<'a> {
    /// Its policy type.
    pub policy_type: &'static str,
    /// For an SCP or RCP level: its label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<&'a str>,
    /// For a resource-based policy: the resource it is attached to (`null`: the
    /// requested resource).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<Option<&'a str>>,
    /// Whether the set takes part in this request.
    pub applies: bool,
    /// The set's own decision.
    pub decision: &'static str,
    /// For a resource-based policy that allows: how it names the caller (`direct`,
    /// `role`, `account`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<&'static str>,
    /// Its applicable statements (the `Deny`s for `ExplicitDeny`, else the `Allow`s).
    pub statements: Vec<StatementOut<'a>>,
}

/// The resource's account in the JSON object.
#[derive(Debug, Serialize)]
pub struct AccountOut<'a> {
    /// The 12-digit account.
    pub account: &'a str,
    /// Where it came from: `arn`, `given`, or `principal` (taken to be the principal's).
    pub source: &'static str,
}

/// The output object for one request decided with every policy type, fields in this
/// order: a batch line's (`id`, `decision`, `statements`), then `decided_by`, `principal`,
/// `resource_account`, `cross_account`, `results`.
#[derive(Debug, Serialize)]
pub struct AuthorizationLine<'a> {
    /// Always `null` (a single request has no id).
    pub id: Option<&'a str>,
    /// The decision.
    pub decision: &'static str,
    /// The statements that decided, each with its policy type.
    pub statements: Vec<StatementOut<'a>>,
    /// The policy type whose result decided.
    pub decided_by: &'static str,
    /// The caller's ARN.
    pub principal: Option<&'a str>,
    /// The resource's account, when known.
    pub resource_account: Option<AccountOut<'a>>,
    /// Whether the principal's and the resource's accounts differ.
    pub cross_account: bool,
    /// Every policy set's own result, in flowchart order.
    pub results: Vec<ResultOut<'a>>,
}

/// Build the output object for one request decided with every policy type.
pub fn authorization_json<'a>(
    policies: &'a Policies,
    request: &'a Request,
    authorization: &'a Authorization,
) -> AuthorizationLine<'a> {
    let results = authorization
        .results
        .iter()
        .map(|r| ResultOut {
            policy_type: r.policy_type.as_str(),
            level: super::level_label(policies, r.policy_type, r.index),
            resource: match r.policy_type {
                PolicyType::Resource => Some(policies.resource[r.index].resource.as_deref()),
                PolicyType::Identity
                | PolicyType::Boundary
                | PolicyType::Session
                | PolicyType::Scp
                | PolicyType::Rcp => None,
            },
            applies: r.applies,
            decision: r.decision.as_str(),
            grant: r.grant.map(Grant::as_str),
            statements: r
                .deciding
                .iter()
                .map(|s| {
                    super::typed_statement_out(
                        policies,
                        TypedRef {
                            policy_type: r.policy_type,
                            index: r.index,
                            statement: *s,
                        },
                    )
                })
                .collect(),
        })
        .collect();
    AuthorizationLine {
        id: None,
        decision: authorization.verdict.decision.as_str(),
        statements: authorization
            .deciding
            .iter()
            .map(|r| super::typed_statement_out(policies, *r))
            .collect(),
        decided_by: authorization.verdict.decided_by.as_str(),
        principal: request.principal.as_ref().map(|c| c.arn()),
        resource_account: authorization
            .resource_account
            .as_ref()
            .map(|(account, source)| AccountOut {
                account,
                source: match source {
                    AccountSource::Arn => "arn",
                    AccountSource::Given => "given",
                    AccountSource::Principal => "principal",
                },
            }),
        cross_account: authorization.cross_account,
        results,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::parse::parse_policy;

    #[test]
    fn output_line_field_order_and_labels() {
        let p = parse_policy(
            "p.json",
            br#"{"Version":"2012-10-17","Statement":[{"Sid":"S1","Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
        )
        .unwrap();
        let set = PolicySet::new(vec![p]);
        let req = Request::new("s3:GetObject", "arn:aws:s3:::b/k");
        let ev = set.evaluate(&req).unwrap();
        let id = Json::String("r1".into());
        assert_eq!(
            serde_json::to_string(&evaluation_json(&set, &id, &ev)).unwrap(),
            r#"{"id":"r1","decision":"Allow","statements":[{"policy":"p.json","index":0,"sid":"S1","effect":"Allow","policy_type":"identity"}]}"#
        );
        assert_eq!(
            set.label(ev.deciding[0]),
            "p.json Statement[0] (Sid S1, Allow)"
        );
    }
}

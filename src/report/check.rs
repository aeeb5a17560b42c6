//! `check`: the decision on one request, as the JSON object a batch run writes for it or
//! as a human-readable explanation of every statement.

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

fn why_principal(st: &Statement, request: &Request) -> String {
    let who = match &request.principal {
        Some(c) => format!("{} {}", c.kind().principal_type(), field(c.arn())),
        None => "an unnamed principal".to_string(),
    };
    let (element, p) = match (&st.principal, &st.not_principal) {
        (Some(p), _) => ("Principal", p),
        (None, Some(p)) => ("NotPrincipal", p),
        (None, None) => return "principal not matched".to_string(),
    };
    format!("{who} is not covered by {element} {}", principal_text(p))
}

fn principal_text(p: &crate::lang::model::Principal) -> String {
    match p {
        crate::lang::model::Principal::Any => "\"*\"".to_string(),
        crate::lang::model::Principal::Map(entries) => entries
            .iter()
            .map(|(k, v)| format!("{}: [{}]", field(k), field(&v.join(", "))))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

fn why_action(st: &Statement) -> String {
    match &st.action {
        ActionSpec::Action(p) => format!(
            "action not matched by Action [{}]",
            field(&p.iter().map(|p| p.source()).collect::<Vec<_>>().join(", "))
        ),
        ActionSpec::NotAction(p) => format!(
            "action excluded by NotAction [{}]",
            field(&p.iter().map(|p| p.source()).collect::<Vec<_>>().join(", "))
        ),
    }
}

fn why_resource(st: &Statement, request: &Request) -> String {
    let (name, patterns) = match &st.resource {
        Some(ResourceSpec::Resource(p)) => ("not matched by Resource", p),
        Some(ResourceSpec::NotResource(p)) => ("excluded by NotResource", p),
        None => return "no Resource element".to_string(),
    };
    let mut out = format!(
        "resource {name} [{}]",
        field(
            &patterns
                .iter()
                .map(|p| p.render(&request.context))
                .collect::<Vec<_>>()
                .join(", ")
        )
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
            field(&missing.join(", "))
        );
    }
    out
}

fn applies_text(st: &Statement, request: &Request) -> String {
    let vars = &request.context;
    let matched = match &st.resource {
        None => None,
        Some(ResourceSpec::Resource(p)) => p
            .iter()
            .find(|p| p.matches(&request.resource, vars) == Match::Yes)
            .map(|p| format!("resource matched by {}", field(&p.render(vars)))),
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
        let st = set.statement(*r);
        let why = match outcome {
            Outcome::Applies => applies_text(st, request),
            Outcome::PrincipalNotMatched => why_principal(st, request),
            Outcome::ActionNotMatched => why_action(st),
            Outcome::ResourceNotMatched => why_resource(st, request),
            Outcome::ConditionNotMet { reason, .. } => {
                format!("condition not met: {}", field(reason))
            }
        };
        let _ = writeln!(out, "  {prefix}{}: {}", field(&set.label(*r)), why);
    }
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

//! The Cognito identity-pool flow (`check --template` on a template with an identity
//! pool): each step and, for the last policy step run, its explanation.

use std::fmt::Write as _;

use serde::Serialize;

use super::check::{ExplainedOut, authorization_explanation_json, explained};
use super::{StatementOut, explanation_text, field, statement_out};
use crate::cognito::{FlowOutcome, FlowRequest, Step};

/// One step of the flow in the JSON object.
#[derive(Debug, Serialize)]
pub struct StepOut<'a> {
    /// `identity-pool`, `role-attachment`, `trust-policy` or `permissions`.
    pub step: &'static str,
    /// Whether the flow went on after it.
    pub passed: bool,
    /// What was checked and found.
    pub detail: &'a str,
}

/// The JSON object of a flow, fields in this order:
/// `{"id":null,"decision":...,"statements":[...],"steps":[...]}` (a batch line's fields,
/// then the steps).
#[derive(Debug, Serialize)]
pub struct FlowLine<'a> {
    /// Always `null` (a single request has no id).
    pub id: Option<&'a str>,
    /// The final decision.
    pub decision: &'static str,
    /// The permission statements that decided; empty unless the permissions step ran.
    pub statements: Vec<StatementOut<'a>>,
    /// The steps run, in order.
    pub steps: Vec<StepOut<'a>>,
    /// The policy type that decided at the permissions step, when policy types besides
    /// identity-based ones took part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<&'static str>,
}

/// The JSON object of a flow's outcome.
pub fn flow_json(outcome: &FlowOutcome) -> FlowLine<'_> {
    let every_type = outcome
        .authorization
        .as_deref()
        .filter(|a| !a.policies.is_identity_only());
    let statements = match &outcome.explanation {
        _ if let Some(a) = every_type => a
            .authorization
            .deciding
            .iter()
            .map(|r| super::typed_statement_out(&a.policies, *r))
            .collect(),
        Some((set, _, ex)) if outcome.steps.last().map(|s| s.step) == Some(Step::Permissions) => ex
            .evaluation
            .deciding
            .iter()
            .map(|r| statement_out(set, *r))
            .collect(),
        _ => Vec::new(),
    };
    FlowLine {
        id: None,
        decision: outcome.decision.as_str(),
        statements,
        steps: outcome
            .steps
            .iter()
            .map(|s| StepOut {
                step: s.step.as_str(),
                passed: s.passed,
                detail: &s.detail,
            })
            .collect(),
        decided_by: every_type.map(|a| a.authorization.verdict.decided_by.as_str()),
    }
}

/// The explanation in the JSON object of a flow (`check --format json`): the statements
/// of the last policy step run, as the text prints them. At the permissions step they are
/// the role's (`policy_type` `identity`, and every other type taking part); when the flow
/// stopped at the trust policy they are the role's trust policy's, named `trust`.
pub fn flow_explanation_json(outcome: &FlowOutcome) -> Vec<ExplainedOut<'_>> {
    if let Some(a) = outcome
        .authorization
        .as_deref()
        .filter(|a| !a.policies.is_identity_only())
    {
        return authorization_explanation_json(&a.policies, &a.request, &a.explanations);
    }
    let Some((set, request, ex)) = &outcome.explanation else {
        return Vec::new();
    };
    let policy_type = match outcome.steps.last().map(|s| s.step) {
        Some(Step::Permissions) => "identity",
        Some(Step::TrustPolicy) => "trust",
        Some(Step::IdentityPool | Step::RoleAttachment) | None => return Vec::new(),
    };
    explained(set, policy_type, None, request, ex).collect()
}

/// The flow as text: the decision, the request, each step, the step that denied, and the
/// explanation of the last policy step run (indented). `template` names the template file.
pub fn flow_text(template: &str, flow: &FlowRequest, outcome: &FlowOutcome) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Decision: {}", outcome.decision.as_str());
    let _ = writeln!(
        out,
        "Request:  {} on {} as {} identity {}",
        field(&flow.request.action),
        field(&flow.request.resource),
        if flow.authenticated {
            "authenticated"
        } else {
            "unauthenticated"
        },
        field(&flow.identity)
    );
    let _ = writeln!(out, "Cognito flow ({}):", field(template));
    for (i, s) in outcome.steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {}. {}: {} - {}",
            i + 1,
            s.step.as_str(),
            if s.passed { "passed" } else { "DENIED" },
            field(&s.detail)
        );
    }
    if let Some(failed) = outcome.steps.iter().find(|s| !s.passed) {
        let _ = writeln!(out, "Denied at step: {}", failed.step.as_str());
    }
    if let Some(a) = outcome
        .authorization
        .as_deref()
        .filter(|a| !a.policies.is_identity_only())
    {
        let _ = writeln!(out, "Policies of the permissions step, every policy type:");
        let text = super::check::authorization_text(
            &a.policies,
            &a.request,
            &a.authorization,
            &a.explanations,
        );
        for line in text.lines() {
            let _ = writeln!(out, "  {line}");
        }
    } else if let Some((set, request, ex)) = &outcome.explanation {
        let step = outcome.steps.last().map_or("", |s| s.step.as_str());
        let _ = writeln!(out, "Policies of the {step} step:");
        for line in explanation_text(set, request, ex).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

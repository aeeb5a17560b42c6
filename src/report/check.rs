//! `check`: the decision on one request, as the JSON object a batch run writes for it or
//! as a human-readable explanation of every statement.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value as Json;

use super::{field, statement_out};
use crate::eval::{Evaluation, Explanation, Outcome, PolicySet};
use crate::lang::model::{ActionSpec, ResourceSpec, Statement};
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

/// The human-readable explanation of a decision.
pub fn explanation_text(set: &PolicySet, request: &Request, explanation: &Explanation) -> String {
    let ev = &explanation.evaluation;
    let mut out = String::new();
    let _ = writeln!(out, "Decision: {}", ev.decision.as_str());
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
        let _ = writeln!(out, "  {}: {}", field(&set.label(*r)), why);
    }
    out
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
            r#"{"id":"r1","decision":"Allow","statements":[{"policy":"p.json","index":0,"sid":"S1","effect":"Allow"}]}"#
        );
        assert_eq!(
            set.label(ev.deciding[0]),
            "p.json Statement[0] (Sid S1, Allow)"
        );
    }
}

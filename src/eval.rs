//! Evaluation: the decision AWS makes for a request against identity-based policies
//! (IAM User Guide, "Policy evaluation logic": "Determining whether a request is allowed
//! or denied within an account").
//!
//! A statement *applies* when its `Action`/`NotAction` covers the action, its
//! `Resource`/`NotResource` covers the resource, and every condition holds. Then:
//! any applicable `Deny` gives [`Decision::ExplicitDeny`]; otherwise any applicable `Allow`
//! gives [`Decision::Allow`]; otherwise the request is [`Decision::ImplicitDeny`].
//!
//! Cost: every statement of every policy is examined once per request (so that all the
//! statements that decided can be reported); conditions are evaluated only for statements
//! whose action and resource match.

use crate::context::Request;
use crate::error::RequestError;
use crate::policy::{Effect, Policy, Statement};

/// The outcome of authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// An applicable `Allow` and no applicable `Deny`.
    Allow,
    /// An applicable `Deny`.
    ExplicitDeny,
    /// No applicable statement at all: denied by default.
    ImplicitDeny,
}

impl Decision {
    /// `Allow`, `ExplicitDeny` or `ImplicitDeny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "Allow",
            Decision::ExplicitDeny => "ExplicitDeny",
            Decision::ImplicitDeny => "ImplicitDeny",
        }
    }

    /// Parse the text form.
    pub fn parse(text: &str) -> Option<Decision> {
        match text {
            "Allow" => Some(Decision::Allow),
            "ExplicitDeny" => Some(Decision::ExplicitDeny),
            "ImplicitDeny" => Some(Decision::ImplicitDeny),
            _ => None,
        }
    }
}

/// Names one statement of a [`PolicySet`]: policy index and statement index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatementRef {
    /// Index of the policy in the set.
    pub policy: usize,
    /// Index of the statement in the policy.
    pub statement: usize,
}

/// Why a statement does or does not apply to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Action, resource and conditions all match.
    Applies,
    /// The action is not covered by `Action` (or is excluded by `NotAction`).
    ActionNotMatched,
    /// The resource is not covered by `Resource` (or is excluded by `NotResource`).
    ResourceNotMatched,
    /// The condition at this index of [`Statement::conditions`] does not hold.
    ConditionNotMet {
        /// Index into the statement's conditions.
        condition: usize,
        /// Human-readable reason.
        reason: String,
    },
}

/// The decision and the statements that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The decision.
    pub decision: Decision,
    /// For `ExplicitDeny`, every applicable `Deny`; for `Allow`, every applicable
    /// `Allow`; empty for `ImplicitDeny`.
    pub deciding: Vec<StatementRef>,
}

/// An [`Evaluation`] plus the outcome of every statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The decision and deciding statements.
    pub evaluation: Evaluation,
    /// Every statement with its outcome, in policy and document order.
    pub outcomes: Vec<(StatementRef, Outcome)>,
}

/// The policies that apply to one principal (e.g. a role's inline and attached policies).
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    policies: Vec<Policy>,
}

impl PolicySet {
    /// A set of policies, evaluated together.
    pub fn new(policies: Vec<Policy>) -> PolicySet {
        PolicySet { policies }
    }

    /// The policies, in the order given.
    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    /// The statement a reference names.
    ///
    /// # Panics
    /// When the reference does not come from this set.
    pub fn statement(&self, r: StatementRef) -> &Statement {
        &self.policies[r.policy].statements[r.statement]
    }

    /// The policy a reference names.
    pub fn policy(&self, r: StatementRef) -> &Policy {
        &self.policies[r.policy]
    }

    fn statements(&self) -> impl Iterator<Item = (StatementRef, &Statement)> {
        self.policies.iter().enumerate().flat_map(|(p, policy)| {
            policy.statements.iter().enumerate().map(move |(s, st)| {
                (
                    StatementRef {
                        policy: p,
                        statement: s,
                    },
                    st,
                )
            })
        })
    }

    /// Decide `request`.
    ///
    /// Errors when the request is malformed: an action that is not `service:Action`, a
    /// resource that is not an ARN or `*`, or a context value that does not fit an
    /// operator that must compare it (e.g. a non-numeric value for `NumericLessThan`).
    pub fn evaluate(&self, request: &Request) -> Result<Evaluation, RequestError> {
        request.validate().map_err(RequestError)?;
        let mut allows = Vec::new();
        let mut denies = Vec::new();
        for (r, st) in self.statements() {
            if statement_outcome(st, request)? == Outcome::Applies {
                match st.effect {
                    Effect::Allow => allows.push(r),
                    Effect::Deny => denies.push(r),
                }
            }
        }
        Ok(decide(allows, denies))
    }

    /// Decide `request` and report every statement's outcome.
    pub fn explain(&self, request: &Request) -> Result<Explanation, RequestError> {
        request.validate().map_err(RequestError)?;
        let mut allows = Vec::new();
        let mut denies = Vec::new();
        let mut outcomes = Vec::new();
        for (r, st) in self.statements() {
            let outcome = statement_outcome(st, request)?;
            if outcome == Outcome::Applies {
                match st.effect {
                    Effect::Allow => allows.push(r),
                    Effect::Deny => denies.push(r),
                }
            }
            outcomes.push((r, outcome));
        }
        Ok(Explanation {
            evaluation: decide(allows, denies),
            outcomes,
        })
    }
}

fn decide(allows: Vec<StatementRef>, denies: Vec<StatementRef>) -> Evaluation {
    if !denies.is_empty() {
        Evaluation {
            decision: Decision::ExplicitDeny,
            deciding: denies,
        }
    } else if !allows.is_empty() {
        Evaluation {
            decision: Decision::Allow,
            deciding: allows,
        }
    } else {
        Evaluation {
            decision: Decision::ImplicitDeny,
            deciding: Vec::new(),
        }
    }
}

/// Whether one statement applies to the request, and if not, the first reason why.
pub fn statement_outcome(st: &Statement, request: &Request) -> Result<Outcome, RequestError> {
    if !st.matches_action(&request.action) {
        return Ok(Outcome::ActionNotMatched);
    }
    if !st.matches_resource(&request.resource, &request.context) {
        return Ok(Outcome::ResourceNotMatched);
    }
    for (i, c) in st.conditions.iter().enumerate() {
        if !c
            .evaluate(&request.context)
            .map_err(|e| RequestError(e.0))?
        {
            return Ok(Outcome::ConditionNotMet {
                condition: i,
                reason: c.describe_failure(&request.context),
            });
        }
    }
    Ok(Outcome::Applies)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_policy;

    fn set(docs: &[&str]) -> PolicySet {
        PolicySet::new(
            docs.iter()
                .enumerate()
                .map(|(i, d)| parse_policy(&format!("p{i}.json"), d.as_bytes()).unwrap())
                .collect(),
        )
    }

    #[test]
    fn deny_beats_allow_across_policies() {
        let s = set(&[
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}}"#,
        ]);
        let ev = s
            .evaluate(&Request::new("s3:DeleteObject", "arn:aws:s3:::b/k"))
            .unwrap();
        assert_eq!(ev.decision, Decision::ExplicitDeny);
        assert_eq!(
            ev.deciding,
            [StatementRef {
                policy: 1,
                statement: 0
            }]
        );
        let ev = s
            .evaluate(&Request::new("s3:GetObject", "arn:aws:s3:::b/k"))
            .unwrap();
        assert_eq!(ev.decision, Decision::Allow);
        let ev = s.evaluate(&Request::new("ec2:RunInstances", "*")).unwrap();
        assert_eq!(ev.decision, Decision::ImplicitDeny);
        assert!(ev.deciding.is_empty());
    }

    #[test]
    fn explain_reports_first_reason() {
        let s = set(&[r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":"sqs:*","Resource":"*"},
                {"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::other/*"},
                {"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}"#]);
        let ex = s
            .explain(&Request::new("s3:GetObject", "arn:aws:s3:::b/k"))
            .unwrap();
        assert_eq!(ex.evaluation.decision, Decision::ImplicitDeny);
        let outcomes: Vec<&Outcome> = ex.outcomes.iter().map(|(_, o)| o).collect();
        assert_eq!(outcomes[0], &Outcome::ActionNotMatched);
        assert_eq!(outcomes[1], &Outcome::ResourceNotMatched);
        assert!(matches!(
            outcomes[2],
            Outcome::ConditionNotMet { condition: 0, .. }
        ));
    }

    #[test]
    fn malformed_requests_are_errors_not_denies() {
        let s = set(&[r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#]);
        assert!(s.evaluate(&Request::new("GetObject", "*")).is_err());
        assert!(s.evaluate(&Request::new("s3:GetObject", "bucket")).is_err());
    }
}

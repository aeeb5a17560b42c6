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

pub mod authorize;

use crate::request::{Request, RequestError};
use std::collections::HashMap;

use crate::lang::model::{ActionSpec, Effect, Policy, Statement};

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

    /// The rule that combines the statements that apply (IAM User Guide, "Policy
    /// evaluation logic"): any applicable `Deny` is an explicit deny; otherwise any
    /// applicable `Allow` allows; otherwise the request is implicitly denied. Every decision
    /// of the crate is made here.
    pub fn combine(any_deny: bool, any_allow: bool) -> Decision {
        if any_deny {
            Decision::ExplicitDeny
        } else if any_allow {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
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
    /// The statement's `Principal`/`NotPrincipal` does not cover the request's principal
    /// (resource-based and trust policies only).
    PrincipalNotMatched,
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

/// Statement sets at least this large get an action index; below it a straight scan is
/// cheaper than hashing the action name.
const INDEX_THRESHOLD: usize = 32;

/// The policies that apply to one principal (e.g. a role's inline and attached policies),
/// compiled for evaluation.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    policies: Vec<Policy>,
    /// Every statement, in policy and document order; positions are statement ids.
    flat: Vec<StatementRef>,
    /// Present for large sets.
    index: Option<ActionIndex>,
}

/// Which statements can match an action, by action name and service prefix.
///
/// Every id list is sorted, so candidates come out in document order by merging.
#[derive(Debug, Clone, Default)]
struct ActionIndex {
    /// Lowercase full action name (`s3:getobject`) → statements naming it exactly.
    exact: HashMap<Box<str>, Vec<u32>>,
    /// Lowercase service prefix (`s3`) → statements with a wildcard action in it.
    by_service: HashMap<Box<str>, Vec<u32>>,
    /// Statements with `*`, or `NotAction`: candidates for every action.
    always: Vec<u32>,
}

fn push_id(list: &mut Vec<u32>, id: u32) {
    if list.last() != Some(&id) {
        list.push(id);
    }
}

impl ActionIndex {
    fn build(policies: &[Policy], flat: &[StatementRef]) -> ActionIndex {
        let mut index = ActionIndex::default();
        for (id, r) in flat.iter().enumerate() {
            let id = id as u32;
            let st = &policies[r.policy].statements[r.statement];
            let patterns = match &st.action {
                ActionSpec::NotAction(_) => {
                    push_id(&mut index.always, id);
                    continue;
                }
                ActionSpec::Action(p) => p,
            };
            for p in patterns {
                // Patterns are stored in lowercase and, apart from `*`, have a plain
                // service prefix (checked by the parser).
                if p.is_match_all() {
                    push_id(&mut index.always, id);
                } else if let Some(exact) = p.as_exact() {
                    push_id(index.exact.entry(exact.into()).or_default(), id);
                } else {
                    let service = p.source().split(':').next().unwrap_or("");
                    let key = service.to_ascii_lowercase().into_boxed_str();
                    push_id(index.by_service.entry(key).or_default(), id);
                }
            }
        }
        index
    }

    /// Call `f` with every candidate statement id for `action`, in increasing order, each
    /// once. Returns false (calling nothing) when the action is too long to lowercase on
    /// the stack; the caller then scans every statement.
    fn candidates(
        &self,
        action: &str,
        mut f: impl FnMut(u32) -> Result<(), RequestError>,
    ) -> Result<bool, RequestError> {
        let mut buf = [0u8; 256];
        let Some(lower) = buf.get_mut(..action.len()) else {
            return Ok(false);
        };
        lower.copy_from_slice(action.as_bytes());
        lower.make_ascii_lowercase();
        // Lowercasing ASCII bytes keeps valid UTF-8 valid.
        let Ok(lower) = std::str::from_utf8(lower) else {
            return Ok(false);
        };
        let service = lower.split(':').next().unwrap_or("");
        let empty: &[u32] = &[];
        let lists = [
            self.exact.get(lower).map_or(empty, Vec::as_slice),
            self.by_service.get(service).map_or(empty, Vec::as_slice),
            self.always.as_slice(),
        ];
        let mut pos = [0usize; 3];
        loop {
            let next = (0..3).filter_map(|i| lists[i].get(pos[i]).copied()).min();
            let Some(id) = next else { return Ok(true) };
            for i in 0..3 {
                if lists[i].get(pos[i]) == Some(&id) {
                    pos[i] += 1;
                }
            }
            f(id)?;
        }
    }
}

impl PolicySet {
    /// A set of policies, evaluated together. Builds the action index for large sets.
    pub fn new(policies: Vec<Policy>) -> PolicySet {
        let flat: Vec<StatementRef> = policies
            .iter()
            .enumerate()
            .flat_map(|(p, policy)| {
                (0..policy.statements.len()).map(move |s| StatementRef {
                    policy: p,
                    statement: s,
                })
            })
            .collect();
        let index = (flat.len() >= INDEX_THRESHOLD).then(|| ActionIndex::build(&policies, &flat));
        PolicySet {
            policies,
            flat,
            index,
        }
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

    /// Every statement of the set, in policy and document order.
    pub fn statement_refs(&self) -> &[StatementRef] {
        &self.flat
    }

    /// The statements with `effect`, in policy and document order.
    pub fn refs_with_effect(&self, effect: Effect) -> impl Iterator<Item = StatementRef> + '_ {
        self.flat
            .iter()
            .copied()
            .filter(move |r| self.statement(*r).effect == effect)
    }

    /// `policies/x.json Statement[1] (Sid S3Private, Allow)`: how explanations, proofs and
    /// the gate name a statement.
    pub fn label(&self, r: StatementRef) -> String {
        let st = self.statement(r);
        let sid = st
            .sid
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| format!("Sid {s}, "))
            .unwrap_or_default();
        format!(
            "{} Statement[{}] ({sid}{})",
            self.policy(r).name,
            st.index,
            st.effect.as_str()
        )
    }

    /// The policy a reference names.
    pub fn policy(&self, r: StatementRef) -> &Policy {
        &self.policies[r.policy]
    }

    /// Decide `request`.
    ///
    /// Errors when the request is malformed: an action that is not `service:Action`, a
    /// resource that is not an ARN or `*`, or a context value that does not fit an
    /// operator that must compare it (e.g. a non-numeric value for `NumericLessThan`).
    pub fn evaluate(&self, request: &Request) -> Result<Evaluation, RequestError> {
        let mut deciding = Vec::new();
        let decision = self.evaluate_into(request, &mut deciding)?;
        Ok(Evaluation { decision, deciding })
    }

    /// Decide `request`, writing the deciding statements into `deciding` (cleared first),
    /// in document order.
    ///
    /// Cost: with a reused `deciding` buffer this performs no heap allocation. Small sets
    /// are scanned statement by statement; sets of 32 statements or more look up the
    /// candidates for the action in an index (exact names, service prefixes, and the
    /// `*`/`NotAction` statements), so cost grows with the statements that can match the
    /// action, not with the size of the set.
    pub fn evaluate_into(
        &self,
        request: &Request,
        deciding: &mut Vec<StatementRef>,
    ) -> Result<Decision, RequestError> {
        request.validate()?;
        self.evaluate_validated(request, deciding)
    }

    /// [`PolicySet::evaluate_into`] for a request already validated (the step that
    /// combines policy types validates once for all its sets).
    pub(crate) fn evaluate_validated(
        &self,
        request: &Request,
        deciding: &mut Vec<StatementRef>,
    ) -> Result<Decision, RequestError> {
        deciding.clear();
        let mut any_deny = false;
        let mut visit = |id: u32| -> Result<(), RequestError> {
            let r = self.flat[id as usize];
            let st = self.statement(r);
            if first_failure(st, request)?.is_none() {
                any_deny |= st.effect == Effect::Deny;
                deciding.push(r);
            }
            Ok(())
        };
        let indexed = match &self.index {
            Some(index) => index.candidates(&request.action, &mut visit)?,
            None => false,
        };
        if !indexed {
            for id in 0..self.flat.len() as u32 {
                visit(id)?;
            }
        }
        let decision = Decision::combine(any_deny, !deciding.is_empty());
        if decision == Decision::ExplicitDeny {
            deciding.retain(|r| self.statement(*r).effect == Effect::Deny);
        }
        Ok(decision)
    }

    /// Decide `request` and report every statement's outcome (a full scan, without the
    /// index: the explanation covers every statement).
    pub fn explain(&self, request: &Request) -> Result<Explanation, RequestError> {
        request.validate()?;
        let mut allows = Vec::new();
        let mut denies = Vec::new();
        let mut outcomes = Vec::new();
        for &r in &self.flat {
            let st = self.statement(r);
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
    let decision = Decision::combine(!denies.is_empty(), !allows.is_empty());
    let deciding = match decision {
        Decision::ExplicitDeny => denies,
        Decision::Allow => allows,
        Decision::ImplicitDeny => Vec::new(),
    };
    Evaluation { decision, deciding }
}

/// The first reason a statement does not apply, without any text (no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Principal,
    Action,
    Resource,
    Condition(usize),
}

/// Keys AWS puts in every request cannot be missing from one the statement must decide:
/// without them the outcome would be a guess (see `docs/semantics.md`).
///
/// Most statements read none of these keys: that case is one length test, inlined.
#[inline]
fn require_keys(keys: &[Box<str>], request: &Request) -> Result<(), RequestError> {
    match keys.iter().find(|key| request.context.get(key).is_none()) {
        None => Ok(()),
        Some(key) => Err(missing_key(key)),
    }
}

/// The error for a missing always-present key (out of line: the hot path never builds it).
#[cold]
fn missing_key(key: &str) -> RequestError {
    RequestError::MissingKey {
        key: key.to_string(),
    }
}

/// `None` when the statement applies; otherwise the first reason it does not.
fn first_failure(st: &Statement, request: &Request) -> Result<Option<Failure>, RequestError> {
    if (st.principal.is_some() || st.not_principal.is_some())
        && !st.matches_principal(request.principal.as_ref())
    {
        return Ok(Some(Failure::Principal));
    }
    if !st.matches_action(&request.action) {
        return Ok(Some(Failure::Action));
    }
    require_keys(st.always_present_keys_in_resource(), request)?;
    if request.principal.is_some() {
        require_keys(st.signed_request_keys(), request)?;
    }
    if !st.matches_resource(&request.resource, &request.context) {
        return Ok(Some(Failure::Resource));
    }
    require_keys(st.always_present_keys_in_conditions(), request)?;
    for (i, c) in st.conditions.iter().enumerate() {
        if !c.evaluate(&request.context)? {
            return Ok(Some(Failure::Condition(i)));
        }
    }
    Ok(None)
}

/// Whether one statement applies to the request, and if not, the first reason why.
pub fn statement_outcome(st: &Statement, request: &Request) -> Result<Outcome, RequestError> {
    Ok(match first_failure(st, request)? {
        None => Outcome::Applies,
        Some(Failure::Principal) => Outcome::PrincipalNotMatched,
        Some(Failure::Action) => Outcome::ActionNotMatched,
        Some(Failure::Resource) => Outcome::ResourceNotMatched,
        Some(Failure::Condition(i)) => Outcome::ConditionNotMet {
            condition: i,
            reason: st.conditions[i].describe_failure(&request.context),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::parse::parse_policy;

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
                {"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#]);
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
    fn always_present_keys_must_be_given() {
        let s = set(&[r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":"s3:*","Resource":"*"},
                {"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#]);
        let mut r = Request::new("s3:GetObject", "arn:aws:s3:::b/k");
        assert_eq!(
            s.evaluate(&r).unwrap_err().to_string(),
            "aws:securetransport is in every AWS request and this statement reads it; give its value"
        );
        // Statements whose action does not match do not need it.
        assert!(s.evaluate(&Request::new("sqs:SendMessage", "*")).is_ok());
        r.context.add("aws:SecureTransport", "false");
        assert_eq!(s.evaluate(&r).unwrap().decision, Decision::ExplicitDeny);
    }

    #[test]
    fn malformed_requests_are_errors_not_denies() {
        let s = set(&[r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#]);
        assert!(s.evaluate(&Request::new("GetObject", "*")).is_err());
        assert!(s.evaluate(&Request::new("s3:GetObject", "bucket")).is_err());
    }
}

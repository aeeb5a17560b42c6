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
pub mod columns;

use crate::request::{Request, RequestError};
use std::collections::HashMap;

use crate::lang::keys::KnownKey;
use crate::lang::model::{ActionSpec, Effect, Policy, Statement};
use crate::lang::principal::Grant;
use crate::lang::wildcard::{Case, Match, Pattern};

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
    /// Per statement (same positions as `flat`): what a decision needs to skip it early.
    plans: Vec<Plan>,
}

/// What [`PolicySet::new`] works out once per statement, so that a decision does not
/// redo it for every request.
#[derive(Debug, Clone)]
struct Plan {
    /// The statement.
    r: StatementRef,
    /// Its effect is `Deny`.
    deny: bool,
    /// No `Principal`/`NotPrincipal`, no condition, and no key it reads that every
    /// request must carry: only its action and resource decide whether it applies.
    plain: bool,
    /// How to test its `Action`/`NotAction`.
    action: ActionPlan,
    /// How to test its `Resource`/`NotResource`.
    resource: ResourcePlan,
}

impl Plan {
    fn of(r: StatementRef, st: &Statement) -> Plan {
        Plan {
            r,
            deny: st.effect == Effect::Deny,
            plain: st.principal.is_none()
                && st.not_principal.is_none()
                && st.conditions.is_empty()
                && st.always_present_keys_in_resource().is_empty()
                && st.always_present_keys_in_conditions().is_empty()
                && st.signed_request_keys().is_empty()
                && st.session_request_keys().is_empty()
                && st.endpoint_request_keys().is_empty(),
            action: ActionPlan::of(st),
            resource: ResourcePlan::of(st),
        }
    }
}

/// How a statement's `Resource`/`NotResource` is tested: the same answer as
/// [`Statement::matches_resource`], with plain ARNs compared as text.
#[derive(Debug, Clone)]
enum ResourcePlan {
    /// No `Resource` element (a resource-based policy's own resource), or `Resource`
    /// holds `*`: every resource.
    All,
    /// `Resource` patterns that are each a plain ARN or a plain ARN prefix
    /// ([`crate::lang::arn::ArnPattern::as_literal`]): `(text, is_prefix)`.
    Literals(Box<[(Box<str>, bool)]>),
    /// Anything else (variables, wildcards inside, `NotResource`): the statement's own test.
    Statement,
}

impl ResourcePlan {
    fn of(st: &Statement) -> ResourcePlan {
        use crate::lang::arn::ArnPattern;
        use crate::lang::model::ResourceSpec;
        let patterns = match &st.resource {
            None => return ResourcePlan::All,
            Some(ResourceSpec::NotResource(_)) => return ResourcePlan::Statement,
            Some(ResourceSpec::Resource(patterns)) => patterns,
        };
        if patterns.iter().any(|p| matches!(p, ArnPattern::Any(_))) {
            return ResourcePlan::All;
        }
        let literals: Option<Vec<(Box<str>, bool)>> = patterns
            .iter()
            .map(|p| {
                p.as_literal()
                    .map(|(text, prefix)| (text.into_boxed_str(), prefix))
            })
            .collect();
        match literals {
            Some(list) => ResourcePlan::Literals(list.into_boxed_slice()),
            None => ResourcePlan::Statement,
        }
    }

    /// `st().matches_resource(resource, vars)`; `st` gives the statement, read only when
    /// its own test is needed.
    #[inline(always)]
    fn matches<'s>(
        &self,
        st: impl Fn() -> &'s Statement,
        resource: &str,
        vars: &dyn crate::lang::variables::VariableSource,
    ) -> bool {
        match self {
            ResourcePlan::All => true,
            ResourcePlan::Literals(list) => list.iter().any(|(text, prefix)| {
                if *prefix {
                    resource.starts_with(&**text)
                } else {
                    resource == &**text
                }
            }),
            ResourcePlan::Statement => statement_matches_resource(st(), resource, vars),
        }
    }
}

/// The statement's own resource test, out of line (variables, wildcards, `NotResource`).
#[inline(never)]
fn statement_matches_resource(
    st: &Statement,
    resource: &str,
    vars: &dyn crate::lang::variables::VariableSource,
) -> bool {
    st.matches_resource(resource, vars)
}

/// How a statement's `Action`/`NotAction` is tested against a request's action: the same
/// answer as [`Statement::matches_action`], with the patterns of other services skipped
/// by one comparison of the request's service.
#[derive(Debug, Clone)]
enum ActionPlan {
    /// `Action` holds `*`: every action.
    All,
    /// `Action` patterns, each with a plain service prefix.
    Services(Box<[ServicePattern]>),
    /// `NotAction` patterns, each with a plain service prefix: every action none of them
    /// matches.
    NotServices(Box<[ServicePattern]>),
    /// Anything else (a pattern without a plain service, `NotAction` holding `*`): the
    /// statement's own test.
    Statement,
}

/// One `Action` pattern and the service it names.
#[derive(Debug, Clone)]
struct ServicePattern {
    /// The service prefix, in ASCII lowercase. An action of another service cannot match
    /// the pattern: its text must begin with this prefix and a colon.
    service: Box<str>,
    /// [`service_word`] of `service`.
    word: u64,
    /// What else the action must satisfy once its service is the pattern's.
    rest: ServiceRest,
    /// The pattern's position in the statement's `Action` list.
    pattern: usize,
}

/// What an `Action` pattern asks of an action of its service.
#[derive(Debug, Clone)]
enum ServiceRest {
    /// Nothing: the pattern is `service:*`.
    Whole,
    /// To be this action name (lowercase `service:Name`), in any case.
    Exact(Box<str>),
    /// To match the pattern (`s3:Get*`).
    Pattern,
}

impl ServicePattern {
    /// Does the pattern name `service` (lowercase), whose [`service_word`] is `word`?
    #[inline]
    fn names(&self, service: &[u8], word: u64) -> bool {
        // Words of up to eight bytes are the bytes themselves: equal words are equal
        // services. Longer ones are compared in full.
        self.word == word
            && (service.len() <= 8 && self.service.len() <= 8
                || *self.service.as_bytes() == *service)
    }
}

/// Longest service prefix the action filter handles; a longer one (not an AWS service)
/// takes the statement's own test.
const SERVICE_MAX: usize = 64;

/// The request's service prefix in ASCII lowercase, worked out once per request and
/// shared by every policy set that decides it.
#[derive(Clone, Copy)]
pub(crate) struct ActionKey {
    lower: [u8; SERVICE_MAX],
    /// The prefix's length; 0 when there is none (then no statement is skipped).
    len: usize,
    /// [`service_word`] of the prefix.
    word: u64,
}

impl ActionKey {
    /// The key of `action` (`service:Name`).
    #[inline]
    pub(crate) fn of(action: &str) -> ActionKey {
        let mut key = ActionKey {
            lower: [0; SERVICE_MAX],
            len: 0,
            word: 0,
        };
        let bytes = action.as_bytes();
        if let Some(colon) = bytes.iter().position(|&b| b == b':')
            && colon <= SERVICE_MAX
        {
            key.lower[..colon].copy_from_slice(&bytes[..colon]);
            key.lower[..colon].make_ascii_lowercase();
            key.len = colon;
            key.word = service_word(&key.lower[..colon]);
        }
        key
    }

    fn service(&self) -> Option<&[u8]> {
        (self.len > 0).then(|| &self.lower[..self.len])
    }
}

/// A service prefix as one word: up to eight bytes, the bytes themselves (zero-padded:
/// service prefixes hold no zero byte); longer, an FNV-1a hash of them.
#[inline]
fn service_word(service: &[u8]) -> u64 {
    match <[u8; 8]>::try_from(service) {
        Ok(eight) => u64::from_le_bytes(eight),
        Err(_) if service.len() < 8 => {
            let mut padded = [0u8; 8];
            padded[..service.len()].copy_from_slice(service);
            u64::from_le_bytes(padded)
        }
        Err(_) => service.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        }),
    }
}

impl ActionPlan {
    fn of(st: &Statement) -> ActionPlan {
        let (patterns, negated) = match &st.action {
            ActionSpec::Action(patterns) => (patterns, false),
            ActionSpec::NotAction(patterns) => (patterns, true),
        };
        if patterns.iter().any(Pattern::is_match_all) {
            return match negated {
                false => ActionPlan::All,
                true => ActionPlan::Statement,
            };
        }
        let mut list = Vec::with_capacity(patterns.len());
        for (i, p) in patterns.iter().enumerate() {
            let Some((service, _)) = p.source().split_once(':') else {
                return ActionPlan::Statement;
            };
            let plain = !service.is_empty()
                && service
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
            if !plain || p.case() != Case::AsciiInsensitive || p.has_variables() {
                return ActionPlan::Statement;
            }
            let service = service.to_ascii_lowercase();
            let rest = if p
                .as_prefix()
                .is_some_and(|l| l.len() == service.len() + 1 && l.starts_with(&service))
            {
                ServiceRest::Whole
            } else if let Some(exact) = p.as_exact() {
                // Stored in lowercase (the pattern ignores case).
                ServiceRest::Exact(exact.into())
            } else {
                ServiceRest::Pattern
            };
            list.push(ServicePattern {
                word: service_word(service.as_bytes()),
                service: service.into_boxed_str(),
                rest,
                pattern: i,
            });
        }
        match negated {
            false => ActionPlan::Services(list.into_boxed_slice()),
            true => ActionPlan::NotServices(list.into_boxed_slice()),
        }
    }

    /// `st().matches_action(action)`, where `key` is the action's key: patterns of other
    /// services are skipped by one comparison each, `service:*` and exact names are
    /// answered without the pattern. `st` gives the statement, read only when a pattern
    /// or `NotAction` must be matched as written.
    #[inline(always)]
    fn matches<'s>(&self, st: impl Fn() -> &'s Statement, action: &str, key: &ActionKey) -> bool {
        let (list, negated) = match (self, key.service()) {
            (ActionPlan::All, _) => return true,
            (ActionPlan::Services(list), Some(_)) => (list, false),
            (ActionPlan::NotServices(list), Some(_)) => (list, true),
            (ActionPlan::Services(_) | ActionPlan::NotServices(_) | ActionPlan::Statement, _) => {
                return st().matches_action(action);
            }
        };
        let Some(service) = key.service() else {
            return st().matches_action(action);
        };
        let mut named = false;
        for sp in list.iter() {
            if !sp.names(service, key.word) {
                continue;
            }
            let yes = match &sp.rest {
                ServiceRest::Whole => true,
                ServiceRest::Exact(name) => {
                    crate::lang::wildcard::eq_lowercased(action.as_bytes(), name.as_bytes())
                }
                ServiceRest::Pattern => match &st().action {
                    ActionSpec::Action(patterns) | ActionSpec::NotAction(patterns) => {
                        patterns[sp.pattern].matches(action, &crate::lang::variables::NoVariables)
                            == Match::Yes
                    }
                },
            };
            if yes {
                named = true;
                break;
            }
        }
        named != negated
    }
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
        let plans = flat
            .iter()
            .map(|&r| Plan::of(r, &policies[r.policy].statements[r.statement]))
            .collect();
        PolicySet {
            policies,
            flat,
            index,
            plans,
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
        statement_label(self.policy(r), self.statement(r))
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
        self.evaluate_validated_into(request, deciding)
    }

    /// [`PolicySet::evaluate_into`] of a request already validated
    /// ([`Request::validate`]): for a caller that has just validated it (the batch reader
    /// validates each line as it reads it), so that it is not validated twice.
    pub(crate) fn evaluate_validated_into(
        &self,
        request: &Request,
        deciding: &mut Vec<StatementRef>,
    ) -> Result<Decision, RequestError> {
        self.evaluate_validated(
            request,
            &ActionKey::of(&request.action),
            deciding,
            &mut None,
        )
    }

    /// [`PolicySet::evaluate_into`] for a request already validated, whose action's key
    /// is `key` (the step that combines policy types validates and computes it once for
    /// all its sets). `grant` receives the strongest way an applying `Allow` statement's
    /// `Principal` names the caller (resource-based policies).
    ///
    /// Always inlined: the step that combines policy types decides each of its sets with
    /// its own copy, which saves the call and part of the set-up per set.
    #[inline(always)]
    pub(crate) fn evaluate_validated(
        &self,
        request: &Request,
        key: &ActionKey,
        deciding: &mut Vec<StatementRef>,
        grant: &mut Option<Grant>,
    ) -> Result<Decision, RequestError> {
        deciding.clear();
        *grant = None;
        let mut any_deny = false;
        let indexed = match &self.index {
            Some(index) => {
                self.visit_indexed(index, request, key, deciding, grant, &mut any_deny)?
            }
            None => false,
        };
        if !indexed {
            for plan in &self.plans {
                self.visit(plan, request, key, deciding, grant, &mut any_deny)?;
            }
        }
        let decision = Decision::combine(any_deny, !deciding.is_empty());
        if decision == Decision::ExplicitDeny {
            self.keep_denies(deciding);
        }
        Ok(decision)
    }

    /// Visit the candidates the action index gives (large sets; out of line, so that the
    /// scan of a small set stays lean). False when the index cannot answer (see
    /// [`ActionIndex::candidates`]).
    #[inline(never)]
    fn visit_indexed(
        &self,
        index: &ActionIndex,
        request: &Request,
        key: &ActionKey,
        deciding: &mut Vec<StatementRef>,
        grant: &mut Option<Grant>,
        any_deny: &mut bool,
    ) -> Result<bool, RequestError> {
        index.candidates(&request.action, |id| {
            self.visit(
                &self.plans[id as usize],
                request,
                key,
                deciding,
                grant,
                any_deny,
            )
        })
    }

    /// Keep only the `Deny` statements (an explicit deny is explained by them alone).
    #[inline(never)]
    fn keep_denies(&self, deciding: &mut Vec<StatementRef>) {
        deciding.retain(|r| self.statement(*r).effect == Effect::Deny);
    }

    /// Decide one statement for `evaluate_validated`: when it applies, record it (and
    /// whether it denies).
    ///
    /// The action is tested first: most statements of a set name other actions, and the
    /// test cannot fail with an error, so the answer is the same as in `first_failure`'s
    /// order (principal, action, then what can fail). A plain statement is then decided by
    /// its resource alone (see `Plan`), here; the others by the rest of the test, out of
    /// line.
    #[inline(always)]
    fn visit(
        &self,
        plan: &Plan,
        request: &Request,
        key: &ActionKey,
        deciding: &mut Vec<StatementRef>,
        grant: &mut Option<Grant>,
        any_deny: &mut bool,
    ) -> Result<(), RequestError> {
        if !plan
            .action
            .matches(|| self.statement(plan.r), &request.action, key)
        {
            return Ok(());
        }
        let applies = if plan.plain {
            plan.resource.matches(
                || self.statement(plan.r),
                &request.resource,
                &request.context,
            )
        } else {
            let st = self.statement(plan.r);
            match principal_grant(st, request) {
                None => false,
                Some(named) => {
                    let applies = failure_after_action(st, plan, request)?.is_none();
                    if applies && !plan.deny {
                        *grant = (*grant).max(named);
                    }
                    applies
                }
            }
        };
        if applies {
            *any_deny |= plan.deny;
            deciding.push(plan.r);
        }
        Ok(())
    }

    /// Decide `request` and report every statement's outcome (a full scan, without the
    /// index: the explanation covers every statement).
    pub fn explain(&self, request: &Request) -> Result<Explanation, RequestError> {
        request.validate()?;
        let mut allows = Vec::new();
        let mut denies = Vec::new();
        let mut outcomes = Vec::new();
        let key = ActionKey::of(&request.action);
        for plan in &self.plans {
            let r = plan.r;
            let st = self.statement(r);
            let outcome = outcome(st, plan, request, &key)?;
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
fn require_keys(keys: &[KnownKey], request: &Request) -> Result<(), RequestError> {
    match keys
        .iter()
        .find(|key| request.context.get_known(**key).is_none())
    {
        None => Ok(()),
        Some(key) => Err(missing_key(key.name())),
    }
}

/// How [`RequestError::MissingPrincipalKey`] words who always has the key.
const SIGNED: &str = "signed with AWS credentials";
/// See [`SIGNED`].
const SESSION: &str = "made with temporary credentials (a session)";
/// See [`SIGNED`].
const ENDPOINT: &str = "made through a VPC endpoint (this one has another endpoint key)";

/// Whether `request` was made through a VPC endpoint: it has one of the keys only such a
/// request has ([`crate::lang::keys::ENDPOINT_PRESENT`]).
fn through_endpoint(request: &Request) -> bool {
    const KEYS: [KnownKey; 7] = {
        let names = crate::lang::keys::ENDPOINT_PRESENT;
        assert!(names.len() == 7);
        let mut keys = [KnownKey::constant(names[0]); 7];
        let mut i = 1;
        while i < keys.len() {
            keys[i] = KnownKey::constant(names[i]);
            i += 1;
        }
        keys
    };
    KEYS.iter()
        .any(|key| request.context.get_known(*key).is_some())
}

/// [`require_keys`] for the keys a kind of request always has (signed, by a session,
/// through a VPC endpoint), `made` saying which.
#[inline]
fn require_request_keys(
    keys: &[KnownKey],
    request: &Request,
    made: &'static str,
) -> Result<(), RequestError> {
    match keys
        .iter()
        .find(|key| request.context.get_known(**key).is_none())
    {
        None => Ok(()),
        Some(key) => Err(missing_principal_key(key.name(), made)),
    }
}

/// The error for a missing principal key (out of line).
#[cold]
fn missing_principal_key(key: &str, made: &'static str) -> RequestError {
    RequestError::MissingPrincipalKey {
        key: key.to_string(),
        made,
    }
}

/// The error for a missing always-present key (out of line: the hot path never builds it).
#[cold]
fn missing_key(key: &str) -> RequestError {
    RequestError::MissingKey {
        key: key.to_string(),
    }
}

/// Does the statement's `Principal`/`NotPrincipal` cover the request's caller? (True
/// without either.)
#[inline(always)]
fn principal_matches(st: &Statement, request: &Request) -> bool {
    (st.principal.is_none() && st.not_principal.is_none())
        || st.matches_principal(request.principal.as_ref())
}

/// [`principal_matches`], and when it does, how a `Principal` element names the caller
/// (`Some(None)`: covered, with no grant to report: no `Principal` element, or no caller).
#[inline(always)]
fn principal_grant(st: &Statement, request: &Request) -> Option<Option<Grant>> {
    match (&st.principal, &st.not_principal, request.principal.as_ref()) {
        (None, None, _) => Some(None),
        // The same test as `Statement::matches_principal`: named when a grant exists.
        (Some(p), None, Some(caller)) => caller.grant(p).map(Some),
        _ => st
            .matches_principal(request.principal.as_ref())
            .then_some(None),
    }
}

/// `None` when the statement applies; otherwise the first reason it does not. `plan` is
/// the statement's [`Plan`], `key` the request action's [`ActionKey`].
fn first_failure(
    st: &Statement,
    plan: &Plan,
    request: &Request,
    key: &ActionKey,
) -> Result<Option<Failure>, RequestError> {
    if !principal_matches(st, request) {
        return Ok(Some(Failure::Principal));
    }
    if !plan.action.matches(|| st, &request.action, key) {
        return Ok(Some(Failure::Action));
    }
    failure_after_action(st, plan, request)
}

/// [`first_failure`] for a statement whose principal and action match: the keys it
/// needs, its resource, its conditions.
#[inline(never)]
fn failure_after_action(
    st: &Statement,
    plan: &Plan,
    request: &Request,
) -> Result<Option<Failure>, RequestError> {
    if !plan.plain {
        require_keys(st.always_present_keys_in_resource(), request)?;
        if let Some(caller) = &request.principal {
            require_request_keys(st.signed_request_keys(), request, SIGNED)?;
            if caller.kind().is_session() {
                require_request_keys(st.session_request_keys(), request, SESSION)?;
            }
        }
        let endpoint = st.endpoint_request_keys();
        if !endpoint.is_empty() && through_endpoint(request) {
            require_request_keys(endpoint, request, ENDPOINT)?;
        }
    }
    if !plan
        .resource
        .matches(|| st, &request.resource, &request.context)
    {
        return Ok(Some(Failure::Resource));
    }
    if plan.plain {
        return Ok(None);
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
    let plan = Plan::of(
        StatementRef {
            policy: 0,
            statement: 0,
        },
        st,
    );
    outcome(st, &plan, request, &ActionKey::of(&request.action))
}

/// [`statement_outcome`] with the statement's plan and the action's key.
fn outcome(
    st: &Statement,
    plan: &Plan,
    request: &Request,
    key: &ActionKey,
) -> Result<Outcome, RequestError> {
    Ok(match first_failure(st, plan, request, key)? {
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

/// `policies/x.json Statement[1] (Sid S3Private, Allow)`: the label of statement `st` of
/// `policy`, as every explanation names it.
pub fn statement_label(policy: &Policy, st: &Statement) -> String {
    let sid = st
        .sid
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| format!("Sid {s}, "))
        .unwrap_or_default();
    format!(
        "{} Statement[{}] ({sid}{})",
        policy.name,
        st.index,
        st.effect.as_str()
    )
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
    fn endpoint_keys_must_be_given_for_a_request_through_an_endpoint() {
        let s = set(&[r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":"s3:*","Resource":"*"},
                {"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:VpceOrgID":"o-untrusted"}}}]}"#]);
        let message = |key: &str| {
            format!(
                "{key} is in every request made through a VPC endpoint (this one has another endpoint key) and this statement reads it; give its value"
            )
        };
        // Not through an endpoint: the key is absent, the Deny does not apply.
        let mut r = Request::new("s3:GetObject", "arn:aws:s3:::b/k");
        assert_eq!(s.evaluate(&r).unwrap().decision, Decision::Allow);
        // Through one (any other endpoint key shows it), the key is one AWS had.
        for (marker, value) in [
            ("aws:SourceVpce", "vpce-1"),
            ("aws:VpcSourceIp", "10.0.0.1"),
            ("aws:SourceVpc", "vpc-1"),
            (
                "aws:SourceVpcArn",
                "arn:aws:ec2:us-east-1:111122223333:vpc/vpc-1",
            ),
            ("aws:VpceAccount", "111122223333"),
            ("aws:VpceOrgPaths", "o-1/r-ab12/"),
        ] {
            let mut through = r.clone();
            through.context.add(marker, value);
            assert_eq!(
                s.evaluate(&through).unwrap_err().to_string(),
                message("aws:vpceorgid"),
                "{marker}"
            );
        }
        r.context.add("aws:SourceVpce", "vpce-1");
        r.context.add("aws:VpceOrgID", "o-untrusted");
        assert_eq!(s.evaluate(&r).unwrap().decision, Decision::ExplicitDeny);
        // A statement with no condition that reads one in its resource is no plain one.
        let s = set(&[r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::${aws:SourceVpc}/*"}]}"#]);
        let mut r = Request::new("s3:GetObject", "arn:aws:s3:::vpc-1/k");
        assert_eq!(s.evaluate(&r).unwrap().decision, Decision::ImplicitDeny);
        r.context.add("aws:SourceVpce", "vpce-1");
        assert_eq!(
            s.evaluate(&r).unwrap_err().to_string(),
            message("aws:sourcevpc")
        );
        r.context.add("aws:SourceVpc", "vpc-1");
        assert_eq!(s.evaluate(&r).unwrap().decision, Decision::Allow);
    }

    /// The per-statement plans answer exactly as the statements' own tests: services
    /// longer than eight bytes, sharing their first eight bytes, in any case; `*`,
    /// `NotAction`, `NotResource`, plain ARNs and prefixes, variables.
    #[test]
    fn plans_agree_with_the_statements() {
        let s = set(&[r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":["cognito-identity:*","cognito-idp:Get*","S3:GetObject"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]},
                {"Effect":"Allow","Action":["mobileanalytics:PutEvents","s3:*"],"Resource":"arn:aws:s3:::b/${aws:username}/*"},
                {"Effect":"Deny","NotAction":["iam:*","s3:Put*"],"NotResource":"arn:aws:s3:::b/k"},
                {"Effect":"Allow","Action":"*","Resource":"arn:aws:cognito-idp:us-east-1:1:userpool/*"},
                {"Effect":"Allow","Action":"cognito-sync:ListRecords","Resource":"arn:aws:cognito-sync:*:1:identitypool/*"},
                {"Effect":"Deny","NotAction":["sts:AssumeRole","Cognito-Sync:*","s3:GetObject"],"Resource":"*"},
                {"Effect":"Deny","NotAction":"*","Resource":"*"}]}"#]);
        let actions = [
            "cognito-identity:GetId",
            "Cognito-Identity:getid",
            "cognito-idp:GetUser",
            "cognito-idp:ListUsers",
            "cognito-sync:ListRecords",
            "cognito-syncx:ListRecords",
            "s3:GetObject",
            "S3:getobject",
            "s3:PutObject",
            "s3x:GetObject",
            "mobileanalytics:PutEvents",
            "mobileanalytic:PutEvents",
            "iam:GetUser",
            "sts:AssumeRole",
            "STS:assumerole",
            "sts:AssumeRoleWithSAML",
            "st:AssumeRole",
        ];
        let resources = [
            "arn:aws:s3:::b",
            "arn:aws:s3:::b/k",
            "arn:aws:s3:::b/alice/k",
            "arn:aws:s3:::bb",
            "arn:aws:s3:::B/k",
            "arn:aws:cognito-idp:us-east-1:1:userpool/p",
            "arn:aws:cognito-sync:us-east-1:1:identitypool/p",
            "*",
        ];
        for action in actions {
            let key = ActionKey::of(action);
            for resource in resources {
                let mut request = Request::new(action, resource);
                request.context.add("aws:username", "alice");
                for (plan, r) in s.plans.iter().zip(s.statement_refs()) {
                    let st = s.statement(*r);
                    assert_eq!(
                        plan.action.matches(|| st, action, &key),
                        st.matches_action(action),
                        "{action} {r:?}"
                    );
                    assert_eq!(
                        plan.resource.matches(|| st, resource, &request.context),
                        st.matches_resource(resource, &request.context),
                        "{resource} {r:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn malformed_requests_are_errors_not_denies() {
        let s = set(&[r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#]);
        assert!(s.evaluate(&Request::new("GetObject", "*")).is_err());
        assert!(s.evaluate(&Request::new("s3:GetObject", "bucket")).is_err());
    }
}

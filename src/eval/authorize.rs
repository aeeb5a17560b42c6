//! The step that combines policy types: the decision AWS makes with every policy it
//! evaluates for a request (IAM User Guide, "Policy evaluation logic", "Cross-account
//! policy evaluation logic", "Permissions boundaries for IAM entities", "Session
//! policies"; AWS Organizations User Guide on SCP and RCP evaluation). The rules, their
//! sources and the choices made are in `docs/semantics.md` §15. Each policy set is decided
//! by [`PolicySet::evaluate_into`]; this module only combines their results, in the order
//! of AWS's flowchart:
//!
//! 1. an explicit `Deny` in any policy of any type denies;
//! 2. every RCP level needs an applicable `Allow` (each level holds the implicit
//!    `RCPFullAWSAccess`, so in practice RCPs only deny);
//! 3. every SCP level needs an applicable `Allow`;
//! 4. within the account, a resource-based policy that names the caller directly (its
//!    own ARN, `"*"`) allows on its own; one that names the caller's role stands for the
//!    identity-based policy; one that names the account only delegates to it;
//! 5. identity-based policies must allow, 6. the permissions boundary must allow (when
//!    there is one), 7. the session policies must allow (when there are any).
//!
//! Across accounts both sides must allow: the resource's policy (any way it names the
//! caller) and the caller's identity-based policy, boundary and session policies.
//!
//! Cost: [`Policies::authorize_into`] decides each policy set once; with a reused
//! [`Scratch`] it performs no heap allocation.

use crate::eval::{ActionKey, Decision, Explanation, PolicySet, StatementRef};
use crate::lang::principal::{Caller, CallerKind, DerivedKey, Grant};
use crate::request::{Request, RequestError};

/// The kinds of policy AWS evaluates, as named in outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyType {
    /// Identity-based policies of the user or role.
    Identity,
    /// The resource's resource-based policy.
    Resource,
    /// The permissions boundary of the user or role.
    Boundary,
    /// The session policies of a role or federated user session.
    Session,
    /// A service control policy (one level of the organization).
    Scp,
    /// A resource control policy (one level of the organization).
    Rcp,
}

impl PolicyType {
    /// `identity`, `resource`, `boundary`, `session`, `scp`, `rcp`.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::Identity => "identity",
            PolicyType::Resource => "resource",
            PolicyType::Boundary => "boundary",
            PolicyType::Session => "session",
            PolicyType::Scp => "scp",
            PolicyType::Rcp => "rcp",
        }
    }
}

/// Why a request cannot be decided with the policies given.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum AuthorizeError {
    /// The request itself is malformed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Request(#[from] RequestError),
    /// A policy type other than identity-based needs to know who asks.
    #[error("a {} policy is given, so the request needs its principal (the caller's ARN)", policy_type.as_str())]
    NoPrincipal {
        /// The first such policy type.
        policy_type: PolicyType,
    },
    /// Session policies for a caller that is not a session.
    #[error(
        "session policies apply only to role and federated user sessions; the principal {:?} is {kind}",
        crate::loc::Shown(arn)
    )]
    NotASession {
        /// The caller's ARN.
        arn: String,
        /// What it is (`an IAM user`, `an account`).
        kind: &'static str,
    },
    /// The resource's account was given and contradicts its ARN.
    #[error(
        "the resource {:?} is in account {in_arn}, not {}",
        crate::loc::Shown(resource),
        crate::loc::Shown(given)
    )]
    AccountMismatch {
        /// The resource ARN.
        resource: String,
        /// The account in the ARN.
        in_arn: String,
        /// The account given.
        given: String,
    },
    /// The given resource account is not a 12-digit account id.
    #[error("{:?} is not an account id (12 digits)", crate::loc::Shown(given))]
    BadAccount {
        /// As given.
        given: String,
    },
    /// A key the principal sets is given in the context with another value.
    #[error(
        "the principal sets {key} to {:?}; the context gives {:?}",
        crate::loc::Shown(derived),
        crate::loc::Shown(given)
    )]
    KeyConflict {
        /// The key.
        key: &'static str,
        /// The value the principal gives it.
        derived: String,
        /// The value in the context.
        given: String,
    },
    /// Two permissions boundaries for one principal.
    #[error(
        "the principal has two permissions boundaries, {first} and {second}; a user or role has one"
    )]
    TwoBoundaries {
        /// The first boundary's policy name.
        first: String,
        /// The second's.
        second: String,
    },
    /// Two organization levels are labelled with different accounts.
    #[error(
        "{kind} levels name two accounts, {first} and {second}; an organization path ends in one account"
    )]
    TwoAccounts {
        /// `SCP` or `RCP`.
        kind: &'static str,
        /// The first account label.
        first: String,
        /// The second.
        second: String,
    },
}

/// One level of an organization (root, an OU, the account) with its SCPs or RCPs.
#[derive(Debug, Clone)]
pub struct Level {
    /// The level's label as given (`root`, `ou-prod`, `111122223333`).
    pub label: String,
    /// The policies attached at that level, evaluated together.
    pub set: PolicySet,
}

/// A resource-based policy and the resource it is attached to.
#[derive(Debug, Clone)]
pub struct ScopedPolicy {
    /// The resource's ARN: the policy applies to it and to every ARN under it (the ARN
    /// followed by `/`: a bucket's objects, an API's stages and methods). `None`: the
    /// policy of whatever resource is requested.
    pub resource: Option<String>,
    /// The policy.
    pub set: PolicySet,
}

impl ScopedPolicy {
    /// Does the policy apply to `resource`?
    pub fn covers(&self, resource: &str) -> bool {
        match &self.resource {
            None => true,
            Some(scope) => resource
                .strip_prefix(scope.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
        }
    }
}

/// Every policy AWS evaluates for the requests of one principal on one set of resources.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    /// The identity-based policies (may be empty: a resource-based policy alone can grant).
    pub identity: PolicySet,
    /// Resource-based policies; those that cover the requested resource apply.
    pub resource: Vec<ScopedPolicy>,
    /// The owner of a resource whose ARN has no account (S3), when known.
    pub resource_account: Option<String>,
    /// The permissions boundary.
    pub boundary: Option<PolicySet>,
    /// The session policies, evaluated together as one set.
    pub session: Option<PolicySet>,
    /// SCP levels, from the root down.
    pub scps: Vec<Level>,
    /// RCP levels, from the root down.
    pub rcps: Vec<Level>,
}

/// Where the resource's account came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountSource {
    /// The resource ARN's account field.
    Arn,
    /// Given (`resource_account`).
    Given,
    /// Neither: taken to be the principal's account.
    Principal,
}

/// One policy set's own answer, in flowchart order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetResult {
    /// Its policy type.
    pub policy_type: PolicyType,
    /// Its index among the sets of that type (resource policy, SCP or RCP level); 0
    /// otherwise.
    pub index: usize,
    /// The set's own decision (for RCP levels, `Allow` unless a `Deny` applies: the
    /// implicit `RCPFullAWSAccess`).
    pub decision: Decision,
    /// Its applicable statements: the `Deny`s for `ExplicitDeny`, else the `Allow`s.
    pub deciding: Vec<StatementRef>,
    /// For a resource-based policy that allows: how it names the caller.
    pub grant: Option<Grant>,
    /// Whether the set applies at all (a resource policy for another resource, an
    /// organization level of another account: `false`).
    pub applies: bool,
}

/// A statement of one of the policy sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypedRef {
    /// The policy type.
    pub policy_type: PolicyType,
    /// The set's index among the sets of that type.
    pub index: usize,
    /// The statement within the set.
    pub statement: StatementRef,
}

/// The decision and the policy type that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The decision.
    pub decision: Decision,
    /// The policy type whose result decided.
    pub decided_by: PolicyType,
    /// The index of the deciding set among the sets of that type.
    pub index: usize,
}

/// Reusable buffers for [`Policies::authorize_into`]: one result per policy set.
#[derive(Debug, Clone, Default)]
pub struct Scratch {
    results: Vec<SetResult>,
    used: usize,
}

impl Scratch {
    /// The results of the last decision, one per policy set, in flowchart order.
    pub fn results(&self) -> &[SetResult] {
        &self.results[..self.used]
    }

    #[inline]
    fn next(&mut self, policy_type: PolicyType, index: usize) -> &mut SetResult {
        if self.used == self.results.len() {
            self.grow();
        }
        let r = &mut self.results[self.used];
        self.used += 1;
        r.policy_type = policy_type;
        r.index = index;
        r.grant = None;
        r.applies = true;
        r
    }

    /// One more result slot (the first decisions only: the buffer is reused).
    #[cold]
    fn grow(&mut self) {
        self.results.push(SetResult {
            policy_type: PolicyType::Identity,
            index: 0,
            decision: Decision::ImplicitDeny,
            deciding: Vec::new(),
            grant: None,
            applies: true,
        });
    }
}

/// The full answer for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// Decision and deciding type.
    pub verdict: Verdict,
    /// The statements that decided: the `Deny`s for an explicit deny; for `Allow`, the
    /// allowing statements of the types that were needed.
    pub deciding: Vec<TypedRef>,
    /// Every set's own result, in flowchart order.
    pub results: Vec<SetResult>,
    /// The resource's account and where it came from (with a principal).
    pub resource_account: Option<(String, AccountSource)>,
    /// Whether the principal's and resource's accounts differ.
    pub cross_account: bool,
}

/// The services whose resources RCPs govern, as the AWS Organizations User Guide
/// ("Resource control policies (RCPs)", read 2026-11-29) lists them with certainty: Amazon
/// S3, AWS STS, AWS KMS, Amazon SQS and AWS Secrets Manager. An RCP level takes no part in
/// a request for another service. A service AWS adds later is missing here until this list
/// is updated: an RCP `Deny` for it is then not applied, so the answer errs towards `Allow`,
/// never towards a deny AWS would not make (`docs/semantics.md` §15).
pub const RCP_SERVICES: &[&str] = &["s3", "sts", "kms", "sqs", "secretsmanager"];

/// Do RCPs govern `action`'s service?
fn rcp_governs(action: &str) -> bool {
    let service = action.split(':').next().unwrap_or("");
    RCP_SERVICES.iter().any(|s| s.eq_ignore_ascii_case(service))
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// The account a set of organization levels is labelled with, if any.
fn level_account<'a>(
    levels: &'a [Level],
    kind: &'static str,
) -> Result<Option<&'a str>, AuthorizeError> {
    let mut found: Option<&str> = None;
    for l in levels {
        if is_account_id(&l.label) {
            match found {
                Some(first) if first != l.label => {
                    return Err(AuthorizeError::TwoAccounts {
                        kind,
                        first: first.to_string(),
                        second: l.label.clone(),
                    });
                }
                _ => found = Some(&l.label),
            }
        }
    }
    Ok(found)
}

impl Policies {
    /// Identity-based policies only (today's evaluation).
    pub fn identity_only(identity: PolicySet) -> Policies {
        Policies {
            identity,
            ..Policies::default()
        }
    }

    /// These policies with `extra`'s other types added (its identity-based policies are
    /// not used): resource-based policies and session policies join these, `extra`'s
    /// resource account and organization levels replace these, and a second permissions
    /// boundary is an error. Checked with [`Policies::validate`].
    pub fn with(self, extra: Policies) -> Result<Policies, AuthorizeError> {
        let first_name = |s: &PolicySet| {
            s.policies()
                .first()
                .map_or_else(String::new, |p| p.name.clone())
        };
        if let (Some(a), Some(b)) = (&self.boundary, &extra.boundary) {
            return Err(AuthorizeError::TwoBoundaries {
                first: first_name(a),
                second: first_name(b),
            });
        }
        let mut resource = self.resource;
        resource.extend(extra.resource);
        let session = match (self.session, extra.session) {
            (Some(a), Some(b)) => Some(PolicySet::new(
                a.policies().iter().chain(b.policies()).cloned().collect(),
            )),
            (a, b) => a.or(b),
        };
        let policies = Policies {
            identity: self.identity,
            resource,
            resource_account: extra.resource_account.or(self.resource_account),
            boundary: self.boundary.or(extra.boundary),
            session,
            scps: if extra.scps.is_empty() {
                self.scps
            } else {
                extra.scps
            },
            rcps: if extra.rcps.is_empty() {
                self.rcps
            } else {
                extra.rcps
            },
        };
        policies.validate()?;
        Ok(policies)
    }

    /// True when only identity-based policies are given.
    pub fn is_identity_only(&self) -> bool {
        self.resource.is_empty()
            && self.boundary.is_none()
            && self.session.is_none()
            && self.scps.is_empty()
            && self.rcps.is_empty()
    }

    /// The first policy type other than identity-based that is given.
    fn first_other_type(&self) -> Option<PolicyType> {
        [
            (!self.resource.is_empty(), PolicyType::Resource),
            (self.boundary.is_some(), PolicyType::Boundary),
            (self.session.is_some(), PolicyType::Session),
            (!self.scps.is_empty(), PolicyType::Scp),
            (!self.rcps.is_empty(), PolicyType::Rcp),
        ]
        .into_iter()
        .find_map(|(given, t)| given.then_some(t))
    }

    /// Check that the policies can be used together (organization labels), once.
    pub fn validate(&self) -> Result<(), AuthorizeError> {
        level_account(&self.scps, "SCP")?;
        level_account(&self.rcps, "RCP")?;
        if let Some(a) = &self.resource_account
            && !is_account_id(a)
        {
            return Err(AuthorizeError::BadAccount { given: a.clone() });
        }
        Ok(())
    }

    /// The resource's account for `request`: the ARN's, else the one given, else the
    /// principal's (`None` without a principal and without either).
    pub fn resource_account(
        &self,
        request: &Request,
    ) -> Result<Option<(String, AccountSource)>, AuthorizeError> {
        let found = self.resource_account_of(&request.resource, request.principal.as_ref())?;
        Ok(found.map(|(a, source)| (a.to_string(), source)))
    }

    /// [`Policies::resource_account`], borrowed from its sources.
    fn resource_account_of<'a>(
        &'a self,
        resource: &'a str,
        caller: Option<&'a Caller>,
    ) -> Result<Option<(&'a str, AccountSource)>, AuthorizeError> {
        let in_arn = crate::lang::arn::account_field(resource).filter(|a| !a.is_empty());
        match (in_arn, &self.resource_account) {
            (Some(a), Some(given)) if a != given => Err(AuthorizeError::AccountMismatch {
                resource: resource.to_string(),
                in_arn: a.to_string(),
                given: given.clone(),
            }),
            (Some(a), _) => Ok(Some((a, AccountSource::Arn))),
            (None, Some(given)) => Ok(Some((given, AccountSource::Given))),
            (None, None) => Ok(caller.map(|c| (c.account_id(), AccountSource::Principal))),
        }
    }

    /// Make `request` ready to be decided with these policies: the keys its principal
    /// determines (`aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalType`,
    /// `aws:userid`/`aws:username` where known) and `aws:ResourceAccount` are set, a
    /// context value that contradicts them is an error, and the principal learns whether
    /// a permissions boundary is attached. Call once per request, before
    /// [`Policies::authorize_into`].
    ///
    /// Cost: with a request buffer reused from request to request (its context's slots
    /// kept), no heap allocation unless a role path is read from `aws:PrincipalArn`.
    pub fn prepare(&self, request: &mut Request) -> Result<(), AuthorizeError> {
        let Request {
            resource,
            context,
            principal,
            ..
        } = request;
        let Some(caller) = principal.as_mut() else {
            return match self.first_other_type() {
                Some(policy_type) => Err(AuthorizeError::NoPrincipal { policy_type }),
                None => Ok(()),
            };
        };
        caller.set_bounded(self.boundary.is_some());
        if self.session.is_some() && !caller.kind().is_session() {
            return Err(AuthorizeError::NotASession {
                arn: caller.arn().to_string(),
                kind: match caller.kind() {
                    CallerKind::User => "an IAM user",
                    CallerKind::Account => "an account's root user",
                    CallerKind::AssumedRole
                    | CallerKind::FederatedUser
                    | CallerKind::WebIdentity => "not a session",
                },
            });
        }
        // A role with a path: its ARN may be given as aws:PrincipalArn.
        if let Some(given) = context.get(crate::lang::keys::PRINCIPAL_ARN)
            && let [one] = given
            && one != caller.principal_arn()
        {
            caller.set_role_path(one);
        }
        let caller = &*caller;
        for (key, value) in caller.context_key_values() {
            set_derived(context, key, value)?;
        }
        if let Some((account, _)) = self.resource_account_of(resource, Some(caller))? {
            const KEY: DerivedKey = DerivedKey::of(crate::lang::keys::RESOURCE_ACCOUNT);
            set_derived(context, KEY, account)?;
        }
        Ok(())
    }

    /// Decide `request` (prepared by [`Policies::prepare`]) with every policy type, writing
    /// each set's result into `scratch`.
    ///
    /// Cost: each policy set is decided once ([`PolicySet::evaluate_into`]); with a reused
    /// `scratch` no heap allocation is performed.
    pub fn authorize_into(
        &self,
        request: &Request,
        scratch: &mut Scratch,
    ) -> Result<Verdict, AuthorizeError> {
        request.validate()?;
        self.authorize_validated_into(request, scratch)
    }

    /// [`Policies::authorize_into`] of a request already validated
    /// ([`Request::validate`]): for a caller that has just validated it (the batch reader
    /// validates each line as it reads it), so that it is not validated twice.
    pub(crate) fn authorize_validated_into(
        &self,
        request: &Request,
        scratch: &mut Scratch,
    ) -> Result<Verdict, AuthorizeError> {
        scratch.used = 0;
        let caller = request.principal.as_ref();
        if caller.is_none()
            && let Some(policy_type) = self.first_other_type()
        {
            return Err(AuthorizeError::NoPrincipal { policy_type });
        }
        let principal_account = caller.map(|c| c.account_id());
        let resource_account = self
            .resource_account_of(&request.resource, caller)?
            .map(|(a, _)| a);
        self.decide_sets(request, scratch, resource_account)?;
        let kms = request
            .action
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("kms:"));
        let facts = Facts {
            cross_account: principal_account.is_some() && resource_account != principal_account,
            kms,
            caller: caller.map(|c| c.kind()),
        };
        Ok(combine(scratch.results(), facts))
    }

    /// Decide every policy set once, in flowchart order (the request is validated).
    fn decide_sets(
        &self,
        request: &Request,
        scratch: &mut Scratch,
        resource_account: Option<&str>,
    ) -> Result<(), AuthorizeError> {
        let caller = request.principal.as_ref();
        let principal_account = caller.map(|c| c.account_id());
        let key = &ActionKey::of(&request.action);
        let r = scratch.next(PolicyType::Identity, 0);
        r.decision = self
            .identity
            .evaluate_validated(request, key, &mut r.deciding, &mut None)?;
        if !self.scps.is_empty() {
            let scp_account = level_account(&self.scps, "SCP")?;
            for (i, level) in self.scps.iter().enumerate() {
                let r = scratch.next(PolicyType::Scp, i);
                r.applies = scp_account.is_none() || scp_account == principal_account;
                r.decision =
                    level
                        .set
                        .evaluate_validated(request, key, &mut r.deciding, &mut None)?;
            }
        }
        let rcp_account = match self.rcps.is_empty() {
            true => None,
            false => level_account(&self.rcps, "RCP")?,
        };
        for (i, level) in self.rcps.iter().enumerate() {
            let r = scratch.next(PolicyType::Rcp, i);
            r.applies = (rcp_account.is_none() || rcp_account == resource_account)
                && rcp_governs(&request.action);
            let d = level
                .set
                .evaluate_validated(request, key, &mut r.deciding, &mut None)?;
            // The implicit RCPFullAWSAccess allows everything a Deny does not deny.
            r.decision = match d {
                Decision::ExplicitDeny => Decision::ExplicitDeny,
                Decision::Allow | Decision::ImplicitDeny => Decision::Allow,
            };
        }
        for (i, policy) in self.resource.iter().enumerate() {
            let r = scratch.next(PolicyType::Resource, i);
            r.applies = policy.covers(&request.resource);
            // Only a resource-based policy's grant is reported (and read by the flowchart).
            r.decision =
                policy
                    .set
                    .evaluate_validated(request, key, &mut r.deciding, &mut r.grant)?;
            // `grant` (the strongest among the applying Allow statements) matters only when
            // the policy allows.
            if r.decision != Decision::Allow {
                r.grant = None;
            }
        }
        if let Some(set) = &self.boundary {
            let r = scratch.next(PolicyType::Boundary, 0);
            r.decision = set.evaluate_validated(request, key, &mut r.deciding, &mut None)?;
        }
        if let Some(set) = &self.session {
            let r = scratch.next(PolicyType::Session, 0);
            r.decision = set.evaluate_validated(request, key, &mut r.deciding, &mut None)?;
        }
        Ok(())
    }

    /// Decide `request` (prepared by [`Policies::prepare`]) and report every set's result
    /// and the deciding statements.
    pub fn authorize(&self, request: &Request) -> Result<Authorization, AuthorizeError> {
        let mut scratch = Scratch::default();
        let verdict = self.authorize_into(request, &mut scratch)?;
        let results = scratch.results().to_vec();
        let deciding = deciding_refs(&results, verdict);
        let resource_account = match request.principal {
            Some(_) => self.resource_account(request)?,
            None => None,
        };
        let cross_account = match (&request.principal, &resource_account) {
            (Some(c), Some((a, _))) => a != c.account_id(),
            _ => false,
        };
        Ok(Authorization {
            verdict,
            deciding,
            results,
            resource_account,
            cross_account,
        })
    }

    /// Every set's [`PolicySet::explain`] of `request`, in the order of [`Policies::sets`]
    /// (what `check --explain` prints beside [`Policies::authorize`]'s answer).
    pub fn explain(&self, request: &Request) -> Result<Vec<Explanation>, RequestError> {
        self.sets()
            .map(|(_, _, set)| set.explain(request))
            .collect()
    }

    /// The policy set a typed reference names.
    ///
    /// # Panics
    /// When the reference does not come from these policies.
    pub fn set(&self, policy_type: PolicyType, index: usize) -> &PolicySet {
        match policy_type {
            PolicyType::Identity => &self.identity,
            PolicyType::Resource => &self.resource[index].set,
            PolicyType::Boundary => self.boundary.as_ref().expect("a boundary"),
            PolicyType::Session => self.session.as_ref().expect("session policies"),
            PolicyType::Scp => &self.scps[index].set,
            PolicyType::Rcp => &self.rcps[index].set,
        }
    }

    /// `policies/x.json Statement[1] (Sid S3Private, Allow)`: a typed statement's label.
    pub fn label(&self, r: TypedRef) -> String {
        self.set(r.policy_type, r.index).label(r.statement)
    }

    /// Every policy set with its type and index, in flowchart order.
    pub fn sets(&self) -> impl Iterator<Item = (PolicyType, usize, &PolicySet)> {
        fn one(t: PolicyType, s: &PolicySet) -> (PolicyType, usize, &PolicySet) {
            (t, 0, s)
        }
        std::iter::once(one(PolicyType::Identity, &self.identity))
            .chain(
                self.scps
                    .iter()
                    .enumerate()
                    .map(|(i, l)| (PolicyType::Scp, i, &l.set)),
            )
            .chain(
                self.rcps
                    .iter()
                    .enumerate()
                    .map(|(i, l)| (PolicyType::Rcp, i, &l.set)),
            )
            .chain(
                self.resource
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (PolicyType::Resource, i, &p.set)),
            )
            .chain(
                self.boundary
                    .iter()
                    .map(move |s| one(PolicyType::Boundary, s)),
            )
            .chain(
                self.session
                    .iter()
                    .map(move |s| one(PolicyType::Session, s)),
            )
    }
}

/// Set a key the principal determines, refusing a context value that contradicts it.
fn set_derived(
    context: &mut crate::request::Context,
    key: DerivedKey,
    value: &str,
) -> Result<(), AuthorizeError> {
    match context.get_or_set_one_known(key.known, value) {
        Some([one]) if one == value => Ok(()),
        Some(given) => Err(AuthorizeError::KeyConflict {
            key: key.name,
            derived: value.to_string(),
            given: given.join(", "),
        }),
        None => Ok(()),
    }
}

/// The statements that decided, given every set's result and the verdict.
fn deciding_refs(results: &[SetResult], verdict: Verdict) -> Vec<TypedRef> {
    deciding(results, verdict).collect()
}

/// The statements that decided, given every set's result (e.g. [`Scratch::results`])
/// and the verdict: the `Deny`s for an explicit deny; for `Allow`, the allowing
/// statements of the types that were needed; none for an implicit deny. Allocates
/// nothing.
pub fn deciding(results: &[SetResult], verdict: Verdict) -> impl Iterator<Item = TypedRef> + '_ {
    fn typed(r: &SetResult) -> impl Iterator<Item = TypedRef> + '_ {
        r.deciding.iter().map(move |s| TypedRef {
            policy_type: r.policy_type,
            index: r.index,
            statement: *s,
        })
    }
    results
        .iter()
        .filter(|r| r.applies)
        .filter(move |r| match verdict.decision {
            Decision::ExplicitDeny => r.decision == Decision::ExplicitDeny,
            Decision::ImplicitDeny => false,
            Decision::Allow => {
                r.decision == Decision::Allow
                    && match r.policy_type {
                        // A resource policy's grant that decided alone excludes the identity side.
                        PolicyType::Identity | PolicyType::Boundary | PolicyType::Session => {
                            verdict.decided_by != PolicyType::Resource
                        }
                        PolicyType::Resource | PolicyType::Scp | PolicyType::Rcp => true,
                    }
            }
        })
        .flat_map(typed)
}

/// What the flowchart needs to know about the request besides the sets' results.
#[derive(Clone, Copy)]
struct Facts {
    /// The principal's and the resource's accounts differ.
    cross_account: bool,
    /// A KMS action: the key policy must allow even within the account.
    kms: bool,
    /// The kind of caller, when there is one.
    caller: Option<CallerKind>,
}

/// AWS's flowchart over the sets' own results.
fn combine(results: &[SetResult], facts: Facts) -> Verdict {
    let Facts {
        cross_account,
        kms,
        caller,
    } = facts;
    let verdict = |decision, decided_by, index| Verdict {
        decision,
        decided_by,
        index,
    };
    // One pass over the sets that take part.
    let mut org_denial: Option<(PolicyType, usize)> = None;
    let mut grant: Option<(Grant, usize)> = None;
    let mut first_resource: Option<usize> = None;
    let mut identity_allows = false;
    let mut limit: Option<PolicyType> = None;
    let mut session_given = false;
    for r in results.iter().filter(|r| r.applies) {
        // 1. An explicit deny anywhere.
        if r.decision == Decision::ExplicitDeny {
            return verdict(Decision::ExplicitDeny, r.policy_type, r.index);
        }
        let allows = r.decision == Decision::Allow;
        match r.policy_type {
            PolicyType::Identity => identity_allows |= allows,
            // 2-3. Every organization level must allow. RCP levels always do, through the
            // implicit RCPFullAWSAccess, so the first level that does not is an SCP level.
            PolicyType::Scp | PolicyType::Rcp => {
                if !allows && org_denial.is_none() {
                    org_denial = Some((r.policy_type, r.index));
                }
            }
            PolicyType::Resource => {
                first_resource.get_or_insert(r.index);
                if allows && let Some(g) = r.grant {
                    grant = grant.max(Some((g, r.index)));
                }
            }
            PolicyType::Boundary | PolicyType::Session => {
                session_given |= r.policy_type == PolicyType::Session;
                if !allows && limit.is_none() {
                    limit = Some(r.policy_type);
                }
            }
        }
    }
    if let Some((t, index)) = org_denial {
        return verdict(Decision::ImplicitDeny, t, index);
    }
    // 4. The resource-based policy: a direct grant within the account decides.
    if let Some((Grant::Direct, index)) = grant
        && !cross_account
    {
        return verdict(Decision::Allow, PolicyType::Resource, index);
    }
    // The resource side must allow across accounts, and for KMS keys with a key policy.
    if (cross_account || (kms && first_resource.is_some())) && grant.is_none() {
        return verdict(
            Decision::ImplicitDeny,
            PolicyType::Resource,
            first_resource.unwrap_or(0),
        );
    }
    // 5. Identity-based policies, or a same-account grant to the role. The account's root
    // user has full access in its own account (IAM User Guide, "How AWS enforcement code
    // logic evaluates requests").
    let identity_allows = identity_allows || caller == Some(CallerKind::Account);
    let role_grant = match grant {
        Some((Grant::Role, index)) if !cross_account => Some(index),
        _ => None,
    };
    if !identity_allows && role_grant.is_none() {
        return verdict(Decision::ImplicitDeny, PolicyType::Identity, 0);
    }
    // 6-7. The boundary and the session policies limit what the identity side grants.
    if let Some(t) = limit {
        return verdict(Decision::ImplicitDeny, t, 0);
    }
    // A federated user session without session policies has no permissions of its own
    // (AWS STS API Reference, GetFederationToken).
    if caller == Some(CallerKind::FederatedUser) && !session_given {
        return verdict(Decision::ImplicitDeny, PolicyType::Session, 0);
    }
    // A same-account grant to the role decides on its own (the identity side may allow
    // too); otherwise the identity side decides.
    match role_grant {
        Some(index) => verdict(Decision::Allow, PolicyType::Resource, index),
        None => verdict(Decision::Allow, PolicyType::Identity, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::model::PolicyKind;
    use crate::lang::parse::parse_policy_as;
    use crate::lang::principal::Caller;

    fn set(kind: PolicyKind, docs: &[&str]) -> PolicySet {
        PolicySet::new(
            docs.iter()
                .enumerate()
                .map(|(i, d)| parse_policy_as(&format!("p{i}.json"), d.as_bytes(), kind).unwrap())
                .collect(),
        )
    }

    const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/Auth/CognitoIdentityCredentials";
    const OBJECT: &str = "arn:aws:s3:::notes/private/a/x";

    fn request(principal: &str, resource: &str) -> Request {
        let mut r = Request::new("s3:GetObject", resource);
        r.principal = Some(Caller::parse(principal).unwrap());
        r
    }

    fn decide(p: &Policies, mut r: Request) -> (Decision, PolicyType) {
        p.prepare(&mut r).unwrap();
        let v = p.authorize(&r).unwrap().verdict;
        (v.decision, v.decided_by)
    }

    fn bucket_policy(principal: &str, effect: &str) -> ScopedPolicy {
        ScopedPolicy {
            resource: Some("arn:aws:s3:::notes".to_string()),
            set: set(
                PolicyKind::Resource,
                &[&format!(
                    r#"{{"Version":"2012-10-17","Statement":{{"Effect":"{effect}","Principal":{principal},"Action":"s3:GetObject","Resource":"arn:aws:s3:::notes/*"}}}}"#
                )],
            ),
        }
    }

    #[test]
    fn same_account_grants_by_principal_form() {
        let deny_all = set(
            PolicyKind::Identity,
            &[
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sqs:*","Resource":"*"}}"#,
            ],
        );
        let boundary = Some(set(
            PolicyKind::Identity,
            &[
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sqs:*","Resource":"*"}}"#,
            ],
        ));
        let cases = [
            (r#""*""#, Decision::Allow, PolicyType::Resource),
            (
                &format!(r#"{{"AWS":"{SESSION}"}}"#),
                Decision::Allow,
                PolicyType::Resource,
            ),
            (
                r#"{"AWS":"arn:aws:iam::111122223333:role/Auth"}"#,
                Decision::ImplicitDeny,
                PolicyType::Boundary,
            ),
            (
                r#"{"AWS":"111122223333"}"#,
                Decision::ImplicitDeny,
                PolicyType::Identity,
            ),
        ];
        for (principal, decision, by) in cases {
            let p = Policies {
                identity: deny_all.clone(),
                resource: vec![bucket_policy(principal, "Allow")],
                boundary: boundary.clone(),
                ..Policies::default()
            };
            assert_eq!(
                decide(&p, request(SESSION, OBJECT)),
                (decision, by),
                "{principal}"
            );
        }
        // Without the boundary, the role ARN grant stands for the identity policy.
        let p = Policies {
            identity: deny_all,
            resource: vec![bucket_policy(
                r#"{"AWS":"arn:aws:iam::111122223333:role/Auth"}"#,
                "Allow",
            )],
            ..Policies::default()
        };
        assert_eq!(
            decide(&p, request(SESSION, OBJECT)),
            (Decision::Allow, PolicyType::Resource)
        );
        // Another bucket's policy does not apply.
        assert_eq!(
            decide(&p, request(SESSION, "arn:aws:s3:::other/private/a/x")),
            (Decision::ImplicitDeny, PolicyType::Identity)
        );
    }

    #[test]
    fn cross_account_needs_both_sides() {
        let allow = set(
            PolicyKind::Identity,
            &[
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
            ],
        );
        let p = Policies {
            identity: allow.clone(),
            resource_account: Some("444455556666".to_string()),
            resource: vec![bucket_policy(r#"{"AWS":"111122223333"}"#, "Allow")],
            ..Policies::default()
        };
        assert_eq!(
            decide(&p, request(SESSION, OBJECT)),
            (Decision::Allow, PolicyType::Identity)
        );
        let p = Policies {
            identity: PolicySet::default(),
            ..p
        };
        assert_eq!(
            decide(&p, request(SESSION, OBJECT)),
            (Decision::ImplicitDeny, PolicyType::Identity)
        );
        let p = Policies {
            identity: allow,
            resource: Vec::new(),
            resource_account: Some("444455556666".to_string()),
            ..Policies::default()
        };
        assert_eq!(
            decide(&p, request(SESSION, OBJECT)),
            (Decision::ImplicitDeny, PolicyType::Resource)
        );
    }

    #[test]
    fn organization_levels_and_denies() {
        let allow = set(
            PolicyKind::Identity,
            &[
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
            ],
        );
        let only_sqs = set(
            PolicyKind::Identity,
            &[
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sqs:*","Resource":"*"}}"#,
            ],
        );
        let p = Policies {
            identity: allow.clone(),
            scps: vec![
                Level {
                    label: "root".into(),
                    set: allow.clone(),
                },
                Level {
                    label: "ou".into(),
                    set: only_sqs.clone(),
                },
            ],
            ..Policies::default()
        };
        let mut scratch = Scratch::default();
        let mut r = request(SESSION, OBJECT);
        p.prepare(&mut r).unwrap();
        let v = p.authorize_into(&r, &mut scratch).unwrap();
        assert_eq!(
            (v.decision, v.decided_by, v.index),
            (Decision::ImplicitDeny, PolicyType::Scp, 1)
        );
        // An SCP path of another account does not apply to this principal.
        let p = Policies {
            scps: vec![Level {
                label: "444455556666".into(),
                set: only_sqs,
            }],
            ..p
        };
        assert_eq!(
            decide(&p, request(SESSION, OBJECT)),
            (Decision::Allow, PolicyType::Identity)
        );
        // RCP levels allow unless they deny; a Deny anywhere decides.
        let deny = set(
            PolicyKind::Resource,
            &[
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}}"#,
            ],
        );
        let p = Policies {
            identity: allow,
            rcps: vec![Level {
                label: "root".into(),
                set: deny,
            }],
            ..Policies::default()
        };
        assert_eq!(
            decide(&p, request(SESSION, OBJECT)),
            (Decision::ExplicitDeny, PolicyType::Rcp)
        );
        // An RCP level names principals too (an explicit RCPFullAWSAccess): its result
        // reports no grant, which only a resource-based policy has.
        let full = set(
            PolicyKind::Rcp,
            &[
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}"#,
            ],
        );
        let p = Policies {
            rcps: vec![Level {
                label: "root".into(),
                set: full,
            }],
            ..p
        };
        let mut r = request(SESSION, OBJECT);
        p.prepare(&mut r).unwrap();
        let mut scratch = Scratch::default();
        let v = p.authorize_into(&r, &mut scratch).unwrap();
        assert_eq!(v.decision, Decision::Allow);
        let rcp = &scratch.results()[1];
        assert_eq!(
            (rcp.policy_type, rcp.decision, rcp.grant),
            (PolicyType::Rcp, Decision::Allow, None)
        );
    }

    #[test]
    fn principal_is_required_and_checked() {
        let p = Policies {
            resource: vec![bucket_policy(r#""*""#, "Allow")],
            ..Policies::default()
        };
        let mut r = Request::new("s3:GetObject", OBJECT);
        assert_eq!(
            p.prepare(&mut r).unwrap_err().to_string(),
            "a resource policy is given, so the request needs its principal (the caller's ARN)"
        );
        let p = Policies {
            session: Some(PolicySet::default()),
            ..Policies::default()
        };
        let mut r = request("arn:aws:iam::111122223333:user/alice", OBJECT);
        assert_eq!(
            p.prepare(&mut r).unwrap_err().to_string(),
            "session policies apply only to role and federated user sessions; the principal \"arn:aws:iam::111122223333:user/alice\" is an IAM user"
        );
        let mut r = request(SESSION, OBJECT);
        r.context
            .add("aws:principalarn", "arn:aws:iam::111122223333:role/Other");
        assert!(matches!(
            Policies::default().prepare(&mut r),
            Err(AuthorizeError::KeyConflict { .. })
        ));
    }
}

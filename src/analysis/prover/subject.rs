//! Who the attacker is and which policies speak for it: every policy type AWS evaluates
//! ([`Policies`]), and the principal whose session carries the identities (the Cognito
//! role session). This module says which statements can grant on their own (identity
//! `Allow`s, resource-policy `Allow`s that name the principal), which organization levels
//! take part for an area, and what each level that must also allow (boundary, session
//! policies, SCP levels) lets through. The rules are those of [`crate::eval::authorize`];
//! what the prover assumes for each type is in `docs/prover.md`.

use crate::analysis::actions::{ActionSearch, covered, find_action, may_act_on, of_service};
use crate::analysis::confirm::{ContextMap, decide, plausible_context_for};
use crate::analysis::glob::{Class, Elem, Glob};
use crate::analysis::translate::{Variables, arn_glob, mentions_identity};
use crate::eval::authorize::{Policies, PolicyType, Scratch, TypedRef};
use crate::eval::{Decision, PolicySet, StatementRef};
use crate::lang::model::{Effect, ResourceSpec, Statement};
use crate::lang::principal::{Caller, CallerKind, Grant};
use crate::request::Request;

use super::area::Area;

/// How a statement's `Allow` reaches the attacker, which decides the other policies that
/// must allow too (`docs/semantics.md` §15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// An identity-based `Allow`: limited by the boundary, the session policies and the
    /// SCPs.
    Identity,
    /// A resource-policy `Allow` naming the principal's role: stands for the identity
    /// policy within the account, limited as it is.
    Role,
    /// A resource-policy `Allow` naming the principal directly (`"*"`, its own ARN):
    /// within the account, limited only by the SCPs.
    Direct,
}

/// A statement that may grant on its own, and how.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Grantor {
    /// The `Allow` statement.
    pub r: TypedRef,
    /// How it reaches the attacker.
    pub route: Route,
}

/// The attacker's policies and principal.
pub(crate) struct Subject<'a> {
    /// Every policy.
    pub policies: &'a Policies,
    /// The principal (with whether a boundary is attached); `None` for identity-based
    /// policies alone.
    pub caller: Option<Caller>,
    /// When the attacker's session credentials were issued (`aws:TokenIssueTime` of a
    /// session): the time of the requests.
    pub now: jiff::Timestamp,
}

/// Which organization levels take part in requests on one area (as the evaluator decides
/// for a request on it).
#[derive(Debug, Clone, Default)]
pub(crate) struct Applying {
    /// By SCP level.
    pub scps: Vec<bool>,
    /// By RCP level.
    pub rcps: Vec<bool>,
}

impl<'a> Subject<'a> {
    /// The subject of `policies` for `principal`.
    pub fn new(
        policies: &'a Policies,
        principal: Option<&Caller>,
        now: jiff::Timestamp,
    ) -> Subject<'a> {
        let caller = principal.map(|c| {
            let mut c = c.clone();
            c.set_bounded(policies.boundary.is_some());
            c
        });
        Subject {
            policies,
            caller,
            now,
        }
    }

    /// The statement a typed reference names.
    pub fn statement(&self, r: TypedRef) -> &'a Statement {
        let policies: &'a Policies = self.policies;
        policies.set(r.policy_type, r.index).statement(r.statement)
    }

    /// How proofs name a statement: the identity-based policies' as `check` does, the
    /// others with their policy type first (`resource policy bucket.json Statement[0] ...`).
    pub fn label(&self, r: TypedRef) -> String {
        typed_label(self.policies, r)
    }

    /// Does the statement's `Principal`/`NotPrincipal` cover the attacker?
    pub fn names_attacker(&self, st: &Statement) -> bool {
        st.matches_principal(self.caller.as_ref())
    }

    /// Every statement that may grant on its own: the identity-based `Allow`s, then the
    /// resource-policy `Allow`s whose `Principal` names the attacker directly or by its
    /// role (one naming only the account delegates to the identity side, which the
    /// identity `Allow`s already stand for).
    pub fn grantors(&self) -> Vec<Grantor> {
        let typed = |policy_type, index, statement: StatementRef| TypedRef {
            policy_type,
            index,
            statement,
        };
        let mut out: Vec<Grantor> = self
            .policies
            .identity
            .refs_with_effect(Effect::Allow)
            .map(|s| Grantor {
                r: typed(PolicyType::Identity, 0, s),
                route: Route::Identity,
            })
            .collect();
        let Some(caller) = &self.caller else {
            return out;
        };
        for (i, p) in self.policies.resource.iter().enumerate() {
            for s in p.set.refs_with_effect(Effect::Allow) {
                let grant = p
                    .set
                    .statement(s)
                    .principal
                    .as_ref()
                    .and_then(|pr| caller.grant(pr));
                let route = match grant {
                    Some(Grant::Direct) => Route::Direct,
                    Some(Grant::Role) => Route::Role,
                    Some(Grant::Account) | None => continue,
                };
                out.push(Grantor {
                    r: typed(PolicyType::Resource, i, s),
                    route,
                });
            }
        }
        out
    }

    /// The resource a resource-based policy is for (its statements without `Resource`
    /// cover it, and its `Deny`s deny only there); `None` for every other policy type.
    pub fn scope(&self, policy_type: PolicyType, index: usize) -> Option<&'a str> {
        let policies: &'a Policies = self.policies;
        match policy_type {
            PolicyType::Resource => policies.resource[index].resource.as_deref(),
            PolicyType::Identity
            | PolicyType::Boundary
            | PolicyType::Session
            | PolicyType::Scp
            | PolicyType::Rcp => None,
        }
    }

    /// The request context under which `st` plausibly holds for `identity`.
    pub fn context(&self, st: &Statement, identity: &str) -> ContextMap {
        plausible_context_for(st, identity, self.caller.as_ref(), self.now)
    }

    /// The evaluator's decision on `identity`'s request for `action` on `resource`.
    pub fn decide(
        &self,
        action: &str,
        resource: &str,
        identity: &str,
        ctx: &ContextMap,
        now: jiff::Timestamp,
    ) -> Option<Decision> {
        decide(
            self.policies,
            self.caller.as_ref(),
            [action, resource],
            identity,
            ctx,
            now,
        )
    }

    /// Is every resource of `area` certainly in another account than the principal's?
    /// Then a resource-policy grant is not enough on its own.
    pub fn cross_account(&self, area: &Area) -> bool {
        let Some(caller) = &self.caller else {
            return false;
        };
        let account = match area.account.as_deref() {
            None => return false,
            Some("") => match &self.policies.resource_account {
                Some(given) => given.as_str(),
                None => return false,
            },
            Some(a) => a,
        };
        account != caller.account_id()
    }

    /// Which SCP and RCP levels take part in requests on `area`, as the evaluator
    /// decides for one of them. A level is counted only when the answer cannot depend on
    /// the resource within the area: the area's service is plain text and its account is
    /// plain text (or absent); otherwise no level is counted (its `Deny`s are then not
    /// used and its `Allow`s do not narrow the search, which only widens it).
    pub fn applying(&self, area: &Area) -> Applying {
        let none = Applying {
            scps: vec![false; self.policies.scps.len()],
            rcps: vec![false; self.policies.rcps.len()],
        };
        let (Some(caller), Some(service), Some(_)) = (&self.caller, &area.service, &area.account)
        else {
            return none;
        };
        let catalog = crate::catalog::catalog();
        let action = catalog
            .service(service)
            .and_then(|s| {
                s.actions
                    .first()
                    .map(|a| format!("{}:{}", s.prefix, a.name))
            })
            .unwrap_or_else(|| format!("{service}:Any"));
        let mut request = Request::new(action, area.example("x"));
        request.principal = Some(caller.clone());
        let mut scratch = Scratch::default();
        if self.policies.prepare(&mut request).is_err()
            || self
                .policies
                .authorize_into(&request, &mut scratch)
                .is_err()
        {
            return none;
        }
        let mut out = none;
        for r in scratch.results() {
            let slot = match r.policy_type {
                PolicyType::Scp => out.scps.get_mut(r.index),
                PolicyType::Rcp => out.rcps.get_mut(r.index),
                PolicyType::Identity
                | PolicyType::Resource
                | PolicyType::Boundary
                | PolicyType::Session => None,
            };
            if let Some(slot) = slot {
                *slot = r.applies;
            }
        }
        out
    }

    /// The levels that must also allow what `grantor` allows on `area`: the boundary and
    /// the session policies for the identity side, and every SCP level that takes part.
    pub fn limiting_levels(&self, route: Route, applying: &Applying) -> Vec<(PolicyType, usize)> {
        let mut out = Vec::new();
        match route {
            Route::Identity | Route::Role => {
                if self.policies.boundary.is_some() {
                    out.push((PolicyType::Boundary, 0));
                }
                if self.policies.session.is_some() {
                    out.push((PolicyType::Session, 0));
                }
            }
            Route::Direct => {}
        }
        out.extend(
            (0..self.policies.scps.len())
                .filter(|&i| applying.scps[i])
                .map(|i| (PolicyType::Scp, i)),
        );
        out
    }

    /// What the level `(policy_type, index)` can let through for `allow` on a resource of
    /// `service`: the resource patterns of its `Allow` statements that name the attacker
    /// and may share an action of `service` with `allow` (conditions taken as
    /// satisfiable: only a widening). A request the level allows is on a resource one of
    /// them matches. `None` when the level does not narrow anything (an `Allow` with
    /// `NotResource` or without `Resource`); an empty list when it allows none of these
    /// actions.
    pub fn level_allows(
        &self,
        (policy_type, index): (PolicyType, usize),
        allow: &Statement,
        service: Option<&str>,
    ) -> Option<Vec<LevelPattern>> {
        let set = self.policies.set(policy_type, index);
        self.allows_of([(set, None)], allow, service)
    }

    /// Across accounts, what the resource side can let through for `allow` on a resource
    /// of `service`, as [`Subject::level_allows`] for the `Allow`s of every resource
    /// policy that name the attacker in any way (each policy's resource is not used to
    /// narrow further: a widening).
    pub fn resource_side_allows(
        &self,
        allow: &Statement,
        service: Option<&str>,
    ) -> Option<Vec<LevelPattern>> {
        let sets = self
            .policies
            .resource
            .iter()
            .map(|p| (&p.set, p.resource.as_deref()));
        self.allows_of(sets, allow, service)
    }

    fn allows_of<'s>(
        &self,
        sets: impl IntoIterator<Item = (&'s PolicySet, Option<&'s str>)>,
        allow: &Statement,
        service: Option<&str>,
    ) -> Option<Vec<LevelPattern>> {
        let mut out = Vec::new();
        for (set, scope) in sets {
            for r in set.refs_with_effect(Effect::Allow) {
                let st = set.statement(r);
                if !self.names_attacker(st) || !may_share_action(allow, st, service) {
                    continue;
                }
                match (&st.resource, scope) {
                    (Some(ResourceSpec::Resource(ps)), _) => {
                        out.extend(
                            ps.iter().map(|p| LevelPattern {
                                widened: arn_glob(p, &Variables::Widen),
                                tracked: mentions_identity(p)
                                    .then(|| arn_glob(p, &Variables::TrackIdentity)),
                            }),
                        );
                    }
                    // A resource policy's statement without `Resource`: its resource.
                    (None, Some(scope)) => {
                        out.extend(scope_globs(scope).into_iter().map(|g| LevelPattern {
                            widened: g,
                            tracked: None,
                        }));
                    }
                    (Some(ResourceSpec::NotResource(_)), _) | (None, None) => return None,
                }
            }
        }
        Some(out)
    }
}

/// One resource pattern of a limiting level's `Allow`.
#[derive(Debug, Clone)]
pub(crate) struct LevelPattern {
    /// Every variable reading anything: what it matches for some value of each.
    pub widened: Glob,
    /// For a pattern with the identity variable: the identity as the slot (the attacker's
    /// own identity, as the evaluator reads it), other variables reading anything.
    pub tracked: Option<Glob>,
}

/// Could one action of `service` (when known) be covered by both statements? Only a
/// proof that none can answers `false`.
fn may_share_action(a: &Statement, b: &Statement, service: Option<&str>) -> bool {
    if let Some(s) = service
        && !may_act_on(b, s)
    {
        return false;
    }
    let mut needs = vec![covered(a), covered(b)];
    needs.extend(service.map(of_service));
    find_action(&needs) != ActionSearch::Empty
}

/// `resource policy bucket.json Statement[0] (Allow)`: an identity-based statement as
/// `check` names it, any other with its policy type first.
pub(crate) fn typed_label(policies: &Policies, r: TypedRef) -> String {
    let label = policies.label(r);
    match r.policy_type {
        PolicyType::Identity => label,
        PolicyType::Resource
        | PolicyType::Boundary
        | PolicyType::Session
        | PolicyType::Scp
        | PolicyType::Rcp => format!("{} policy {label}", r.policy_type.as_str()),
    }
}

/// The resources a resource policy for `scope` covers: the ARN itself and every ARN under
/// it (`scope/...`).
pub(crate) fn scope_globs(scope: &str) -> Vec<Glob> {
    let mut under = Glob::literal(scope);
    under.0.extend([Elem::Byte(b'/'), Elem::Star(Class::All)]);
    vec![Glob::literal(scope), under]
}

/// Is the principal the account's root user? Its identity side allows everything in its
/// account, which no statement shows.
pub(crate) fn is_root(caller: Option<&Caller>) -> bool {
    caller.is_some_and(|c| c.kind() == CallerKind::Account)
}

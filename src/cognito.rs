//! The whole Cognito identity-pool flow, decided as AWS does it end to end (Amazon Cognito
//! Developer Guide, "Identity pools authentication flow" and "Role trust and permissions"):
//!
//! 1. **identity pool**: an unauthenticated identity gets credentials only when the pool
//!    sets `AllowUnauthenticatedIdentities: true`;
//! 2. **role attachment**: the `AWS::Cognito::IdentityPoolRoleAttachment` of the pool names
//!    the role for the authenticated or unauthenticated case;
//! 3. **trust policy**: the role's `AssumeRolePolicyDocument` must allow
//!    `sts:AssumeRoleWithWebIdentity` for the principal `cognito-identity.amazonaws.com`
//!    with the token's `cognito-identity.amazonaws.com:aud` (the pool id) and
//!    `cognito-identity.amazonaws.com:amr` (`authenticated` or `unauthenticated`);
//! 4. **permissions**: the role's policies decide the request, with the identity's keys
//!    (`:sub`, `:aud`, `:amr`) in the request context.
//!
//! The first step that fails denies the request, and the result names it.

use std::ops::ControlFlow;
use std::path::Path;

pub mod roles;

use crate::eval::authorize::{Authorization, AuthorizeError, Policies};
use crate::eval::{Decision, Explanation, PolicySet};
use crate::lang::keys::{COGNITO_SUB, CURRENT_TIME, EPOCH_TIME};
use crate::managed::{Claim, Given, NotSeen};
use crate::request::{Caller, Context, Request, RequestError};
use crate::root::Root;
use crate::template::node::{Kind, Node};
use crate::template::{Template, TemplateError, get_att_target, is_no_value, ref_target};

/// The token keys Cognito puts in the web identity session.
pub const AUD: &str = "cognito-identity.amazonaws.com:aud";
/// `authenticated` or `unauthenticated` (plus the login providers, when authenticated).
pub const AMR: &str = "cognito-identity.amazonaws.com:amr";

/// The four steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The identity pool issues credentials to this kind of identity.
    IdentityPool,
    /// The pool's role attachment names a role for it.
    RoleAttachment,
    /// The role's trust policy lets Cognito's web identity assume it.
    TrustPolicy,
    /// The role's permission policies decide the request.
    Permissions,
}

impl Step {
    /// `identity-pool`, `role-attachment`, `trust-policy`, `permissions`.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::IdentityPool => "identity-pool",
            Step::RoleAttachment => "role-attachment",
            Step::TrustPolicy => "trust-policy",
            Step::Permissions => "permissions",
        }
    }
}

/// What one step found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepResult {
    /// Which step.
    pub step: Step,
    /// Whether the flow goes on after it.
    pub passed: bool,
    /// A sentence saying what was checked and found.
    pub detail: String,
}

/// The request to simulate.
#[derive(Debug, Clone)]
pub struct FlowRequest {
    /// The Cognito identity id.
    pub identity: String,
    /// Whether the identity signed in through a login provider.
    pub authenticated: bool,
    /// The request made with the identity's credentials. Keys given in its context that
    /// start with `cognito-identity.amazonaws.com:` replace the token's own (e.g. to
    /// simulate a token without `amr`, set it to no values). Its principal, when set,
    /// replaces the default: the role session Cognito creates
    /// (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/CognitoIdentityCredentials`).
    pub request: Request,
    /// Policy types given besides the template's (its identity-based policies are not
    /// used): resource-based policies, a boundary, session policies, SCP and RCP levels.
    /// They join the template's bucket and API policies and the role's boundary.
    pub extra: Policies,
}

/// The outcome of the flow.
#[derive(Debug)]
pub struct FlowOutcome {
    /// The final decision: the permissions' decision, or ImplicitDeny when an earlier
    /// step failed (no credentials, so no allow).
    pub decision: Decision,
    /// The steps run, in order; the last one failed unless the decision is Allow.
    pub steps: Vec<StepResult>,
    /// The policies and explanation of the last policy step run (trust, or the role's
    /// identity-based policies at the permissions step).
    pub explanation: Option<(PolicySet, Request, Explanation)>,
    /// At the permissions step: every policy type and their combined decision (the
    /// outcome's decision), for the request as made by the role session.
    pub authorization: Option<Box<FlowAuthorization>>,
    /// Things the simulation left out (e.g. `RoleMappings` rules).
    pub warnings: Vec<String>,
}

/// The permissions step's decision with every policy type.
#[derive(Debug)]
pub struct FlowAuthorization {
    /// Every policy type taking part.
    pub policies: Policies,
    /// The request as made by the role session (principal and token keys set).
    pub request: Request,
    /// The combined decision.
    pub authorization: Authorization,
    /// Each policy set's explanation, in [`Policies::sets`] order.
    pub explanations: Vec<Explanation>,
}

/// True when the template has an identity pool: `check --template` then runs the flow.
pub fn has_identity_pool(t: &Template) -> bool {
    t.resources_of_type("AWS::Cognito::IdentityPool")
        .next()
        .is_some()
}

/// How `check` decides a request on a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckMode {
    /// The whole Cognito flow, for this identity.
    Flow(FlowIdentity),
    /// The role's permission policies alone.
    Role,
}

/// The identity the flow runs for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowIdentity {
    /// The Cognito identity id.
    pub identity: String,
    /// Whether it signed in through a login provider.
    pub authenticated: bool,
}

impl FlowIdentity {
    /// The flow for `request`, made with this identity's credentials.
    pub fn request(self, request: Request) -> FlowRequest {
        FlowRequest {
            identity: self.identity,
            authenticated: self.authenticated,
            request,
            extra: Policies::default(),
        }
    }
}

/// How a request on `t` is decided: the flow runs when the template has an identity pool,
/// no role is named and the request is a single one (not a batch); it needs an identity.
/// An unauthenticated identity needs the flow.
pub fn check_mode(
    t: &Template,
    role: Option<&str>,
    batch: bool,
    identity: Option<&str>,
    authenticated: bool,
) -> Result<CheckMode, FlowError> {
    if !batch && role.is_none() && has_identity_pool(t) {
        return match identity {
            Some(identity) => Ok(CheckMode::Flow(FlowIdentity {
                identity: identity.to_string(),
                authenticated,
            })),
            None => Err(FlowError::NoIdentity),
        };
    }
    if !authenticated {
        return Err(FlowError::UnauthenticatedWithoutFlow);
    }
    Ok(CheckMode::Role)
}

/// Run the flow for `req` on the template's identity pool: each step in turn, up to the
/// first that fails.
///
/// `now` is the time the token is presented when the request names none (`aws:CurrentTime`,
/// `aws:EpochTime`): the library never reads the clock itself.
pub fn simulate(
    t: &Template,
    req: &FlowRequest,
    now: jiff::Timestamp,
) -> Result<FlowOutcome, FlowError> {
    let root = Root::discover(Path::new(&*t.file));
    simulate_with(t, req, &root, &Given::none(), now)
}

/// [`simulate`], with the documents of managed policies the role names by ARN. A flow
/// that reaches the permissions step while a policy of the role is unseen is an error
/// ([`FlowError::NotSeen`]): its decision could be wrong either way. Given documents are
/// read inside `root`.
pub fn simulate_with(
    t: &Template,
    req: &FlowRequest,
    root: &Root,
    given: &Given,
    now: jiff::Timestamp,
) -> Result<FlowOutcome, FlowError> {
    let (bound, standins) = bind_pool_ids(t);
    let t = &bound;
    let mut run = Run {
        t,
        standins,
        req,
        root,
        given,
        now,
        kind: if req.authenticated {
            "authenticated"
        } else {
            "unauthenticated"
        },
        steps: Vec::new(),
        warnings: Vec::new(),
    };
    let pool = match run.identity_pool()? {
        ControlFlow::Continue(pool) => pool,
        ControlFlow::Break(denied) => return Ok(denied),
    };
    let role = match run.role_attachment(&pool)? {
        ControlFlow::Continue(role) => role,
        ControlFlow::Break(denied) => return Ok(denied),
    };
    let token = match run.trust_policy(&pool, &role)? {
        ControlFlow::Continue(token) => token,
        ControlFlow::Break(denied) => return Ok(denied),
    };
    run.permissions(&role, &token)
}

/// The identity pool found by the first step.
struct Pool<'t> {
    /// Its logical id.
    logical: &'t str,
    /// Its resource.
    node: &'t Node,
    /// Its id (what `Ref` gives).
    id: String,
}

/// The id an identity pool of the template stands for when no `--param` gives it:
/// `REGION:` and this text, in the form of the ids Cognito assigns.
pub const POOL_ID_STANDIN: &str = "00000000-0000-0000-0000-000000000000";

/// The template with the id of each of its identity pools bound: the token's `aud` is the
/// id of the pool that issues it, whatever id AWS assigns, so `Ref Pool` and
/// `!GetAtt Pool.Id` stand for one value everywhere (the trust policy's `aud` condition,
/// the role attachment, the token): the one given (`--param Pool=ID` or
/// `--param Pool.Id=ID`), else `REGION:` + [`POOL_ID_STANDIN`]. Also the logical ids of
/// the pools that got the stand-in.
fn bind_pool_ids(t: &Template) -> (Template, Vec<String>) {
    let mut bound = t.clone();
    let mut standins = Vec::new();
    let region = t.params.get("AWS::Region").unwrap_or(&t.region).to_string();
    for (pool, node) in t.resources_of_type("AWS::Cognito::IdentityPool") {
        let id_attr = format!("{pool}.Id");
        let id = match (t.params.resolve(pool), t.params.resolve(&id_attr)) {
            (Some(id), _) | (None, Some(id)) => id.to_string(),
            // An id the input itself knows (a Terraform state, a parameter's default)
            // is the pool's id.
            (None, None) => match t.resolve_node(&ref_node(pool, node)) {
                Ok(serde_json::Value::String(id)) if !id.is_empty() => id,
                _ => {
                    standins.push(pool.to_string());
                    format!("{region}:{POOL_ID_STANDIN}")
                }
            },
        };
        bound.params.bind(pool, &id);
        bound.params.bind(&id_attr, &id);
    }
    (bound, standins)
}

/// A flow being run: the steps so far and the warnings.
struct Run<'t> {
    t: &'t Template,
    /// The identity pools whose id is a stand-in (see [`bind_pool_ids`]).
    standins: Vec<String>,
    req: &'t FlowRequest,
    /// Documents of managed policies named by ARN.
    root: &'t Root,
    given: &'t Given,
    /// The time of the token when the request names none.
    now: jiff::Timestamp,
    /// `authenticated` or `unauthenticated`.
    kind: &'static str,
    steps: Vec<StepResult>,
    warnings: Vec<String>,
}

/// What a step gives the next one, or the outcome when it denied.
type StepOutcome<T> = Result<ControlFlow<FlowOutcome, T>, FlowError>;

impl<'t> Run<'t> {
    fn pass(&mut self, step: Step, detail: String) {
        self.steps.push(StepResult {
            step,
            passed: true,
            detail,
        });
    }

    /// Record the failed step and end the flow.
    fn deny<T>(&mut self, step: Step, detail: String) -> StepOutcome<T> {
        self.steps.push(StepResult {
            step,
            passed: false,
            detail,
        });
        Ok(ControlFlow::Break(FlowOutcome {
            decision: Decision::ImplicitDeny,
            steps: std::mem::take(&mut self.steps),
            explanation: None,
            authorization: None,
            warnings: std::mem::take(&mut self.warnings),
        }))
    }

    /// Step 1: the identity pool issues credentials to this kind of identity.
    fn identity_pool(&mut self) -> StepOutcome<Pool<'t>> {
        let t = self.t;
        let authenticated = self.req.authenticated;
        let (pool, pool_node) = match single_pool(t)? {
            Ok(one) => one,
            Err(names) => {
                return self.deny(
                    Step::IdentityPool,
                    format!(
                        "identity pool {} is not created (its Condition is false), so no identity gets credentials",
                        names.join(", ")
                    ),
                );
            }
        };
        preflight(t, pool, pool_node, true)?;
        let allow_unauth = allows_unauthenticated(t, pool, pool_node)?;
        let pool_id = match t.resolve_node(&ref_node(pool, pool_node))? {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        if !authenticated && !allow_unauth {
            return self.deny(
                Step::IdentityPool,
                format!(
                    "identity pool {pool} has AllowUnauthenticatedIdentities: false, so an unauthenticated identity gets no credentials"
                ),
            );
        }
        if authenticated && !has_login_provider(t, pool_node)? {
            return self.deny(
                Step::IdentityPool,
                format!(
                    "identity pool {pool} has no login provider ({}), so no identity can authenticate",
                    LOGIN_PROPERTIES.join(", ")
                ),
            );
        }
        let id = if self.standins.iter().any(|p| p == pool) {
            format!(
                "{pool_id}, standing for the id AWS assigns: every Ref to the pool and the token's aud use it"
            )
        } else {
            pool_id.clone()
        };
        self.pass(
            Step::IdentityPool,
            format!(
                "identity pool {pool} ({id}) issues credentials to {} identities",
                self.kind
            ),
        );
        Ok(ControlFlow::Continue(Pool {
            logical: pool,
            node: pool_node,
            id: pool_id,
        }))
    }

    /// Step 2: the pool's role attachment names a role for this kind of identity.
    fn role_attachment(&mut self, pool: &Pool) -> StepOutcome<String> {
        let (t, kind, logical) = (self.t, self.kind, pool.logical);
        let (attachments, not_created) = attachments_of(t, logical)?;
        let (attachment, attachment_node) = match attachments.as_slice() {
            [one] => *one,
            [] => {
                let why = match not_created.as_slice() {
                    [] => String::new(),
                    some => format!(
                        " ({} is not created: its Condition is false)",
                        some.join(", ")
                    ),
                };
                return self.deny(
                    Step::RoleAttachment,
                    format!(
                        "no AWS::Cognito::IdentityPoolRoleAttachment attaches roles to {logical}{why}"
                    ),
                );
            }
            many => {
                return Err(FlowError::Template(TemplateError::at(
                    t.cfn.loc.clone(),
                    format!(
                        "{} role attachments name {logical} ({})",
                        many.len(),
                        many.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
                    ),
                )));
            }
        };
        let props = attachment_node.get("Properties");
        if props.and_then(|p| p.get("RoleMappings")).is_some() {
            self.warnings.push(format!(
                "{attachment} has RoleMappings (token or rule based role choice); they are not simulated: the pool's default {kind} role is used"
            ));
        }
        let role_node = role_of(t, attachment_node, kind)?;
        let Some(role_node) = role_node else {
            return self.deny(
                Step::RoleAttachment,
                format!("{attachment} attaches no {kind} role to {logical}"),
            );
        };
        let Some(role) = get_att_target(&role_node) else {
            return Err(FlowError::Template(TemplateError::at(
                role_node.loc.clone(),
                format!(
                    "the {kind} role must be the ARN of a role of this template (Fn::GetAtt [Role, Arn]); a role name (Ref) or a role defined elsewhere cannot be simulated"
                ),
            )));
        };
        let role = t.select_role(Some(role))?;
        self.pass(
            Step::RoleAttachment,
            format!("{attachment} attaches role {role} for {kind} identities"),
        );
        Ok(ControlFlow::Continue(role))
    }

    /// Step 3: the role's trust policy lets Cognito's web identity assume it for this
    /// token. Gives the token's keys.
    fn trust_policy(&mut self, pool: &Pool, role: &str) -> StepOutcome<Context> {
        let t = self.t;
        let trust = t.trust_policy(role)?;
        let trust_set = PolicySet::new(vec![trust.policy]);
        let token = self.token(pool);
        let account = t
            .params
            .get("AWS::AccountId")
            .unwrap_or(crate::template::intrinsics::DEFAULT_ACCOUNT);
        let mut assume = Request::new(
            "sts:AssumeRoleWithWebIdentity",
            format!("arn:aws:iam::{account}:role/{role}"),
        );
        assume.context = token.clone();
        assume.principal = Some(Caller::web_identity("cognito-identity.amazonaws.com"));
        // The token is presented at the time of the request (the clock is read only when
        // the request has no time).
        for key in [CURRENT_TIME, EPOCH_TIME] {
            if let Some(values) = self.req.request.context.get(key) {
                assume.context.set(key, values.to_vec());
            }
        }
        assume
            .context
            .fill_time_defaults(self.now)
            .map_err(FlowError::Request)?;
        let trust_ex = trust_set.explain(&assume)?;
        let denial = if trust_ex.evaluation.decision != Decision::Allow {
            Some(format!(
                "the trust policy of {role} does not let cognito-identity.amazonaws.com assume it for this token ({})",
                trust_ex.evaluation.decision.as_str()
            ))
        } else if !pins_pool(&trust_set, &trust_ex) {
            Some(format!(
                "the trust policy of {role} lets cognito-identity.amazonaws.com assume it without a condition on {AUD}; IAM refuses such a trust policy, so the role cannot be used this way"
            ))
        } else {
            None
        };
        if let Some(detail) = denial {
            let mut out = self.deny(Step::TrustPolicy, detail)?;
            if let ControlFlow::Break(o) = &mut out {
                o.explanation = Some((trust_set, assume, trust_ex));
            }
            return Ok(out);
        }
        self.pass(
            Step::TrustPolicy,
            format!(
                "the trust policy of {role} allows sts:AssumeRoleWithWebIdentity for this token"
            ),
        );
        Ok(ControlFlow::Continue(token))
    }

    /// The keys of the identity's web identity token (`aud`, `amr`, `sub`), with the
    /// request's overrides.
    fn token(&self, pool: &Pool) -> Context {
        let mut token = Context::new();
        token.add(AUD, &pool.id);
        token.add(AMR, self.kind);
        if self.req.authenticated {
            // A real token also lists the login provider; a user pool's provider name is
            // known only at deploy time, so it stands as `cognito-idp.<region>.amazonaws.com/
            // <user pool logical id>` unless a parameter gives it.
            for provider in providers(self.t, pool.node) {
                token.add(AMR, &provider);
            }
        }
        token.add(COGNITO_SUB, &self.req.identity);
        // Overrides from the request (e.g. no `amr`).
        for (key, values) in self.req.request.context.iter() {
            if key.starts_with("cognito-identity.amazonaws.com:") && key != COGNITO_SUB {
                token.set(key, values.to_vec());
            }
        }
        token
    }

    /// Step 4: every policy AWS evaluates decides the request made by the role session,
    /// with the token's keys in its context: the role's policies and boundary, the
    /// template's bucket and API policies, the policies given besides, and for a guest of
    /// the enhanced flow Cognito's scope-down session policy.
    fn permissions(mut self, role: &str, token: &Context) -> Result<FlowOutcome, FlowError> {
        let loaded = crate::load::load_role(self.root, self.t, Some(role), self.given).map_err(
            |e| match e {
                crate::load::Error::Template(e) => FlowError::Template(e),
                other => FlowError::Load(Box::new(other)),
            },
        )?;
        crate::managed::gap(&loaded.unseen, Claim::Decision)?;
        let policies = self.policies(&loaded)?;
        let mut request = self.req.request.clone();
        for (key, values) in token.iter() {
            if !request.context.has_key(key) {
                request.context.set(key, values.to_vec());
            }
        }
        if request.principal.is_none() {
            request.principal = Some(role_session(self.t, role)?);
        }
        let ex = loaded.set.explain(&request)?;
        policies.prepare(&mut request)?;
        let auth = policies.authorize(&request)?;
        let explanations = policies.explain(&request)?;
        let decision = auth.verdict.decision;
        let decided_by = auth.verdict.decided_by.as_str();
        self.steps.push(StepResult {
            step: Step::Permissions,
            passed: decision == Decision::Allow,
            detail: if policies.is_identity_only() {
                format!("the policies of {role} decide {}", decision.as_str())
            } else {
                format!(
                    "the policies of {role} with every policy type decide {} ({decided_by} policy)",
                    decision.as_str()
                )
            },
        });
        Ok(FlowOutcome {
            decision,
            steps: self.steps,
            explanation: Some((loaded.set.clone(), request.clone(), ex)),
            authorization: Some(Box::new(FlowAuthorization {
                policies,
                request,
                authorization: auth,
                explanations,
            })),
            warnings: self.warnings,
        })
    }

    /// The template's policy types for the role, the ones given besides, and the guest
    /// session policy for an unauthenticated identity.
    fn policies(&self, loaded: &crate::load::Loaded) -> Result<Policies, FlowError> {
        Ok(flow_policies(
            loaded,
            &self.req.extra,
            self.req.authenticated,
        )?)
    }
}

/// The policies AWS evaluates for a role session of the pool: the role's (`loaded`, with
/// the template's resource policies and the role's boundary), the ones given besides
/// (`extra`), and for an unauthenticated identity Cognito's guest scope-down session
/// policy (after the given session policies).
pub fn flow_policies(
    loaded: &crate::load::Loaded,
    extra: &Policies,
    authenticated: bool,
) -> Result<Policies, AuthorizeError> {
    let mut extra = extra.clone();
    if !authenticated {
        let guest = crate::managed::cognito_guest_session_policy();
        let mut session: Vec<crate::lang::model::Policy> = extra
            .session
            .map(|s| s.policies().to_vec())
            .unwrap_or_default();
        session.push(guest);
        extra.session = Some(PolicySet::new(session));
    }
    loaded.policies().with(extra)
}

/// The role session Cognito's credentials belong to:
/// `arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/CognitoIdentityCredentials`, the role
/// ARN from `--param ROLE.Arn=...` when given (it carries the deployed name and path),
/// else from the role's `Path` and `RoleName` (else a name made from its logical id, see
/// `name_from_logical_id`).
pub fn role_session(t: &Template, role: &str) -> Result<Caller, FlowError> {
    let role_arn = role_arn(t, role)?;
    let loc = t
        .resources()
        .iter()
        .find(|(logical, _)| logical == role)
        .map(|(_, n)| n.loc.clone());
    let bad = || {
        FlowError::Template(TemplateError::at(
            loc.clone().expect("the role is a resource of the template"),
            format!(
                "the role ARN {role_arn:?} of {role} is not arn:PARTITION:iam::ACCOUNT:role/NAME"
            ),
        ))
    };
    let parts = crate::lang::arn::split_concrete(&role_arn).ok_or_else(bad)?;
    let name = parts[4]
        .strip_prefix("role/")
        .and_then(|p| p.rsplit('/').next())
        .ok_or_else(bad)?;
    let session = format!(
        "arn:{}:sts::{}:assumed-role/{name}/CognitoIdentityCredentials",
        parts[0], parts[3]
    );
    let mut caller = Caller::parse(&session).map_err(|_| bad())?;
    caller.set_role_path(&role_arn);
    Ok(caller)
}

/// The template's one identity pool that is created, or (`Err`) the logical ids of the
/// pools declared when none is created; a template without a pool, or with several, is
/// an error.
fn single_pool(t: &Template) -> Result<Result<(&str, &Node), Vec<&str>>, FlowError> {
    let declared: Vec<(&str, &Node)> = t.resources_of_type("AWS::Cognito::IdentityPool").collect();
    let mut pools = Vec::new();
    for (logical, node) in &declared {
        if t.created(node)? {
            pools.push((*logical, *node));
        }
    }
    match pools.as_slice() {
        [one] => Ok(Ok(*one)),
        [] if !declared.is_empty() => Ok(Err(declared.iter().map(|(k, _)| *k).collect())),
        [] => Err(FlowError::Template(TemplateError::at(
            t.cfn.loc.clone(),
            "the template has no AWS::Cognito::IdentityPool".to_string(),
        ))),
        many => Err(FlowError::Template(TemplateError::at(
            t.cfn.loc.clone(),
            format!(
                "the template has {} identity pools ({}); the flow needs exactly one",
                many.len(),
                many.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
            ),
        ))),
    }
}

/// The ARN of the template's role `role`: from `--param ROLE.Arn=...` when given, else
/// what `Fn::GetAtt [ROLE, Arn]` resolves to for a role with a `RoleName` (one rule, in
/// the resolver: the bucket or API policy that names the role by `GetAtt` and the role
/// session agree), else from its `Path` and a name made from its logical id (see
/// `name_from_logical_id`), with the template's partition and account.
pub fn role_arn(t: &Template, role: &str) -> Result<String, TemplateError> {
    use crate::template::node::{get_att, reference};
    if let Some(arn) = t.params.resolve(&format!("{role}.Arn")) {
        return Ok(arn.to_string());
    }
    let loc = t.resource(role)?.loc.clone();
    let text = |v: serde_json::Value| match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    // Checked here, with the errors the role's properties give.
    let name = t.role_name(role)?;
    let path = t.role_path(role)?;
    if name.is_some() {
        return Ok(text(t.resolve_node(&get_att(role, "Arn", &loc))?));
    }
    let partition = text(t.resolve_node(&reference("AWS::Partition", &loc))?);
    let account = text(t.resolve_node(&reference("AWS::AccountId", &loc))?);
    // The role's `Path` is part of its ARN (IAM User Guide, "IAM identifiers").
    let path = path.unwrap_or_else(|| "/".to_string());
    let name = name_from_logical_id(role);
    Ok(format!("arn:{partition}:iam::{account}:role{path}{name}"))
}

/// The name a role without `RoleName` is given here: its logical id, without the stacks
/// that qualify it (`NotesStack/AuthRole` is `AuthRole`: a `/` would make the rest a
/// path), each character IAM does not allow in a role name (a Terraform address's `[`,
/// `"`) as `-`. CloudFormation names such a role `STACK-LOGICALID-SUFFIX`, which the
/// template cannot tell; give the deployed one with `--param ROLE.Arn=...`.
fn name_from_logical_id(logical: &str) -> String {
    let last = logical.rsplit('/').next().unwrap_or(logical);
    last.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The pool's `AllowUnauthenticatedIdentities` (a required property).
fn allows_unauthenticated(t: &Template, pool: &str, pool_node: &Node) -> Result<bool, FlowError> {
    let Some(n) = pool_node
        .get("Properties")
        .and_then(|p| p.get("AllowUnauthenticatedIdentities"))
    else {
        return Err(FlowError::Template(TemplateError::at(
            pool_node.loc.clone(),
            format!(
                "identity pool {pool} has no AllowUnauthenticatedIdentities (a required property)"
            ),
        )));
    };
    match t.resolve_node(n)? {
        serde_json::Value::Bool(b) => Ok(b),
        serde_json::Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
        other => Err(FlowError::Template(TemplateError::at(
            n.loc.clone(),
            format!("AllowUnauthenticatedIdentities must be true or false, found {other}"),
        ))),
    }
}

/// IAM requires roles that trust cognito-identity.amazonaws.com to pin the pool with an
/// `aud` condition (Cognito Developer Guide, identity pool security best practices): every
/// statement that allowed the assumption must have one.
fn pins_pool(trust_set: &PolicySet, trust_ex: &Explanation) -> bool {
    trust_ex.evaluation.deciding.iter().all(|r| {
        trust_set
            .statement(*r)
            .conditions
            .iter()
            .any(|c| c.key_lower == AUD)
    })
}

/// Resolve everything the flow may need up front, so that a template missing several
/// values reports all of them at once rather than one step at a time.
/// `trust`: the roles' trust policies too (the flow's trust step reads them; proving
/// isolation over the pool's roles does not).
fn preflight(t: &Template, pool: &str, pool_node: &Node, trust: bool) -> Result<(), TemplateError> {
    let mut missing = Vec::new();
    let mut collect = |r: Result<(), TemplateError>| match r {
        Ok(()) => Ok(()),
        Err(TemplateError::Missing(m)) => {
            missing.extend(m);
            Ok(())
        }
        Err(e) => Err(e),
    };
    collect(t.resolve_node(&ref_node(pool, pool_node)).map(drop))?;
    if let Some(n) = pool_node
        .get("Properties")
        .and_then(|p| p.get("AllowUnauthenticatedIdentities"))
    {
        collect(t.resolve_node(n).map(drop))?;
    }
    let (attachments, _) = attachments_of(t, pool)?;
    let mut unresolved = false;
    // More than one attachment is an error of the role-attachment step.
    if let [(_, attachment)] = attachments.as_slice() {
        for kind in ["authenticated", "unauthenticated"] {
            let node = role_of(t, attachment, kind)?;
            let role = node
                .as_ref()
                .and_then(|n| get_att_target(n).or_else(|| ref_target(n)));
            if let Some(role) = role
                && t.select_role(Some(role)).is_ok()
            {
                if trust {
                    collect(t.trust_policy(role).map(drop))?;
                }
                collect(t.role_policies(role).map(drop))?;
                // The role session's ARN (permissions step) is built from these.
                collect(t.role_name(role).map(drop))?;
                collect(t.role_path(role).map(drop))?;
            } else if let Some(node) = &node
                && t.input == crate::template::InputKind::Terraform
            {
                // A role a plan knows only after apply: a value to give, and so may be
                // what any role of the plan needs.
                collect(t.resolve_node(node).map(drop))?;
                unresolved = true;
            }
        }
    }
    // The permissions step reads the template's bucket and API policies too.
    collect(t.resource_policies().map(drop))?;
    if unresolved {
        for (role, _) in t.resources_of_type("AWS::IAM::Role") {
            if trust {
                collect(t.trust_policy(role).map(drop))?;
            }
            collect(t.role_policies(role).map(drop))?;
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(TemplateError::Missing(missing))
    }
}

/// Role attachments created (logical id and resource), and those not created.
type Attachments<'t> = (Vec<(&'t str, &'t Node)>, Vec<&'t str>);

/// The role attachments that name the pool (`!Ref Pool` or `!GetAtt Pool.Id`, `Fn::If`
/// decided) and are created, and the logical ids of those that name it but are not.
fn attachments_of<'t>(t: &'t Template, pool: &str) -> Result<Attachments<'t>, TemplateError> {
    let mut created = Vec::new();
    let mut not_created = Vec::new();
    for (logical, attachment) in t.resources_of_type("AWS::Cognito::IdentityPoolRoleAttachment") {
        let Some(id) = attachment
            .get("Properties")
            .and_then(|p| p.get("IdentityPoolId"))
        else {
            continue;
        };
        let id = t.decide_if(id)?;
        if ref_target(&id) != Some(pool) && get_att_target(&id) != Some(pool) {
            continue;
        }
        if t.created(attachment)? {
            created.push((logical, attachment));
        } else {
            not_created.push(logical);
        }
    }
    Ok((created, not_created))
}

/// The attachment's role for `kind` (`authenticated` or `unauthenticated`), `Fn::If`
/// decided; `None` when there is none (or it is `AWS::NoValue`).
fn role_of(t: &Template, attachment: &Node, kind: &str) -> Result<Option<Node>, TemplateError> {
    let Some(roles) = attachment.get("Properties").and_then(|p| p.get("Roles")) else {
        return Ok(None);
    };
    let roles = t.decide_if(roles)?;
    let Some(role) = roles.get(kind) else {
        return Ok(None);
    };
    let role = t.decide_if(role)?;
    Ok((!is_no_value(&role)).then_some(role))
}

/// Does the pool accept a login provider? A provider property removed by `Fn::If` /
/// `AWS::NoValue`, or empty, is none.
fn has_login_provider(t: &Template, pool_node: &Node) -> Result<bool, TemplateError> {
    let props = pool_node.get("Properties");
    for key in LOGIN_PROPERTIES {
        let Some(value) = props.and_then(|p| p.get(key)) else {
            continue;
        };
        let value = t.decide_if(value)?;
        let empty = match &value.kind {
            Kind::Null => true,
            Kind::Scalar(s, _) => s.is_empty(),
            Kind::Seq(items) => items.is_empty(),
            Kind::Map(entries) => entries.is_empty(),
        };
        if !empty && !is_no_value(&value) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Login providers an identity pool accepts; without any, nobody authenticates.
const LOGIN_PROPERTIES: &[&str] = &[
    "CognitoIdentityProviders",
    "SupportedLoginProviders",
    "OpenIdConnectProviderARNs",
    "SamlProviderARNs",
    "DeveloperProviderName",
];

/// The login-provider entries of an authenticated token's `amr`.
fn providers(t: &Template, pool_node: &Node) -> Vec<String> {
    let mut out = Vec::new();
    let props = pool_node.get("Properties");
    if let Some(list) = props
        .and_then(|p| p.get("CognitoIdentityProviders"))
        .and_then(Node::as_seq)
    {
        for p in list {
            let name = p.get("ProviderName");
            let resolved = name
                .and_then(|n| t.resolve_node(n).ok())
                .and_then(|v| v.as_str().map(str::to_string))
                .filter(|n| !n.is_empty());
            let fallback = name
                .and_then(get_att_target)
                .map(|l| format!("cognito-idp.{}.amazonaws.com/{l}", t.region));
            if let Some(n) = resolved.or(fallback) {
                out.push(n);
            }
        }
    }
    if let Some(map) = props
        .and_then(|p| p.get("SupportedLoginProviders"))
        .and_then(Node::as_map)
    {
        out.extend(map.iter().map(|(k, _)| k.clone()));
    }
    out
}

/// `{"Ref": logical}` at the resource's location.
fn ref_node(logical: &str, at: &Node) -> Node {
    crate::template::node::reference(logical, &at.loc)
}

/// Why the flow could not be simulated (not a deny).
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// The template is unusable.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The request is malformed.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The template has an identity pool and no role was named, but no identity given.
    #[error(
        "the template has an identity pool: the Cognito flow needs an identity (or name a role to check its policies alone)"
    )]
    NoIdentity,
    /// An unauthenticated identity without the flow (no identity pool, or a role named).
    #[error(
        "an unauthenticated identity needs the Cognito flow: a template with an identity pool, and no role named"
    )]
    UnauthenticatedWithoutFlow,
    /// A managed policy named by ARN that cannot be loaded.
    #[error(transparent)]
    Load(Box<crate::load::Error>),
    /// The role's permissions depend on a policy the tool did not evaluate.
    #[error(transparent)]
    NotSeen(#[from] NotSeen),
    /// The policy types cannot decide the request together.
    #[error(transparent)]
    Authorize(#[from] AuthorizeError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Params;

    fn template(rel: &str) -> Template {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
        Template::load(&path, Params::default()).unwrap()
    }

    #[test]
    fn a_role_without_a_name_is_named_after_its_own_logical_id() {
        assert_eq!(name_from_logical_id("AuthRole"), "AuthRole");
        // The stacks that qualify a nested stack's id are not a path.
        assert_eq!(
            name_from_logical_id("NotesStack/Storage/AuthRole900B840B"),
            "AuthRole900B840B"
        );
        assert_eq!(
            name_from_logical_id("module.app.aws_iam_role.r[\"a b\"]"),
            "module.app.aws_iam_role.r--a-b--"
        );
    }

    #[test]
    fn the_flow_runs_for_a_single_request_on_a_pool_without_a_named_role() {
        let pool = template("fixtures/templates/seed-001/serverless.yml");
        let flow = |role, batch, identity, authenticated| {
            check_mode(&pool, role, batch, identity, authenticated)
        };
        assert_eq!(
            flow(None, false, Some("us-east-1:abc"), false).unwrap(),
            CheckMode::Flow(FlowIdentity {
                identity: "us-east-1:abc".to_string(),
                authenticated: false,
            })
        );
        assert!(matches!(
            flow(None, false, None, true),
            Err(FlowError::NoIdentity)
        ));
        // A named role, or a batch, checks the role's policies alone.
        assert_eq!(
            flow(Some("CognitoAuthRole"), false, Some("x"), true).unwrap(),
            CheckMode::Role
        );
        assert_eq!(flow(None, true, None, true).unwrap(), CheckMode::Role);
        assert!(matches!(
            flow(Some("CognitoAuthRole"), false, Some("x"), false),
            Err(FlowError::UnauthenticatedWithoutFlow)
        ));
        // No identity pool: never the flow.
        let plain = template("fixtures/templates/fn-sub/template.yml");
        assert_eq!(
            check_mode(&plain, None, false, Some("x"), true).unwrap(),
            CheckMode::Role
        );
    }
}

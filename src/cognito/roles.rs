//! Every role an identity pool hands out, and isolation proved for each and across them.
//!
//! An identity pool gives credentials for the role its `AWS::Cognito::IdentityPoolRoleAttachment`
//! names: `Roles.authenticated` for signed-in identities, `Roles.unauthenticated` for guests
//! (only when the pool has `AllowUnauthenticatedIdentities: true`), and the roles its
//! `RoleMappings` choose for a login provider: with `Type: Token`, the role the token names
//! (`cognito:preferred_role`, one of the roles of the user pool's groups); with
//! `Type: Rules`, the `RoleARN` of the rule that matches. Every one of them is an attacker:
//! a guest must not reach a signed-in identity's area, nor one mapped role another's.
//!
//! A role the tool cannot see (an ARN that names no role of the template, a token-chosen
//! role without a user pool group in the template) is listed as unresolved and its verdict
//! is `unknown`: it is never skipped.

use crate::analysis::identity::IdentityFormat;
use crate::analysis::prover::{
    AreaSpec, Backend, Proof, ProverError, Scope, Verdict, default_areas_of, prove_isolation_in,
};
use crate::eval::authorize::{AuthorizeError, Policies};
use crate::lang::principal::Caller;
use crate::load::Loaded;
use crate::managed::Given;
use crate::root::Root;
use crate::template::node::Node;
use crate::template::{Template, TemplateError, get_att_target, is_no_value};

use super::{FlowError, allows_unauthenticated, attachments_of, role_arn, single_pool};

/// How the pool hands a role out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleKind {
    /// `Roles.authenticated`: every signed-in identity.
    Authenticated,
    /// `Roles.unauthenticated`: guests, with Cognito's scope-down session policy.
    Unauthenticated,
    /// Chosen by `RoleMappings` (the token's preferred role, or a rule).
    Mapped,
}

impl RoleKind {
    /// `authenticated`, `unauthenticated`, `mapped`.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleKind::Authenticated => "authenticated",
            RoleKind::Unauthenticated => "unauthenticated",
            RoleKind::Mapped => "mapped",
        }
    }
}

/// One role the pool hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolRole {
    /// The role's logical id, or for an unresolved role the ARN as the template gives it.
    pub role: String,
    /// How the pool hands it out.
    pub kind: RoleKind,
    /// Where the template names it (`RoleAttachment Roles.authenticated`, ...).
    pub via: String,
    /// Why the role cannot be proved, when it is not a role of this template.
    pub unresolved: Option<String>,
}

/// The roles of the template's identity pool.
#[derive(Debug, Clone)]
pub struct PoolRoles {
    /// The pool's logical id.
    pub pool: String,
    /// Every role it hands out, authenticated first, then unauthenticated, then mapped;
    /// each (role, guest or not) once.
    pub roles: Vec<PoolRole>,
    /// Roles named but never handed out (a guest role of a pool without guests).
    pub notes: Vec<String>,
}

/// The roles the template's identity pool hands out.
pub fn pool_roles(t: &Template) -> Result<PoolRoles, FlowError> {
    let (pool, pool_node) = match single_pool(t)? {
        Ok(pool) => pool,
        Err(names) => {
            return Err(FlowError::Template(TemplateError::at(
                t.cfn.loc.clone(),
                format!(
                    "identity pool {} is not created (its Condition is false): it hands out no role",
                    names.join(", ")
                ),
            )));
        }
    };
    // Every value the pool's roles need, listed at once (as `check`'s flow does), with
    // the pool's own id bound.
    super::preflight(&super::bind_pool_ids(t).0, pool, pool_node, false)?;
    let (attachments, _) = attachments_of(t, pool)?;
    let (attachment, node) = match attachments.as_slice() {
        [one] => *one,
        [] => {
            return Err(FlowError::Template(TemplateError::at(
                pool_node.loc.clone(),
                format!(
                    "no AWS::Cognito::IdentityPoolRoleAttachment attaches roles to {pool}: it hands out no role"
                ),
            )));
        }
        many => {
            return Err(FlowError::Template(TemplateError::at(
                t.cfn.loc.clone(),
                format!(
                    "{} role attachments name {pool} ({})",
                    many.len(),
                    many.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
                ),
            )));
        }
    };
    let mut out = PoolRoles {
        pool: pool.to_string(),
        roles: Vec::new(),
        // What reading the input modelled (e.g. a documented trust rewrite) bears on
        // every role's verdict, so it travels with them.
        notes: t.notes.clone(),
    };
    let guests = allows_unauthenticated(t, pool, pool_node)?;
    for kind in [RoleKind::Authenticated, RoleKind::Unauthenticated] {
        let Some(role) = super::role_of(t, node, kind.as_str())? else {
            continue;
        };
        let via = format!("{attachment} Roles.{}", kind.as_str());
        let found = resolve_role(t, &role, kind, via)?;
        if kind == RoleKind::Unauthenticated && !guests {
            out.notes.push(format!(
                "the unauthenticated role {} is not used: identity pool {pool} has AllowUnauthenticatedIdentities: false",
                found.role
            ));
            continue;
        }
        out.push(found);
    }
    if let Some(mappings) = node.get("Properties").and_then(|p| p.get("RoleMappings")) {
        let mappings = t.decide_if(mappings)?;
        for (key, mapping) in mappings.as_map().unwrap_or(&[]) {
            let mapping = t.decide_if(mapping)?;
            for found in mapped_roles(t, attachment, key, &mapping)? {
                out.push(found);
            }
        }
    }
    Ok(out)
}

impl PoolRoles {
    /// Add `role` unless the same role is already there for the same kind of identity
    /// (a guest's session differs from a signed-in one's).
    fn push(&mut self, role: PoolRole) {
        let guest = role.kind == RoleKind::Unauthenticated;
        let seen = self
            .roles
            .iter()
            .any(|r| r.role == role.role && (r.kind == RoleKind::Unauthenticated) == guest);
        if !seen {
            self.roles.push(role);
        }
    }
}

/// The roles one `RoleMappings` entry (`key`) may choose.
fn mapped_roles(
    t: &Template,
    attachment: &str,
    key: &str,
    mapping: &Node,
) -> Result<Vec<PoolRole>, FlowError> {
    let string = |name: &str| -> Result<Option<String>, TemplateError> {
        match mapping.get(name) {
            None => Ok(None),
            Some(n) => match t.resolve_node(n)? {
                serde_json::Value::String(s) => Ok(Some(s)),
                other => Err(TemplateError::at(
                    n.loc.clone(),
                    format!("{name} of RoleMappings {key} must be a string, found {other}"),
                )),
            },
        }
    };
    let via = format!("{attachment} RoleMappings {key}");
    let mut out = Vec::new();
    match string("Type")?.as_deref() {
        Some("Token") => {
            let groups: Vec<(&str, &Node)> =
                t.resources_of_type("AWS::Cognito::UserPoolGroup").collect();
            let mut any = false;
            for (group, node) in groups {
                if !t.created(node)? {
                    continue;
                }
                let Some(arn) = node.get("Properties").and_then(|p| p.get("RoleArn")) else {
                    continue;
                };
                let arn = t.decide_if(arn)?;
                if is_no_value(&arn) {
                    continue;
                }
                any = true;
                let via = format!("{via} (Type Token: the role of user pool group {group})");
                out.push(resolve_role(t, &arn, RoleKind::Mapped, via)?);
            }
            if !any {
                out.push(PoolRole {
                    role: format!("RoleMappings {key}"),
                    kind: RoleKind::Mapped,
                    via: format!("{via} (Type Token)"),
                    unresolved: Some(
                        "with Type Token the token names the role (cognito:preferred_role, a role of the user pool's groups), and the template has no AWS::Cognito::UserPoolGroup with a RoleArn: the roles it may name cannot be seen".to_string(),
                    ),
                });
            }
        }
        Some("Rules") => {
            let rules = mapping
                .get("RulesConfiguration")
                .map(|c| t.decide_if(c))
                .transpose()?;
            let rules = rules.as_ref().and_then(|c| c.get("Rules")).cloned();
            let rules = rules.map(|r| t.decide_if(&r)).transpose()?;
            for (i, rule) in rules
                .as_ref()
                .and_then(Node::as_seq)
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                let rule = t.decide_if(rule)?;
                let Some(arn) = rule.get("RoleARN") else {
                    return Err(FlowError::Template(TemplateError::at(
                        rule.loc.clone(),
                        format!("rule {} of RoleMappings {key} has no RoleARN", i + 1),
                    )));
                };
                let arn = t.decide_if(arn)?;
                let via = format!("{via} (Type Rules: rule {})", i + 1);
                out.push(resolve_role(t, &arn, RoleKind::Mapped, via)?);
            }
        }
        other => {
            let loc = mapping
                .get("Type")
                .map_or(mapping.loc.clone(), |n| n.loc.clone());
            return Err(FlowError::Template(TemplateError::at(
                loc,
                format!(
                    "Type of RoleMappings {key} must be Token or Rules, found {}",
                    other.unwrap_or("nothing")
                ),
            )));
        }
    }
    // `AmbiguousRoleResolution: AuthenticatedRole` falls back on the authenticated role
    // (already a role of the pool); `Deny` gives no credentials.
    match string("AmbiguousRoleResolution")?.as_deref() {
        None | Some("AuthenticatedRole" | "Deny") => Ok(out),
        Some(other) => Err(FlowError::Template(TemplateError::at(
            mapping.loc.clone(),
            format!(
                "AmbiguousRoleResolution of RoleMappings {key} must be AuthenticatedRole or Deny, found {other}"
            ),
        ))),
    }
}

/// The template role a role ARN names: `Fn::GetAtt [Role, Arn]`, or a string equal to a
/// template role's ARN; anything else is unresolved (its policies cannot be seen).
fn resolve_role(
    t: &Template,
    arn: &Node,
    kind: RoleKind,
    via: String,
) -> Result<PoolRole, FlowError> {
    let roles: Vec<&str> = t
        .resources_of_type("AWS::IAM::Role")
        .map(|(k, _)| k)
        .collect();
    if let Some(target) = get_att_target(arn)
        && roles.contains(&target)
    {
        return Ok(PoolRole {
            role: t.select_role(Some(target))?,
            kind,
            via,
            unresolved: None,
        });
    }
    // Any other value (a `Fn::GetAtt` of another resource too: a Terraform plan's role
    // map known only after apply) is resolved: a value to give, or an ARN to match.
    let text = match t.resolve_node(arn)? {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    for role in roles {
        if role_arn(t, role).ok().as_deref() == Some(text.as_str()) {
            return Ok(PoolRole {
                role: role.to_string(),
                kind,
                via,
                unresolved: None,
            });
        }
    }
    Ok(PoolRole {
        role: text.clone(),
        kind,
        via,
        unresolved: Some(format!(
            "role {text} is not a role of this template: its policies cannot be seen"
        )),
    })
}

/// The proof for one role of the pool.
#[derive(Debug)]
pub struct RoleProof {
    /// The role.
    pub role: PoolRole,
    /// The policies proved (empty for an unresolved role).
    pub policies: Policies,
    /// Its proof (`unknown` for an unresolved role).
    pub proof: Proof,
}

/// Isolation across every role of the pool.
#[derive(Debug)]
pub struct PoolProof {
    /// The pool's logical id.
    pub pool: String,
    /// The worst verdict of the roles (violated, then unknown, then holds), and
    /// `unknown` when every role holds only because none reaches its own area.
    pub verdict: Verdict,
    /// Why: the deciding role's reason, or why the pool as a whole is vacuous.
    pub reason: String,
    /// The role whose proof decides (the first with the worst verdict).
    pub deciding: usize,
    /// Every role's proof, in [`PoolRoles::roles`] order.
    pub roles: Vec<RoleProof>,
    /// Roles named but not handed out.
    pub notes: Vec<String>,
}

impl PoolProof {
    /// The deciding role's proof.
    pub fn deciding(&self) -> &RoleProof {
        &self.roles[self.deciding]
    }
}

/// What a pool proof runs with besides the template.
pub struct PoolInputs<'a> {
    /// Where given documents are read.
    pub root: &'a Root,
    /// Documents of managed policies named by ARN.
    pub given: &'a Given,
    /// Policy types given besides the template's.
    pub extra: &'a Policies,
    /// The principal, when given: it replaces each role's Cognito role session.
    pub principal: Option<&'a Caller>,
    /// The decision backend.
    pub backend: &'a Backend,
}

/// Why a pool proof could not be attempted.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The pool's roles cannot be listed.
    #[error(transparent)]
    Flow(#[from] FlowError),
    /// A role's policies cannot be loaded.
    #[error(transparent)]
    Load(#[from] crate::load::Error),
    /// A role's policies do not fit the policy types given.
    #[error(transparent)]
    Authorize(#[from] AuthorizeError),
    /// The prover cannot run.
    #[error(transparent)]
    Prover(#[from] ProverError),
}

/// Prove isolation of `areas` (default: the union of every role's default areas, as
/// private) with each role of the template's identity pool as the attacker: its policies,
/// the template's resource policies and the given ones, its Cognito role session as the
/// principal, and for the unauthenticated role Cognito's guest scope-down session policy.
/// A role that reaches no area of its own holds vacuously by itself; the pool is `unknown`
/// when no role reaches its own area.
pub fn prove_pool(
    t: &Template,
    inputs: &PoolInputs,
    areas: &[AreaSpec],
    format: &IdentityFormat,
    now: jiff::Timestamp,
) -> Result<PoolProof, PoolError> {
    let listed = pool_roles(t)?;
    if listed.roles.is_empty() {
        return Err(FlowError::Template(TemplateError::at(
            t.cfn.loc.clone(),
            format!("identity pool {} hands out no role", listed.pool),
        ))
        .into());
    }
    let mut loaded: Vec<Option<(Loaded, Policies, Caller)>> = Vec::new();
    for role in &listed.roles {
        if role.unresolved.is_some() {
            loaded.push(None);
            continue;
        }
        let l = crate::load::load_role(inputs.root, t, Some(&role.role), inputs.given)?;
        let policies =
            super::flow_policies(&l, inputs.extra, role.kind != RoleKind::Unauthenticated)?;
        let session = super::role_session(t, &role.role)?;
        loaded.push(Some((l, policies, session)));
    }
    let defaulted = areas.is_empty();
    let areas: Vec<AreaSpec> = if defaulted {
        let mut union: Vec<String> = Vec::new();
        for (_, policies, _) in loaded.iter().flatten() {
            for a in default_areas_of(policies) {
                if !union.contains(&a) {
                    union.push(a);
                }
            }
        }
        union.into_iter().map(AreaSpec::private).collect()
    } else {
        areas.to_vec()
    };
    if areas.is_empty() {
        return Err(ProverError::NoArea.into());
    }
    let mut roles = Vec::new();
    for (role, l) in listed.roles.into_iter().zip(loaded) {
        let Some((l, policies, session)) = l else {
            let reason = role.unresolved.clone().unwrap_or_default();
            roles.push(RoleProof {
                proof: unresolved_proof(&areas, format, reason),
                policies: Policies::default(),
                role,
            });
            continue;
        };
        let principal = inputs.principal.unwrap_or(&session);
        let mut proof = prove_isolation_in(
            Scope::Among { defaulted },
            &policies,
            Some(principal),
            &areas,
            format,
            inputs.backend.solver().as_mut(),
            now,
        )?;
        l.settle(&mut proof);
        roles.push(RoleProof {
            role,
            policies,
            proof,
        });
    }
    let rank = |v: Verdict| match v {
        Verdict::Holds => 0,
        Verdict::Unknown => 1,
        Verdict::Violated => 2,
    };
    let worst = roles
        .iter()
        .map(|r| rank(r.proof.verdict))
        .max()
        .unwrap_or(0);
    let deciding = roles
        .iter()
        .position(|r| rank(r.proof.verdict) == worst)
        .unwrap_or(0);
    let pool = listed.pool;
    let (verdict, reason) = match roles.get(deciding) {
        Some(_) if worst == 0 && roles.iter().all(|r| r.proof.vacuous) => (
            Verdict::Unknown,
            format!(
                "no role of identity pool {pool} was found to let an identity reach its own area: isolation would hold only vacuously"
            ),
        ),
        Some(r) => (r.proof.verdict, r.proof.reason.clone()),
        // Not reached: a pool without roles is refused above.
        None => (
            Verdict::Unknown,
            format!("identity pool {pool} hands out no role"),
        ),
    };
    Ok(PoolProof {
        pool,
        verdict,
        reason,
        deciding,
        roles,
        notes: listed.notes,
    })
}

/// The `unknown` proof of a role the tool cannot see.
fn unresolved_proof(areas: &[AreaSpec], format: &IdentityFormat, reason: String) -> Proof {
    Proof {
        verdict: Verdict::Unknown,
        identity_format: format.name.clone(),
        format_description: format.description.clone(),
        areas: areas.iter().map(|a| a.pattern.clone()).collect(),
        reason,
        counterexample: None,
        fix: None,
        hint: None,
        fragile: None,
        assumptions: Vec::new(),
        area_specs: areas.to_vec(),
        shared: Vec::new(),
        vacuous: false,
    }
}

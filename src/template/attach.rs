//! Which resources attach a policy to a role: each one is decided, or the template is
//! refused naming it. A resource skipped because it was not understood could hold a Deny,
//! so nothing that could attach a policy is ever left out silently.
//!
//! - [`expansions`]: at load, what the template would become only after an expansion
//!   policy-sim does not perform (a `Transform` other than SAM's and
//!   `AWS::LanguageExtensions`, `Fn::Transform`, an `Fn::ForEach::...` left unexpanded,
//!   CloudFormation modules) is refused;
//! - `AWS::IAM::Policy`, `AWS::IAM::ManagedPolicy` (`Roles`) and `AWS::IAM::RolePolicy`
//!   (`RoleName`) name the role; each name is decided by [`Template::denotes_role`];
//! - resources whose effect is not read (nested stacks, custom resources, SAM resources)
//!   are refused when they could name the role ([`Template::opaque`]).

use serde_json::Value;

use super::intrinsics::Resolver;
use super::node::{Kind, Node};
use super::{Missing, Template, TemplateError, get_att_target, is_no_value, ref_target};

// The transforms policy-sim accepts: SAM's (expanded by `sam`) and
// `AWS::LanguageExtensions` (its loops expanded by `foreach`).
use super::sam::SAM_TRANSFORM;

/// How a policy resource names the roles it attaches to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ByName {
    /// `Roles: [names]` (`AWS::IAM::Policy`, `AWS::IAM::ManagedPolicy`).
    Roles,
    /// `RoleName: name` (`AWS::IAM::RolePolicy`).
    RoleName,
}

/// The policy resource types that attach to roles by name, with how.
pub(super) fn policy_type(ty: &str) -> Option<ByName> {
    match ty {
        "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => Some(ByName::Roles),
        "AWS::IAM::RolePolicy" => Some(ByName::RoleName),
        _ => None,
    }
}

/// Refuse a template that only an expansion policy-sim does not perform would complete:
/// its resources (and so the policies attached to a role) are not all written in it.
pub(super) fn expansions(cfn: &Node) -> Result<(), TemplateError> {
    unexpanded_keys(cfn, super::foreach::declares_language_extensions(cfn))?;
    if let Some(transform) = cfn.get("Transform") {
        let names: Vec<&Node> = match &transform.kind {
            Kind::Seq(items) => items.iter().collect(),
            _ => vec![transform],
        };
        for n in names {
            match n.as_str() {
                Some(SAM_TRANSFORM | super::foreach::LANGUAGE_EXTENSIONS) => {}
                name => {
                    return Err(TemplateError::at(
                        n.loc.clone(),
                        format!(
                            "Transform {} is not expanded by policy-sim: the resources it produces could attach policies that would not be checked (only {SAM_TRANSFORM} and {} are read)",
                            name.map_or_else(|| n.describe(), |s| format!("{s:?}")),
                            super::foreach::LANGUAGE_EXTENSIONS
                        ),
                    ));
                }
            }
        }
    }
    for (logical, res) in cfn.get("Resources").and_then(Node::as_map).unwrap_or(&[]) {
        match res.get("Type").and_then(Node::as_str) {
            Some(ty) if ty.ends_with("::MODULE") => {
                return Err(TemplateError::at(
                    res.loc.clone(),
                    format!(
                        "resource {logical:?} is a CloudFormation module ({ty}), which policy-sim does not expand: its resources could attach policies that would not be checked"
                    ),
                ));
            }
            Some(_) => {}
            None if logical.starts_with("Fn::") => {}
            None => {
                return Err(TemplateError::at(
                    res.loc.clone(),
                    format!("resource {logical:?} has no Type"),
                ));
            }
        }
    }
    Ok(())
}

/// The first `Fn::Transform` or `Fn::ForEach::...` key anywhere in the template (loops are
/// expanded before, where the transform declared expands them: one left is elsewhere).
fn unexpanded_keys(cfn: &Node, language_extensions: bool) -> Result<(), TemplateError> {
    let mut stack = vec![cfn];
    while let Some(node) = stack.pop() {
        match &node.kind {
            Kind::Map(entries) => {
                for (k, v) in entries {
                    let what = if k == "Fn::Transform" {
                        let name = v.get("Name").and_then(Node::as_str).unwrap_or("a macro");
                        Some(format!("Fn::Transform ({name})"))
                    } else if k.starts_with("Fn::ForEach::") {
                        let why = if language_extensions {
                            "stands outside Resources, Outputs and Conditions, the sections CloudFormation expands it in"
                        } else {
                            "needs Transform: AWS::LanguageExtensions, which the template does not declare"
                        };
                        return Err(TemplateError::at(
                            v.loc.clone(),
                            format!(
                                "{k} {why}: it is not expanded, and what it produces could attach policies that would not be checked"
                            ),
                        ));
                    } else {
                        None
                    };
                    if let Some(what) = what {
                        return Err(TemplateError::at(
                            v.loc.clone(),
                            format!(
                                "{what} is not expanded by policy-sim: what it produces could attach policies that would not be checked"
                            ),
                        ));
                    }
                    stack.push(v);
                }
            }
            Kind::Seq(items) => stack.extend(items),
            Kind::Null | Kind::Scalar(..) => {}
        }
    }
    Ok(())
}

/// The role's own name, resolved when a name needs comparing with it.
pub(super) struct RoleName {
    /// Resolved once: `None` while not yet needed.
    resolved: Option<Option<Named>>,
}

/// A name, resolved: its text, the node it came from and the defaults it relied on.
#[derive(Clone)]
struct Named {
    text: String,
    node: Node,
    guessed: Vec<&'static str>,
}

impl RoleName {
    /// Not resolved yet.
    pub(super) fn new() -> RoleName {
        RoleName { resolved: None }
    }
}

/// What `denotes_role` is deciding: the policy and the property naming roles.
pub(super) struct Naming<'a> {
    /// The role's logical id.
    pub role: &'a str,
    /// The policy's logical id.
    pub policy: &'a str,
    /// The property: `Roles` or `RoleName`.
    pub property: &'static str,
}

impl Template {
    /// Does the policy resource (`by`, its resolved `Properties`) attach to the role?
    pub(super) fn attaches_by_name(
        &self,
        by: ByName,
        props: Option<&Node>,
        naming: &Naming<'_>,
        role_name: &mut RoleName,
        r: &mut Resolver<'_>,
    ) -> Result<bool, TemplateError> {
        let Some(value) = props.and_then(|p| p.get(naming.property)) else {
            return Ok(false);
        };
        let value = self.structural(value, r)?;
        let items: Vec<&Node> = match (by, value.as_seq()) {
            (ByName::RoleName, _) => vec![&value],
            (ByName::Roles, Some(items)) => items.iter().collect(),
            (ByName::Roles, None) if is_no_value(&value) => Vec::new(),
            (ByName::Roles, None) => {
                return Err(TemplateError::at(
                    value.loc.clone(),
                    format!("Roles of {} must be a list", naming.policy),
                ));
            }
        };
        let mut attached = false;
        for item in items {
            attached |= self.denotes_role(item, naming, role_name, r)?;
        }
        Ok(attached)
    }

    /// Does one name in `Roles`/`RoleName` denote the role? `!Ref Role` does, `!Ref` of
    /// another role does not; any other value is resolved and compared with the role's
    /// `RoleName`. A role without `RoleName` gets a generated name with a random suffix,
    /// which no name written in the template can be. A missing value, or a comparison that
    /// rests on a pseudo parameter's built-in default (`AWS::StackName`, ...), is reported
    /// as a value to supply: never a guess, since a dropped Deny would widen access.
    fn denotes_role(
        &self,
        item: &Node,
        naming: &Naming<'_>,
        role_name: &mut RoleName,
        r: &mut Resolver<'_>,
    ) -> Result<bool, TemplateError> {
        let item = self.structural(item, r)?;
        if is_no_value(&item) {
            return Ok(false);
        }
        if let Some(target) = ref_target(&item) {
            if target == naming.role {
                return Ok(true);
            }
            if self.resource_type(target) == Some("AWS::IAM::Role") {
                return Ok(false);
            }
        }
        let Some(name) = self.name_of(&item, naming, r)? else {
            return Ok(false);
        };
        if role_name.resolved.is_none() {
            role_name.resolved = Some(self.own_name(naming, r)?);
        }
        let Some(Some(own)) = &role_name.resolved else {
            // The role's name is generated and not given. A name written without the role
            // cannot be it; one computed from the role (`${Role}`, `!GetAtt Role.Arn`, ...)
            // may be, and only its physical name tells.
            if mentions(&item, naming.role, None) {
                r.missing.push(Missing {
                    name: naming.role.to_string(),
                    loc: item.loc.clone(),
                    what: "the role's physical name, to tell whether a name computed from the role names it",
                });
            }
            return Ok(false);
        };
        if name.guessed.is_empty() && own.guessed.is_empty() {
            return Ok(name.text == own.text);
        }
        if super::to_json_unchecked(&name.node) == super::to_json_unchecked(&own.node) {
            return Ok(true);
        }
        for (guessed, at) in [(&name.guessed, &name.node), (&own.guessed, &own.node)] {
            for g in guessed {
                r.missing.push(Missing {
                    name: g.to_string(),
                    loc: at.loc.clone(),
                    what: "pseudo parameter, to tell which role a policy attaches to",
                });
            }
        }
        Ok(false)
    }

    /// The role's name: its `RoleName`, resolved, or else the physical name given as the
    /// value of its logical id (what `Ref` of the role resolves to); `None` when it has
    /// neither (a generated name nobody gave) or a value is missing (reported by the
    /// resolver). A given name that contradicts a resolved `RoleName` is an error: which
    /// of the two is deployed decides which policies attach.
    fn own_name(
        &self,
        naming: &Naming<'_>,
        r: &mut Resolver<'_>,
    ) -> Result<Option<Named>, TemplateError> {
        let resource = self.resource(naming.role)?;
        let given = self.params.resolve(naming.role).map(|text| Named {
            text: text.to_string(),
            node: resource.clone(),
            guessed: Vec::new(),
        });
        let node = resource.get("Properties").and_then(|p| p.get("RoleName"));
        let Some(node) = node else {
            return Ok(given);
        };
        let node = self.structural(node, r)?;
        if is_no_value(&node) {
            return Ok(given);
        }
        let own = Naming {
            role: naming.role,
            policy: naming.role,
            property: "RoleName",
        };
        let named = self.name_of(&node, &own, r)?;
        if let (Some(named), Some(given)) = (&named, &given)
            && named.guessed.is_empty()
            && named.text != given.text
        {
            return Err(TemplateError::at(
                node.loc.clone(),
                format!(
                    "role {} is given the name {:?}, but its RoleName is {:?}",
                    naming.role, given.text, named.text
                ),
            ));
        }
        Ok(named.or(given))
    }

    /// A name resolved to text, with the pseudo-parameter defaults it used; `None` when a
    /// value is missing.
    fn name_of(
        &self,
        node: &Node,
        naming: &Naming<'_>,
        r: &mut Resolver<'_>,
    ) -> Result<Option<Named>, TemplateError> {
        let (missing, guessed) = (r.missing.len(), r.guessed.len());
        let value = r.resolve(node)?;
        if r.missing.len() > missing {
            return Ok(None);
        }
        let text = match value {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            _ => {
                return Err(TemplateError::at(
                    node.loc.clone(),
                    format!(
                        "cannot tell whether {} attaches to {}: a {} entry must be !Ref of a role or a role name",
                        naming.policy, naming.role, naming.property
                    ),
                ));
            }
        };
        Ok(Some(Named {
            text,
            node: node.clone(),
            guessed: r.guessed[guessed..].to_vec(),
        }))
    }

    /// Refuse a resource whose effect policy-sim does not read when it could attach a
    /// policy to the role: a nested stack or a custom resource that is given the role
    /// (`Ref`, `Fn::GetAtt`, `${Role}`, or its written `RoleName`), or any of them when the
    /// role has a `RoleName` (which they could use without being given it); a SAM resource
    /// given the role; any SAM connector (it adds policies to the roles of what it
    /// connects).
    pub(super) fn opaque(
        &self,
        logical: &str,
        res: &Node,
        ty: &str,
        role: &str,
        r: &mut Resolver<'_>,
    ) -> Result<(), TemplateError> {
        let named = self
            .resource(role)?
            .get("Properties")
            .and_then(|p| p.get("RoleName"));
        let literal = named.and_then(Node::as_str);
        let given = || {
            res.get("Properties")
                .is_some_and(|p| mentions(p, role, literal))
        };
        let nested = matches!(
            ty,
            "AWS::CloudFormation::Stack" | "AWS::Serverless::Application"
        );
        let custom = ty == "AWS::CloudFormation::CustomResource" || ty.starts_with("Custom::");
        let unread = res.get(super::stacks::UNREAD).and_then(Node::as_str);
        let unread_why;
        let why = if nested && (named.is_some() || given()) {
            match unread {
                Some(reason) => {
                    unread_why = format!("is a nested stack whose template was not read: {reason}");
                    unread_why.as_str()
                }
                None => "is a nested stack, which policy-sim does not read",
            }
        } else if custom && (named.is_some() || given()) {
            "is a custom resource, whose effect policy-sim cannot know"
        } else if ty == "AWS::Serverless::Connector" {
            "is a SAM connector, which adds policies to the roles of the resources it connects"
        } else if res.get("Connectors").is_some() {
            "has SAM Connectors, which add policies to the roles of the resources they connect"
        } else if ty.starts_with("AWS::Serverless::") && given() {
            "is a SAM resource given the role, and policy-sim does not expand SAM"
        } else {
            return Ok(());
        };
        if !self.resource_exists(res, r)? {
            return Ok(());
        }
        Err(TemplateError::at(
            res.loc.clone(),
            format!(
                "{logical} ({ty}) {why}: it could attach policies to role {role} that would not be checked"
            ),
        ))
    }
}

/// Does `node` name the role: `Ref`/`Fn::GetAtt` of its logical id, `${Role}` or
/// `${Role.Attr}` in a `Fn::Sub`, or its written `RoleName`?
fn mentions(node: &Node, role: &str, literal: Option<&str>) -> bool {
    let (whole, attribute) = (format!("${{{role}}}"), format!("${{{role}."));
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if ref_target(n) == Some(role) || get_att_target(n) == Some(role) {
            return true;
        }
        match &n.kind {
            Kind::Scalar(s, _) => {
                if Some(s.as_str()) == literal || s.contains(&whole) || s.contains(&attribute) {
                    return true;
                }
            }
            Kind::Seq(items) => stack.extend(items),
            Kind::Map(entries) => stack.extend(entries.iter().map(|(_, v)| v)),
            Kind::Null => {}
        }
    }
    false
}

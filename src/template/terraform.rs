//! Terraform: the JSON `terraform show -json` prints for a plan or a state (HashiCorp's
//! "JSON Output Format"), lowered into the one CloudFormation tree the rest of the crate
//! reads. Each resource instance becomes a resource whose logical id is its address as
//! the file writes it (`aws_iam_role.auth`, `module.app.aws_iam_role_policy.api`,
//! `aws_iam_policy.p["key"]`), its values keeping their places in the file.
//!
//! - a plan's instances are its `resource_changes` (`change.after`, `change.after_unknown`;
//!   an instance being destroyed does not exist), plus the data sources read while
//!   planning (`prior_state`); a state's are `values.root_module` and its `child_modules`;
//! - a value known only after apply that the `configuration` says is a reference to
//!   another instance of the file (`aws_iam_role.auth.arn`, through module variables
//!   too) is bound to it symbolically (`Ref`, `Fn::GetAtt [ADDRESS, Arn]`), and the binding
//!   is noted; any other becomes `Fn::GetAtt [ADDRESS, ATTRIBUTE]`, a value to give as
//!   `--param ADDRESS.ATTRIBUTE=VALUE`;
//! - known ids are given as what `Ref` of the instance resolves to (a role's name, a
//!   pool's or an API's id, a bucket's name, a policy's ARN), and a known ARN or id that
//!   names an instance of the file is joined to it;
//! - a resource type that could attach a policy to a role and is not read is refused by
//!   name, never skipped.
//!
//! What is read and refused is written down in `docs/templates.md` ("Terraform").

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use super::Lowered;
use super::node::{Kind, Loc, Node, get_att, map, reference, seq, text};
use super::{Missing, Names, Params, TemplateError};

/// Whether a parsed document is Terraform's: a mapping with `format_version` and
/// `terraform_version`, `planned_values` or `values` (`terraform show -json`), or with
/// `terraform_version` alone (a raw state file, refused by [`lower`] with what to give
/// instead).
pub fn is_terraform(doc: &Node) -> bool {
    doc.as_map().is_some()
        && (doc.get("terraform_version").is_some()
            || (doc.get("format_version").is_some()
                && ["planned_values", "values"]
                    .iter()
                    .any(|k| doc.get(k).is_some())))
}

/// `aws_iam_*` resource types that attach no policy to a role (users, groups, account
/// settings, identity providers, instance profiles, service-linked roles with AWS's own
/// policy). Any other `aws_iam_*` type not read below is refused.
const IAM_HARMLESS: &[&str] = &[
    "aws_iam_access_key",
    "aws_iam_account_alias",
    "aws_iam_account_password_policy",
    "aws_iam_group",
    "aws_iam_group_membership",
    "aws_iam_group_policy",
    "aws_iam_group_policy_attachment",
    "aws_iam_group_policies_exclusive",
    "aws_iam_group_policy_attachments_exclusive",
    "aws_iam_instance_profile",
    "aws_iam_openid_connect_provider",
    "aws_iam_saml_provider",
    "aws_iam_security_token_service_preferences",
    "aws_iam_server_certificate",
    "aws_iam_service_linked_role",
    "aws_iam_service_specific_credential",
    "aws_iam_signing_certificate",
    "aws_iam_user",
    "aws_iam_user_group_membership",
    "aws_iam_user_login_profile",
    "aws_iam_user_policy",
    "aws_iam_user_policy_attachment",
    "aws_iam_user_policies_exclusive",
    "aws_iam_user_policy_attachments_exclusive",
    "aws_iam_user_ssh_key",
    "aws_iam_virtual_mfa_device",
];

/// The `aws_iam_*` resource types read (see `docs/templates.md`).
const IAM_READ: &[&str] = &[
    "aws_iam_role",
    "aws_iam_role_policy",
    "aws_iam_policy",
    "aws_iam_role_policy_attachment",
    "aws_iam_policy_attachment",
];

/// One resource instance of the file.
struct Instance<'d> {
    /// Its address, as written.
    address: String,
    /// Its module instance (`module.app`, `module.app[0]`), empty in the root module.
    module: String,
    /// A data source.
    data: bool,
    ty: String,
    name: String,
    /// `change.after` or `values`.
    values: Option<&'d Node>,
    /// `change.after_unknown` (a plan's `resource_changes` only).
    unknown: Option<&'d Node>,
    /// Whether `unknown` tells every unknown value (else a value absent may be unknown).
    complete: bool,
    /// The entry, for locations.
    at: &'d Node,
}

/// What an attribute holds.
enum Attr<'d> {
    /// A value (not null).
    Known(&'d Node),
    /// Known only after apply, the node that says so (for its place).
    Unknown(Loc),
    /// Not set.
    Absent,
}

/// How a reference of the configuration binds to an instance: the instance types and
/// attributes that fit, and what stands for them in the tree.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    /// A role's name (`name`, `id`): `Ref`.
    RoleName,
    /// A role's ARN: `Fn::GetAtt [Role, Arn]`.
    RoleArn,
    /// A managed policy's ARN (`arn`, `id`): `Ref`.
    PolicyArn,
    /// An identity pool's id: `Ref`.
    PoolId,
    /// A REST API's id: `Ref`.
    ApiId,
    /// A bucket's name (`id`, `bucket`): `Ref`.
    Bucket,
    /// A policy document: a `data.aws_iam_policy_document`'s `json`.
    Document,
    /// Nothing binds: the value itself.
    Plain,
}

impl Want {
    /// The instance type and the attributes a reference must end with.
    fn fits(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Want::RoleName => ("aws_iam_role", &["name", "id"]),
            Want::RoleArn => ("aws_iam_role", &["arn"]),
            Want::PolicyArn => ("aws_iam_policy", &["arn", "id"]),
            Want::PoolId => ("aws_cognito_identity_pool", &["id"]),
            Want::ApiId => ("aws_api_gateway_rest_api", &["id"]),
            Want::Bucket => ("aws_s3_bucket", &["id", "bucket"]),
            Want::Document => ("aws_iam_policy_document", &["json", "minified_json"]),
            Want::Plain => ("", &[]),
        }
    }
}

/// What a module variable stands for: the references it was followed to, or `None`
/// when it cannot be followed.
type Followed = Option<Vec<String>>;

/// The lowering of one file.
struct Lowering<'d> {
    doc: &'d Node,
    params: &'d Params,
    instances: Vec<Instance<'d>>,
    by_address: HashMap<String, usize>,
    /// `(module path without instance keys, data, type, name)` → `expressions`.
    config: HashMap<(String, bool, String, String), &'d Node>,
    /// Module path → the `expressions` of its call in the parent.
    calls: HashMap<String, &'d Node>,
    /// Whether the file has a `configuration` (a plan).
    has_config: bool,
    /// Symbolic bindings and other modelling, said to the user.
    notes: Vec<String>,
    /// Values needed now (which role an attachment is for) and not given.
    missing: Vec<Missing>,
    /// The references a module variable stands for, by `(module, variable)`: followed
    /// once (two variables of each module that both refer to both of its caller's
    /// would otherwise be followed 2^depth times).
    variables: RefCell<HashMap<(String, String), Followed>>,
}

/// The text of a scalar node, if it is one and not empty.
fn nonempty(node: &Node) -> Option<&str> {
    node.as_str().filter(|s| !s.is_empty())
}

/// Split at the last `.` outside brackets and quotes: `aws_iam_policy.p["a.b"].arn` →
/// (`aws_iam_policy.p["a.b"]`, `arn`).
fn split_last_dot(s: &str) -> Option<(&str, &str)> {
    let (mut depth, mut quoted, mut escaped, mut last) = (0usize, false, false, None);
    for (i, c) in s.char_indices() {
        if quoted {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '.' if depth == 0 => last = Some(i),
            _ => {}
        }
    }
    last.map(|i| (&s[..i], &s[i + 1..]))
}

/// A module instance address without its instance keys: `module.a[0].module.b["x"]` →
/// `module.a.module.b` (the configuration has one entry per module call).
fn module_path(module: &str) -> String {
    let (mut out, mut depth, mut quoted, mut escaped) = (String::new(), 0usize, false, false);
    for c in module.chars() {
        if quoted {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' if depth > 0 => quoted = true,
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The parent module instance of `module` and the name of its call: `module.a.module.b`
/// → (`module.a`, `b`).
fn parent_module(module: &str) -> Option<(String, String)> {
    let (parent, last) = match split_last_dot(module) {
        Some((head, name)) => {
            let parent = head
                .strip_suffix(".module")
                .or_else(|| if head == "module" { Some("") } else { None })?;
            (parent.to_string(), name)
        }
        None => return None,
    };
    let name = last.split('[').next().unwrap_or(last).to_string();
    Some((parent, name))
}

/// Refuse a copied value that would read as an intrinsic function (a mapping with the
/// single key `Ref`, `Condition` or `Fn::...`): values of the file are data.
fn literal(node: &Node) -> Result<&Node, TemplateError> {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if let Some((key, _)) = n.single_entry()
            && (key == "Ref" || key == "Condition" || key.starts_with("Fn::"))
        {
            return Err(TemplateError::at(
                n.loc.clone(),
                format!(
                    "a value of the plan is a mapping with the single key {key:?}, which policy-sim would read as a CloudFormation function"
                ),
            ));
        }
        match &n.kind {
            Kind::Seq(items) => stack.extend(items),
            Kind::Map(entries) => stack.extend(entries.iter().map(|(_, v)| v)),
            Kind::Null | Kind::Scalar(..) => {}
        }
    }
    Ok(node)
}

/// Lower a plan or state (see [`is_terraform`]) into a CloudFormation template.
/// `params` gives, at this stage, which role an attachment is for when the file cannot
/// tell (see `docs/templates.md`).
pub fn lower(doc: &Node, params: &Params) -> Result<Lowered, TemplateError> {
    check_version(doc)?;
    let mut l = Lowering {
        doc,
        params,
        instances: Vec::new(),
        by_address: HashMap::new(),
        config: HashMap::new(),
        calls: HashMap::new(),
        has_config: false,
        notes: Vec::new(),
        missing: Vec::new(),
        variables: RefCell::default(),
    };
    l.read_instances()?;
    if let Some(root) = doc.get("configuration").and_then(|c| c.get("root_module")) {
        l.has_config = true;
        l.read_config(root, String::new(), 0)?;
    }
    l.refuse_unread()?;
    let (resources, parameters) = l.resources()?;
    if !l.missing.is_empty() {
        return Err(TemplateError::Missing(l.missing));
    }
    let mut names = Names::default();
    for (address, res) in &resources {
        if res.get("Type").and_then(Node::as_str) == Some("AWS::IAM::Role")
            && let Some(name) = res
                .get("Properties")
                .and_then(|p| p.get("RoleName"))
                .and_then(nonempty)
        {
            names.add(name, address.clone());
        }
    }
    let loc = &doc.loc;
    let cfn = map(
        vec![
            ("Parameters".to_string(), map(parameters, loc)),
            ("Resources".to_string(), map(resources, loc)),
        ],
        loc,
    );
    Ok(Lowered {
        cfn,
        input: super::InputKind::Terraform,
        names,
        notes: condensed(l.notes),
        region: region(doc),
    })
}

/// Accept format versions 0.x and 1.x (a new major version is not backward compatible).
fn check_version(doc: &Node) -> Result<(), TemplateError> {
    let Some(v) = doc.get("format_version") else {
        return Err(TemplateError::at(
            doc.loc.clone(),
            "this Terraform file has no format_version: it is a raw state (terraform.tfstate), not the JSON that terraform show -json prints; give that output instead".to_string(),
        ));
    };
    match v.as_str() {
        Some(s) if s.starts_with("0.") || s.starts_with("1.") => Ok(()),
        _ => Err(TemplateError::at(
            v.loc.clone(),
            format!(
                "Terraform JSON format_version {} is not supported (major versions 0 and 1 are)",
                v.describe()
            ),
        )),
    }
}

/// The region of the only default `aws` provider configuration, when a constant.
fn region(doc: &Node) -> Option<String> {
    let configs = doc
        .get("configuration")
        .and_then(|c| c.get("provider_config"))
        .and_then(Node::as_map)?;
    let mut regions = configs
        .iter()
        .filter(|(_, p)| {
            p.get("name").and_then(Node::as_str) == Some("aws") && p.get("alias").is_none()
        })
        .map(|(_, p)| {
            p.get("expressions")
                .and_then(|e| e.get("region"))
                .and_then(|r| r.get("constant_value"))
                .and_then(nonempty)
                .map(str::to_string)
        });
    let first = regions.next()??;
    match regions.next() {
        None => Some(first),
        Some(_) => None,
    }
}

/// A required string field of an entry.
fn field<'n>(entry: &'n Node, key: &str, what: &str) -> Result<&'n str, TemplateError> {
    entry.get(key).and_then(Node::as_str).ok_or_else(|| {
        TemplateError::at(entry.loc.clone(), format!("{what} has no string {key:?}"))
    })
}

/// The items of an optional list field.
fn list<'n>(node: Option<&'n Node>, what: &str) -> Result<&'n [Node], TemplateError> {
    match node {
        None => Ok(&[]),
        Some(n) if matches!(n.kind, Kind::Null) => Ok(&[]),
        Some(n) => n
            .as_seq()
            .ok_or_else(|| TemplateError::at(n.loc.clone(), format!("{what} must be a list"))),
    }
}

impl<'d> Lowering<'d> {
    /// Read the instances: a plan's `resource_changes` (or, without them, its
    /// `planned_values`) and the data sources of its `prior_state`; a state's `values`.
    fn read_instances(&mut self) -> Result<(), TemplateError> {
        let doc = self.doc;
        if let Some(changes) = doc.get("resource_changes") {
            for change in list(Some(changes), "resource_changes")? {
                self.read_change(change)?;
            }
        } else if let Some(planned) = doc.get("planned_values") {
            self.read_module(planned.get("root_module"), false, 0)?;
        } else if let Some(values) = doc.get("values") {
            self.read_module(values.get("root_module"), false, 0)?;
        }
        if let Some(prior) = doc.get("prior_state").and_then(|p| p.get("values")) {
            self.read_module(prior.get("root_module"), true, 0)?;
        }
        Ok(())
    }

    /// One `resource_changes` entry: the instance after the change, unless it is being
    /// destroyed (or is a deposed object).
    fn read_change(&mut self, entry: &'d Node) -> Result<(), TemplateError> {
        let what = "a resource_changes entry";
        let address = field(entry, "address", what)?;
        if entry.get("deposed").is_some() {
            return Ok(());
        }
        let change = entry.get("change").ok_or_else(|| {
            TemplateError::at(entry.loc.clone(), format!("{address} has no \"change\""))
        })?;
        let actions = list(change.get("actions"), "change.actions")?;
        let mut deleted = false;
        for a in actions {
            match a.as_str() {
                Some("delete") => deleted = true,
                Some("create" | "update" | "no-op" | "read" | "forget") => {}
                _ => {
                    return Err(TemplateError::at(
                        a.loc.clone(),
                        format!("{address}: unknown change action {}", a.describe()),
                    ));
                }
            }
        }
        let forgotten = actions.iter().any(|a| a.as_str() == Some("forget"));
        let replaced = actions.iter().any(|a| a.as_str() == Some("create"));
        if actions.is_empty() || ((deleted || forgotten) && !replaced) {
            return Ok(());
        }
        let after = change
            .get("after")
            .filter(|a| !matches!(a.kind, Kind::Null));
        let Some(after) = after else {
            return Err(TemplateError::at(
                change.loc.clone(),
                format!("{address} is not destroyed but its change has no \"after\""),
            ));
        };
        self.push(
            entry,
            address,
            Some(after),
            change.get("after_unknown"),
            true,
        )
    }

    /// The resources of a values representation's module and its child modules: all of
    /// them, or (`data_only`) the data sources not already read.
    fn read_module(
        &mut self,
        module: Option<&'d Node>,
        data_only: bool,
        depth: usize,
    ) -> Result<(), TemplateError> {
        let Some(module) = module else {
            return Ok(());
        };
        if depth > 64 {
            return Err(TemplateError::at(
                module.loc.clone(),
                "modules nest too deeply".to_string(),
            ));
        }
        for r in list(module.get("resources"), "resources")? {
            let address = field(r, "address", "a resource")?;
            let data = r.get("mode").and_then(Node::as_str) == Some("data");
            if data_only && (!data || self.by_address.contains_key(address)) {
                continue;
            }
            self.push(r, address, r.get("values"), None, false)?;
        }
        for child in list(module.get("child_modules"), "child_modules")? {
            self.read_module(Some(child), data_only, depth + 1)?;
        }
        Ok(())
    }

    /// Record an instance.
    fn push(
        &mut self,
        entry: &'d Node,
        address: &str,
        values: Option<&'d Node>,
        unknown: Option<&'d Node>,
        complete: bool,
    ) -> Result<(), TemplateError> {
        let what = address;
        let ty = field(entry, "type", what)?.to_string();
        let name = field(entry, "name", what)?.to_string();
        let data = match entry.get("mode").and_then(Node::as_str) {
            Some("managed") | None => false,
            Some("data") => true,
            Some(other) => {
                return Err(TemplateError::at(
                    entry.loc.clone(),
                    format!("{address}: unknown mode {other:?}"),
                ));
            }
        };
        let module = match entry.get("module_address").and_then(Node::as_str) {
            Some(m) => m.to_string(),
            None => module_of(address, data, &ty),
        };
        if let Some(v) = values
            && v.as_map().is_none()
        {
            return Err(TemplateError::at(
                v.loc.clone(),
                format!("the values of {address} must be a mapping"),
            ));
        }
        if self.by_address.contains_key(address) {
            return Err(TemplateError::at(
                entry.loc.clone(),
                format!("resource {address} is listed twice"),
            ));
        }
        self.by_address
            .insert(address.to_string(), self.instances.len());
        self.instances.push(Instance {
            address: address.to_string(),
            module,
            data,
            ty,
            name,
            values,
            unknown,
            complete,
            at: entry,
        });
        Ok(())
    }

    /// Index the configuration's resources and module calls.
    fn read_config(
        &mut self,
        module: &'d Node,
        path: String,
        depth: usize,
    ) -> Result<(), TemplateError> {
        if depth > 64 {
            return Err(TemplateError::at(
                module.loc.clone(),
                "modules nest too deeply".to_string(),
            ));
        }
        for r in list(module.get("resources"), "configuration resources")? {
            let (Some(ty), Some(name)) = (
                r.get("type").and_then(Node::as_str),
                r.get("name").and_then(Node::as_str),
            ) else {
                continue;
            };
            let data = r.get("mode").and_then(Node::as_str) == Some("data");
            if let Some(e) = r.get("expressions") {
                self.config
                    .insert((path.clone(), data, ty.to_string(), name.to_string()), e);
            }
        }
        if let Some(calls) = module.get("module_calls").and_then(Node::as_map) {
            for (name, call) in calls {
                let child = if path.is_empty() {
                    format!("module.{name}")
                } else {
                    format!("{path}.module.{name}")
                };
                if let Some(e) = call.get("expressions") {
                    self.calls.insert(child.clone(), e);
                }
                if let Some(m) = call.get("module") {
                    self.read_config(m, child, depth + 1)?;
                }
            }
        }
        Ok(())
    }

    /// Refuse what could attach a policy to a role and is not read.
    fn refuse_unread(&self) -> Result<(), TemplateError> {
        for i in &self.instances {
            if i.data {
                continue;
            }
            let ty = i.ty.as_str();
            // Cloud Control creates any CloudFormation type: an IAM one is refused.
            let cloud_control = ty == "aws_cloudcontrolapi_resource"
                && i.values
                    .and_then(|v| v.get("type_name"))
                    .and_then(Node::as_str)
                    .is_none_or(|t| t.starts_with("AWS::IAM::"));
            let refused = (ty.starts_with("aws_iam_")
                && !IAM_HARMLESS.contains(&ty)
                && !IAM_READ.contains(&ty))
                || ty.starts_with("awscc_iam_")
                || cloud_control;
            if refused {
                return Err(TemplateError::at(
                    i.at.loc.clone(),
                    format!(
                        "{} has type {ty}, which policy-sim does not read: it could attach policies to a role that would not be checked",
                        i.address
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The attribute `key` of an instance.
    fn attr(&self, i: &Instance<'d>, key: &str) -> Attr<'d> {
        let value = i
            .values
            .and_then(|v| v.get(key))
            .filter(|v| !matches!(v.kind, Kind::Null));
        let flagged = i.unknown.and_then(|u| u.get(key));
        if let Some(f) = flagged
            && f.as_str() == Some("true")
        {
            return Attr::Unknown(f.loc.clone());
        }
        if let Some(v) = value {
            return Attr::Known(v);
        }
        // Without `after_unknown`, an absent value may be one not known yet: it is when the
        // configuration gives the attribute an expression that is not a constant.
        if !i.complete
            && self.has_config
            && let Some(e) = self.expression(i, key)
            && e.get("constant_value").is_none()
        {
            return Attr::Unknown(i.at.loc.clone());
        }
        Attr::Absent
    }

    /// Whether an unknown value is set by the configuration (else it is computed by the
    /// provider from other resources, which are read themselves).
    fn configured(&self, i: &Instance<'d>, key: &str) -> bool {
        !self.has_config || self.config_of(i).is_none() || self.expression(i, key).is_some()
    }

    /// The configuration `expressions` of an instance's resource.
    fn config_of(&self, i: &Instance<'d>) -> Option<&'d Node> {
        self.config
            .get(&(module_path(&i.module), i.data, i.ty.clone(), i.name.clone()))
            .copied()
    }

    /// The configuration expression of an attribute.
    fn expression(&self, i: &Instance<'d>, key: &str) -> Option<&'d Node> {
        self.config_of(i).and_then(|e| e.get(key))
    }

    /// The references of an expression, absolute (module variables followed into the
    /// calling module), keeping only the longest of each chain (`aws_iam_role.a.arn`,
    /// not `aws_iam_role.a`). `None` when one cannot be followed (a local value, a
    /// module output, `each`, `count`, ...).
    fn references(&self, expr: &Node, module: &str, depth: usize) -> Option<Vec<String>> {
        if depth > 32 {
            return None;
        }
        let refs = expr.get("references")?.as_seq()?;
        let mut out = Vec::new();
        for r in refs {
            let r = r.as_str()?;
            if let Some(var) = r.strip_prefix("var.") {
                let var = var.split(['.', '[']).next().unwrap_or(var).to_string();
                let key = (module.to_string(), var);
                let known = self.variables.borrow().get(&key).cloned();
                let followed = match known {
                    Some(followed) => followed,
                    None => {
                        let followed = (|| {
                            let (parent, _) = parent_module(module)?;
                            let call = self.calls.get(&module_path(module))?;
                            let e = call.get(&key.1)?;
                            if e.get("constant_value").is_some() {
                                return None;
                            }
                            self.references(e, &parent, depth + 1)
                        })();
                        self.variables.borrow_mut().insert(key, followed.clone());
                        followed
                    }
                };
                out.extend(followed?);
                continue;
            }
            let resource = r
                .split('.')
                .next()
                .is_some_and(|head| head == "data" || head.contains('_'));
            if !resource {
                return None;
            }
            out.push(if module.is_empty() {
                r.to_string()
            } else {
                format!("{module}.{r}")
            });
        }
        let longest: Vec<String> = out
            .iter()
            .filter(|r| {
                !out.iter().any(|o| {
                    o.len() > r.len()
                        && o.starts_with(r.as_str())
                        && o[r.len()..].starts_with(['.', '['])
                })
            })
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        (!longest.is_empty()).then_some(longest)
    }

    /// The instances the references of `key`'s expression name as `want` asks, when
    /// every reference does.
    fn bound(&self, i: &Instance<'d>, key: &str, want: Want) -> Option<Vec<usize>> {
        if want == Want::Plain {
            return None;
        }
        let expr = self.expression(i, key)?;
        let refs = self.references(expr, &i.module, 0)?;
        let (ty, attrs) = want.fits();
        let mut out = Vec::new();
        for r in &refs {
            let (target, attr) = split_last_dot(r)?;
            let &t = self.by_address.get(target)?;
            let inst = &self.instances[t];
            if inst.ty != ty || !attrs.contains(&attr) || (inst.data != (want == Want::Document)) {
                return None;
            }
            if !out.contains(&t) {
                out.push(t);
            }
        }
        Some(out)
    }

    /// What stands for instance `t` as `want` asks.
    fn symbol(&self, t: usize, want: Want, loc: &Loc) -> Node {
        let address = &self.instances[t].address;
        match want {
            Want::RoleArn => get_att(address, "Arn", loc),
            Want::Document => match self.attr(&self.instances[t], "json") {
                Attr::Known(n) => n.clone(),
                Attr::Unknown(_) | Attr::Absent => get_att(address, "json", loc),
            },
            Want::RoleName
            | Want::PolicyArn
            | Want::PoolId
            | Want::ApiId
            | Want::Bucket
            | Want::Plain => reference(address, loc),
        }
    }

    /// A known value that names an instance of the file (a role's or a policy's ARN, a
    /// pool's or an API's id) as the symbol for it; else the value.
    fn join(&self, value: &'d Node, want: Want) -> Result<Node, TemplateError> {
        let value = literal(value)?;
        let (ty, key) = match want {
            Want::RoleArn => ("aws_iam_role", "arn"),
            Want::PolicyArn => ("aws_iam_policy", "arn"),
            Want::PoolId => ("aws_cognito_identity_pool", "id"),
            Want::ApiId => ("aws_api_gateway_rest_api", "id"),
            Want::RoleName | Want::Bucket | Want::Document | Want::Plain => {
                return Ok(value.clone());
            }
        };
        let Some(s) = nonempty(value) else {
            return Ok(value.clone());
        };
        let found = self.instances.iter().position(|i| {
            !i.data
                && i.ty == ty
                && i.values.and_then(|v| v.get(key)).and_then(Node::as_str) == Some(s)
        });
        Ok(match found {
            Some(t) => self.symbol(t, want, &value.loc),
            None => value.clone(),
        })
    }

    /// The value of attribute `key` for the tree: known (joined by value), bound to the
    /// instance its configuration refers to, or `Fn::GetAtt [ADDRESS, key]`.
    /// Each `(attribute, property, want)` of `i` that has a value (see [`Lowering::value`]),
    /// pushed as that property, in order.
    fn copy(
        &mut self,
        i: &Instance<'d>,
        props: &mut Vec<(String, Node)>,
        pairs: &[(&str, &str, Want)],
    ) -> Result<(), TemplateError> {
        for &(attribute, property, want) in pairs {
            if let Some(v) = self.value(i, attribute, want)? {
                props.push((property.to_string(), v));
            }
        }
        Ok(())
    }

    fn value(
        &mut self,
        i: &Instance<'d>,
        key: &str,
        want: Want,
    ) -> Result<Option<Node>, TemplateError> {
        match self.attr(i, key) {
            Attr::Absent => Ok(None),
            Attr::Known(v) => self.join(v, want).map(Some),
            Attr::Unknown(loc) => Ok(Some(self.unknown(i, key, want, &loc))),
        }
    }

    /// A value known only after apply: bound symbolically when the configuration refers
    /// to exactly one instance that fits, else a value to give.
    fn unknown(&mut self, i: &Instance<'d>, key: &str, want: Want, loc: &Loc) -> Node {
        // A value given with `--param ADDRESS.ATTR` wins over any binding.
        if self.params.get(&format!("{}.{key}", i.address)).is_some() {
            return get_att(&i.address, key, loc);
        }
        if let Some(bound) = self.bound(i, key, want)
            && let [t] = bound.as_slice()
        {
            self.note_binding(i, key, *t);
            return self.symbol(*t, want, loc);
        }
        get_att(&i.address, key, loc)
    }

    /// Note a symbolic binding (once, however often the value is read; [`condensed`]
    /// joins them into one note).
    fn note_binding(&mut self, i: &Instance<'d>, key: &str, t: usize) {
        let note = format!(
            "{}.{key} is known only after apply; its configuration refers to {}, which it is taken to be",
            i.address, self.instances[t].address
        );
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// A list attribute: its known items (joined by value), and for items known only
    /// after apply, every instance its configuration refers to (or one value to give).
    fn values(
        &mut self,
        i: &Instance<'d>,
        key: &str,
        want: Want,
    ) -> Result<Vec<Node>, TemplateError> {
        let mut out = Vec::new();
        let known = i
            .values
            .and_then(|v| v.get(key))
            .filter(|v| !matches!(v.kind, Kind::Null));
        for item in list(known, key)? {
            if !matches!(item.kind, Kind::Null) {
                out.push(self.join(item, want)?);
            }
        }
        let flag = i.unknown.and_then(|u| u.get(key));
        let some_unknown = |n: &Node| {
            let mut stack = vec![n];
            while let Some(n) = stack.pop() {
                match &n.kind {
                    Kind::Scalar(s, _) if s == "true" => return true,
                    Kind::Seq(items) => stack.extend(items),
                    Kind::Map(entries) => stack.extend(entries.iter().map(|(_, v)| v)),
                    Kind::Null | Kind::Scalar(..) => {}
                }
            }
            false
        };
        let unknown = match flag {
            Some(f) if some_unknown(f) => Some(f.loc.clone()),
            _ => match self.attr(i, key) {
                Attr::Unknown(loc) => Some(loc),
                Attr::Known(_) | Attr::Absent => None,
            },
        };
        if let Some(loc) = unknown {
            if !self.configured(i, key) {
                return Ok(out);
            }
            match self.bound(i, key, want) {
                Some(bound) if !bound.is_empty() => {
                    for t in bound {
                        self.note_binding(i, key, t);
                        out.push(self.symbol(t, want, &loc));
                    }
                }
                _ => out.push(get_att(&i.address, key, &loc)),
            }
        }
        Ok(out)
    }

    /// Every resource of the template, and the `Parameters` holding known ids.
    #[allow(clippy::type_complexity)]
    fn resources(&mut self) -> Result<(Vec<(String, Node)>, Vec<(String, Node)>), TemplateError> {
        let mut out: Vec<(String, Node)> = Vec::new();
        let mut parameters = Vec::new();
        // Policies of the file attached to roles, and ARNs outside it attached to roles:
        // by the address of the policy / of the role.
        let mut policy_roles: HashMap<usize, Vec<Node>> = HashMap::new();
        let mut role_arns: HashMap<usize, Vec<Node>> = HashMap::new();
        // REST API policies given by `aws_api_gateway_rest_api_policy`, by API.
        let mut api_policies: HashMap<usize, (String, Node)> = HashMap::new();
        let mut outside_apis: Vec<(String, Node, Node)> = Vec::new();
        // Buckets an `aws_s3_bucket_policy` is for (by address, or by name); a bucket
        // without one may carry its own (deprecated) `policy`.
        let mut with_policy: Vec<Node> = Vec::new();
        let mut own_policies: Vec<(String, Node, Loc)> = Vec::new();
        for idx in 0..self.instances.len() {
            let i = self.instance(idx);
            if i.data {
                continue;
            }
            match i.ty.as_str() {
                "aws_iam_role_policy_attachment" => {
                    let role = self.value(&i, "role", Want::RoleName)?;
                    let arn = self.value(&i, "policy_arn", Want::PolicyArn)?;
                    if let (Some(role), Some(arn)) = (role, arn) {
                        self.attach(&i, role, arn, &mut policy_roles, &mut role_arns)?;
                    }
                }
                "aws_iam_policy_attachment" => {
                    let roles = self.values(&i, "roles", Want::RoleName)?;
                    if let Some(arn) = self.value(&i, "policy_arn", Want::PolicyArn)? {
                        for role in roles {
                            self.attach(&i, role, arn.clone(), &mut policy_roles, &mut role_arns)?;
                        }
                    }
                }
                "aws_s3_bucket_policy" => {
                    if let Some(b) = self.value(&i, "bucket", Want::Bucket)? {
                        with_policy.push(b);
                    }
                }
                "aws_api_gateway_rest_api_policy" => {
                    let policy = self.value(&i, "policy", Want::Document)?;
                    let api = self.value(&i, "rest_api_id", Want::ApiId)?;
                    let (Some(policy), Some(api)) = (policy, api) else {
                        continue;
                    };
                    match super::ref_target(&api).and_then(|a| self.by_address.get(a)) {
                        Some(&a) => {
                            if let Some((first, _)) =
                                api_policies.insert(a, (i.address.clone(), policy))
                            {
                                return Err(TemplateError::at(
                                    i.at.loc.clone(),
                                    format!(
                                        "{first} and {} both set the policy of {}: which one applies is not known",
                                        i.address, self.instances[a].address
                                    ),
                                ));
                            }
                        }
                        None => outside_apis.push((i.address.clone(), api, policy)),
                    }
                }
                _ => {}
            }
        }
        for idx in 0..self.instances.len() {
            let i = self.instance(idx);
            let loc = i.at.loc.clone();
            let mut props: Vec<(String, Node)> = Vec::new();
            let mut known_id: Option<&'d Node> = None;
            let set = |props: &mut Vec<(String, Node)>, k: &str, v: Option<Node>| {
                if let Some(v) = v {
                    props.push((k.to_string(), v));
                }
            };
            let ty = match (i.data, i.ty.as_str()) {
                (true, "aws_iam_policy_document") => {
                    "Terraform::DataSource::aws_iam_policy_document"
                }
                (true, _) => continue,
                (false, "aws_iam_role") => {
                    known_id = self.known(&i, "name");
                    self.copy(
                        &i,
                        &mut props,
                        &[
                            ("name", "RoleName", Want::Plain),
                            ("path", "Path", Want::Plain),
                            (
                                "assume_role_policy",
                                "AssumeRolePolicyDocument",
                                Want::Document,
                            ),
                        ],
                    )?;
                    let inline = self.inline_policies(&i)?;
                    if !inline.is_empty() {
                        props.push(("Policies".to_string(), seq(inline, &loc)));
                    }
                    let mut arns = self.values(&i, "managed_policy_arns", Want::PolicyArn)?;
                    for extra in role_arns.remove(&idx).unwrap_or_default() {
                        let text = super::to_json_unchecked(&extra);
                        if !arns.iter().any(|a| super::to_json_unchecked(a) == text) {
                            arns.push(extra);
                        }
                    }
                    if !arns.is_empty() {
                        props.push(("ManagedPolicyArns".to_string(), seq(arns, &loc)));
                    }
                    let boundary = self.value(&i, "permissions_boundary", Want::PolicyArn)?;
                    set(
                        &mut props,
                        "PermissionsBoundary",
                        boundary.filter(|b| b.as_str() != Some("")),
                    );
                    "AWS::IAM::Role"
                }
                (false, "aws_iam_role_policy") => {
                    self.copy(
                        &i,
                        &mut props,
                        &[
                            ("name", "PolicyName", Want::Plain),
                            ("policy", "PolicyDocument", Want::Document),
                            ("role", "RoleName", Want::RoleName),
                        ],
                    )?;
                    "AWS::IAM::RolePolicy"
                }
                (false, "aws_iam_policy") => {
                    known_id = self.known(&i, "arn");
                    self.copy(
                        &i,
                        &mut props,
                        &[
                            ("name", "ManagedPolicyName", Want::Plain),
                            ("path", "Path", Want::Plain),
                            ("policy", "PolicyDocument", Want::Document),
                        ],
                    )?;
                    if let Some(roles) = policy_roles.remove(&idx) {
                        props.push(("Roles".to_string(), seq(roles, &loc)));
                    }
                    "AWS::IAM::ManagedPolicy"
                }
                (false, "aws_s3_bucket") => {
                    known_id = self.known(&i, "bucket");
                    let name = self.value(&i, "bucket", Want::Plain)?;
                    let targeted = with_policy.iter().any(|b| {
                        super::ref_target(b) == Some(i.address.as_str())
                            || (b.as_str().is_some()
                                && b.as_str() == known_id.and_then(Node::as_str))
                    });
                    // The bucket's own `policy` (deprecated, still set by some
                    // configurations) is its bucket policy when no aws_s3_bucket_policy
                    // is for it; a state repeats an aws_s3_bucket_policy's there.
                    if !targeted
                        && (self.known(&i, "policy").is_some() || self.configured(&i, "policy"))
                        && let Some(doc) = self.value(&i, "policy", Want::Document)?
                        && doc.as_str() != Some("")
                    {
                        own_policies.push((i.address.clone(), doc, i.at.loc.clone()));
                    }
                    set(&mut props, "BucketName", name);
                    "AWS::S3::Bucket"
                }
                (false, "aws_s3_bucket_policy") => {
                    self.copy(
                        &i,
                        &mut props,
                        &[
                            ("bucket", "Bucket", Want::Bucket),
                            ("policy", "PolicyDocument", Want::Document),
                        ],
                    )?;
                    "AWS::S3::BucketPolicy"
                }
                (false, "aws_api_gateway_rest_api") => {
                    known_id = self.known(&i, "id");
                    self.copy(&i, &mut props, &[("name", "Name", Want::Plain)])?;
                    let body = self.value(&i, "body", Want::Plain)?;
                    set(&mut props, "Body", body.filter(|b| b.as_str() != Some("")));
                    let policy = match api_policies.remove(&idx) {
                        Some((by, policy)) => {
                            self.notes.push(format!(
                                "the resource policy of {} is the one {by} sets",
                                i.address
                            ));
                            Some(policy)
                        }
                        None if self.configured(&i, "policy") => {
                            self.value(&i, "policy", Want::Document)?
                        }
                        None => None,
                    };
                    set(
                        &mut props,
                        "Policy",
                        policy.filter(|p| p.as_str() != Some("")),
                    );
                    "AWS::ApiGateway::RestApi"
                }
                (false, "aws_cognito_identity_pool") => {
                    known_id = self.known(&i, "id");
                    self.pool(&i, &mut props)?;
                    "AWS::Cognito::IdentityPool"
                }
                (false, "aws_cognito_identity_pool_roles_attachment") => {
                    self.copy(
                        &i,
                        &mut props,
                        &[("identity_pool_id", "IdentityPoolId", Want::PoolId)],
                    )?;
                    let roles = self.pool_roles(&i)?;
                    props.push(("Roles".to_string(), roles));
                    if let Some(m) = self.role_mappings(&i)? {
                        props.push(("RoleMappings".to_string(), m));
                    }
                    "AWS::Cognito::IdentityPoolRoleAttachment"
                }
                (false, "aws_cognito_user_group") => {
                    self.copy(&i, &mut props, &[("role_arn", "RoleArn", Want::RoleArn)])?;
                    "AWS::Cognito::UserPoolGroup"
                }
                (
                    false,
                    "aws_cloudformation_stack"
                    | "aws_cloudformation_stack_set"
                    | "aws_cloudformation_stack_instances"
                    | "aws_cloudformation_stack_set_instance"
                    | "aws_servicecatalog_provisioned_product",
                ) => {
                    // Its template's effect is not read: the stack is refused when it
                    // could name a role (as a nested stack is).
                    let mut copied = Vec::new();
                    if let Some(v) = i.values {
                        copied.push(("Values".to_string(), literal(v)?.clone()));
                    }
                    props.extend(copied);
                    "AWS::CloudFormation::Stack"
                }
                // Read above; in the tree only as what `Fn::GetAtt` of a value known only
                // after apply names (a REST API policy for an API outside the file is a
                // REST API below).
                (false, "aws_iam_role_policy_attachment" | "aws_iam_policy_attachment") => {
                    "Terraform::Attachment"
                }
                (false, "aws_api_gateway_rest_api_policy") => {
                    if outside_apis.iter().any(|(a, _, _)| *a == i.address) {
                        continue;
                    }
                    "Terraform::Attachment"
                }
                (false, _) => continue,
            };
            if let Some(id) = known_id.and_then(nonempty) {
                parameters.push((
                    i.address.clone(),
                    map(vec![("Default".to_string(), text(id, &loc))], &loc),
                ));
            }
            out.push((
                i.address.clone(),
                map(
                    vec![
                        ("Type".to_string(), text(ty, &loc)),
                        ("Properties".to_string(), map(props, &loc)),
                    ],
                    &loc,
                ),
            ));
        }
        for (bucket, doc, loc) in own_policies {
            out.push((
                format!("{bucket}.policy"),
                map(
                    vec![
                        ("Type".to_string(), text("AWS::S3::BucketPolicy", &loc)),
                        (
                            "Properties".to_string(),
                            map(
                                vec![
                                    ("Bucket".to_string(), reference(&bucket, &loc)),
                                    ("PolicyDocument".to_string(), doc),
                                ],
                                &loc,
                            ),
                        ),
                    ],
                    &loc,
                ),
            ));
        }
        for (address, api, policy) in outside_apis {
            let loc = policy.loc.clone();
            if let Some(id) = nonempty(&api) {
                parameters.push((
                    address.clone(),
                    map(vec![("Default".to_string(), text(id, &loc))], &loc),
                ));
            }
            self.notes.push(format!(
                "{address} sets the policy of a REST API outside the file: it is modelled as a REST API named {address}"
            ));
            out.push((
                address,
                map(
                    vec![
                        ("Type".to_string(), text("AWS::ApiGateway::RestApi", &loc)),
                        (
                            "Properties".to_string(),
                            map(vec![("Policy".to_string(), policy)], &loc),
                        ),
                    ],
                    &loc,
                ),
            ));
        }
        Ok((out, parameters))
    }

    /// A copy of instance `idx`'s fields (the lowering borrows itself mutably meanwhile).
    fn instance(&self, idx: usize) -> Instance<'d> {
        let i = &self.instances[idx];
        Instance {
            address: i.address.clone(),
            module: i.module.clone(),
            data: i.data,
            ty: i.ty.clone(),
            name: i.name.clone(),
            values: i.values,
            unknown: i.unknown,
            complete: i.complete,
            at: i.at,
        }
    }

    /// A known, non-empty attribute.
    fn known(&self, i: &Instance<'d>, key: &str) -> Option<&'d Node> {
        match self.attr(i, key) {
            Attr::Known(v) => nonempty(v).map(|_| v),
            Attr::Unknown(_) | Attr::Absent => None,
        }
    }

    /// Attach `arn` (a policy of the file, or an ARN outside it) to `role` for the
    /// attachment `i`.
    fn attach(
        &mut self,
        i: &Instance<'d>,
        role: Node,
        arn: Node,
        policy_roles: &mut HashMap<usize, Vec<Node>>,
        role_arns: &mut HashMap<usize, Vec<Node>>,
    ) -> Result<(), TemplateError> {
        if let Some(&p) = super::ref_target(&arn).and_then(|a| self.by_address.get(a)) {
            policy_roles.entry(p).or_default().push(role);
            return Ok(());
        }
        // An ARN outside the file goes to the role's ManagedPolicyArns: which role must
        // be known now.
        if let Some(t) = self.role_of(i, &role)? {
            role_arns.entry(t).or_default().push(arn);
        }
        Ok(())
    }

    /// The role of the file a role name of an attachment names: `Ref` of it, or a name
    /// equal to its known name; `None` for a role outside the file. A name not known, or
    /// a role of the file whose name is not known, is a value to give now.
    fn role_of(&mut self, i: &Instance<'d>, role: &Node) -> Result<Option<usize>, TemplateError> {
        if let Some(&t) = super::ref_target(role).and_then(|a| self.by_address.get(a)) {
            return Ok(Some(t));
        }
        let key = format!("{}.role", i.address);
        let name = match role.as_str() {
            Some(s) => s.to_string(),
            None => match self.params.resolve(&key) {
                Some(given) => given.to_string(),
                None => {
                    self.missing.push(Missing {
                        name: key,
                        loc: role.loc.clone(),
                        what: "known only after apply: which role a managed policy outside the file is attached to",
                    });
                    return Ok(None);
                }
            },
        };
        let mut unnamed = Vec::new();
        for (t, r) in self.instances.iter().enumerate() {
            if r.data || r.ty != "aws_iam_role" {
                continue;
            }
            if r.address == name {
                return Ok(Some(t));
            }
            match self.attr(r, "name") {
                Attr::Known(n) if n.as_str() == Some(name.as_str()) => return Ok(Some(t)),
                Attr::Known(_) | Attr::Absent => {}
                Attr::Unknown(loc) => unnamed.push(Missing {
                    name: format!("{}.name", r.address),
                    loc,
                    what: "known only after apply: the role's name, to tell which role a managed policy outside the file is attached to",
                }),
            }
        }
        // No role of the file has the name: one whose name is not known may.
        self.missing.extend(unnamed);
        Ok(None)
    }

    /// A role's `inline_policy` blocks as CloudFormation `Policies` (the empty block a
    /// state lists for a role without any is not a policy).
    fn inline_policies(&mut self, i: &Instance<'d>) -> Result<Vec<Node>, TemplateError> {
        let mut out = Vec::new();
        let flag = i.unknown.and_then(|u| u.get("inline_policy"));
        let whole = flag.is_some_and(|f| f.as_str() == Some("true"));
        let blocks = i
            .values
            .and_then(|v| v.get("inline_policy"))
            .filter(|_| !whole);
        for (n, block) in list(blocks, "inline_policy")?.iter().enumerate() {
            let name = block.get("name");
            let policy = block.get("policy");
            let empty = |n: Option<&Node>| n.is_none_or(|n| n.as_str().is_none_or(str::is_empty));
            let unknown = |k: &str| {
                flag.and_then(|f| f.as_seq())
                    .and_then(|s| s.get(n))
                    .and_then(|b| b.get(k))
                    .is_some_and(|b| b.as_str() == Some("true"))
            };
            if empty(name) && empty(policy) && !unknown("name") && !unknown("policy") {
                continue;
            }
            if let Some(by) = name
                .and_then(Node::as_str)
                .filter(|_| !unknown("name"))
                .and_then(|n| self.role_policy_named(i, n))
            {
                // The same policy, read once (as its own resource): a fact of the file,
                // not an assumption, so no note. Two different documents under one name
                // are two writers of one inline policy: which one is deployed last is
                // not known.
                let ours = policy.filter(|_| !unknown("policy")).and_then(Node::as_str);
                let theirs = self
                    .by_address
                    .get(&by)
                    .and_then(|&p| self.instances[p].values)
                    .and_then(|v| v.get("policy"))
                    .and_then(Node::as_str);
                let json = |t: &str| serde_json::from_str::<serde_json::Value>(t).ok();
                let differ = match (ours, theirs) {
                    (None, _) => false,
                    (Some(a), Some(b)) => a != b && (json(a).is_none() || json(a) != json(b)),
                    (Some(_), None) => true,
                };
                if differ && self.configured(i, "inline_policy") {
                    return Err(TemplateError::at(
                        block.loc.clone(),
                        format!(
                            "the inline_policy {:?} of {} and {by} set the same inline policy with different documents: which one is deployed is not known",
                            name.and_then(Node::as_str).unwrap_or_default(),
                            i.address
                        ),
                    ));
                }
                continue;
            }
            let doc = match policy.filter(|_| !unknown("policy")) {
                Some(p) => literal(p)?.clone(),
                None => get_att(&i.address, format!("inline_policy[{n}].policy"), &block.loc),
            };
            let mut entries = vec![("PolicyDocument".to_string(), doc)];
            if let Some(name) = name.filter(|_| !unknown("name")) {
                entries.insert(0, ("PolicyName".to_string(), literal(name)?.clone()));
            }
            out.push(map(entries, &block.loc));
        }
        if whole && self.configured(i, "inline_policy") {
            let loc = flag.map_or(i.at.loc.clone(), |f| f.loc.clone());
            out.push(map(
                vec![
                    ("PolicyName".to_string(), text("inline_policy", &loc)),
                    (
                        "PolicyDocument".to_string(),
                        get_att(&i.address, "inline_policy", &loc),
                    ),
                ],
                &loc,
            ));
        }
        Ok(out)
    }

    /// The `aws_iam_role_policy` of the file named `name` for the role `i` (its role the
    /// role's known name, or bound to it): a state lists it in the role's
    /// `inline_policy` too.
    fn role_policy_named(&self, i: &Instance<'d>, name: &str) -> Option<String> {
        let role_name = i.values.and_then(|v| v.get("name")).and_then(nonempty);
        let me = self.by_address.get(&i.address).copied();
        self.instances.iter().find_map(|p| {
            let known = |k: &str| p.values.and_then(|v| v.get(k)).and_then(Node::as_str);
            let ours = p.ty == "aws_iam_role_policy"
                && !p.data
                && known("name") == Some(name)
                && ((role_name.is_some() && known("role") == role_name)
                    || (known("role").is_none()
                        && me.is_some()
                        && self.bound(p, "role", Want::RoleName).as_deref()
                            == me.map(|m| vec![m]).as_deref()));
            ours.then(|| p.address.clone())
        })
    }

    /// An identity pool's properties, as `src/cognito.rs` reads them.
    fn pool(
        &mut self,
        i: &Instance<'d>,
        props: &mut Vec<(String, Node)>,
    ) -> Result<(), TemplateError> {
        for (tf, cfn) in [
            ("identity_pool_name", "IdentityPoolName"),
            (
                "allow_unauthenticated_identities",
                "AllowUnauthenticatedIdentities",
            ),
            ("allow_classic_flow", "AllowClassicFlow"),
            ("developer_provider_name", "DeveloperProviderName"),
            ("supported_login_providers", "SupportedLoginProviders"),
            ("openid_connect_provider_arns", "OpenIdConnectProviderARNs"),
            ("saml_provider_arns", "SamlProviderARNs"),
        ] {
            if let Some(v) = self.value(i, tf, Want::Plain)? {
                props.push((cfn.to_string(), v));
            }
        }
        let key = "cognito_identity_providers";
        match self.attr(i, key) {
            Attr::Absent => {}
            Attr::Unknown(loc) => props.push((
                "CognitoIdentityProviders".to_string(),
                get_att(&i.address, key, &loc),
            )),
            Attr::Known(v) => {
                let mut providers = Vec::new();
                for (n, p) in list(Some(v), key)?.iter().enumerate() {
                    let mut entries = Vec::new();
                    for (tf, cfn) in [
                        ("client_id", "ClientId"),
                        ("provider_name", "ProviderName"),
                        ("server_side_token_check", "ServerSideTokenCheck"),
                    ] {
                        let unknown = i
                            .unknown
                            .and_then(|u| u.get(key))
                            .and_then(Node::as_seq)
                            .and_then(|s| s.get(n))
                            .and_then(|b| b.get(tf))
                            .is_some_and(|b| b.as_str() == Some("true"));
                        if unknown {
                            entries.push((
                                cfn.to_string(),
                                get_att(&i.address, format!("{key}[{n}].{tf}"), &p.loc),
                            ));
                        } else if let Some(value) =
                            p.get(tf).filter(|v| !matches!(v.kind, Kind::Null))
                        {
                            entries.push((cfn.to_string(), literal(value)?.clone()));
                        }
                    }
                    providers.push(map(entries, &p.loc));
                }
                props.push((
                    "CognitoIdentityProviders".to_string(),
                    seq(providers, &v.loc),
                ));
            }
        }
        Ok(())
    }

    /// A roles attachment's `roles` map, each role as `Fn::GetAtt [Role, Arn]` when it is
    /// a role of the file. A role known only after apply binds to the role its
    /// configuration refers to when that is the only one; when the `roles` expression
    /// refers to several, which key names which is given as
    /// `--param ADDRESS.roles.KEY=ROLE` (an address or a known ARN), else it stays a value
    /// to give.
    fn pool_roles(&mut self, i: &Instance<'d>) -> Result<Node, TemplateError> {
        let loc = i.at.loc.clone();
        let mut entries = Vec::new();
        let known = i.values.and_then(|v| v.get("roles"));
        if let Some(k) = known
            && k.as_map().is_none()
            && !matches!(k.kind, Kind::Null)
        {
            return Err(TemplateError::at(
                k.loc.clone(),
                format!("roles of {} must be a mapping", i.address),
            ));
        }
        for (key, v) in known.and_then(Node::as_map).unwrap_or(&[]) {
            if !matches!(v.kind, Kind::Null) {
                entries.push((key.clone(), self.join(v, Want::RoleArn)?));
            }
        }
        let flag = i.unknown.and_then(|u| u.get("roles"));
        if let Some(f) = flag {
            if f.as_str() == Some("true") {
                return Err(TemplateError::at(
                    f.loc.clone(),
                    format!(
                        "the roles of {} are known only after apply, keys and all: which role each kind of identity gets cannot be told",
                        i.address
                    ),
                ));
            }
            let unknown: Vec<(&String, &Node)> = f
                .as_map()
                .unwrap_or(&[])
                .iter()
                .filter(|(_, v)| v.as_str() == Some("true"))
                .map(|(k, v)| (k, v))
                .collect();
            let bound = self.bound(i, "roles", Want::RoleArn);
            for (key, at) in &unknown {
                let single = match (&bound, unknown.len()) {
                    (Some(b), 1) if b.len() == 1 => Some(b[0]),
                    _ => None,
                };
                let given = format!("{}.roles.{key}", i.address);
                let node = if let Some(t) = single {
                    self.note_binding(i, &format!("roles.{key}"), t);
                    self.symbol(t, Want::RoleArn, &at.loc)
                } else if let Some(value) = self.params.resolve(&given) {
                    match self.role_by_address_or_arn(value) {
                        Some(t) => self.symbol(t, Want::RoleArn, &at.loc),
                        None => {
                            return Err(TemplateError::at(
                                at.loc.clone(),
                                format!(
                                    "--param {given}={value}: no role of the file has that address or ARN"
                                ),
                            ));
                        }
                    }
                } else {
                    get_att(&i.address, format!("roles.{key}"), &at.loc)
                };
                entries.push(((*key).clone(), node));
            }
        }
        Ok(map(entries, known.map_or(&loc, |k| &k.loc)))
    }

    /// The role whose address, or ARN, is `value`: its known ARN, or an ARN
    /// `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME` ending with its known name.
    fn role_by_address_or_arn(&self, value: &str) -> Option<usize> {
        let named = value
            .split_once(":role/")
            .map(|(_, rest)| rest.rsplit('/').next().unwrap_or(rest));
        self.instances.iter().position(|r| {
            let known = |k: &str| r.values.and_then(|v| v.get(k)).and_then(Node::as_str);
            !r.data
                && r.ty == "aws_iam_role"
                && (r.address == value
                    || known("arn") == Some(value)
                    || (named.is_some() && known("name") == named))
        })
    }

    /// `role_mapping` blocks as `RoleMappings` (keyed by identity provider).
    fn role_mappings(&mut self, i: &Instance<'d>) -> Result<Option<Node>, TemplateError> {
        let key = "role_mapping";
        let blocks = match self.attr(i, key) {
            Attr::Absent => return Ok(None),
            Attr::Unknown(loc) => {
                return Err(TemplateError::at(
                    loc,
                    format!(
                        "the role_mapping of {} is known only after apply: the roles it may choose cannot be told",
                        i.address
                    ),
                ));
            }
            Attr::Known(v) => list(Some(v), key)?,
        };
        if blocks.is_empty() {
            return Ok(None);
        }
        let flagged = i.unknown.and_then(|u| u.get(key));
        if let Some(f) = flagged
            && super::to_json_unchecked(f).to_string().contains("true")
        {
            return Err(TemplateError::at(
                f.loc.clone(),
                format!(
                    "a value of the role_mapping of {} is known only after apply: the roles it may choose cannot be told",
                    i.address
                ),
            ));
        }
        let mut mappings = Vec::new();
        for block in blocks {
            let provider = block
                .get("identity_provider")
                .and_then(nonempty)
                .ok_or_else(|| {
                    TemplateError::at(
                        block.loc.clone(),
                        "a role_mapping needs an identity_provider".to_string(),
                    )
                })?;
            let mut entries = vec![("IdentityProvider".to_string(), text(provider, &block.loc))];
            for (tf, cfn) in [
                ("type", "Type"),
                ("ambiguous_role_resolution", "AmbiguousRoleResolution"),
            ] {
                if let Some(v) = block.get(tf).filter(|v| nonempty(v).is_some()) {
                    entries.push((cfn.to_string(), literal(v)?.clone()));
                }
            }
            let mut rules = Vec::new();
            for rule in list(block.get("mapping_rule"), "mapping_rule")? {
                let mut r = Vec::new();
                for (tf, cfn) in [
                    ("claim", "Claim"),
                    ("match_type", "MatchType"),
                    ("value", "Value"),
                ] {
                    if let Some(v) = rule.get(tf) {
                        r.push((cfn.to_string(), literal(v)?.clone()));
                    }
                }
                if let Some(arn) = rule.get("role_arn") {
                    r.push(("RoleARN".to_string(), self.join(arn, Want::RoleArn)?));
                }
                rules.push(map(r, &rule.loc));
            }
            if !rules.is_empty() {
                let rules = seq(rules, &block.loc);
                entries.push((
                    "RulesConfiguration".to_string(),
                    map(vec![("Rules".to_string(), rules)], &block.loc),
                ));
            }
            mappings.push((provider.to_string(), map(entries, &block.loc)));
        }
        Ok(Some(map(mappings, &i.at.loc)))
    }
}

/// The module part of an instance address (`module.a.aws_x.y` → `module.a`).
fn module_of(address: &str, data: bool, ty: &str) -> String {
    let marker = if data {
        format!("data.{ty}.")
    } else {
        format!("{ty}.")
    };
    if address.starts_with(&marker) {
        return String::new();
    }
    match address.find(&format!(".{marker}")) {
        Some(at) => address[..at].to_string(),
        None => String::new(),
    }
}

/// The template of a plan or state: the file, its lowering and the `--param` values.
pub(super) fn template(
    file: std::sync::Arc<str>,
    doc: &Node,
    params: Params,
) -> Result<super::Template, TemplateError> {
    let lowered = lower(doc, &params)?;
    let region_known = params.get("AWS::Region").is_some() || lowered.region.is_some();
    let region = match params.resolve("AWS::Region") {
        Some(r) => r.to_string(),
        None => lowered
            .region
            .clone()
            .unwrap_or_else(|| "us-east-1".to_string()),
    };
    Ok(super::Template {
        file,
        region,
        params,
        serverless: false,
        region_known,
        input_bytes: super::node_bytes(doc),
        cfn: lowered.cfn,
        api_policy: None,
        input: lowered.input,
        names: lowered.names,
        notes: lowered.notes,
    })
}

/// The notes with every symbolic binding ("X.attr is known only after apply; its
/// configuration refers to Y, ...") joined into one: a plan binds many values, and one
/// line per binding on every run would bury the other notes.
fn condensed(notes: Vec<String>) -> Vec<String> {
    const BINDING: (&str, &str) = (
        " is known only after apply; its configuration refers to ",
        ", which it is taken to be",
    );
    let mut bindings = Vec::new();
    let mut out = Vec::new();
    for n in notes {
        match n
            .split_once(BINDING.0)
            .and_then(|(value, rest)| Some((value, rest.strip_suffix(BINDING.1)?)))
        {
            Some((value, target)) => bindings.push(format!("{value} = {target}")),
            None => out.push(n),
        }
    }
    match bindings.as_slice() {
        [] => {}
        [one] => out.insert(
            0,
            format!(
                "a value known only after apply is taken to be the resource its configuration refers to: {one}"
            ),
        ),
        many => out.insert(
            0,
            format!(
                "{} values known only after apply are taken to be the resources their configuration refers to: {}",
                many.len(),
                many.join(", ")
            ),
        ),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(json: &serde_json::Value) -> Node {
        let file: std::sync::Arc<str> = std::sync::Arc::from("plan.json");
        super::super::node::parse(&file, &json.to_string()).unwrap()
    }

    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    #[test]
    fn a_role_inline_policy_and_a_role_policy_of_one_name_with_different_documents_are_refused() {
        let admin = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        let narrow = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
        let doc = |inline: &str| {
            plan(&serde_json::json!({
                "format_version": "1.2", "terraform_version": "1.9.0",
                "resource_changes": [
                    {"address": "aws_iam_role.r", "mode": "managed", "type": "aws_iam_role", "name": "r",
                     "change": {"actions": ["create"], "after": {"name": "r", "assume_role_policy": TRUST,
                        "inline_policy": [{"name": "p", "policy": inline}]}, "after_unknown": {"arn": true}}},
                    {"address": "aws_iam_role_policy.p", "mode": "managed", "type": "aws_iam_role_policy", "name": "p",
                     "change": {"actions": ["create"], "after": {"name": "p", "role": "r", "policy": narrow}, "after_unknown": {}}}
                ]
            }))
        };
        let err = lower(&doc(admin), &Params::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the inline_policy \"p\" of aws_iam_role.r and aws_iam_role_policy.p set the same inline policy with different documents"),
            "{err}"
        );
        // The same document (a state lists it in both places) is read once.
        let same = narrow.replace(',', ", ");
        let lowered = lower(&doc(&same), &Params::default()).unwrap();
        let role = lowered
            .cfn
            .get("Resources")
            .and_then(|r| r.get("aws_iam_role.r"))
            .unwrap();
        assert!(role.get("Properties").unwrap().get("Policies").is_none());
    }

    #[test]
    fn module_variables_are_followed_once_each() {
        // Two variables of each of 30 nested modules, both referring to both of the
        // caller's: followed afresh, 2^30 paths.
        let both = serde_json::json!({"references": ["var.a", "var.b"]});
        let mut module = serde_json::json!({"resources": [{
            "address": "aws_iam_role_policy_attachment.x", "mode": "managed",
            "type": "aws_iam_role_policy_attachment", "name": "x",
            "expressions": {"role": both.clone(), "policy_arn": {"constant_value": "arn:aws:iam::aws:policy/ReadOnlyAccess"}}}]});
        let levels = 30;
        for k in 0..levels {
            let exprs = if k + 1 < levels {
                serde_json::json!({"a": both.clone(), "b": both.clone()})
            } else {
                let role =
                    serde_json::json!({"references": ["aws_iam_role.r.name", "aws_iam_role.r"]});
                serde_json::json!({"a": role.clone(), "b": role})
            };
            module = serde_json::json!({"module_calls": {"m": {"source": "./m", "expressions": exprs, "module": module}}});
        }
        module["resources"] = serde_json::json!([{"address": "aws_iam_role.r", "mode": "managed",
            "type": "aws_iam_role", "name": "r", "expressions": {"name": {"constant_value": "r"}}}]);
        let at = vec!["module.m"; levels].join(".");
        let doc = plan(&serde_json::json!({
            "format_version": "1.2", "terraform_version": "1.9.0",
            "resource_changes": [
                {"address": "aws_iam_role.r", "mode": "managed", "type": "aws_iam_role", "name": "r",
                 "change": {"actions": ["create"], "after": {"name": "r", "assume_role_policy": TRUST}, "after_unknown": {"arn": true}}},
                {"address": format!("{at}.aws_iam_role_policy_attachment.x"), "module_address": at, "mode": "managed",
                 "type": "aws_iam_role_policy_attachment", "name": "x",
                 "change": {"actions": ["create"], "after": {"policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
                    "after_unknown": {"role": true}}}
            ],
            "configuration": {"root_module": module}
        }));
        let started = std::time::Instant::now();
        let lowered = lower(&doc, &Params::default()).unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let role = lowered
            .cfn
            .get("Resources")
            .and_then(|r| r.get("aws_iam_role.r"))
            .unwrap();
        let arns = role
            .get("Properties")
            .unwrap()
            .get("ManagedPolicyArns")
            .unwrap();
        assert_eq!(
            arns.as_seq().unwrap()[0].as_str(),
            Some("arn:aws:iam::aws:policy/ReadOnlyAccess")
        );
    }

    #[test]
    fn addresses_split_outside_brackets() {
        assert_eq!(
            split_last_dot(r#"aws_iam_policy.p["a.b"].arn"#),
            Some((r#"aws_iam_policy.p["a.b"]"#, "arn"))
        );
        assert_eq!(
            module_path(r#"module.a[0].module.b["x.y"]"#),
            "module.a.module.b"
        );
        assert_eq!(
            parent_module("module.a[0].module.b"),
            Some(("module.a[0]".to_string(), "b".to_string()))
        );
        assert_eq!(
            parent_module("module.app"),
            Some((String::new(), "app".to_string()))
        );
        assert_eq!(
            module_of("module.app.aws_iam_role.r", false, "aws_iam_role"),
            "module.app"
        );
        assert_eq!(
            module_of(
                "data.aws_iam_policy_document.d",
                true,
                "aws_iam_policy_document"
            ),
            ""
        );
    }
}

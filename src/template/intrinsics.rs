//! CloudFormation intrinsic functions, resolved to plain values: `Ref`, `Fn::GetAtt`,
//! `Fn::Join`, `Fn::Sub` (both forms, `${!Literal}` escapes, pseudo parameters),
//! `Fn::ImportValue`, `Fn::Select`, `Fn::Split`, `Fn::If` with `Conditions`
//! (`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`), `Fn::FindInMap` (with
//! `DefaultValue`), `Fn::GetAZs` (a value to give), and `AWS::LanguageExtensions`'s
//! `Fn::Length` and `Fn::ToJsonString` (its `Fn::ForEach` is expanded at load: `foreach`).
//!
//! Values CloudFormation only knows at deploy time come from `--param`: template
//! parameters (else their `Default`), pseudo parameters (else the documented defaults
//! below), `Ref` to a resource by logical id, `Fn::GetAtt` as `LogicalId.Attribute`, and
//! `Fn::ImportValue` by export name. Anything still unknown is collected, and reported all
//! at once: a policy is never evaluated with a silently empty value.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::node::{Kind, Loc, Node, ScalarType};
use super::{Budget, Missing, Params, TemplateError, node_bytes};

/// Defaults for pseudo parameters without a `--param`.
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// A resolved value, or `AWS::NoValue` (the property or item is removed).
enum Resolved {
    Value(Value),
    NoValue,
}

/// Resolves intrinsics against one template.
pub struct Resolver<'a> {
    /// The CloudFormation template (with `Resources`, `Parameters`, ...).
    pub cfn: &'a Node,
    /// `--param` values.
    pub params: &'a Params,
    /// The region used for `AWS::Region` when no `--param` gives it.
    pub region: &'a str,
    /// The template is a Serverless `resources:` section: the framework adds resources
    /// of its own (e.g. `ApiGatewayRestApi`), so a `Ref` to an unknown name is a value to
    /// supply, not a template error.
    pub serverless: bool,
    /// Values that could not be resolved, reported together by [`Resolver::finish`].
    pub missing: Vec<Missing>,
    /// Whether the region is known (given, or the Serverless `provider.region`) rather
    /// than the built-in default.
    pub region_known: bool,
    /// Pseudo parameters that took a built-in default (`AWS::AccountId`,
    /// `AWS::StackName`, `AWS::Region`), each time one did: a value that depends on them
    /// is a placeholder, good for a policy's text but not for telling two names apart.
    pub guessed: Vec<&'static str>,
    /// The bytes this resolution may still produce.
    pub budget: Budget,
    /// The template is a Terraform plan: a resource's id or attribute nobody gave is known
    /// only after apply, and is reported so.
    pub after_apply: bool,
    /// The conditions being evaluated, outermost first, each with the greatest height of
    /// the conditions it has referred to so far.
    conditions: Vec<(String, usize)>,
    /// Resources whose name (`BucketName`, `RoleName`) is being resolved, for a `Ref` or
    /// an ARN: a name that refers back to its own resource is an error, not a loop.
    naming: Vec<String>,
    /// Conditions already evaluated: each is evaluated once, however many times it is
    /// used (conditions referring twice to the next, 64 deep, would be 2^64 evaluations).
    decided: HashMap<String, Decided>,
}

/// A condition evaluated once, and what its evaluation recorded, to record again on reuse.
#[derive(Clone)]
struct Decided {
    value: bool,
    /// How many levels of conditions it spans (1 when it refers to none).
    height: usize,
    /// The first value it found missing (the result is then a placeholder).
    missing: Option<Missing>,
    /// The pseudo-parameter defaults it relied on.
    guessed: Vec<&'static str>,
}

/// How deep conditions may refer to each other.
const MAX_CONDITION_DEPTH: usize = 64;

impl<'a> Resolver<'a> {
    /// A resolver for `cfn`.
    pub fn new(
        cfn: &'a Node,
        params: &'a Params,
        region: &'a str,
        serverless: bool,
    ) -> Resolver<'a> {
        Resolver {
            cfn,
            params,
            region,
            serverless,
            missing: Vec::new(),
            region_known: false,
            guessed: Vec::new(),
            // The caller sets the budget for its input; the floor until then.
            budget: Budget::for_input(0),
            after_apply: false,
            conditions: Vec::new(),
            naming: Vec::new(),
            decided: HashMap::new(),
        }
    }

    /// `f` run while `logical`'s name (or path) is being resolved (see
    /// [`Resolver::naming`]): a name that refers back to its own resource is an error.
    fn naming<T>(
        &mut self,
        logical: &str,
        loc: &Loc,
        f: impl FnOnce(&mut Self) -> Result<T, TemplateError>,
    ) -> Result<T, TemplateError> {
        if self.naming.iter().any(|n| n == logical) {
            return Err(TemplateError::at(
                loc.clone(),
                format!("the name (or path) of resource {logical} refers to the resource itself"),
            ));
        }
        self.naming.push(logical.to_string());
        let out = f(self);
        self.naming.pop();
        out
    }

    /// The value of `logical`'s name property `node`.
    fn name_of(
        &mut self,
        logical: &str,
        node: &Node,
        loc: &Loc,
    ) -> Result<Resolved, TemplateError> {
        self.naming(logical, loc, |r| r.value(node))
    }

    /// [`Resolver::name_of`] as text.
    fn name_text(
        &mut self,
        logical: &str,
        node: &Node,
        loc: &Loc,
    ) -> Result<String, TemplateError> {
        self.naming(logical, loc, |r| r.string(node))
    }

    /// Error with every missing value, if any were met.
    pub fn finish(&mut self) -> Result<(), TemplateError> {
        if self.missing.is_empty() {
            Ok(())
        } else {
            Err(TemplateError::Missing(std::mem::take(&mut self.missing)))
        }
    }

    /// Resolve `node` into plain JSON (a removed `AWS::NoValue` root becomes `null`).
    pub fn resolve(&mut self, node: &Node) -> Result<Value, TemplateError> {
        Ok(match self.value(node)? {
            Resolved::Value(v) => v,
            Resolved::NoValue => Value::Null,
        })
    }

    /// Resolve a policy document: a mapping, or (as CloudFormation accepts for its
    /// JSON-typed properties, and as Terraform writes every policy) a string holding the
    /// JSON text, which is parsed here. A string that is not JSON is an error at `node`;
    /// a document that waits on a missing value is `null` (the missing value is reported
    /// by [`Resolver::finish`]).
    pub fn document(&mut self, node: &Node) -> Result<Value, TemplateError> {
        let before = self.missing.len();
        match self.resolve(node)? {
            Value::String(_) if self.missing.len() > before => Ok(Value::Null),
            Value::String(text) => serde_json::from_str(&text).map_err(|e| {
                TemplateError::at(
                    node.loc.clone(),
                    format!("this policy document is a string that is not JSON: {e}"),
                )
            }),
            other => Ok(other),
        }
    }

    /// Resolve `node` to a string (numbers and booleans as their text).
    pub fn string(&mut self, node: &Node) -> Result<String, TemplateError> {
        match self.resolve(node)? {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(TemplateError::at(
                node.loc.clone(),
                format!("expected a string here, found {}", json_kind(&other)),
            )),
        }
    }

    /// The text `Ref` of `target` (a resource's logical id: its physical id, a value to
    /// give) resolves to; a missing value is recorded and yields an empty placeholder.
    pub(super) fn reference_text(
        &mut self,
        target: &str,
        loc: &Loc,
    ) -> Result<String, TemplateError> {
        match self.reference(target, loc)? {
            Resolved::Value(Value::String(s)) => Ok(s),
            Resolved::Value(other) => Ok(value_text(&other)),
            Resolved::NoValue => Err(TemplateError::at(
                loc.clone(),
                "AWS::NoValue cannot stand for a resource's id".to_string(),
            )),
        }
    }

    /// The value of a pseudo parameter (`AWS::Region`, `AWS::AccountId`,
    /// `AWS::Partition`), its default recorded in [`Resolver::guessed`] when not given.
    pub(super) fn pseudo_text(&mut self, name: &str) -> String {
        self.pseudo(name).unwrap_or_default()
    }

    fn missing(&mut self, name: String, loc: &Loc, what: &'static str) -> Resolved {
        self.missing.push(Missing {
            name,
            loc: loc.clone(),
            what,
        });
        Resolved::Value(Value::String(String::new()))
    }

    fn value(&mut self, node: &Node) -> Result<Resolved, TemplateError> {
        match &node.kind {
            Kind::Null => Ok(Resolved::Value(Value::Null)),
            Kind::Scalar(s, t) => {
                self.budget.charge(s.len(), &node.loc)?;
                Ok(Resolved::Value(scalar_json(s, *t)))
            }
            Kind::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    if let Resolved::Value(v) = self.value(i)? {
                        out.push(v);
                    }
                }
                Ok(Resolved::Value(Value::Array(out)))
            }
            Kind::Map(entries) => {
                if let Some((key, arg)) = node.single_entry()
                    && (key == "Ref" || key.starts_with("Fn::"))
                {
                    return self.intrinsic(key, arg, &node.loc);
                }
                let mut out = Map::new();
                for (k, v) in entries {
                    if let Resolved::Value(v) = self.value(v)? {
                        self.budget.charge(k.len(), &node.loc)?;
                        out.insert(k.clone(), v);
                    }
                }
                Ok(Resolved::Value(Value::Object(out)))
            }
        }
    }

    fn args<'n>(&self, name: &str, arg: &'n Node, n: usize) -> Result<&'n [Node], TemplateError> {
        match arg.as_seq() {
            Some(items) if items.len() == n => Ok(items),
            _ => Err(TemplateError::at(
                arg.loc.clone(),
                format!("{name} takes a list of {n} items, found {}", arg.describe()),
            )),
        }
    }

    fn intrinsic(&mut self, name: &str, arg: &Node, loc: &Loc) -> Result<Resolved, TemplateError> {
        // A value missing inside the arguments makes this result unknown too: report the
        // missing value (with all the others), not an error about its placeholder.
        let before = self.missing.len();
        let result = self.intrinsic_inner(name, arg, loc);
        if self.missing.len() > before {
            return Ok(Resolved::Value(Value::String(String::new())));
        }
        result
    }

    fn intrinsic_inner(
        &mut self,
        name: &str,
        arg: &Node,
        loc: &Loc,
    ) -> Result<Resolved, TemplateError> {
        match name {
            "Ref" => {
                let target = self.string(arg)?;
                self.reference(&target, loc)
            }
            "Fn::GetAtt" => self.fn_get_att(arg, loc),
            "Fn::Join" => self.fn_join(name, arg),
            "Fn::Sub" => self.sub(arg),
            "Fn::Select" => self.fn_select(name, arg),
            "Fn::Split" => self.fn_split(name, arg),
            "Fn::If" => {
                let [condition, yes, no] = self.args(name, arg, 3)? else {
                    unreachable!("args checked the length")
                };
                let condition = self.string(condition)?;
                if self.condition(&condition, &arg.loc)? {
                    self.value(yes)
                } else {
                    self.value(no)
                }
            }
            "Fn::ImportValue" => {
                let export = self.string(arg)?;
                Ok(match self.params.resolve(&export) {
                    Some(v) => Resolved::Value(Value::String(v.to_string())),
                    None => self.missing(export, loc, "Fn::ImportValue export"),
                })
            }
            "Fn::FindInMap" => self.fn_find_in_map(name, arg),
            "Fn::GetAZs" => self.fn_get_azs(arg, loc),
            "Fn::Length" => match self.resolve(arg)? {
                Value::Array(items) => Ok(Resolved::Value(Value::from(items.len()))),
                other => Err(TemplateError::at(
                    arg.loc.clone(),
                    format!("Fn::Length needs a list, found {}", json_kind(&other)),
                )),
            },
            "Fn::ToJsonString" => match self.resolve(arg)? {
                v @ (Value::Array(_) | Value::Object(_)) => {
                    let text = v.to_string();
                    self.budget.charge(text.len(), loc)?;
                    Ok(Resolved::Value(Value::String(text)))
                }
                other => Err(TemplateError::at(
                    arg.loc.clone(),
                    format!(
                        "Fn::ToJsonString needs a mapping or a list, found {}",
                        json_kind(&other)
                    ),
                )),
            },
            "Fn::Base64" | "Fn::Cidr" | "Fn::Transform" => Err(TemplateError::at(
                loc.clone(),
                format!(
                    "{name} is not supported in the parts of a template that policy-sim evaluates"
                ),
            )),
            other => Err(TemplateError::at(
                loc.clone(),
                format!("unknown intrinsic function {other:?}"),
            )),
        }
    }

    /// `Fn::GetAtt`: `LogicalId.Attribute` or `[LogicalId, Attribute]`.
    fn fn_get_att(&mut self, arg: &Node, loc: &Loc) -> Result<Resolved, TemplateError> {
        let (logical, attribute) = match (&arg.kind, arg.as_seq()) {
            (Kind::Scalar(s, _), _) => match s.split_once('.') {
                Some((l, a)) => (l.to_string(), a.to_string()),
                None => {
                    return Err(TemplateError::at(
                        arg.loc.clone(),
                        format!("Fn::GetAtt {s:?} must be LogicalId.Attribute"),
                    ));
                }
            },
            (_, Some([l, a])) => (self.string(l)?, self.string(a)?),
            _ => {
                return Err(TemplateError::at(
                    arg.loc.clone(),
                    "Fn::GetAtt takes [LogicalId, Attribute]".to_string(),
                ));
            }
        };
        self.get_att(&logical, &attribute, loc)
    }

    /// `Fn::Join`: `[delimiter, [values]]`.
    fn fn_join(&mut self, name: &str, arg: &Node) -> Result<Resolved, TemplateError> {
        let [delimiter, list] = self.args(name, arg, 2)? else {
            unreachable!("args checked the length")
        };
        let delimiter = self.string(delimiter)?;
        let items = match self.resolve(list)? {
            Value::Array(items) => items,
            other => {
                return Err(TemplateError::at(
                    list.loc.clone(),
                    format!(
                        "Fn::Join needs a list of values, found {}",
                        json_kind(&other)
                    ),
                ));
            }
        };
        let mut parts = Vec::with_capacity(items.len());
        for item in items {
            parts.push(match item {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                other => {
                    return Err(TemplateError::at(
                        list.loc.clone(),
                        format!(
                            "Fn::Join can only join strings, found {}",
                            json_kind(&other)
                        ),
                    ));
                }
            });
        }
        // Charge the result before building it: a long delimiter repeats too.
        let joined = parts.iter().map(String::len).sum::<usize>()
            + delimiter.len() * parts.len().saturating_sub(1);
        self.budget.charge(joined, &arg.loc)?;
        Ok(Resolved::Value(Value::String(parts.join(&delimiter))))
    }

    /// `Fn::Select`: `[index, [values]]`.
    fn fn_select(&mut self, name: &str, arg: &Node) -> Result<Resolved, TemplateError> {
        let [index, list] = self.args(name, arg, 2)? else {
            unreachable!("args checked the length")
        };
        let index_text = self.string(index)?;
        let i: usize = index_text.parse().map_err(|_| {
            TemplateError::at(
                index.loc.clone(),
                format!("Fn::Select index {index_text:?} is not a number"),
            )
        })?;
        match self.resolve(list)? {
            Value::Array(items) => match items.into_iter().nth(i) {
                Some(v) => Ok(Resolved::Value(v)),
                None => Err(TemplateError::at(
                    list.loc.clone(),
                    format!("Fn::Select index {i} is past the end of the list"),
                )),
            },
            other => Err(TemplateError::at(
                list.loc.clone(),
                format!("Fn::Select needs a list, found {}", json_kind(&other)),
            )),
        }
    }

    /// `Fn::Split`: `[delimiter, text]`.
    fn fn_split(&mut self, name: &str, arg: &Node) -> Result<Resolved, TemplateError> {
        let [delimiter, source] = self.args(name, arg, 2)? else {
            unreachable!("args checked the length")
        };
        let delimiter = self.string(delimiter)?;
        if delimiter.is_empty() {
            return Err(TemplateError::at(
                arg.loc.clone(),
                "Fn::Split needs a non-empty delimiter".to_string(),
            ));
        }
        let source = self.string(source)?;
        self.budget.charge(source.len(), &arg.loc)?;
        Ok(Resolved::Value(Value::Array(
            source
                .split(delimiter.as_str())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        )))
    }

    /// `Fn::GetAZs REGION` (`""` is the stack's region): the Availability Zones the
    /// account sees there, known only to AWS, so a value to give as
    /// `--param Fn::GetAZs:REGION=az1,az2,...` (a list, split at commas).
    fn fn_get_azs(&mut self, arg: &Node, loc: &Loc) -> Result<Resolved, TemplateError> {
        let region = match self.string(arg)? {
            r if r.is_empty() => self.pseudo_text("AWS::Region"),
            r => r,
        };
        let name = format!("Fn::GetAZs:{region}");
        Ok(match self.params.resolve(&name) {
            Some(list) => {
                self.budget.charge(list.len(), loc)?;
                Resolved::Value(Value::Array(
                    list.split(',')
                        .map(|az| Value::String(az.trim().to_string()))
                        .collect(),
                ))
            }
            None => self.missing(name, loc, "Fn::GetAZs, a comma-separated list"),
        })
    }

    /// `Fn::FindInMap`: `[map, top-level key, second-level key]`, and (with the
    /// `AWS::LanguageExtensions` transform) a fourth item `{DefaultValue: value}`, the
    /// value when the keys are not in the map.
    fn fn_find_in_map(&mut self, name: &str, arg: &Node) -> Result<Resolved, TemplateError> {
        let (map, top, second, default) = match arg.as_seq() {
            Some([map, top, second, default]) => {
                let Some(("DefaultValue", value)) = default.single_entry() else {
                    return Err(TemplateError::at(
                        default.loc.clone(),
                        "Fn::FindInMap's fourth item must be {DefaultValue: value}".to_string(),
                    ));
                };
                (map, top, second, Some(value))
            }
            _ => {
                let [map, top, second] = self.args(name, arg, 3)? else {
                    unreachable!("args checked the length")
                };
                (map, top, second, None)
            }
        };
        let (map, top, second) = (self.string(map)?, self.string(top)?, self.string(second)?);
        let found = self
            .cfn
            .get("Mappings")
            .and_then(|m| m.get(&map))
            .and_then(|m| m.get(&top))
            .and_then(|m| m.get(&second))
            .cloned();
        match found {
            // Mapping values are plain values: no intrinsics inside them.
            Some(v) => {
                self.budget.charge(node_bytes(&v), &arg.loc)?;
                Ok(Resolved::Value(literal_json(&v)))
            }
            None => match default {
                Some(value) => self.value(value),
                None => Err(TemplateError::at(
                    arg.loc.clone(),
                    format!("Fn::FindInMap: Mappings has no {map}/{top}/{second}"),
                )),
            },
        }
    }

    /// `Ref target`. A parameter of type `CommaDelimitedList` or `List<...>` is a list
    /// (its value, given or default, split at commas), as CloudFormation gives it.
    fn reference(&mut self, target: &str, loc: &Loc) -> Result<Resolved, TemplateError> {
        let list = self
            .cfn
            .get("Parameters")
            .and_then(|p| p.get(target))
            .and_then(|p| p.get("Type"))
            .and_then(Node::as_str)
            .is_some_and(|t| t == "CommaDelimitedList" || t.starts_with("List<"));
        let before = self.missing.len();
        match self.scalar_reference(target, loc)? {
            Resolved::Value(Value::String(s)) if list && self.missing.len() == before => {
                Ok(Resolved::Value(Value::Array(
                    s.split(',')
                        .map(|item| Value::String(item.trim().to_string()))
                        .collect(),
                )))
            }
            other => Ok(other),
        }
    }

    fn scalar_reference(&mut self, target: &str, loc: &Loc) -> Result<Resolved, TemplateError> {
        if target == "AWS::NoValue" {
            return Ok(Resolved::NoValue);
        }
        if let Some(v) = self.params.resolve(target) {
            self.budget.charge(v.len(), loc)?;
            return Ok(Resolved::Value(Value::String(v.to_string())));
        }
        if let Some(v) = self.pseudo(target) {
            self.budget.charge(v.len(), loc)?;
            return Ok(Resolved::Value(Value::String(v)));
        }
        if let Some(p) = self.cfn.get("Parameters").and_then(|p| p.get(target)) {
            // A Default is plain text: CloudFormation does not evaluate intrinsics in it.
            return Ok(match p.get("Default") {
                Some(d) => {
                    self.budget.charge(node_bytes(d), loc)?;
                    Resolved::Value(literal_json(d))
                }
                None => self.missing(target.to_string(), loc, "template parameter"),
            });
        }
        if let Some(resource) = self.resource(target) {
            // `Ref` of a bucket is its name, and of a role its name (CloudFormation's
            // return values for AWS::S3::Bucket and AWS::IAM::Role): known when the
            // template names it.
            let named = match resource.get("Type").and_then(Node::as_str) {
                Some("AWS::S3::Bucket") => Some("BucketName"),
                Some("AWS::IAM::Role") => Some("RoleName"),
                _ => None,
            };
            if let Some(name) = named
                .and_then(|key| resource.get("Properties")?.get(key))
                .cloned()
            {
                return self.name_of(target, &name, loc);
            }
            let what = if self.after_apply {
                "the resource's id, known only after apply"
            } else {
                "Ref to a resource"
            };
            return Ok(self.missing(target.to_string(), loc, what));
        }
        if self.serverless {
            return Ok(self.missing(
                target.to_string(),
                loc,
                "Ref to a resource the Serverless Framework generates",
            ));
        }
        // A misspelt name is the template's mistake; any other undefined name is a value
        // of the larger stack this file is part of, to give like any other.
        if let Some(near) = self.defined_near(target) {
            return Err(TemplateError::at(
                loc.clone(),
                format!(
                    "Ref to {target:?}: the template has no parameter or resource of that name (did you mean {near:?}?)"
                ),
            ));
        }
        Ok(self.missing(
            target.to_string(),
            loc,
            "Ref to a name the template does not define",
        ))
    }

    /// A parameter or resource of the template whose name is close to `name` (a typo).
    fn defined_near(&self, name: &str) -> Option<String> {
        let defined = ["Parameters", "Resources"]
            .into_iter()
            .flat_map(|s| self.cfn.get(s).and_then(Node::as_map).unwrap_or(&[]))
            .map(|(k, _)| k.as_str());
        super::hints::closest(name, defined).map(str::to_string)
    }

    /// Pseudo parameters, with the defaults documented in `docs/templates.md`. A default
    /// used is recorded in [`Resolver::guessed`].
    fn pseudo(&mut self, name: &str) -> Option<String> {
        // A nested stack's own `AWS::StackName` / `AWS::StackId` (`Stack/AWS::StackName`).
        if let Some((stack, pseudo)) = name.rsplit_once('/')
            && matches!(pseudo, "AWS::StackName" | "AWS::StackId")
        {
            let root = self.pseudo("AWS::StackName").unwrap_or_default();
            let (stack_name, guessed) = super::stacks::nested_stack_name(self.params, &root, stack);
            if guessed {
                self.guessed.push("AWS::StackName");
            }
            if pseudo == "AWS::StackName" {
                return Some(stack_name);
            }
            let id = self.pseudo("AWS::StackId").unwrap_or_default();
            let root_part = format!("stack/{root}/");
            return Some(id.replacen(&root_part, &format!("stack/{stack_name}/"), 1));
        }
        let given_region = self.params.resolve("AWS::Region");
        let region = given_region.unwrap_or(self.region);
        let given_account = self.params.resolve("AWS::AccountId");
        let account = given_account.unwrap_or(DEFAULT_ACCOUNT);
        let given_stack = self.params.get("AWS::StackName");
        let guessed = |on: bool, what: &'static str| on.then_some(what);
        let region_guessed = given_region.is_none() && !self.region_known;
        let defaults: &[Option<&'static str>] = match name {
            "AWS::Region" | "AWS::Partition" | "AWS::URLSuffix" => {
                &[guessed(region_guessed, "AWS::Region")]
            }
            "AWS::AccountId" => &[guessed(given_account.is_none(), "AWS::AccountId")],
            "AWS::StackName" => &[guessed(given_stack.is_none(), "AWS::StackName")],
            "AWS::StackId" => &[
                guessed(given_stack.is_none(), "AWS::StackName"),
                guessed(given_account.is_none(), "AWS::AccountId"),
                guessed(region_guessed, "AWS::Region"),
            ],
            _ => &[],
        };
        self.guessed.extend(defaults.iter().flatten());
        let partition = partition_of(region);
        let stack = self
            .params
            .get("AWS::StackName")
            .unwrap_or("policy-sim-stack");
        Some(match name {
            "AWS::Region" => region.to_string(),
            "AWS::AccountId" => account.to_string(),
            "AWS::Partition" => partition.to_string(),
            "AWS::URLSuffix" => {
                if partition == "aws-cn" {
                    "amazonaws.com.cn".to_string()
                } else {
                    "amazonaws.com".to_string()
                }
            }
            "AWS::StackName" => stack.to_string(),
            "AWS::StackId" => format!(
                "arn:{partition}:cloudformation:{region}:{account}:stack/{stack}/00000000-0000-0000-0000-000000000000"
            ),
            _ => return None,
        })
    }

    fn resource(&self, logical: &str) -> Option<&'a Node> {
        self.cfn.get("Resources").and_then(|r| r.get(logical))
    }

    fn get_att(
        &mut self,
        logical: &str,
        attribute: &str,
        loc: &Loc,
    ) -> Result<Resolved, TemplateError> {
        let key = format!("{logical}.{attribute}");
        if let Some(v) = self.params.resolve(&key) {
            self.budget.charge(v.len(), loc)?;
            return Ok(Resolved::Value(Value::String(v.to_string())));
        }
        let Some(resource) = self.resource(logical) else {
            if let Some(near) = self.defined_near(logical) {
                return Err(TemplateError::at(
                    loc.clone(),
                    format!(
                        "Fn::GetAtt {key}: the template has no resource {logical:?} (did you mean {near:?}?)"
                    ),
                ));
            }
            let what = if self.serverless {
                "Fn::GetAtt of a resource the Serverless Framework generates"
            } else {
                "Fn::GetAtt of a resource the template does not define"
            };
            return Ok(self.missing(key, loc, what));
        };
        // A bucket with a literal name has a known ARN.
        if attribute == "Arn"
            && resource.get("Type").and_then(Node::as_str) == Some("AWS::S3::Bucket")
            && let Some(name) = resource
                .get("Properties")
                .and_then(|p| p.get("BucketName"))
                .cloned()
        {
            let name = self.name_text(logical, &name, loc)?;
            let partition = self.pseudo("AWS::Partition").unwrap_or_default();
            return Ok(Resolved::Value(Value::String(format!(
                "arn:{partition}:s3:::{name}"
            ))));
        }
        // So does a role with a name: `arn:PARTITION:iam::ACCOUNT:role` + its `Path` (`/`
        // by default) + its name (IAM User Guide, "IAM identifiers"); the account is
        // `AWS::AccountId`'s, a default noted as such. Without `RoleName`, CloudFormation
        // makes the name up: a value to give.
        if attribute == "Arn"
            && resource.get("Type").and_then(Node::as_str) == Some("AWS::IAM::Role")
            && let Some(props) = resource.get("Properties")
            && let Some(name) = props.get("RoleName").cloned()
        {
            let name = self.name_text(logical, &name, loc)?;
            let path = match props.get("Path").cloned() {
                // Part of the ARN too: a `Path` that refers to its own role is a loop.
                Some(p) => {
                    let path = self.name_text(logical, &p, loc)?;
                    if !path.is_empty() && !super::is_role_path(&path) {
                        return Err(TemplateError::at(
                            p.loc.clone(),
                            format!(
                                "Path of {logical} must be {}, found {path:?}",
                                super::ROLE_PATH_RULE
                            ),
                        ));
                    }
                    path
                }
                None => "/".to_string(),
            };
            let partition = self.pseudo("AWS::Partition").unwrap_or_default();
            let account = self.pseudo("AWS::AccountId").unwrap_or_default();
            let arn = format!("arn:{partition}:iam::{account}:role{path}{name}");
            self.budget.charge(arn.len(), loc)?;
            return Ok(Resolved::Value(Value::String(arn)));
        }
        let what = if self.after_apply {
            "known only after apply"
        } else {
            "Fn::GetAtt"
        };
        Ok(self.missing(key, loc, what))
    }

    fn sub(&mut self, arg: &Node) -> Result<Resolved, TemplateError> {
        let (template, vars) = match (&arg.kind, arg.as_seq()) {
            (Kind::Scalar(s, _), _) => (s.clone(), None),
            (_, Some([t, v])) => (
                t.as_str()
                    .ok_or_else(|| {
                        TemplateError::at(
                            t.loc.clone(),
                            "Fn::Sub's first item must be a string".to_string(),
                        )
                    })?
                    .to_string(),
                Some(v),
            ),
            _ => {
                return Err(TemplateError::at(
                    arg.loc.clone(),
                    "Fn::Sub takes a string or [string, {variables}]".to_string(),
                ));
            }
        };
        let mut out = String::new();
        let mut rest = template.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let body_start = start + 2;
            let Some(close) = rest[body_start..].find('}') else {
                return Err(TemplateError::at(
                    arg.loc.clone(),
                    format!("Fn::Sub: unterminated ${{ in {template:?}"),
                ));
            };
            let body = &rest[body_start..body_start + close];
            if let Some(literal) = body.strip_prefix('!') {
                // `${!Literal}` is the text `${Literal}`.
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else {
                let name = body.trim();
                let from_vars = vars.and_then(|v| v.get(name)).cloned();
                let value = match from_vars {
                    Some(node) => self.string(&node)?,
                    None => match name.split_once('.') {
                        Some((l, a)) if !name.starts_with("AWS::") => {
                            match self.get_att(l, a, &arg.loc)? {
                                Resolved::Value(v) => value_text(&v),
                                Resolved::NoValue => unreachable!("GetAtt never removes a value"),
                            }
                        }
                        _ => match self.reference(name, &arg.loc)? {
                            Resolved::Value(v) => value_text(&v),
                            Resolved::NoValue => {
                                return Err(TemplateError::at(
                                    arg.loc.clone(),
                                    "Fn::Sub cannot use ${AWS::NoValue}".to_string(),
                                ));
                            }
                        },
                    },
                };
                self.budget.charge(value.len(), &arg.loc)?;
                out.push_str(&value);
            }
            rest = &rest[body_start + close + 1..];
        }
        out.push_str(rest);
        Ok(Resolved::Value(Value::String(out)))
    }

    /// Evaluate the named entry of `Conditions`.
    pub fn condition(&mut self, name: &str, loc: &Loc) -> Result<bool, TemplateError> {
        let too_deep = || {
            TemplateError::at(
                loc.clone(),
                format!(
                    "conditions refer to each other more than {MAX_CONDITION_DEPTH} levels deep"
                ),
            )
        };
        if self.conditions.len() >= MAX_CONDITION_DEPTH {
            return Err(too_deep());
        }
        if self.conditions.iter().any(|(c, _)| c == name) {
            let path: Vec<&str> = self.conditions.iter().map(|(c, _)| c.as_str()).collect();
            return Err(TemplateError::at(
                loc.clone(),
                format!("cyclic condition: {} -> {name}", path.join(" -> ")),
            ));
        }
        if let Some(done) = self.decided.get(name).cloned() {
            // Evaluating it again would have gone this deep.
            if self.conditions.len() + done.height > MAX_CONDITION_DEPTH {
                return Err(too_deep());
            }
            self.missing.extend(done.missing);
            self.guessed.extend(done.guessed);
            self.referred(done.height);
            return Ok(done.value);
        }
        let Some(node) = self.cfn.get("Conditions").and_then(|c| c.get(name)) else {
            return Err(TemplateError::at(
                loc.clone(),
                format!("condition {name:?} is not defined in Conditions"),
            ));
        };
        let (missing, guessed) = (self.missing.len(), self.guessed.len());
        self.conditions.push((name.to_string(), 0));
        let result = self.condition_value(node);
        let (_, below) = self.conditions.pop().unwrap_or_default();
        let value = result?;
        let mut relied: Vec<&'static str> = self.guessed[guessed..].to_vec();
        relied.sort_unstable();
        relied.dedup();
        self.decided.insert(
            name.to_string(),
            Decided {
                value,
                height: below + 1,
                missing: self.missing.get(missing).cloned(),
                guessed: relied,
            },
        );
        self.referred(below + 1);
        Ok(value)
    }

    /// The condition being evaluated referred to one of `height` levels.
    fn referred(&mut self, height: usize) {
        if let Some((_, below)) = self.conditions.last_mut() {
            *below = (*below).max(height);
        }
    }

    fn condition_value(&mut self, node: &Node) -> Result<bool, TemplateError> {
        let Some((name, arg)) = node.single_entry() else {
            return Err(TemplateError::at(
                node.loc.clone(),
                format!(
                    "a condition must be Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition, found {}",
                    node.describe()
                ),
            ));
        };
        match name {
            "Condition" => {
                let target = self.string(arg)?;
                self.condition(&target, &node.loc)
            }
            "Fn::Equals" => {
                let [a, b] = self.args(name, arg, 2)? else {
                    unreachable!("args checked the length")
                };
                let (a, b) = (self.resolve(a)?, self.resolve(b)?);
                Ok(value_text(&a) == value_text(&b))
            }
            "Fn::Not" => {
                let [c] = self.args(name, arg, 1)? else {
                    unreachable!("args checked the length")
                };
                Ok(!self.condition_value(c)?)
            }
            "Fn::And" | "Fn::Or" => {
                let items = arg.as_seq().ok_or_else(|| {
                    TemplateError::at(
                        arg.loc.clone(),
                        format!("{name} takes a list of conditions"),
                    )
                })?;
                let mut all = true;
                let mut any = false;
                for c in items {
                    let v = self.condition_value(c)?;
                    all &= v;
                    any |= v;
                }
                Ok(if name == "Fn::And" { all } else { any })
            }
            other => Err(TemplateError::at(
                node.loc.clone(),
                format!("{other} cannot be used in a condition"),
            )),
        }
    }
}

/// A node as a plain value, with no intrinsic evaluated (parameter defaults, mappings).
/// The partition of `region`: `aws-cn` for `cn-*`, `aws-us-gov` for `us-gov-*`, else `aws`.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn literal_json(node: &Node) -> Value {
    match &node.kind {
        Kind::Null => Value::Null,
        Kind::Scalar(s, t) => scalar_json(s, *t),
        Kind::Seq(items) => Value::Array(items.iter().map(literal_json).collect()),
        Kind::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), literal_json(v)))
                .collect(),
        ),
    }
}

fn scalar_json(s: &str, t: ScalarType) -> Value {
    match t {
        ScalarType::Str => Value::String(s.to_string()),
        ScalarType::Bool => Value::Bool(s == "true"),
        // A number whose written form is not its canonical JSON form (`012`, `1.50`,
        // `0x1F`) stays text, as CloudFormation keeps it.
        ScalarType::Number => match s.parse::<i64>() {
            Ok(i) if i.to_string() == s => Value::from(i),
            _ => match s.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                Some(n) if n.to_string() == s => Value::Number(n),
                _ => Value::String(s.to_string()),
            },
        },
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

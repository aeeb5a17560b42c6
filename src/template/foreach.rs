//! `Fn::ForEach` of the `AWS::LanguageExtensions` transform, expanded when the template is
//! read, as the transform expands it before CloudFormation sees the template (AWS
//! CloudFormation Template Reference, "Fn::ForEach"):
//!
//! `'Fn::ForEach::Name': [Identifier, Collection, {OutputKey: OutputValue}]` stands for one
//! `OutputKey: OutputValue` entry per value of `Collection` (a list, or a `Ref` to a
//! `CommaDelimitedList`), where every `${Identifier}` in keys and text is the value,
//! every `&{Identifier}` the value without its non-alphanumeric characters, and every
//! `Ref: Identifier` the value itself. Loops may nest, and an inner loop may use the
//! outer one's identifier.
//!
//! Loops are expanded in `Resources` (and resource properties), `Outputs` and
//! `Conditions`, where CloudFormation allows them; anywhere else they stay and are refused
//! by `attach::expansions`. A collection that waits on a value nobody gave is a missing
//! value (the resources it would produce are unknown), and a loop that produces a key the
//! mapping already has is an error.

use std::collections::HashMap;

use serde_json::Value;

use super::intrinsics::Resolver;
use super::node::{Kind, Loc, Mapping, Node, ScalarType};
use super::{Budget, Params, TemplateError, node_bytes};

/// The transform that defines `Fn::ForEach`, `Fn::Length`, `Fn::ToJsonString` and
/// `Fn::FindInMap`'s `DefaultValue`.
pub const LANGUAGE_EXTENSIONS: &str = "AWS::LanguageExtensions";

/// The prefix of a loop's key.
const LOOP: &str = "Fn::ForEach::";

/// The sections CloudFormation expands loops in.
const SECTIONS: &[&str] = &["Resources", "Outputs", "Conditions"];

/// Does the template declare the `AWS::LanguageExtensions` transform?
pub fn declares_language_extensions(cfn: &Node) -> bool {
    super::declares_transform(cfn, LANGUAGE_EXTENSIONS)
}

/// The template with its loops expanded, when it declares the transform; else as it is
/// (a loop is then refused by `attach::expansions`).
pub(super) fn expand(
    cfn: Node,
    params: &Params,
    region: &str,
    serverless: bool,
) -> Result<Node, TemplateError> {
    if !declares_language_extensions(&cfn) {
        return Ok(cfn);
    }
    let input_bytes = node_bytes(&cfn);
    let mut x = Expander {
        cfn: &cfn,
        params,
        region,
        serverless,
        input_bytes,
        budget: Budget::for_input(input_bytes),
    };
    let Kind::Map(top) = &cfn.kind else {
        return Ok(cfn.clone());
    };
    let mut entries = Vec::with_capacity(top.len());
    for (k, v) in top.iter() {
        let v = if SECTIONS.contains(&k.as_str()) {
            x.node(v)?
        } else {
            v.clone()
        };
        entries.push((k.clone(), v));
    }
    Ok(Node {
        kind: Kind::Map(Mapping::new(entries)),
        loc: cfn.loc.clone(),
    })
}

struct Expander<'a> {
    /// The template as written (its `Parameters` give a collection's values).
    cfn: &'a Node,
    params: &'a Params,
    region: &'a str,
    serverless: bool,
    /// The size of `cfn` (measured once: every collection's resolution is budgeted by it).
    input_bytes: usize,
    /// Copies made count against the expansion budget.
    budget: Budget,
}

impl Expander<'_> {
    /// `node` with every loop inside it expanded.
    fn node(&mut self, node: &Node) -> Result<Node, TemplateError> {
        let kind = match &node.kind {
            Kind::Map(entries) => {
                let mut out: Vec<(String, Node)> = Vec::with_capacity(entries.len());
                let mut seen: HashMap<String, Loc> = HashMap::new();
                for (k, v) in entries.iter() {
                    let produced = if k.starts_with(LOOP) {
                        self.expand_loop(k, v)?
                    } else {
                        vec![(k.clone(), self.node(v)?)]
                    };
                    for (key, value) in produced {
                        if let Some(first) = seen.get(&key) {
                            return Err(TemplateError::at(
                                value.loc.clone(),
                                format!(
                                    "{k} produces the key {key:?}, which this mapping already has (at {first})"
                                ),
                            ));
                        }
                        seen.insert(key.clone(), value.loc.clone());
                        out.push((key, value));
                    }
                }
                Kind::Map(Mapping::new(out))
            }
            Kind::Seq(items) => Kind::Seq(
                items
                    .iter()
                    .map(|i| self.node(i))
                    .collect::<Result<_, _>>()?,
            ),
            Kind::Null | Kind::Scalar(..) => return Ok(node.clone()),
        };
        Ok(Node {
            kind,
            loc: node.loc.clone(),
        })
    }

    /// The entries one loop stands for, each with the loops inside it expanded.
    fn expand_loop(
        &mut self,
        name: &str,
        arg: &Node,
    ) -> Result<Vec<(String, Node)>, TemplateError> {
        let Some([identifier, collection, fragment]) = arg.as_seq() else {
            return Err(TemplateError::at(
                arg.loc.clone(),
                format!(
                    "{name} takes [Identifier, Collection, {{OutputKey: OutputValue}}], found {}",
                    arg.describe()
                ),
            ));
        };
        let Some(id) = identifier.as_str().filter(|s| !s.is_empty()) else {
            return Err(TemplateError::at(
                identifier.loc.clone(),
                format!("{name}: the identifier must be a name"),
            ));
        };
        if fragment.as_map().is_none() {
            return Err(TemplateError::at(
                fragment.loc.clone(),
                format!(
                    "{name}: the fragment must be a mapping {{OutputKey: OutputValue}}, found {}",
                    fragment.describe()
                ),
            ));
        }
        let values = self.collection(name, collection)?;
        let mut out = Vec::new();
        for value in values {
            let copy = substitute(fragment, id, &value);
            self.budget.charge(node_bytes(&copy), &arg.loc)?;
            let copy = self.node(&copy)?;
            if let Kind::Map(entries) = copy.kind {
                out.extend(entries.into_vec());
            }
        }
        Ok(out)
    }

    /// The values of a loop's collection: a list, or text separated by commas (a `Ref` to
    /// a `CommaDelimitedList`).
    fn collection(&mut self, name: &str, node: &Node) -> Result<Vec<String>, TemplateError> {
        let mut r = Resolver::new(self.cfn, self.params, self.region, self.serverless);
        r.budget = Budget::for_input(self.input_bytes);
        let value = r.resolve(node)?;
        r.finish()?;
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        let values: Option<Vec<String>> = match &value {
            Value::Array(items) => items.iter().map(text).collect(),
            Value::String(s) => Some(s.split(',').map(str::to_string).collect()),
            _ => None,
        };
        values.ok_or_else(|| {
            TemplateError::at(
                node.loc.clone(),
                format!("{name}: the collection must be a list of strings, or a Ref to a CommaDelimitedList"),
            )
        })
    }
}

/// `fragment` for one value: `${id}` and `&{id}` replaced in keys and text, `Ref: id` by
/// the value.
fn substitute(fragment: &Node, id: &str, value: &str) -> Node {
    let plain = format!("${{{id}}}");
    let alnum_key = format!("&{{{id}}}");
    let alnum: String = value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let text = |s: &str| s.replace(&plain, value).replace(&alnum_key, &alnum);
    let scalar = |s: String, loc| Node {
        kind: Kind::Scalar(s, ScalarType::Str),
        loc,
    };
    // Iterative: the copy is built bottom-up from a post-order walk.
    enum Step<'n> {
        Visit(&'n Node),
        BuildSeq(&'n Node, usize),
        BuildMap(&'n Node, Vec<String>),
    }
    let mut work = vec![Step::Visit(fragment)];
    let mut built: Vec<Node> = Vec::new();
    while let Some(step) = work.pop() {
        match step {
            Step::Visit(n) => {
                if super::ref_target(n) == Some(id) {
                    built.push(scalar(value.to_string(), n.loc.clone()));
                    continue;
                }
                match &n.kind {
                    Kind::Null => built.push(n.clone()),
                    Kind::Scalar(s, t) => built.push(Node {
                        kind: Kind::Scalar(text(s), *t),
                        loc: n.loc.clone(),
                    }),
                    Kind::Seq(items) => {
                        work.push(Step::BuildSeq(n, items.len()));
                        work.extend(items.iter().rev().map(Step::Visit));
                    }
                    Kind::Map(entries) => {
                        let keys = entries.iter().map(|(k, _)| text(k)).collect();
                        work.push(Step::BuildMap(n, keys));
                        work.extend(entries.iter().rev().map(|(_, v)| Step::Visit(v)));
                    }
                }
            }
            Step::BuildSeq(n, len) => {
                let items = built.split_off(built.len() - len);
                built.push(Node {
                    kind: Kind::Seq(items),
                    loc: n.loc.clone(),
                });
            }
            Step::BuildMap(n, keys) => {
                let values = built.split_off(built.len() - keys.len());
                built.push(Node {
                    kind: Kind::Map(Mapping::new(keys.into_iter().zip(values).collect())),
                    loc: n.loc.clone(),
                });
            }
        }
    }
    built.pop().unwrap_or_else(|| fragment.clone())
}

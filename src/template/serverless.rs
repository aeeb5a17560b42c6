//! Serverless Framework `serverless.yml`: its `${...}` variables and the CloudFormation
//! under `resources:`.
//!
//! Variables resolved: `${self:path.to.value}`, `${opt:name}`, `${sls:stage}`,
//! `${file(relative/path.yml)}` and `${file(path):sub.path}`, any other `source:name`
//! from `--param source:name=VALUE` (e.g. `env:STAGE`, `ssm:/x`), fallbacks after commas
//! (`${opt:stage, self:provider.stage}`, `${opt:stage, 'dev'}`), and nesting
//! (`${opt:stage, ${self:provider.stage}}`). The environment and AWS are never read: the
//! simulation depends only on its inputs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::node::{self, Kind, Loc, Node, ScalarType};
use super::{Budget, Missing, Params, TemplateError, node_bytes};
use crate::root::Root;

/// The sections a `resources:` entry may hold.
const SECTIONS: &[&str] = &[
    "Resources",
    "Outputs",
    "Conditions",
    "Mappings",
    "Parameters",
    "Description",
];

/// Serverless variable sources that name something policy-sim can be given with
/// `--param SOURCE:NAME=VALUE`.
const PARAM_SOURCES: &[&str] = &["env", "ssm", "s3", "cf", "aws", "param", "sls"];

struct Resolver<'a> {
    root: &'a Node,
    /// The project root `${file()}` reads stay inside.
    project: &'a Root,
    dir: PathBuf,
    params: &'a Params,
    /// `self:` paths being resolved, for cycle detection.
    stack: Vec<String>,
    missing: Vec<Missing>,
    depth: usize,
    /// Nodes built so far: `${self:}` references can copy a subtree many times over.
    produced: usize,
    /// `self:` paths already resolved, with the number of nodes each holds.
    cache: std::collections::HashMap<String, Resolved>,
    /// The bytes resolution may still produce (a value repeated by `${self:}`).
    bytes: Budget,
    /// Files included so far, by resolved path.
    files: std::collections::HashMap<PathBuf, Arc<Node>>,
}

/// A `self:` path resolved, kept for reuse.
struct Resolved {
    node: Node,
    /// The nodes it holds.
    size: usize,
    /// How many levels it nests.
    height: usize,
}

/// How deep variables and nodes may nest while resolving.
const MAX_DEPTH: usize = 100;
/// How many nodes resolution may build in all.
const MAX_NODES: usize = 200_000;

/// Does the text after `${` start a Serverless variable? (v3: `[a-z][a-zA-Z0-9]*` then
/// `:` or `(`.)
fn is_serverless_variable(after: &str) -> bool {
    let bytes = after.as_bytes();
    if !bytes.first().is_some_and(u8::is_ascii_lowercase) {
        return false;
    }
    let name_len = bytes
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    matches!(bytes.get(name_len), Some(b':' | b'('))
}

/// True when `doc` looks like a `serverless.yml`.
pub fn is_serverless(doc: &Node) -> bool {
    doc.get("service").is_some()
        && (doc.get("provider").is_some() || doc.get("resources").is_some())
}

/// The stage: `opt:stage`, else `provider.stage`, else `dev` (Serverless's own rule).
fn stage(r: &mut Resolver<'_>) -> Result<Option<String>, TemplateError> {
    if let Some(s) = r.params.resolve("opt:stage") {
        return Ok(Some(s.to_string()));
    }
    if let Some(s) = r.params.resolve("self:provider.stage") {
        return Ok(Some(s.to_string()));
    }
    if let Some(n) = r.root.get("provider").and_then(|p| p.get("stage")) {
        let n = n.clone();
        let v = r.node(&n)?;
        return Ok(v.as_str().map(str::to_string));
    }
    Ok(Some("dev".to_string()))
}

/// The region Serverless deploys to: `opt:region`, else `provider.region`, else
/// `us-east-1`.
pub fn region(
    doc: &Node,
    project: &Root,
    dir: &Path,
    params: &Params,
) -> Result<String, TemplateError> {
    if let Some(r) = params.resolve("opt:region") {
        return Ok(r.to_string());
    }
    let mut r = Resolver::new(doc, project, dir, params);
    let value = match doc.get("provider").and_then(|p| p.get("region")) {
        Some(n) => r.node(n)?.as_str().map(str::to_string),
        None => None,
    };
    r.finish()?;
    Ok(value.unwrap_or_else(|| "us-east-1".to_string()))
}

/// The CloudFormation template that `resources:` adds to the stack, with every Serverless
/// variable resolved. `resources:` may be a mapping, or a list of mappings and
/// `${file(...)}` includes, whose sections are merged.
pub fn cloudformation(
    doc: &Node,
    project: &Root,
    dir: &Path,
    params: &Params,
) -> Result<Node, TemplateError> {
    let Some(resources) = doc.get("resources") else {
        return Err(TemplateError::at(
            doc.loc.clone(),
            "serverless.yml has no `resources:` section, so it deploys no IAM role".to_string(),
        ));
    };
    let mut r = Resolver::new(doc, project, dir, params);
    let resolved = r.node(resources)?;
    r.finish()?;
    let parts: Vec<Node> = match resolved.kind {
        Kind::Seq(items) => items,
        _ => vec![resolved],
    };
    let mut merged: Vec<(String, Node)> = Vec::new();
    for part in parts {
        let Some(entries) = part.as_map() else {
            return Err(TemplateError::at(
                part.loc.clone(),
                format!(
                    "each `resources:` entry must be a mapping of CloudFormation sections, found {}",
                    part.describe()
                ),
            ));
        };
        for (section, value) in entries {
            if !SECTIONS.contains(&section.as_str()) {
                return Err(TemplateError::at(
                    value.loc.clone(),
                    format!(
                        "unknown section {section:?} under `resources:` (expected one of {})",
                        SECTIONS.join(", ")
                    ),
                ));
            }
            match merged.iter_mut().find(|(k, _)| k == section) {
                None => merged.push((section.clone(), value.clone())),
                Some((_, existing)) => merge_section(section, existing, value)?,
            }
        }
    }
    Ok(Node {
        kind: Kind::Map(merged.into()),
        loc: resources.loc.clone(),
    })
}

/// The resource policy of the service's REST API (`provider.apiGateway.resourcePolicy`, or
/// the older `provider.resourcePolicy`): its statements, with Serverless variables resolved
/// (CloudFormation intrinsics stay for the template's resolver).
#[derive(Debug, Clone)]
pub struct ApiPolicy {
    /// Where it is written: `provider.apiGateway.resourcePolicy` or `provider.resourcePolicy`.
    pub key: &'static str,
    /// The list of statements.
    pub statements: Node,
    /// `provider.apiGateway.restApiId`: the id of an API the service uses instead of
    /// creating one (`None`: the API the framework generates, `ApiGatewayRestApi`).
    pub rest_api_id: Option<Node>,
}

/// The service API's resource policy, if the `serverless.yml` gives one. Both keys at once
/// are an error: which one the framework applies is not documented.
pub fn api_policy(
    doc: &Node,
    project: &Root,
    dir: &Path,
    params: &Params,
) -> Result<Option<ApiPolicy>, TemplateError> {
    let Some(provider) = doc.get("provider") else {
        return Ok(None);
    };
    let api = provider.get("apiGateway");
    let newer = api.and_then(|a| a.get("resourcePolicy"));
    let older = provider.get("resourcePolicy");
    let (key, node) = match (newer, older) {
        (None, None) => return Ok(None),
        (Some(n), None) => ("provider.apiGateway.resourcePolicy", n),
        (None, Some(o)) => ("provider.resourcePolicy", o),
        (Some(_), Some(o)) => {
            return Err(TemplateError::at(
                o.loc.clone(),
                "both provider.resourcePolicy and provider.apiGateway.resourcePolicy are given: which one applies is not known".to_string(),
            ));
        }
    };
    let mut r = Resolver::new(doc, project, dir, params);
    let statements = r.node(node)?;
    let rest_api_id = match api.and_then(|a| a.get("restApiId")) {
        Some(id) => Some(r.node(id)?),
        None => None,
    };
    r.finish()?;
    if statements.as_seq().is_none() {
        return Err(TemplateError::at(
            statements.loc.clone(),
            format!(
                "{key} must be a list of statements, found {}",
                statements.describe()
            ),
        ));
    }
    Ok(Some(ApiPolicy {
        key,
        statements,
        rest_api_id,
    }))
}

fn merge_section(section: &str, into: &mut Node, from: &Node) -> Result<(), TemplateError> {
    let (Kind::Map(a), Some(b)) = (&mut into.kind, from.as_map()) else {
        return Err(TemplateError::at(
            from.loc.clone(),
            format!("section {section} must be a mapping"),
        ));
    };
    for (k, v) in b {
        if let Some(first) = a.get(k) {
            return Err(TemplateError::at(
                v.loc.clone(),
                format!("{section} defines {k:?} twice (first at {})", first.loc),
            ));
        }
        a.push(k.clone(), v.clone());
    }
    Ok(())
}

impl<'a> Resolver<'a> {
    fn new(root: &'a Node, project: &'a Root, dir: &Path, params: &'a Params) -> Resolver<'a> {
        Resolver {
            root,
            project,
            dir: dir.to_path_buf(),
            params,
            stack: Vec::new(),
            missing: Vec::new(),
            depth: 0,
            produced: 0,
            cache: std::collections::HashMap::new(),
            bytes: Budget::for_input(node_bytes(root)),
            files: std::collections::HashMap::new(),
        }
    }

    fn finish(self) -> Result<(), TemplateError> {
        if self.missing.is_empty() {
            Ok(())
        } else {
            Err(TemplateError::Missing(self.missing))
        }
    }

    /// `node` with every variable in its strings resolved.
    fn node(&mut self, node: &Node) -> Result<Node, TemplateError> {
        self.depth += 1;
        self.produced += 1;
        if self.depth > MAX_DEPTH {
            return Err(TemplateError::at(
                node.loc.clone(),
                format!("Serverless variables nest more than {MAX_DEPTH} levels deep"),
            ));
        }
        if self.produced > MAX_NODES {
            return Err(TemplateError::at(
                node.loc.clone(),
                format!("Serverless variables expand to more than {MAX_NODES} values"),
            ));
        }
        let out = match &node.kind {
            Kind::Scalar(s, ScalarType::Str) if s.contains("${") => self.string(s, &node.loc),
            Kind::Seq(items) => Ok(Node {
                kind: Kind::Seq(
                    items
                        .iter()
                        .map(|i| self.node(i))
                        .collect::<Result<_, _>>()?,
                ),
                loc: node.loc.clone(),
            }),
            Kind::Map(entries) => Ok(Node {
                kind: Kind::Map(
                    entries
                        .iter()
                        .map(|(k, v)| {
                            self.bytes.charge(k.len(), &node.loc)?;
                            Ok((k.clone(), self.node(v)?))
                        })
                        .collect::<Result<_, TemplateError>>()?,
                ),
                loc: node.loc.clone(),
            }),
            Kind::Scalar(s, _) => {
                self.bytes.charge(s.len(), &node.loc)?;
                Ok(node.clone())
            }
            Kind::Null => Ok(node.clone()),
        };
        self.depth -= 1;
        out
    }

    /// Substitute the variables of one string. A string that is exactly one variable
    /// becomes that variable's value, whatever its shape. `${` that does not start a
    /// Serverless variable (Serverless v3's rule: a lowercase letter, then a source name
    /// followed by `:` or `(`) stays text for CloudFormation: `Fn::Sub`'s `${AWS::Region}`,
    /// `${Resource}`, `${!Literal}`, and IAM policy variables.
    fn string(&mut self, s: &str, loc: &Loc) -> Result<Node, TemplateError> {
        let mut out = String::new();
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            if !is_serverless_variable(&rest[start + 2..]) {
                out.push_str(&rest[..start + 2]);
                rest = &rest[start + 2..];
                continue;
            }
            let end = matching_brace(rest, start).ok_or_else(|| {
                TemplateError::at(
                    loc.clone(),
                    format!("unterminated Serverless variable in {s:?}"),
                )
            })?;
            let expr = &rest[start + 2..end];
            let value = self.expression(expr, loc)?;
            if out.is_empty() && start == 0 && end == rest.len() - 1 && rest.len() == s.len() {
                return Ok(value);
            }
            out.push_str(&rest[..start]);
            match &value.kind {
                Kind::Scalar(text, _) => {
                    self.bytes.charge(text.len(), loc)?;
                    out.push_str(text)
                }
                _ => {
                    return Err(TemplateError::at(
                        loc.clone(),
                        format!(
                            "${{{expr}}} is {} and cannot be part of the string {s:?}",
                            value.describe()
                        ),
                    ));
                }
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(Node {
            kind: Kind::Scalar(out, ScalarType::Str),
            loc: loc.clone(),
        })
    }

    /// One `${...}` body: alternatives separated by top-level commas, the first that has a
    /// value wins.
    fn expression(&mut self, expr: &str, loc: &Loc) -> Result<Node, TemplateError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(TemplateError::at(
                loc.clone(),
                format!("Serverless variables nest more than {MAX_DEPTH} levels deep"),
            ));
        }
        let result = self.expression_inner(expr, loc);
        self.depth -= 1;
        result
    }

    fn expression_inner(&mut self, expr: &str, loc: &Loc) -> Result<Node, TemplateError> {
        let alternatives = split_top_level(expr);
        for alt in &alternatives {
            // A value that is null counts as not found (Serverless v3), so the next
            // alternative is tried.
            if let Some(v) = self.alternative(alt.trim(), loc)?
                && v.kind != Kind::Null
            {
                return Ok(v);
            }
        }
        self.missing.push(Missing {
            name: alternatives[0].trim().to_string(),
            loc: loc.clone(),
            what: "Serverless variable",
        });
        Ok(Node {
            kind: Kind::Scalar(String::new(), ScalarType::Str),
            loc: loc.clone(),
        })
    }

    fn alternative(&mut self, alt: &str, loc: &Loc) -> Result<Option<Node>, TemplateError> {
        let scalar = |s: &str, t: ScalarType| {
            Some(Node {
                kind: Kind::Scalar(s.to_string(), t),
                loc: loc.clone(),
            })
        };
        if alt.len() >= 2
            && ((alt.starts_with('\'') && alt.ends_with('\''))
                || (alt.starts_with('"') && alt.ends_with('"')))
        {
            return Ok(scalar(&alt[1..alt.len() - 1], ScalarType::Str));
        }
        if !alt.is_empty() && alt.parse::<f64>().is_ok() {
            return Ok(scalar(alt, ScalarType::Number));
        }
        if alt.starts_with("${") && alt.ends_with('}') {
            return Ok(Some(self.expression(&alt[2..alt.len() - 1], loc)?));
        }
        if let Some(path) = alt.strip_prefix("self:") {
            // `--param self:custom.stage=prod` replaces the value at that path.
            if let Some(v) = self.params.resolve(alt) {
                return Ok(scalar(v, ScalarType::Str));
            }
            return self.self_reference(path, loc);
        }
        if let Some(name) = alt.strip_prefix("opt:") {
            return Ok(self
                .params
                .resolve(&format!("opt:{name}"))
                .and_then(|v| scalar(v, ScalarType::Str)));
        }
        if alt == "sls:stage" {
            return Ok(stage(self)?.and_then(|s| scalar(&s, ScalarType::Str)));
        }
        if let Some(inner) = alt.strip_prefix("file(") {
            let Some(close) = inner.find(')') else {
                return Err(TemplateError::at(
                    loc.clone(),
                    format!("malformed ${{{alt}}}: expected file(path)"),
                ));
            };
            let path = inner[..close]
                .trim()
                .trim_matches(|c| c == '\'' || c == '"');
            let sub = inner[close + 1..].strip_prefix(':');
            return self.file(path, sub, loc).map(Some);
        }
        if let Some((source, _)) = alt.split_once(':') {
            if PARAM_SOURCES.contains(&source) {
                return Ok(self
                    .params
                    .resolve(alt)
                    .and_then(|v| scalar(v, ScalarType::Str)));
            }
            return Err(TemplateError::at(
                loc.clone(),
                format!(
                    "${{{alt}}} is not a Serverless variable source Serverless knows ({source:?}); \
                     to write an IAM policy variable in serverless.yml, keep `${{` out of the \
                     raw string, e.g. Fn::Join with '$' and '{{{}}}'",
                    alt
                ),
            ));
        }
        Err(TemplateError::at(
            loc.clone(),
            format!("cannot read the Serverless variable ${{{alt}}}"),
        ))
    }

    fn self_reference(&mut self, path: &str, loc: &Loc) -> Result<Option<Node>, TemplateError> {
        if self.stack.iter().any(|p| p == path) {
            return Err(TemplateError::at(
                loc.clone(),
                format!(
                    "cyclic Serverless variable: self:{} -> self:{path}",
                    self.stack.join(" -> self:")
                ),
            ));
        }
        let mut node = self.root;
        for part in path.split('.').filter(|p| !p.is_empty()) {
            match node.get(part) {
                Some(n) => node = n,
                None => return Ok(None),
            }
        }
        if let Some(done) = self.cache.get(path) {
            // A copy nests as deep as resolving the path again would: a value built from
            // copies of copies must not nest past the limit the tree's readers rely on.
            if self.depth + done.height > MAX_DEPTH {
                return Err(TemplateError::at(
                    loc.clone(),
                    format!("Serverless variables nest more than {MAX_DEPTH} levels deep"),
                ));
            }
            // Reusing a resolved value copies it: count the copy before making it.
            self.bytes.charge(node_bytes(&done.node), loc)?;
            self.produced += done.size;
            if self.produced > MAX_NODES {
                return Err(TemplateError::at(
                    loc.clone(),
                    format!("Serverless variables expand to more than {MAX_NODES} values"),
                ));
            }
            return Ok(Some(done.node.clone()));
        }
        self.stack.push(path.to_string());
        let before = self.produced;
        let resolved = self.node(&node.clone());
        self.stack.pop();
        let resolved = resolved?;
        let done = Resolved {
            size: (self.produced - before).max(1),
            height: height(&resolved),
            node: resolved.clone(),
        };
        self.cache.insert(path.to_string(), done);
        Ok(Some(resolved))
    }

    /// The document of an included file, read and parsed once however often it is
    /// included: its size raises the byte budget once, so that repeating one large include
    /// is counted against it like any other repeated value.
    fn included(&mut self, full: &Path, loc: &Loc) -> Result<Arc<Node>, TemplateError> {
        let key = self.project.resolve(full).ok();
        if let Some(doc) = key.as_ref().and_then(|k| self.files.get(k)) {
            return Ok(doc.clone());
        }
        let shown: Arc<str> = Arc::from(full.display().to_string());
        let text = super::read_text(self.project, full)
            .map_err(|e| TemplateError::at(loc.clone(), e.to_string()))?;
        let doc = Arc::new(node::parse(&shown, &text)?);
        self.bytes.add_input(text.len());
        if let Some(key) = key {
            self.files.insert(key, doc.clone());
        }
        Ok(doc)
    }

    fn file(&mut self, path: &str, sub: Option<&str>, loc: &Loc) -> Result<Node, TemplateError> {
        let full = self.dir.join(path);
        let doc = self.included(&full, loc)?;
        // Variables in the included file resolve against the including serverless.yml.
        let mut value = self.node(&doc)?;
        if let Some(sub) = sub {
            for part in sub.split('.').filter(|p| !p.is_empty()) {
                value = value.get(part).cloned().ok_or_else(|| {
                    TemplateError::at(loc.clone(), format!("{path} has no {sub:?}"))
                })?;
            }
        }
        Ok(value)
    }
}

/// How many levels `node` nests (1 for a scalar), counted without recursion.
fn height(node: &Node) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(node, 1usize)];
    while let Some((n, level)) = stack.pop() {
        deepest = deepest.max(level);
        match &n.kind {
            Kind::Seq(items) => stack.extend(items.iter().map(|i| (i, level + 1))),
            Kind::Map(entries) => stack.extend(entries.iter().map(|(_, v)| (v, level + 1))),
            Kind::Null | Kind::Scalar(..) => {}
        }
    }
    deepest
}

/// The index of the `}` that closes the `${` at `start`, counting nested `${`.
fn matching_brace(s: &str, start: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
            depth += 1;
            i += 2;
            continue;
        }
        if bytes[i] == b'}' {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

/// Split at commas that are outside quotes, parentheses and nested `${...}`.
fn split_top_level(expr: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in expr.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '{' | '(') => depth += 1,
            (None, '}' | ')') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(&expr[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&expr[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Node {
        node::parse(&Arc::from("serverless.yml"), text).unwrap()
    }

    fn resolve(text: &str, params: &[(&str, &str)]) -> Result<Node, TemplateError> {
        in_cwd(&doc(text), &Params::from_pairs(params))
    }

    /// The CloudFormation of `doc`, includes read from the working directory.
    pub(super) fn in_cwd(doc: &Node, params: &Params) -> Result<Node, TemplateError> {
        cloudformation(doc, &Root::discover(Path::new(".")), Path::new("."), params)
    }

    #[test]
    fn stage_fallbacks() {
        let text = "service: s\nprovider: {stage: dev}\ncustom: {stage: '${opt:stage, self:provider.stage}'}\nresources:\n  Resources:\n    X: {Type: T, Properties: {Name: '${self:custom.stage}-x'}}\n";
        let name = |params: &[(&str, &str)]| {
            let cf = resolve(text, params).unwrap();
            let x = cf.get("Resources").and_then(|r| r.get("X")).unwrap();
            let name = x.get("Properties").and_then(|p| p.get("Name")).unwrap();
            name.as_str().map(str::to_string)
        };
        assert_eq!(name(&[]).as_deref(), Some("dev-x"));
        assert_eq!(name(&[("opt:stage", "prod")]).as_deref(), Some("prod-x"));
    }

    #[test]
    fn quoted_default_and_nested_variable() {
        let text = "service: s\nprovider: {stage: qa}\nresources:\n  Resources:\n    X: {A: \"${opt:stage, 'dev'}\", B: '${opt:stage, ${self:provider.stage}}', C: '${sls:stage}'}\n";
        let cf = resolve(text, &[]).unwrap();
        let x = cf.get("Resources").unwrap().get("X").unwrap();
        assert_eq!(x.get("A").unwrap().as_str(), Some("dev"));
        assert_eq!(x.get("B").unwrap().as_str(), Some("qa"));
        assert_eq!(x.get("C").unwrap().as_str(), Some("qa"));
    }

    #[test]
    fn cycles_foreign_syntax_and_null_values() {
        let text = "service: s\ncustom: {a: '${self:custom.b}', b: '${self:custom.a}'}\nresources:\n  Resources:\n    X: {A: '${self:custom.a}'}\n";
        let e = resolve(text, &[]).unwrap_err().to_string();
        assert!(
            e.contains(
                "cyclic Serverless variable: self:custom.a -> self:custom.b -> self:custom.a"
            ),
            "{e}"
        );
        // Not a Serverless variable by v3's rule (the `-` ends the source name): the IAM
        // policy variable stays as it is, like CloudFormation's own `${...}`.
        let text = "service: s\nresources:\n  Resources:\n    X: {A: 'arn:aws:s3:::b/${cognito-identity.amazonaws.com:sub}/*', B: !Sub '${AWS::Region}-${Thing}-${!Lit}'}\n";
        let cf = resolve(text, &[]).unwrap();
        let x = cf.get("Resources").unwrap().get("X").unwrap();
        assert_eq!(
            x.get("A").unwrap().as_str(),
            Some("arn:aws:s3:::b/${cognito-identity.amazonaws.com:sub}/*")
        );
        let sub = x.get("B").unwrap().get("Fn::Sub").unwrap();
        assert_eq!(sub.as_str(), Some("${AWS::Region}-${Thing}-${!Lit}"));
        let text = "service: s\ncustom: {v: null}\nresources:\n  Resources:\n    X: {A: 'x-${self:custom.v, \"fallback\"}'}\n";
        let cf = resolve(text, &[]).unwrap();
        assert_eq!(
            cf.get("Resources")
                .unwrap()
                .get("X")
                .unwrap()
                .get("A")
                .unwrap()
                .as_str(),
            Some("x-fallback"),
            "a null value counts as not found"
        );
    }

    #[test]
    fn missing_values_are_listed() {
        let text = "service: s\nresources:\n  Resources:\n    X: {A: '${env:TABLE}', B: '${opt:bucket}'}\n";
        let e = resolve(text, &[]).unwrap_err().to_string();
        assert!(e.contains("env:TABLE") && e.contains("opt:bucket"), "{e}");
    }
}

#[cfg(test)]
mod limits {
    use super::*;

    #[test]
    fn expansion_and_nesting_are_bounded() {
        // Each level doubles the copies: 2^30 without a bound.
        let mut text = String::from("service: s\ncustom:\n");
        for i in 0..30 {
            text.push_str(&format!(
                "  a{i}: ['${{self:custom.a{}}}', '${{self:custom.a{}}}']\n",
                i + 1,
                i + 1
            ));
        }
        text.push_str("  a30: x\nresources:\n  Resources:\n    X: {A: '${self:custom.a0}'}\n");
        let doc = node::parse(&Arc::from("s.yml"), &text).unwrap();
        let e = super::tests::in_cwd(&doc, &Params::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Serverless variables expand to more than"),
            "{e}"
        );
        let nested = format!(
            "${{opt:a, {}'x'{}}}",
            "${opt:a, ".repeat(5000),
            "}".repeat(5000)
        );
        let text = format!("service: s\nresources:\n  Resources:\n    X: {{A: \"{nested}\"}}\n");
        let doc = node::parse(&Arc::from("s.yml"), &text).unwrap();
        let e = super::tests::in_cwd(&doc, &Params::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("nest more than"), "{e}");
    }
}

//! Nested stacks (`AWS::CloudFormation::Stack`) read from local files and flattened into
//! one template, so that a policy created in one stack for a role created in another is
//! found like any other.
//!
//! Each child's resources, parameters, conditions, mappings and outputs get the qualified
//! id `Stack/LogicalId` (deeper: `A/B/X`), and every reference is rewritten so that the
//! flattened tree means what the stacks meant:
//!
//! - a child's `Ref Param` becomes the value the parent passes in its `Parameters`, or
//!   else `Ref Stack/Param` (the child's own parameter, with its `Default`);
//! - a child's `Ref Res`, `Fn::GetAtt [Res, A]`, `${Res}` and `${Res.A}` (in `Fn::Sub`),
//!   `Condition`, `Fn::If` and `Fn::FindInMap` names are qualified;
//! - a child's `AWS::StackName` and `AWS::StackId` are its own (`Stack/AWS::StackName`, a
//!   value to give); the other pseudo parameters are the root stack's;
//! - the parent's `Fn::GetAtt [Stack, Outputs.Name]` (and `${Stack.Outputs.Name}`)
//!   becomes the child's output value;
//! - a stack with a `Condition` adds it to each of its resources;
//! - `Fn::ImportValue` of an export with a literal name that one of the stacks read
//!   declares becomes the exported value.
//!
//! Where a child's template is found is decided by `Flattener::locate` (see
//! `docs/templates.md`). A stack whose template cannot be found stays in the tree, marked
//! with the reason, and is refused like any nested stack when it could name the role.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Lowered;
use super::cdk::Assembly;
use super::node::{self, Kind, Loc, Node, map, reference, seq, text};
use super::{Budget, InputKind, Params, TemplateError, node_bytes, read_text};
use crate::root::Root;

/// How deep stacks may nest (the root is level 0).
pub const MAX_DEPTH: usize = 16;
/// How many nested stack templates one input may read.
pub const MAX_STACKS: usize = 256;

/// The resource type of a nested stack.
pub const STACK_TYPE: &str = "AWS::CloudFormation::Stack";

/// The key, on a nested stack left in the tree, that says why its template was not read.
pub(super) const UNREAD: &str = "policy-sim:unread";

/// The top-level sections that hold named entries, qualified in a child.
const SECTIONS: [&str; 5] = [
    "Parameters",
    "Mappings",
    "Conditions",
    "Resources",
    "Outputs",
];

/// What CloudFormation appends to a nested stack's name (`PARENT-LogicalId-SUFFIX`, the
/// suffix random): the placeholder used when the name is not given.
pub const NESTED_NAME_SUFFIX: &str = "XXXXXXXXXXXX";

/// The name of the nested stack `stack` (`A/B`): `--param A/B/AWS::StackName`, else its
/// parent's name, `-B-` and [`NESTED_NAME_SUFFIX`] (the root's name is `root`). `true` when
/// a placeholder was used.
pub fn nested_stack_name(params: &Params, root: &str, stack: &str) -> (String, bool) {
    if let Some(given) = params.resolve(&format!("{stack}/AWS::StackName")) {
        return (given.to_string(), false);
    }
    let (parent, own) = match stack.rsplit_once('/') {
        Some((parent, own)) => (nested_stack_name(params, root, parent).0, own),
        None => (root.to_string(), stack),
    };
    (format!("{parent}-{own}-{NESTED_NAME_SUFFIX}"), true)
}

/// Does the template have a nested stack?
pub fn has_nested(cfn: &Node) -> bool {
    section(cfn, "Resources")
        .iter()
        .any(|(_, r)| type_of(r) == Some(STACK_TYPE))
}

fn section<'n>(n: &'n Node, key: &str) -> &'n [(String, Node)] {
    n.get(key).and_then(Node::as_map).unwrap_or(&[])
}

fn type_of(r: &Node) -> Option<&str> {
    r.get("Type").and_then(Node::as_str)
}

/// Short names for qualified ids: `S3Bucket` for `storage/S3Bucket` when no other id of
/// the flattened template ends in `S3Bucket` (see [`Params::resolve`]).
#[derive(Debug, Clone, Default)]
pub struct ShortNames {
    /// Qualified id → the unambiguous short names for it (longest first).
    by_qualified: BTreeMap<String, Vec<String>>,
    /// Short name → every id it could mean (two or more).
    ambiguous: BTreeMap<String, BTreeSet<String>>,
}

impl ShortNames {
    /// The short names of `ids` (qualified ones hold `/`): every proper suffix of a
    /// qualified id after a `/`, kept when exactly one id has it and no unqualified id
    /// equals it.
    pub fn build<'i>(ids: impl IntoIterator<Item = &'i str>) -> ShortNames {
        let ids: Vec<&str> = ids.into_iter().collect();
        let plain: HashSet<&str> = ids.iter().copied().filter(|i| !i.contains('/')).collect();
        let mut meaning: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for id in &ids {
            for (i, c) in id.char_indices() {
                if c == '/' {
                    meaning
                        .entry(id[i + 1..].to_string())
                        .or_default()
                        .insert(id.to_string());
                }
            }
        }
        let mut out = ShortNames::default();
        for (short, mut qualified) in meaning {
            if plain.contains(short.as_str()) {
                qualified.insert(short.clone());
            }
            if qualified.len() == 1 {
                if let Some(q) = qualified.into_iter().next() {
                    out.by_qualified.entry(q).or_default().push(short);
                }
            } else {
                out.ambiguous.insert(short, qualified);
            }
        }
        for shorts in out.by_qualified.values_mut() {
            shorts.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
        out
    }

    /// The names a user may type for `name` (`A/B/X.Attr` → `B/X.Attr`, `X.Attr`).
    pub fn shorts_of(&self, name: &str) -> Vec<String> {
        let (id, attr) = match name.find('.') {
            Some(i) => name.split_at(i),
            None => (name, ""),
        };
        self.by_qualified
            .get(id)
            .map(|shorts| shorts.iter().map(|s| format!("{s}{attr}")).collect())
            .unwrap_or_default()
    }

    /// The ids a short name (its part before a `.`) could mean, when it is ambiguous.
    pub fn ambiguity(&self, name: &str) -> Option<&BTreeSet<String>> {
        let id = name.split_once('.').map_or(name, |(id, _)| id);
        self.ambiguous.get(id)
    }

    /// The qualified id an unambiguous short name (its part before a `.`) stands for.
    pub fn qualified_of(&self, name: &str) -> Option<&str> {
        let id = name.split_once('.').map_or(name, |(id, _)| id);
        self.by_qualified
            .iter()
            .find(|(_, shorts)| shorts.iter().any(|s| s == id))
            .map(|(q, _)| q.as_str())
    }

    /// No short names at all.
    pub fn is_empty(&self) -> bool {
        self.by_qualified.is_empty() && self.ambiguous.is_empty()
    }
}

/// A template with its nested stacks flattened.
pub(super) struct Flat {
    /// The one template.
    pub cfn: Node,
    /// How many nested stack templates were read.
    pub read: usize,
    /// Other names of the resources (`X` and `B/X` for `A/B/X`).
    pub names: Vec<(String, String)>,
    /// Short names of the qualified ids, for `--param`.
    pub shorts: ShortNames,
}

/// The sections of the flattened template, built up.
#[derive(Default)]
struct Out {
    parameters: Vec<(String, Node)>,
    mappings: Vec<(String, Node)>,
    conditions: Vec<(String, Node)>,
    resources: Vec<(String, Node)>,
    outputs: Vec<(String, Node)>,
    /// Conditions made by joining a stack's condition and a resource's.
    joined: HashSet<String>,
}

/// One template being flattened.
struct Scope {
    /// `""` for the root, else `A/` or `A/B/`.
    prefix: String,
    doc: Node,
    /// The directory of its file: relative template paths start here.
    dir: PathBuf,
    /// Parameter values the parent passes, already in the flattened namespace.
    passed: HashMap<String, Node>,
    /// The (qualified) condition every resource of this stack is created under.
    condition: Option<String>,
    children: HashMap<String, Child>,
}

/// A nested stack of a scope.
enum Child {
    /// Being read (a reference to it now is a cycle).
    Reading,
    /// Read: its outputs' values.
    Read(HashMap<String, Node>),
    /// Its template was not read, for this reason.
    Unread(String),
}

/// Reads nested stacks and flattens them.
pub(super) struct Flattener<'a> {
    root: &'a Root,
    params: &'a Params,
    out: Out,
    read: usize,
    /// The files of the stacks being read, outermost first (canonical, and as shown), to
    /// find cycles.
    chain: Vec<(PathBuf, String)>,
    /// Amplify Gen 1: the folders searched for templates named by S3 URL, in order.
    amplify: Vec<PathBuf>,
    /// The bytes copies of values (a passed parameter used many times) may add.
    budget: Budget,
}

impl<'a> Flattener<'a> {
    /// A flattener reading inside `root`, with the `--param` values (`Stack.TemplateURL`).
    pub(super) fn new(root: &'a Root, params: &'a Params) -> Flattener<'a> {
        Flattener {
            root,
            params,
            out: Out::default(),
            read: 0,
            chain: Vec::new(),
            amplify: Vec::new(),
            budget: Budget::for_input(0),
        }
    }

    /// Flatten `doc`, read from `file` (whose directory is `dir`).
    pub(super) fn flatten(
        mut self,
        file: &Path,
        dir: &Path,
        doc: Node,
    ) -> Result<Flat, TemplateError> {
        self.amplify = amplify_dirs(file);
        self.budget = Budget::for_input(node_bytes(&doc));
        if let Ok(canonical) = self.root.resolve(file) {
            self.chain.push((canonical, file.display().to_string()));
        }
        let mut scope = Scope {
            prefix: String::new(),
            doc: doc.clone(),
            dir: dir.to_path_buf(),
            passed: HashMap::new(),
            condition: None,
            children: HashMap::new(),
        };
        self.scope(&mut scope)?;
        let read = self.read;
        let mut out = std::mem::take(&mut self.out);
        imports(&mut out, &mut self.budget)?;
        let ids: Vec<&str> = out
            .resources
            .iter()
            .chain(&out.parameters)
            .map(|(k, _)| k.as_str())
            .filter(|k| !k.contains("AWS::"))
            .collect();
        let shorts = ShortNames::build(ids);
        let mut names = Vec::new();
        for (id, _) in &out.resources {
            for (i, c) in id.char_indices() {
                if c == '/' {
                    names.push((id[i + 1..].to_string(), id.clone()));
                }
            }
        }
        let mut sections: HashMap<&str, Vec<(String, Node)>> = HashMap::from([
            ("Parameters", out.parameters),
            ("Mappings", out.mappings),
            ("Conditions", out.conditions),
            ("Resources", out.resources),
            ("Outputs", out.outputs),
        ]);
        let mut entries = Vec::new();
        for (k, v) in doc.as_map().unwrap_or(&[]) {
            match sections.remove(k.as_str()) {
                Some(items) => entries.push((k.clone(), map(items, &v.loc))),
                None => entries.push((k.clone(), v.clone())),
            }
        }
        for key in SECTIONS {
            if let Some(items) = sections.remove(key)
                && !items.is_empty()
            {
                entries.push((key.to_string(), map(items, &doc.loc)));
            }
        }
        Ok(Flat {
            cfn: map(entries, &doc.loc),
            read,
            names,
            shorts,
        })
    }

    /// Flatten one template into `self.out`; its outputs' values.
    fn scope(&mut self, scope: &mut Scope) -> Result<HashMap<String, Node>, TemplateError> {
        let doc = scope.doc.clone();
        let prefix = scope.prefix.clone();
        for (name, def) in section(&doc, "Parameters") {
            if !scope.passed.contains_key(name) {
                self.out
                    .parameters
                    .push((format!("{prefix}{name}"), def.clone()));
            }
        }
        for (name, m) in section(&doc, "Mappings") {
            self.out
                .mappings
                .push((format!("{prefix}{name}"), m.clone()));
        }
        for (name, c) in section(&doc, "Conditions") {
            let c = self.rewrite(scope, c)?;
            self.out.conditions.push((format!("{prefix}{name}"), c));
        }
        for (id, res) in section(&doc, "Resources") {
            if type_of(res) == Some(STACK_TYPE) {
                self.child(scope, id, &res.loc)?;
                match scope.children.get(id) {
                    Some(Child::Read(_)) => {
                        // What `Ref` of the stack gives (its id): a value to give.
                        let def = map(
                            vec![("Type".to_string(), text("String", &res.loc))],
                            &res.loc,
                        );
                        self.out.parameters.push((format!("{prefix}{id}"), def));
                        continue;
                    }
                    Some(Child::Unread(reason)) => {
                        let reason = reason.clone();
                        let res = self.resource(scope, res)?;
                        let mut entries = res.as_map().unwrap_or(&[]).to_vec();
                        entries.push((UNREAD.to_string(), text(reason, &res.loc)));
                        self.out
                            .resources
                            .push((format!("{prefix}{id}"), map(entries, &res.loc)));
                        continue;
                    }
                    _ => {}
                }
            }
            let res = self.resource(scope, res)?;
            self.out.resources.push((format!("{prefix}{id}"), res));
        }
        let mut values = HashMap::new();
        for (name, o) in section(&doc, "Outputs") {
            let o = self.rewrite(scope, o)?;
            if let Some(v) = o.get("Value") {
                shallow(v, &format!("output {prefix}{name}"))?;
                values.insert(name.clone(), v.clone());
            }
            self.out.outputs.push((format!("{prefix}{name}"), o));
        }
        Ok(values)
    }

    /// A resource of `scope`, rewritten: its `Properties`, `Condition` (joined with the
    /// stack's) and `DependsOn`.
    fn resource(&mut self, scope: &mut Scope, res: &Node) -> Result<Node, TemplateError> {
        let Some(entries) = res.as_map() else {
            return Ok(res.clone());
        };
        let mut out = Vec::with_capacity(entries.len() + 1);
        let mut has_condition = false;
        for (k, v) in entries {
            let v = match k.as_str() {
                "Properties" => self.rewrite(scope, v)?,
                "Condition" => {
                    has_condition = true;
                    self.condition_of(scope, Some(v))
                }
                "DependsOn" => qualify_names(&scope.prefix, v),
                _ => v.clone(),
            };
            out.push((k.clone(), v));
        }
        if !has_condition && let Some(c) = &scope.condition {
            out.push(("Condition".to_string(), text(c.clone(), &res.loc)));
        }
        Ok(map(out, &res.loc))
    }

    /// The condition of a resource (`own`, unqualified) of `scope`, joined with the
    /// stack's.
    fn condition_of(&mut self, scope: &Scope, own: Option<&Node>) -> Node {
        let Some(own) = own else {
            return text(scope.condition.clone().unwrap_or_default(), &scope.doc.loc);
        };
        let Some(name) = own.as_str() else {
            return own.clone();
        };
        let qualified = format!("{}{name}", scope.prefix);
        let Some(stack) = &scope.condition else {
            return text(qualified, &own.loc);
        };
        let joined = format!("{qualified}&{stack}");
        if self.out.joined.insert(joined.clone()) {
            let cond = |c: &str| map(vec![("Condition".to_string(), text(c, &own.loc))], &own.loc);
            let and = map(
                vec![(
                    "Fn::And".to_string(),
                    seq(vec![cond(&qualified), cond(stack)], &own.loc),
                )],
                &own.loc,
            );
            self.out.conditions.push((joined.clone(), and));
        }
        text(joined, &own.loc)
    }

    /// Read the nested stack `id` of `scope` once (its outputs recorded in
    /// `scope.children`); a template that cannot be found leaves it unread.
    fn child(&mut self, scope: &mut Scope, id: &str, at: &Loc) -> Result<(), TemplateError> {
        match scope.children.get(id) {
            Some(Child::Reading) => {
                return Err(TemplateError::at(
                    at.clone(),
                    format!(
                        "nested stack {}{id} depends on its own outputs (through the Parameters of the stacks it is given): the stacks depend on each other in a cycle",
                        scope.prefix
                    ),
                ));
            }
            Some(_) => return Ok(()),
            None => {}
        }
        let Some(res) = section(&scope.doc, "Resources")
            .iter()
            .find(|(k, _)| k == id)
            .map(|(_, r)| r.clone())
        else {
            return Ok(());
        };
        scope.children.insert(id.to_string(), Child::Reading);
        let qualified = format!("{}{id}", scope.prefix);
        let path = match self.locate(scope, &qualified, &res)? {
            Ok(path) => path,
            Err(reason) => {
                scope.children.insert(id.to_string(), Child::Unread(reason));
                return Ok(());
            }
        };
        let outputs = self.read_child(scope, id, &qualified, &res, &path)?;
        scope.children.insert(id.to_string(), Child::Read(outputs));
        Ok(())
    }

    /// Where the template of nested stack `id` (`qualified`) is: `--param
    /// QUALIFIED.TemplateURL=FILE`, else the CDK asset (`Metadata` `aws:asset:path`,
    /// beside the parent template), else its `TemplateURL`: a path relative to the parent
    /// template, or an S3 URL whose object's file name is looked for beside the parent
    /// template, then in the Amplify Gen 1 build folders. `Err(reason)` when none is found.
    fn locate(
        &mut self,
        scope: &Scope,
        qualified: &str,
        res: &Node,
    ) -> Result<Result<PathBuf, String>, TemplateError> {
        let hint = format!("give its template file with --param {qualified}.TemplateURL=FILE");
        if let Some(given) = self.params.resolve(&format!("{qualified}.TemplateURL")) {
            let path = PathBuf::from(given);
            if !path.is_file() {
                return Err(TemplateError::at(
                    res.loc.clone(),
                    format!(
                        "nested stack {qualified}: --param {qualified}.TemplateURL names {given:?}, which is not a file"
                    ),
                ));
            }
            return Ok(Ok(path));
        }
        if let Some(asset) = res
            .get("Metadata")
            .and_then(|m| m.get("aws:asset:path"))
            .and_then(Node::as_str)
        {
            let path = scope.dir.join(asset);
            return Ok(if path.is_file() {
                Ok(path)
            } else {
                Err(format!(
                    "its CDK asset {asset:?} is not in {}; {hint}",
                    scope.dir.display()
                ))
            });
        }
        let url = res.get("Properties").and_then(|p| p.get("TemplateURL"));
        let Some(url) = url.and_then(Node::as_str) else {
            return Ok(Err(match url {
                None => format!("it has no TemplateURL; {hint}"),
                Some(n) => format!("its TemplateURL is computed ({}); {hint}", n.describe()),
            }));
        };
        let Some((scheme, rest)) = url.split_once("://") else {
            let path = scope.dir.join(url);
            return Ok(if path.is_file() {
                Ok(path)
            } else {
                Err(format!(
                    "its TemplateURL {url:?} is not a file beside {}; {hint}",
                    scope.dir.display()
                ))
            });
        };
        if !matches!(scheme, "https" | "http" | "s3") {
            return Ok(Err(format!(
                "its TemplateURL {url:?} is not a file or an S3 URL; {hint}"
            )));
        }
        let key: Vec<&str> = rest
            .split(['?', '#'])
            .next()
            .unwrap_or("")
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let (Some(file), Some(folder)) = (
            key.last(),
            key.len().checked_sub(2).and_then(|i| key.get(i)),
        ) else {
            return Ok(Err(format!(
                "its TemplateURL {url:?} names no object; {hint}"
            )));
        };
        let beside = scope.dir.join(file);
        if beside.is_file() {
            return Ok(Ok(beside));
        }
        for dir in &self.amplify {
            let found = amplify_candidates(dir, folder, file);
            match found.as_slice() {
                [] => continue,
                [one] => return Ok(Ok(one.clone())),
                many => {
                    let shown: Vec<String> = many.iter().map(|p| p.display().to_string()).collect();
                    return Ok(Err(format!(
                        "its TemplateURL {url:?} could be any of [{}]; {hint}",
                        shown.join(", ")
                    )));
                }
            }
        }
        Ok(Err(format!(
            "its TemplateURL {url:?} is not a local file, and no file {file:?} is beside {}{}; {hint}",
            scope.dir.display(),
            if self.amplify.is_empty() {
                String::new()
            } else {
                format!(" or in the Amplify build folders ({folder}/*/build/, {folder}/*/)")
            }
        )))
    }

    /// Read and flatten the nested stack `id` of `scope` from `path`: its outputs.
    fn read_child(
        &mut self,
        scope: &mut Scope,
        id: &str,
        qualified: &str,
        res: &Node,
        path: &Path,
    ) -> Result<HashMap<String, Node>, TemplateError> {
        let at = |message: String| TemplateError::at(res.loc.clone(), message);
        if self.chain.len() > MAX_DEPTH {
            return Err(at(format!(
                "nested stack {qualified} is nested more than {MAX_DEPTH} levels deep"
            )));
        }
        if self.read >= MAX_STACKS {
            return Err(at(format!(
                "nested stack {qualified}: the input has more than {MAX_STACKS} nested stacks"
            )));
        }
        let canonical = self
            .root
            .resolve(path)
            .map_err(|e| at(format!("nested stack {qualified}: {e}")))?;
        if self.chain.iter().any(|(c, _)| *c == canonical) {
            let mut files: Vec<String> = self.chain.iter().map(|(_, s)| s.clone()).collect();
            files.push(path.display().to_string());
            return Err(at(format!(
                "nested stack {qualified} reads {}, which is already being read: the stacks nest in a cycle ({})",
                path.display(),
                files.join(" -> ")
            )));
        }
        let text =
            read_text(self.root, path).map_err(|e| at(format!("nested stack {qualified}: {e}")))?;
        let file: Arc<str> = Arc::from(path.display().to_string());
        let doc = node::parse(&file, &text)?;
        self.budget.add_input(text.len());
        if doc.get("Resources").and_then(Node::as_map).is_none() {
            return Err(TemplateError::at(
                doc.loc.clone(),
                format!("the template of nested stack {qualified} has no Resources mapping"),
            ));
        }
        super::attach::expansions(&doc)?;
        let props = res.get("Properties");
        let mut passed = HashMap::new();
        if let Some(given) = props.and_then(|p| p.get("Parameters")) {
            let Some(entries) = given.as_map().filter(|_| {
                given
                    .single_entry()
                    .is_none_or(|(k, _)| !k.starts_with("Fn::"))
            }) else {
                return Err(TemplateError::at(
                    given.loc.clone(),
                    format!(
                        "the Parameters of nested stack {qualified} must be a mapping of names to values"
                    ),
                ));
            };
            let declared = doc.get("Parameters");
            for (name, value) in entries {
                if declared.and_then(|d| d.get(name)).is_none() {
                    return Err(TemplateError::at(
                        value.loc.clone(),
                        format!(
                            "nested stack {qualified} is given parameter {name}, which its template {} does not declare",
                            path.display()
                        ),
                    ));
                }
                let value = self.rewrite(scope, value)?;
                shallow(
                    &value,
                    &format!("parameter {name} of nested stack {qualified}"),
                )?;
                // A CommaDelimitedList or List<...> parameter is a list in the child
                // (CloudFormation splits the text it is passed at commas).
                let list = declared
                    .and_then(|d| d.get(name))
                    .and_then(|p| p.get("Type"))
                    .and_then(Node::as_str)
                    .is_some_and(|t| t == "CommaDelimitedList" || t.starts_with("List<"));
                let value = if list { as_list(value) } else { value };
                passed.insert(name.clone(), value);
            }
        }
        let condition = res
            .get("Condition")
            .map(|c| self.condition_of(scope, Some(c)))
            .and_then(|c| c.as_str().map(str::to_string))
            .or_else(|| scope.condition.clone());
        let mut child = Scope {
            prefix: format!("{}{id}/", scope.prefix),
            doc,
            dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            passed,
            condition,
            children: HashMap::new(),
        };
        self.chain.push((canonical, path.display().to_string()));
        self.read += 1;
        let outputs = self.scope(&mut child);
        self.chain.pop();
        outputs
    }

    /// `node` of `scope`, rewritten into the flattened namespace.
    fn rewrite(&mut self, scope: &mut Scope, node: &Node) -> Result<Node, TemplateError> {
        match &node.kind {
            Kind::Null | Kind::Scalar(..) => Ok(node.clone()),
            Kind::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.rewrite(scope, i)?);
                }
                Ok(seq(out, &node.loc))
            }
            Kind::Map(entries) => {
                if let Some((key, arg)) = node.single_entry() {
                    match key {
                        "Ref" => return self.rewrite_ref(scope, arg, &node.loc),
                        "Fn::GetAtt" => return self.rewrite_get_att(scope, arg, &node.loc),
                        "Fn::Sub" => return self.rewrite_sub(scope, arg, &node.loc),
                        "Condition" if arg.as_str().is_some() => {
                            let name = arg.as_str().unwrap_or_default();
                            let q = text(format!("{}{name}", scope.prefix), &arg.loc);
                            return Ok(map(vec![(key.to_string(), q)], &node.loc));
                        }
                        "Fn::If" | "Fn::FindInMap" => {
                            if let Some([first, rest @ ..]) = arg.as_seq()
                                && let Some(name) = first.as_str()
                            {
                                let mut items =
                                    vec![text(format!("{}{name}", scope.prefix), &first.loc)];
                                for r in rest {
                                    items.push(self.rewrite(scope, r)?);
                                }
                                return Ok(map(
                                    vec![(key.to_string(), seq(items, &arg.loc))],
                                    &node.loc,
                                ));
                            }
                            if !scope.prefix.is_empty() {
                                return Err(dynamic(key, &arg.loc));
                            }
                        }
                        _ => {}
                    }
                }
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    out.push((k.clone(), self.rewrite(scope, v)?));
                }
                Ok(map(out, &node.loc))
            }
        }
    }

    /// `Ref target` of `scope`.
    fn rewrite_ref(
        &mut self,
        scope: &mut Scope,
        arg: &Node,
        loc: &Loc,
    ) -> Result<Node, TemplateError> {
        let Some(target) = arg.as_str() else {
            if scope.prefix.is_empty() {
                let arg = self.rewrite(scope, arg)?;
                return Ok(map(vec![("Ref".to_string(), arg)], loc));
            }
            return Err(dynamic("Ref", &arg.loc));
        };
        Ok(match self.name(scope, target) {
            Named::Node(n) => {
                self.budget.charge(node_bytes(&n), loc)?;
                n
            }
            Named::Text(t) => reference(t, &arg.loc).with_loc(loc),
        })
    }

    /// What a name (`Ref` target, `${name}`) of `scope` becomes.
    fn name(&self, scope: &Scope, target: &str) -> Named {
        if let Some(v) = scope.passed.get(target) {
            return Named::Node(v.clone());
        }
        if target.starts_with("AWS::") && !matches!(target, "AWS::StackName" | "AWS::StackId") {
            return Named::Text(target.to_string());
        }
        if target.starts_with("AWS::") && scope.prefix.is_empty() {
            return Named::Text(target.to_string());
        }
        Named::Text(format!("{}{target}", scope.prefix))
    }

    /// `Fn::GetAtt` of `scope`: a nested stack's `Outputs.Name` becomes the output's value.
    fn rewrite_get_att(
        &mut self,
        scope: &mut Scope,
        arg: &Node,
        loc: &Loc,
    ) -> Result<Node, TemplateError> {
        let (logical, attribute, string_form) = match (&arg.kind, arg.as_seq()) {
            (Kind::Scalar(s, _), _) => match s.split_once('.') {
                Some((l, a)) => (l.to_string(), text(a, &arg.loc), true),
                None => return Ok(map(vec![("Fn::GetAtt".to_string(), arg.clone())], loc)),
            },
            (_, Some([l, a])) => match l.as_str() {
                Some(l) => (l.to_string(), a.clone(), false),
                None if scope.prefix.is_empty() => {
                    let arg = self.rewrite(scope, arg)?;
                    return Ok(map(vec![("Fn::GetAtt".to_string(), arg)], loc));
                }
                None => return Err(dynamic("Fn::GetAtt", &arg.loc)),
            },
            _ => return Ok(map(vec![("Fn::GetAtt".to_string(), arg.clone())], loc)),
        };
        if let Some(output) = attribute.as_str().and_then(|a| a.strip_prefix("Outputs."))
            && let Some(value) = self.output(scope, &logical, output, loc)?
        {
            return Ok(value);
        }
        let qualified = format!("{}{logical}", scope.prefix);
        let arg = if string_form {
            text(
                format!("{qualified}.{}", attribute.as_str().unwrap_or_default()),
                &arg.loc,
            )
        } else {
            let attribute = self.rewrite(scope, &attribute)?;
            seq(vec![text(qualified, &arg.loc), attribute], &arg.loc)
        };
        Ok(map(vec![("Fn::GetAtt".to_string(), arg)], loc))
    }

    /// The value of output `name` of the nested stack `stack` of `scope`; `None` when
    /// `stack` is no nested stack that was read.
    fn output(
        &mut self,
        scope: &mut Scope,
        stack: &str,
        name: &str,
        loc: &Loc,
    ) -> Result<Option<Node>, TemplateError> {
        let is_stack = section(&scope.doc, "Resources")
            .iter()
            .any(|(k, r)| k == stack && type_of(r) == Some(STACK_TYPE));
        if !is_stack {
            return Ok(None);
        }
        self.child(scope, stack, loc)?;
        match scope.children.get(stack) {
            Some(Child::Read(outputs)) => match outputs.get(name) {
                Some(v) => {
                    self.budget.charge(node_bytes(v), loc)?;
                    Ok(Some(v.clone()))
                }
                None => Err(TemplateError::at(
                    loc.clone(),
                    format!(
                        "nested stack {}{stack} has no output {name:?}",
                        scope.prefix
                    ),
                )),
            },
            _ => Ok(None),
        }
    }

    /// `Fn::Sub` of `scope`: names in `${}` qualified; a passed parameter or a nested
    /// stack's output becomes a variable of the `Fn::Sub`.
    fn rewrite_sub(
        &mut self,
        scope: &mut Scope,
        arg: &Node,
        loc: &Loc,
    ) -> Result<Node, TemplateError> {
        let (template, vars) = match (&arg.kind, arg.as_seq()) {
            (Kind::Scalar(s, _), _) => (s.clone(), None),
            (_, Some([t, v])) if t.as_str().is_some() => {
                (t.as_str().unwrap_or_default().to_string(), Some(v))
            }
            _ => {
                let arg = self.rewrite(scope, arg)?;
                return Ok(map(vec![("Fn::Sub".to_string(), arg)], loc));
            }
        };
        let own: HashSet<String> = vars
            .and_then(Node::as_map)
            .map(|m| m.iter().map(|(k, _)| k.clone()).collect())
            .unwrap_or_default();
        let mut added: Vec<(String, Node)> = Vec::new();
        let mut out = String::with_capacity(template.len());
        let mut rest = template.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let body_start = start + 2;
            let Some(close) = rest[body_start..].find('}') else {
                // Left for the resolver to report.
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let body = &rest[body_start..body_start + close];
            let name = body.trim();
            let replaced = if body.starts_with('!') || own.contains(name) {
                body.to_string()
            } else if let Some((l, a)) = name.split_once('.').filter(|_| !name.starts_with("AWS::"))
            {
                match a.strip_prefix("Outputs.") {
                    Some(o) => match self.output(scope, l, o, &arg.loc)? {
                        Some(v) => {
                            added.push((name.to_string(), v));
                            name.to_string()
                        }
                        None => format!("{}{l}.{a}", scope.prefix),
                    },
                    None => format!("{}{l}.{a}", scope.prefix),
                }
            } else {
                match self.name(scope, name) {
                    Named::Node(v) => {
                        self.budget.charge(node_bytes(&v), &arg.loc)?;
                        added.push((name.to_string(), v));
                        name.to_string()
                    }
                    Named::Text(t) => t,
                }
            };
            out.push_str("${");
            out.push_str(&replaced);
            out.push('}');
            rest = &rest[body_start + close + 1..];
        }
        out.push_str(rest);
        let mut var_entries = Vec::new();
        if let Some(v) = vars {
            match v.as_map() {
                Some(m) => {
                    for (k, value) in m {
                        var_entries.push((k.clone(), self.rewrite(scope, value)?));
                    }
                }
                None => {
                    let arg = self.rewrite(scope, arg)?;
                    return Ok(map(vec![("Fn::Sub".to_string(), arg)], loc));
                }
            }
        }
        for (k, v) in added {
            if !var_entries.iter().any(|(e, _)| *e == k) {
                var_entries.push((k, v));
            }
        }
        let body = text(out, &arg.loc);
        let arg = if vars.is_none() && var_entries.is_empty() {
            body
        } else {
            let vars_loc = vars.map_or(&arg.loc, |v| &v.loc);
            seq(vec![body, map(var_entries, vars_loc)], &arg.loc)
        };
        Ok(map(vec![("Fn::Sub".to_string(), arg)], loc))
    }
}

/// What a name becomes: a node (a passed parameter's value) or a name.
enum Named {
    Node(Node),
    Text(String),
}

trait WithLoc {
    fn with_loc(self, loc: &Loc) -> Node;
}

impl WithLoc for Node {
    fn with_loc(mut self, loc: &Loc) -> Node {
        self.loc = loc.clone();
        self
    }
}

/// A reference whose target is computed cannot be followed into a nested stack.
fn dynamic(what: &str, at: &Loc) -> TemplateError {
    TemplateError::at(
        at.clone(),
        format!(
            "{what} with a computed name in a nested stack: policy-sim cannot tell which stack's resource it names"
        ),
    )
}

/// A value copied by flattening (a passed parameter, an output) nests at most
/// [`node::MAX_DEPTH`] levels: each copy is put inside another tree, so values passed on
/// from stack to stack would otherwise nest without bound and overflow the stack of the
/// readers after this one.
fn shallow(value: &Node, what: &str) -> Result<(), TemplateError> {
    if node::depth(value) > node::MAX_DEPTH {
        return Err(TemplateError::at(
            value.loc.clone(),
            format!(
                "the value of {what} nests deeper than {} levels once the values of the nested stacks are put in",
                node::MAX_DEPTH
            ),
        ));
    }
    Ok(())
}

/// The value passed to a list-typed parameter, as the list the child sees: a text is
/// split at commas and each item trimmed (as CloudFormation does for a
/// `CommaDelimitedList`); a computed value is `Fn::Split [",", value]`.
fn as_list(value: Node) -> Node {
    match &value.kind {
        Kind::Scalar(s, _) => seq(
            s.split(',')
                .map(|item| text(item.trim(), &value.loc))
                .collect(),
            &value.loc,
        ),
        Kind::Seq(_) | Kind::Null => value,
        Kind::Map(_) => {
            let loc = value.loc.clone();
            map(
                vec![(
                    "Fn::Split".to_string(),
                    seq(vec![text(",", &loc), value], &loc),
                )],
                &loc,
            )
        }
    }
}

/// `DependsOn` names, qualified.
fn qualify_names(prefix: &str, node: &Node) -> Node {
    match &node.kind {
        Kind::Scalar(s, _) => text(format!("{prefix}{s}"), &node.loc),
        Kind::Seq(items) => seq(
            items.iter().map(|i| qualify_names(prefix, i)).collect(),
            &node.loc,
        ),
        _ => node.clone(),
    }
}

/// Amplify Gen 1: the folders of the project the template is in where the CLI builds the
/// nested stacks' templates: `amplify/backend/` and `amplify/#current-cloud-backend/`
/// (the one holding the template first).
fn amplify_dirs(file: &Path) -> Vec<PathBuf> {
    let Some(amplify) = file
        .ancestors()
        .skip(1)
        .find(|d| d.file_name().is_some_and(|n| n == "amplify"))
    else {
        return Vec::new();
    };
    let mut dirs = vec![
        amplify.join("backend"),
        amplify.join("#current-cloud-backend"),
    ];
    if file.ancestors().any(|d| d == dirs[1]) {
        dirs.swap(0, 1);
    }
    dirs.into_iter().filter(|d| d.is_dir()).collect()
}

/// Amplify Gen 1 build outputs named `file` in category `folder`:
/// `DIR/FOLDER/*/build/FILE`, else `DIR/FOLDER/*/FILE`.
fn amplify_candidates(dir: &Path, folder: &str, file: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir.join(folder)) else {
        return Vec::new();
    };
    let mut resources: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    resources.sort();
    for sub in ["build", ""] {
        let found: Vec<PathBuf> = resources
            .iter()
            .map(|r| r.join(sub).join(file))
            .filter(|p| p.is_file())
            .collect();
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// `Fn::ImportValue` of an export with a literal name that a stack read declares: the
/// exported value.
fn imports(out: &mut Out, budget: &mut Budget) -> Result<(), TemplateError> {
    let mut exports: HashMap<String, Node> = HashMap::new();
    for (_, o) in &out.outputs {
        if let (Some(name), Some(value)) = (
            o.get("Export")
                .and_then(|e| e.get("Name"))
                .and_then(Node::as_str),
            o.get("Value"),
        ) {
            exports.insert(name.to_string(), value.clone());
        }
    }
    if exports.is_empty() {
        return Ok(());
    }
    let mut active = Vec::new();
    for (_, n) in out
        .resources
        .iter_mut()
        .chain(out.conditions.iter_mut())
        .chain(out.outputs.iter_mut())
    {
        *n = import_values(n, &exports, &mut active, budget, 0)?;
    }
    Ok(())
}

fn import_values(
    node: &Node,
    exports: &HashMap<String, Node>,
    active: &mut Vec<String>,
    budget: &mut Budget,
    depth: usize,
) -> Result<Node, TemplateError> {
    // The flattened tree nests at most twice the limit (a copied value, itself limited,
    // inside a template); imports of imports nest no deeper than that either.
    if depth > 2 * node::MAX_DEPTH {
        return Err(TemplateError::at(
            node.loc.clone(),
            format!(
                "this value nests deeper than {} levels once the exports it imports are put in",
                2 * node::MAX_DEPTH
            ),
        ));
    }
    match &node.kind {
        Kind::Null | Kind::Scalar(..) => Ok(node.clone()),
        Kind::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                out.push(import_values(i, exports, active, budget, depth + 1)?);
            }
            Ok(seq(out, &node.loc))
        }
        Kind::Map(entries) => {
            if let Some(("Fn::ImportValue", arg)) = node.single_entry()
                && let Some(name) = arg.as_str()
                && let Some(value) = exports.get(name)
            {
                if active.iter().any(|a| a == name) {
                    return Err(TemplateError::at(
                        node.loc.clone(),
                        format!(
                            "export {name:?} imports itself: {} -> {name}",
                            active.join(" -> ")
                        ),
                    ));
                }
                active.push(name.to_string());
                budget.charge(node_bytes(value), &node.loc)?;
                let v = import_values(value, exports, active, budget, depth);
                active.pop();
                return v;
            }
            let mut out = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                out.push((
                    k.clone(),
                    import_values(v, exports, active, budget, depth + 1)?,
                ));
            }
            Ok(map(out, &node.loc))
        }
    }
}

/// Lower a CloudFormation template (`file`, in `dir`) or a CDK cloud assembly: nested
/// stacks flattened, short names of qualified ids set in `params` (a given name that is
/// ambiguous is an error), the Amplify Gen 1 role rewrite modelled, CDK construct paths
/// recorded as names.
pub(super) fn lower(
    root: &Root,
    (file, dir): (&Path, &Path),
    cfn: Node,
    params: &mut Params,
    assembly: Option<&Assembly>,
) -> Result<Lowered, TemplateError> {
    let mut lowered = Lowered::plain(
        cfn,
        if assembly.is_some() {
            InputKind::CdkAssembly
        } else {
            InputKind::CloudFormation
        },
    );
    if assembly.is_some() || has_nested(&lowered.cfn) {
        let file = assembly.map_or(file, |a| a.root_file.as_path());
        let flat = Flattener::new(root, params).flatten(file, dir, lowered.cfn)?;
        if assembly.is_none() && flat.read > 0 {
            lowered.input = InputKind::NestedStacks;
        }
        ambiguous_params(&flat, params)?;
        for (name, id) in flat.names {
            lowered.names.add(name, id);
        }
        params.set_short_names(flat.shorts);
        lowered.cfn = flat.cfn;
    }
    if let Some(note) = super::amplify::model(&mut lowered.cfn)? {
        lowered.notes.push(note);
        if lowered.input == InputKind::NestedStacks {
            lowered.input = InputKind::AmplifyGen1;
        }
    }
    if let Some(a) = assembly {
        a.names(&lowered.cfn, &mut lowered.names);
    }
    Ok(lowered)
}

/// A `--param` name that is no id of the template and is the short name of several.
fn ambiguous_params(flat: &Flat, params: &Params) -> Result<(), TemplateError> {
    let exact = |id: &str| {
        ["Resources", "Parameters"]
            .iter()
            .any(|s| flat.cfn.get(s).and_then(|m| m.get(id)).is_some())
    };
    for name in params.names() {
        let id = name.split_once('.').map_or(name, |(id, _)| id);
        if exact(id) {
            continue;
        }
        if let Some(meant) = flat.shorts.ambiguity(name) {
            let meant: Vec<&str> = meant.iter().map(String::as_str).collect();
            return Err(TemplateError::at(
                flat.cfn.loc.clone(),
                format!(
                    "parameter {name:?} is ambiguous: {id} names each of [{}]; give the qualified name",
                    meant.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_unique_tails_not_shadowed_by_root_ids() {
        let s = ShortNames::build([
            "Role",
            "A/Bucket",
            "B/Bucket",
            "A/Queue",
            "A/C/Topic",
            "A/Role",
        ]);
        assert_eq!(s.shorts_of("A/Queue.Arn"), vec!["Queue.Arn".to_string()]);
        assert_eq!(
            s.shorts_of("A/C/Topic"),
            vec!["C/Topic".to_string(), "Topic".to_string()]
        );
        assert!(s.shorts_of("A/Bucket").is_empty());
        // A root id of the same name makes the tail ambiguous.
        assert!(s.shorts_of("A/Role").is_empty());
        let both: Vec<&str> = s
            .ambiguity("Bucket.Arn")
            .unwrap()
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(both, ["A/Bucket", "B/Bucket"]);
        assert_eq!(s.ambiguity("Role").unwrap().len(), 2);
        assert!(s.ambiguity("Queue").is_none());
    }

    #[test]
    fn nested_stack_names_follow_the_parent() {
        let none = Params::default();
        assert_eq!(
            nested_stack_name(&none, "root", "A/B"),
            ("root-A-XXXXXXXXXXXX-B-XXXXXXXXXXXX".to_string(), true)
        );
        let given = Params::from_pairs(&[("A/AWS::StackName", "root-A-1XYZ")]);
        assert_eq!(
            nested_stack_name(&given, "root", "A/B"),
            ("root-A-1XYZ-B-XXXXXXXXXXXX".to_string(), true)
        );
        assert_eq!(
            nested_stack_name(&given, "root", "A"),
            ("root-A-1XYZ".to_string(), false)
        );
    }

    /// Load `root.yml` of files written to a fresh directory; the error text, if any.
    fn load_files(name: &str, files: &[(&str, String)]) -> Result<super::super::Template, String> {
        let dir = std::env::temp_dir().join(format!("policy-sim-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (file, text) in files {
            std::fs::write(dir.join(file), text).unwrap();
        }
        let root = Root::new(&dir).unwrap();
        let out = super::super::Template::load_in(&root, &dir.join("root.yml"), Params::default())
            .map_err(|e| e.to_string());
        std::fs::remove_dir_all(&dir).unwrap();
        out
    }

    const ROLE: &str = "Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument: {Version: '2012-10-17', Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]}";

    #[test]
    fn a_list_parameter_passed_as_text_is_a_list_in_the_child() {
        let root = "Resources:\n  C:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: child.yml\n      Parameters:\n        Denied: 'arn:aws:s3:::a/*, arn:aws:s3:::b/*'\n        Joined: !Join [',', [arn:aws:s3:::c/*, arn:aws:s3:::d/*]]\n".to_string();
        let child = format!(
            "Parameters:\n  Denied: {{Type: CommaDelimitedList}}\n  Joined: {{Type: 'List<String>'}}\nResources:\n  R:\n    {ROLE}\n      Policies:\n        - PolicyName: p\n          PolicyDocument: {{Version: '2012-10-17', Statement: [{{Effect: Deny, Action: 's3:*', Resource: !Ref Denied}}, {{Effect: Deny, Action: 's3:*', Resource: !Ref Joined}}]}}\n"
        );
        let t = load_files("list-param", &[("root.yml", root), ("child.yml", child)]).unwrap();
        let policies = t.role_policies(&t.select_role(None).unwrap()).unwrap();
        let doc = serde_json::to_string(&policies.policies[0].document).unwrap();
        assert!(
            doc.contains(r#""Resource":["arn:aws:s3:::a/*","arn:aws:s3:::b/*"]"#)
                && doc.contains(r#""Resource":["arn:aws:s3:::c/*","arn:aws:s3:::d/*"]"#),
            "{doc}"
        );
    }

    #[test]
    fn values_passed_on_from_stack_to_stack_nest_no_deeper_than_the_limit() {
        // Each output wraps the parameter it is given 150 levels deep; ten siblings
        // passing it on would nest it 1,500 levels deep.
        let deep = format!("{}!Ref P{}", "[".repeat(150), "]".repeat(150));
        let child = format!(
            "Parameters:\n  P: {{Type: String}}\nResources:\n  Q: {{Type: AWS::SQS::Queue}}\nOutputs:\n  O: {{Value: {deep}}}\n"
        );
        let mut root = format!("Resources:\n  R:\n    {ROLE}\n");
        for i in 0..10 {
            let p = if i == 0 {
                "x".to_string()
            } else {
                format!("!GetAtt C{}.Outputs.O", i - 1)
            };
            root.push_str(&format!(
                "  C{i}:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: child.yml\n      Parameters:\n        P: {p}\n"
            ));
        }
        let err = load_files("deep-outputs", &[("root.yml", root), ("child.yml", child)])
            .err()
            .unwrap();
        assert!(
            err.contains("the value of output C1/O nests deeper than 200 levels"),
            "{err}"
        );
        // Exports that import each other, each 150 levels deeper.
        let mut outputs = "Resources:\n  Q: {Type: AWS::SQS::Queue}\nOutputs:\n  O0: {Value: x, Export: {Name: E0}}\n".to_string();
        for i in 1..20 {
            outputs.push_str(&format!(
                "  O{i}: {{Value: {}!ImportValue E{}{}, Export: {{Name: E{i}}}}}\n",
                "[".repeat(150),
                i - 1,
                "]".repeat(150)
            ));
        }
        let root = format!(
            "Resources:\n  R:\n    {ROLE}\n  C:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: child.yml\n      Tags: [{{Key: k, Value: !ImportValue E19}}]\n"
        );
        let err = load_files(
            "deep-imports",
            &[("root.yml", root), ("child.yml", outputs)],
        )
        .err()
        .unwrap();
        assert!(
            err.contains("nests deeper than 400 levels once the exports it imports are put in"),
            "{err}"
        );
    }

    #[test]
    fn copies_of_passed_values_are_budgeted() {
        let dir = std::env::temp_dir().join(format!("policy-sim-stacks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let big = "x".repeat(1_000_000);
        let parent = format!(
            "Resources:\n  Child:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: child.yml\n      Parameters:\n        P: {big}\n"
        );
        let refs = vec!["!Ref P"; 100].join(", ");
        let child = format!(
            "Parameters:\n  P: {{Type: String}}\nResources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      Tags: [{refs}]\n"
        );
        std::fs::write(dir.join("root.yml"), parent).unwrap();
        std::fs::write(dir.join("child.yml"), child).unwrap();
        let root = Root::new(&dir).unwrap();
        let err = super::super::Template::load_in(&root, &dir.join("root.yml"), Params::default())
            .unwrap_err()
            .to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            err.contains("child.yml:7:") && err.contains("a value is repeated too many times"),
            "{err}"
        );
    }
}

//! Policies read straight from what deploys them (CloudFormation, SAM, Serverless
//! Framework, nested stacks and Amplify Gen 1, CDK cloud assemblies, Terraform JSON), so
//! that the policy checked is the one that ships. Every input is lowered into one
//! CloudFormation template whose nodes keep their file, line and column.
//!
//! - [`node`]: YAML/JSON into one value tree with locations (`!Ref x` ≡ `{"Ref": x}`);
//! - [`serverless`]: `serverless.yml` variables and its `resources:` CloudFormation;
//! - [`intrinsics`]: CloudFormation intrinsic functions resolved to plain values;
//! - [`stacks`]: nested stacks read and flattened into one template (qualified ids);
//! - [`cdk`]: CDK cloud assemblies (`cdk.out`), their stacks and construct paths;
//! - `amplify`: the Amplify Gen 1 trust rewrite, modelled;
//! - [`sam`]: SAM templates expanded as the SAM translator does;
//! - [`terraform`]: `terraform show -json` of a plan or a state;
//! - [`foreach`]: `Fn::ForEach` (`AWS::LanguageExtensions`) expanded;
//! - [`hints`]: `--param` checks and hints for slips;
//! - [`resource`]: the resource-based policies the template deploys (S3 bucket policies,
//!   API Gateway REST API policies), each with the ARN of its resource;
//! - this module: finding a role, the policies that attach to it and its permissions
//!   boundary.
//!
//! The rules and defaults are written down in `docs/templates.md`.

mod amplify;
mod attach;
pub mod cdk;
pub mod foreach;
pub mod hints;
pub mod intrinsics;
pub mod node;
pub mod resource;
pub mod sam;
#[cfg(test)]
mod scale_tests;
pub mod serverless;
pub mod stacks;
pub mod terraform;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use crate::lang::model::{Policy, PolicyKind};
use crate::lang::parse::LoadError;
use crate::lang::parse::parse_policy_as;
use crate::managed::{AttachKind, Attached};
use crate::root::{Root, RootError};
use attach::expansions;
use node::{Kind, Loc, Node};

/// A value the template needs that no `--param` (or default) supplies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The name to give with `--param NAME=VALUE`.
    pub name: String,
    /// Where the template uses it.
    pub loc: Loc,
    /// What kind of value it is ("template parameter", "Fn::GetAtt", ...).
    pub what: &'static str,
}

/// A template that cannot be used: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum TemplateError {
    /// A problem at a place in a file.
    #[error("{loc}: {message}")]
    #[diagnostic(code(policy_sim::template::invalid))]
    At {
        /// Where.
        loc: Loc,
        /// What.
        message: String,
    },
    /// A file that could not be read.
    #[error("{file}: {message}")]
    #[diagnostic(code(policy_sim::template::file))]
    File {
        /// The file.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// Values nobody supplied, every one of them.
    #[error("{}", missing_message(.0, "as a parameter NAME=VALUE"))]
    #[diagnostic(code(policy_sim::template::missing))]
    Missing(Vec<Missing>),
    /// Several roles and none chosen.
    #[error("{loc}: the template has {} roles; choose one ({})", roles.len(), roles.join(", "))]
    #[diagnostic(code(policy_sim::template::role))]
    ManyRoles {
        /// The template's top.
        loc: Loc,
        /// The roles' logical ids.
        roles: Vec<String>,
    },
    /// A given parameter nothing used, close to a name the template asked for.
    #[error(
        "{file}: parameter {given} is never used, but the template asks for {asked}: misspelt? (without it, {asked} keeps its default)"
    )]
    #[diagnostic(code(policy_sim::template::unused_param))]
    UnusedParam {
        /// The template file.
        file: String,
        /// The name given.
        given: String,
        /// The name the template asked for.
        asked: String,
    },
    /// A given parameter that names nothing the template defines, refers to or asked for
    /// (see `hints::check_params`), with the closest name that it does.
    #[error(
        "{file}: parameter {given} names nothing the template defines or uses{}",
        suggestion.as_ref().map(|s| format!(" (did you mean {s}?)")).unwrap_or_default()
    )]
    #[diagnostic(code(policy_sim::template::unknown_param))]
    UnknownParam {
        /// The template file.
        file: String,
        /// The name given.
        given: String,
        /// The closest name the template defines or uses, if one is close.
        suggestion: Option<String>,
    },
    /// A malformed `NAME=VALUE` parameter.
    #[error("parameter {item:?} {problem}")]
    #[diagnostic(code(policy_sim::template::param))]
    BadParam {
        /// The parameter as given (or its name).
        item: String,
        /// What is wrong with it.
        problem: ParamProblem,
    },
}

/// What is wrong with a `NAME=VALUE` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamProblem {
    /// No `=`.
    NotNameValue,
    /// Nothing before the `=`.
    EmptyName,
    /// The name was given before.
    GivenTwice,
}

impl fmt::Display for ParamProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParamProblem::NotNameValue => "is not NAME=VALUE",
            ParamProblem::EmptyName => "has an empty name",
            ParamProblem::GivenTwice => "is given twice",
        })
    }
}

impl TemplateError {
    /// An error at `loc`.
    pub fn at(loc: Loc, message: String) -> TemplateError {
        TemplateError::At { loc, message }
    }

    /// Where the error is, when it has one place.
    pub fn loc(&self) -> Option<&Loc> {
        match self {
            TemplateError::At { loc, .. } | TemplateError::ManyRoles { loc, .. } => Some(loc),
            TemplateError::File { .. }
            | TemplateError::Missing(_)
            | TemplateError::UnusedParam { .. }
            | TemplateError::UnknownParam { .. }
            | TemplateError::BadParam { .. } => None,
        }
    }
}

/// The message for values nobody supplied; `how` says how to supply one (a front end names
/// its own way, e.g. a command-line option).
pub fn missing_message(missing: &[Missing], how: &str) -> String {
    let mut by_name: BTreeMap<&str, (&str, BTreeSet<&Loc>)> = BTreeMap::new();
    for m in missing {
        let entry = by_name.entry(&m.name).or_insert((m.what, BTreeSet::new()));
        entry.1.insert(&m.loc);
    }
    let mut out = format!(
        "{} value(s) the template needs are not given; supply each {how}:",
        by_name.len()
    );
    for (name, (what, places)) in by_name {
        let places: Vec<String> = places.iter().map(|l| l.to_string()).collect();
        out.push_str(&format!(
            "\n  {name} ({what}), used at {}",
            places.join(", ")
        ));
    }
    out
}

/// `--param NAME=VALUE` values: template parameters, pseudo parameters (`AWS::Region`),
/// resources by logical id, `LogicalId.Attribute`, export names, Serverless options
/// (`opt:stage`) and sources (`env:X`).
#[derive(Debug, Clone, Default)]
pub struct Params(
    BTreeMap<String, String>,
    /// Every name resolution asked for, given or not (to tell a misspelt `--param`).
    std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
    /// Short names of qualified ids (nested stacks): `S3Bucket` for `storage/S3Bucket`.
    Arc<stacks::ShortNames>,
);

impl PartialEq for Params {
    fn eq(&self, other: &Params) -> bool {
        self.0 == other.0
    }
}

impl Eq for Params {}

impl Params {
    /// Parse `NAME=VALUE` strings; a name given twice is an error.
    pub fn parse(items: &[String]) -> Result<Params, TemplateError> {
        let mut map = BTreeMap::new();
        let bad = |item: &str, problem| TemplateError::BadParam {
            item: item.to_string(),
            problem,
        };
        for item in items {
            let Some((name, value)) = item.split_once('=') else {
                return Err(bad(item, ParamProblem::NotNameValue));
            };
            if name.is_empty() {
                return Err(bad(item, ParamProblem::EmptyName));
            }
            if map.insert(name.to_string(), value.to_string()).is_some() {
                return Err(bad(name, ParamProblem::GivenTwice));
            }
        }
        Ok(Params(map, Default::default(), Default::default()))
    }

    /// From pairs (tests and the library API).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            Default::default(),
            Default::default(),
        )
    }

    /// Let a qualified id (`storage/S3Bucket`, `storage/S3Bucket.Arn`) be given by its
    /// short names too (see [`Params::resolve`]).
    pub fn set_short_names(&mut self, shorts: stacks::ShortNames) {
        self.2 = Arc::new(shorts);
    }

    /// The short names of qualified ids.
    pub fn short_names(&self) -> &stacks::ShortNames {
        &self.2
    }

    /// The names given.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The value of `name`, if given. Nothing is recorded (see [`Params::resolve`]).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The value of `name` for the template's resolution: the name is also recorded as
    /// asked for, so that [`Params::near_misses`] can tell a misspelt parameter from one
    /// meant for something else.
    /// A qualified id of a nested stack's resource or parameter (`storage/S3Bucket`, with
    /// an attribute `storage/S3Bucket.Arn`) not given as such is looked up by its short
    /// names (`S3Bucket`, `S3Bucket.Arn`) when no other id has them.
    pub fn resolve(&self, name: &str) -> Option<&str> {
        self.record_asked(name);
        if let Some(v) = self.get(name) {
            return Some(v);
        }
        for short in self.2.shorts_of(name) {
            if let Some(v) = self.0.get(&short) {
                self.record_asked(&short);
                return Some(v);
            }
        }
        None
    }

    /// Record `name` as asked for.
    fn record_asked(&self, name: &str) {
        if let Ok(mut asked) = self.1.lock()
            && !asked.contains(name)
        {
            asked.insert(name.to_string());
        }
    }

    /// Given names nothing asked for that look like a name something did ask for and was
    /// not given (`stage` when the template asked for `Stage`): `(given, asked)`. Such a
    /// value is silently unused, and the template's default applies instead.
    pub fn near_misses(&self) -> Vec<(String, String)> {
        let Ok(asked) = self.1.lock() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for given in self.0.keys() {
            if asked.contains(given) {
                continue;
            }
            // An asked name, and the short names it may be given by.
            let candidates = asked
                .iter()
                .filter(|a| !self.0.contains_key(*a))
                .flat_map(|a| std::iter::once(a.clone()).chain(self.2.shorts_of(a)));
            let close = candidates.filter(|a| !self.0.contains_key(a)).find(|a| {
                a.eq_ignore_ascii_case(given)
                    || (given.len() >= 4
                        && strsim::osa_distance(
                            &a.to_ascii_lowercase(),
                            &given.to_ascii_lowercase(),
                        ) <= 1)
            });
            if let Some(a) = close {
                out.push((given.clone(), a));
            }
        }
        out
    }
}

/// Why a template (or gate) file could not be read as text. Messages name the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum ReadError {
    /// The file cannot be opened or read.
    #[error("cannot read {path}: {detail}")]
    #[diagnostic(code(policy_sim::file::read))]
    Io {
        /// The path as given.
        path: String,
        /// The system's reason.
        detail: String,
    },
    /// Over the size limit.
    #[error("{path} is larger than the limit of {limit} bytes")]
    #[diagnostic(code(policy_sim::file::size))]
    TooLarge {
        /// The path as given.
        path: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// Outside the project root: not read.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Outside(crate::root::RootError),
    /// Not UTF-8.
    #[error("{path} is not UTF-8 (invalid byte at offset {offset})")]
    #[diagnostic(code(policy_sim::file::utf8))]
    NotUtf8 {
        /// The path as given.
        path: String,
        /// The offset of the first invalid byte.
        offset: usize,
    },
}

/// Read a template (or gate) file inside the project `root` as UTF-8 text, refusing
/// files outside it, files over the template size limit and invalid UTF-8.
pub fn read_text(root: &Root, path: &Path) -> Result<String, ReadError> {
    use std::io::Read;
    let shown = || path.display().to_string();
    let io = |e: std::io::Error| ReadError::Io {
        path: shown(),
        detail: e.to_string(),
    };
    let file = root.open(path).map_err(|e| match e {
        RootError::Io { path, detail } => ReadError::Io { path, detail },
        outside @ (RootError::Outside { .. } | RootError::Invalid { .. }) => {
            ReadError::Outside(outside)
        }
    })?;
    let mut bytes = Vec::new();
    file.take(node::MAX_TEMPLATE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > node::MAX_TEMPLATE_BYTES {
        return Err(ReadError::TooLarge {
            path: shown(),
            limit: node::MAX_TEMPLATE_BYTES,
        });
    }
    String::from_utf8(bytes).map_err(|e| ReadError::NotUtf8 {
        path: shown(),
        offset: e.utf8_error().valid_up_to(),
    })
}

/// Bytes resolution may produce before the template is refused: this floor plus
/// [`EXPANSION_FACTOR`] times the input's size. `Fn::Sub`, `Fn::Join`, `Ref` and Serverless
/// `${self:}` can repeat a large value many times over (a 1 MB parameter used 3,000 times
/// is 3 GB); every byte produced is counted against one budget per resolution, so such a
/// template is refused after a few tens of megabytes.
pub const EXPANSION_FLOOR: usize = 16 * 1024 * 1024;
/// See [`EXPANSION_FLOOR`].
pub const EXPANSION_FACTOR: usize = 8;

/// The bytes one resolution may still produce ([`EXPANSION_FLOOR`]).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    used: usize,
    limit: usize,
}

impl Budget {
    /// The budget for an input of `bytes` bytes.
    pub fn for_input(bytes: usize) -> Budget {
        Budget {
            used: 0,
            limit: EXPANSION_FLOOR.saturating_add(EXPANSION_FACTOR.saturating_mul(bytes)),
        }
    }

    /// More input (an included file) raises the limit.
    pub fn add_input(&mut self, bytes: usize) {
        self.limit = self
            .limit
            .saturating_add(EXPANSION_FACTOR.saturating_mul(bytes));
    }

    /// Count `bytes` produced at `loc`; an error once over the limit.
    pub fn charge(&mut self, bytes: usize, loc: &Loc) -> Result<(), TemplateError> {
        self.used = self.used.saturating_add(bytes);
        if self.used > self.limit {
            return Err(TemplateError::at(
                loc.clone(),
                format!(
                    "resolving the template produces more than {} bytes ({} MiB plus {EXPANSION_FACTOR} times the template's size): a value is repeated too many times",
                    self.limit,
                    EXPANSION_FLOOR / (1024 * 1024)
                ),
            ));
        }
        Ok(())
    }
}

/// What one node of a copy costs besides its text: about what it takes in memory, so
/// that copies of nodes holding little or no text (nested empty lists) are counted too.
pub const NODE_COST: usize = 64;

/// The text a node holds (keys and scalars), in bytes, plus [`NODE_COST`] per node: its
/// size as input, or as a copy.
pub fn node_bytes(node: &Node) -> usize {
    let mut total = 0usize;
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        total = total.saturating_add(NODE_COST);
        match &n.kind {
            Kind::Null => {}
            Kind::Scalar(s, _) => total = total.saturating_add(s.len()),
            Kind::Seq(items) => stack.extend(items),
            Kind::Map(entries) => {
                for (k, v) in entries {
                    total = total.saturating_add(k.len());
                    stack.push(v);
                }
            }
        }
    }
    total
}

/// One policy of a role, resolved.
#[derive(Debug, Clone)]
pub struct ResolvedPolicy {
    /// `PolicyName` (inline) or the logical id of an `AWS::IAM::Policy` /
    /// `AWS::IAM::ManagedPolicy`.
    pub name: String,
    /// The resolved IAM JSON.
    pub document: Value,
    /// The parsed policy, named `FILE#Role/Name`.
    pub policy: Policy,
    /// The template node of the document (for locations).
    pub node: Node,
}

/// A role's permissions as the template deploys them.
#[derive(Debug, Clone)]
pub struct RolePolicies {
    /// The role's logical id.
    pub role: String,
    /// Inline policies, then attached `AWS::IAM::Policy`/`ManagedPolicy` resources.
    pub policies: Vec<ResolvedPolicy>,
    /// Policies the role names by ARN (managed policies outside the template) and its
    /// permissions boundary: for the loader to find, or to report as unseen.
    pub attached: Vec<Attached>,
    /// The role's permissions boundary when it is an `AWS::IAM::ManagedPolicy` of the
    /// template (named by its logical id in `attached`): its document, parsed as an
    /// identity-based policy and named `FILE#Role/LogicalId`.
    pub boundary: Option<ResolvedPolicy>,
}

/// What a role names by ARN (see `Template::named_by_arn`).
struct NamedByArn {
    /// Managed policies of the template that `ManagedPolicyArns` attaches.
    managed_refs: HashSet<String>,
    /// Policies named by ARN, and the boundary.
    attached: Vec<Attached>,
    /// A boundary that is a managed policy of the template: its logical id and where the
    /// role names it.
    own_boundary: Option<(String, Loc)>,
}

/// A loaded template.
#[derive(Debug, Clone)]
pub struct Template {
    /// The file as given.
    pub file: Arc<str>,
    /// The CloudFormation template (for Serverless, what `resources:` adds).
    pub cfn: Node,
    /// The region `AWS::Region` stands for.
    pub region: String,
    /// The `--param` values.
    pub params: Params,
    /// Loaded from a `serverless.yml`.
    pub serverless: bool,
    /// The size of `cfn` in bytes, which sets the resolution's [`Budget`].
    pub input_bytes: usize,
    /// Whether `region` was given (a parameter, or Serverless `provider.region`) rather
    /// than defaulted.
    pub region_known: bool,
    /// Serverless: the resource policy of the service's REST API, if it gives one.
    pub api_policy: Option<serverless::ApiPolicy>,
    /// What kind of input this was read from.
    pub input: InputKind,
    /// Other names users type for the resources (`--role`): role names, construct paths,
    /// Terraform addresses, unqualified logical ids of nested stacks.
    pub names: Names,
    /// What reading the input modelled rather than read (a custom resource's documented
    /// effect, a symbolic binding): said in the output, never silent.
    pub notes: Vec<String>,
}

/// The kinds of input `--template` reads, each turned into one CloudFormation template
/// (see `docs/templates.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A CloudFormation template (YAML or JSON).
    CloudFormation,
    /// A Serverless Framework `serverless.yml`.
    Serverless,
    /// A CloudFormation template with the SAM transform, expanded as SAM does.
    Sam,
    /// A CloudFormation template whose nested stacks were read and flattened.
    NestedStacks,
    /// An Amplify Gen 1 root stack, its nested stacks read and flattened.
    AmplifyGen1,
    /// A CDK cloud assembly (`cdk.out`; also SST v2 and Amplify Gen 2 output).
    CdkAssembly,
    /// The JSON `terraform show -json` prints for a plan or a state.
    Terraform,
}

impl InputKind {
    /// How the input is named in messages.
    pub fn describe(self) -> &'static str {
        match self {
            InputKind::CloudFormation => "CloudFormation template",
            InputKind::Serverless => "Serverless Framework service",
            InputKind::Sam => "SAM template",
            InputKind::NestedStacks => "CloudFormation template with nested stacks",
            InputKind::AmplifyGen1 => "Amplify Gen 1 root stack with nested stacks",
            InputKind::CdkAssembly => "CDK cloud assembly",
            InputKind::Terraform => "Terraform plan or state (terraform show -json)",
        }
    }
}

/// Other names for a template's resources: each maps to the logical ids it may mean
/// (several when it is ambiguous).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names(BTreeMap<String, BTreeSet<String>>);

impl Names {
    /// Record that `name` may mean the resource `logical`.
    pub fn add(&mut self, name: impl Into<String>, logical: impl Into<String>) {
        self.0
            .entry(name.into())
            .or_default()
            .insert(logical.into());
    }

    /// The logical ids `name` may mean (empty when it is no known name).
    pub fn lookup(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0.get(name).into_iter().flatten().map(String::as_str)
    }

    /// Every name and what it means.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &BTreeSet<String>)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Add every name of `other`.
    pub fn extend(&mut self, other: Names) {
        for (name, ids) in other.0 {
            self.0.entry(name).or_default().extend(ids);
        }
    }
}

/// An input lowered into one CloudFormation template, with what reading it recorded.
#[derive(Debug)]
pub struct Lowered {
    /// The one template.
    pub cfn: Node,
    /// What kind of input it was.
    pub input: InputKind,
    /// Other names of its resources (generated roles, construct paths, addresses).
    pub names: Names,
    /// What was modelled rather than read.
    pub notes: Vec<String>,
    /// The region the input itself names (a Terraform provider's), if any.
    pub region: Option<String>,
}

impl Lowered {
    /// A template taken as it is.
    pub fn plain(cfn: Node, input: InputKind) -> Lowered {
        Lowered {
            cfn,
            input,
            names: Names::default(),
            notes: Vec::new(),
            region: None,
        }
    }
}

impl Template {
    /// Load a deploy input (any kind, see the module documentation), its project root
    /// found from its path ([`Root::discover`]).
    pub fn load(path: &Path, params: Params) -> Result<Template, TemplateError> {
        Template::load_in(&Root::discover(path), path, params)
    }

    /// Load a deploy input (a file, or a CDK cloud assembly directory; the kind is told
    /// from its content) that, like every file it includes or nests, lies inside the
    /// project `root`.
    pub fn load_in(
        root: &Root,
        path: &Path,
        mut params: Params,
    ) -> Result<Template, TemplateError> {
        let file: Arc<str> = Arc::from(path.display().to_string());
        // A directory is a CDK cloud assembly (`cdk.out`).
        let assembly = cdk::Assembly::read_if_dir(root, path)?;
        let doc = match &assembly {
            Some(a) => a.root.clone(),
            None => {
                let text = read_text(root, path).map_err(|e| TemplateError::File {
                    file: file.to_string(),
                    message: e.to_string(),
                })?;
                let doc = node::parse(&file, &text)?;
                if terraform::is_terraform(&doc) {
                    return terraform::template(file, &doc, params);
                }
                doc
            }
        };
        let dir = match &assembly {
            Some(_) => path,
            None => path.parent().unwrap_or(Path::new(".")),
        };
        let is_serverless = assembly.is_none() && serverless::is_serverless(&doc);
        let region_known = params.get("AWS::Region").is_some()
            || (is_serverless
                && (params.get("opt:region").is_some()
                    || doc.get("provider").and_then(|p| p.get("region")).is_some()));
        let (cfn, region, api_policy) = if is_serverless {
            let region = serverless::region(&doc, root, dir, &params)?;
            (
                serverless::cloudformation(&doc, root, dir, &params).map_err(|e| {
                    match (&e, hints::check_serverless_params(&file, &params)) {
                        (TemplateError::Missing(_), Err(misspelt)) => misspelt,
                        _ => e,
                    }
                })?,
                region,
                serverless::api_policy(&doc, root, dir, &params)?,
            )
        } else {
            let region = params
                .resolve("AWS::Region")
                .unwrap_or("us-east-1")
                .to_string();
            (doc, region, None)
        };
        let cfn = foreach::expand(cfn, &params, &region, is_serverless)?;
        if cfn.get("Resources").and_then(Node::as_map).is_none() {
            return Err(TemplateError::at(
                cfn.loc.clone(),
                "the template has no Resources mapping".to_string(),
            ));
        }
        let lowered = if is_serverless {
            Lowered::plain(cfn, InputKind::Serverless)
        } else {
            stacks::lower(root, (path, dir), cfn, &mut params, assembly.as_ref())?
        };
        let (cfn, lowered_input, mut names, mut notes) =
            (lowered.cfn, lowered.input, lowered.names, lowered.notes);
        expansions(&cfn)?;
        let sam = sam::lower_if_sam(&cfn, &params, &region, is_serverless)?;
        let is_sam = sam.is_some();
        let cfn = match sam {
            Some(l) => {
                names.extend(l.names);
                notes.extend(l.notes);
                l.cfn
            }
            None => cfn,
        };
        Ok(Template {
            file,
            region,
            params,
            serverless: is_serverless,
            region_known,
            input_bytes: node_bytes(&cfn),
            cfn,
            api_policy,
            input: if is_serverless {
                InputKind::Serverless
            } else if is_sam {
                InputKind::Sam
            } else {
                lowered_input
            },
            names,
            notes,
        })
    }

    /// The resources, in document order.
    pub fn resources(&self) -> &[(String, Node)] {
        self.cfn
            .get("Resources")
            .and_then(Node::as_map)
            .unwrap_or(&[])
    }

    /// Resources of one CloudFormation type.
    pub fn resources_of_type<'t>(
        &'t self,
        ty: &'t str,
    ) -> impl Iterator<Item = (&'t str, &'t Node)> + 't {
        self.resources()
            .iter()
            .filter(move |(_, r)| r.get("Type").and_then(Node::as_str) == Some(ty))
            .map(|(k, v)| (k.as_str(), v))
    }

    /// The role to use: `role` if given (an `AWS::IAM::Role`'s logical id, or another name
    /// of one: see [`Template::names`]), else the only role in the template.
    pub fn select_role(&self, role: Option<&str>) -> Result<String, TemplateError> {
        let roles: Vec<&str> = self
            .resources_of_type("AWS::IAM::Role")
            .map(|(k, _)| k)
            .collect();
        match role {
            Some(r) if roles.contains(&r) => Ok(r.to_string()),
            Some(r) => {
                let meant: Vec<&str> = self.names.lookup(r).filter(|l| roles.contains(l)).collect();
                match meant.as_slice() {
                    [one] => Ok(one.to_string()),
                    [] => {
                        let near = hints::closest(
                            r,
                            roles.iter().copied().chain(self.names.iter().filter_map(
                                |(name, ls)| {
                                    ls.iter()
                                        .any(|l| roles.contains(&l.as_str()))
                                        .then_some(name)
                                },
                            )),
                        );
                        let hint = near
                            .map(|n| format!(" (did you mean {n:?}?)"))
                            .unwrap_or_default();
                        Err(TemplateError::at(
                            self.cfn.loc.clone(),
                            format!(
                                "role {r:?} not found{hint}: the template's AWS::IAM::Role resources are [{}]",
                                roles.join(", ")
                            ),
                        ))
                    }
                    many => Err(TemplateError::at(
                        self.cfn.loc.clone(),
                        format!(
                            "role {r:?} is ambiguous: it names each of [{}]; give one of them",
                            many.join(", ")
                        ),
                    )),
                }
            }
            None => match roles.as_slice() {
                [one] => Ok(one.to_string()),
                [] => Err(TemplateError::at(
                    self.cfn.loc.clone(),
                    "the template has no AWS::IAM::Role".to_string(),
                )),
                many => Err(TemplateError::ManyRoles {
                    loc: self.cfn.loc.clone(),
                    roles: many
                        .iter()
                        .map(|r| match self.construct_path(r) {
                            Some(path) => format!("{path} ({r})"),
                            None => r.to_string(),
                        })
                        .collect(),
                }),
            },
        }
    }

    /// The construct path of a CDK input's resource `logical` (the shortest, without a
    /// last `/Resource` or `/Default`), as users name it; `None` for other inputs.
    pub fn construct_path(&self, logical: &str) -> Option<&str> {
        if self.input != InputKind::CdkAssembly {
            return None;
        }
        self.names
            .iter()
            .filter(|(name, ids)| {
                name.contains('/')
                    && !name.ends_with("/Resource")
                    && !name.ends_with("/Default")
                    && !logical.ends_with(name)
                    && ids.contains(logical)
            })
            .map(|(name, _)| name)
            .min_by_key(|name| name.len())
    }

    /// The `Type` of a resource.
    pub fn resource_type(&self, logical: &str) -> Option<&str> {
        self.cfn
            .get("Resources")
            .and_then(|r| r.get(logical))
            .and_then(|r| r.get("Type"))
            .and_then(Node::as_str)
    }

    /// Whether a resource is created: its `Condition`, if any, holds.
    fn resource_exists(
        &self,
        res: &Node,
        r: &mut intrinsics::Resolver<'_>,
    ) -> Result<bool, TemplateError> {
        match res.get("Condition") {
            None => Ok(true),
            Some(c) => {
                let name = c.as_str().ok_or_else(|| {
                    TemplateError::at(
                        c.loc.clone(),
                        "a resource's Condition must be a condition name".to_string(),
                    )
                })?;
                r.condition(name, &c.loc)
            }
        }
    }

    /// `node` with `Fn::If` decided, for structure that names resources (`Roles`,
    /// `ManagedPolicyArns`).
    fn structural(
        &self,
        node: &Node,
        r: &mut intrinsics::Resolver<'_>,
    ) -> Result<Node, TemplateError> {
        let mut n = node.clone();
        for _ in 0..64 {
            let Some(("Fn::If", arg)) = n.single_entry() else {
                return Ok(n);
            };
            let Some([cond, yes, no]) = arg.as_seq() else {
                return Err(TemplateError::at(
                    arg.loc.clone(),
                    "Fn::If takes [condition, then, else]".to_string(),
                ));
            };
            let name = r.string(cond)?;
            n = if r.condition(&name, &cond.loc)? {
                yes.clone()
            } else {
                no.clone()
            };
        }
        Err(TemplateError::at(
            node.loc.clone(),
            "Fn::If nests too deeply".to_string(),
        ))
    }

    fn resolver(&self) -> intrinsics::Resolver<'_> {
        let mut r =
            intrinsics::Resolver::new(&self.cfn, &self.params, &self.region, self.serverless);
        r.region_known = self.region_known;
        r.after_apply = self.input == InputKind::Terraform;
        r.budget = Budget::for_input(self.input_bytes);
        r
    }

    /// Whether a resource is created: its `Condition`, if any, holds. A condition that
    /// cannot be decided is an error (a value to give, or a malformed condition).
    pub fn created(&self, res: &Node) -> Result<bool, TemplateError> {
        let mut r = self.resolver();
        let exists = self.resource_exists(res, &mut r)?;
        r.finish()?;
        Ok(exists)
    }

    /// `node` with `Fn::If` decided where it stands for structure (a role, a pool, a
    /// property): the node chosen, possibly `!Ref AWS::NoValue`.
    pub fn decide_if(&self, node: &Node) -> Result<Node, TemplateError> {
        let mut r = self.resolver();
        let n = self.structural(node, &mut r)?;
        r.finish()?;
        Ok(n)
    }

    /// A resolver for other modules (the Cognito flow).
    pub fn resolve_node(&self, node: &Node) -> Result<Value, TemplateError> {
        let mut r = self.resolver();
        let v = r.resolve(node)?;
        r.finish()?;
        Ok(v)
    }

    /// The resource with logical id `id`, or an error at the template's start.
    pub fn resource(&self, id: &str) -> Result<&Node, TemplateError> {
        self.cfn
            .get("Resources")
            .and_then(|r| r.get(id))
            .ok_or_else(|| TemplateError::at(self.cfn.loc.clone(), format!("no resource {id:?}")))
    }

    /// The role's `PermissionsBoundary` and `ManagedPolicyArns`: the logical ids of the
    /// template's own `AWS::IAM::ManagedPolicy` resources its `ManagedPolicyArns` name (a
    /// Ref to, or PolicyArn of, one attaches it), every policy named by ARN instead (a
    /// boundary is listed even when it is a policy of the template, by its logical id),
    /// and the logical id of a boundary that is a managed policy of the template.
    fn named_by_arn(
        &self,
        props: Option<&Node>,
        r: &mut intrinsics::Resolver<'_>,
    ) -> Result<NamedByArn, TemplateError> {
        let mut attached = Vec::new();
        let mut own_boundary = None;
        if let Some(boundary) = props.and_then(|p| p.get("PermissionsBoundary")) {
            let boundary = self.structural(boundary, r)?;
            if !is_no_value(&boundary) {
                let internal = ref_target(&boundary)
                    .or_else(|| get_att_target(&boundary))
                    .filter(|t| self.resource_type(t) == Some("AWS::IAM::ManagedPolicy"));
                own_boundary = internal.map(|t| (t.to_string(), boundary.loc.clone()));
                attached.push(Attached {
                    arn: match internal {
                        Some(t) => t.to_string(),
                        None => r.string(&boundary)?,
                    },
                    loc: boundary.loc.clone(),
                    kind: AttachKind::PermissionsBoundary,
                });
            }
        }
        // ManagedPolicyArns: a Ref to (or PolicyArn of) a managed policy in this template
        // attaches it; any other ARN is outside the template.
        let mut managed_refs = HashSet::new();
        if let Some(list) = props.and_then(|p| p.get("ManagedPolicyArns")) {
            let list = self.structural(list, r)?;
            let items = list.as_seq().ok_or_else(|| {
                TemplateError::at(
                    list.loc.clone(),
                    "ManagedPolicyArns must be a list".to_string(),
                )
            })?;
            for item in items {
                let item = self.structural(item, r)?;
                let internal = ref_target(&item)
                    .or_else(|| get_att_target(&item))
                    .filter(|t| self.resource_type(t) == Some("AWS::IAM::ManagedPolicy"));
                match internal {
                    Some(t) => {
                        managed_refs.insert(t.to_string());
                    }
                    None => {
                        if is_no_value(&item) {
                            continue;
                        }
                        attached.push(Attached {
                            arn: r.string(&item)?,
                            loc: item.loc.clone(),
                            kind: AttachKind::ManagedPolicy,
                        });
                    }
                }
            }
        }
        Ok(NamedByArn {
            managed_refs,
            attached,
            own_boundary,
        })
    }

    /// The document of a boundary that is the template's `AWS::IAM::ManagedPolicy`
    /// `logical` (named at `at`): resolved, not parsed. A boundary that is not created
    /// (its `Condition` is false) is an error: the role could not be deployed.
    fn own_boundary(
        &self,
        role: &str,
        logical: &str,
        at: &Loc,
        r: &mut intrinsics::Resolver<'_>,
    ) -> Result<(Node, Value), TemplateError> {
        let res = self.resource(logical)?;
        if !self.resource_exists(res, r)? {
            return Err(TemplateError::at(
                at.clone(),
                format!(
                    "the permissions boundary of role {role} is {logical}, which is not created: its Condition is false"
                ),
            ));
        }
        let props = match res.get("Properties") {
            Some(p) => Some(self.structural(p, r)?),
            None => None,
        };
        let doc = props
            .as_ref()
            .and_then(|p| p.get("PolicyDocument"))
            .ok_or_else(|| {
                TemplateError::at(res.loc.clone(), format!("{logical} has no PolicyDocument"))
            })?
            .clone();
        let value = r.document(&doc)?;
        Ok((doc, value))
    }

    /// The role's permission policies: inline `Policies`, then `AWS::IAM::Policy` and
    /// `AWS::IAM::ManagedPolicy` resources that attach to it (by `Roles: [!Ref Role]`, or
    /// through the role's `ManagedPolicyArns: [!Ref Policy]`).
    pub fn role_policies(&self, role: &str) -> Result<RolePolicies, TemplateError> {
        let mut r = self.resolver();
        let resource = self.created_role(role, &mut r)?;
        let props = resource.get("Properties");
        let mut found: Vec<(String, Node, Value)> = Vec::new();
        if let Some(p) = props
            && let Some((key, _)) = p.single_entry()
            && key.starts_with("Fn::")
        {
            return Err(TemplateError::at(
                p.loc.clone(),
                format!("the Properties of role {role} must be a mapping, not {key}"),
            ));
        }
        self.inline_policies(props, &mut r, &mut found)?;
        let NamedByArn {
            managed_refs,
            attached,
            own_boundary,
        } = self.named_by_arn(props, &mut r)?;
        let boundary = own_boundary
            .map(|(logical, at)| {
                Ok::<_, TemplateError>((self.own_boundary(role, &logical, &at, &mut r)?, logical))
            })
            .transpose()?;
        let mut role_name = attach::RoleName::new();
        for (logical, res) in self.resources() {
            let Some(ty) = res.get("Type").and_then(Node::as_str) else {
                continue;
            };
            let Some(by) = attach::policy_type(ty) else {
                self.opaque(logical, res, ty, role, &mut r)?;
                continue;
            };
            if !self.resource_exists(res, &mut r)? {
                continue;
            }
            let p = match res.get("Properties") {
                Some(p) => Some(self.structural(p, &mut r)?),
                None => None,
            };
            let naming = attach::Naming {
                role,
                policy: logical,
                property: match by {
                    attach::ByName::Roles => "Roles",
                    attach::ByName::RoleName => "RoleName",
                },
            };
            let via_name =
                self.attaches_by_name(by, p.as_ref(), &naming, &mut role_name, &mut r)?;
            let via_arns =
                ty == "AWS::IAM::ManagedPolicy" && managed_refs.contains(logical.as_str());
            if !(via_name || via_arns) {
                continue;
            }
            let doc = p
                .as_ref()
                .and_then(|p| p.get("PolicyDocument"))
                .ok_or_else(|| {
                    TemplateError::at(res.loc.clone(), format!("{logical} has no PolicyDocument"))
                })?;
            let value = r.document(doc)?;
            found.push((logical.clone(), doc.clone(), value));
        }
        // A misspelt `--param` explains a missing value: said first.
        if let Some((given, asked)) = self.params.near_misses().into_iter().next() {
            if r.missing.iter().any(|m| m.name == asked) {
                // No default to keep: the name given is simply not one the template uses.
                return Err(TemplateError::UnknownParam {
                    file: self.file.to_string(),
                    given,
                    suggestion: Some(asked),
                });
            }
            return Err(TemplateError::UnusedParam {
                file: self.file.to_string(),
                given,
                asked,
            });
        }
        hints::check_params(self)?;
        r.finish()?;
        let mut policies = Vec::new();
        for (name, doc, value) in found {
            let what = format!("role {role}");
            let policy =
                self.parse_resolved(role, &what, &name, &doc, &value, PolicyKind::Identity)?;
            policies.push(ResolvedPolicy {
                name,
                document: value,
                policy,
                node: doc,
            });
        }
        let boundary = boundary
            .map(|((doc, value), logical)| self.parse_boundary(role, &logical, doc, value))
            .transpose()?;
        Ok(RolePolicies {
            role: role.to_string(),
            policies,
            attached,
            boundary,
        })
    }

    /// The role's inline `Policies` (`Fn::If` decided, `AWS::NoValue` entries dropped),
    /// resolved into `found` as (name, document node, value).
    fn inline_policies(
        &self,
        props: Option<&Node>,
        r: &mut intrinsics::Resolver<'_>,
        found: &mut Vec<(String, Node, Value)>,
    ) -> Result<(), TemplateError> {
        if let Some(inline) = props.and_then(|p| p.get("Policies")) {
            let inline = self.structural(inline, r)?;
            let items = match inline.as_seq() {
                Some(items) => items,
                None if is_no_value(&inline) => &[],
                None => {
                    return Err(TemplateError::at(
                        inline.loc.clone(),
                        "Policies must be a list".to_string(),
                    ));
                }
            };
            for item in items {
                let item = &self.structural(item, r)?;
                if is_no_value(item) {
                    continue;
                }
                let doc = item.get("PolicyDocument").ok_or_else(|| {
                    TemplateError::at(
                        item.loc.clone(),
                        "a Policies entry needs a PolicyDocument".to_string(),
                    )
                })?;
                let name = match item.get("PolicyName") {
                    Some(n) => r.string(n)?,
                    None => format!("Policies[{}]", found.len()),
                };
                let value = r.document(doc)?;
                found.push((name, doc.clone(), value));
            }
        }
        Ok(())
    }

    /// Parse the resolved document of a boundary that is the template's managed policy
    /// `logical`, as an identity-based policy named `FILE#Role/LogicalId`.
    fn parse_boundary(
        &self,
        role: &str,
        logical: &str,
        doc: Node,
        value: Value,
    ) -> Result<ResolvedPolicy, TemplateError> {
        let what = format!("role {role} (its permissions boundary)");
        let policy =
            self.parse_resolved(role, &what, logical, &doc, &value, PolicyKind::Identity)?;
        Ok(ResolvedPolicy {
            name: logical.to_string(),
            document: value,
            policy,
            node: doc,
        })
    }

    /// The role's resource; an error when its `Condition` is false (it is not created).
    fn created_role(
        &self,
        role: &str,
        r: &mut intrinsics::Resolver<'_>,
    ) -> Result<&Node, TemplateError> {
        let resource = self.resource(role)?;
        if !self.resource_exists(resource, r)? {
            return Err(TemplateError::at(
                resource.loc.clone(),
                format!("role {role} is not created: its Condition is false"),
            ));
        }
        Ok(resource)
    }

    /// The role's `Path`, resolved and checked (`/`, or `/` + segments + `/`); `None` when
    /// the role has none (the path is then `/`).
    pub fn role_path(&self, role: &str) -> Result<Option<String>, TemplateError> {
        self.role_string(role, ("Path", ROLE_PATH_RULE), is_role_path)
    }

    /// The role's `RoleName`, resolved; `None` when the role has none (AWS then generates
    /// a name).
    pub fn role_name(&self, role: &str) -> Result<Option<String>, TemplateError> {
        self.role_string(role, ("RoleName", "a string"), |_| true)
    }

    /// The role's string property `name`, resolved and checked by `valid` (`expected` says
    /// what it must be); `None` when the role does not have it.
    fn role_string(
        &self,
        role: &str,
        (name, expected): (&str, &str),
        valid: impl Fn(&str) -> bool,
    ) -> Result<Option<String>, TemplateError> {
        let Some(node) = self
            .resources()
            .iter()
            .find(|(logical, _)| logical == role)
            .and_then(|(_, n)| n.get("Properties"))
            .and_then(|p| p.get(name))
        else {
            return Ok(None);
        };
        match self.resolve_node(node)? {
            Value::String(text) if valid(&text) => Ok(Some(text)),
            other => Err(TemplateError::at(
                node.loc.clone(),
                format!("{name} of {role} must be {expected}, found {other}"),
            )),
        }
    }

    /// The role's trust policy (`AssumeRolePolicyDocument`), resolved.
    pub fn trust_policy(&self, role: &str) -> Result<ResolvedPolicy, TemplateError> {
        let mut r = self.resolver();
        let resource = self.created_role(role, &mut r)?;
        r.finish()?;
        let doc = resource
            .get("Properties")
            .and_then(|p| p.get("AssumeRolePolicyDocument"))
            .ok_or_else(|| {
                TemplateError::at(
                    resource.loc.clone(),
                    format!("role {role} has no AssumeRolePolicyDocument"),
                )
            })?;
        let value = {
            let mut r = self.resolver();
            let v = r.document(doc)?;
            r.finish()?;
            v
        };
        let policy = self.parse_resolved(
            role,
            &format!("role {role}"),
            "AssumeRolePolicyDocument",
            doc,
            &value,
            PolicyKind::Trust,
        )?;
        Ok(ResolvedPolicy {
            name: "AssumeRolePolicyDocument".to_string(),
            document: value,
            policy,
            node: doc.clone(),
        })
    }

    /// Parse a resolved document named `FILE#OWNER/NAME`; an error points at the template
    /// node behind the JSON path and names the policy as `policy NAME of WHAT`.
    fn parse_resolved(
        &self,
        owner: &str,
        what: &str,
        name: &str,
        doc: &Node,
        value: &Value,
        kind: PolicyKind,
    ) -> Result<Policy, TemplateError> {
        let label = format!("{}#{owner}/{name}", self.file);
        let bytes = serde_json::to_vec(value).expect("a JSON value always serializes");
        parse_policy_as(&label, &bytes, kind).map_err(|e| match e {
            LoadError::Invalid { path, message, .. } => TemplateError::at(
                locate(doc, &path),
                format!("policy {name} of {what}: {path}: {message}"),
            ),
            LoadError::Read { problem, .. } => TemplateError::at(doc.loc.clone(), problem),
        })
    }
}

/// What a role's `Path` must be (IAM User Guide, "IAM identifiers").
pub(crate) const ROLE_PATH_RULE: &str = "\"/\" or start and end with \"/\" (IAM identifiers)";

/// Whether `path` is a role path: `/`, or `/` + segments + `/`, without wildcards.
pub(crate) fn is_role_path(path: &str) -> bool {
    path.starts_with('/')
        && path.ends_with('/')
        && !path.contains("//")
        && !path.contains(['*', '?'])
}

/// Does the template declare the transform `name` (`Transform: NAME`, or in a list)?
pub fn declares_transform(cfn: &Node, name: &str) -> bool {
    match cfn.get("Transform") {
        Some(t) => match t.as_seq() {
            Some(items) => items.iter().any(|i| i.as_str() == Some(name)),
            None => t.as_str() == Some(name),
        },
        None => false,
    }
}

/// `{"Ref": "AWS::NoValue"}`.
pub fn is_no_value(node: &Node) -> bool {
    ref_target(node) == Some("AWS::NoValue")
}

/// The logical id in `{"Ref": id}` (or `!Ref id`).
pub fn ref_target(node: &Node) -> Option<&str> {
    match node.single_entry() {
        Some(("Ref", target)) => target.as_str(),
        _ => None,
    }
}

/// The logical id in `{"Fn::GetAtt": [id, attr]}` (or `!GetAtt id.attr`).
pub fn get_att_target(node: &Node) -> Option<&str> {
    match node.single_entry() {
        Some(("Fn::GetAtt", arg)) => match (&arg.kind, arg.as_seq()) {
            (_, Some([l, _])) => l.as_str(),
            (Kind::Scalar(s, _), _) => s.split_once('.').map(|(l, _)| l),
            _ => None,
        },
        _ => None,
    }
}

/// The location of the node a JSON path (`Statement[1].Effect`) names, as far as the
/// template's own structure goes.
pub fn locate(doc: &Node, path: &str) -> Loc {
    let mut node = doc;
    let mut rest = path;
    if rest == "(document)" {
        return doc.loc.clone();
    }
    loop {
        rest = rest.strip_prefix('.').unwrap_or(rest);
        if rest.is_empty() {
            return node.loc.clone();
        }
        if let Some(after) = rest.strip_prefix('[') {
            let Some(close) = after.find(']') else {
                return node.loc.clone();
            };
            let index: usize = after[..close].parse().unwrap_or(usize::MAX);
            match node.as_seq().and_then(|s| s.get(index)) {
                Some(n) => {
                    node = n;
                    rest = &after[close + 1..];
                }
                None => return node.loc.clone(),
            }
            continue;
        }
        // The longest key that the path continues with (keys may contain dots).
        let entry = node.as_map().and_then(|entries| {
            entries
                .iter()
                .filter(|(k, _)| {
                    rest.strip_prefix(k.as_str())
                        .is_some_and(|after| after.is_empty() || after.starts_with(['.', '[']))
                })
                .max_by_key(|(k, _)| k.len())
        });
        match entry {
            Some((k, n)) => {
                rest = &rest[k.len()..];
                node = n;
            }
            // A single statement object written without the list, or an intrinsic.
            None => return node.loc.clone(),
        }
    }
}

/// A node as JSON without resolving anything (intrinsics stay as their mappings).
pub fn to_json_unchecked(node: &Node) -> Value {
    match &node.kind {
        Kind::Null => Value::Null,
        Kind::Scalar(s, _) => Value::String(s.clone()),
        Kind::Seq(items) => Value::Array(items.iter().map(to_json_unchecked).collect()),
        Kind::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_json_unchecked(v)))
                .collect(),
        ),
    }
}

impl fmt::Display for RolePolicies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "role {} with {} polic{}",
            self.role,
            self.policies.len(),
            if self.policies.len() == 1 { "y" } else { "ies" }
        )
    }
}

//! Loading policies: the one place that turns policy files (or standard input), globs of
//! policy files, or a template's role into a [`PolicySet`], with what lint needs to point
//! at each statement.
//!
//! - [`load_files`]: files named as given, `-` for standard input (at most once, and
//!   no stream named twice, see [`check_distinct`]);
//! - [`load_policies`]: glob patterns relative to a directory (the gate's `policies:`),
//!   each policy named by [`display_path`], each file once;
//! - [`load_role`]: the permission policies of a template's role (inline policies), then
//!   the managed policies it names by ARN whose document is known (given, or bundled);
//!   the others are listed in [`Loaded::unseen`], which every verdict consults through
//!   [`Loaded::gap`]. Its permissions boundary, when its document is known, is
//!   [`Loaded::boundary`] (else unseen too), and the template's resource-based policies
//!   are [`Loaded::resource_policies`].
//!
//! Every file is read inside a project root ([`crate::root`]): a file outside it is an
//! error, and so is a glob that would walk outside it. Errors say which file and, for a
//! policy that could not be parsed, carry the file's text so that a renderer can show the
//! offending line.

pub mod types;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::analysis::prover::{Proof, Verdict};
use crate::eval::PolicySet;
use crate::eval::authorize::{Policies, ScopedPolicy};
use crate::lang::model::Policy;
use crate::lang::parse::LoadError;
use crate::lang::parse::{parse_policy, read_bounded};
use crate::lint::{Finding, Locations, lint_set, policy_size};
use crate::managed::{self, AttachKind, Attached, Claim, Given, NotSeen, Unseen, UnseenReason};
use crate::root::{Root, RootError};
use crate::template::{Params, Template, TemplateError};

/// The name standard input goes by in explanations and errors.
pub const STDIN_NAME: &str = "<stdin>";

/// Policies loaded, with what lint needs.
#[derive(Debug)]
pub struct Loaded {
    /// The policies, in the order given.
    pub set: PolicySet,
    /// Each policy's statement locations and size (characters other than white space),
    /// by policy; `None` where unknown.
    pub sources: Vec<Option<(Locations, usize)>>,
    /// Policies of a template role are inline (size limit 10,240).
    pub inline: bool,
    /// How many of the policies are the source's own (the files, or the template's
    /// policies of the role); the managed policies named by ARN follow them.
    pub own: usize,
    /// Policies the role names and the tool did not evaluate: every verdict consults them
    /// ([`Loaded::gap`]).
    pub unseen: Vec<Unseen>,
    /// The files read (policy files, or the template), each with the name findings give
    /// it and its resolved path; standard input is not one.
    pub files: Vec<(String, PathBuf)>,
    /// Resource-based policies, each with the ARN of the resource it is attached to (it
    /// applies to that resource and everything under it): from a template, its S3 bucket
    /// policies and API Gateway REST API policies; empty for policy files.
    pub resource_policies: Vec<(String, Policy)>,
    /// Where each of [`Loaded::resource_policies`] is written (for lint), when known.
    pub resource_sources: Vec<Option<(Locations, usize)>>,
    /// The permissions boundary, when its document is known (a managed policy of the
    /// template, a given document, or a bundled AWS managed policy), parsed as an
    /// identity-based policy; `None` without one, or when it is unseen (then it is in
    /// [`Loaded::unseen`]).
    pub boundary: Option<Policy>,
    /// Where the template's role names [`Loaded::boundary`].
    pub boundary_source: Option<Attached>,
    /// Lint findings name the policy they are in (`ADDRESS/NAME`, its name after the file's
    /// `#`): a Terraform plan's findings point into a policy written as one JSON string,
    /// in a file where the resource's address is not next to it.
    pub name_findings: bool,
    /// Other names for the ids in those policy names (a CDK resource's logical id → its
    /// construct path), longest id first: a finding names the policy as users know it.
    pub finding_names: Vec<(String, String)>,
}

impl Loaded {
    /// Whether a verdict making `claim` may stand: `Err` names the unseen policies that
    /// could make it wrong (see [`managed::gap`]).
    pub fn gap(&self, claim: Claim) -> Result<(), NotSeen> {
        managed::gap(&self.unseen, claim)
    }

    /// Every policy type the source gives, for [`crate::eval::authorize`]: the
    /// identity-based policies, the template's resource-based policies (each applying to
    /// its resource and everything under it) and the permissions boundary.
    pub fn policies(&self) -> Policies {
        Policies {
            identity: self.set.clone(),
            resource: self
                .resource_policies
                .iter()
                .map(|(arn, policy)| ScopedPolicy {
                    resource: Some(arn.clone()),
                    set: PolicySet::new(vec![policy.clone()]),
                })
                .collect(),
            boundary: self
                .boundary
                .as_ref()
                .map(|b| PolicySet::new(vec![b.clone()])),
            ..Policies::default()
        }
    }

    /// The prover's verdict, made `unknown` when it depends on a policy the tool did not
    /// see (`holds` on an unseen managed policy; `violated` on one, or on a boundary,
    /// which can only narrow access and so may rule the counterexample out).
    pub fn settle(&self, proof: &mut Proof) {
        let claim = match proof.verdict {
            Verdict::Holds => Claim::NoneAllowed,
            Verdict::Violated => Claim::SomeAllowed,
            Verdict::Unknown => {
                // Unknown for the prover's own reason: still say what was not seen.
                if let Err(ns) = self.gap(Claim::SomeAllowed) {
                    proof.reason = format!("{}; and {ns}", proof.reason);
                }
                return;
            }
        };
        if let Err(ns) = self.gap(claim) {
            proof.reason = format!(
                "{ns} (without them the verdict would be {})",
                proof.verdict.as_str()
            );
            proof.verdict = Verdict::Unknown;
            proof.counterexample = None;
        }
    }

    /// Lint the source's own policies (managed policies named by ARN are not the
    /// source's to fix, and are not linted).
    pub fn lint(&self) -> Vec<Finding> {
        let own = self.own.min(self.set.policies().len());
        let mut findings = if own == self.set.policies().len() {
            lint_set(&self.set, &self.sources, self.inline)
        } else {
            let set = PolicySet::new(self.set.policies()[..own].to_vec());
            lint_set(
                &set,
                &self.sources[..own.min(self.sources.len())],
                self.inline,
            )
        };
        // A template's bucket and API policies, with the rules for resource-based policies.
        for (i, (_, policy)) in self.resource_policies.iter().enumerate() {
            let set = PolicySet::new(vec![policy.clone()]);
            let source = self.resource_sources.get(i).cloned().flatten();
            findings.extend(crate::lint::lint_typed(
                &set,
                &[source],
                crate::eval::authorize::PolicyType::Resource,
            ));
        }
        if self.name_findings {
            self.name_policies(&mut findings);
        }
        findings
    }

    /// `ROLE/POLICY` as users name it: the policy's construct path when it is a resource
    /// of its own, else the role's path and the policy's name.
    fn known_as(&self, name: &str) -> String {
        for (id, path) in &self.finding_names {
            if name.ends_with(&format!("/{id}")) {
                return path.clone();
            }
        }
        for (id, path) in &self.finding_names {
            if let Some(rest) = name.strip_prefix(&format!("{id}/")) {
                return format!("{path}/{rest}");
            }
        }
        name.to_string()
    }

    /// Prefix each finding with the name of the policy it points into (`ADDRESS/NAME`),
    /// found by the place of the policy's document or statements.
    fn name_policies(&self, findings: &mut [Finding]) {
        let policies = self.set.policies().iter().zip(&self.sources);
        let resources = self
            .resource_policies
            .iter()
            .map(|(_, p)| p)
            .zip(&self.resource_sources);
        let places: Vec<(&Policy, &Locations)> = policies
            .chain(resources)
            .filter_map(|(p, s)| s.as_ref().map(|(l, _)| (p, l)))
            .collect();
        for f in findings {
            let at = |l: &crate::template::node::Loc| {
                *l.file == *f.file && l.line == f.line && l.column == f.column
            };
            let found = places
                .iter()
                .find(|(_, l)| l.document.as_ref().is_some_and(at) || l.statements.iter().any(at));
            if let Some((p, _)) = found {
                let name = p.name.split_once('#').map_or(p.name.as_str(), |(_, n)| n);
                f.message = format!("{}: {}", self.known_as(name), f.message);
            }
        }
    }
}

/// A CDK input's construct paths by logical id (as [`Template::construct_path`] picks
/// them, in one pass over the names), longest id first; empty for other inputs.
fn construct_paths(t: &Template) -> Vec<(String, String)> {
    if t.input != crate::template::InputKind::CdkAssembly {
        return Vec::new();
    }
    let mut best: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
    for (name, ids) in t.names.iter() {
        if !name.contains('/') || name.ends_with("/Resource") || name.ends_with("/Default") {
            continue;
        }
        for id in ids.iter().filter(|id| !id.ends_with(name)) {
            let e = best.entry(id.as_str()).or_insert(name);
            if name.len() < e.len() {
                *e = name;
            }
        }
    }
    let mut out: Vec<(String, String)> = best
        .into_iter()
        .map(|(id, path)| (id.to_string(), path.to_string()))
        .collect();
    out.sort_by_key(|(id, _)| std::cmp::Reverse(id.len()));
    out
}

/// Why policies could not be loaded.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// A policy file that could not be read or is not a valid policy (with the file's text
    /// around the problem, when it has a line).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Policy(#[from] LoadError),
    /// A glob pattern that is not valid.
    #[error("policy pattern {pattern:?}: {message}")]
    #[diagnostic(code(policy_sim::load::pattern))]
    Pattern {
        /// The pattern as given.
        pattern: String,
        /// Why it is not valid.
        message: String,
    },
    /// A glob pattern that matches no file (a typo would otherwise load nothing).
    #[error("policy pattern {pattern:?} matches no file")]
    #[diagnostic(code(policy_sim::load::no_match))]
    NoMatch {
        /// The pattern as given.
        pattern: String,
    },
    /// Standard input named more than once: it can be read only once.
    #[error("standard input (`-`) can be read only once, and it is named {count} times")]
    #[diagnostic(code(policy_sim::load::stdin_twice))]
    StdinTwice {
        /// How many times it was named.
        count: usize,
    },
    /// A file outside the project root, or a pattern that would walk outside it.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Outside(RootError),
    /// A glob pattern whose literal directory lies outside the project root: it is not
    /// walked (`/**/x` would walk the whole file system).
    #[error("policy pattern {pattern:?} reaches outside the project root {root}: not read")]
    #[diagnostic(code(policy_sim::load::pattern_outside))]
    PatternOutside {
        /// The pattern as given.
        pattern: String,
        /// The project root.
        root: String,
    },
    /// A stream (standard input, a pipe, a terminal) named twice: it can be read only
    /// once, so the second reader would get nothing.
    #[error("{again} and {first} are the same input, which can be read only once")]
    #[diagnostic(code(policy_sim::load::read_twice))]
    ReadTwice {
        /// The first name of the input, as given.
        first: String,
        /// The other name, as given.
        again: String,
    },
    /// The template or its role cannot be used.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Template(#[from] TemplateError),
}

/// True for the path `-`, which stands for standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// A path as reports show it: relative to the working directory when it is under it (so
/// that SARIF locations resolve from the repository root CI runs in), else as given.
pub fn display_path(path: &Path) -> String {
    if path.is_absolute()
        && let Ok(cwd) = std::env::current_dir()
        && let Ok(rel) = path.strip_prefix(&cwd)
    {
        return rel.display().to_string();
    }
    path.display().to_string()
}

/// Inputs that are read as they are consumed (standard input, pipes, terminals, ...) may
/// be named once among `paths` (`-` is standard input): a second reader would get
/// nothing, or what the first left. Compared by device and inode, so `-`, `/dev/stdin`
/// and `/proc/self/fd/0` are one input. Regular files may be named twice.
pub fn check_distinct(paths: &[&Path]) -> Result<(), Error> {
    let mut seen: Vec<((u64, u64), &Path)> = Vec::new();
    for path in paths {
        let Some(id) = stream_id(path) else {
            continue;
        };
        if let Some((_, first)) = seen.iter().find(|(s, _)| *s == id) {
            let shown = |p: &Path| {
                if is_stdin(p) {
                    "standard input (`-`)".to_string()
                } else {
                    p.display().to_string()
                }
            };
            return Err(Error::ReadTwice {
                first: shown(first),
                again: shown(path),
            });
        }
        seen.push((id, path));
    }
    Ok(())
}

/// Device and inode of the input `path` names when reading it consumes it (anything but
/// a regular file); `None` for regular files and paths that cannot be examined.
#[cfg(unix)]
fn stream_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = if is_stdin(path) {
        use std::os::fd::AsFd as _;
        let fd = std::io::stdin().as_fd().try_clone_to_owned().ok()?;
        std::fs::File::from(fd).metadata().ok()?
    } else {
        std::fs::metadata(path).ok()?
    };
    (!meta.is_file()).then(|| (meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn stream_id(path: &Path) -> Option<(u64, u64)> {
    is_stdin(path).then_some((0, 0))
}

/// Policies read one at a time into a [`Loaded`].
struct Reader<'r> {
    root: &'r Root,
    policies: Vec<crate::lang::model::Policy>,
    sources: Vec<Option<(Locations, usize)>>,
    files: Vec<(String, PathBuf)>,
}

impl<'r> Reader<'r> {
    fn new(root: &'r Root) -> Reader<'r> {
        Reader {
            root,
            policies: Vec::new(),
            sources: Vec::new(),
            files: Vec::new(),
        }
    }

    /// Read and parse one policy named `name`.
    fn read(&mut self, name: &str, input: impl std::io::Read) -> Result<(), Error> {
        let bytes = read_bounded(name, input)?;
        let policy = parse_policy(name, &bytes)?;
        let text = String::from_utf8_lossy(&bytes);
        self.sources.push(Some((
            Locations::from_text(name, &text),
            policy_size(&text),
        )));
        self.policies.push(policy);
        Ok(())
    }

    /// Read an input the user named (see [`Root::open_input`]): a stream as it is, a file
    /// inside the root.
    fn read_input(&mut self, path: &Path, name: &str) -> Result<(), Error> {
        if !crate::root::is_stream(path) {
            return self.read_file(path, name);
        }
        let file = self
            .root
            .open_input(path)
            .map_err(|e| read_error(name, e))?;
        self.read(name, file)
    }

    /// Open (inside the root) and read the file at `path`, named `name`.
    fn read_file(&mut self, path: &Path, name: &str) -> Result<(), Error> {
        let resolved = self.root.resolve(path).map_err(|e| read_error(name, e))?;
        let file = std::fs::File::open(&resolved).map_err(|e| LoadError::Read {
            file: name.to_string(),
            problem: format!("cannot read: {e}"),
        })?;
        self.read(name, file)?;
        self.files.push((name.to_string(), resolved));
        Ok(())
    }

    fn finish(self) -> Loaded {
        Loaded {
            own: self.policies.len(),
            set: PolicySet::new(self.policies),
            sources: self.sources,
            inline: false,
            unseen: Vec::new(),
            files: self.files,
            resource_policies: Vec::new(),
            resource_sources: Vec::new(),
            boundary: None,
            boundary_source: None,
            name_findings: false,
            finding_names: Vec::new(),
        }
    }
}

/// A file that cannot be opened inside the root, in the policy loader's words.
fn read_error(name: &str, e: RootError) -> Error {
    match e {
        RootError::Io { detail, .. } => Error::Policy(LoadError::Read {
            file: name.to_string(),
            problem: format!("cannot read: {detail}"),
        }),
        outside @ (RootError::Outside { .. } | RootError::Invalid { .. }) => {
            Error::Outside(outside)
        }
    }
}

/// Load policy files inside `root`, each named by its path as given; `-` reads standard
/// input (named [`STDIN_NAME`]) and may appear once, like any other stream
/// ([`check_distinct`]).
pub fn load_files(root: &Root, paths: &[PathBuf]) -> Result<Loaded, Error> {
    let stdin = paths.iter().filter(|p| is_stdin(p)).count();
    if stdin > 1 {
        return Err(Error::StdinTwice { count: stdin });
    }
    check_distinct(&paths.iter().map(PathBuf::as_path).collect::<Vec<_>>())?;
    let mut reader = Reader::new(root);
    for path in paths {
        if is_stdin(path) {
            reader.read(STDIN_NAME, std::io::stdin())?;
        } else {
            reader.read_input(path, &path.display().to_string())?;
        }
    }
    Ok(reader.finish())
}

/// Load the policy files inside `root` that glob `patterns` (relative to `dir`) match, in
/// pattern order; each policy is named by its path as [`display_path`] shows it. A pattern
/// that matches no file is an error; directories a pattern matches are skipped; a file
/// matched twice (by two patterns, or through a symbolic link) is loaded once. A pattern
/// is walked inside the root only (see `glob_files`).
pub fn load_policies(root: &Root, patterns: &[String], dir: &Path) -> Result<Loaded, Error> {
    let mut reader = Reader::new(root);
    let mut loaded: HashSet<PathBuf> = HashSet::new();
    for pattern in patterns {
        let full = dir.join(pattern).display().to_string();
        let invalid = |e: glob::PatternError| Error::Pattern {
            pattern: pattern.clone(),
            message: e.to_string(),
        };
        glob::Pattern::new(&full).map_err(invalid)?;
        let paths = glob_files(root, &full).map_err(|e| match e {
            GlobError::Pattern(e) => invalid(e),
            GlobError::Base => Error::PatternOutside {
                pattern: pattern.clone(),
                root: root.dir().display().to_string(),
            },
            GlobError::Root(e) => read_error(pattern, e),
        })?;
        if paths.is_empty() {
            return Err(Error::NoMatch {
                pattern: pattern.clone(),
            });
        }
        for (path, resolved) in paths {
            if loaded.insert(resolved) {
                reader.read_file(&path, &display_path(&path))?;
            }
        }
    }
    Ok(reader.finish())
}

/// Why a glob cannot be walked.
enum GlobError {
    Pattern(glob::PatternError),
    /// Its literal directory is outside the root.
    Base,
    /// A file it matches cannot be read inside the root.
    Root(RootError),
}

/// Does a path component hold a glob wildcard?
fn is_wild(component: &str) -> bool {
    component.contains(['*', '?', '['])
}

/// The files (not directories) the glob `pattern` matches, each with its resolved path,
/// in path order. The walk starts at the pattern's literal directory, which must lie
/// inside `root` (so `/**/x` is refused, not a walk of the file system); it descends only
/// as deep as the pattern reaches (unbounded under `**`), follows a link to a directory
/// only when it resolves inside the root to a directory not walked yet (so link loops
/// end), and a matching file that resolves outside the root is an error.
fn glob_files(root: &Root, pattern: &str) -> Result<Vec<(PathBuf, PathBuf)>, GlobError> {
    let parts: Vec<&str> = pattern.split('/').collect();
    let Some(first_wild) = parts.iter().position(|c| is_wild(c)) else {
        // A plain path: the file itself, if there is one.
        let path = PathBuf::from(pattern);
        return match std::fs::metadata(&path) {
            Ok(m) if !m.is_dir() => {
                let resolved = root.resolve(&path).map_err(GlobError::Root)?;
                Ok(vec![(path, resolved)])
            }
            _ => Ok(Vec::new()),
        };
    };
    let base = match parts[..first_wild].join("/") {
        b if b.is_empty() && pattern.starts_with('/') => "/".to_string(),
        b if b.is_empty() => ".".to_string(),
        b => b,
    };
    let rest = &parts[first_wild..];
    let matcher = glob::Pattern::new(&rest.join("/")).map_err(GlobError::Pattern)?;
    let max_depth = if rest.contains(&"**") {
        usize::MAX
    } else {
        rest.len()
    };
    let base_path = PathBuf::from(&base);
    let Ok(meta) = std::fs::metadata(&base_path) else {
        return Ok(Vec::new());
    };
    let resolved_base = root.resolve(&base_path).map_err(|_| GlobError::Base)?;
    if !meta.is_dir() {
        return Ok(Vec::new());
    }
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let mut walked: HashSet<PathBuf> = HashSet::from([resolved_base]);
    let mut found = Vec::new();
    // (the directory as the pattern names it, relative to the base, its depth)
    let mut stack = vec![(base_path.clone(), String::new(), 0usize)];
    while let Some((dir, rel, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = dir.join(&name);
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            // Follows links; a dangling link is no file.
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                if depth + 1 < max_depth
                    && let Ok(resolved) = std::fs::canonicalize(&path)
                    && root.contains(&resolved)
                    && walked.insert(resolved)
                {
                    stack.push((path, rel, depth + 1));
                }
            } else if matcher.matches_with(&rel, options) {
                let resolved = root.resolve(&path).map_err(GlobError::Root)?;
                found.push((path, resolved));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Load the permission policies of a template's role (`role`, or its only role), with
/// their locations in the template (they are inline policies), then the managed policies
/// it names by ARN whose document `given` has or the bundled AWS managed policies carry;
/// the rest are in [`Loaded::unseen`]. The role's permissions boundary is found the same
/// way (or is a managed policy of the template) into [`Loaded::boundary`], else it is
/// unseen too. The template's resource-based policies are [`Loaded::resource_policies`].
/// Given documents are read inside `root`; [`Loaded::files`] names the template alone
/// (the given documents are not the template's to lint).
pub fn load_role(
    root: &Root,
    t: &Template,
    role: Option<&str>,
    given: &Given,
) -> Result<Loaded, Error> {
    let role = t.select_role(role)?;
    // Resource policies first: every name they ask for is then known when the role's
    // resolution tells a misspelt parameter from one meant for something else.
    let mut resource_sources = Vec::new();
    // Every value both lack is listed in one error.
    let (resource_policies, rp) =
        crate::template::hints::together(t.resource_policies(), || t.role_policies(&role))?;
    let resource_policies = resource_policies
        .into_iter()
        .map(|p| {
            let size = policy_size(&p.policy.document.to_string());
            resource_sources.push(Some((Locations::from_node(&p.policy.node), size)));
            (p.resource, p.policy.policy)
        })
        .collect();
    let mut reader = Reader::new(root);
    for p in rp.policies {
        let size = policy_size(&p.document.to_string());
        reader
            .sources
            .push(Some((Locations::from_node(&p.node), size)));
        reader.policies.push(p.policy);
    }
    let own = reader.policies.len();
    let mut unseen = Vec::new();
    let (mut boundary, mut boundary_source) = (None, None);
    let mut own_boundary = rp.boundary.map(|b| b.policy);
    for a in rp.attached {
        let found = match a.kind {
            AttachKind::ManagedPolicy => reader.read_attached(&a, given)?,
            AttachKind::PermissionsBoundary => {
                match own_boundary
                    .take()
                    .map_or_else(|| reader.named(&a, given), |p| Ok(Ok(p)))?
                {
                    Ok(policy) => {
                        boundary = Some(policy);
                        boundary_source = Some(a);
                        continue;
                    }
                    Err(reason) => Some(reason),
                }
            }
        };
        if let Some(reason) = found {
            unseen.push(Unseen {
                attached: a,
                reason,
            });
        }
    }
    let files = std::fs::canonicalize(&*t.file)
        .map(|resolved| vec![(t.file.to_string(), resolved)])
        .unwrap_or_default();
    Ok(Loaded {
        own,
        inline: true,
        unseen,
        files,
        resource_policies,
        resource_sources,
        boundary,
        boundary_source,
        name_findings: matches!(
            t.input,
            crate::template::InputKind::Terraform | crate::template::InputKind::CdkAssembly
        ),
        finding_names: construct_paths(t),
        ..reader.finish()
    })
}

impl Reader<'_> {
    /// Read the document of a managed policy named by ARN into the policies, from `given`
    /// or the bundled AWS managed policies (not linted: no source); or say why it stays
    /// unseen.
    fn read_attached(
        &mut self,
        a: &Attached,
        given: &Given,
    ) -> Result<Option<UnseenReason>, Error> {
        match self.named(a, given)? {
            Ok(policy) => {
                self.policies.push(policy);
                self.sources.push(None);
                Ok(None)
            }
            Err(reason) => Ok(Some(reason)),
        }
    }

    /// The document of a policy named by ARN, parsed as an identity-based policy: from
    /// `given` (named by its file) or the bundled AWS managed policies (named by its ARN);
    /// `Ok(Err(reason))` when it is not known.
    fn named(
        &mut self,
        a: &Attached,
        given: &Given,
    ) -> Result<Result<Policy, UnseenReason>, Error> {
        if let Some(path) = given.file(&a.arn) {
            let name = display_path(path);
            let resolved = self.root.resolve(path).map_err(|e| read_error(&name, e))?;
            let file = std::fs::File::open(&resolved).map_err(|e| LoadError::Read {
                file: name.clone(),
                problem: format!("cannot read: {e}"),
            })?;
            let bytes = read_bounded(&name, file)?;
            return Ok(Ok(parse_policy(&name, &bytes)?));
        }
        let Some((document, _version)) = managed::bundled::document(&a.arn) else {
            return Ok(Err(if managed::is_aws_managed(&a.arn) {
                UnseenReason::NotBundled
            } else {
                UnseenReason::NotGiven
            }));
        };
        Ok(Ok(parse_policy(&a.arn, document.as_bytes())?))
    }
}

/// Where policies come from: files, or a template's role.
#[derive(Debug, Clone)]
pub enum Source {
    /// Policy files as given (`-` for standard input), see [`load_files`].
    Files(Vec<PathBuf>),
    /// A template's role, see [`load_role`].
    Role {
        /// The template file.
        template: PathBuf,
        /// Values the template needs.
        params: Params,
        /// The role's logical id (optional when the template has one role).
        role: Option<String>,
        /// Documents of managed policies the role names by ARN.
        managed: Given,
    },
}

/// Load the policies of `source`, inside `root`.
pub fn load(root: &Root, source: &Source) -> Result<Loaded, Error> {
    match source {
        Source::Files(paths) => load_files(root, paths),
        Source::Role {
            template,
            params,
            role,
            managed,
        } => {
            let t = Template::load_in(root, template, params.clone())?;
            load_role(root, &t, role.as_deref(), managed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> Root {
        Root::new(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn files_keep_their_names_and_locations() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let path = root.join("policies/console-auth-role.json");
        let loaded = load_files(&project(), std::slice::from_ref(&path)).unwrap();
        assert_eq!(loaded.set.policies()[0].name, path.display().to_string());
        let (locations, size) = loaded.sources[0].as_ref().unwrap();
        assert_eq!(locations.statements.len(), 3);
        assert!(*size > 0);
        assert!(!loaded.inline);
    }

    #[test]
    fn stdin_may_be_named_once() {
        let twice = [PathBuf::from("-"), PathBuf::from("-")];
        let err = load_files(&project(), &twice).unwrap_err();
        assert_eq!(
            err.to_string(),
            "standard input (`-`) can be read only once, and it is named 2 times"
        );
    }

    #[test]
    fn patterns_that_match_nothing_are_errors() {
        let err =
            load_policies(&project(), &["no/such/*.json".to_string()], Path::new("")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "policy pattern \"no/such/*.json\" matches no file"
        );
    }

    #[test]
    fn an_invalid_policy_carries_its_text() {
        use miette::Diagnostic as _;
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let err = load_files(
            &project(),
            &[root.join("fixtures/malformed/effect-lowercase.json")],
        )
        .unwrap_err();
        assert!(
            err.to_string().contains(":5:23: Statement[0].Effect:"),
            "{err}"
        );
        assert!(err.source_code().is_some());
        let label = err.labels().unwrap().next().unwrap();
        assert_eq!(label.len(), 0);
        let missing = load_files(&project(), &[PathBuf::from("no/such/file.json")]).unwrap_err();
        assert!(missing.source_code().is_none());
        assert!(
            missing
                .to_string()
                .starts_with("no/such/file.json: cannot read: ")
        );
    }
}

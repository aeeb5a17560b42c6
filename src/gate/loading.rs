//! What the gate loads: policy files (glob patterns relative to the gate file), a
//! template's role, and the `no-new-access` baseline (files, or `git:REV` for the same
//! policy files at a revision). Every file is read inside the gate's project root
//! ([`GateConfig::root`]); a `git:REV` baseline reads the revision's files under the gate
//! file's directory only.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::config::{Named, OrgLevel, PolicyTypes};
use super::{BaselineError, GateConfig, GateError, Source};
use crate::eval::PolicySet;
use crate::eval::authorize::{Level, Policies, PolicyType, ScopedPolicy};
use crate::lang::model::{Policy, PolicyKind};
use crate::lang::parse::{LoadError, parse_policy_as, read_bounded};
use crate::lang::principal::Caller;
use crate::lint::{Locations, policy_size};
use crate::load::{self, Loaded, display_path, load_policies, load_role};
use crate::loc::Loc;
use crate::root::RootError;
use crate::template::{Params, Template};

/// The gate's policies (its files, or its template's role), the role session Cognito
/// creates when the template has an identity pool, and the template.
pub(super) fn load_source(
    cfg: &GateConfig,
) -> Result<(Loaded, Option<Caller>, Option<Template>), GateError> {
    let dir = cfg.dir();
    match &cfg.source {
        Source::Policies(p) => Ok((load_policies(&cfg.root, p, &dir)?, None, None)),
        Source::Template { file, role, params } => {
            let pairs: Vec<(&str, &str)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let t = Template::load_in(&cfg.root, &dir.join(file), Params::from_pairs(&pairs))
                .map_err(GateError::Template)?;
            let loaded =
                load_role(&cfg.root, &t, role.as_deref(), &cfg.managed).map_err(|e| match e {
                    load::Error::Template(e) => GateError::Template(e),
                    other => GateError::Policies(other),
                })?;
            // The role session Cognito creates, when the template has an identity pool.
            let session = if crate::cognito::has_identity_pool(&t) {
                let role = t
                    .select_role(role.as_deref())
                    .map_err(GateError::Template)?;
                Some(
                    crate::cognito::role_session(&t, &role).map_err(|e| match e {
                        crate::cognito::FlowError::Template(e) => GateError::Template(e),
                        other => GateError::Template(crate::template::TemplateError::at(
                            Loc::new(file.clone(), 1, 1),
                            other.to_string(),
                        )),
                    })?,
                )
            } else {
                None
            };
            Ok((loaded, session, Some(t)))
        }
    }
}

/// The baseline's policies: files/globs, or `git:REV` for the same policy files at a
/// revision.
pub(super) fn load_baseline(cfg: &GateConfig, spec: &str) -> Result<PolicySet, BaselineError> {
    let dir = cfg.dir();
    let Some(rev) = spec.strip_prefix("git:") else {
        return Ok(load_policies(&cfg.root, &[spec.to_string()], &dir)?.set);
    };
    let Source::Policies(patterns) = &cfg.source else {
        return Err(BaselineError::GitNeedsPolicyFiles);
    };
    let git = Git {
        dir: repo_dir(&dir),
        spec,
        rev,
    };
    // The revision must exist: a typo or a checkout without history is an error, not
    // "the baseline had no policies" (which would report everything as new). A revision
    // that starts with `-` would be read by git as an option.
    if rev.starts_with('-')
        || !git
            .run(&[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{rev}^{{commit}}"),
            ])?
            .status
            .success()
    {
        return Err(BaselineError::NotACommit {
            spec: spec.to_string(),
            rev: rev.to_string(),
            repo: git.dir.display().to_string(),
        });
    }
    let mut policies = Vec::new();
    for (rel, text) in git.files(patterns)? {
        let name = format!("{rev}:{rel}");
        policies.push(crate::lang::parse::parse_policy(&name, &text)?);
    }
    Ok(PolicySet::new(policies))
}

/// The directory git runs in: the gate file's (`.` when it has none).
fn repo_dir(dir: &Path) -> &Path {
    if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }
}

/// Policy files at a git revision.
struct Git<'a> {
    /// The repository (the gate file's directory).
    dir: &'a Path,
    /// The baseline as the gate file gives it (`git:REV`), for messages.
    spec: &'a str,
    /// The revision.
    rev: &'a str,
}

impl Git<'_> {
    /// The file at `rel` (relative to the gate file's directory) at the revision; `None`
    /// when it does not exist there.
    fn file(&self, rel: &str) -> Result<Option<Vec<u8>>, BaselineError> {
        let listed = self.run(&["ls-tree", "--name-only", self.rev, "--", rel])?;
        if !listed.status.success() {
            return Err(BaselineError::Listing {
                spec: self.spec.to_string(),
                message: String::from_utf8_lossy(&listed.stderr).trim().to_string(),
            });
        }
        if listed.stdout.is_empty() {
            return Ok(None);
        }
        self.show(rel).map(Some)
    }

    /// The contents of `rel` at the revision.
    fn show(&self, rel: &str) -> Result<Vec<u8>, BaselineError> {
        let shown = self.run(&["show", &format!("{}:./{rel}", self.rev)])?;
        if !shown.status.success() {
            return Err(BaselineError::Unreadable {
                spec: self.spec.to_string(),
                path: rel.to_string(),
                rev: self.rev.to_string(),
                message: String::from_utf8_lossy(&shown.stderr).trim().to_string(),
            });
        }
        Ok(shown.stdout)
    }

    fn run(&self, args: &[&str]) -> Result<Output, BaselineError> {
        Command::new("git")
            .arg("-C")
            .arg(self.dir)
            .args(args)
            .output()
            .map_err(|e| BaselineError::GitUnavailable {
                spec: self.spec.to_string(),
                message: e.to_string(),
            })
    }

    /// The files the patterns match *at the revision* (a policy deleted since is part of
    /// the baseline), paths relative to the gate file's directory, with their contents.
    fn files(&self, patterns: &[String]) -> Result<Vec<(String, Vec<u8>)>, BaselineError> {
        let listing = self.run(&["ls-tree", "-r", "--name-only", self.rev, "--", "."])?;
        if !listing.status.success() {
            return Err(BaselineError::Listing {
                spec: self.spec.to_string(),
                message: String::from_utf8_lossy(&listing.stderr).trim().to_string(),
            });
        }
        let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
        let options = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        };
        let mut out = Vec::new();
        for pattern in patterns {
            let normalized = pattern.trim_start_matches("./");
            let matcher = glob::Pattern::new(normalized).map_err(|e| load::Error::Pattern {
                pattern: pattern.to_string(),
                message: e.to_string(),
            })?;
            for rel in listing.lines().filter(|f| matcher.matches_with(f, options)) {
                out.push((rel.to_string(), self.show(rel)?));
            }
        }
        Ok(out)
    }
}

/// A policy file of a type other than identity-based, as read for the gate (for lint
/// and suppressions).
#[derive(Debug)]
pub(super) struct TypedFile {
    /// The policy type.
    pub policy_type: PolicyType,
    /// The policy.
    pub policy: Policy,
    /// Its statements' locations and its size (characters other than white space).
    pub source: (Locations, usize),
    /// Its name in findings, and its resolved path (`None` for a file read from git).
    pub file: (String, Option<PathBuf>),
}

/// The gate's policies of every type: [`Policies`] with the identity-based policies
/// left empty (the caller puts them in), and the files read.
pub(super) struct Typed {
    pub policies: Policies,
    pub files: Vec<TypedFile>,
}

/// How the gate reads a policy file of another type: in the work tree (inside the
/// project root), or at a git revision.
enum ReadFrom<'a> {
    Tree,
    Git(&'a Git<'a>),
}

/// The document kind each policy type is parsed as. RCPs are resource-based documents
/// (`Principal` required); SCPs, boundaries and session policies identity-based ones.
fn kind_of(t: PolicyType) -> PolicyKind {
    match t {
        PolicyType::Resource | PolicyType::Rcp => PolicyKind::Resource,
        PolicyType::Identity | PolicyType::Boundary | PolicyType::Session | PolicyType::Scp => {
            PolicyKind::Identity
        }
    }
}

impl Typed {
    fn read(
        &mut self,
        cfg: &GateConfig,
        from: &ReadFrom,
        policy_type: PolicyType,
        file: &Named,
    ) -> Result<Option<Policy>, GateError> {
        let dir = cfg.dir();
        let path = dir.join(&file.path);
        let (bytes, name, resolved) = match from {
            ReadFrom::Tree => {
                let name = display_path(&path);
                let resolved = cfg.root.resolve(&path).map_err(|e| match e {
                    RootError::Io { detail, .. } => {
                        GateError::Policies(load::Error::Policy(LoadError::Read {
                            file: name.clone(),
                            problem: format!("cannot read: {detail}"),
                        }))
                    }
                    other @ (RootError::Outside { .. } | RootError::Invalid { .. }) => {
                        GateError::Policies(load::Error::Outside(other))
                    }
                })?;
                let f = std::fs::File::open(&resolved).map_err(|e| LoadError::Read {
                    file: name.clone(),
                    problem: format!("cannot read: {e}"),
                });
                let bytes = f
                    .and_then(|f| read_bounded(&name, f))
                    .map_err(|e| GateError::Policies(e.into()))?;
                (bytes, name, Some(resolved))
            }
            ReadFrom::Git(git) => {
                let rel = file.path.trim_start_matches("./");
                let Some(bytes) = git.file(rel).map_err(|reason| GateError::Baseline {
                    loc: file.loc.clone(),
                    reason: Box::new(reason),
                })?
                else {
                    return Ok(None);
                };
                (bytes, format!("{}:{rel}", git.rev), None)
            }
        };
        let policy = parse_policy_as(&name, &bytes, kind_of(policy_type))
            .map_err(|e| GateError::Policies(e.into()))?;
        let text = String::from_utf8_lossy(&bytes);
        self.files.push(TypedFile {
            policy_type,
            policy: policy.clone(),
            source: (Locations::from_text(&name, &text), policy_size(&text)),
            file: (name, resolved),
        });
        Ok(Some(policy))
    }

    fn set(
        &mut self,
        cfg: &GateConfig,
        from: &ReadFrom,
        t: PolicyType,
        files: &[Named],
    ) -> Result<PolicySet, GateError> {
        let mut out = Vec::new();
        for f in files {
            out.extend(self.read(cfg, from, t, f)?);
        }
        Ok(PolicySet::new(out))
    }

    fn levels(
        &mut self,
        cfg: &GateConfig,
        from: &ReadFrom,
        t: PolicyType,
        levels: &[OrgLevel],
    ) -> Result<Vec<Level>, GateError> {
        levels
            .iter()
            .map(|l| {
                Ok(Level {
                    label: l.label.clone(),
                    set: self.set(cfg, from, t, &l.files)?,
                })
            })
            .collect()
    }
}

/// The gate's policies of the other types, read in the work tree.
pub(super) fn load_types(cfg: &GateConfig) -> Result<Typed, GateError> {
    load_types_from(cfg, &cfg.types, &PolicyTypes::default(), &ReadFrom::Tree)
}

/// Read `types` (every key), except that keys `tree` gives are read from the work tree.
fn load_types_from(
    cfg: &GateConfig,
    types: &PolicyTypes,
    tree: &PolicyTypes,
    from: &ReadFrom,
) -> Result<Typed, GateError> {
    let mut typed = Typed {
        policies: Policies {
            resource_account: cfg.resource_account.clone(),
            ..Policies::default()
        },
        files: Vec::new(),
    };
    let pick = |given: bool| if given { &ReadFrom::Tree } else { from };
    let resource = tree.resource.as_ref().or(types.resource.as_ref());
    for r in resource.into_iter().flatten() {
        let from = pick(tree.resource.is_some());
        if let Some(policy) = typed.read(cfg, from, PolicyType::Resource, &r.file)? {
            typed.policies.resource.push(ScopedPolicy {
                resource: Some(r.resource.clone()),
                set: PolicySet::new(vec![policy]),
            });
        }
    }
    if let Some(b) = tree.boundary.as_ref().or(types.boundary.as_ref()) {
        let from = pick(tree.boundary.is_some());
        typed.policies.boundary = typed
            .read(cfg, from, PolicyType::Boundary, b)?
            .map(|p| PolicySet::new(vec![p]));
    }
    if let Some(s) = tree.session.as_ref().or(types.session.as_ref()) {
        let from = pick(tree.session.is_some());
        typed.policies.session = Some(typed.set(cfg, from, PolicyType::Session, s)?);
    }
    if let Some(l) = tree.scps.as_ref().or(types.scps.as_ref()) {
        let from = pick(tree.scps.is_some());
        typed.policies.scps = typed.levels(cfg, from, PolicyType::Scp, l)?;
    }
    if let Some(l) = tree.rcps.as_ref().or(types.rcps.as_ref()) {
        let from = pick(tree.rcps.is_some());
        typed.policies.rcps = typed.levels(cfg, from, PolicyType::Rcp, l)?;
    }
    Ok(typed)
}

/// The baseline's policies of every type: its identity-based policies
/// ([`load_baseline`]), the keys `no-new-access` gives, and for the others the gate's
/// (for `git:REV`, the same files at the revision; a file missing there is left out).
pub(super) fn load_baseline_types(
    cfg: &GateConfig,
    spec: &str,
    identity: PolicySet,
) -> Result<Policies, GateError> {
    let mut typed = match spec.strip_prefix("git:") {
        None => load_types_from(cfg, &cfg.types, &cfg.baseline_types, &ReadFrom::Tree)?,
        Some(rev) => {
            let dir = cfg.dir();
            let git = Git {
                dir: repo_dir(&dir),
                spec,
                rev,
            };
            load_types_from(cfg, &cfg.types, &cfg.baseline_types, &ReadFrom::Git(&git))?
        }
    };
    typed.policies.identity = identity;
    Ok(typed.policies)
}

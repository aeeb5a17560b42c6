//! What the gate loads: policy files (glob patterns relative to the gate file), a
//! template's role, and the `no-new-access` baseline (files, or `git:REV` for the same
//! policy files at a revision).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{BaselineError, GateConfig, GateError, PolicyFilesError, Source};
use crate::LoadError;
use crate::eval::PolicySet;
use crate::lang::model::Policy;
use crate::lint::{Locations, policy_size};
use crate::template::{Params, Template, TemplateError};

/// Policies loaded for the gate, with what lint needs.
pub struct Loaded {
    /// The policies.
    pub set: PolicySet,
    /// Locations and sizes, per policy.
    pub sources: Vec<Option<(Locations, usize)>>,
    /// Policies of a template role are inline (size limit 10,240).
    pub inline: bool,
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

/// Load policy files (globs relative to `dir`). Each policy is named by its path as
/// [`display_path`] shows it.
pub fn load_policies(patterns: &[String], dir: &Path) -> Result<Loaded, PolicyFilesError> {
    let mut policies = Vec::new();
    let mut sources = Vec::new();
    for pattern in patterns {
        for path in expand(pattern, dir)? {
            let (policy, source) = read_policy_file(&path)?;
            sources.push(Some(source));
            policies.push(policy);
        }
    }
    Ok(Loaded {
        set: PolicySet::new(policies),
        sources,
        inline: false,
    })
}

/// The files a glob pattern (relative to `dir`) matches; none is an error.
fn expand(pattern: &str, dir: &Path) -> Result<Vec<PathBuf>, PolicyFilesError> {
    let full = dir.join(pattern);
    let paths: Vec<PathBuf> = glob::glob(&full.display().to_string())
        .map_err(|e| PolicyFilesError::Pattern {
            pattern: pattern.to_string(),
            message: e.to_string(),
        })?
        .filter_map(Result::ok)
        // Directories a pattern happens to match are not policies.
        .filter(|p| !p.is_dir())
        .collect();
    if paths.is_empty() {
        return Err(PolicyFilesError::NoMatch {
            pattern: pattern.to_string(),
        });
    }
    Ok(paths)
}

/// One policy file, named as [`display_path`] shows it, with its statements' locations
/// and its size for lint.
fn read_policy_file(path: &Path) -> Result<(Policy, (Locations, usize)), LoadError> {
    let shown = display_path(path);
    let file = std::fs::File::open(path).map_err(|e| LoadError::Read {
        file: shown.clone(),
        message: format!("cannot read: {e}"),
    })?;
    let bytes = crate::lang::parse::read_bounded(&shown, file)?;
    let policy = crate::lang::parse::parse_policy(&shown, &bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let source = (Locations::from_text(&shown, &text), policy_size(&text));
    Ok((policy, source))
}

/// Load the permission policies of a template's role (`role`, or its only role), with
/// their locations in the template for lint. They are inline policies.
pub fn load_role(t: &Template, role: Option<&str>) -> Result<Loaded, TemplateError> {
    let role = t.select_role(role)?;
    let rp = t.role_policies(&role)?;
    let mut policies = Vec::new();
    let mut sources = Vec::new();
    for p in rp.policies {
        let size = policy_size(&p.document.to_string());
        sources.push(Some((Locations::from_node(&p.node), size)));
        policies.push(p.policy);
    }
    Ok(Loaded {
        set: PolicySet::new(policies),
        sources,
        inline: true,
    })
}

/// The gate's policies: its files, or its template's role.
pub(super) fn load_source(cfg: &GateConfig) -> Result<Loaded, GateError> {
    let dir = cfg.dir();
    match &cfg.source {
        Source::Policies(p) => Ok(load_policies(p, &dir)?),
        Source::Template { file, role, params } => {
            let pairs: Vec<(&str, &str)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let t = Template::load(&dir.join(file), Params::from_pairs(&pairs))
                .map_err(GateError::Template)?;
            load_role(&t, role.as_deref()).map_err(GateError::Template)
        }
    }
}

/// The baseline's policies: files/globs, or `git:REV` for the same policy files at a
/// revision.
pub(super) fn load_baseline(cfg: &GateConfig, spec: &str) -> Result<PolicySet, BaselineError> {
    let dir = cfg.dir();
    let Some(rev) = spec.strip_prefix("git:") else {
        return Ok(load_policies(&[spec.to_string()], &dir)?.set);
    };
    let Source::Policies(patterns) = &cfg.source else {
        return Err(BaselineError::GitNeedsPolicyFiles);
    };
    let git = Git {
        dir: if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &dir
        },
        spec,
        rev,
    };
    // The revision must exist: a typo or a checkout without history is an error, not
    // "the baseline had no policies" (which would report everything as new).
    if !git
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
            let matcher =
                glob::Pattern::new(normalized).map_err(|e| PolicyFilesError::Pattern {
                    pattern: pattern.to_string(),
                    message: e.to_string(),
                })?;
            for rel in listing.lines().filter(|f| matcher.matches_with(f, options)) {
                let shown = self.run(&["show", &format!("{}:./{rel}", self.rev)])?;
                if !shown.status.success() {
                    return Err(BaselineError::Unreadable {
                        spec: self.spec.to_string(),
                        path: rel.to_string(),
                        rev: self.rev.to_string(),
                        message: String::from_utf8_lossy(&shown.stderr).trim().to_string(),
                    });
                }
                out.push((rel.to_string(), shown.stdout));
            }
        }
        Ok(out)
    }
}

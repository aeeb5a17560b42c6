//! What the gate loads: policy files (glob patterns relative to the gate file), a
//! template's role, and the `no-new-access` baseline (files, or `git:REV` for the same
//! policy files at a revision). Every file is read inside the gate's project root
//! ([`GateConfig::root`]); a `git:REV` baseline reads the revision's files under the gate
//! file's directory only.

use std::path::Path;
use std::process::{Command, Output};

use super::{BaselineError, GateConfig, GateError, Source};
use crate::eval::PolicySet;
use crate::load::{self, Loaded, load_policies, load_role};
use crate::template::{Params, Template};

/// The gate's policies: its files, or its template's role.
pub(super) fn load_source(cfg: &GateConfig) -> Result<Loaded, GateError> {
    let dir = cfg.dir();
    match &cfg.source {
        Source::Policies(p) => Ok(load_policies(&cfg.root, p, &dir)?),
        Source::Template { file, role, params } => {
            let pairs: Vec<(&str, &str)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let t = Template::load_in(&cfg.root, &dir.join(file), Params::from_pairs(&pairs))
                .map_err(GateError::Template)?;
            load_role(&cfg.root, &t, role.as_deref(), &cfg.managed).map_err(|e| match e {
                load::Error::Template(e) => GateError::Template(e),
                other => GateError::Policies(other),
            })
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
        dir: if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &dir
        },
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
            let matcher = glob::Pattern::new(normalized).map_err(|e| load::Error::Pattern {
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

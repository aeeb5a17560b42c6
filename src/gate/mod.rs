//! The CI policy gate: one file (`policy-gate.yml`, YAML or JSON, schema in
//! `docs/policy-gate.schema.json`) names the policies and the checks they must pass:
//! expected decisions, isolation, no new access against a baseline, and lint severities.
//!
//! | part | module |
//! |---|---|
//! | the gate file, read with `serde` over the template value tree | [`config`] (with `de`, the deserializer) |
//! | policy files, globs, template roles, `git:REV` baselines | [`loading`] |
//! | the checks | [`run()`] (in `run.rs`) |
//! | the access report (`report --html`, `gate --html`) | [`access_report`] (in `access.rs`) |
//! | the result and its text, JSON, SARIF and JUnit forms | [`crate::report::gate`] |

mod access;
pub mod config;
mod de;
pub mod loading;
mod run;

use std::sync::Arc;

use crate::LoadError;
use crate::loc::Loc;
use crate::template::TemplateError;

pub use crate::report::gate::{CheckResult, GateFinding, GateReport, Status};
pub use access::{MAX_AREAS, access_report};
pub use config::{Expectation, GateConfig, IsolationCheck, Source, Suppression};
pub use run::run;

/// Why the gate cannot run: an invalid gate file, policy, template or baseline (the CLI's
/// exit 2). A check that fails is not an error.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum GateError {
    /// The gate file cannot be read.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Read(#[from] crate::template::ReadError),
    /// The gate file is not YAML (or JSON).
    #[error(transparent)]
    #[diagnostic(code(gate::yaml))]
    Yaml(TemplateError),
    /// The gate file is YAML, but not a gate file.
    #[error("{loc}: {message}")]
    #[diagnostic(code(gate::invalid))]
    Invalid {
        /// Where.
        loc: Loc,
        /// What is wrong.
        message: String,
        /// The gate file's text, when known.
        #[source_code]
        source_code: Option<Arc<miette::NamedSource<Arc<str>>>>,
        /// The place in it.
        #[label("here")]
        span: Option<miette::SourceSpan>,
    },
    /// The gate's policy files cannot be loaded.
    #[error(transparent)]
    #[diagnostic(code(gate::policies))]
    Policies(#[from] crate::load::Error),
    /// The gate's template, or its role, cannot be used.
    #[error(transparent)]
    #[diagnostic(code(gate::template))]
    Template(TemplateError),
    /// The `no-new-access` baseline cannot be loaded.
    #[error("{loc}: {reason}")]
    #[diagnostic(code(gate::baseline))]
    Baseline {
        /// Where the gate file names the baseline.
        loc: Loc,
        /// Why.
        reason: Box<BaselineError>,
    },
    /// A check cannot run as the gate file states it (an identity format that is not a
    /// regular expression, a time context value that is not a time, ...).
    #[error("{loc}: {message}")]
    #[diagnostic(code(gate::check))]
    Check {
        /// The check in the gate file.
        loc: Loc,
        /// Why.
        message: String,
    },
}

/// Why the `no-new-access` baseline cannot be loaded.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum BaselineError {
    /// Baseline policy files that cannot be loaded.
    #[error(transparent)]
    Files(#[from] crate::load::Error),
    /// `git:REV` with a gate over a template.
    #[error("a git baseline needs the gate to load policy files (not a template)")]
    GitNeedsPolicyFiles,
    /// `git` cannot be run.
    #[error("baseline {spec}: cannot run git: {message}")]
    GitUnavailable {
        /// The baseline as written.
        spec: String,
        /// Why.
        message: String,
    },
    /// The revision is not a commit of the repository.
    #[error("baseline {spec}: {rev:?} is not a commit of the git repository at {repo}")]
    NotACommit {
        /// The baseline as written.
        spec: String,
        /// The revision.
        rev: String,
        /// The repository's directory.
        repo: String,
    },
    /// The files of the revision cannot be listed.
    #[error("baseline {spec}: git ls-tree failed: {message}")]
    Listing {
        /// The baseline as written.
        spec: String,
        /// What git said.
        message: String,
    },
    /// A file of the revision cannot be read.
    #[error("baseline {spec}: cannot read {path} at {rev}: {message}")]
    Unreadable {
        /// The baseline as written.
        spec: String,
        /// The file, relative to the gate file.
        path: String,
        /// The revision.
        rev: String,
        /// What git said.
        message: String,
    },
    /// A baseline policy at the revision that is not valid.
    #[error(transparent)]
    Policy(#[from] LoadError),
}

//! Loading policies: the one place that turns policy files (or standard input), globs of
//! policy files, or a template's role into a [`PolicySet`], with what lint needs to point
//! at each statement.
//!
//! - [`load_files`]: files named as given, `-` for standard input (at most once);
//! - [`load_policies`]: glob patterns relative to a directory (the gate's `policies:`),
//!   each policy named by [`display_path`];
//! - [`load_role`]: the permission policies of a template's role (inline policies), then
//!   the managed policies it names by ARN whose document is known (given, or bundled);
//!   the others, and its permissions boundary, are listed in [`Loaded::unseen`], which
//!   every verdict consults through [`Loaded::gap`].
//!
//! Errors say which file and, for a policy that could not be parsed, carry the file's text
//! so that a renderer can show the offending line.

use std::path::{Path, PathBuf};

use crate::analysis::prover::{Proof, Verdict};
use crate::eval::PolicySet;
use crate::lang::parse::LoadError;
use crate::lang::parse::{parse_policy, read_bounded};
use crate::lint::{Finding, Locations, lint_set, policy_size};
use crate::managed::{self, AttachKind, Attached, Claim, Given, NotSeen, Unseen, UnseenReason};
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
    /// Notes that change no verdict: for the caller to show.
    pub warnings: Vec<String>,
}

impl Loaded {
    /// Whether a verdict making `claim` may stand: `Err` names the unseen policies that
    /// could make it wrong (see [`managed::gap`]).
    pub fn gap(&self, claim: Claim) -> Result<(), NotSeen> {
        managed::gap(&self.unseen, claim)
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
        if own == self.set.policies().len() {
            return lint_set(&self.set, &self.sources, self.inline);
        }
        let set = PolicySet::new(self.set.policies()[..own].to_vec());
        lint_set(
            &set,
            &self.sources[..own.min(self.sources.len())],
            self.inline,
        )
    }
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

/// Policies read one at a time into a [`Loaded`].
#[derive(Default)]
struct Reader {
    policies: Vec<crate::lang::model::Policy>,
    sources: Vec<Option<(Locations, usize)>>,
}

impl Reader {
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

    /// Open and read the file at `path`, named `name`.
    fn read_file(&mut self, path: &Path, name: &str) -> Result<(), Error> {
        let file = std::fs::File::open(path).map_err(|e| LoadError::Read {
            file: name.to_string(),
            problem: format!("cannot read: {e}"),
        })?;
        self.read(name, file)
    }

    fn finish(self) -> Loaded {
        Loaded {
            own: self.policies.len(),
            set: PolicySet::new(self.policies),
            sources: self.sources,
            inline: false,
            unseen: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// Load policy files, each named by its path as given; `-` reads standard input (named
/// [`STDIN_NAME`]) and may appear once.
pub fn load_files(paths: &[PathBuf]) -> Result<Loaded, Error> {
    let stdin = paths.iter().filter(|p| is_stdin(p)).count();
    if stdin > 1 {
        return Err(Error::StdinTwice { count: stdin });
    }
    let mut reader = Reader::default();
    for path in paths {
        if is_stdin(path) {
            reader.read(STDIN_NAME, std::io::stdin())?;
        } else {
            reader.read_file(path, &path.display().to_string())?;
        }
    }
    Ok(reader.finish())
}

/// Load the policy files that glob `patterns` (relative to `dir`) match, in pattern
/// order; each policy is named by its path as [`display_path`] shows it. A pattern that
/// matches no file is an error; directories a pattern matches are skipped.
pub fn load_policies(patterns: &[String], dir: &Path) -> Result<Loaded, Error> {
    let mut reader = Reader::default();
    for pattern in patterns {
        let full = dir.join(pattern);
        let paths: Vec<PathBuf> = glob::glob(&full.display().to_string())
            .map_err(|e| Error::Pattern {
                pattern: pattern.clone(),
                message: e.to_string(),
            })?
            .filter_map(Result::ok)
            .filter(|p| !p.is_dir())
            .collect();
        if paths.is_empty() {
            return Err(Error::NoMatch {
                pattern: pattern.clone(),
            });
        }
        for path in paths {
            reader.read_file(&path, &display_path(&path))?;
        }
    }
    Ok(reader.finish())
}

/// Load the permission policies of a template's role (`role`, or its only role), with
/// their locations in the template (they are inline policies), then the managed policies
/// it names by ARN whose document `given` has or the bundled AWS managed policies carry.
/// The rest, and the role's permissions boundary, are in [`Loaded::unseen`].
pub fn load_role(t: &Template, role: Option<&str>, given: &Given) -> Result<Loaded, Error> {
    let role = t.select_role(role)?;
    let rp = t.role_policies(&role)?;
    let mut reader = Reader::default();
    for p in rp.policies {
        let size = policy_size(&p.document.to_string());
        reader
            .sources
            .push(Some((Locations::from_node(&p.node), size)));
        reader.policies.push(p.policy);
    }
    let own = reader.policies.len();
    let mut unseen = Vec::new();
    for a in rp.attached {
        if let Some(reason) = reader.read_attached(&a, given)? {
            unseen.push(Unseen {
                attached: a,
                reason,
            });
        }
    }
    Ok(Loaded {
        own,
        inline: true,
        unseen,
        warnings: rp.warnings,
        ..reader.finish()
    })
}

impl Reader {
    /// Read the document of a policy named by ARN, from `given` or the bundled AWS
    /// managed policies (not linted: no source); or say why it stays unseen.
    fn read_attached(
        &mut self,
        a: &Attached,
        given: &Given,
    ) -> Result<Option<UnseenReason>, Error> {
        match a.kind {
            // Not evaluated yet, whatever is known of the document.
            AttachKind::PermissionsBoundary => return Ok(Some(UnseenReason::BoundaryNotEvaluated)),
            AttachKind::ManagedPolicy => {}
        }
        if let Some(path) = given.file(&a.arn) {
            self.read_file(path, &display_path(path))?;
            if let Some(last) = self.sources.last_mut() {
                *last = None;
            }
            return Ok(None);
        }
        let Some((document, _version)) = managed::bundled::document(&a.arn) else {
            return Ok(Some(if managed::is_aws_managed(&a.arn) {
                UnseenReason::NotBundled
            } else {
                UnseenReason::NotGiven
            }));
        };
        self.policies
            .push(parse_policy(&a.arn, document.as_bytes())?);
        self.sources.push(None);
        Ok(None)
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

/// Load the policies of `source`.
pub fn load(source: &Source) -> Result<Loaded, Error> {
    match source {
        Source::Files(paths) => load_files(paths),
        Source::Role {
            template,
            params,
            role,
            managed,
        } => {
            let t = Template::load(template, params.clone())?;
            load_role(&t, role.as_deref(), managed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_keep_their_names_and_locations() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let path = root.join("policies/console-auth-role.json");
        let loaded = load_files(std::slice::from_ref(&path)).unwrap();
        assert_eq!(loaded.set.policies()[0].name, path.display().to_string());
        let (locations, size) = loaded.sources[0].as_ref().unwrap();
        assert_eq!(locations.statements.len(), 3);
        assert!(*size > 0);
        assert!(!loaded.inline);
    }

    #[test]
    fn stdin_may_be_named_once() {
        let twice = [PathBuf::from("-"), PathBuf::from("-")];
        let err = load_files(&twice).unwrap_err();
        assert_eq!(
            err.to_string(),
            "standard input (`-`) can be read only once, and it is named 2 times"
        );
    }

    #[test]
    fn patterns_that_match_nothing_are_errors() {
        let err = load_policies(&["no/such/*.json".to_string()], Path::new("")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "policy pattern \"no/such/*.json\" matches no file"
        );
    }

    #[test]
    fn an_invalid_policy_carries_its_text() {
        use miette::Diagnostic as _;
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let err = load_files(&[root.join("fixtures/malformed/effect-lowercase.json")]).unwrap_err();
        assert!(
            err.to_string().contains(":5:23: Statement[0].Effect:"),
            "{err}"
        );
        assert!(err.source_code().is_some());
        let label = err.labels().unwrap().next().unwrap();
        assert_eq!(label.len(), 0);
        let missing = load_files(&[PathBuf::from("no/such/file.json")]).unwrap_err();
        assert!(missing.source_code().is_none());
        assert!(
            missing
                .to_string()
                .starts_with("no/such/file.json: cannot read: ")
        );
    }
}

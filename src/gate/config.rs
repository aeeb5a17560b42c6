//! The gate file: what `policy-sim gate` loads and the checks it runs (YAML or JSON,
//! described by `docs/policy-gate.schema.json`; `tests/gate.rs` keeps the two in step).
//!
//! Reading has two steps. The file's shape (keys, strings, lists, mappings) is read with
//! `serde` into the `raw` types below, over the template value tree so that each error
//! names the file, line and column of the value it is about (see `gate/de.rs`). Then
//! [`GateConfig`]s are built, which checks what the shape cannot say: a gate has
//! `policies` or `template`, an expectation's decision, known severities and rules, a
//! suppression's reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use super::GateError;
use super::de::{DeError, Entries, ListVisitor, OneOrMany, Spanned, from_node};
use crate::eval::Decision;
use crate::lang::principal::Caller;
use crate::lint::{RuleId, Severity};
use crate::loc::{Loc, Snippet};
use crate::root::Root;

/// Where the gate's policies come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Policy files; globs allowed.
    Policies(Vec<String>),
    /// A template's role.
    Template {
        /// The template file.
        file: String,
        /// The role, if the template has several.
        role: Option<String>,
        /// `--param` values.
        params: Vec<(String, String)>,
    },
}

/// One expected decision.
#[derive(Debug, Clone)]
pub struct Expectation {
    /// A name for reports.
    pub name: String,
    /// The Cognito identity, if any.
    pub identity: Option<String>,
    /// The caller (`principal:`), when it is not the gate's.
    pub principal: Option<Caller>,
    /// The action.
    pub action: String,
    /// The resource.
    pub resource: String,
    /// Context keys and values.
    pub context: BTreeMap<String, Vec<String>>,
    /// The decision it must get.
    pub decision: Decision,
    /// Where the gate file says so.
    pub loc: Loc,
}

/// One isolation property to prove.
#[derive(Debug, Clone)]
pub struct IsolationCheck {
    /// Areas (empty: the policy's own, as private areas).
    pub areas: Vec<crate::analysis::prover::AreaSpec>,
    /// Identity format (`cognito`, `any`, a regex).
    pub format: String,
    /// Where the gate file says so.
    pub loc: Loc,
}

/// A lint suppression: findings of a statement (by Sid) of one policy file or template,
/// optionally of one rule.
#[derive(Debug, Clone)]
pub struct Suppression {
    /// The policy file or template the statement is in, as the gate file writes it
    /// (relative to the gate file). Required when the gate loads more than one file:
    /// Sids are unique within a policy only.
    pub policy: Option<String>,
    /// The statement's Sid.
    pub sid: String,
    /// The rule, or every rule.
    pub rule: Option<RuleId>,
    /// Why (required).
    pub reason: String,
    /// Where the gate file says so.
    pub loc: Loc,
}

/// A policy file the gate file names, and where it names it.
#[derive(Debug, Clone)]
pub struct Named {
    /// The path, relative to the gate file.
    pub path: String,
    /// Where the gate file names it.
    pub loc: Loc,
}

/// A resource-based policy and the resource it is attached to (`resource-policies`).
#[derive(Debug, Clone)]
pub struct ResourcePolicyFile {
    /// The policy file.
    pub file: Named,
    /// The resource's ARN: the policy applies to it and to every ARN under it.
    pub resource: String,
}

/// One organization level (`scps:`/`rcps:`): its label and its policy files.
#[derive(Debug, Clone)]
pub struct OrgLevel {
    /// The label (`root`, an OU, the account id).
    pub label: String,
    /// Its policy files, evaluated together.
    pub files: Vec<Named>,
}

/// The policies of the types other than identity-based that a gate (or its
/// `no-new-access` baseline) names; `None`: not given (for the baseline: the gate's).
#[derive(Debug, Clone, Default)]
pub struct PolicyTypes {
    /// `resource-policies`.
    pub resource: Option<Vec<ResourcePolicyFile>>,
    /// `boundary`.
    pub boundary: Option<Named>,
    /// `session-policies`.
    pub session: Option<Vec<Named>>,
    /// `scps`, levels in file order.
    pub scps: Option<Vec<OrgLevel>>,
    /// `rcps`, levels in file order.
    pub rcps: Option<Vec<OrgLevel>>,
}

impl PolicyTypes {
    /// The first key given, as the gate file spells it, with its location.
    fn first_given(&self) -> Option<(&'static str, Option<&Loc>)> {
        fn first(files: &[Named]) -> Option<&Loc> {
            files.first().map(|n| &n.loc)
        }
        fn level(levels: &[OrgLevel]) -> Option<&Loc> {
            levels.first().and_then(|l| first(&l.files))
        }
        [
            (
                "resource-policies",
                self.resource
                    .as_ref()
                    .map(|r| r.first().map(|p| &p.file.loc)),
            ),
            ("boundary", self.boundary.as_ref().map(|b| Some(&b.loc))),
            ("session-policies", self.session.as_deref().map(first)),
            ("scps", self.scps.as_deref().map(level)),
            ("rcps", self.rcps.as_deref().map(level)),
        ]
        .into_iter()
        .find_map(|(key, given)| given.map(|loc| (key, loc)))
    }
}

/// One gate: a set of policies and the checks they must pass. A gate file holds one
/// gate at its top level, or several under `gates:`.
#[derive(Debug, Clone)]
pub struct GateConfig {
    /// The gate's name (`name:`, else `gates[i]`, else empty for a single top-level gate).
    pub name: String,
    /// The gate file.
    pub file: PathBuf,
    /// The project root every file the gate reads stays inside (the gate file's git work
    /// tree, unless the caller gives one).
    pub root: Root,
    /// What to load.
    pub source: Source,
    /// The caller (`principal:`): needed by every policy type but identity-based.
    pub principal: Option<(Caller, Loc)>,
    /// `resource-account`: the owner of a resource whose ARN has no account.
    pub resource_account: Option<String>,
    /// The policies of the other types.
    pub types: PolicyTypes,
    /// The `no-new-access` baseline's policies of the other types (`None`: the gate's,
    /// or for `git:REV` the same files at the revision).
    pub baseline_types: PolicyTypes,
    /// Expected decisions.
    pub expect: Vec<Expectation>,
    /// Isolation properties.
    pub isolation: Vec<IsolationCheck>,
    /// `no-new-access` baseline: policy files/globs, or `git:REV`.
    pub baseline: Option<(String, Loc)>,
    /// Severities that fail the gate.
    pub fail_on: Vec<Severity>,
    /// Lint suppressions.
    pub suppress: Vec<Suppression>,
    /// `managed-policies`: documents of managed policies the template's role names by
    /// ARN (paths joined to the gate file's directory).
    pub managed: crate::managed::Given,
}

/// The gate file's shape, as `serde` reads it. Struct names (`rename`) are how messages
/// name a mapping; newtype names are how they name the value they wrap.
mod raw {
    use super::*;

    /// A file with several gates.
    #[derive(Deserialize)]
    #[serde(rename = "the gate file")]
    pub(super) struct Gates {
        pub gates: Spanned<GateList>,
    }

    /// `gates:`, strictly a list (one gate is written at the top level instead).
    pub(super) struct GateList(pub Vec<Spanned<Gate>>);

    impl<'de> Deserialize<'de> for GateList {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_seq(ListVisitor::new("a list of gates"))
                .map(GateList)
        }
    }

    #[derive(Deserialize)]
    #[serde(rename = "a gate")]
    pub(super) struct Gate {
        pub name: Option<String>,
        pub policies: Option<Spanned<OneOrMany<String>>>,
        pub template: Option<Spanned<Template>>,
        #[serde(rename = "managed-policies")]
        pub managed_policies: Option<Spanned<ManagedPolicies>>,
        pub principal: Option<Spanned<String>>,
        #[serde(rename = "resource-account")]
        pub resource_account: Option<Spanned<String>>,
        #[serde(rename = "resource-policies")]
        pub resource_policies: Option<OneOrMany<Spanned<ResourcePolicy>>>,
        pub boundary: Option<Spanned<String>>,
        #[serde(rename = "session-policies")]
        pub session_policies: Option<OneOrMany<Spanned<String>>>,
        pub scps: Option<Spanned<Levels>>,
        pub rcps: Option<Spanned<Levels>>,
        pub expect: Option<OneOrMany<Spanned<Expect>>>,
        pub isolation: Option<OneOrMany<Spanned<Isolation>>>,
        #[serde(rename = "no-new-access")]
        pub no_new_access: Option<Spanned<NoNewAccess>>,
        pub lint: Option<Lint>,
    }

    #[derive(Deserialize)]
    #[serde(rename = "a resource policy")]
    pub(super) struct ResourcePolicy {
        pub file: Option<Spanned<String>>,
        pub resource: Option<Spanned<String>>,
    }

    /// `scps:`/`rcps:`: `{LEVEL: [FILE]}`, levels in file order.
    #[derive(Deserialize)]
    #[serde(rename = "organization levels")]
    pub(super) struct Levels(pub Entries<LevelFiles>);

    #[derive(Deserialize)]
    #[serde(rename = "a level's policy files")]
    pub(super) struct LevelFiles(pub OneOrMany<Spanned<String>>);

    #[derive(Deserialize)]
    #[serde(rename = "managed-policies")]
    pub(super) struct ManagedPolicies(pub Entries<ManagedFile>);

    #[derive(Deserialize)]
    #[serde(rename = "a managed policy file")]
    pub(super) struct ManagedFile(pub String);

    #[derive(Deserialize)]
    #[serde(rename = "template")]
    pub(super) struct Template {
        pub file: Option<TemplateFile>,
        pub role: Option<TemplateRole>,
        pub params: Option<TemplateParams>,
    }

    #[derive(Deserialize)]
    #[serde(rename = "template.file")]
    pub(super) struct TemplateFile(pub String);

    #[derive(Deserialize)]
    #[serde(rename = "template.role")]
    pub(super) struct TemplateRole(pub String);

    #[derive(Deserialize)]
    #[serde(rename = "template.params")]
    pub(super) struct TemplateParams(pub Entries<ParamValue>);

    #[derive(Deserialize)]
    #[serde(rename = "a parameter value")]
    pub(super) struct ParamValue(pub String);

    #[derive(Deserialize)]
    #[serde(rename = "an expect entry")]
    pub(super) struct Expect {
        pub name: Option<String>,
        pub identity: Option<String>,
        pub principal: Option<Spanned<String>>,
        pub action: Option<String>,
        pub resource: Option<String>,
        pub context: Option<Entries<ContextValue>>,
        pub decision: Option<Spanned<String>>,
    }

    #[derive(Deserialize)]
    #[serde(rename = "a context value")]
    pub(super) struct ContextValue(pub OneOrMany<String>);

    #[derive(Deserialize)]
    #[serde(rename = "isolation")]
    pub(super) struct Isolation {
        pub areas: Option<OneOrMany<AreaEntry>>,
        #[serde(rename = "identity-format")]
        pub identity_format: Option<String>,
    }

    /// An `areas:` entry: a resource pattern (a private area), or
    /// `{pattern: PATTERN, others: read}` (a protected area: others may read it) or
    /// `others: nothing` (private, said explicitly).
    pub(super) struct AreaEntry(pub crate::analysis::prover::AreaSpec);

    impl<'de> Deserialize<'de> for AreaEntry {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            use crate::analysis::prover::{AreaSpec, Others};
            use serde::de::{Error, MapAccess, Visitor};
            struct Visit;
            impl<'de> Visitor<'de> for Visit {
                type Value = AreaEntry;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an area: a resource pattern, or {pattern: PATTERN, others: read}")
                }
                fn visit_str<E: Error>(self, v: &str) -> Result<AreaEntry, E> {
                    Ok(AreaEntry(AreaSpec::private(v)))
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AreaEntry, A::Error> {
                    let (mut pattern, mut others) = (None, None);
                    while let Some(key) = map.next_key::<String>()? {
                        match key.as_str() {
                            "pattern" => pattern = Some(map.next_value::<String>()?),
                            "others" => {
                                let v = map.next_value::<String>()?;
                                others = Some(match v.as_str() {
                                    "read" => Others::Read,
                                    "nothing" => Others::Nothing,
                                    _ => {
                                        return Err(A::Error::invalid_value(
                                            serde::de::Unexpected::Str(&v),
                                            &"read or nothing",
                                        ));
                                    }
                                });
                            }
                            _ => {
                                return Err(A::Error::unknown_field(&key, &["pattern", "others"]));
                            }
                        }
                    }
                    let pattern = pattern.ok_or_else(|| A::Error::missing_field("pattern"))?;
                    Ok(AreaEntry(AreaSpec {
                        pattern,
                        others: others.unwrap_or(Others::Nothing),
                    }))
                }
            }
            d.deserialize_any(Visit)
        }
    }

    #[derive(Deserialize)]
    #[serde(rename = "no-new-access")]
    pub(super) struct NoNewAccess {
        pub baseline: Option<Spanned<String>>,
        #[serde(rename = "resource-policies")]
        pub resource_policies: Option<OneOrMany<Spanned<ResourcePolicy>>>,
        pub boundary: Option<Spanned<String>>,
        #[serde(rename = "session-policies")]
        pub session_policies: Option<OneOrMany<Spanned<String>>>,
        pub scps: Option<Spanned<Levels>>,
        pub rcps: Option<Spanned<Levels>>,
    }

    #[derive(Deserialize)]
    #[serde(rename = "lint")]
    pub(super) struct Lint {
        #[serde(rename = "fail-on")]
        pub fail_on: Option<Spanned<OneOrMany<String>>>,
        pub suppress: Option<OneOrMany<Spanned<Suppression>>>,
    }

    #[derive(Deserialize)]
    #[serde(rename = "a suppression")]
    pub(super) struct Suppression {
        pub policy: Option<String>,
        pub sid: Option<String>,
        pub rule: Option<String>,
        pub reason: Option<Spanned<String>>,
    }
}

/// A gate file error at `loc`, with the file's text around it.
fn invalid(text: &Arc<str>, loc: &Loc, message: impl Into<String>) -> GateError {
    let snippet = Snippet::new(loc, text.clone());
    GateError::Invalid {
        loc: loc.clone(),
        message: message.into(),
        source_code: snippet.as_ref().map(|s| Arc::new(s.source.clone())),
        span: snippet.map(|s| s.span),
    }
}

impl GateConfig {
    /// Read a gate file: one gate at the top level, or a list of gates under `gates:`.
    /// Errors name the file, line and column. The project root is the gate file's git
    /// work tree ([`Root::discover`]).
    pub fn load(path: &Path) -> Result<Vec<GateConfig>, GateError> {
        GateConfig::load_in(&Root::discover(path), path)
    }

    /// Read a gate file inside the project `root`; every file the gates read must lie
    /// inside it too.
    pub fn load_in(root: &Root, path: &Path) -> Result<Vec<GateConfig>, GateError> {
        // The message names the file.
        let text = crate::template::read_text(root, path)?;
        GateConfig::parse_in(root, path, &text)
    }

    /// The gates of a gate file's text; `path` is the file (paths in it are relative to
    /// its directory, and stay inside its git work tree).
    pub fn parse(path: &Path, text: &str) -> Result<Vec<GateConfig>, GateError> {
        GateConfig::parse_in(&Root::discover(path), path, text)
    }

    /// The gates of a gate file's text, reading inside the project `root`.
    pub fn parse_in(root: &Root, path: &Path, text: &str) -> Result<Vec<GateConfig>, GateError> {
        let file: Arc<str> = Arc::from(path.display().to_string());
        let text: Arc<str> = Arc::from(text);
        let doc = crate::template::node::parse(&file, &text).map_err(GateError::Yaml)?;
        let shape = |e: DeError| {
            let loc = e.loc.unwrap_or_else(|| doc.loc.clone());
            invalid(&text, &loc, e.message)
        };
        let Some(top) = doc.as_map() else {
            return Err(invalid(
                &text,
                &doc.loc,
                format!("the gate file must be a mapping, found {}", doc.describe()),
            ));
        };
        let cx = Cx {
            path,
            root,
            text: &text,
        };
        if top.iter().any(|(k, _)| k == "gates") {
            let raw: raw::Gates = from_node(&doc).map_err(shape)?;
            let gates = raw.gates;
            if gates.value.0.is_empty() {
                return Err(invalid(&text, &gates.loc, "gates is empty"));
            }
            return gates
                .value
                .0
                .into_iter()
                .enumerate()
                .map(|(i, g)| cx.gate(g, format!("gates[{i}]")))
                .collect();
        }
        let raw: Spanned<raw::Gate> = from_node(&doc).map_err(shape)?;
        Ok(vec![cx.gate(raw, String::new())?])
    }

    /// The directory paths in the gate file are relative to.
    pub(super) fn dir(&self) -> PathBuf {
        self.file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }
}

/// The raw keys of the other policy types (of a gate, or of its baseline).
struct RawTypes {
    resource: Option<OneOrMany<Spanned<raw::ResourcePolicy>>>,
    boundary: Option<Spanned<String>>,
    session: Option<OneOrMany<Spanned<String>>>,
    scps: Option<Spanned<raw::Levels>>,
    rcps: Option<Spanned<raw::Levels>>,
}

/// Building [`GateConfig`]s from the raw shape: the checks the shape cannot express, in
/// the order the gate file's sections are documented.
struct Cx<'a> {
    path: &'a Path,
    root: &'a Root,
    text: &'a Arc<str>,
}

impl Cx<'_> {
    fn invalid(&self, loc: &Loc, message: impl Into<String>) -> GateError {
        invalid(self.text, loc, message)
    }

    fn gate(&self, raw: Spanned<raw::Gate>, default_name: String) -> Result<GateConfig, GateError> {
        let Spanned { loc, value: g } = raw;
        let name = g.name.unwrap_or(default_name);
        let source = self.source(&loc, g.policies, g.template)?;
        let managed = self.managed(&source, g.managed_policies)?;
        let principal = g.principal.map(|p| self.caller(p)).transpose()?;
        let resource_account = g.resource_account.map(|a| self.account(a)).transpose()?;
        let types = self.types(RawTypes {
            resource: g.resource_policies,
            boundary: g.boundary,
            session: g.session_policies,
            scps: g.scps,
            rcps: g.rcps,
        })?;
        let expect = self.expectations(g.expect)?;
        let isolation = g
            .isolation
            .map_or_else(Vec::new, |l| l.0.into_iter().map(isolation).collect());
        let (baseline, baseline_types) = match g.no_new_access {
            None => (None, PolicyTypes::default()),
            Some(n) => {
                let v = n.value;
                let b = v
                    .baseline
                    .ok_or_else(|| self.invalid(&n.loc, "no-new-access needs a baseline"))?;
                let types = self.types(RawTypes {
                    resource: v.resource_policies,
                    boundary: v.boundary,
                    session: v.session_policies,
                    scps: v.scps,
                    rcps: v.rcps,
                })?;
                (Some((b.value, b.loc)), types)
            }
        };
        self.check_principal(principal.as_ref(), &[&types, &baseline_types], &loc)?;
        let (fail_on, suppress) = match g.lint {
            Some(l) => (self.fail_on(l.fail_on)?, self.suppressions(l.suppress)?),
            None => (default_fail_on(), Vec::new()),
        };
        Ok(GateConfig {
            name,
            file: self.path.to_path_buf(),
            root: self.root.clone(),
            source,
            principal,
            resource_account,
            types,
            baseline_types,
            expect,
            isolation,
            baseline,
            fail_on,
            suppress,
            managed,
        })
    }

    /// `principal: ARN`: the caller, read as the evaluator reads it.
    fn caller(&self, raw: Spanned<String>) -> Result<(Caller, Loc), GateError> {
        Caller::parse(&raw.value)
            .map(|c| (c, raw.loc.clone()))
            .map_err(|e| self.invalid(&raw.loc, format!("principal: {e}")))
    }

    /// `resource-account`: a 12-digit account id.
    fn account(&self, raw: Spanned<String>) -> Result<String, GateError> {
        if raw.value.len() == 12 && raw.value.bytes().all(|b| b.is_ascii_digit()) {
            Ok(raw.value)
        } else {
            Err(self.invalid(
                &raw.loc,
                format!(
                    "resource-account {:?} is not an account id (12 digits)",
                    raw.value
                ),
            ))
        }
    }

    /// Policy types other than identity-based decide only for a named caller; session
    /// policies only for a session.
    fn check_principal(
        &self,
        principal: Option<&(Caller, Loc)>,
        types: &[&PolicyTypes],
        gate: &Loc,
    ) -> Result<(), GateError> {
        for t in types {
            match (principal, t.first_given()) {
                (None, Some((key, loc))) => {
                    return Err(self.invalid(
                        loc.unwrap_or(gate),
                        format!("{key} needs principal: the caller's ARN (policies of this type decide only for a named principal)"),
                    ));
                }
                (Some((caller, _)), _) if !caller.kind().is_session() => {
                    if let Some(first) = t.session.as_ref().and_then(|s| s.first()) {
                        return Err(self.invalid(
                            &first.loc,
                            format!(
                                "session-policies apply only to role and federated user sessions; the principal {:?} is not one",
                                caller.arn()
                            ),
                        ));
                    }
                }
                (Some(_), _) | (None, None) => {}
            }
        }
        Ok(())
    }

    /// The files of the other policy types, checked: a resource policy names its file and
    /// its resource's ARN, an organization level names at least one file.
    fn types(&self, raw: RawTypes) -> Result<PolicyTypes, GateError> {
        let named = |s: Spanned<String>| Named {
            path: s.value,
            loc: s.loc,
        };
        let resource = match raw.resource {
            None => None,
            Some(list) => Some(
                list.0
                    .into_iter()
                    .map(|Spanned { loc, value }| {
                        let needs =
                            |k: &str| self.invalid(&loc, format!("a resource policy needs {k}"));
                        let file = value.file.ok_or_else(|| needs("file"))?;
                        let resource = value.resource.ok_or_else(|| needs("resource"))?;
                        if let Err(why) = crate::load::types::check_resource_scope(&resource.value)
                        {
                            return Err(self.invalid(
                                &resource.loc,
                                format!("resource {:?}: {why}", resource.value),
                            ));
                        }
                        Ok(ResourcePolicyFile {
                            file: named(file),
                            resource: resource.value,
                        })
                    })
                    .collect::<Result<Vec<_>, GateError>>()?,
            ),
        };
        let levels = |raw: Option<Spanned<raw::Levels>>, key: &str| {
            raw.map(|Spanned { loc, value }| {
                value
                    .0
                    .0
                    .into_iter()
                    .map(|(label, files)| {
                        if files.0.0.is_empty() {
                            return Err(self.invalid(
                                &loc,
                                format!("{key} level {label:?} names no policy file"),
                            ));
                        }
                        Ok(OrgLevel {
                            label,
                            files: files.0.0.into_iter().map(named).collect(),
                        })
                    })
                    .collect::<Result<Vec<_>, GateError>>()
            })
            .transpose()
        };
        Ok(PolicyTypes {
            resource,
            boundary: raw.boundary.map(named),
            session: raw.session.map(|l| l.0.into_iter().map(named).collect()),
            scps: levels(raw.scps, "scps")?,
            rcps: levels(raw.rcps, "rcps")?,
        })
    }

    /// `managed-policies: {ARN: FILE}`: only for a template's role (policy files name no
    /// managed policy); files are relative to the gate file.
    fn managed(
        &self,
        source: &Source,
        raw: Option<Spanned<raw::ManagedPolicies>>,
    ) -> Result<crate::managed::Given, GateError> {
        let Some(Spanned { loc, value }) = raw else {
            return Ok(crate::managed::Given::none());
        };
        if let Source::Policies(_) = source {
            return Err(self.invalid(
                &loc,
                "managed-policies applies to a template's role, and this gate loads policy files",
            ));
        }
        let dir = self.path.parent().unwrap_or(Path::new(""));
        crate::managed::Given::from_pairs(
            value
                .0
                .0
                .into_iter()
                .map(|(arn, file)| (arn, dir.join(file.0))),
        )
        .map_err(|e| self.invalid(&loc, e.to_string()))
    }

    fn source(
        &self,
        gate: &Loc,
        policies: Option<Spanned<OneOrMany<String>>>,
        template: Option<Spanned<raw::Template>>,
    ) -> Result<Source, GateError> {
        match (policies, template) {
            (Some(p), None) => {
                if p.value.0.is_empty() {
                    return Err(self.invalid(&p.loc, "policies is empty"));
                }
                Ok(Source::Policies(p.value.0))
            }
            (None, Some(t)) => {
                let file = t
                    .value
                    .file
                    .ok_or_else(|| self.invalid(&t.loc, "template needs a file"))?;
                Ok(Source::Template {
                    file: file.0,
                    role: t.value.role.map(|r| r.0),
                    params: t.value.params.map_or_else(Vec::new, |p| {
                        p.0.0.into_iter().map(|(k, v)| (k, v.0)).collect()
                    }),
                })
            }
            (Some(_), Some(t)) => {
                Err(self.invalid(&t.loc, "give either policies or template, not both"))
            }
            (None, None) => Err(self.invalid(gate, "a gate needs policies or template")),
        }
    }

    fn expectations(
        &self,
        raw: Option<OneOrMany<Spanned<raw::Expect>>>,
    ) -> Result<Vec<Expectation>, GateError> {
        let items = raw.map_or_else(Vec::new, |l| l.0);
        let mut out = Vec::with_capacity(items.len());
        for (i, Spanned { loc, value: e }) in items.into_iter().enumerate() {
            let needs = |k: &str| self.invalid(&loc, format!("an expect entry needs {k}"));
            let decision = e.decision.ok_or_else(|| needs("decision"))?;
            let Some(parsed) = Decision::parse(&decision.value) else {
                return Err(self.invalid(
                    &decision.loc,
                    format!(
                        "decision {:?} must be Allow, ExplicitDeny or ImplicitDeny",
                        decision.value
                    ),
                ));
            };
            out.push(Expectation {
                action: e.action.ok_or_else(|| needs("action"))?,
                resource: e.resource.ok_or_else(|| needs("resource"))?,
                name: e.name.unwrap_or_else(|| format!("expect[{i}]")),
                identity: e.identity,
                principal: e
                    .principal
                    .map(|p| self.caller(p))
                    .transpose()?
                    .map(|(c, _)| c),
                context: e.context.map_or_else(BTreeMap::new, |c| {
                    c.0.into_iter().map(|(k, v)| (k, v.0.0)).collect()
                }),
                decision: parsed,
                loc,
            });
        }
        Ok(out)
    }

    fn fail_on(&self, raw: Option<Spanned<OneOrMany<String>>>) -> Result<Vec<Severity>, GateError> {
        let Some(list) = raw else {
            return Ok(default_fail_on());
        };
        list.value
            .0
            .iter()
            .map(|s| {
                Severity::parse(s).ok_or_else(|| {
                    self.invalid(
                        &list.loc,
                        format!("unknown severity {s:?} (error, warning, info)"),
                    )
                })
            })
            .collect()
    }

    fn suppressions(
        &self,
        raw: Option<OneOrMany<Spanned<raw::Suppression>>>,
    ) -> Result<Vec<Suppression>, GateError> {
        let items = raw.map_or_else(Vec::new, |l| l.0);
        let mut out = Vec::with_capacity(items.len());
        for Spanned { loc, value: s } in items {
            let reason = s
                .reason
                .ok_or_else(|| self.invalid(&loc, "a suppression needs a reason"))?;
            if reason.value.trim().is_empty() {
                return Err(self.invalid(&reason.loc, "a suppression's reason is empty"));
            }
            let rule = match s.rule {
                None => None,
                Some(r) => Some(
                    RuleId::parse(&r)
                        .ok_or_else(|| self.invalid(&loc, format!("unknown lint rule {r:?}")))?,
                ),
            };
            out.push(Suppression {
                policy: s.policy,
                sid: s
                    .sid
                    .ok_or_else(|| self.invalid(&loc, "a suppression needs a sid"))?,
                rule,
                reason: reason.value,
                loc,
            });
        }
        Ok(out)
    }
}

/// Without `lint: {fail-on: ...}`, errors and warnings fail the gate.
fn default_fail_on() -> Vec<Severity> {
    vec![Severity::Error, Severity::Warning]
}

fn isolation(raw: Spanned<raw::Isolation>) -> IsolationCheck {
    IsolationCheck {
        areas: raw
            .value
            .areas
            .map_or_else(Vec::new, |a| a.0.into_iter().map(|e| e.0).collect()),
        format: raw
            .value
            .identity_format
            .unwrap_or_else(|| "cognito".to_string()),
        loc: raw.loc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<GateConfig>, String> {
        GateConfig::parse(Path::new("g.yml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn one_gate_and_several() {
        let g = parse("policies: a.json\n").unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].name, "");
        assert!(matches!(&g[0].source, Source::Policies(p) if p == &["a.json"]));
        assert_eq!(g[0].fail_on, [Severity::Error, Severity::Warning]);
        let g = parse(
            "gates:\n  - {name: x, policies: [a.json, b.json], lint: {fail-on: info}}\n  - template: {file: t.yml, params: {B: 2, A: x}}\n",
        )
        .unwrap();
        assert_eq!((g[0].name.as_str(), g[1].name.as_str()), ("x", "gates[1]"));
        assert_eq!(g[0].fail_on, [Severity::Info]);
        let Source::Template { params, .. } = &g[1].source else {
            panic!("a template source");
        };
        assert_eq!(
            params,
            &[("B".to_string(), "2".to_string()), ("A".into(), "x".into())],
            "parameters keep their order"
        );
    }

    #[test]
    fn expectations_and_suppressions() {
        let g = parse(
            "policies: a.json\nexpect:\n  action: s3:GetObject\n  resource: x\n  decision: ImplicitDeny\n  context: {k: [a, b], l: c}\nlint:\n  suppress: {sid: S, rule: PS005, reason: why}\nno-new-access: {baseline: git:HEAD}\n",
        )
        .unwrap();
        let e = &g[0].expect[0];
        assert_eq!(e.name, "expect[0]");
        assert_eq!(e.decision, Decision::ImplicitDeny);
        assert_eq!(e.context["k"], ["a", "b"]);
        assert_eq!(e.context["l"], ["c"]);
        assert_eq!((e.loc.line, e.loc.column), (3, 3));
        let s = &g[0].suppress[0];
        assert_eq!((s.sid.as_str(), s.rule), ("S", Some(RuleId::PS005)));
        let (spec, loc) = g[0].baseline.clone().unwrap();
        assert_eq!((spec.as_str(), loc.line, loc.column), ("git:HEAD", 9, 27));
    }

    #[test]
    fn errors_carry_a_snippet() {
        let e = GateConfig::parse(Path::new("g.yml"), "policies: []\n").unwrap_err();
        let GateError::Invalid { span, .. } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(span.map(|s| s.offset()), Some(10));
        assert_eq!(e.to_string(), "g.yml:1:11: policies is empty");
    }
}

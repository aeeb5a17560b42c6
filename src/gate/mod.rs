//! The CI policy gate: one file (`policy-gate.yml`, YAML or JSON, schema in
//! `docs/policy-gate.schema.json`) names the policies and the checks they must pass:
//! expected decisions, isolation, no new access against a baseline, and lint severities.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::analysis::no_new_access::{DiffResult, no_new_access};
use crate::analysis::prover::format::IdentityFormat;
use crate::analysis::prover::{Verdict, prove_isolation};
use crate::eval::{Decision, PolicySet};
use crate::lint::{Finding, Locations, Severity, lint_set, policy_size};
use crate::request::Request;
use crate::template::node::{Kind, Loc, Node};
use crate::template::{Params, Template, TemplateError};

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
    /// Areas (empty: the policy's own).
    pub areas: Vec<String>,
    /// Identity format (`cognito`, `any`, a regex).
    pub format: String,
    /// Where the gate file says so.
    pub loc: Loc,
}

/// A lint suppression: findings of a statement (by Sid), optionally of one rule.
#[derive(Debug, Clone)]
pub struct Suppression {
    /// The statement's Sid.
    pub sid: String,
    /// The rule, or every rule.
    pub rule: Option<String>,
    /// Why (required).
    pub reason: String,
    /// Where the gate file says so.
    pub loc: Loc,
}

/// One gate: a set of policies and the checks they must pass. A gate file holds one
/// gate at its top level, or several under `gates:`.
#[derive(Debug, Clone)]
pub struct GateConfig {
    /// The gate's name (`name:`, else `gates[i]`, else empty for a single top-level gate).
    pub name: String,
    /// The gate file.
    pub file: PathBuf,
    /// What to load.
    pub source: Source,
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
}

fn err(loc: &Loc, message: impl std::fmt::Display) -> String {
    format!("{loc}: {message}")
}

fn string(node: &Node, what: &str) -> Result<String, String> {
    match &node.kind {
        Kind::Scalar(s, _) => Ok(s.clone()),
        _ => Err(err(
            &node.loc,
            format!("{what} must be a string, found {}", node.describe()),
        )),
    }
}

fn strings(node: &Node, what: &str) -> Result<Vec<String>, String> {
    match &node.kind {
        Kind::Seq(items) => items.iter().map(|i| string(i, what)).collect(),
        _ => Ok(vec![string(node, what)?]),
    }
}

fn map<'a>(node: &'a Node, what: &str, allowed: &[&str]) -> Result<&'a [(String, Node)], String> {
    let entries = node.as_map().ok_or_else(|| {
        err(
            &node.loc,
            format!("{what} must be a mapping, found {}", node.describe()),
        )
    })?;
    for (k, v) in entries {
        if !allowed.contains(&k.as_str()) {
            return Err(err(
                &v.loc,
                format!(
                    "unknown key {k:?} in {what} (expected one of {})",
                    allowed.join(", ")
                ),
            ));
        }
    }
    Ok(entries)
}

fn list(node: &Node) -> Vec<&Node> {
    match &node.kind {
        Kind::Seq(items) => items.iter().collect(),
        _ => vec![node],
    }
}

const GATE_KEYS: &[&str] = &[
    "name",
    "policies",
    "template",
    "expect",
    "isolation",
    "no-new-access",
    "lint",
];

impl GateConfig {
    /// Read a gate file: one gate at the top level, or a list of gates under `gates:`.
    /// Errors name the file, line and column.
    pub fn load(path: &Path) -> Result<Vec<GateConfig>, String> {
        let file: Arc<str> = Arc::from(path.display().to_string());
        // The message names the file.
        let text = crate::template::read_text(path)?;
        let doc = crate::template::node::parse(&file, &text).map_err(|e| e.to_string())?;
        let top = doc.as_map().ok_or_else(|| {
            err(
                &doc.loc,
                format!("the gate file must be a mapping, found {}", doc.describe()),
            )
        })?;
        if let Some((_, gates)) = top.iter().find(|(k, _)| k == "gates") {
            map(&doc, "the gate file", &["gates"])?;
            let Kind::Seq(items) = &gates.kind else {
                return Err(err(&gates.loc, "gates must be a list of gates"));
            };
            if items.is_empty() {
                return Err(err(&gates.loc, "gates is empty"));
            }
            return items
                .iter()
                .enumerate()
                .map(|(i, g)| Self::from_node(g, path, format!("gates[{i}]")))
                .collect();
        }
        Ok(vec![Self::from_node(&doc, path, String::new())?])
    }

    fn from_node(doc: &Node, path: &Path, default_name: String) -> Result<GateConfig, String> {
        let top = map(doc, "a gate", GATE_KEYS)?;
        let get = |k: &str| top.iter().find(|(key, _)| key == k).map(|(_, v)| v);
        let name = get("name")
            .map(|n| string(n, "name"))
            .transpose()?
            .unwrap_or(default_name);
        let source = match (get("policies"), get("template")) {
            (Some(p), None) => {
                let list = strings(p, "policies")?;
                if list.is_empty() {
                    return Err(err(&p.loc, "policies is empty"));
                }
                Source::Policies(list)
            }
            (None, Some(t)) => {
                let entries = map(t, "template", &["file", "role", "params"])?;
                let field = |k: &str| entries.iter().find(|(key, _)| key == k).map(|(_, v)| v);
                let file = string(
                    field("file").ok_or_else(|| err(&t.loc, "template needs a file"))?,
                    "template.file",
                )?;
                let role = field("role")
                    .map(|r| string(r, "template.role"))
                    .transpose()?;
                let mut params = Vec::new();
                if let Some(p) = field("params") {
                    for (k, v) in p
                        .as_map()
                        .ok_or_else(|| err(&p.loc, "template.params must be a mapping"))?
                    {
                        params.push((k.clone(), string(v, "a parameter value")?));
                    }
                }
                Source::Template { file, role, params }
            }
            (Some(_), Some(t)) => {
                return Err(err(&t.loc, "give either policies or template, not both"));
            }
            (None, None) => return Err(err(&doc.loc, "a gate needs policies or template")),
        };
        let mut expect = Vec::new();
        if let Some(e) = get("expect") {
            for (i, item) in list(e).into_iter().enumerate() {
                let entries = map(
                    item,
                    "an expect entry",
                    &[
                        "name", "identity", "action", "resource", "context", "decision",
                    ],
                )?;
                let field = |k: &str| entries.iter().find(|(key, _)| key == k).map(|(_, v)| v);
                let need = |k: &str| {
                    field(k).ok_or_else(|| err(&item.loc, format!("an expect entry needs {k}")))
                };
                let decision_text = string(need("decision")?, "decision")?;
                let decision = Decision::parse(&decision_text).ok_or_else(|| {
                    err(
                        &need("decision")
                            .map(|n| n.loc.clone())
                            .unwrap_or(item.loc.clone()),
                        format!(
                            "decision {decision_text:?} must be Allow, ExplicitDeny or ImplicitDeny"
                        ),
                    )
                })?;
                let mut context = BTreeMap::new();
                if let Some(c) = field("context") {
                    for (k, v) in c
                        .as_map()
                        .ok_or_else(|| err(&c.loc, "context must be a mapping"))?
                    {
                        context.insert(k.clone(), strings(v, "a context value")?);
                    }
                }
                expect.push(Expectation {
                    name: field("name")
                        .map(|n| string(n, "name"))
                        .transpose()?
                        .unwrap_or_else(|| format!("expect[{i}]")),
                    identity: field("identity")
                        .map(|n| string(n, "identity"))
                        .transpose()?,
                    action: string(need("action")?, "action")?,
                    resource: string(need("resource")?, "resource")?,
                    context,
                    decision,
                    loc: item.loc.clone(),
                });
            }
        }
        let mut isolation = Vec::new();
        if let Some(iso) = get("isolation") {
            for item in list(iso) {
                let entries = map(item, "isolation", &["areas", "identity-format"])?;
                let field = |k: &str| entries.iter().find(|(key, _)| key == k).map(|(_, v)| v);
                isolation.push(IsolationCheck {
                    areas: field("areas")
                        .map(|a| strings(a, "areas"))
                        .transpose()?
                        .unwrap_or_default(),
                    format: field("identity-format")
                        .map(|f| string(f, "identity-format"))
                        .transpose()?
                        .unwrap_or_else(|| "cognito".to_string()),
                    loc: item.loc.clone(),
                });
            }
        }
        let baseline = match get("no-new-access") {
            None => None,
            Some(n) => {
                let entries = map(n, "no-new-access", &["baseline"])?;
                let b = entries
                    .iter()
                    .find(|(k, _)| k == "baseline")
                    .map(|(_, v)| v)
                    .ok_or_else(|| err(&n.loc, "no-new-access needs a baseline"))?;
                Some((string(b, "baseline")?, b.loc.clone()))
            }
        };
        let mut fail_on = vec![Severity::Error, Severity::Warning];
        let mut suppress = Vec::new();
        if let Some(l) = get("lint") {
            let entries = map(l, "lint", &["fail-on", "suppress"])?;
            for (k, v) in entries {
                if k == "fail-on" {
                    fail_on = strings(v, "fail-on")?
                        .iter()
                        .map(|s| {
                            Severity::parse(s).ok_or_else(|| {
                                err(
                                    &v.loc,
                                    format!("unknown severity {s:?} (error, warning, info)"),
                                )
                            })
                        })
                        .collect::<Result<_, _>>()?;
                } else {
                    for item in list(v) {
                        let e = map(item, "a suppression", &["sid", "rule", "reason"])?;
                        let f = |k: &str| e.iter().find(|(key, _)| key == k).map(|(_, v)| v);
                        let reason = f("reason")
                            .ok_or_else(|| err(&item.loc, "a suppression needs a reason"))?;
                        if string(reason, "reason")?.trim().is_empty() {
                            return Err(err(&reason.loc, "a suppression's reason is empty"));
                        }
                        let rule = f("rule").map(|r| string(r, "rule")).transpose()?;
                        if let Some(r) = &rule
                            && crate::lint::rule(r).is_none()
                        {
                            return Err(err(&item.loc, format!("unknown lint rule {r:?}")));
                        }
                        suppress.push(Suppression {
                            sid: string(
                                f("sid")
                                    .ok_or_else(|| err(&item.loc, "a suppression needs a sid"))?,
                                "sid",
                            )?,
                            rule,
                            reason: string(reason, "reason")?,
                            loc: item.loc.clone(),
                        });
                    }
                }
            }
        }
        Ok(GateConfig {
            name,
            file: path.to_path_buf(),
            source,
            expect,
            isolation,
            baseline,
            fail_on,
            suppress,
        })
    }

    fn dir(&self) -> PathBuf {
        self.file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Passed.
    Pass,
    /// Failed.
    Fail,
    /// Could not be decided (counts as a failure).
    Unknown,
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// The gate it belongs to (empty for a file with a single unnamed gate).
    pub gate: String,
    /// `expect`, `isolation`, `no-new-access` or `lint`.
    pub kind: &'static str,
    /// A name.
    pub name: String,
    /// The outcome.
    pub status: Status,
    /// What happened.
    pub message: String,
    /// The rule id for SARIF (`gate/expect`, `PS001`, ...).
    pub rule: String,
    /// Where: file, line, column.
    pub location: Option<(String, usize, usize)>,
}

/// Everything the gate found.
#[derive(Debug, Clone, Serialize)]
pub struct GateReport {
    /// Every check, failures first.
    pub checks: Vec<CheckResult>,
    /// Every lint finding: the finding, the suppression's reason when suppressed, and
    /// whether it fails the gate.
    pub findings: Vec<(Finding, Option<String>, bool)>,
}

impl GateReport {
    /// Checks that passed.
    pub fn passed(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Pass)
            .count()
    }

    /// Checks that failed or are unknown.
    pub fn failed(&self) -> usize {
        self.checks.len() - self.passed()
    }
}

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
pub fn load_policies(patterns: &[String], dir: &Path) -> Result<Loaded, String> {
    let mut policies = Vec::new();
    let mut sources = Vec::new();
    for pattern in patterns {
        let full = dir.join(pattern);
        let paths: Vec<PathBuf> = glob::glob(&full.display().to_string())
            .map_err(|e| format!("policy pattern {pattern:?}: {e}"))?
            .filter_map(Result::ok)
            // Directories a pattern happens to match are not policies.
            .filter(|p| !p.is_dir())
            .collect();
        if paths.is_empty() {
            return Err(format!("policy pattern {pattern:?} matches no file"));
        }
        for path in paths {
            let shown = display_path(&path);
            let file =
                std::fs::File::open(&path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
            let bytes =
                crate::lang::parse::read_bounded(&shown, file).map_err(|e| e.to_string())?;
            let policy =
                crate::lang::parse::parse_policy(&shown, &bytes).map_err(|e| e.to_string())?;
            let text = String::from_utf8_lossy(&bytes);
            sources.push(Some((
                Locations::from_text(&shown, &text),
                policy_size(&text),
            )));
            policies.push(policy);
        }
    }
    Ok(Loaded {
        set: PolicySet::new(policies),
        sources,
        inline: false,
    })
}

fn load_source(cfg: &GateConfig) -> Result<Loaded, String> {
    let dir = cfg.dir();
    match &cfg.source {
        Source::Policies(p) => load_policies(p, &dir),
        Source::Template { file, role, params } => {
            let pairs: Vec<(&str, &str)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let t = Template::load(&dir.join(file), Params::from_pairs(&pairs))
                .map_err(|e| e.to_string())?;
            load_role(&t, role.as_deref()).map_err(|e| e.to_string())
        }
    }
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

/// The baseline's policies: files/globs, or `git:REV` for the same policy files at a
/// revision.
fn load_baseline(cfg: &GateConfig, spec: &str) -> Result<PolicySet, String> {
    let dir = cfg.dir();
    let Some(rev) = spec.strip_prefix("git:") else {
        return load_policies(&[spec.to_string()], &dir).map(|l| l.set);
    };
    let Source::Policies(patterns) = &cfg.source else {
        return Err(
            "a git baseline needs the gate to load policy files (not a template)".to_string(),
        );
    };
    let git_dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        &dir
    };
    // The revision must exist: a typo or a checkout without history is an error, not
    // "the baseline had no policies" (which would report everything as new).
    let verify = std::process::Command::new("git")
        .arg("-C")
        .arg(git_dir)
        .args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("{rev}^{{commit}}"))
        .output()
        .map_err(|e| format!("baseline {spec}: cannot run git: {e}"))?;
    if !verify.status.success() {
        return Err(format!(
            "baseline {spec}: {rev:?} is not a commit of the git repository at {}",
            git_dir.display()
        ));
    }
    // The files the patterns match *at REV* (a policy deleted since is part of the
    // baseline), paths relative to the gate file's directory.
    let listing = std::process::Command::new("git")
        .arg("-C")
        .arg(git_dir)
        .args(["ls-tree", "-r", "--name-only"])
        .arg(rev)
        .arg("--")
        .arg(".")
        .output()
        .map_err(|e| format!("baseline {spec}: cannot run git: {e}"))?;
    if !listing.status.success() {
        return Err(format!(
            "baseline {spec}: git ls-tree failed: {}",
            String::from_utf8_lossy(&listing.stderr).trim()
        ));
    }
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let mut policies = Vec::new();
    for pattern in patterns {
        let normalized = pattern.trim_start_matches("./");
        let matcher = glob::Pattern::new(normalized)
            .map_err(|e| format!("policy pattern {pattern:?}: {e}"))?;
        for rel in listing.lines().filter(|f| matcher.matches_with(f, options)) {
            let out = std::process::Command::new("git")
                .arg("-C")
                .arg(git_dir)
                .arg("show")
                .arg(format!("{rev}:./{rel}"))
                .output()
                .map_err(|e| format!("cannot run git: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "baseline {spec}: cannot read {rel} at {rev}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            let name = format!("{rev}:{rel}");
            policies.push(
                crate::lang::parse::parse_policy(&name, &out.stdout).map_err(|e| e.to_string())?,
            );
        }
    }
    Ok(PolicySet::new(policies))
}

fn where_(loc: &Loc) -> Option<(String, usize, usize)> {
    Some((loc.file.to_string(), loc.line, loc.column))
}

/// Run every check of every gate, failures first. Errors mean an invalid gate file or
/// policy (exit 2); a failing check is not an error.
pub fn run(gates: &[GateConfig]) -> Result<GateReport, String> {
    let mut report = GateReport {
        checks: Vec::new(),
        findings: Vec::new(),
    };
    for cfg in gates {
        let one = run_gate(cfg)?;
        report.checks.extend(one.checks);
        report.findings.extend(one.findings);
    }
    // Stable: failures first, each group in file order.
    report.checks.sort_by_key(|c| c.status == Status::Pass);
    Ok(report)
}

fn run_gate(cfg: &GateConfig) -> Result<GateReport, String> {
    let loaded = load_source(cfg)?;
    let set = &loaded.set;
    let mut checks = Vec::new();
    for e in &cfg.expect {
        let mut r = Request::new(e.action.clone(), e.resource.clone());
        if let Some(id) = &e.identity {
            r = r.with_identity(id);
        }
        for (k, v) in &e.context {
            r.context.set(k, v.clone());
        }
        r.context
            .fill_time_defaults(jiff::Timestamp::now())
            .map_err(|m| err(&e.loc, m))?;
        let (status, message) = match set.evaluate(&r) {
            Ok(ev) if ev.decision == e.decision => (
                Status::Pass,
                format!(
                    "{} {} on {}: {}",
                    e.name,
                    e.action,
                    e.resource,
                    ev.decision.as_str()
                ),
            ),
            Ok(ev) => (
                Status::Fail,
                format!(
                    "{}: expected {}, got {} for {} on {} (deciding: [{}])",
                    e.name,
                    e.decision.as_str(),
                    ev.decision.as_str(),
                    e.action,
                    e.resource,
                    ev.deciding
                        .iter()
                        .map(|d| crate::report::statement_label(set, *d))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Err(x) => (
                Status::Fail,
                format!("{}: the request cannot be evaluated: {x}", e.name),
            ),
        };
        checks.push(CheckResult {
            gate: String::new(),
            kind: "expect",
            name: e.name.clone(),
            status,
            message,
            rule: "gate/expect".into(),
            location: where_(&e.loc),
        });
    }
    for iso in &cfg.isolation {
        let format = IdentityFormat::parse(&iso.format).map_err(|m| err(&iso.loc, m))?;
        if iso.areas.is_empty() && crate::analysis::prover::default_areas(set).is_empty() {
            // The policy no longer scopes anything by identity: the property cannot hold
            // as the gate states it. A failed check, not an invalid gate file.
            checks.push(CheckResult {
                gate: String::new(),
                kind: "isolation",
                name: format!("isolation ({})", iso.format),
                status: Status::Fail,
                message: "no per-identity area: no Allow statement's Resource mentions ${cognito-identity.amazonaws.com:sub} (under Version 2012-10-17); name the areas in the gate file to prove them anyway".to_string(),
                rule: "gate/isolation".into(),
                location: where_(&iso.loc),
            });
            continue;
        }
        let proof = prove_isolation(set, &iso.areas, &format).map_err(|m| err(&iso.loc, m))?;
        let status = match proof.verdict {
            Verdict::Holds => Status::Pass,
            Verdict::Violated => Status::Fail,
            Verdict::Unknown => Status::Unknown,
        };
        let mut message = format!("{}: {}", proof.verdict.as_str(), proof.reason);
        if let Some(c) = &proof.counterexample {
            message.push_str(&format!(
                "; counterexample: {} can {} {} inside the area of {}",
                c.attacker, c.action, c.resource, c.victim
            ));
        }
        checks.push(CheckResult {
            gate: String::new(),
            kind: "isolation",
            name: format!("isolation ({})", iso.format),
            status,
            message,
            rule: "gate/isolation".into(),
            location: where_(&iso.loc),
        });
    }
    if let Some((spec, loc)) = &cfg.baseline {
        let baseline = load_baseline(cfg, spec).map_err(|m| err(loc, m))?;
        let (status, message) = match no_new_access(set, &baseline) {
            DiffResult::NoNewAccess => {
                (Status::Pass, format!("no new access compared with {spec}"))
            }
            DiffResult::NewAccess(n) => (
                Status::Fail,
                format!(
                    "new access compared with {spec}: {} on {} is allowed by {} (the baseline: {})",
                    n.action,
                    n.resource,
                    crate::report::statement_label(set, n.statement),
                    n.baseline.as_str()
                ),
            ),
            DiffResult::Unknown(why) => (
                Status::Unknown,
                format!("no-new-access unknown compared with {spec}: {why}"),
            ),
        };
        checks.push(CheckResult {
            gate: String::new(),
            kind: "no-new-access",
            name: "no-new-access".into(),
            status,
            message,
            rule: "gate/no-new-access".into(),
            location: where_(loc),
        });
    }
    let mut findings = Vec::new();
    let mut lint_failures = 0;
    for f in lint_set(set, &loaded.sources, loaded.inline) {
        let suppressed = cfg.suppress.iter().find(|s| {
            f.sid.as_deref() == Some(s.sid.as_str())
                && s.rule.as_deref().is_none_or(|r| r == f.rule.as_str())
        });
        // A listed severity fails the gate, and so does every more severe one.
        let fails = suppressed.is_none() && cfg.fail_on.iter().any(|s| f.severity >= *s);
        if fails {
            lint_failures += 1;
            checks.push(CheckResult {
                gate: String::new(),
                kind: "lint",
                name: format!("{} {}", f.rule, f.file),
                status: Status::Fail,
                message: format!(
                    "{} {}: {} (fix: {})",
                    f.rule,
                    f.severity.as_str(),
                    f.message,
                    f.hint
                ),
                rule: f.rule.to_string(),
                location: Some((f.file.clone(), f.line, f.column)),
            });
        }
        findings.push((f, suppressed.map(|s| s.reason.clone()), fails));
    }
    // A suppression that matches nothing fails: it would silently exempt whatever
    // statement takes that Sid next.
    for s in &cfg.suppress {
        let used = findings.iter().any(|(f, _, _)| {
            f.sid.as_deref() == Some(s.sid.as_str())
                && s.rule.as_deref().is_none_or(|r| r == f.rule.as_str())
        });
        if !used {
            lint_failures += 1;
            let what = match &s.rule {
                Some(r) => format!("{r} of Sid {:?}", s.sid),
                None => format!("Sid {:?}", s.sid),
            };
            checks.push(CheckResult {
                gate: String::new(),
                kind: "lint",
                name: format!("suppression {what}"),
                status: Status::Fail,
                message: format!(
                    "the suppression of {what} matches no finding: remove it, or a later statement with that Sid would be exempt unseen"
                ),
                rule: "gate/suppression".into(),
                location: where_(&s.loc),
            });
        }
    }
    if lint_failures == 0 {
        checks.push(CheckResult {
            gate: String::new(),
            kind: "lint",
            name: "lint".into(),
            status: Status::Pass,
            message: if cfg.fail_on.is_empty() {
                format!(
                    "{} finding(s), reported only (fail-on is empty)",
                    findings.len()
                )
            } else {
                let least = cfg.fail_on.iter().min().expect("fail-on is not empty here");
                format!(
                    "no finding of severity {}{} ({} finding(s) in all)",
                    least.as_str(),
                    if *least == Severity::Error {
                        ""
                    } else {
                        " or above"
                    },
                    findings.len()
                )
            },
            rule: "gate/lint".into(),
            location: None,
        });
    }
    for c in &mut checks {
        c.gate = cfg.name.clone();
    }
    Ok(GateReport { checks, findings })
}

/// The report as text: one line per check, failures first, then `N passed, M failed`.
pub fn text(report: &GateReport) -> String {
    let mut out = String::new();
    for c in &report.checks {
        let label = match c.status {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Unknown => "UNKNOWN",
        };
        let at = c
            .location
            .as_ref()
            .map(|(f, l, col)| format!(" [{f}:{l}:{col}]"))
            .unwrap_or_default();
        let gate = if c.gate.is_empty() {
            String::new()
        } else {
            format!(" [{}]", c.gate)
        };
        out.push_str(&format!("{label}{gate} {}: {}{at}\n", c.kind, c.message));
    }
    out.push_str(&format!(
        "{} passed, {} failed\n",
        report.passed(),
        report.failed()
    ));
    out
}

/// SARIF 2.1.0 for GitHub code scanning: lint findings and failed checks.
pub fn sarif(report: &GateReport) -> serde_json::Value {
    let mut rules: Vec<serde_json::Value> = crate::lint::RULES
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": {"text": r.description},
                "defaultConfiguration": {"level": level(r.severity)},
            })
        })
        .collect();
    for (id, text) in [
        (
            "gate/expect",
            "a request did not get the decision the gate expects",
        ),
        (
            "gate/isolation",
            "per-identity isolation does not provably hold",
        ),
        (
            "gate/no-new-access",
            "the policy allows a request the baseline denied",
        ),
        (
            "gate/suppression",
            "a lint suppression in the gate file matches no finding",
        ),
    ] {
        rules.push(serde_json::json!({"id": id, "name": id, "shortDescription": {"text": text}, "defaultConfiguration": {"level": "error"}}));
    }
    let location = |file: &str, line: usize, column: usize| {
        serde_json::json!([{"physicalLocation": {
            "artifactLocation": {"uri": display_path(Path::new(file)).replace('\\', "/")},
            "region": {"startLine": line.max(1), "startColumn": column.max(1)}
        }}])
    };
    let mut results = Vec::new();
    for (f, suppressed, fails) in &report.findings {
        // A finding the gate does not fail on is a note, so code scanning agrees with the
        // gate's verdict; its rule's own severity stays in the rule and in `properties`.
        let mut r = serde_json::json!({
            "ruleId": f.rule,
            "level": if *fails || suppressed.is_some() { level(f.severity) } else { "note" },
            "properties": {"severity": f.severity.as_str(), "failsGate": fails},
            "message": {"text": format!("{} (fix: {})", f.message, f.hint)},
            "locations": location(&f.file, f.line, f.column),
        });
        if let Some(reason) = suppressed {
            r["suppressions"] = serde_json::json!([{"kind": "external", "justification": reason}]);
        }
        results.push(r);
    }
    for c in &report.checks {
        // Lint findings are reported above, as findings; other failed checks here.
        if c.status == Status::Pass || (c.kind == "lint" && c.rule != "gate/suppression") {
            continue;
        }
        let text = if c.gate.is_empty() {
            c.message.clone()
        } else {
            format!("[{}] {}", c.gate, c.message)
        };
        let mut r =
            serde_json::json!({"ruleId": c.rule, "level": "error", "message": {"text": text}});
        if let Some((f, l, col)) = &c.location {
            r["locations"] = location(f, *l, *col);
        }
        results.push(r);
    }
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "policy-sim",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }]
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Escape text for XML; characters XML 1.0 cannot hold at all become U+FFFD.
fn xml(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JUnit XML: one test case per check.
pub fn junit(report: &GateReport) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites tests=\"{}\" failures=\"{}\">\n  <testsuite name=\"policy-sim gate\" tests=\"{}\" failures=\"{}\">\n",
        report.checks.len(),
        report.failed(),
        report.checks.len(),
        report.failed()
    ));
    for c in &report.checks {
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\"",
            xml(&if c.gate.is_empty() {
                c.kind.to_string()
            } else {
                format!("{}.{}", c.gate, c.kind)
            }),
            xml(&c.name)
        ));
        if c.status == Status::Pass {
            out.push_str("/>\n");
        } else {
            out.push_str(&format!(
                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                xml(&c.message),
                xml(&c.message)
            ));
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

//! The access report: per gate and role, who can reach each per-identity area, the
//! Cognito flow, every counterexample with the statement that allows it, lint findings
//! next to their statements and the no-new-access result. Built by
//! [`crate::gate::access_report`]; [`crate::report::html`] draws it.
//!
//! These types hold what was decided, as text ready to show: rendering makes no IAM
//! decision of its own.

use serde::Serialize;

use crate::report::gate::{CheckResult, Status};

/// The whole report: one section per gate of the gate file.
#[derive(Debug, Clone, Serialize)]
pub struct AccessReport {
    /// The gate file, as given.
    pub config: String,
    /// The time the requests were decided at (`aws:CurrentTime`), RFC 3339.
    pub decided_at: String,
    /// Every check of the gate file, as `gate` reports them (failures first).
    pub checks: Vec<CheckResult>,
    /// One section per gate.
    pub gates: Vec<GateAccess>,
}

impl AccessReport {
    /// How many checks failed (or were unknown).
    pub fn failed(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.status != Status::Pass)
            .count()
    }
}

/// One gate: its policies, who can reach each area, and why.
#[derive(Debug, Clone, Serialize)]
pub struct GateAccess {
    /// The gate's name (empty for a gate file with one gate).
    pub name: String,
    /// What the gate reads (`policies: a.json, b.json`, `template: t.yml`).
    pub source: String,
    /// What a template reader modelled instead of read.
    pub notes: Vec<String>,
    /// The access matrix: per area, per access class.
    pub matrix: Vec<MatrixRow>,
    /// Why there is no matrix (no per-identity area), when there is none.
    pub no_matrix: Option<String>,
    /// Every counterexample the matrix refers to, by [`Cell::counterexample`].
    pub counterexamples: Vec<CounterexampleView>,
    /// The roles (or, for policy files, the one set of policies).
    pub roles: Vec<RoleAccess>,
    /// The gate's checks, as `gate` reports them (failures first).
    pub checks: Vec<CheckResult>,
    /// The `no-new-access` check, when the gate has a baseline.
    pub baseline: Option<CheckResult>,
}

/// Read or write, as [`crate::catalog::AccessClass`] defines them (listing is read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// The catalog's `Read` and `List` actions, listings included.
    Read,
    /// Every other action.
    Write,
}

impl Class {
    /// `read` or `write`.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Read => "read",
            Class::Write => "write",
        }
    }
}

/// One row of the matrix: an area and an access class.
#[derive(Debug, Clone, Serialize)]
pub struct MatrixRow {
    /// The area's pattern.
    pub area: String,
    /// `private` or `protected` (others may read).
    pub kind: &'static str,
    /// The identity format it was proved for.
    pub identity_format: String,
    /// The owner's identity in the sampled requests.
    pub owner: String,
    /// The access class.
    pub class: Class,
    /// The owner of the area (a signed-in identity on its own area).
    pub own: Cell,
    /// Other signed-in identities (the authenticated roles as the attacker).
    pub others: Cell,
    /// Guests (the unauthenticated role as the attacker), when the pool has one.
    pub guests: Cell,
    /// Principals outside the pool, through a resource-based policy: one of an account
    /// nobody names, and every AWS principal the resource-based policies name.
    pub everyone: Cell,
    /// The row's verdict: `violated` when anyone but the owner can do what the area
    /// forbids, `unknown` when that could not be established, else `holds`.
    pub verdict: &'static str,
}

/// Can this party reach the area with this class of access?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reach {
    /// Yes (a confirmed request).
    Yes,
    /// No.
    No,
    /// Not established.
    Unknown,
    /// Does not apply (no guest role, no resource-based policy, ...).
    None,
}

impl Reach {
    /// `yes`, `no`, `unknown`, `n/a`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reach::Yes => "yes",
            Reach::No => "no",
            Reach::Unknown => "unknown",
            Reach::None => "n/a",
        }
    }
}

/// One cell of the matrix.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// The answer.
    pub reach: Reach,
    /// Whether the area forbids this party this class (an allowed `yes` here is a leak).
    pub forbidden: bool,
    /// `proved` (the prover's verdict) or `sampled` (requests decided one by one: a `no`
    /// means none of the requests tried was allowed).
    pub method: &'static str,
    /// What was found, in a sentence.
    pub detail: String,
    /// The prover's reason in full, for a proved cell.
    pub reason: Option<String>,
    /// The counterexample that shows a `yes`, by index in [`GateAccess::counterexamples`].
    pub counterexample: Option<usize>,
}

/// A request that reaches an area, and the statement that allows it.
#[derive(Debug, Clone, Serialize)]
pub struct CounterexampleView {
    /// Who makes it (`identity us-east-1:...`, a principal).
    pub who: String,
    /// Whose area it reaches, when it is another identity's.
    pub victim: Option<String>,
    /// The action.
    pub action: String,
    /// The resource.
    pub resource: String,
    /// For a listing: the file inside the area whose name it reveals.
    pub reveals: Option<String>,
    /// The request context that matters (`s3:prefix`, ...), as `KEY=VALUE`.
    pub context: Vec<String>,
    /// The allowing statement's label (with its policy type).
    pub statement: String,
    /// The anchor of that statement in a role's policy text ([`StatementSpan::anchor`]),
    /// when its text is shown.
    pub anchor: Option<String>,
}

/// A role (or the gate's policy files) and its policies.
#[derive(Debug, Clone, Serialize)]
pub struct RoleAccess {
    /// The role's name (logical id), or `policies` for policy files.
    pub name: String,
    /// `authenticated`, `unauthenticated`, `mapped`, `role` or `policies`.
    pub kind: String,
    /// The principal its requests are made as, when one is.
    pub principal: Option<String>,
    /// The Cognito flow for a sample request of its identity (empty without a pool).
    pub flow: Vec<FlowStepView>,
    /// The request the flow was run for.
    pub flow_request: Option<String>,
    /// Why the role could not be read, when it could not.
    pub unresolved: Option<String>,
    /// Its policies, each with its text.
    pub policies: Vec<PolicyText>,
}

/// One step of the Cognito flow.
#[derive(Debug, Clone, Serialize)]
pub struct FlowStepView {
    /// `identity-pool`, `role-attachment`, `trust-policy`, `permissions`.
    pub step: &'static str,
    /// Whether the flow went on.
    pub passed: bool,
    /// What was found.
    pub detail: String,
}

/// A policy and its source text.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyText {
    /// The policy's name (file, or template path).
    pub name: String,
    /// Its policy type (`identity`, `resource`, `boundary`, ...).
    pub policy_type: &'static str,
    /// The file its text is in, when it is in one.
    pub file: Option<String>,
    /// The line of the file its text starts at (1-based).
    pub first_line: usize,
    /// Its text, line by line (empty when not available: see `missing`).
    pub lines: Vec<String>,
    /// Why the text is not shown, when it is not.
    pub missing: Option<String>,
    /// Its statements.
    pub statements: Vec<StatementSpan>,
}

/// Where one statement is in its policy's text, and what points at it.
#[derive(Debug, Clone, Serialize)]
pub struct StatementSpan {
    /// Its index in the policy.
    pub index: usize,
    /// Its label (`file Statement[1] (Sid S, Allow)`).
    pub label: String,
    /// The anchor other parts of the report link to.
    pub anchor: String,
    /// Its first and last line in the file (1-based), when its text is shown.
    pub lines: Option<(usize, usize)>,
    /// The counterexamples it allows, by index.
    pub counterexamples: Vec<usize>,
    /// Lint findings about it.
    pub findings: Vec<FindingView>,
}

/// A lint finding, as shown next to its statement.
#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    /// The rule (`PS001`).
    pub rule: String,
    /// `error`, `warning` or `info`.
    pub severity: &'static str,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
    /// Why it is suppressed, when the gate file suppresses it.
    pub suppressed: Option<String>,
}

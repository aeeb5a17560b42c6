//! `prove isolation`: the verdict, the areas, the reason, a counterexample when there is
//! one, and what was assumed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::{StatementOut, field, typed_statement_out};
use crate::analysis::prover::{Counterexample, Proof, typed_label};
use crate::eval::authorize::Policies;

/// A counterexample in the JSON objects of `prove` and `fuzz`.
#[derive(Debug, Serialize)]
pub struct CounterexampleOut<'a> {
    /// The identity that gets access.
    pub attacker: &'a str,
    /// The identity whose area it reaches.
    pub victim: &'a str,
    /// The action allowed.
    pub action: &'a str,
    /// The resource, inside the victim's area.
    pub resource: &'a str,
    /// The principal making the request (only when one was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<&'a str>,
    /// The statement that allows it, with its policy type.
    pub statement: StatementOut<'a>,
    /// The request context under which `check` allows it.
    pub context: &'a BTreeMap<String, Vec<String>>,
}

/// The JSON form of a counterexample.
pub fn counterexample_json<'a>(
    policies: &'a Policies,
    c: &'a Counterexample,
) -> CounterexampleOut<'a> {
    CounterexampleOut {
        attacker: &c.attacker,
        victim: &c.victim,
        action: &c.action,
        resource: &c.resource,
        principal: c.principal.as_deref(),
        statement: typed_statement_out(policies, c.statement),
        context: &c.context,
    }
}

/// A counterexample as text, with the `--context` arguments that make `check` confirm it
/// (and the principal, when one was given).
pub fn counterexample_text(policies: &Policies, c: &Counterexample) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Counterexample:");
    let _ = writeln!(
        out,
        "  identity {} is allowed {} on {}",
        field(&c.attacker),
        field(&c.action),
        field(&c.resource)
    );
    let _ = writeln!(
        out,
        "  which is inside the area of identity {}",
        field(&c.victim)
    );
    if let Some(p) = &c.principal {
        let _ = writeln!(out, "  as principal {}", field(p));
    }
    let _ = writeln!(
        out,
        "  allowed by {}",
        field(&typed_label(policies, c.statement))
    );
    let context: Vec<String> = c
        .context
        .iter()
        .flat_map(|(k, vs)| {
            vs.iter()
                .map(move |v| format!("--context {}={}", field(k), field(v)))
        })
        .collect();
    let _ = writeln!(out, "  with context {}", context.join(" "));
    out
}

/// The JSON object of a proof, fields in this order:
/// `{"verdict":...,"identity_format":...,"areas":[...],"reason":...,"counterexample":{...},"assumptions":[...]}`
/// (`counterexample` only when violated).
#[derive(Debug, Serialize)]
pub struct ProofOut<'a> {
    /// `holds`, `violated` or `unknown`.
    pub verdict: &'static str,
    /// The identity format assumed.
    pub identity_format: &'a str,
    /// The areas checked.
    pub areas: &'a [String],
    /// Why, in plain words.
    pub reason: &'a str,
    /// For `violated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<CounterexampleOut<'a>>,
    /// What was assumed or left out.
    pub assumptions: &'a [String],
}

/// The JSON object of a proof over `policies`.
pub fn proof_json<'a>(policies: &'a Policies, proof: &'a Proof) -> ProofOut<'a> {
    ProofOut {
        verdict: proof.verdict.as_str(),
        identity_format: &proof.identity_format,
        areas: &proof.areas,
        reason: &proof.reason,
        counterexample: proof
            .counterexample
            .as_ref()
            .map(|c| counterexample_json(policies, c)),
        assumptions: &proof.assumptions,
    }
}

/// A proof as text.
pub fn proof_text(policies: &Policies, proof: &Proof) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Verdict: {}", proof.verdict.as_str());
    let _ = writeln!(
        out,
        "Identity format: {} ({})",
        field(&proof.identity_format),
        field(&proof.format_description)
    );
    let _ = writeln!(out, "Areas:");
    for a in &proof.areas {
        let _ = writeln!(out, "  {}", field(a));
    }
    if let Some(c) = &proof.counterexample {
        out.push_str(&counterexample_text(policies, c));
    }
    let _ = writeln!(out, "Why: {}", field(&proof.reason));
    if !proof.assumptions.is_empty() {
        let _ = writeln!(out, "Assumptions:");
        for a in &proof.assumptions {
            let _ = writeln!(out, "  - {}", field(a));
        }
    }
    out
}

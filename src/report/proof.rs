//! `prove isolation`: the verdict, the areas, the reason, a counterexample when there is
//! one, and what was assumed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::{StatementOut, field, typed_statement_out};
use crate::analysis::prover::{
    AreaSpec, Counterexample, Fix, Fragility, Proof, Reach, typed_label,
};
use crate::cognito::roles::PoolProof;
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
    /// The resource requested: inside the victim's area, or for a listing the bucket.
    pub resource: &'a str,
    /// The principal making the request (only when one was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<&'a str>,
    /// The statement that allows it, with its policy type.
    pub statement: StatementOut<'a>,
    /// The request context under which `check` allows it.
    pub context: &'a BTreeMap<String, Vec<String>>,
    /// `object` (a request inside the area) or `listing` (a bucket listing that names
    /// resources inside it).
    pub reach: &'static str,
    /// For a listing: a resource of the victim's area whose name it reveals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reveals: Option<&'a str>,
    /// `read` or `write`: the action's access class.
    pub class: &'static str,
    /// The area reached.
    pub area: &'a str,
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
        reach: c.reach.as_str(),
        reveals: c.reveals.as_deref(),
        class: c.class.as_str(),
        area: &c.area,
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
    match c.reach {
        Reach::Object => {
            let _ = writeln!(
                out,
                "  victim:   identity {}, whose area holds {}",
                field(&c.victim),
                field(&c.resource)
            );
            let _ = writeln!(
                out,
                "  attacker: identity {} is allowed {} ({}) on it",
                field(&c.attacker),
                field(&c.action),
                c.class.as_str()
            );
        }
        Reach::Listing => {
            let _ = writeln!(
                out,
                "  victim:   identity {}, whose area holds {}",
                field(&c.victim),
                field(c.reveals.as_deref().unwrap_or_default())
            );
            let _ = writeln!(
                out,
                "  attacker: identity {} is allowed {} on {}, which names it",
                field(&c.attacker),
                field(&c.action),
                field(&c.resource)
            );
        }
    }
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

/// A fix in JSON.
#[derive(Debug, Serialize)]
pub struct FixOut<'a> {
    /// What to change, in words.
    pub summary: &'a str,
    /// The text to replace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<&'a str>,
    /// What to write instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<&'a str>,
}

fn fix_json(f: &Fix) -> FixOut<'_> {
    FixOut {
        summary: &f.summary,
        before: f.before.as_deref(),
        after: f.after.as_deref(),
    }
}

/// An area and what others may do in it, in JSON.
#[derive(Debug, Serialize)]
pub struct AreaOut<'a> {
    /// The pattern.
    pub pattern: &'a str,
    /// `nothing` (private) or `read` (protected).
    pub others: &'static str,
}

/// Why a `holds` relies on the identity format, in JSON.
#[derive(Debug, Serialize)]
pub struct FragilityOut<'a> {
    /// The weaker format (`opaque`).
    pub format: &'a str,
    /// Why, in words.
    pub reason: &'a str,
    /// The counterexample under that format.
    pub counterexample: CounterexampleOut<'a>,
    /// The fix, when obvious.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<FixOut<'a>>,
}

/// The JSON object of a proof, fields in this order:
/// `{"verdict":...,"identity_format":...,"areas":[...],"reason":...,"counterexample":{...},"assumptions":[...],"area_classes":[...],"shared":[...],"fragile":...,"fragility":{...},"fix":{...},"hint":...}`
/// (`counterexample`, `fix` and `hint` only when violated; `fragility` only when
/// fragile).
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
    /// Each area with what others may do in it.
    pub area_classes: Vec<AreaOut<'a>>,
    /// Shared zones: `Allow` resources without the identity variable.
    pub shared: &'a [String],
    /// `holds` that relies on the identity format (violated under `opaque`).
    pub fragile: bool,
    /// For a fragile `holds`: the counterexample under the weaker format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fragility: Option<FragilityOut<'a>>,
    /// For `violated`: the smallest fix, when obvious.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<FixOut<'a>>,
    /// For `violated` with the default areas: the area may be meant as protected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<&'a str>,
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
        area_classes: proof
            .area_specs
            .iter()
            .map(|a: &AreaSpec| AreaOut {
                pattern: &a.pattern,
                others: a.others.as_str(),
            })
            .collect(),
        shared: &proof.shared,
        fragile: proof.fragile.is_some(),
        fragility: proof.fragile.as_ref().map(|f: &Fragility| FragilityOut {
            format: &f.format,
            reason: &f.reason,
            counterexample: counterexample_json(policies, &f.counterexample),
            fix: f.fix.as_ref().map(fix_json),
        }),
        fix: proof.fix.as_ref().map(fix_json),
        hint: proof.hint.as_deref(),
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
    for a in &proof.area_specs {
        let class = match a.others {
            crate::analysis::prover::Others::Nothing => "private",
            crate::analysis::prover::Others::Read => "protected (others may read)",
            crate::analysis::prover::Others::Write => "reads only (others may write)",
        };
        let _ = writeln!(out, "  {} [{class}]", field(&a.pattern));
    }
    if !proof.shared.is_empty() {
        let _ = writeln!(out, "Shared (no identity in the pattern):");
        for s in &proof.shared {
            let _ = writeln!(out, "  {}", field(s));
        }
    }
    if let Some(c) = &proof.counterexample {
        out.push_str(&counterexample_text(policies, c));
    }
    let _ = writeln!(out, "Why: {}", field(&proof.reason));
    if let Some(f) = &proof.fix {
        let _ = writeln!(out, "Fix: {}", field(&f.summary));
    }
    if let Some(h) = &proof.hint {
        let _ = writeln!(out, "Hint: {}", field(h));
    }
    if let Some(f) = &proof.fragile {
        let _ = writeln!(
            out,
            "Fragile: this holds only because of the identity format; under --identity-format {} it is violated: {}",
            field(&f.format),
            field(&f.reason)
        );
        if let Some(fix) = &f.fix {
            let _ = writeln!(out, "  Fix: {}", field(&fix.summary));
        }
    }
    if !proof.assumptions.is_empty() {
        let _ = writeln!(out, "Assumptions:");
        for a in &proof.assumptions {
            let _ = writeln!(out, "  - {}", field(a));
        }
    }
    out
}

/// One role of an identity pool in the JSON object of `prove isolation`.
#[derive(Debug, Serialize)]
pub struct RoleOut<'a> {
    /// The role's logical id (for a role outside the template, its ARN).
    pub role: &'a str,
    /// `authenticated`, `unauthenticated` or `mapped`.
    pub kind: &'static str,
    /// Where the template names it.
    pub via: &'a str,
    /// The role's verdict.
    pub verdict: &'static str,
    /// Why.
    pub reason: &'a str,
    /// For `holds`: the role reaches no area of its own (typical of a guest role).
    pub vacuous: bool,
    /// For `violated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<CounterexampleOut<'a>>,
    /// For `violated`: the smallest fix, when obvious.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<FixOut<'a>>,
}

/// The JSON object of a proof across the roles of an identity pool: the deciding role's
/// proof, with the pool's verdict and reason, the deciding role and every role.
#[derive(Debug, Serialize)]
pub struct PoolProofOut<'a> {
    /// The deciding role's proof, with the pool's verdict and reason.
    #[serde(flatten)]
    pub proof: ProofOut<'a>,
    /// The identity pool's logical id.
    pub identity_pool: &'a str,
    /// The role whose proof is shown.
    pub deciding_role: &'a str,
    /// Every role the pool hands out.
    pub roles: Vec<RoleOut<'a>>,
    /// Roles named but not handed out.
    pub notes: &'a [String],
}

/// The JSON object of a proof across the roles of an identity pool.
pub fn pool_proof_json(pool: &PoolProof) -> PoolProofOut<'_> {
    let deciding = pool.deciding();
    let mut proof = proof_json(&deciding.policies, &deciding.proof);
    proof.verdict = pool.verdict.as_str();
    proof.reason = &pool.reason;
    PoolProofOut {
        proof,
        identity_pool: &pool.pool,
        deciding_role: &deciding.role.role,
        roles: pool
            .roles
            .iter()
            .map(|r| RoleOut {
                role: &r.role.role,
                kind: r.role.kind.as_str(),
                via: &r.role.via,
                verdict: r.proof.verdict.as_str(),
                reason: &r.proof.reason,
                vacuous: r.proof.vacuous,
                counterexample: r
                    .proof
                    .counterexample
                    .as_ref()
                    .map(|c| counterexample_json(&r.policies, c)),
                fix: r.proof.fix.as_ref().map(fix_json),
            })
            .collect(),
        notes: &pool.notes,
    }
}

/// A proof across the roles of an identity pool as text: the deciding role's proof with
/// the pool's verdict, then one short section per role.
pub fn pool_proof_text(pool: &PoolProof) -> String {
    let deciding = pool.deciding();
    let mut main = deciding.proof.clone();
    main.verdict = pool.verdict;
    main.reason = pool.reason.clone();
    let mut out = proof_text(&deciding.policies, &main);
    let _ = writeln!(
        out,
        "Roles of identity pool {} (the proof above is of {}, {}):",
        field(&pool.pool),
        field(&deciding.role.role),
        deciding.role.kind.as_str()
    );
    for r in &pool.roles {
        let vacuous = if r.proof.vacuous {
            " (no area of its own)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "\nRole {} ({}, {}): {}{vacuous}",
            field(&r.role.role),
            r.role.kind.as_str(),
            field(&r.role.via),
            r.proof.verdict.as_str()
        );
        let _ = writeln!(out, "  Why: {}", field(&r.proof.reason));
        if let Some(c) = &r.proof.counterexample {
            let _ = writeln!(
                out,
                "  allowed by {}",
                field(&typed_label(&r.policies, c.statement))
            );
        }
        if let Some(f) = &r.proof.fix {
            let _ = writeln!(out, "  Fix: {}", field(&f.summary));
        }
        if let Some(f) = &r.proof.fragile {
            let _ = writeln!(
                out,
                "  Fragile: under --identity-format {} it is violated: {}",
                field(&f.format),
                field(&f.reason)
            );
        }
    }
    out
}

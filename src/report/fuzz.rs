//! `fuzz isolation`: how many cases were tried, with which seed and identity format, and
//! the counterexample found, if any.

use serde::Serialize;

use super::field;
use super::proof::{CounterexampleOut, counterexample_json, counterexample_text};
use crate::analysis::prover::fuzz::FuzzResult;
use crate::eval::authorize::Policies;

/// A fuzz run: what was sampled and what was found.
#[derive(Debug)]
pub struct FuzzRun<'a> {
    /// The policies sampled.
    pub policies: &'a Policies,
    /// The result.
    pub result: &'a FuzzResult,
    /// The seed.
    pub seed: u64,
    /// The identity format's name.
    pub identity_format: &'a str,
    /// The areas sampled.
    pub areas: &'a [String],
}

/// The JSON object of a fuzz run, fields in this order:
/// `{"found":...,"cases":...,"seed":...,"identity_format":...,"areas":[...],"counterexample":{...}}`
/// (`counterexample` only when found).
#[derive(Debug, Serialize)]
pub struct FuzzOut<'a> {
    /// Whether a counterexample was found.
    pub found: bool,
    /// Cases tried.
    pub cases: u64,
    /// The seed.
    pub seed: u64,
    /// The identity format's name.
    pub identity_format: &'a str,
    /// The areas sampled.
    pub areas: &'a [String],
    /// The counterexample found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<CounterexampleOut<'a>>,
}

/// The JSON object of a fuzz run.
pub fn fuzz_json<'a>(run: &FuzzRun<'a>) -> FuzzOut<'a> {
    FuzzOut {
        found: run.result.counterexample.is_some(),
        cases: run.result.tried,
        seed: run.seed,
        identity_format: run.identity_format,
        areas: run.areas,
        counterexample: run
            .result
            .counterexample
            .as_ref()
            .map(|c| counterexample_json(run.policies, c)),
    }
}

/// A fuzz run as text.
pub fn fuzz_text(run: &FuzzRun) -> String {
    match &run.result.counterexample {
        Some(c) => format!(
            "Found after {} case(s) (seed {}, identity format {}):\n{}",
            run.result.tried,
            run.seed,
            field(run.identity_format),
            counterexample_text(run.policies, c)
        ),
        None => format!(
            "No counterexample in {} case(s) (seed {}, identity format {}). Sampling cannot prove isolation: use `policy-sim prove isolation`.\n",
            run.result.tried,
            run.seed,
            field(run.identity_format)
        ),
    }
}

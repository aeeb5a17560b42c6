//! Presenting results: every output the command line prints, as `Serialize` structs (the
//! JSON forms, fields in the order shown) and text renderers.
//!
//! | output | module |
//! |---|---|
//! | one decision: the batch line object and the explanation | [`check`] |
//! | the Cognito identity-pool flow | [`flow`] |
//! | a batch run's summary | [`batch`] |
//! | `prove isolation` | [`proof`] |
//! | `fuzz isolation` | [`fuzz`] |
//! | `actions` | [`actions`] |
//! | `show` (a template role's IAM JSON) | [`show`] |
//!
//! This module holds what they share: statement labels and JSON lines.

pub mod actions;
pub mod batch;
pub mod check;
pub mod flow;
pub mod fuzz;
pub mod proof;
pub mod show;

pub mod gate;
pub mod lint;

use serde::Serialize;

pub use check::{OutputLine, StatementOut, evaluation_json, explanation_text};

use crate::eval::{PolicySet, StatementRef};

/// One statement as output objects name it: `{"policy":...,"index":...,"sid":...,"effect":...}`.
pub fn statement_out(set: &PolicySet, r: StatementRef) -> StatementOut<'_> {
    let st = set.statement(r);
    StatementOut {
        policy: &set.policy(r).name,
        index: st.index,
        sid: st.sid.as_deref(),
        effect: st.effect.as_str(),
    }
}

/// `value` as one line of JSON (with the newline).
pub fn json_line(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("report objects always serialize") + "\n"
}

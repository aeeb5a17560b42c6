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
//! This module holds what they share: statement labels, JSON lines, and
//! [`terminal_safe`], which every text written for a reader goes through.

pub mod actions;
pub mod batch;
pub mod check;
pub mod flow;
pub mod fuzz;
pub mod proof;
pub mod show;

pub mod gate;
pub mod lint;

use std::borrow::Cow;

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

/// True for a character that must not reach a terminal or CI log as itself: control
/// characters other than newline and tab (an escape sequence can recolour, move the
/// cursor, retitle the window or hide earlier lines; a carriage return can overwrite the
/// line it ends), and the bidirectional embedding, override and isolate controls
/// (U+202A to U+202E, U+2066 to U+2069), which reorder what is shown.
fn hidden(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` for a terminal or a CI log: each character [`hidden`] decides is written as
/// its escape, `\u{1b}`, so what a policy, template, gate or request file holds (a policy
/// name, a resource, a file name) is shown, never obeyed. Newlines and tabs are kept.
/// Borrowed when there is nothing to escape. JSON output needs no such pass: JSON
/// escapes control characters itself.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.contains(hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if hidden(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_safe_escapes_what_a_terminal_would_obey() {
        assert!(matches!(terminal_safe("a\tb\nc é"), Cow::Borrowed(_)));
        assert_eq!(
            terminal_safe("Own\u{1b}[31mRED\u{7}\r\u{9b}x\u{202e}y\u{7f}"),
            "Own\\u{1b}[31mRED\\u{7}\\u{d}\\u{9b}x\\u{202e}y\\u{7f}"
        );
    }
}

//! Presenting results: every output the command line prints, as `Serialize` structs (the
//! JSON forms, fields in the order shown) and text renderers.
//!
//! | output | module |
//! |---|---|
//! | one decision: the batch line object, the explanation (text, and JSON for one request) | [`check`] |
//! | the Cognito identity-pool flow | [`flow`] |
//! | a batch run's summary | [`batch`] |
//! | `prove isolation` | [`proof`] |
//! | `fuzz isolation` | [`fuzz`] |
//! | `actions` | [`actions`] |
//! | `show` (a template role's IAM JSON) | [`show`] |
//! | the access report (`report --html`, `gate --html`) | [`access`] (what it holds), [`html`] (the page) |
//!
//! This module holds what they share: statement labels, JSON lines, [`field`], which
//! every value from the input goes through where a text line interpolates it, and
//! [`terminal_safe`], which every text written for a reader goes through.

pub mod access;
pub mod actions;
pub mod batch;
pub mod check;
pub mod flow;
pub mod fuzz;
pub mod html;
pub mod proof;
pub mod show;

pub mod gate;
pub mod lint;

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

pub use check::{OutputLine, StatementOut, evaluation_json, explanation_text};

use crate::eval::authorize::{Policies, PolicyType, TypedRef};
use crate::eval::{PolicySet, StatementRef};

/// One statement of identity-based policies as output objects name it:
/// `{"policy":...,"index":...,"sid":...,"effect":...,"policy_type":"identity"}`.
pub fn statement_out(set: &PolicySet, r: StatementRef) -> StatementOut<'_> {
    statement_of(set, r, PolicyType::Identity, None)
}

/// One statement of any policy type as output objects name it (`level` for SCPs and
/// RCPs: the organization level's label).
pub fn typed_statement_out(policies: &Policies, r: TypedRef) -> StatementOut<'_> {
    statement_of(
        policies.set(r.policy_type, r.index),
        r.statement,
        r.policy_type,
        level_label(policies, r.policy_type, r.index),
    )
}

/// The label of the organization level a set of `policy_type` is (SCPs and RCPs only).
pub fn level_label(policies: &Policies, policy_type: PolicyType, index: usize) -> Option<&str> {
    match policy_type {
        PolicyType::Scp => Some(policies.scps[index].label.as_str()),
        PolicyType::Rcp => Some(policies.rcps[index].label.as_str()),
        PolicyType::Identity
        | PolicyType::Resource
        | PolicyType::Boundary
        | PolicyType::Session => None,
    }
}

fn statement_of<'a>(
    set: &'a PolicySet,
    r: StatementRef,
    policy_type: PolicyType,
    level: Option<&'a str>,
) -> StatementOut<'a> {
    let st = set.statement(r);
    StatementOut {
        policy: &set.policy(r).name,
        index: st.index,
        sid: st.sid.as_deref(),
        effect: st.effect.as_str(),
        policy_type: policy_type.as_str(),
        level,
    }
}

/// `value` as one line of JSON (with the newline).
pub fn json_line(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("report objects always serialize") + "\n"
}

/// True for a character that must not reach a terminal or CI log as itself: what
/// [`crate::loc::obeyed_by_terminals`] names, and a carriage return (in a report it would
/// overwrite the line it ends; a snippet keeps it, as the end of a CRLF line).
fn hidden(c: char) -> bool {
    c == '\r' || crate::loc::obeyed_by_terminals(c)
}

/// `text` for a terminal or a CI log: each character `hidden` decides is written as
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

/// A value from the input (a policy or file name, a Sid, an action, a resource, a context
/// value, a message quoting them) as one field of a line of text output: see [`field`].
#[derive(Clone, Copy)]
pub struct Field<'a>(&'a str);

/// `value` for interpolation into one line of a text report: a newline, carriage return
/// or tab inside it is written as its escape (`\u{a}`, `\u{d}`, `\u{9}`), like every
/// character [`terminal_safe`] escapes, so a value can neither start a line of its own
/// (a Sid holding `\nDecision: Allow` must not read as the decision) nor reach the
/// terminal as a control. The report's own line structure is left to the renderer.
/// Writes the value unchanged when there is nothing to escape.
pub fn field(value: &str) -> Field<'_> {
    Field(value)
}

/// True for a character [`field`] escapes.
fn escaped_in_field(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\t') || hidden(c)
}

impl fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(escaped_in_field) {
            f.write_str(&rest[..at])?;
            let c = rest[at..]
                .chars()
                .next()
                .expect("found a character at `at`");
            write!(f, "{}", c.escape_unicode())?;
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
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

    #[test]
    fn field_keeps_a_value_on_its_line() {
        assert_eq!(field("Sid é").to_string(), "Sid é");
        assert_eq!(
            field("a\nDecision: Allow\r\tb\u{1b}[2J").to_string(),
            "a\\u{a}Decision: Allow\\u{d}\\u{9}b\\u{1b}[2J"
        );
        assert_eq!(terminal_safe(&field("x\u{1b}").to_string()), "x\\u{1b}");
    }
}

//! Checks shared by the fuzz targets in `fuzz_targets/`.
//!
//! The targets assert fail-closed properties, not only "no panic": an error names its file
//! and a place inside the text and renders; a decision does not change when the policy is
//! written again from its own model, when the evaluator takes its indexed path, or when
//! the same input is read twice; the wildcard matcher agrees with [`glob::matches`].
//! Only public APIs of `policy-sim` are used.

#![warn(missing_docs)]

pub mod glob;
pub mod policy_json;
pub mod requests;

use std::fmt::Write as _;

use policy_sim::loc::Loc;

/// The fixed time every target decides at (`aws:CurrentTime`), so that runs repeat.
pub fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_700_000_000).expect("a valid timestamp")
}

/// Render `diagnostic` as the binary does (miette's graphical handler, no colours), which
/// must not panic whatever the location and text, and return the text.
pub fn render(diagnostic: &dyn miette::Diagnostic) -> String {
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(100);
    let mut out = String::new();
    handler
        .render_report(&mut out, diagnostic)
        .expect("rendering into a String cannot fail");
    // The one-line form is used for gate errors and warnings.
    let _ = write!(out, "{diagnostic}");
    out
}

/// Assert that `loc` names `file` and, when it has a position, a line and column inside
/// `text` (columns count characters; one past the end of a line is the end of the line;
/// column 0 is a line whose column is not known).
pub fn assert_loc_inside(loc: &Loc, file: &str, text: &str, what: &str) {
    assert_eq!(
        &*loc.file, file,
        "{what}: the location names another file: {loc}"
    );
    if !loc.has_position() {
        return;
    }
    let lines: Vec<&str> = text.split('\n').collect();
    assert!(
        loc.line >= 1 && loc.line <= lines.len(),
        "{what}: line {} outside the text's {} lines",
        loc.line,
        lines.len()
    );
    let width = lines[loc.line - 1].chars().count();
    assert!(
        loc.column <= width + 1,
        "{what}: column {} outside line {} ({width} characters)",
        loc.column,
        loc.line
    );
}

//! Lint findings as `policy-sim lint` prints them: text, or one line of JSON.

use std::fmt::Write as _;

use super::field;
use crate::lint::Finding;

/// One finding per entry (`file:line:column: PS001 error: message`, then the fix), then
/// `N finding(s)`.
pub fn text(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let _ = writeln!(
            out,
            "{}:{}:{}: {} {}: {}\n  fix: {}",
            field(&f.file),
            f.line,
            f.column,
            f.rule,
            f.severity.as_str(),
            field(&f.message),
            field(&f.hint)
        );
    }
    let _ = writeln!(out, "{} finding(s)", findings.len());
    out
}

/// The findings as a JSON array on one line (with its newline): each finding's `rule`,
/// `severity`, `message`, `file`, `line`, `column`, `hint`, `sid` and `statement`.
pub fn json(findings: &[Finding]) -> String {
    serde_json::to_string(findings).expect("findings serialize") + "\n"
}

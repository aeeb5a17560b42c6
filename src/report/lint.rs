//! Lint findings as `policy-sim lint` prints them: text, or one line of JSON. Both list
//! errors first, then warnings, then infos ([`by_severity`]), and count each severity.

use std::fmt::Write as _;

use super::field;
use crate::lint::{Counts, Finding, Severity, by_severity};

/// The findings in the order they are listed.
fn ordered(findings: &[Finding]) -> Vec<&Finding> {
    let mut ordered: Vec<&Finding> = findings.iter().collect();
    by_severity(&mut ordered);
    ordered
}

/// One finding per entry (`file:line:column: PS001 error: message`, then the fix), errors
/// first, then the count of each severity: `4 finding(s): 1 error, 2 warnings, 1 info`.
pub fn text(findings: &[Finding]) -> String {
    text_with(findings, &|severity| severity.as_str().to_string())
}

/// [`text`] with each finding's severity word written by `severity` (the command line
/// colours it on a terminal); the summary line is the same.
pub fn text_with(findings: &[Finding], severity: &dyn Fn(Severity) -> String) -> String {
    let mut out = String::new();
    for f in ordered(findings) {
        let _ = writeln!(
            out,
            "{}:{}:{}: {} {}: {}\n  fix: {}",
            field(&f.file),
            f.line,
            f.column,
            f.rule,
            severity(f.severity),
            field(&f.message),
            field(&f.hint)
        );
    }
    let _ = writeln!(
        out,
        "{} finding(s): {}",
        findings.len(),
        counts_text(Counts::of(findings))
    );
    out
}

/// `1 error, 2 warnings, 0 info`.
fn counts_text(c: Counts) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    format!(
        "{} error{}, {} warning{}, {} info",
        c.error,
        plural(c.error),
        c.warning,
        plural(c.warning),
        c.info
    )
}

/// The findings as one line of JSON (with its newline): an array, errors first (then
/// warnings, then infos, each in the order found), each with its `rule`, `severity`,
/// `message`, `file`, `line`, `column`, `hint`, `sid` and `statement`. The array is the
/// shape scripts already read; the counts per severity are in the text output (and
/// countable here).
pub fn json(findings: &[Finding]) -> String {
    serde_json::to_string(&ordered(findings)).expect("findings serialize") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::RuleId;

    fn finding(rule: RuleId, line: usize) -> Finding {
        Finding {
            rule,
            severity: rule.severity(),
            message: format!("m{line}"),
            file: "p.json".into(),
            line,
            column: 5,
            hint: "h".into(),
            sid: None,
            statement: None,
        }
    }

    #[test]
    fn errors_first_then_the_counts() {
        // Found in this order: info, warning, error, warning, error.
        let findings = [
            finding(RuleId::PS006, 1),
            finding(RuleId::PS005, 2),
            finding(RuleId::PS001, 3),
            finding(RuleId::PS008, 4),
            finding(RuleId::PS007, 5),
        ];
        assert_eq!(findings[0].severity, Severity::Info);
        // Errors, warnings, infos; within a severity in the order found.
        assert_eq!(
            text(&findings),
            "p.json:3:5: PS001 error: m3\n  fix: h\n\
             p.json:5:5: PS007 error: m5\n  fix: h\n\
             p.json:2:5: PS005 warning: m2\n  fix: h\n\
             p.json:4:5: PS008 warning: m4\n  fix: h\n\
             p.json:1:5: PS006 info: m1\n  fix: h\n\
             5 finding(s): 2 errors, 2 warnings, 1 info\n"
        );
        assert_eq!(
            text(&findings[2..3]),
            "p.json:3:5: PS001 error: m3\n  fix: h\n1 finding(s): 1 error, 0 warnings, 0 info\n"
        );
        assert_eq!(text(&[]), "0 finding(s): 0 errors, 0 warnings, 0 info\n");
        let json: serde_json::Value = serde_json::from_str(&json(&findings)).unwrap();
        let rules: Vec<&str> = json
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap())
            .collect();
        assert_eq!(rules, ["PS001", "PS007", "PS005", "PS008", "PS006"]);
    }
}

//! The gate's result ([`GateReport`], what [`crate::gate::run`] returns) and its forms:
//! text, JSON, SARIF 2.1.0 (GitHub code scanning) and JUnit XML.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::field;
use crate::lint::{Finding, RULES, Severity};

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Passed.
    Pass,
    /// Failed.
    Fail,
    /// Could not be decided (counts as a failure).
    Unknown,
}

impl Status {
    /// `PASS`, `FAIL`, `UNKNOWN`.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Unknown => "UNKNOWN",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// The gate it belongs to (empty for a file with a single unnamed gate).
    pub gate: String,
    /// `expect`, `isolation`, `no-new-access` or `lint`.
    pub kind: &'static str,
    /// A name.
    pub name: String,
    /// The outcome.
    pub status: Status,
    /// What happened.
    pub message: String,
    /// The rule id for SARIF (`gate/expect`, `PS001`, ...).
    pub rule: &'static str,
    /// Where: file, line, column.
    pub location: Option<(String, usize, usize)>,
}

/// A lint finding in a gate: the finding, the suppression's reason when suppressed, and
/// whether it fails the gate.
pub type GateFinding = (Finding, Option<String>, bool);

/// Everything the gate found.
#[derive(Debug, Clone, Serialize)]
pub struct GateReport {
    /// Every check, failures first.
    pub checks: Vec<CheckResult>,
    /// Every lint finding.
    pub findings: Vec<GateFinding>,
}

impl GateReport {
    /// Checks that passed.
    pub fn passed(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Pass)
            .count()
    }

    /// Checks that failed or are unknown.
    pub fn failed(&self) -> usize {
        self.checks.len() - self.passed()
    }
}

/// The report as text: one line per check, failures first, then `N passed, M failed`.
pub fn text(report: &GateReport) -> String {
    let mut out = String::new();
    for c in &report.checks {
        let at = c
            .location
            .as_ref()
            .map(|(f, l, col)| format!(" [{}:{l}:{col}]", field(f)))
            .unwrap_or_default();
        let gate = if c.gate.is_empty() {
            String::new()
        } else {
            format!(" [{}]", field(&c.gate))
        };
        let _ = writeln!(
            out,
            "{}{gate} {}: {}{at}",
            c.status.label(),
            c.kind,
            field(&c.message)
        );
    }
    let _ = writeln!(
        out,
        "{} passed, {} failed",
        report.passed(),
        report.failed()
    );
    out
}

/// `--format json`: `{"checks": [...], "findings": [...], "passed": N, "failed": M}`.
#[derive(Debug, Serialize)]
pub struct GateJson<'a> {
    /// Every check, failures first.
    pub checks: &'a [CheckResult],
    /// Every lint finding.
    pub findings: Vec<FindingJson<'a>>,
    /// Checks that passed.
    pub passed: usize,
    /// Checks that failed or are unknown.
    pub failed: usize,
}

/// A lint finding in the gate's JSON: the finding's fields, then `suppressed` and
/// `fails_gate`.
#[derive(Debug, Serialize)]
pub struct FindingJson<'a> {
    /// The finding.
    #[serde(flatten)]
    pub finding: &'a Finding,
    /// The suppression's reason, or `null`.
    pub suppressed: Option<&'a str>,
    /// Whether the finding fails the gate.
    pub fails_gate: bool,
}

/// The JSON object of a report.
pub fn json_object(report: &GateReport) -> GateJson<'_> {
    GateJson {
        checks: &report.checks,
        findings: report
            .findings
            .iter()
            .map(|(finding, suppressed, fails)| FindingJson {
                finding,
                suppressed: suppressed.as_deref(),
                fails_gate: *fails,
            })
            .collect(),
        passed: report.passed(),
        failed: report.failed(),
    }
}

/// The report as one line of JSON (with its newline).
pub fn json(report: &GateReport) -> String {
    serde_json::to_string(&json_object(report)).expect("the gate report serializes") + "\n"
}

/// A SARIF 2.1.0 log with one run.
#[derive(Debug, Serialize)]
pub struct Sarif {
    /// The schema's address.
    #[serde(rename = "$schema")]
    pub schema: &'static str,
    /// `2.1.0`.
    pub version: &'static str,
    /// The one run.
    pub runs: [SarifRun; 1],
}

/// The run: the tool with its rules, and the results.
#[derive(Debug, Serialize)]
pub struct SarifRun {
    /// `{"driver": ...}`.
    pub tool: SarifTool,
    /// Lint findings, then failed checks.
    pub results: Vec<SarifResult>,
}

/// The tool.
#[derive(Debug, Serialize)]
pub struct SarifTool {
    /// policy-sim.
    pub driver: SarifDriver,
}

/// policy-sim and its rules.
#[derive(Debug, Serialize)]
pub struct SarifDriver {
    /// `policy-sim`.
    pub name: &'static str,
    /// The crate's version.
    pub version: &'static str,
    /// The lint rules, then the gate's own rules.
    pub rules: Vec<SarifRule>,
}

/// A rule.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifRule {
    /// `PS001`, `gate/expect`...
    pub id: &'static str,
    /// A short name.
    pub name: &'static str,
    /// What it finds.
    pub short_description: SarifText,
    /// Its level.
    pub default_configuration: SarifLevel,
}

/// `{"text": ...}`.
#[derive(Debug, Serialize)]
pub struct SarifText {
    /// The text.
    pub text: String,
}

/// `{"level": ...}`.
#[derive(Debug, Serialize)]
pub struct SarifLevel {
    /// `error`, `warning` or `note`.
    pub level: &'static str,
}

/// A result: a lint finding or a failed check.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    /// The rule.
    pub rule_id: &'static str,
    /// `error`, `warning` or `note`.
    pub level: &'static str,
    /// A finding's own severity and whether it fails the gate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<SarifProperties>,
    /// What was found.
    pub message: SarifText,
    /// Where.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locations: Option<[SarifLocation; 1]>,
    /// A suppression with its reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressions: Option<[SarifSuppression; 1]>,
}

/// A finding's properties.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifProperties {
    /// The rule's severity.
    pub severity: Severity,
    /// Whether the finding fails the gate.
    pub fails_gate: bool,
}

/// A location.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifLocation {
    /// The file and region.
    pub physical_location: SarifPhysical,
}

/// A file and a region of it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifPhysical {
    /// `{"uri": ...}`.
    pub artifact_location: SarifArtifact,
    /// The start.
    pub region: SarifRegion,
}

/// A file.
#[derive(Debug, Serialize)]
pub struct SarifArtifact {
    /// Relative to the repository root, with `/`.
    pub uri: String,
}

/// Where in the file.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifRegion {
    /// 1-based line.
    pub start_line: usize,
    /// 1-based column.
    pub start_column: usize,
}

/// A suppression.
#[derive(Debug, Serialize)]
pub struct SarifSuppression {
    /// `external` (the gate file).
    pub kind: &'static str,
    /// The reason.
    pub justification: String,
}

/// The gate's own rules, for SARIF.
const GATE_RULES: [(&str, &str); 4] = [
    (
        "gate/expect",
        "a request did not get the decision the gate expects",
    ),
    (
        "gate/isolation",
        "per-identity isolation does not provably hold",
    ),
    (
        "gate/no-new-access",
        "the policy allows a request the baseline denied",
    ),
    (
        "gate/suppression",
        "a lint suppression in the gate file matches no finding",
    ),
];

/// SARIF 2.1.0 for GitHub code scanning: lint findings and failed checks. `shown` maps a
/// file to how reports show it (relative to the repository root CI runs in:
/// [`crate::load::display_path`]).
pub fn sarif(report: &GateReport, shown: impl Fn(&Path) -> String) -> Sarif {
    let location = |file: &str, line: usize, column: usize| {
        Some([SarifLocation {
            physical_location: SarifPhysical {
                artifact_location: SarifArtifact {
                    uri: shown(Path::new(file)).replace('\\', "/"),
                },
                region: SarifRegion {
                    start_line: line.max(1),
                    start_column: column.max(1),
                },
            },
        }])
    };
    let mut results = Vec::new();
    for (f, suppressed, fails) in &report.findings {
        // A finding the gate does not fail on is a note, so code scanning agrees with the
        // gate's verdict; its rule's own severity stays in the rule and in `properties`.
        let level = if *fails || suppressed.is_some() {
            level(f.severity)
        } else {
            "note"
        };
        results.push(SarifResult {
            rule_id: f.rule.as_str(),
            level,
            properties: Some(SarifProperties {
                severity: f.severity,
                fails_gate: *fails,
            }),
            message: SarifText {
                text: format!("{} (fix: {})", f.message, f.hint),
            },
            locations: location(&f.file, f.line, f.column),
            suppressions: suppressed.as_ref().map(|reason| {
                [SarifSuppression {
                    kind: "external",
                    justification: reason.clone(),
                }]
            }),
        });
    }
    for c in &report.checks {
        // Lint findings are reported above, as findings; other failed checks here.
        if c.status == Status::Pass || (c.kind == "lint" && c.rule != "gate/suppression") {
            continue;
        }
        let text = if c.gate.is_empty() {
            c.message.clone()
        } else {
            format!("[{}] {}", c.gate, c.message)
        };
        results.push(SarifResult {
            rule_id: c.rule,
            level: "error",
            properties: None,
            message: SarifText { text },
            locations: c
                .location
                .as_ref()
                .and_then(|(f, l, col)| location(f, *l, *col)),
            suppressions: None,
        });
    }
    Sarif {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: [SarifRun {
            tool: SarifTool {
                driver: SarifDriver {
                    name: "policy-sim",
                    version: env!("CARGO_PKG_VERSION"),
                    rules: sarif_rules(),
                },
            },
            results,
        }],
    }
}

/// The lint rules, then the gate's own.
fn sarif_rules() -> Vec<SarifRule> {
    let rule = |id: &'static str, name, text: &str, level| SarifRule {
        id,
        name,
        short_description: SarifText {
            text: text.to_string(),
        },
        default_configuration: SarifLevel { level },
    };
    let lint = RULES
        .iter()
        .map(|r| rule(r.id.as_str(), r.name, r.description, level(r.severity)));
    let gate = GATE_RULES
        .iter()
        .map(|(id, text)| rule(id, id, text, "error"));
    lint.chain(gate).collect()
}

/// The SARIF log as pretty-printed JSON (with a final newline), as `--sarif` writes it.
pub fn sarif_text(report: &GateReport, shown: impl Fn(&Path) -> String) -> String {
    serde_json::to_string_pretty(&sarif(report, shown)).expect("SARIF serializes") + "\n"
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Escape text for XML; characters XML 1.0 cannot hold at all become U+FFFD.
fn xml(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JUnit XML: one test case per check.
pub fn junit(report: &GateReport) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites tests=\"{}\" failures=\"{}\">\n  <testsuite name=\"policy-sim gate\" tests=\"{}\" failures=\"{}\">",
        report.checks.len(),
        report.failed(),
        report.checks.len(),
        report.failed()
    );
    for c in &report.checks {
        let class = if c.gate.is_empty() {
            c.kind.to_string()
        } else {
            format!("{}.{}", c.gate, c.kind)
        };
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\"",
            xml(&class),
            xml(&c.name)
        );
        if c.status == Status::Pass {
            out.push_str("/>\n");
        } else {
            let _ = write!(
                out,
                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                xml(&c.message),
                xml(&c.message)
            );
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::RuleId;

    fn report() -> GateReport {
        GateReport {
            checks: vec![CheckResult {
                gate: "g".into(),
                kind: "lint",
                name: "PS005 p.json".into(),
                status: Status::Fail,
                message: "m <&>".into(),
                rule: "PS005",
                location: Some(("p.json".into(), 2, 3)),
            }],
            findings: vec![(
                Finding {
                    rule: RuleId::PS005,
                    severity: Severity::Warning,
                    message: "m".into(),
                    file: "p.json".into(),
                    line: 2,
                    column: 3,
                    hint: "h".into(),
                    sid: Some("S".into()),
                    statement: Some(0),
                },
                None,
                true,
            )],
        }
    }

    #[test]
    fn json_fields_in_order() {
        assert_eq!(
            json(&report()),
            concat!(
                r#"{"checks":[{"gate":"g","kind":"lint","name":"PS005 p.json","status":"fail","message":"m <&>","rule":"PS005","location":["p.json",2,3]}],"#,
                r#""findings":[{"rule":"PS005","severity":"warning","message":"m","file":"p.json","line":2,"column":3,"hint":"h","sid":"S","statement":0,"suppressed":null,"fails_gate":true}],"#,
                r#""passed":0,"failed":1}"#,
                "\n"
            )
        );
    }

    #[test]
    fn text_and_junit() {
        let r = report();
        assert_eq!(
            text(&r),
            "FAIL [g] lint: m <&> [p.json:2:3]\n0 passed, 1 failed\n"
        );
        assert!(junit(&r).contains(
            "<testcase classname=\"g.lint\" name=\"PS005 p.json\">\n      <failure message=\"m &lt;&amp;&gt;\">m &lt;&amp;&gt;</failure>"
        ));
    }

    #[test]
    fn sarif_results_and_rules() {
        let v = serde_json::to_value(sarif(&report(), |p| p.display().to_string())).unwrap();
        let run = &v["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 19);
        assert_eq!(
            run["results"][0],
            serde_json::json!({
                "ruleId": "PS005",
                "level": "warning",
                "properties": {"severity": "warning", "failsGate": true},
                "message": {"text": "m (fix: h)"},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": "p.json"},
                    "region": {"startLine": 2, "startColumn": 3}
                }}]
            })
        );
        // The failed lint check is the finding above, not a second result.
        assert_eq!(run["results"].as_array().unwrap().len(), 1);
    }
}

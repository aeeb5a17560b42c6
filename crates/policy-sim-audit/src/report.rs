//! The audit's typed result ([`AuditReport`]): what was read, how it was decided, what
//! isolation and replay found, and the verdict; with its text rendering.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

/// The audit's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No finding, and every event could be judged.
    Pass,
    /// A finding: an observed cross-identity access, or a changed decision in replay.
    Fail,
    /// No finding among what could be judged, but some events could not be (unmapped S3
    /// events, rows that could not be decided where the decision mattered), or nothing was
    /// observed at all (no request read): not a pass.
    Unknown,
}

impl Verdict {
    /// `PASS`, `FAIL`, `UNKNOWN`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Unknown => "UNKNOWN",
        }
    }

    /// The exit code: 0 for a pass, 1 otherwise.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Pass => 0,
            Verdict::Fail | Verdict::Unknown => 1,
        }
    }
}

/// Where a row came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Origin {
    /// The file.
    pub source: String,
    /// The record's position in it.
    pub record: u64,
    /// The event's id, when recorded.
    pub event_id: Option<String>,
    /// The event's time, when recorded.
    pub event_time: Option<String>,
}

/// Counts by decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Decisions {
    /// `Allow`.
    pub allow: u64,
    /// `ExplicitDeny`.
    pub explicit_deny: u64,
    /// `ImplicitDeny`.
    pub implicit_deny: u64,
    /// Rows that could not be decided.
    pub error: u64,
}

impl Decisions {
    /// Count one row's decision (`None`: not decided).
    pub fn add(&mut self, decision: Option<&str>) {
        match decision {
            Some("Allow") => self.allow += 1,
            Some("ExplicitDeny") => self.explicit_deny += 1,
            Some("ImplicitDeny") => self.implicit_deny += 1,
            _ => self.error += 1,
        }
    }

    /// Add `other`'s counts.
    pub fn merge(&mut self, other: &Decisions) {
        self.allow += other.allow;
        self.explicit_deny += other.explicit_deny;
        self.implicit_deny += other.implicit_deny;
        self.error += other.error;
    }

    /// Every row counted.
    pub fn total(&self) -> u64 {
        self.allow + self.explicit_deny + self.implicit_deny + self.error
    }
}

/// What AWS answered, where the input records it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Recorded {
    /// Succeeded, or failed after authorization (`NoSuchKey` ...): AWS authorized it.
    pub authorized: u64,
    /// Failed authorization (`AccessDenied` and the other errors listed in
    /// `docs/audit.md`).
    pub denied: u64,
    /// Rows of request tables: no answer recorded.
    pub unrecorded: u64,
    /// Recorded authorized, but the policies given deny it (a policy the audit was not
    /// given, or a different policy in force then).
    pub authorized_but_policies_deny: u64,
    /// Recorded denied, but the policies given allow it.
    pub denied_but_policies_allow: u64,
}

/// One line of a per-key summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    /// The key (an action, an identity).
    pub key: String,
    /// Its decisions.
    #[serde(flatten)]
    pub decisions: Decisions,
}

/// Observed cross-identity accesses of one caller to one owner's area with one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IsolationFinding {
    /// The caller's identity.
    pub identity: String,
    /// How the area was reached: `other` (an object of another identity), `everyone` (a
    /// listing spanning every identity's area), `unattributed` (inside an area, owner not
    /// readable).
    pub touch: String,
    /// The other identity (`other` only).
    pub owner: Option<String>,
    /// The area's pattern.
    pub area: String,
    /// The action.
    pub action: String,
    /// How many rows.
    pub count: u64,
    /// The first of them (by file and record).
    pub first: Origin,
}

/// Isolation, observed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Isolation {
    /// The areas checked (patterns).
    pub areas: Vec<String>,
    /// Rows inside the caller's own area.
    pub own: u64,
    /// Rows in another identity's area that the area permits (a read of a protected
    /// area).
    pub permitted: u64,
    /// Cross-identity rows AWS denied (recorded): attempts, not accesses.
    pub denied_attempts: u64,
    /// Cross-identity rows of request tables that could not be decided: unknown.
    pub undecidable: u64,
    /// Rows without a Cognito identity (not compared).
    pub without_identity: u64,
    /// The findings: cross-identity accesses AWS authorized (or, for request tables, that
    /// the policies allow), grouped.
    pub findings: Vec<IsolationFinding>,
    /// The rows the findings count.
    pub finding_rows: u64,
}

/// One changed decision in replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `would-break` (Allow to a deny), `newly-allowed` (a deny to Allow) or
    /// `undecidable` (either side could not be decided).
    pub change: String,
    /// Where the row came from.
    pub origin: Origin,
    /// The identity.
    pub identity: Option<String>,
    /// The action.
    pub action: Option<String>,
    /// The resource.
    pub resource: Option<String>,
    /// The baseline's decision (or error).
    pub baseline: String,
    /// The current policies' decision (or error).
    pub current: String,
    /// The statement that decided under the current policies, if any.
    pub statement: Option<String>,
}

/// Replay of a policy change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Replay {
    /// The baseline policies' digest.
    pub baseline: String,
    /// Rows decided alike.
    pub unchanged: u64,
    /// Allow under the baseline, a deny now.
    pub would_break: u64,
    /// A deny under the baseline, Allow now.
    pub newly_allowed: u64,
    /// Denied either way, by another kind of deny (explicit / implicit).
    pub deny_kind_changed: u64,
    /// Rows one side could not decide.
    pub undecidable: u64,
    /// The first changes (by file and record), at most [`MAX_EXAMPLES`] of each kind.
    pub examples: Vec<Change>,
}

/// At most this many examples per kind of change, per table in a report.
pub const MAX_EXAMPLES: usize = 20;

/// What was read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inputs {
    /// Files by kind.
    pub files: BTreeMap<String, u64>,
    /// Records (events, lines, rows) read.
    pub records: u64,
    /// Requests (rows) they became.
    pub rows: u64,
    /// Cognito sessions indexed.
    pub sessions: u64,
    /// The roles named as no Cognito identity pool's (`--non-cognito-role`): their sessions
    /// in S3 access logs are decided without identity.
    pub non_cognito_roles: Vec<String>,
}

/// Events that did not become requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Unmapped {
    /// All of them.
    pub total: u64,
    /// Those that leave isolation unknown: every kind but `other-service`.
    pub relevant: u64,
    /// By kind.
    pub by_kind: BTreeMap<String, u64>,
    /// The first few of each kind: file, record, why.
    pub examples: Vec<UnmappedExample>,
}

/// One unmapped event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmappedExample {
    /// Its kind.
    pub kind: String,
    /// The file.
    pub source: String,
    /// Its position.
    pub record: u64,
    /// Why.
    pub reason: String,
}

/// The audit's whole answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// The verdict.
    pub verdict: Verdict,
    /// The current policies' digest.
    pub policies: String,
    /// What was read.
    pub inputs: Inputs,
    /// What could not be mapped.
    pub unmapped: Unmapped,
    /// Decisions under the current policies.
    pub decisions: Decisions,
    /// AWS's recorded answers, and where they disagree with the policies.
    pub recorded: Recorded,
    /// Decisions per action, most rows first.
    pub by_action: Vec<Count>,
    /// Decisions per identity, most rows first.
    pub by_identity: Vec<Count>,
    /// Rows each statement decided (first deciding statement), most first.
    pub by_statement: Vec<(String, u64)>,
    /// Statements that decided no row: grants unused in this traffic.
    pub unused_statements: Vec<String>,
    /// Isolation, observed.
    pub isolation: Isolation,
    /// Replay, when a baseline was given.
    pub replay: Option<Replay>,
}

impl AuditReport {
    /// Why the verdict is what it is: each reason with the verdict it calls for, in the
    /// order the text's last line gives them (none for a pass).
    fn reasons(&self) -> Vec<(Verdict, String)> {
        use Verdict::{Fail, Unknown};
        let mut reasons = Vec::new();
        // Said only when no S3 event was seen at all: events that could not be mapped
        // give their own reason below.
        if self.decisions.total() == 0 && self.unmapped.relevant == 0 {
            reasons.push((
                Unknown,
                "no request was read, so nothing was observed; a trail logs S3 data events only when they are turned on"
                    .to_string(),
            ));
        }
        let i = &self.isolation;
        if i.finding_rows > 0 {
            reasons.push((
                Fail,
                format!("{} cross-identity access(es)", n(i.finding_rows)),
            ));
        }
        if let Some(r) = &self.replay {
            if r.would_break + r.newly_allowed > 0 {
                reasons.push((
                    Fail,
                    format!(
                        "{} changed decision(s) in replay",
                        n(r.would_break + r.newly_allowed)
                    ),
                ));
            }
            if r.undecidable > 0 {
                reasons.push((
                    Unknown,
                    format!("{} row(s) undecidable in replay", n(r.undecidable)),
                ));
            }
        }
        if self.unmapped.relevant > 0 {
            reasons.push((
                Unknown,
                format!(
                    "{} S3 event(s) not mapped, isolation unknown for them",
                    n(self.unmapped.relevant)
                ),
            ));
        }
        if i.undecidable > 0 {
            reasons.push((
                Unknown,
                format!(
                    "{} cross-identity request(s) could not be decided",
                    n(i.undecidable)
                ),
            ));
        }
        if i.areas.is_empty() {
            reasons.push((
                Unknown,
                "no isolation areas to check: give --area or --write-area".to_string(),
            ));
        }
        reasons
    }

    /// The verdict the report's counts call for: `FAIL` for any finding, else `UNKNOWN`
    /// for anything not judged, else `PASS` (the one home of the rule; see
    /// [`Verdict`]).
    pub fn judge(&self) -> Verdict {
        let reasons = self.reasons();
        if reasons.iter().any(|(v, _)| *v == Verdict::Fail) {
            Verdict::Fail
        } else if reasons.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Unknown
        }
    }

    /// The reasons, for the text's last line (empty for a pass).
    fn why(&self) -> String {
        let reasons: Vec<String> = self.reasons().into_iter().map(|(_, r)| r).collect();
        match reasons.is_empty() {
            true => String::new(),
            false => format!(" ({})", reasons.join("; ")),
        }
    }
}

fn n(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// At most this many lines of a per-key table in the text report (JSON has them all).
pub const TEXT_ROWS: usize = 10;

impl AuditReport {
    /// The report as text (every value from the logs made safe for a terminal).
    pub fn text(&self) -> String {
        let safe = |s: &str| policy_sim::report::field(s).to_string();
        let mut o = String::new();
        let files: Vec<String> = self
            .inputs
            .files
            .iter()
            .map(|(k, v)| format!("{} {k}", n(*v)))
            .collect();
        let _ = writeln!(
            o,
            "read {} record(s) from {} -> {} request(s); {} Cognito session(s) indexed",
            n(self.inputs.records),
            files.join(", "),
            n(self.inputs.rows),
            n(self.inputs.sessions)
        );
        // Said only where it counted: when an access log was read.
        if !self.inputs.non_cognito_roles.is_empty()
            && self.inputs.files.contains_key("s3-access-log")
        {
            let roles: Vec<String> = self
                .inputs
                .non_cognito_roles
                .iter()
                .map(|r| safe(r))
                .collect();
            let _ = writeln!(
                o,
                "access log sessions decided without identity, their roles named as no identity pool's: {}",
                roles.join(", ")
            );
        }
        if self.unmapped.total > 0 {
            let kinds: Vec<String> = self
                .unmapped
                .by_kind
                .iter()
                .map(|(k, v)| format!("{k} {}", n(*v)))
                .collect();
            let _ = writeln!(
                o,
                "unmapped: {} event(s) ({})",
                n(self.unmapped.total),
                kinds.join(", ")
            );
            // Other services' events are expected in any trail: counted, not listed.
            for e in self
                .unmapped
                .examples
                .iter()
                .filter(|e| e.kind != "other-service")
            {
                let _ = writeln!(
                    o,
                    "  {} {}#{}: {}",
                    e.kind,
                    safe(&e.source),
                    e.record,
                    safe(&e.reason)
                );
            }
        }
        let d = &self.decisions;
        let _ = writeln!(
            o,
            "decisions: Allow {}, ExplicitDeny {}, ImplicitDeny {}, not decided {}",
            n(d.allow),
            n(d.explicit_deny),
            n(d.implicit_deny),
            n(d.error)
        );
        let r = &self.recorded;
        let _ = writeln!(
            o,
            "recorded by AWS: authorized {}, denied {}, not recorded {}; authorized but the policies deny {}, denied but the policies allow {}",
            n(r.authorized),
            n(r.denied),
            n(r.unrecorded),
            n(r.authorized_but_policies_deny),
            n(r.denied_but_policies_allow)
        );
        let table = |o: &mut String, title: &str, rows: &[Count]| {
            if rows.is_empty() {
                return;
            }
            let _ = writeln!(
                o,
                "{title} (Allow / ExplicitDeny / ImplicitDeny / not decided):"
            );
            for c in rows.iter().take(TEXT_ROWS) {
                let _ = writeln!(
                    o,
                    "  {:<48} {} / {} / {} / {}",
                    safe(&c.key),
                    n(c.decisions.allow),
                    n(c.decisions.explicit_deny),
                    n(c.decisions.implicit_deny),
                    n(c.decisions.error)
                );
            }
            if rows.len() > TEXT_ROWS {
                let _ = writeln!(
                    o,
                    "  ... {} more (--format json lists all)",
                    rows.len() - TEXT_ROWS
                );
            }
        };
        table(&mut o, "by action", &self.by_action);
        table(&mut o, "by identity", &self.by_identity);
        if !self.by_statement.is_empty() {
            let _ = writeln!(o, "deciding statements:");
            for (s, c) in self.by_statement.iter().take(TEXT_ROWS) {
                let _ = writeln!(o, "  {:>12}  {}", n(*c), safe(s));
            }
        }
        if !self.unused_statements.is_empty() {
            let _ = writeln!(o, "statements that decided nothing (unused here):");
            for s in &self.unused_statements {
                let _ = writeln!(o, "  {}", safe(s));
            }
        }
        let i = &self.isolation;
        if i.areas.is_empty() {
            let _ = writeln!(
                o,
                "isolation: no areas (no policy names the identity variable; give --area)"
            );
        } else {
            let _ = writeln!(
                o,
                "isolation, observed, in {}:",
                i.areas
                    .iter()
                    .map(|a| safe(a))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let _ = writeln!(
                o,
                "  own area {}, others' area where permitted {}, denied attempts {}, undecidable {}, without identity {}",
                n(i.own),
                n(i.permitted),
                n(i.denied_attempts),
                n(i.undecidable),
                n(i.without_identity)
            );
            if i.findings.is_empty() {
                let _ = writeln!(o, "  no cross-identity access");
            } else {
                let _ = writeln!(
                    o,
                    "  {} cross-identity access(es) in {} group(s):",
                    n(i.finding_rows),
                    i.findings.len()
                );
                for f in i.findings.iter().take(TEXT_ROWS * 5) {
                    let whose = match (&f.touch[..], &f.owner) {
                        ("other", Some(owner)) => format!("the area of {}", safe(owner)),
                        ("everyone", _) => "every identity's area (a listing)".to_string(),
                        _ => "an area whose owner cannot be read off the resource".to_string(),
                    };
                    let _ = writeln!(
                        o,
                        "    {} -> {}: {} x{} (first: {}#{}{})",
                        safe(&f.identity),
                        whose,
                        safe(&f.action),
                        n(f.count),
                        safe(&f.first.source),
                        f.first.record,
                        f.first
                            .event_id
                            .as_deref()
                            .map(|e| format!(" {}", safe(e)))
                            .unwrap_or_default()
                    );
                }
                if i.findings.len() > TEXT_ROWS * 5 {
                    let _ = writeln!(
                        o,
                        "    ... {} more group(s) (--format json lists all)",
                        i.findings.len() - TEXT_ROWS * 5
                    );
                }
            }
        }
        if let Some(r) = &self.replay {
            let _ = writeln!(
                o,
                "replay against the baseline: unchanged {}, would break (Allow -> deny) {}, newly allowed (deny -> Allow) {}, deny kind changed {}, undecidable {}",
                n(r.unchanged),
                n(r.would_break),
                n(r.newly_allowed),
                n(r.deny_kind_changed),
                n(r.undecidable)
            );
            for c in &r.examples {
                let _ = writeln!(
                    o,
                    "  {} {}#{}: {} {} {} ({} -> {})",
                    c.change,
                    safe(&c.origin.source),
                    c.origin.record,
                    safe(c.identity.as_deref().unwrap_or("-")),
                    safe(c.action.as_deref().unwrap_or("-")),
                    safe(c.resource.as_deref().unwrap_or("-")),
                    safe(&c.baseline),
                    safe(&c.current)
                );
            }
        }
        let _ = writeln!(o, "Verdict: {}{}", self.verdict.as_str(), self.why());
        o
    }
}

//! The access report as one self-contained HTML page: inline CSS, no script, no request
//! to the network (a Content-Security-Policy forbids any), readable from a 375 px wide
//! window up, printable. It draws an [`AccessReport`] and decides nothing itself.

use std::fmt::Write as _;

use crate::report::access::{
    AccessReport, Cell, CounterexampleView, GateAccess, MatrixRow, PolicyText, Reach, RoleAccess,
};
use crate::report::gate::Status;

/// Text made safe inside HTML elements and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Terminal controls and other invisible characters would only confuse a reader.
            // as would text direction overrides, which make a line read other than it is.
            c if crate::loc::obeyed_by_terminals(c) => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root{--ok:#17663a;--ok-bg:#e3f4e8;--bad:#a11d1d;--bad-bg:#fbe4e4;--unk:#8a5a00;--unk-bg:#fdf1d6;--mute:#5b6168;--line:#d7dbe0;--hl:#fff1b8}
*{box-sizing:border-box}
body{margin:0;overflow-wrap:anywhere;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2126;background:#fff}
main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:1.5em;margin:.2em 0}
h2{font-size:1.25em;margin:1.6em 0 .4em;border-bottom:2px solid var(--line);padding-bottom:.2em}
h3{font-size:1.08em;margin:1.3em 0 .4em}
h4{font-size:1em;margin:1em 0 .3em}
p,li,td,th,figcaption,summary{overflow-wrap:anywhere}
code,pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.meta{color:var(--mute);margin:.2em 0}
.badge{display:inline-block;font-weight:700;border-radius:4px;padding:0 .45em;font-size:.85em;letter-spacing:.02em}
.pass,.holds,.no{color:var(--ok);background:var(--ok-bg)}
.fail,.violated,.yes-forbidden{color:var(--bad);background:var(--bad-bg)}
.unknown{color:var(--unk);background:var(--unk-bg)}
.yes{color:#1d2126;background:#e8ecf1}
.na{color:var(--mute);background:#f2f3f5}
ul.checks{list-style:none;padding:0;margin:0}
ul.checks li{padding:.35em 0;border-bottom:1px solid var(--line)}
.notes{color:var(--mute);font-size:.92em}
table.matrix{border-collapse:collapse;width:100%;table-layout:fixed}
table.matrix th:first-child{width:22%}
table.summary th:first-child{width:45%}
details summary{cursor:pointer;font-size:.82em;color:var(--mute)}
table.matrix th,table.matrix td{border:1px solid var(--line);padding:.4em;vertical-align:top;text-align:left}
table.matrix th{background:#f5f6f8;font-size:.9em}
table.matrix td .why{display:block;color:var(--mute);font-size:.82em;margin-top:.2em}
table.matrix td.area{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em}
.legend{font-size:.88em;color:var(--mute)}
ol.flow{padding-left:1.4em}
ol.flow li{margin:.2em 0}
ol.cx li{margin:.5em 0}
figure.policy{margin:.8em 0;border:1px solid var(--line);border-radius:6px;overflow:hidden}
figure.policy figcaption{background:#f5f6f8;padding:.35em .6em;font-size:.9em}
pre.text{margin:0;padding:.5em 0;white-space:pre-wrap;overflow-wrap:anywhere}
pre.text .ln{display:block;padding:0 .6em 0 0}
pre.text .no{display:inline-block;min-width:3.2em;padding-right:.6em;text-align:right;color:var(--mute);user-select:none}
pre.text .hl{background:var(--hl);box-shadow:inset 4px 0 var(--bad)}
pre.text .finding{display:block;margin:.2em .6em .3em 3.8em;padding:.2em .4em;border-left:3px solid var(--unk);background:var(--unk-bg);font-family:system-ui,sans-serif;font-size:.85em;white-space:normal}
pre.text .finding.error{border-color:var(--bad);background:var(--bad-bg)}
pre.text .finding.info{border-color:var(--line);background:#f5f6f8}
ul.statements{font-size:.9em}
a{color:#0b57a4}
@media (max-width:720px){
  main{padding:10px}
  table.matrix,table.matrix thead,table.matrix tbody,table.matrix tr,table.matrix th,table.matrix td{display:block;width:100%}
  table.matrix thead{display:none}
  table.matrix tr{margin:0 0 .8em;border:1px solid var(--line);border-radius:6px}
  table.matrix td{border:0;border-top:1px solid var(--line)}
  table.matrix td:first-child{border-top:0}
  table.matrix td::before{content:attr(data-label);display:block;font-weight:600;font-size:.8em;color:var(--mute)}
}
@media print{
  body{font-size:11pt}
  main{max-width:none;padding:0}
  a{color:inherit;text-decoration:none}
  section.gate{break-before:page}
  tr,figure.policy,li{break-inside:avoid}
  .badge,pre.text .hl,pre.text .finding,table.matrix th{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"#;

/// The whole page.
pub fn render(report: &AccessReport) -> String {
    let mut out = String::new();
    let failed = report.failed();
    let overall = if failed == 0 { "PASS" } else { "FAIL" };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <title>policy-sim access report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        escape(&report.config)
    );
    let _ = write!(
        out,
        "<header>\n<h1>Access report <span class=\"badge {}\" id=\"overall\">{overall}</span></h1>\n\
         <p class=\"meta\">Gate file <code>{}</code> · requests decided at {} · {} check(s), {} failed</p>\n</header>\n",
        overall.to_ascii_lowercase(),
        escape(&report.config),
        escape(&report.decided_at),
        report.checks.len(),
        failed
    );
    out.push_str(
        "<section id=\"summary\">\n<h2>Summary</h2>\n<table class=\"matrix summary\">\n<thead><tr><th>Gate</th><th>Areas</th><th>Checks</th></tr></thead>\n<tbody>\n",
    );
    for (g, gate) in report.gates.iter().enumerate() {
        let worst = ["violated", "unknown", "holds"]
            .into_iter()
            .find(|v| gate.matrix.iter().any(|r| r.verdict == *v));
        let failed = gate
            .checks
            .iter()
            .filter(|c| c.status != Status::Pass)
            .count();
        let (class, word) = if failed == 0 {
            ("pass", "PASS")
        } else {
            ("fail", "FAIL")
        };
        let _ = writeln!(
            out,
            "<tr><td data-label=\"Gate\"><a href=\"#g{g}\">{}</a></td><td data-label=\"Areas\">{}</td><td data-label=\"Checks\"><span class=\"badge {class}\">{word}</span> {} of {} passed</td></tr>",
            escape(&gate_title(gate)),
            match worst {
                Some(v) => format!(
                    "<span class=\"badge {v}\">{v}</span> {} row(s)",
                    gate.matrix.len()
                ),
                None => "no per-identity area".to_string(),
            },
            gate.checks.len() - failed,
            gate.checks.len()
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
    for (g, gate) in report.gates.iter().enumerate() {
        render_gate(&mut out, g, gate);
    }
    out.push_str(
        "<footer><p class=\"meta\">Made by policy-sim. Proved cells come from the isolation prover; the owner's sampled cells from requests decided one by one with the same evaluator as <code>check</code>.</p></footer>\n</main>\n</body>\n</html>\n",
    );
    out
}

fn status(s: Status) -> (&'static str, &'static str) {
    match s {
        Status::Pass => ("pass", "PASS"),
        Status::Fail => ("fail", "FAIL"),
        Status::Unknown => ("unknown", "UNKNOWN"),
    }
}

/// `Gate NAME`, or the gate's source for an unnamed gate.
fn gate_title(gate: &GateAccess) -> String {
    if gate.name.is_empty() {
        format!("Gate ({})", gate.source)
    } else {
        format!("Gate {}", gate.name)
    }
}

fn render_gate(out: &mut String, g: usize, gate: &GateAccess) {
    let title = escape(&gate_title(gate));
    let _ = writeln!(
        out,
        "<section class=\"gate\" id=\"g{g}\">\n<h2>{title}</h2>\n<p class=\"meta\">{}</p>",
        escape(&gate.source),
    );
    if !gate.notes.is_empty() {
        out.push_str("<ul class=\"notes\">\n");
        for n in &gate.notes {
            let _ = writeln!(out, "<li>note: {}</li>", escape(n));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("<h3>Who can reach each area</h3>\n");
    match &gate.no_matrix {
        Some(why) => {
            let _ = writeln!(out, "<p>{}</p>", escape(why));
        }
        None => render_matrix(out, g, &gate.matrix),
    }
    if !gate.counterexamples.is_empty() {
        out.push_str("<h3>Counterexamples</h3>\n<ol class=\"cx\">\n");
        for (i, c) in gate.counterexamples.iter().enumerate() {
            render_counterexample(out, g, i, c);
        }
        out.push_str("</ol>\n");
    }
    if let Some(b) = &gate.baseline {
        let (class, word) = status(b.status);
        let _ = writeln!(
            out,
            "<h3>No new access</h3>\n<p><span class=\"badge {class}\">{word}</span> {}</p>",
            escape(&b.message)
        );
    }
    out.push_str("<h3>Checks</h3>\n<ul class=\"checks\">\n");
    for c in &gate.checks {
        let (class, word) = status(c.status);
        let _ = writeln!(
            out,
            "<li><span class=\"badge {class}\">{word}</span> <strong>{}</strong>: {}</li>",
            escape(c.kind),
            escape(&c.message)
        );
    }
    out.push_str("</ul>\n");
    out.push_str("<h3>Roles and their policies</h3>\n");
    for r in &gate.roles {
        render_role(out, g, gate, r);
    }
    out.push_str("</section>\n");
}

fn render_matrix(out: &mut String, g: usize, rows: &[MatrixRow]) {
    out.push_str(
        "<p class=\"legend\">Read is the catalog's Read and List actions (a listing that names a file counts); write is every other action. \
         <span class=\"badge yes-forbidden\">yes</span> is access the area forbids; <span class=\"badge yes\">yes</span> access it allows. \
         Proved cells cover every request; the owner's sampled cell every documented action of the class, made over TLS.</p>\n\
         <table class=\"matrix\">\n<thead><tr><th>Area</th><th>Access</th><th>Own identity</th><th>Other identities</th><th>Guests</th><th>Everyone (resource policy)</th><th>Verdict</th></tr></thead>\n<tbody>\n",
    );
    for row in rows {
        let _ = write!(
            out,
            "<tr class=\"row-{}\"><td class=\"area\" data-label=\"Area\">{} <small>({}, identity format {}, owner {})</small></td><td data-label=\"Access\">{}</td>",
            row.verdict,
            escape(&row.area),
            row.kind,
            escape(&row.identity_format),
            escape(&row.owner),
            row.class.as_str()
        );
        for (label, cell) in [
            ("Own identity", &row.own),
            ("Other identities", &row.others),
            ("Guests", &row.guests),
            ("Everyone (resource policy)", &row.everyone),
        ] {
            render_cell(out, g, label, cell);
        }
        let _ = writeln!(
            out,
            "<td data-label=\"Verdict\"><span class=\"badge {0}\">{0}</span></td></tr>",
            row.verdict
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

fn render_cell(out: &mut String, g: usize, label: &str, cell: &Cell) {
    let class = match (cell.reach, cell.forbidden) {
        (Reach::Yes, true) => "yes-forbidden",
        (Reach::Yes, false) => "yes",
        (Reach::No, _) => "no",
        (Reach::Unknown, _) => "unknown",
        (Reach::None, _) => "na",
    };
    let _ = write!(
        out,
        "<td data-label=\"{label}\" class=\"cell\"><span class=\"badge {class}\">{}</span>",
        cell.reach.as_str()
    );
    if let Some(i) = cell.counterexample {
        let _ = write!(
            out,
            " <a href=\"#g{g}-cx-{i}\">counterexample {}</a>",
            i + 1
        );
    }
    let _ = write!(
        out,
        "<span class=\"why\">{}: {}</span>",
        cell.method,
        escape(&cell.detail)
    );
    if let Some(reason) = &cell.reason {
        let _ = write!(
            out,
            "<details><summary>why</summary><span class=\"why\">{}</span></details>",
            escape(reason)
        );
    }
    out.push_str("</td>");
}

fn render_counterexample(out: &mut String, g: usize, i: usize, c: &CounterexampleView) {
    let _ = write!(
        out,
        "<li id=\"g{g}-cx-{i}\"><strong>{}</strong> is allowed <code>{}</code> on <code>{}</code>",
        escape(&c.who),
        escape(&c.action),
        escape(&c.resource)
    );
    if let Some(v) = &c.victim {
        let _ = write!(
            out,
            ", inside the area of identity <code>{}</code>",
            escape(v)
        );
    }
    if let Some(r) = &c.reveals {
        let _ = write!(out, "; the listing names <code>{}</code>", escape(r));
    }
    if !c.context.is_empty() {
        let ctx: Vec<String> = c.context.iter().map(|k| escape(k)).collect();
        let _ = write!(out, " (context <code>{}</code>)", ctx.join(" "));
    }
    let statement = escape(&c.statement);
    match &c.anchor {
        Some(a) => {
            let _ = writeln!(
                out,
                ".<br>Allowed by <a href=\"#g{g}-{}\">{statement}</a>.</li>",
                escape(a)
            );
        }
        None => {
            let _ = writeln!(out, ".<br>Allowed by {statement}.</li>");
        }
    }
}

fn render_role(out: &mut String, g: usize, gate: &GateAccess, r: &RoleAccess) {
    let _ = writeln!(
        out,
        "<article class=\"role\">\n<h4>{} <span class=\"badge na\">{}</span></h4>",
        escape(&r.name),
        escape(&r.kind)
    );
    if let Some(p) = &r.principal {
        let _ = writeln!(
            out,
            "<p class=\"meta\">Requests made as <code>{}</code></p>",
            escape(p)
        );
    }
    if let Some(why) = &r.unresolved {
        let _ = writeln!(out, "<p>Not read: {}</p>", escape(why));
    }
    if !r.flow.is_empty() {
        let _ = writeln!(
            out,
            "<p>Cognito flow for {}:</p>\n<ol class=\"flow\">",
            escape(r.flow_request.as_deref().unwrap_or("a sample request"))
        );
        for s in &r.flow {
            let (class, word) = if s.passed {
                ("pass", "passed")
            } else {
                ("fail", "failed")
            };
            let _ = writeln!(
                out,
                "<li><strong>{}</strong> <span class=\"badge {class}\">{word}</span> {}</li>",
                escape(s.step),
                escape(&s.detail)
            );
        }
        out.push_str("</ol>\n");
    }
    for p in &r.policies {
        render_policy(out, g, gate, p);
    }
    out.push_str("</article>\n");
}

fn render_policy(out: &mut String, g: usize, gate: &GateAccess, p: &PolicyText) {
    let _ = writeln!(
        out,
        "<figure class=\"policy\">\n<figcaption><strong>{}</strong> ({} policy){}</figcaption>",
        escape(&p.name),
        p.policy_type,
        p.file
            .as_ref()
            .map(|f| format!(" in <code>{}</code> from line {}", escape(f), p.first_line))
            .unwrap_or_default()
    );
    if p.lines.is_empty() {
        // No text: the statements, so that links still land somewhere.
        let _ = writeln!(
            out,
            "<p class=\"notes\">{}</p>\n<ul class=\"statements\">",
            escape(p.missing.as_deref().unwrap_or("no text"))
        );
        for s in &p.statements {
            let hl = if s.counterexamples.is_empty() {
                ""
            } else {
                " class=\"hl\""
            };
            let _ = write!(
                out,
                "<li id=\"g{g}-{}\"{hl}>{}",
                escape(&s.anchor),
                escape(&s.label)
            );
            for f in &s.findings {
                let _ = write!(
                    out,
                    " <span class=\"badge {}\">{} {}</span> {}",
                    sev_class(f.severity),
                    escape(&f.rule),
                    f.severity,
                    escape(&f.message)
                );
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ul>\n</figure>\n");
        return;
    }
    out.push_str("<pre class=\"text\">");
    for (k, line) in p.lines.iter().enumerate() {
        let n = p.first_line + k;
        let span = p
            .statements
            .iter()
            .find(|s| s.lines.is_some_and(|(a, b)| (a..=b).contains(&n)));
        let hl = span.is_some_and(|s| !s.counterexamples.is_empty());
        let starts = span.filter(|s| s.lines.is_some_and(|(a, _)| a == n));
        let id = starts
            .map(|s| format!(" id=\"g{g}-{}\"", escape(&s.anchor)))
            .unwrap_or_default();
        let _ = write!(
            out,
            "<span class=\"ln{}\"{id}><span class=\"no\">{n}</span>{}</span>",
            if hl { " hl" } else { "" },
            escape(line)
        );
        if let Some(s) = span
            && s.lines.is_some_and(|(_, b)| b == n)
        {
            for &c in &s.counterexamples {
                let cx = &gate.counterexamples[c];
                let _ = write!(
                    out,
                    "<span class=\"finding error\">Allows <a href=\"#g{g}-cx-{c}\">counterexample {}</a>: {} is allowed {} on {}</span>",
                    c + 1,
                    escape(&cx.who),
                    escape(&cx.action),
                    escape(&cx.resource)
                );
            }
            for f in &s.findings {
                let suppressed = f
                    .suppressed
                    .as_ref()
                    .map(|r| format!(" (suppressed: {})", escape(r)))
                    .unwrap_or_default();
                let _ = write!(
                    out,
                    "<span class=\"finding {}\"><strong>{} {}</strong> {}{suppressed}<br>fix: {}</span>",
                    sev_class(f.severity),
                    escape(&f.rule),
                    f.severity,
                    escape(&f.message),
                    escape(&f.hint)
                );
            }
        }
    }
    out.push_str("</pre>\n</figure>\n");
}

fn sev_class(severity: &str) -> &'static str {
    match severity {
        "error" => "error",
        "warning" => "warning",
        _ => "info",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_controls() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>\u{1b}[31m"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\u{fffd}[31m"
        );
    }
}

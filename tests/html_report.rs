//! The access report (`report --html`, `gate --html`): what its matrix decides, checked
//! against the evaluator, and the page as a person sees it in headless Chromium (the
//! verdicts, the matrix cells, no console message, no horizontal overflow at 375 px, a
//! PDF when printed).
//!
//! Chromium is Debian's `chromium` package; `.ci/run` installs it and sets
//! `POLICY_SIM_REQUIRE_BROWSER=1`, which makes a missing browser a failure. Without that
//! variable a machine without Chromium skips the browser half and says so.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use policy_sim::gate::{self, GateConfig};
use policy_sim::report::access::{AccessReport, Reach};
use policy_sim::root::Root;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn out_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("html-report")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_policy-sim"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The report of a gate file, built through the library.
fn access(config: &str) -> AccessReport {
    let root = Root::new(&root()).unwrap();
    let path = root.dir().join(config);
    let gates = GateConfig::load_in(&root, &path).unwrap();
    let now = jiff::Timestamp::now();
    let checks = gate::run(&gates, now).unwrap();
    gate::access_report(config, &gates, checks, now).unwrap()
}

/// Write the report of `config` with the binary, from `dir`; the page's text.
fn write_report(config: &str, dir: &Path, out: &Path) -> String {
    let o = run(
        &[
            "report",
            "--config",
            config,
            "--html",
            out.to_str().unwrap(),
        ],
        dir,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).starts_with("wrote ") && text(&o).contains("report.html: "),
        "{}",
        text(&o)
    );
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn the_readme_gate_report_shows_the_leak_and_its_statement() {
    let r = access("fixtures/readme/gate/policy-gate.yml");
    assert_eq!(r.failed(), 3);
    let g = &r.gates[0];
    assert_eq!(g.matrix.len(), 2);
    for row in &g.matrix {
        assert_eq!(row.kind, "private");
        assert_eq!(row.verdict, "violated", "{row:?}");
        assert_eq!(row.own.reach, Reach::Yes);
        assert_eq!(row.others.reach, Reach::Yes);
        assert_eq!(row.guests.reach, Reach::None);
        assert_eq!(row.everyone.reach, Reach::None);
        // The counterexample is one the evaluator allows, and it is the class of the row.
        let cx = &g.counterexamples[row.others.counterexample.unwrap()];
        let class = policy_sim::catalog::catalog().access_class(&cx.action);
        assert_eq!(class.as_str(), row.class.as_str(), "{cx:?}");
        let victim = cx.victim.as_deref().unwrap();
        assert!(
            cx.resource.contains(&format!("/private/{victim}/")),
            "{cx:?}"
        );
        let attacker = cx.who.strip_prefix("identity ").unwrap();
        let o = run(
            &[
                "check",
                "--policy",
                "fixtures/readme/gate/role.json",
                "--identity",
                attacker,
                "--action",
                &cx.action,
                "--resource",
                &cx.resource,
            ],
            &root(),
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert_eq!(
            cx.statement,
            "identity fixtures/readme/gate/role.json Statement[0] (Sid OwnPrivateFolderObjects, Allow)"
        );
        // It links to the statement, which is highlighted in the policy's text.
        let span = g.roles[0].policies[0]
            .statements
            .iter()
            .find(|s| Some(&s.anchor) == cx.anchor.as_ref())
            .unwrap();
        assert_eq!(span.index, 0);
        assert_eq!(span.lines, Some((4, 15)));
        assert!(!span.counterexamples.is_empty());
    }
    // The baseline comparison is shown.
    let b = g.baseline.as_ref().unwrap();
    assert!(
        b.message
            .starts_with("new access compared with baseline.json: s3:DeleteObject"),
        "{}",
        b.message
    );
}

/// Each matrix row as its badges: own, others, guests, everyone, verdict.
fn rows(r: &AccessReport) -> Vec<String> {
    r.gates[0]
        .matrix
        .iter()
        .map(|row| {
            format!(
                "{} {} {} {} {} {}",
                row.class.as_str(),
                row.own.reach.as_str(),
                row.others.reach.as_str(),
                row.guests.reach.as_str(),
                row.everyone.reach.as_str(),
                row.verdict
            )
        })
        .collect()
}

#[test]
fn the_gate_files_policy_types_take_part_in_a_pools_proofs() {
    // A bucket policy given in the gate file (not the template) lets every principal of
    // the account read private/*: the pool's own identities included.
    let r = access("fixtures/report/account-read-private.yml");
    let rows = rows(&r);
    assert_eq!(rows[0], "read yes yes n/a unknown violated");
    assert_eq!(rows[1], "write yes no n/a no holds");
    let cx = &r.gates[0].counterexamples[r.gates[0].matrix[0].others.counterexample.unwrap()];
    assert_eq!(
        cx.statement,
        "resource fixtures/report/policies/account-read-private.json Statement[0] (Sid AccountReadsPrivate, Allow)"
    );
}

#[test]
fn everyone_covers_named_accounts_and_conditions() {
    // Another account named as a whole reads every identity's files.
    let r = access("fixtures/report/partner-account.yml");
    let partner = rows(&r);
    assert_eq!(partner[0], "read yes no n/a yes violated");
    // Its writes are not decided: unknown, never "no".
    assert_eq!(partner[1], "write yes no n/a unknown unknown");
    let g = &r.gates[0];
    let cx = &g.counterexamples[g.matrix[0].everyone.counterexample.unwrap()];
    assert_eq!(cx.who, "arn:aws:iam::444455556666:user/anyone");
    // Named by the bucket policy's statement that lets it in, linked to its text.
    assert_eq!(
        cx.statement,
        "resource fixtures/report/policies/partner-account.json Statement[0] (Sid PartnerReadsPrivate, Allow)"
    );
    assert!(g.roles[0].policies.iter().any(|p| {
        p.statements
            .iter()
            .any(|s| Some(&s.anchor) == cx.anchor.as_ref() && s.lines == Some((4, 10)))
    }));
    // Anyone with the right Referer reads one file of every identity's area.
    let r = access("fixtures/report/referer-avatars.yml");
    assert_eq!(rows(&r)[0], "read yes yes n/a yes violated");
    let g = &r.gates[0];
    let cx = &g.counterexamples[g.matrix[0].everyone.counterexample.unwrap()];
    assert!(cx.resource.ends_with("/avatar.png"), "{cx:?}");
    assert!(
        cx.context
            .iter()
            .any(|c| c.starts_with("aws:Referer=https://notes.example.com/")),
        "{cx:?}"
    );
}

#[test]
fn each_area_is_proved_under_its_own_checks_format() {
    let r = access("fixtures/report/two-formats.yml");
    let g = &r.gates[0];
    let formats: Vec<&str> = g
        .matrix
        .iter()
        .map(|m| m.identity_format.as_str())
        .collect();
    assert_eq!(formats, ["cognito", "cognito", "any", "any"]);
    assert_eq!(
        rows(&r),
        [
            "read yes no n/a n/a holds",
            "write yes no n/a n/a holds",
            "read yes yes n/a n/a violated",
            "write yes yes n/a n/a violated",
        ]
    );
}

#[test]
fn lint_findings_sit_next_to_their_statements() {
    let r = access("policy-gate.yml");
    let console = r
        .gates
        .iter()
        .find(|g| g.source == "policies: policies/console-auth-role.json")
        .unwrap();
    let text = &console.roles[0].policies[0];
    let about: Vec<(usize, Vec<&str>)> = text
        .statements
        .iter()
        .map(|s| {
            (
                s.index,
                s.findings.iter().map(|f| f.rule.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        about,
        [
            (0, vec!["PS005", "PS008"]),
            (1, vec!["PS001", "PS006"]),
            (2, vec![])
        ]
    );
    // Each finding's line is inside its statement's lines.
    let s1 = &text.statements[1];
    assert_eq!(s1.lines, Some((15, 23)));
    assert!(
        s1.findings[0]
            .message
            .contains("has a policy variable followed by a wildcard")
    );
}

#[test]
fn the_amplify_gen1_report_has_every_party() {
    let r = access("fixtures/report/amplify-gen1.yml");
    let g = &r.gates[0];
    let cells: Vec<(&str, &str, &str, &str, &str, &str, &str)> = g
        .matrix
        .iter()
        .map(|row| {
            (
                row.kind,
                row.class.as_str(),
                row.own.reach.as_str(),
                row.others.reach.as_str(),
                row.guests.reach.as_str(),
                row.everyone.reach.as_str(),
                row.verdict,
            )
        })
        .collect();
    assert_eq!(
        cells,
        [
            ("private", "read", "yes", "no", "no", "no", "holds"),
            ("private", "write", "yes", "no", "no", "no", "holds"),
            // Others and guests may read a protected area: Amplify's design.
            ("protected", "read", "yes", "yes", "yes", "no", "holds"),
            ("protected", "write", "yes", "no", "no", "no", "holds"),
        ]
    );
    // Both roles, each with its Cognito flow.
    let roles: Vec<(&str, &str, usize)> = g
        .roles
        .iter()
        .map(|r| (r.name.as_str(), r.kind.as_str(), r.flow.len()))
        .collect();
    assert_eq!(
        roles,
        [
            ("AuthRole", "authenticated", 4),
            ("UnauthRole", "unauthenticated", 4)
        ]
    );
    assert!(
        g.roles[0].flow.iter().all(|s| s.passed),
        "{:?}",
        g.roles[0].flow
    );
    // The guest role's flow stops at permissions: a guest cannot read a private file.
    assert!(!g.roles[1].flow[3].passed, "{:?}", g.roles[1].flow);
}

#[test]
fn a_gate_writes_the_same_report_and_keeps_its_exit_code() {
    let dir = out_dir("gate-html");
    let out = dir.join("gate.html");
    let o = run(
        &["gate", "--html", out.to_str().unwrap()],
        &root().join("fixtures/readme/gate"),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("<span class=\"badge fail\" id=\"overall\">FAIL</span>"));
    assert_eq!(
        html.matches("<span class=\"badge violated\">violated</span></td></tr>")
            .count(),
        2
    );
    // A report needs somewhere to go.
    let o = run(&["report"], &root());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--html <FILE>"), "{}", text(&o));
}

#[test]
fn a_gate_with_too_many_areas_is_refused_not_run_for_hours() {
    let dir = out_dir("many-areas");
    let statements: Vec<serde_json::Value> = (0..=policy_sim::gate::MAX_AREAS)
        .map(|i| {
            serde_json::json!({"Effect": "Allow", "Action": "s3:GetObject",
                "Resource": format!("arn:aws:s3:::b/private/${{cognito-identity.amazonaws.com:sub}}/f{i}")})
        })
        .collect();
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": statements});
    std::fs::write(dir.join("big.json"), policy.to_string()).unwrap();
    std::fs::write(
        dir.join("policy-gate.yml"),
        "policies: [big.json]\nlint: {fail-on: []}\n",
    )
    .unwrap();
    let o = run(&["report", "--html", "r.html"], &dir);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "the report shows at most {} areas, and this gate has {}",
            policy_sim::gate::MAX_AREAS,
            policy_sim::gate::MAX_AREAS + 1
        )),
        "{}",
        text(&o)
    );
}

/// The page is one file that loads nothing: no script, no external reference, and a
/// Content-Security-Policy that forbids both.
fn assert_self_contained(html: &str) {
    assert!(html.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
    ));
    for bad in [
        "<script",
        "src=\"http",
        "href=\"http",
        "url(http",
        "@import",
    ] {
        assert!(!html.contains(bad), "the report contains {bad}");
    }
}

fn chromium() -> Option<PathBuf> {
    let names = ["chromium", "chromium-browser", "google-chrome"];
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| p.is_file())
}

/// Chromium headless, as a fresh profile with nothing in the background.
fn browser(exe: &Path, profile: &Path, args: &[&str]) -> Output {
    Command::new(exe)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .unwrap()
}

/// What the probe reads off the report, laid out in a frame 375 px wide (headless
/// Chromium's window is at least 500 px wide, a frame is a viewport of its own).
const PROBE: &str = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"></head><body style="margin:0">
<iframe id="f" style="width:375px;height:900px;border:0"></iframe>
<script>
var f = document.getElementById("f");
f.onload = function(){
  var w = f.contentWindow, doc = f.contentDocument, d = doc.documentElement;
  var cells = [];
  doc.querySelectorAll("section.gate table.matrix tbody tr").forEach(function(tr){
    var row = [];
    tr.querySelectorAll("td .badge").forEach(function(b){ row.push(b.innerText.trim()); });
    cells.push(row.join(" "));
  });
  var wide = [];
  doc.querySelectorAll("body *").forEach(function(e){
    var r = e.getBoundingClientRect();
    if (r.right > w.innerWidth + 0.5 && r.width > 0) { wide.push(e.tagName + "." + e.className); }
  });
  var p = document.createElement("pre");
  p.id = "probe";
  p.textContent = JSON.stringify({
    inner: w.innerWidth, scroll: d.scrollWidth, scripts: doc.querySelectorAll("script").length,
    markup: doc.body.innerText.indexOf('<script>document.title="pwned"<' + '/script>') >= 0,
    overall: doc.getElementById("overall").innerText,
    cells: cells, wide: wide.slice(0, 5)
  });
  document.body.appendChild(p);
};
f.srcdoc = REPORT;
</script></body></html>"#;

fn probe(exe: &Path, dir: &Path, html: &str) -> serde_json::Value {
    // In a script, `</` could end it: the JSON string spells it `<\/`.
    let json = serde_json::to_string(html).unwrap().replace("</", "<\\/");
    let page = PROBE.replace("REPORT", &json);
    let file = dir.join("probe.html");
    std::fs::write(&file, page).unwrap();
    let o = browser(
        exe,
        &dir.join("profile-probe"),
        &["--dump-dom", &format!("file://{}", file.display())],
    );
    let dom = String::from_utf8_lossy(&o.stdout);
    let start = dom
        .find("<pre id=\"probe\">")
        .unwrap_or_else(|| panic!("the probe did not run: {}", text(&o)))
        + "<pre id=\"probe\">".len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let json = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap()
}

/// Render `file` as it is: no console message at all (a blocked load, a script error).
fn assert_quiet(exe: &Path, dir: &Path, file: &Path) {
    let o = browser(
        exe,
        &dir.join("profile-quiet"),
        &[
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            &format!("file://{}", file.display()),
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    let console: Vec<&str> = err.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("Access report"));
}

fn assert_prints(exe: &Path, dir: &Path, file: &Path) {
    let pdf = dir.join("report.pdf");
    let o = browser(
        exe,
        &dir.join("profile-print"),
        &[
            "--no-pdf-header-footer",
            &format!("--print-to-pdf={}", pdf.display()),
            &format!("file://{}", file.display()),
        ],
    );
    let bytes = std::fs::read(&pdf).unwrap_or_else(|e| panic!("no PDF: {e}\n{}", text(&o)));
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
}

/// Each report: (test name, directory to run in, gate file, expected overall verdict,
/// expected badge texts of every matrix row).
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Vec<&'static str>,
);

#[test]
fn the_reports_render_in_chromium() {
    let cases: Vec<Case> = vec![
        (
            "shipped",
            ".",
            "policy-gate.yml",
            "PASS",
            vec!["yes no n/a n/a holds"; 10],
        ),
        (
            "amplify-gen1",
            ".",
            "fixtures/report/amplify-gen1.yml",
            "PASS",
            vec![
                "yes no no no holds",
                "yes no no no holds",
                "yes yes yes no holds",
                "yes no no no holds",
            ],
        ),
        (
            "amplify-gen2",
            ".",
            "fixtures/report/amplify-gen2.yml",
            "FAIL",
            // The mapped role (Type Token) names roles the template cannot show: whether
            // other identities reach a forbidden area is unknown, never "no".
            vec![
                "yes unknown no no unknown",
                "yes unknown no no unknown",
                "yes yes no no holds",
                "yes unknown no no unknown",
            ],
        ),
        (
            "public-bucket",
            ".",
            "fixtures/report/public-bucket-policy.yml",
            "FAIL",
            // The bucket policy lets every principal read private/*: other identities and
            // anyone else in the world.
            vec!["yes yes n/a yes violated", "yes no n/a no holds"],
        ),
        (
            "markup",
            ".",
            "fixtures/report/markup.yml",
            "PASS",
            // The policy grants s3:GetObject alone: the owner cannot write.
            vec!["yes no n/a n/a holds", "no no n/a n/a holds"],
        ),
        (
            "readme-gate",
            "fixtures/readme/gate",
            "policy-gate.yml",
            "FAIL",
            vec!["yes yes n/a n/a violated", "yes yes n/a n/a violated"],
        ),
    ];
    let exe = chromium();
    if exe.is_none() {
        assert!(
            std::env::var_os("POLICY_SIM_REQUIRE_BROWSER").is_none(),
            "POLICY_SIM_REQUIRE_BROWSER is set and no Chromium is on PATH (apt-get install chromium)"
        );
        eprintln!("skipped the browser checks: no Chromium on PATH (apt-get install chromium)");
    }
    for (name, run_in, config, overall, rows) in cases {
        let dir = out_dir(name);
        let file = dir.join("report.html");
        let html = write_report(config, &root().join(run_in), &file);
        assert_self_contained(&html);
        let Some(exe) = &exe else { continue };
        let seen = probe(exe, &dir, &html);
        assert_eq!(seen["overall"], overall, "{name}: {seen}");
        let cells: Vec<&str> = seen["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(cells, rows, "{name}: {seen}");
        assert_eq!(seen["inner"], 375, "{name}: {seen}");
        // Text from the policies stays text: no element made of it.
        assert_eq!(seen["scripts"], 0, "{name}: {seen}");
        assert_eq!(seen["markup"], name == "markup", "{name}: {seen}");
        assert!(
            seen["scroll"].as_u64() <= Some(375) && seen["wide"].as_array().unwrap().is_empty(),
            "{name}: wider than 375 px: {seen}"
        );
        assert_quiet(exe, &dir, &file);
        assert_prints(exe, &dir, &file);
    }
}

//! `policy-sim`: the command-line interface over the `policy_sim` library.

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use policy_sim::cognito;
use policy_sim::eval::batch::{BatchOptions, run_batch};
use policy_sim::eval::{Decision, PolicySet};
use policy_sim::lang::parse::{parse_policy, read_bounded};
use policy_sim::report::{evaluation_json, explanation_text};
use policy_sim::request::Request;
use policy_sim::template::{Params, Template, TemplateError};
use policy_sim::{LoadError, lang::model::Policy};

/// Offline AWS IAM policy evaluator and access simulator.
#[derive(Parser)]
#[command(name = "policy-sim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decide one request (exit 0 Allow, 1 deny) or a JSON Lines batch (--requests).
    Check(CheckArgs),
    /// Print the IAM JSON a template's role will have, resolved (pipe it to --policy -).
    Show(ShowArgs),
    /// Prove a property of the policies, or give a counterexample.
    Prove {
        #[command(subcommand)]
        property: Property,
    },
    /// Run the CI policy gate (exit 0 all checks pass, 1 a check failed, 2 invalid input).
    Gate(GateArgs),
    /// Report known-dangerous patterns (exit 1 when an error or warning remains).
    Lint(LintArgs),
    /// List the AWS actions patterns cover, from the bundled catalog (exit 1 when a pattern covers none).
    Actions(ActionsArgs),
    /// Search for a counterexample to a property by sampling requests (reproducible).
    Fuzz {
        #[command(subcommand)]
        property: FuzzProperty,
    },
    /// Write synthetic JSON Lines requests against the shipped policies (for benchmarks).
    GenerateRequests {
        /// How many requests.
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
        /// Seed: the same seed gives the same requests.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SolverChoice {
    Automata,
    Smt,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Where the policies come from: IAM JSON files, or a template's role.
#[derive(clap::Args)]
struct Source {
    /// Policy file (IAM JSON); repeat for several; `-` reads standard input.
    #[arg(
        long = "policy",
        value_name = "FILE",
        required_unless_present = "template",
        conflicts_with = "template"
    )]
    policies: Vec<PathBuf>,
    /// CloudFormation (YAML or JSON) or Serverless Framework template that deploys the role.
    #[arg(long, value_name = "FILE")]
    template: Option<PathBuf>,
    /// The role's logical id (optional when the template has one AWS::IAM::Role). With an
    /// identity pool in the template, naming a role skips the Cognito flow.
    #[arg(long, value_name = "LOGICAL_ID", requires = "template")]
    role: Option<String>,
    /// A value the template needs: NAME=VALUE (parameters, AWS::Region, a resource's
    /// logical id, LogicalId.Attr, an export name, opt:stage, ...); repeat for several.
    #[arg(long = "param", value_name = "NAME=VALUE", requires = "template")]
    params: Vec<String>,
}

#[derive(clap::Args)]
struct CheckArgs {
    #[command(flatten)]
    source: Source,
    /// Cognito identity id, set as `cognito-identity.amazonaws.com:sub`.
    #[arg(long, conflicts_with = "requests")]
    identity: Option<String>,
    /// With --template: the identity is unauthenticated (a guest of the identity pool).
    #[arg(long, requires = "template", conflicts_with = "requests")]
    unauthenticated: bool,
    /// Action, e.g. s3:GetObject.
    #[arg(
        long,
        required_unless_present = "requests",
        conflicts_with = "requests"
    )]
    action: Option<String>,
    /// Resource ARN (or `*`).
    #[arg(
        long,
        required_unless_present = "requests",
        conflicts_with = "requests"
    )]
    resource: Option<String>,
    /// Context key and value, KEY=VALUE; repeat a key to make it multivalued.
    #[arg(
        long = "context",
        value_name = "KEY=VALUE",
        conflicts_with = "requests"
    )]
    context: Vec<String>,
    /// JSON Lines request file, or `-` for standard input; writes one JSON line each.
    #[arg(long, value_name = "FILE")]
    requests: Option<PathBuf>,
    /// Worker threads for --requests (default: all cores); output order is kept.
    #[arg(long, value_name = "N", requires = "requests")]
    threads: Option<usize>,
    /// Output format for a single request.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(Subcommand)]
enum Property {
    /// No identity can reach another identity's area (exit 0 holds, 1 violated, 3 unknown).
    Isolation(IsolationArgs),
}

#[derive(clap::Args)]
struct GateArgs {
    /// The gate file (YAML or JSON).
    #[arg(long, value_name = "FILE", default_value = "policy-gate.yml")]
    config: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Also write SARIF 2.1.0 (for GitHub code scanning) to this file.
    #[arg(long, value_name = "FILE")]
    sarif: Option<PathBuf>,
    /// Also write JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ActionsArgs {
    /// Action patterns, e.g. 's3:Get*' or 'iam:PassRole' (quote them for the shell).
    #[arg(required = true)]
    patterns: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(clap::Args)]
struct LintArgs {
    #[command(flatten)]
    source: Source,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(Subcommand)]
enum FuzzProperty {
    /// Sample identity pairs and resources; exit 0 none found, 1 counterexample.
    Isolation(FuzzArgs),
}

#[derive(clap::Args)]
struct FuzzArgs {
    #[command(flatten)]
    isolation: IsolationArgs,
    /// How many cases to try.
    #[arg(long, default_value_t = 10_000)]
    cases: u64,
    /// Seed: the same seed tries the same cases.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(clap::Args)]
struct IsolationArgs {
    #[command(flatten)]
    source: Source,
    /// A per-identity area: a resource pattern with ${cognito-identity.amazonaws.com:sub};
    /// repeat for several (default: every such pattern in the Allow statements).
    #[arg(long = "area", value_name = "PATTERN")]
    areas: Vec<String>,
    /// Which strings an identity can be: cognito (<region>:<uuid>), any, or a regex.
    #[arg(long, value_name = "cognito|any|REGEX", default_value = "cognito")]
    identity_format: String,
    /// How to decide: the built-in automata, or an SMT solver (z3 or cvc5 on the PATH).
    #[arg(long, value_enum, default_value = "automata")]
    solver: SolverChoice,
    /// With --solver smt: keep the SMT-LIB2 scripts in this directory.
    #[arg(long, value_name = "DIR")]
    smt_dir: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(clap::Args)]
struct ShowArgs {
    /// CloudFormation (YAML or JSON) or Serverless Framework template.
    #[arg(long, value_name = "FILE")]
    template: PathBuf,
    /// The role's logical id (optional when the template has one AWS::IAM::Role).
    #[arg(long, value_name = "LOGICAL_ID")]
    role: Option<String>,
    /// A value the template needs: NAME=VALUE; repeat for several.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Print the role's trust policy (AssumeRolePolicyDocument) instead.
    #[arg(long)]
    trust: bool,
    /// Print only the policy with this name (PolicyName or logical id).
    #[arg(long, value_name = "NAME", conflicts_with = "trust")]
    only: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => check(args),
        Command::Show(args) => show(args),
        Command::Prove {
            property: Property::Isolation(args),
        } => match prove_isolation(&args) {
            Ok(c) | Err(c) => c,
        },
        Command::Fuzz {
            property: FuzzProperty::Isolation(args),
        } => match fuzz_isolation(&args) {
            Ok(c) | Err(c) => c,
        },
        Command::Gate(args) => match gate(&args) {
            Ok(c) | Err(c) => c,
        },
        Command::Lint(args) => match lint(&args) {
            Ok(c) | Err(c) => c,
        },
        Command::Actions(args) => match actions(&args) {
            Ok(c) | Err(c) => c,
        },
        Command::GenerateRequests { count, seed } => {
            let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            match policy_sim::workload::write_requests(&mut out, count, seed) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(EXIT_BAD_INPUT)
                }
            }
        }
    }
}

const EXIT_DENY: u8 = 1;
const EXIT_BAD_INPUT: u8 = 2;

fn is_stdin(p: &std::path::Path) -> bool {
    p.as_os_str() == "-"
}

/// Print a load error with the offending line shown, and return exit code 2.
fn report_load_error(err: &LoadError, source: Option<&[u8]>) -> ExitCode {
    if let (
        LoadError::Invalid {
            file, line, column, ..
        },
        Some(bytes),
    ) = (err, source)
        && *line > 0
    {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let offset = offset_of(&text, *line, *column);
        let report = miette::miette!(
            labels = vec![miette::LabeledSpan::at_offset(offset, "here")],
            "{err}"
        )
        .with_source_code(miette::NamedSource::new(file, text));
        eprintln!("{report:?}");
    } else {
        eprintln!("error: {err}");
    }
    ExitCode::from(EXIT_BAD_INPUT)
}

/// Byte offset of a 1-based line and column (serde_json counts columns in bytes).
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return (offset + column.saturating_sub(1)).min(text.len());
        }
        offset += l.len();
    }
    text.len()
}

fn load_policies(paths: &[PathBuf]) -> Result<Vec<Policy>, ExitCode> {
    let mut out = Vec::new();
    for path in paths {
        let name = if is_stdin(path) {
            "<stdin>".to_string()
        } else {
            path.display().to_string()
        };
        let bytes = if is_stdin(path) {
            read_bounded(&name, std::io::stdin())
        } else {
            std::fs::File::open(path)
                .map_err(|e| LoadError::Read {
                    file: name.clone(),
                    message: format!("cannot read: {e}"),
                })
                .and_then(|f| read_bounded(&name, f))
        };
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => return Err(report_load_error(&e, None)),
        };
        match parse_policy(&name, &bytes) {
            Ok(p) => out.push(p),
            Err(e) => return Err(report_load_error(&e, Some(&bytes))),
        }
    }
    Ok(out)
}

fn bad_input(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(EXIT_BAD_INPUT)
}

/// Print a template error (with the offending line shown when there is one); exit 2.
fn report_template_error(err: &TemplateError) -> ExitCode {
    if let TemplateError::At { loc, .. } = err
        && let Ok(text) = std::fs::read_to_string(&*loc.file)
    {
        // Template columns count characters (JSON errors count bytes).
        let line_start = offset_of(&text, loc.line, 1);
        let offset = text[line_start..]
            .char_indices()
            .nth(loc.column.saturating_sub(1))
            .map_or(text.len(), |(i, _)| line_start + i);
        let report = miette::miette!(
            labels = vec![miette::LabeledSpan::at_offset(offset, "here")],
            "{err}"
        )
        .with_source_code(miette::NamedSource::new(&loc.file, text));
        eprintln!("{report:?}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    bad_input(err)
}

fn load_template(path: &std::path::Path, params: &[String]) -> Result<Template, ExitCode> {
    let params = Params::parse(params).map_err(bad_input)?;
    Template::load(path, params).map_err(|e| report_template_error(&e))
}

/// The role's permission policies as a set (warnings go to standard error).
fn role_set(t: &Template, role: Option<&str>) -> Result<PolicySet, ExitCode> {
    let role = t.select_role(role).map_err(|e| report_template_error(&e))?;
    let policies = t
        .role_policies(&role)
        .map_err(|e| report_template_error(&e))?;
    for w in &policies.warnings {
        eprintln!("warning: {w}");
    }
    Ok(PolicySet::new(
        policies.policies.into_iter().map(|p| p.policy).collect(),
    ))
}

/// The single request from the command line.
fn build_request(args: &CheckArgs, now: jiff::Timestamp) -> Result<Request, ExitCode> {
    let (Some(action), Some(resource)) = (&args.action, &args.resource) else {
        return Err(bad_input(
            "--action and --resource are required without --requests",
        ));
    };
    let mut request = Request::new(action.clone(), resource.clone());
    if let Some(identity) = &args.identity {
        request = request.with_identity(identity);
    }
    for kv in &args.context {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(bad_input(format!("--context {kv:?} is not KEY=VALUE")));
        };
        if k.is_empty() {
            return Err(bad_input(format!("--context {kv:?} has an empty key")));
        }
        if k.eq_ignore_ascii_case(policy_sim::lang::keys::COGNITO_SUB) && args.identity.is_some() {
            return Err(bad_input(format!(
                "--identity and --context {k}=... both set the identity; give one"
            )));
        }
        request.context.add(k, v);
    }
    request.context.fill_time_defaults(now).map_err(bad_input)?;
    Ok(request)
}

fn write_stdout(text: &str) -> Result<(), ExitCode> {
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|_| ExitCode::from(EXIT_BAD_INPUT))
}

fn decision_code(decision: Decision) -> ExitCode {
    match decision {
        Decision::Allow => ExitCode::SUCCESS,
        Decision::ExplicitDeny | Decision::ImplicitDeny => ExitCode::from(EXIT_DENY),
    }
}

fn check(args: CheckArgs) -> ExitCode {
    match check_inner(&args) {
        Ok(code) | Err(code) => code,
    }
}

fn check_inner(args: &CheckArgs) -> Result<ExitCode, ExitCode> {
    let src = &args.source;
    let stdin_uses = src.policies.iter().filter(|p| is_stdin(p)).count()
        + usize::from(args.requests.as_deref().is_some_and(is_stdin));
    if stdin_uses > 1 {
        return Err(bad_input(
            "standard input (`-`) can be used by only one of --policy and --requests",
        ));
    }
    let now = jiff::Timestamp::now();
    let set = match &src.template {
        None => PolicySet::new(load_policies(&src.policies)?),
        Some(path) => {
            let t = load_template(path, &src.params)?;
            if args.requests.is_none() && src.role.is_none() && cognito::has_identity_pool(&t) {
                return check_flow(args, &t, now);
            }
            if args.unauthenticated {
                return Err(bad_input(
                    "--unauthenticated needs the Cognito flow: a template with an identity pool, and no --role",
                ));
            }
            role_set(&t, src.role.as_deref())?
        }
    };
    if let Some(path) = &args.requests {
        return Ok(check_batch(&set, path, now, args.threads));
    }
    let request = build_request(args, now)?;
    let explanation = set.explain(&request).map_err(bad_input)?;
    // Hints from the action catalog, once the request is known to be well-formed.
    for w in policy_sim::catalog::request_warnings(&request.action, &request.resource) {
        eprintln!("warning: {w}");
    }
    let text = match args.format {
        Format::Text => explanation_text(&set, &request, &explanation),
        Format::Json => {
            let line = evaluation_json(&set, &serde_json::Value::Null, &explanation.evaluation);
            serde_json::to_string(&line).expect("an output line always serializes") + "\n"
        }
    };
    write_stdout(&text)?;
    Ok(decision_code(explanation.evaluation.decision))
}

/// `check --template` on a template with an identity pool: the whole Cognito flow.
fn check_flow(args: &CheckArgs, t: &Template, now: jiff::Timestamp) -> Result<ExitCode, ExitCode> {
    let Some(identity) = &args.identity else {
        return Err(bad_input(
            "the template has an identity pool: the Cognito flow needs --identity ID (or name a role with --role to check its policies alone)",
        ));
    };
    let request = build_request(args, now)?;
    let flow = cognito::FlowRequest {
        identity: identity.clone(),
        authenticated: !args.unauthenticated,
        request,
    };
    let outcome = match cognito::simulate(t, &flow) {
        Ok(o) => o,
        Err(cognito::FlowError::Template(e)) => return Err(report_template_error(&e)),
        Err(cognito::FlowError::Request(e)) => return Err(bad_input(e)),
    };
    for w in &outcome.warnings {
        eprintln!("warning: {w}");
    }
    let text = match args.format {
        Format::Text => flow_text(t, &flow, &outcome),
        Format::Json => {
            let statements = match &outcome.explanation {
                Some((set, _, ex))
                    if outcome.steps.last().map(|s| s.step) == Some(cognito::Step::Permissions) =>
                {
                    serde_json::to_value(
                        evaluation_json(set, &serde_json::Value::Null, &ex.evaluation).statements,
                    )
                    .expect("statements serialize")
                }
                _ => serde_json::Value::Array(Vec::new()),
            };
            let steps: Vec<serde_json::Value> = outcome
                .steps
                .iter()
                .map(|s| serde_json::json!({"step": s.step.as_str(), "passed": s.passed, "detail": s.detail}))
                .collect();
            let mut line = serde_json::Map::new();
            line.insert("id".into(), serde_json::Value::Null);
            line.insert("decision".into(), outcome.decision.as_str().into());
            line.insert("statements".into(), statements);
            line.insert("steps".into(), steps.into());
            serde_json::Value::Object(line).to_string() + "\n"
        }
    };
    write_stdout(&text)?;
    Ok(decision_code(outcome.decision))
}

fn flow_text(t: &Template, flow: &cognito::FlowRequest, outcome: &cognito::FlowOutcome) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "Decision: {}", outcome.decision.as_str());
    let _ = writeln!(
        out,
        "Request:  {} on {} as {} identity {}",
        flow.request.action,
        flow.request.resource,
        if flow.authenticated {
            "authenticated"
        } else {
            "unauthenticated"
        },
        flow.identity
    );
    let _ = writeln!(out, "Cognito flow ({}):", t.file);
    for (i, s) in outcome.steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {}. {}: {} - {}",
            i + 1,
            s.step.as_str(),
            if s.passed { "passed" } else { "DENIED" },
            s.detail
        );
    }
    if let Some(failed) = outcome.steps.iter().find(|s| !s.passed) {
        let _ = writeln!(out, "Denied at step: {}", failed.step.as_str());
    }
    if let Some((set, request, ex)) = &outcome.explanation {
        let step = outcome.steps.last().map_or("", |s| s.step.as_str());
        let _ = writeln!(out, "Policies of the {step} step:");
        for line in explanation_text(set, request, ex).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// The policies named by `--policy` or `--template`/`--role`.
fn load_source(src: &Source) -> Result<PolicySet, ExitCode> {
    match &src.template {
        None => Ok(PolicySet::new(load_policies(&src.policies)?)),
        Some(path) => {
            let t = load_template(path, &src.params)?;
            role_set(&t, src.role.as_deref())
        }
    }
}

const EXIT_UNKNOWN: u8 = 3;

fn prove_isolation(args: &IsolationArgs) -> Result<ExitCode, ExitCode> {
    use policy_sim::analysis::prover::{self, Verdict, format::IdentityFormat};
    let format = IdentityFormat::parse(&args.identity_format).map_err(bad_input)?;
    let set = load_source(&args.source)?;
    let backend = match args.solver {
        SolverChoice::Automata => prover::Backend::Automata,
        SolverChoice::Smt => {
            let Some((program, solver_args)) = prover::smt::find_solver() else {
                return Err(bad_input(
                    "--solver smt needs z3 or cvc5 on the PATH (Debian: apt-get install z3)",
                ));
            };
            prover::Backend::Smt {
                program: program.to_string(),
                args: solver_args.iter().map(|a| a.to_string()).collect(),
                dir: args.smt_dir.clone(),
            }
        }
    };
    let proof =
        prover::prove_isolation_with(&set, &args.areas, &format, &backend).map_err(bad_input)?;
    let text = match args.format {
        Format::Json => {
            let mut out = serde_json::Map::new();
            out.insert("verdict".into(), proof.verdict.as_str().into());
            out.insert(
                "identity_format".into(),
                proof.identity_format.clone().into(),
            );
            out.insert("areas".into(), proof.areas.clone().into());
            out.insert("reason".into(), proof.reason.clone().into());
            if let Some(c) = &proof.counterexample {
                out.insert("counterexample".into(), counterexample_json(&set, c));
            }
            out.insert("assumptions".into(), proof.assumptions.clone().into());
            serde_json::Value::Object(out).to_string() + "\n"
        }
        Format::Text => {
            use std::fmt::Write as _;
            let mut out = String::new();
            let _ = writeln!(out, "Verdict: {}", proof.verdict.as_str());
            let _ = writeln!(
                out,
                "Identity format: {} ({})",
                proof.identity_format, proof.format_description
            );
            let _ = writeln!(out, "Areas:");
            for a in &proof.areas {
                let _ = writeln!(out, "  {a}");
            }
            if let Some(c) = &proof.counterexample {
                out.push_str(&counterexample_text(&set, c));
            }
            let _ = writeln!(out, "Why: {}", proof.reason);
            if !proof.assumptions.is_empty() {
                let _ = writeln!(out, "Assumptions:");
                for a in &proof.assumptions {
                    let _ = writeln!(out, "  - {a}");
                }
            }
            out
        }
    };
    write_stdout(&text)?;
    Ok(match proof.verdict {
        Verdict::Holds => ExitCode::SUCCESS,
        Verdict::Violated => ExitCode::from(EXIT_DENY),
        Verdict::Unknown => ExitCode::from(EXIT_UNKNOWN),
    })
}

fn counterexample_json(
    set: &PolicySet,
    c: &policy_sim::analysis::prover::Counterexample,
) -> serde_json::Value {
    let st = set.statement(c.statement);
    serde_json::json!({
        "attacker": c.attacker,
        "victim": c.victim,
        "action": c.action,
        "resource": c.resource,
        "statement": {
            "policy": set.policy(c.statement).name,
            "index": st.index,
            "sid": st.sid,
            "effect": st.effect.as_str(),
        },
        "context": c.context,
    })
}

fn counterexample_text(
    set: &PolicySet,
    c: &policy_sim::analysis::prover::Counterexample,
) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "Counterexample:");
    let _ = writeln!(
        out,
        "  identity {} is allowed {} on {}",
        c.attacker, c.action, c.resource
    );
    let _ = writeln!(out, "  which is inside the area of identity {}", c.victim);
    let _ = writeln!(
        out,
        "  allowed by {}",
        policy_sim::report::statement_label(set, c.statement)
    );
    let context: Vec<String> = c
        .context
        .iter()
        .flat_map(|(k, vs)| vs.iter().map(move |v| format!("--context {k}={v}")))
        .collect();
    let _ = writeln!(out, "  with context {}", context.join(" "));
    out
}

fn fuzz_isolation(args: &FuzzArgs) -> Result<ExitCode, ExitCode> {
    use policy_sim::analysis::prover::{self, format::IdentityFormat};
    let iso = &args.isolation;
    let format = IdentityFormat::parse(&iso.identity_format).map_err(bad_input)?;
    let set = load_source(&iso.source)?;
    let areas = if iso.areas.is_empty() {
        prover::default_areas(&set)
    } else {
        iso.areas.clone()
    };
    if areas.is_empty() {
        return Err(bad_input(
            "no area to check: no Allow statement's Resource mentions ${cognito-identity.amazonaws.com:sub}; name one with --area",
        ));
    }
    let result = prover::fuzz::fuzz_isolation(&set, &areas, &format, args.cases, args.seed);
    let text = match (iso.format, &result.counterexample) {
        (Format::Json, c) => {
            let mut out = serde_json::Map::new();
            out.insert("found".into(), c.is_some().into());
            out.insert("cases".into(), result.tried.into());
            out.insert("seed".into(), args.seed.into());
            out.insert("identity_format".into(), format.name.clone().into());
            out.insert("areas".into(), areas.clone().into());
            if let Some(c) = c {
                out.insert("counterexample".into(), counterexample_json(&set, c));
            }
            serde_json::Value::Object(out).to_string() + "\n"
        }
        (Format::Text, Some(c)) => format!(
            "Found after {} case(s) (seed {}, identity format {}):\n{}",
            result.tried,
            args.seed,
            format.name,
            counterexample_text(&set, c)
        ),
        (Format::Text, None) => format!(
            "No counterexample in {} case(s) (seed {}, identity format {}). Sampling cannot prove isolation: use `policy-sim prove isolation`.\n",
            result.tried, args.seed, format.name
        ),
    };
    write_stdout(&text)?;
    Ok(if result.counterexample.is_some() {
        ExitCode::from(EXIT_DENY)
    } else {
        ExitCode::SUCCESS
    })
}

fn gate(args: &GateArgs) -> Result<ExitCode, ExitCode> {
    use policy_sim::{gate, report};
    let gates = gate::GateConfig::load(&args.config).map_err(bad_input)?;
    let report = gate::run(&gates).map_err(bad_input)?;
    let write = |path: &Path, text: String| {
        std::fs::write(path, text).map_err(|e| bad_input(format!("{}: {e}", path.display())))
    };
    if let Some(path) = &args.sarif {
        write(path, report::gate::sarif_text(&report, gate::display_path))?;
    }
    if let Some(path) = &args.junit {
        write(path, report::gate::junit(&report))?;
    }
    let text = match args.format {
        Format::Text => report::gate::text(&report),
        Format::Json => report::gate::json(&report),
    };
    write_stdout(&text)?;
    Ok(if report.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_DENY)
    })
}

fn actions(args: &ActionsArgs) -> Result<ExitCode, ExitCode> {
    use policy_sim::catalog::{catalog, unknown_action_message};
    let c = catalog();
    let mut found = Vec::new();
    let mut empty = false;
    for pattern in &args.patterns {
        let expanded = c.expand(pattern);
        if expanded.is_empty() {
            empty = true;
            let why = if pattern.contains(['*', '?']) {
                format!("{pattern} covers no action AWS documents")
            } else {
                unknown_action_message(pattern, &c.lookup(pattern))
            };
            eprintln!("{why}");
        }
        for a in expanded {
            if !found.contains(&a) {
                found.push(a);
            }
        }
    }
    let text = match args.format {
        Format::Text => found.iter().map(|a| format!("{a}\n")).collect::<String>(),
        Format::Json => {
            let items: Vec<serde_json::Value> = found
                .iter()
                .filter_map(|a| c.action(a))
                .map(|(s, a)| {
                    serde_json::json!({
                        "action": format!("{}:{}", s.prefix, a.name),
                        "access_level": a.access_level,
                        "resource_types": a.resource_types().map(|(name, required)| {
                            serde_json::json!({
                                "name": name,
                                "required": required,
                                "arn": s.resource_type(name).map(|r| r.arn),
                            })
                        }).collect::<Vec<_>>(),
                        "condition_keys": a.condition_keys().collect::<Vec<_>>(),
                    })
                })
                .collect();
            serde_json::Value::Array(items).to_string() + "\n"
        }
    };
    write_stdout(&text)?;
    Ok(if empty {
        ExitCode::from(EXIT_DENY)
    } else {
        ExitCode::SUCCESS
    })
}

fn lint(args: &LintArgs) -> Result<ExitCode, ExitCode> {
    use policy_sim::gate::{load_policies, load_role};
    use policy_sim::lint::{Severity, lint_set};
    let loaded = match &args.source.template {
        None => {
            if args.source.policies.iter().any(|p| p.as_os_str() == "-") {
                return Err(bad_input("lint reads policy files, not standard input"));
            }
            // File names, not patterns (the shell has expanded any): `role[prod].json` is
            // that file.
            let patterns: Vec<String> = args
                .source
                .policies
                .iter()
                .map(|p| glob::Pattern::escape(&p.display().to_string()))
                .collect();
            load_policies(&patterns, Path::new("")).map_err(bad_input)?
        }
        Some(path) => {
            let t = load_template(path, &args.source.params)?;
            load_role(&t, args.source.role.as_deref()).map_err(|e| report_template_error(&e))?
        }
    };
    let findings = lint_set(&loaded.set, &loaded.sources, loaded.inline);
    let text = match args.format {
        Format::Json => policy_sim::report::lint::json(&findings),
        Format::Text => policy_sim::report::lint::text(&findings),
    };
    write_stdout(&text)?;
    Ok(
        if findings.iter().any(|f| f.severity >= Severity::Warning) {
            ExitCode::from(EXIT_DENY)
        } else {
            ExitCode::SUCCESS
        },
    )
}

fn show(args: ShowArgs) -> ExitCode {
    let run = || -> Result<ExitCode, ExitCode> {
        let t = load_template(&args.template, &args.params)?;
        let role = t
            .select_role(args.role.as_deref())
            .map_err(|e| report_template_error(&e))?;
        let value = if args.trust {
            t.trust_policy(&role)
                .map_err(|e| report_template_error(&e))?
                .document
        } else {
            let policies = t
                .role_policies(&role)
                .map_err(|e| report_template_error(&e))?;
            for w in &policies.warnings {
                eprintln!("warning: {w}");
            }
            let names: Vec<String> = policies.policies.iter().map(|p| p.name.clone()).collect();
            match (&args.only, policies.policies.len()) {
                (Some(name), _) => match policies.policies.into_iter().find(|p| &p.name == name) {
                    Some(p) => p.document,
                    None => {
                        return Err(bad_input(format!(
                            "role {role} has no policy {name:?} (its policies: {})",
                            names.join(", ")
                        )));
                    }
                },
                (None, 0) => return Err(bad_input(format!("role {role} has no policies"))),
                (None, 1) => policies
                    .policies
                    .into_iter()
                    .next()
                    .map(|p| p.document)
                    .unwrap_or_default(),
                (None, _) => serde_json::json!({
                    "policies": policies.policies.into_iter().map(|p| serde_json::json!({"name": p.name, "document": p.document})).collect::<Vec<_>>()
                }),
            }
        };
        let text = serde_json::to_string_pretty(&value).expect("JSON serializes") + "\n";
        write_stdout(&text)?;
        Ok(ExitCode::SUCCESS)
    };
    match run() {
        Ok(c) | Err(c) => c,
    }
}

fn check_batch(
    set: &PolicySet,
    path: &std::path::Path,
    now: jiff::Timestamp,
    threads: Option<usize>,
) -> ExitCode {
    let input: Box<dyn Read + Send> = if is_stdin(path) {
        Box::new(std::io::stdin())
    } else {
        match std::fs::File::open(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("error: {}: cannot read: {e}", path.display());
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        }
    };
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let output = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match run_batch(set, input, output, BatchOptions { threads, now }) {
        Ok(summary) if summary.failed == 0 => ExitCode::SUCCESS,
        Ok(summary) => {
            eprintln!(
                "{} request(s) decided, {} line(s) failed",
                summary.decided, summary.failed
            );
            ExitCode::from(EXIT_BAD_INPUT)
        }
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

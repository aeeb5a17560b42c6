//! `policy-sim`: the command-line interface over the `policy_sim` library.

use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use policy_sim::batch::{BatchOptions, run_batch};
use policy_sim::context::Request;
use policy_sim::eval::{Decision, PolicySet};
use policy_sim::parse::{parse_policy, read_bounded};
use policy_sim::report::{evaluation_json, explanation_text};
use policy_sim::{LoadError, policy::Policy};

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

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Policy file (IAM JSON); repeat for several; `-` reads standard input.
    #[arg(long = "policy", value_name = "FILE", required = true)]
    policies: Vec<PathBuf>,
    /// Cognito identity id, set as `cognito-identity.amazonaws.com:sub`.
    #[arg(long, conflicts_with = "requests")]
    identity: Option<String>,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => check(args),
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

fn check(args: CheckArgs) -> ExitCode {
    let stdin_uses = args.policies.iter().filter(|p| is_stdin(p)).count()
        + usize::from(args.requests.as_deref().is_some_and(is_stdin));
    if stdin_uses > 1 {
        eprintln!("error: standard input (`-`) can be used by only one of --policy and --requests");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let set = match load_policies(&args.policies) {
        Ok(p) => PolicySet::new(p),
        Err(code) => return code,
    };
    let now = jiff::Timestamp::now();
    if let Some(path) = &args.requests {
        return check_batch(&set, path, now, args.threads);
    }
    let (Some(action), Some(resource)) = (args.action, args.resource) else {
        eprintln!("error: --action and --resource are required without --requests");
        return ExitCode::from(EXIT_BAD_INPUT);
    };
    let mut request = Request::new(action, resource);
    if let Some(identity) = &args.identity {
        request = request.with_identity(identity);
    }
    for kv in &args.context {
        let Some((k, v)) = kv.split_once('=') else {
            eprintln!("error: --context {kv:?} is not KEY=VALUE");
            return ExitCode::from(EXIT_BAD_INPUT);
        };
        if k.is_empty() {
            eprintln!("error: --context {kv:?} has an empty key");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
        if k.eq_ignore_ascii_case(policy_sim::context::COGNITO_SUB) && args.identity.is_some() {
            eprintln!("error: --identity and --context {k}=... both set the identity; give one");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
        request.context.add(k, v);
    }
    if let Err(e) = request.context.fill_time_defaults(now) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let explanation = match set.explain(&request) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let text = match args.format {
        Format::Text => explanation_text(&set, &request, &explanation),
        Format::Json => {
            let line = evaluation_json(&set, &serde_json::Value::Null, &explanation.evaluation);
            serde_json::to_string(&line).expect("an output line always serializes") + "\n"
        }
    };
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(text.as_bytes()).is_err() {
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    match explanation.evaluation.decision {
        Decision::Allow => ExitCode::SUCCESS,
        Decision::ExplicitDeny | Decision::ImplicitDeny => ExitCode::from(EXIT_DENY),
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

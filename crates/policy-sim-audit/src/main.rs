//! `policy-sim-audit`: the command line. The library does the work; this parses the
//! arguments, runs the audit and prints.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use policy_sim::analysis::prover::AreaSpec;
use policy_sim::load::types::PolicyTypeFiles;
use policy_sim::logs::s3_access::NonCognitoRoles;
use policy_sim::root::Root;
use policy_sim_audit::audit::{Audit, Engine};
use policy_sim_audit::error::AuditError;
use policy_sim_audit::out::{OutFormat, OutWriter};
use policy_sim_audit::policies::{PolicyInputs, load_inputs, parse_principal};

/// The allocator: the audit allocates and frees many small strings per record while whole
/// batches and files come and go; mimalloc (DataFusion's own command line uses it) keeps
/// that cheap where the system allocator's consolidation of freed memory showed up in
/// profiles (docs/performance.md, "The audit").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ABOUT: &str = "Audit recorded AWS traffic (CloudTrail, S3 server access logs, request tables) against IAM policies: replay a policy change, observe isolation between Cognito identities, summarise decisions";

const AFTER: &str = "\
Exit codes:
  0  no finding, and every event could be judged (PASS)
  1  a finding: a cross-identity access AWS authorized, or a changed decision in replay
     (FAIL); or events that could not be judged, or no request read at all (UNKNOWN)
  2  bad input: options, policies, or log files that cannot be read

Examples:
  policy-sim-audit --policy policies/corrected-auth-role.json fixtures/audit/leak
  policy-sim-audit --policy new.json --baseline old.json --format json logs/
  policy-sim-audit --policy p.json --sql \"SELECT action, count(*) FROM decided GROUP BY action\" logs/
  policy-sim-audit generate-cloudtrail --records 100000 --identities 1000 --seed 7 --out target/ct";

#[derive(Parser)]
#[command(name = "policy-sim-audit", version, about = ABOUT, after_help = AFTER, args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Write synthetic CloudTrail logs (the delivery tree, gzip) with planted
    /// cross-identity accesses, for tests and benchmarks.
    GenerateCloudtrail(GenerateArgs),
    /// Run a Ballista scheduler that can plan audits of these policies.
    Scheduler(SchedulerArgs),
    /// Run a Ballista executor that decides with these policies.
    Executor(ExecutorArgs),
}

#[derive(clap::Args)]
struct GenerateArgs {
    /// Records to write.
    #[arg(long)]
    records: u64,
    /// Cognito identities.
    #[arg(long)]
    identities: u64,
    /// The seed: the same seed writes the same files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The directory to write into (must not exist, or be empty).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(clap::Args)]
struct RunArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    /// SQL over the decided table (named `decided`; the inputs are `requests`).
    #[arg(long, value_name = "QUERY")]
    sql: Option<String>,
    /// Write the decided table (or the --sql result) to FILE.parquet or FILE.jsonl.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Output format of the report.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// The engine: `embedded` (this process, all cores) or `ballista://HOST:PORT` (a
    /// scheduler started with `policy-sim-audit scheduler`).
    #[arg(long, value_name = "ENGINE", default_value = "embedded")]
    engine: String,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// A role that no Cognito identity pool hands out (a backend's): its sessions in S3
    /// access logs are decided without identity. An access log cannot tell a Cognito
    /// session from another role's, so any other role session there is `no-identity`
    /// (UNKNOWN); repeat for several.
    #[arg(long = "non-cognito-role", value_name = "ROLE_ARN")]
    non_cognito_roles: Vec<String>,
    /// Log files and directories (CloudTrail, S3 access logs, request tables).
    #[arg(value_name = "INPUT", required = true)]
    inputs: Vec<PathBuf>,
}

/// What the audit decides with: the same options for a run, a scheduler and an executor.
#[derive(clap::Args)]
struct PolicyArgs {
    /// Identity-based policy file (IAM JSON); repeat for several.
    #[arg(long = "policy", value_name = "FILE")]
    policies: Vec<PathBuf>,
    /// CloudFormation or Serverless template that deploys the role.
    #[arg(long, value_name = "FILE", conflicts_with = "policies")]
    template: Option<PathBuf>,
    /// The role's logical id (optional when the template has one role).
    #[arg(long, value_name = "LOGICAL_ID", requires = "template")]
    role: Option<String>,
    /// A value the template needs: NAME=VALUE; repeat for several.
    #[arg(long = "param", value_name = "NAME=VALUE", requires = "template")]
    params: Vec<String>,
    /// The document of a managed policy the role names by ARN: ARN=FILE.
    #[arg(
        long = "managed-policy",
        value_name = "ARN=FILE",
        requires = "template"
    )]
    managed: Vec<String>,
    /// The caller of rows that name none (rows from logs carry their own).
    #[arg(long, value_name = "ARN")]
    principal: Option<String>,
    /// A resource-based policy (S3 bucket policy ...) of the requested resources.
    #[arg(long = "resource-policy", value_name = "FILE")]
    resource_policy: Option<PathBuf>,
    /// The account owning resources whose ARN has none (S3).
    #[arg(long = "resource-account", value_name = "ACCOUNT")]
    resource_account: Option<String>,
    /// The principal's permissions boundary.
    #[arg(long, value_name = "FILE")]
    boundary: Option<PathBuf>,
    /// A session policy; repeat for several.
    #[arg(long = "session-policy", value_name = "FILE")]
    session_policies: Vec<PathBuf>,
    /// A service control policy: LEVEL=FILE.
    #[arg(long = "scp", value_name = "LEVEL=FILE", value_parser = level_file)]
    scps: Vec<(String, PathBuf)>,
    /// A resource control policy: LEVEL=FILE.
    #[arg(long = "rcp", value_name = "LEVEL=FILE", value_parser = level_file)]
    rcps: Vec<(String, PathBuf)>,
    /// The policies before the change: policy files, or one template (its role, with
    /// --role/--param as given); repeat for several files. Turns on replay.
    #[arg(long, value_name = "FILE")]
    baseline: Vec<PathBuf>,
    /// A private isolation area: a resource pattern with
    /// ${cognito-identity.amazonaws.com:sub}; repeat for several (default: every Allow
    /// resource pattern of the policies that names it).
    #[arg(long, value_name = "PATTERN")]
    area: Vec<String>,
    /// A protected area: other identities may read, not write.
    #[arg(long = "write-area", value_name = "PATTERN")]
    write_area: Vec<String>,
}

#[derive(clap::Args)]
struct SchedulerArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    /// The address to listen on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50050")]
    bind: std::net::SocketAddr,
}

#[derive(clap::Args)]
struct ExecutorArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    /// The scheduler's address.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50050")]
    scheduler: std::net::SocketAddr,
    /// The address to serve results on (Arrow Flight; the next port is taken too).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50051")]
    bind: std::net::SocketAddr,
    /// Tasks run at once.
    #[arg(long, value_name = "N", default_value_t = 1)]
    slots: usize,
    /// Where the executor keeps the data it hands between stages (rows of the request
    /// table). Default: a new directory in the system's temporary directory, removed when
    /// the executor stops (SIGTERM or Ctrl-C); in a directory given here the jobs' data is
    /// removed then. It must exist.
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
}

fn level_file(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((level, file)) if !level.is_empty() && !file.is_empty() => {
            Ok((level.to_string(), PathBuf::from(file)))
        }
        _ => Err(format!("{text:?} is not LEVEL=FILE")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::GenerateCloudtrail(args)) => generate(&args),
        Some(Command::Scheduler(args)) => serve(&args.policy, Serve::Scheduler(args.bind)),
        Some(Command::Executor(args)) => serve(
            &args.policy,
            Serve::Executor {
                scheduler: args.scheduler,
                bind: args.bind,
                slots: args.slots,
                work_dir: args.work_dir,
            },
        ),
        None => run(&cli.run),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // One line, as CI logs read it; values from the input made terminal-safe.
            eprintln!(
                "error: {}",
                policy_sim::report::field(e.to_string().trim_end())
            );
            ExitCode::from(2)
        }
    }
}

fn generate(args: &GenerateArgs) -> Result<u8, AuditError> {
    use policy_sim::logs::generate::{GenerateOptions, generate_cloudtrail};
    let options = GenerateOptions::new(args.records, args.identities, args.seed);
    let g =
        generate_cloudtrail(&args.out, &options).map_err(|e| AuditError::Usage(e.to_string()))?;
    // What was written and planted, for the tests and benchmarks that read it back.
    let unmapped: std::collections::BTreeMap<String, u64> = g
        .unmapped
        .0
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), *v))
        .collect();
    let summary = serde_json::json!({
        "out": args.out.display().to_string(),
        "files": g.files.len(),
        "records": g.records,
        "sessions": g.sessions,
        "data_events": g.data_events,
        "requests": g.requests,
        "planted_leaks": g.planted_leaks,
        "planted_denied": g.planted_denied,
        "unmapped": unmapped,
        "json_bytes": g.json_bytes,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).map_err(|e| AuditError::Engine(e.to_string()))?
    );
    Ok(0)
}

fn threads(given: Option<usize>) -> usize {
    given
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 256)
}

/// The audit the policy options describe, and the project root (found from every path
/// named, `more` included).
fn build_audit(
    args: &PolicyArgs,
    more: &[PathBuf],
    threads: usize,
) -> Result<(Root, Audit), AuditError> {
    let types = PolicyTypeFiles {
        resource: args
            .resource_policy
            .iter()
            .map(|p| (None, p.clone()))
            .collect(),
        resource_account: args.resource_account.clone(),
        boundary: args.boundary.clone(),
        session: args.session_policies.clone(),
        scps: args.scps.clone(),
        rcps: args.rcps.clone(),
    };
    let current = PolicyInputs {
        policies: args.policies.clone(),
        template: args.template.clone(),
        role: args.role.clone(),
        params: args.params.clone(),
        managed: args.managed.clone(),
        types,
    };
    let mut named: Vec<&std::path::Path> = current.files();
    named.extend(more.iter().map(PathBuf::as_path));
    named.extend(args.baseline.iter().map(PathBuf::as_path));
    let root = Root::discover_first(named);
    let loaded = load_inputs(&root, &current)?;
    let baseline = match args.baseline.as_slice() {
        [] => None,
        files => Some(load_inputs(
            &root,
            &baseline_inputs(&root, files, &current)?,
        )?),
    };
    let mut areas: Vec<AreaSpec> = args.area.iter().map(AreaSpec::private).collect();
    areas.extend(args.write_area.iter().map(AreaSpec::protected));
    let audit = Audit {
        areas: if areas.is_empty() {
            Audit::default_areas(&loaded)
        } else {
            areas
        },
        current: loaded,
        baseline,
        principal: parse_principal(args.principal.as_deref())?,
        now: jiff::Timestamp::now(),
        threads,
        non_cognito_roles: Default::default(),
    };
    Ok((root, audit))
}

fn runtime(threads: usize) -> Result<tokio::runtime::Runtime, AuditError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .map_err(|e| AuditError::Engine(format!("cannot start the runtime: {e}")))
}

enum Serve {
    Scheduler(std::net::SocketAddr),
    Executor {
        scheduler: std::net::SocketAddr,
        bind: std::net::SocketAddr,
        slots: usize,
        work_dir: Option<PathBuf>,
    },
}

#[cfg(feature = "ballista")]
fn serve(args: &PolicyArgs, what: Serve) -> Result<u8, AuditError> {
    use policy_sim_audit::distributed;
    if let Serve::Executor {
        work_dir: Some(d), ..
    } = &what
        && !d.is_dir()
    {
        return Err(AuditError::Usage(format!(
            "--work-dir {}: not a directory (give one that exists)",
            d.display()
        )));
    }
    let threads = threads(None);
    let (_, audit) = build_audit(args, &[], threads)?;
    eprintln!(
        "decides with digest {} (areas {})",
        audit.function_digest(&audit.current),
        audit.areas_digest()
    );
    let rt = runtime(threads)?;
    match what {
        Serve::Scheduler(bind) => {
            rt.block_on(distributed::run_scheduler(std::sync::Arc::new(audit), bind))?
        }
        Serve::Executor {
            scheduler,
            bind,
            slots,
            work_dir,
        } => {
            // The default directory is removed when this guard drops, as the executor stops.
            let temporary;
            let dir = match work_dir {
                Some(d) => d,
                None => {
                    temporary = tempfile::TempDir::new().map_err(|e| {
                        AuditError::Engine(format!(
                            "cannot make the executor's work directory: {e}"
                        ))
                    })?;
                    temporary.path().to_path_buf()
                }
            };
            rt.block_on(distributed::run_executor(
                &audit, scheduler, bind, slots, &dir,
            ))?
        }
    }
    Ok(0)
}

#[cfg(not(feature = "ballista"))]
fn serve(_args: &PolicyArgs, _what: Serve) -> Result<u8, AuditError> {
    Err(AuditError::Usage(
        "this build has no Ballista engine (built without the `ballista` feature)".to_string(),
    ))
}

fn run(args: &RunArgs) -> Result<u8, AuditError> {
    let engine = Engine::parse(&args.engine)?;
    let threads = threads(args.threads);
    let (root, mut audit) = build_audit(&args.policy, &args.inputs, threads)?;
    let roles = NonCognitoRoles::from_arns(&args.non_cognito_roles)
        .map_err(|e| AuditError::Usage(format!("--non-cognito-role: {e}")))?;
    audit.non_cognito_roles = std::sync::Arc::new(roles);
    let inputs = policy_sim_audit::inputs::discover(&root, &args.inputs)?;
    let out = match &args.out {
        Some(path) => {
            OutFormat::of(path)?;
            Some(OutWriter::create(path)?)
        }
        None => None,
    };
    let output =
        runtime(threads)?.block_on(audit.run(&engine, inputs, out, args.sql.as_deref()))?;
    let report = &output.report;
    match args.format {
        Format::Text => {
            print!("{}", report.text());
            if let Some(batches) = &output.sql {
                let table = datafusion::arrow::util::pretty::pretty_format_batches(batches)
                    .map_err(|e| AuditError::Engine(e.to_string()))?;
                for line in table.to_string().lines() {
                    println!("{}", policy_sim::report::field(line));
                }
            }
        }
        Format::Json => {
            let mut value =
                serde_json::to_value(report).map_err(|e| AuditError::Engine(e.to_string()))?;
            if let Some(batches) = &output.sql {
                value["sql"] = sql_rows(batches)?;
            }
            println!(
                "{}",
                serde_json::to_string_pretty(&value)
                    .map_err(|e| AuditError::Engine(e.to_string()))?
            );
        }
    }
    Ok(report.verdict.exit_code())
}

/// `--sql`'s result as an array of JSON objects.
fn sql_rows(
    batches: &[datafusion::arrow::record_batch::RecordBatch],
) -> Result<serde_json::Value, AuditError> {
    let mut writer = datafusion::arrow::json::ArrayWriter::new(Vec::new());
    for b in batches {
        writer.write(&policy_sim_audit::table::plain_text(b)?)?;
    }
    writer.finish()?;
    let bytes = writer.into_inner();
    if bytes.is_empty() {
        return Ok(serde_json::Value::Array(Vec::new()));
    }
    serde_json::from_slice(&bytes).map_err(|e| AuditError::Engine(e.to_string()))
}

/// `--baseline` files: IAM policy documents (a JSON object with `Statement`), or one
/// template read with the current --role and --param.
fn baseline_inputs(
    root: &Root,
    files: &[PathBuf],
    current: &PolicyInputs,
) -> Result<PolicyInputs, AuditError> {
    let is_policy = |p: &PathBuf| -> Result<bool, AuditError> {
        let resolved = root.resolve(p)?;
        let bytes = std::fs::read(&resolved).map_err(|e| AuditError::Input {
            file: p.display().to_string(),
            reason: format!("cannot read: {e}"),
        })?;
        Ok(serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .is_some_and(|v| v.get("Statement").is_some()))
    };
    let mut policies = Vec::new();
    let mut templates = Vec::new();
    for f in files {
        if is_policy(f)? {
            policies.push(f.clone());
        } else {
            templates.push(f.clone());
        }
    }
    match (policies.is_empty(), templates.as_slice()) {
        (false, []) => Ok(PolicyInputs {
            policies,
            template: None,
            role: None,
            params: Vec::new(),
            managed: Vec::new(),
            types: current.types.clone(),
        }),
        (true, [t]) => Ok(PolicyInputs {
            policies: Vec::new(),
            template: Some(t.clone()),
            role: current.role.clone(),
            params: current.params.clone(),
            managed: current.managed.clone(),
            types: current.types.clone(),
        }),
        _ => Err(AuditError::Usage(
            "--baseline takes IAM policy files (a JSON object with \"Statement\"), or one template; not both, nor two templates".to_string(),
        )),
    }
}

//! `policy-sim`: the command-line interface over the `policy_sim` library. It parses the
//! arguments, calls the library and prints what the library's reports render; every
//! error goes through [`print_error`].

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use policy_sim::RequestError;
use policy_sim::cognito::{self, CheckMode, FlowError, FlowIdentity};
use policy_sim::eval::Decision;
use policy_sim::eval::authorize::{AuthorizeError, Policies};
use policy_sim::lang::principal::{Caller, PrincipalError};
use policy_sim::load::types::{PolicyTypeFiles, TypesError, add_policy_types};
use policy_sim::load::{self, Loaded, is_stdin};
use policy_sim::managed::{Claim, Given, NotSeen};
use policy_sim::report::batch::{BatchError, BatchOptions, run_authorized};
use policy_sim::report::check::Explained;
use policy_sim::report::show::{ShowError, Shown};
use policy_sim::report::{self, evaluation_json, explanation_text, json_line, terminal_safe};
use policy_sim::request::Request;
use policy_sim::root::{Root, RootError};
use policy_sim::template::{Params, Template, TemplateError};

/// Offline AWS IAM policy evaluator and access simulator.
#[derive(Parser)]
#[command(name = "policy-sim", version, about, after_help = help::MAIN)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The project root: no file outside it is read (default: the git work tree that
    /// holds the first input, else the current directory when it holds the input, else
    /// the input's directory).
    #[arg(long, value_name = "DIR", global = true)]
    root: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Decide one request (exit 0 Allow, 1 deny) or a JSON Lines batch (--requests).
    #[command(override_usage = help::CHECK_USAGE, after_help = help::CHECK)]
    Check(Box<CheckArgs>),
    /// Print the IAM JSON a template's role will have, resolved (pipe it to --policy -).
    #[command(after_help = help::SHOW)]
    Show(ShowArgs),
    /// Prove a property of the policies, or give a counterexample.
    Prove {
        #[command(subcommand)]
        property: Property,
    },
    /// Run the CI policy gate (exit 0 all checks pass, 1 a check failed, 2 invalid input).
    #[command(after_help = help::GATE)]
    Gate(GateArgs),
    /// Write the gate file's access report: one self-contained HTML page (exit 0 written,
    /// 2 invalid input).
    #[command(after_help = help::REPORT)]
    Report(ReportArgs),
    /// Report known-dangerous patterns (exit 1 when an error or warning remains).
    #[command(
        override_usage = help::LINT_USAGE,
        after_help = help::LINT,
        // `Source` is shared with check, which runs the Cognito flow and reads standard
        // input; lint does neither, and refuses --principal and --resource-account.
        mut_arg("policies", |a| a.help(
            "Policy file (IAM JSON) to lint; repeat for several (not standard input). \
             Required unless --template is given"
        )),
        mut_arg("role", |a| a.help(
            "The role whose policies are linted: its logical id (optional when the \
             template has one AWS::IAM::Role)"
        )),
        mut_arg("principal", |a| a.hide(true)),
        mut_arg("resource_account", |a| a.hide(true)),
    )]
    Lint(LintArgs),
    /// List the AWS actions patterns cover, from the bundled catalog (exit 1 when a pattern covers none).
    #[command(after_help = help::ACTIONS)]
    Actions(ActionsArgs),
    /// Search for a counterexample to a property by sampling requests (reproducible).
    Fuzz {
        #[command(subcommand)]
        property: FuzzProperty,
    },
    /// Write synthetic JSON Lines requests against the shipped policies (for benchmarks).
    #[command(after_help = help::GENERATE_REQUESTS)]
    GenerateRequests {
        /// How many requests.
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
        /// Seed: the same seed gives the same requests.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Print a shell completion script for policy-sim.
    #[command(after_help = help::COMPLETIONS)]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print policy-sim's man page (roff), or write a page per command into a directory.
    #[command(after_help = help::MAN)]
    Man {
        /// Write policy-sim.1 and one page per command and subcommand (policy-sim-check.1,
        /// policy-sim-prove-isolation.1, ...) into DIR, created when missing.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// The parts of `--help` written by hand: usage lines clap cannot derive (flags required
/// only in some combination), exit codes and examples. The examples run from the
/// repository root on its shipped files; `tests/help.rs` runs every one of them.
mod help {
    /// Top level.
    pub const MAIN: &str = "\
Each command's --help lists its exit codes and examples.
Shell completions: policy-sim completions SHELL; man pages: policy-sim man [--dir DIR].";

    /// `check`: a single request, or a batch.
    pub const CHECK_USAGE: &str = "\
policy-sim check [OPTIONS] <--policy <FILE>|--template <FILE>> --action <ACTION> --resource <ARN>
       policy-sim check [OPTIONS] <--policy <FILE>|--template <FILE>> --requests <FILE>";

    /// `check`.
    pub const CHECK: &str = "\
Exit codes:
  0    Allow (with --requests: every line was decided)
  1    ExplicitDeny or ImplicitDeny (one request)
  2    invalid input or arguments (with --requests: a line could not be decided)
  141  standard output was closed before everything was written

Examples:
  policy-sim check --policy policies/corrected-auth-role.json --identity us-east-1:abc --action s3:GetObject --resource arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/a.txt
  policy-sim check --policy policies/corrected-auth-role.json --requests fixtures/batch/example.jsonl";

    /// `show`.
    pub const SHOW: &str = "\
Exit codes:
  0    the policies were printed
  2    invalid input or arguments
  141  standard output was closed before everything was written

Examples:
  policy-sim show --template fixtures/templates/fn-sub/template.yml --only Objects
  policy-sim show --template fixtures/templates/fn-sub/template.yml --trust";

    /// `prove isolation`.
    pub const PROVE_ISOLATION_USAGE: &str = "\
policy-sim prove isolation [OPTIONS] <--policy <FILE>|--template <FILE>>";

    /// `prove isolation`.
    pub const PROVE_ISOLATION: &str = "\
Exit codes:
  0    holds
  1    violated (a counterexample is printed)
  2    invalid input or arguments
  3    unknown (the reason is printed)
  141  standard output was closed before everything was written

Examples:
  policy-sim prove isolation --policy policies/corrected-auth-role.json
  policy-sim prove isolation --policy policies/console-auth-role.json --identity-format opaque";

    /// `gate`.
    pub const GATE: &str = "\
Exit codes:
  0    every check passed
  1    a check failed
  2    the gate file or a policy is invalid, or a report file cannot be written
  141  standard output was closed before everything was written

Examples:
  policy-sim gate
  policy-sim gate --config fixtures/readme/gate/policy-gate.yml --sarif policy-gate.sarif --junit policy-gate.xml
  policy-sim gate --config fixtures/readme/gate/policy-gate.yml --html report.html";

    /// `report`.
    pub const REPORT: &str = "\
The page shows per gate: who can reach each per-identity area (the owner, other
identities, guests, everyone through a resource-based policy) for read and write, the
Cognito flow of each role, every counterexample with the statement that allows it
highlighted in the policy's text, lint findings next to their statements, and the
no-new-access result. It loads nothing from the network. `gate --html FILE` writes the
same page and keeps the gate's exit code.

Exit codes:
  0    the report was written (whatever it shows)
  2    the gate file or a policy is invalid, or the report cannot be written
  141  standard output was closed before everything was written

Examples:
  policy-sim report --html report.html
  policy-sim report --config fixtures/report/amplify-gen1.yml --html amplify-report.html";

    /// `lint`.
    pub const LINT_USAGE: &str = "\
policy-sim lint [OPTIONS] <--policy <FILE>|--template <FILE>>";

    /// `lint`.
    pub const LINT: &str = "\
Findings are listed errors first, then warnings, then infos; a last line counts each
severity.

Exit codes:
  0    no error or warning (infos only, or nothing)
  1    an error or a warning was found
  2    invalid input or arguments
  141  standard output was closed before everything was written

Examples:
  policy-sim lint --policy policies/console-auth-role.json
  policy-sim lint --policy policies/corrected-auth-role.json --format json";

    /// `actions`.
    pub const ACTIONS: &str = "\
Exit codes:
  0    every pattern covers an action
  1    a pattern covers no action AWS documents
  2    a pattern is not an action pattern
  141  standard output was closed before everything was written

Examples:
  policy-sim actions 's3:GetObjec?' iam:PassRole
  policy-sim actions --format json 'cognito-identity:Get*'";

    /// `fuzz isolation`.
    pub const FUZZ_ISOLATION_USAGE: &str = "\
policy-sim fuzz isolation [OPTIONS] <--policy <FILE>|--template <FILE>>";

    /// `fuzz isolation`.
    pub const FUZZ_ISOLATION: &str = "\
Exit codes:
  0    no counterexample found (sampling proves nothing: use prove isolation)
  1    a counterexample was found
  2    invalid input or arguments
  141  standard output was closed before everything was written

Examples:
  policy-sim fuzz isolation --policy policies/corrected-auth-role.json --cases 200 --seed 7
  policy-sim fuzz isolation --policy fixtures/isolation/aws-reference-cognito-bucket.json --cases 1000";

    /// `generate-requests`.
    pub const GENERATE_REQUESTS: &str = "\
Exit codes:
  0    the requests were written
  2    standard output cannot be written
  141  standard output was closed before everything was written

Examples:
  policy-sim generate-requests --count 3 --seed 1
  policy-sim generate-requests --count 10000 --seed 2 > requests.jsonl";

    /// `completions`.
    pub const COMPLETIONS: &str = "\
Exit codes:
  0    the script was printed
  2    an unknown shell, or standard output cannot be written
  141  standard output was closed before everything was written

Examples:
  policy-sim completions bash > ~/.local/share/bash-completion/completions/policy-sim
  policy-sim completions zsh > ~/.zfunc/_policy-sim";

    /// `man`.
    pub const MAN: &str = "\
Exit codes:
  0    the page was printed, or the pages were written
  2    DIR cannot be created or a page cannot be written
  141  standard output was closed before everything was written

Examples:
  policy-sim man > policy-sim.1
  policy-sim man --dir man/man1";
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
    /// Policy file (IAM JSON); repeat for several; `-` reads standard input. Required
    /// unless --template is given; with --principal it may be left out (a principal
    /// without identity-based policies).
    #[arg(
        long = "policy",
        value_name = "FILE",
        required_unless_present_any = ["template", "principal"],
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
    /// logical id, LogicalId.Attr, an export name, opt:stage, self:custom.stage, ...); repeat
    /// for several. A name the template neither defines nor uses is an error.
    #[arg(long = "param", value_name = "NAME=VALUE", requires = "template")]
    params: Vec<String>,
    /// The document of a managed policy the role names by ARN (ManagedPolicyArns):
    /// ARN=FILE; repeat for several. AWS managed policies are bundled.
    #[arg(
        long = "managed-policy",
        value_name = "ARN=FILE",
        requires = "template"
    )]
    managed: Vec<String>,
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
    /// Action, e.g. s3:GetObject. Required unless --requests is given.
    #[arg(
        long,
        required_unless_present = "requests",
        conflicts_with = "requests"
    )]
    action: Option<String>,
    /// Resource ARN (or `*`). Required unless --requests is given.
    #[arg(
        long,
        value_name = "ARN",
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
    /// Required unless --action and --resource are given.
    #[arg(long, value_name = "FILE")]
    requests: Option<PathBuf>,
    /// Worker threads for --requests, 1 to 256 (default: all cores, at most 256); output
    /// order is kept.
    #[arg(long, value_name = "N", requires = "requests", value_parser = thread_count)]
    threads: Option<usize>,
    /// Output format for a single request (default: text). A batch (--requests) writes
    /// JSON Lines: --format text is refused with it.
    #[arg(long, value_enum)]
    format: Option<Format>,
    #[command(flatten)]
    types: PolicyTypeArgs,
}

/// The principal and every policy type AWS evaluates besides identity-based policies.
#[derive(clap::Args, Debug, Clone, Default)]
struct PolicyTypeArgs {
    /// The caller: a role session (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION), an IAM
    /// user, the account (arn:aws:iam::ACCOUNT:root or its id) or a federated user
    /// (arn:aws:sts::ACCOUNT:federated-user/NAME).
    #[arg(long, value_name = "ARN")]
    principal: Option<String>,
    /// The requested resource's resource-based policy (S3 bucket policy, KMS key policy,
    /// API Gateway, SQS, SNS or Lambda resource policy).
    #[arg(long = "resource-policy", value_name = "FILE")]
    resource_policy: Option<PathBuf>,
    /// The account that owns a resource whose ARN has no account (S3); default: the
    /// principal's.
    #[arg(long = "resource-account", value_name = "ACCOUNT")]
    resource_account: Option<String>,
    /// The principal's permissions boundary.
    #[arg(long, value_name = "FILE")]
    boundary: Option<PathBuf>,
    /// A session policy of the role session; repeat for several (they are one set).
    #[arg(long = "session-policy", value_name = "FILE")]
    session_policies: Vec<PathBuf>,
    /// A service control policy at an organization level (root, an OU, the account):
    /// LEVEL=FILE; files with the same LEVEL form one level, levels in the order first
    /// given.
    #[arg(long = "scp", value_name = "LEVEL=FILE", value_parser = level_file)]
    scps: Vec<(String, PathBuf)>,
    /// A resource control policy at an organization level: LEVEL=FILE, as for --scp.
    #[arg(long = "rcp", value_name = "LEVEL=FILE", value_parser = level_file)]
    rcps: Vec<(String, PathBuf)>,
}

impl PolicyTypeArgs {
    /// The files, for the library's loader.
    fn files(&self) -> PolicyTypeFiles {
        PolicyTypeFiles {
            resource: self
                .resource_policy
                .iter()
                .map(|p| (None, p.clone()))
                .collect(),
            resource_account: self.resource_account.clone(),
            boundary: self.boundary.clone(),
            session: self.session_policies.clone(),
            scps: self.scps.clone(),
            rcps: self.rcps.clone(),
        }
    }

    /// The caller named by --principal.
    fn caller(&self) -> Result<Option<Caller>, Failure> {
        self.principal
            .as_deref()
            .map(Caller::parse)
            .transpose()
            .map_err(Failure::Principal)
    }
}

/// A `--scp`/`--rcp` value: LEVEL=FILE, both non-empty.
fn level_file(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((level, file)) if !level.is_empty() && !file.is_empty() => {
            Ok((level.to_string(), PathBuf::from(file)))
        }
        _ => Err(
            "expected LEVEL=FILE, e.g. root=scp.json (LEVEL: root, an OU, the account)".to_string(),
        ),
    }
}

#[derive(Subcommand)]
enum Property {
    /// No identity can reach another identity's area (exit 0 holds, 1 violated, 3 unknown).
    #[command(
        override_usage = help::PROVE_ISOLATION_USAGE,
        after_help = help::PROVE_ISOLATION
    )]
    Isolation(ProveArgs),
}

#[derive(clap::Args)]
struct ProveArgs {
    #[command(flatten)]
    isolation: IsolationArgs,
    /// How to decide: the built-in automata, or an SMT solver (z3 or cvc5 on the PATH).
    #[arg(long, value_enum, default_value = "automata")]
    solver: SolverChoice,
    /// With --solver smt: keep the SMT-LIB2 scripts in this directory.
    #[arg(long, value_name = "DIR")]
    smt_dir: Option<PathBuf>,
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
    /// Also write the access report (one self-contained HTML page) to this file.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ReportArgs {
    /// The gate file (YAML or JSON) whose policies and checks the report shows.
    #[arg(long, value_name = "FILE", default_value = "policy-gate.yml")]
    config: PathBuf,
    /// Where to write the HTML page.
    #[arg(long, value_name = "FILE", required = true)]
    html: PathBuf,
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
    #[command(flatten)]
    types: PolicyTypeArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(Subcommand)]
enum FuzzProperty {
    /// Sample identity pairs and resources; exit 0 none found, 1 counterexample.
    #[command(
        override_usage = help::FUZZ_ISOLATION_USAGE,
        after_help = help::FUZZ_ISOLATION
    )]
    Isolation(FuzzArgs),
}

#[derive(clap::Args)]
struct FuzzArgs {
    #[command(flatten)]
    isolation: IsolationArgs,
    /// How many cases to try (at most 1,000,000; a larger count is an error).
    #[arg(long, default_value_t = 10_000)]
    cases: u64,
    /// Seed: the same seed tries the same cases.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Refused: fuzz decides each sampled case with the evaluator (an SMT solver is for
    /// prove isolation --solver smt). Hidden, and kept to say so rather than be ignored.
    #[arg(long, value_name = "SOLVER", hide = true)]
    solver: Option<String>,
    /// Refused, as --solver is.
    #[arg(long, value_name = "DIR", hide = true)]
    smt_dir: Option<PathBuf>,
}

#[derive(clap::Args)]
struct IsolationArgs {
    #[command(flatten)]
    source: Source,
    /// A private area: a resource pattern with ${cognito-identity.amazonaws.com:sub} in
    /// which no other identity may do anything, listing its names included; repeat for
    /// several (default: every such pattern in the Allow statements, as private areas).
    #[arg(long = "area", value_name = "PATTERN")]
    areas: Vec<String>,
    /// A protected area: other identities may read inside it (the catalog's Read and List
    /// actions) but not write (every other action); repeat for several.
    #[arg(long = "write-area", value_name = "PATTERN")]
    write_areas: Vec<String>,
    /// Which strings an identity can be: cognito (<region>:<uuid>, all one length),
    /// opaque (any non-empty string without '/': lengths differ), any (any non-empty
    /// string), or regex:RE (a regular expression the whole identity matches).
    #[arg(
        long,
        value_name = "cognito|opaque|any|regex:RE",
        default_value = "cognito"
    )]
    identity_format: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    types: PolicyTypeArgs,
}

impl IsolationArgs {
    /// The areas named: the private ones (`--area`), then the protected ones
    /// (`--write-area`).
    fn area_specs(&self) -> Vec<policy_sim::analysis::prover::AreaSpec> {
        use policy_sim::analysis::prover::AreaSpec;
        let private = self.areas.iter().map(AreaSpec::private);
        private
            .chain(self.write_areas.iter().map(AreaSpec::protected))
            .collect()
    }
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
    let root = cli.root.as_deref();
    let result = match cli.command {
        Command::Check(args) => check(&args, root),
        Command::Show(args) => show(&args, root),
        Command::Prove {
            property: Property::Isolation(args),
        } => prove_isolation(&args, root),
        Command::Fuzz {
            property: FuzzProperty::Isolation(args),
        } => fuzz_isolation(&args, root),
        Command::Gate(args) => gate(&args, root),
        Command::Report(args) => access_report(&args, root),
        Command::Lint(args) => lint(&args, root),
        Command::Actions(args) => actions(&args),
        Command::GenerateRequests { count, seed } => {
            let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            policy_sim::workload::write_requests(&mut out, count, seed)
                .map(|()| ExitCode::SUCCESS)
                .map_err(Failure::Output)
        }
        Command::Completions { shell } => completions(shell),
        Command::Man { dir } => man(dir.as_deref()),
    };
    result.unwrap_or_else(|e| print_error(&e))
}

const EXIT_DENY: u8 = 1;
const EXIT_BAD_INPUT: u8 = 2;
const EXIT_UNKNOWN: u8 = 3;
/// Standard output closed by its reader: the shell's code for a process ended by SIGPIPE
/// (128 + 13). Not 0: for `check` 0 means Allow, for `gate` PASS.
const EXIT_BROKEN_PIPE: u8 = 141;

/// Why a command could not run. [`print_error`] prints it; the exit code is 2.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
enum Failure {
    /// Arguments that do not fit together (the message names the flags).
    #[error("{0}")]
    Usage(String),
    /// Policies that could not be loaded.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Load(#[from] load::Error),
    /// A template that cannot be used.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The Cognito flow could not be run.
    #[error(transparent)]
    Flow(#[from] FlowError),
    /// A request that cannot be evaluated.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// A `--principal` that is not a caller's ARN.
    #[error(transparent)]
    Principal(PrincipalError),
    /// Policies of the other types that could not be loaded.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Types(#[from] TypesError),
    /// A request that cannot be decided with every policy type.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Authorize(#[from] AuthorizeError),
    /// A role's policies that cannot be shown.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Show(#[from] ShowError),
    /// An action pattern that is not one.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Action(#[from] policy_sim::lang::parse::ActionPatternError),
    /// An identity format that cannot be used.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Format(#[from] policy_sim::analysis::identity::FormatError),
    /// A property that cannot be proved as asked (areas, the SMT solver).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Prover(#[from] policy_sim::analysis::prover::ProverError),
    /// A request file that cannot be opened.
    #[error("{}: cannot read: {detail}", path.display())]
    Input {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// A batch whose request file could not be read to the end.
    #[error("{}: {error}", path.display())]
    Batch {
        /// The request file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A batch whose worker threads could not be started.
    #[error("{0}")]
    Threads(policy_sim::report::batch::BatchError),
    /// A file outside the project root, or a root that cannot be used.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Root(#[from] RootError),
    /// The gate's gate file or policies cannot be used.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Gate(#[from] policy_sim::gate::GateError),
    /// A `--managed-policy` that is not ARN=FILE.
    #[error(transparent)]
    Given(#[from] policy_sim::managed::GivenError),
    /// A verdict that depends on a policy the tool did not evaluate.
    #[error(transparent)]
    NotSeen(#[from] NotSeen),
    /// A report file that could not be written.
    #[error("{}: {error}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// Standard output could not be written.
    #[error("writing to stdout: {0}")]
    Output(std::io::Error),
}

/// Print `err` and give exit code 2: the one place errors are printed.
///
/// An error that carries its source text is drawn with the offending line (miette's
/// graphical renderer); any other is one line, `error: MESSAGE`. [`cli_message`] words
/// the message for the command line (the library's messages name no flags). Standard
/// output closed by its reader is not reported (there is no one to tell): exit 141.
fn print_error(err: &Failure) -> ExitCode {
    if let Failure::Output(e) = err
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        return ExitCode::from(EXIT_BROKEN_PIPE);
    }
    let message = cli_message(err);
    let message = terminal_safe(&message);
    let located = template_snippet(err);
    let diagnostic: &dyn miette::Diagnostic = match &located {
        Some(l) => l,
        None => err,
    };
    // A gate file's errors stay one line, as CI logs read them (the error keeps its
    // snippet for other renderers).
    let drawn = !matches!(err, Failure::Gate(_));
    if drawn && diagnostic.source_code().is_some() {
        let shown = Reworded {
            message: &message,
            inner: diagnostic,
            source: diagnostic.source_code().map(SafeName),
        };
        // Drawn from parts made terminal-safe (message, help, file name; the library's
        // snippet escapes its text), so the renderer's own colours survive.
        write_stderr(&Graphical(&shown).to_string());
    } else {
        say(&format!("error: {}", indented(&message)));
    }
    ExitCode::from(EXIT_BAD_INPUT)
}

/// A `--threads` value: 1 to [`MAX_THREADS`](policy_sim::report::batch::MAX_THREADS).
fn thread_count(text: &str) -> Result<usize, String> {
    use policy_sim::report::batch::MAX_THREADS;
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a number of threads from 1 to {MAX_THREADS}"
        )),
    }
}

/// `message` with every continuation line that does not start indented indented by two
/// spaces: a line break inside a value from the input cannot start a line that reads like
/// a report's own (`Decision: Allow`). Lists the message indents itself are kept as they
/// are.
fn indented(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for (i, line) in message.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            if !line.is_empty() && !line.starts_with(' ') {
                out.push_str("  ");
            }
        }
        out.push_str(line);
    }
    out
}

/// Write one message (error, warning, summary) to standard error, with a newline, made
/// [`terminal_safe`]. A standard error that cannot be written (closed, full) is not an
/// error of its own: the exit code still tells the outcome, and there is no one left to
/// tell (`eprintln!` would panic, exit 101, instead).
fn say(text: &str) {
    write_stderr(&terminal_safe(text));
}

/// [`say`] for text already safe for a terminal.
fn write_stderr(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err
        .write_all(text.as_bytes())
        .and_then(|()| err.write_all(b"\n"));
}

/// The message of `err` as the command line words it: library errors that stand for a
/// missing or conflicting argument name the flag here, and only here. (A library error
/// that exposes what a flag would supply, such as the key of a value every request has,
/// gets its arm here appending the flag, e.g. ` (e.g. --context KEY=...)`.)
fn cli_message(err: &Failure) -> String {
    match err {
        Failure::Flow(FlowError::NoIdentity) => "the template has an identity pool: the Cognito flow needs --identity ID (or name a role with --role to check its policies alone)".to_string(),
        Failure::Flow(FlowError::UnauthenticatedWithoutFlow) => "--unauthenticated needs the Cognito flow: a template with an identity pool, and no --role".to_string(),
        Failure::Load(load::Error::StdinTwice { .. }) => {
            "standard input (`-`) can be read only once: give `--policy -` once".to_string()
        }
        Failure::Load(load::Error::Policy(e)) => policy_message(e),
        Failure::Request(e) | Failure::Flow(FlowError::Request(e)) => request_message(e),
        Failure::Format(e) => format_message(e),
        Failure::Prover(e) => prover_message(e),
        Failure::Template(e)
        | Failure::Flow(FlowError::Template(e))
        | Failure::Load(load::Error::Template(e)) => template_message(e),
        Failure::NotSeen(e) | Failure::Flow(FlowError::NotSeen(e)) => not_seen_message(e),
        Failure::Given(e) => given_message(e),
        Failure::Principal(e) => format!("--principal: {e}"),
        Failure::Authorize(e)
        | Failure::Types(TypesError::Policies(e))
        | Failure::Flow(FlowError::Authorize(e)) => authorize_message(e),
        _ => err.to_string(),
    }
}

/// A policy file that cannot be read as a policy. When it is a directory, or a deploy
/// input (a template, a Serverless service, a Terraform plan), `--template` is named.
fn policy_message(e: &policy_sim::lang::parse::LoadError) -> String {
    use policy_sim::lang::parse::LoadError;
    let file = match e {
        LoadError::Read { file, .. } => file.as_str(),
        LoadError::Invalid { loc, .. } => &loc.file,
    };
    let path = Path::new(file);
    let hint = if file == load::STDIN_NAME {
        None
    } else if path.is_dir() {
        Some(format!(
            "{file} is a directory: --policy reads IAM policy files; a template (or another deploy input) is read with --template FILE"
        ))
    } else {
        policy_sim::template::read_text(&Root::discover(path), path)
            .ok()
            .and_then(|text| policy_sim::template::hints::looks_like_input(&text))
            .map(|kind| {
                format!(
                    "{file} looks like {kind}, not an IAM policy: read it with --template {file}"
                )
            })
    };
    match hint {
        Some(hint) => format!("{e}\nhint: {hint}"),
        None => e.to_string(),
    }
}

/// A decision that cannot be made with every policy type, as the command line words it:
/// the principal is `--principal`, the resource's account `--resource-account`.
fn authorize_message(e: &AuthorizeError) -> String {
    match e {
        AuthorizeError::NoPrincipal { .. } => format!("{e}: give --principal"),
        AuthorizeError::AccountMismatch { .. } => format!("{e} (given with --resource-account)"),
        AuthorizeError::BadAccount { .. } => format!("--resource-account {e}"),
        AuthorizeError::Request(r) => request_message(r),
        AuthorizeError::NotASession { .. }
        | AuthorizeError::KeyConflict { .. }
        | AuthorizeError::TwoBoundaries { .. }
        | AuthorizeError::TwoAccounts { .. } => e.to_string(),
    }
}

/// A verdict that cannot stand, with the flag that gives a managed policy's document.
fn not_seen_message(e: &NotSeen) -> String {
    if e.wants_document() {
        format!("{e} (give a managed policy's document with --managed-policy ARN=FILE)")
    } else {
        e.to_string()
    }
}

/// A `--managed-policy` value that cannot be used, as the command line words it.
fn given_message(e: &policy_sim::managed::GivenError) -> String {
    use policy_sim::managed::GivenError;
    match e {
        GivenError::NotPair { item } => format!("--managed-policy {item:?} is not ARN=FILE"),
        GivenError::NotPolicyArn { arn } => format!(
            "--managed-policy {arn:?}: not a policy ARN (arn:PARTITION:iam::ACCOUNT:policy/NAME)"
        ),
        GivenError::Twice { arn } => format!("--managed-policy {arn} is given twice"),
    }
}

/// An identity format error as the command line words it.
fn format_message(e: &policy_sim::analysis::identity::FormatError) -> String {
    use policy_sim::analysis::identity::FormatError;
    match e {
        FormatError::InvalidRegex { spec, source } => {
            format!("--identity-format {spec:?} is not a valid regular expression: {source}")
        }
        FormatError::UnknownName { spec } => format!(
            "--identity-format {spec:?} is not one of cognito, any, regex:<regular expression>"
        ),
        FormatError::NoIdentity { spec } => {
            format!("--identity-format {spec:?} matches no non-empty identity")
        }
    }
}

/// A prover error as the command line words it: areas are `--area`, the solver is
/// `--solver smt`.
fn prover_message(e: &policy_sim::analysis::prover::ProverError) -> String {
    use policy_sim::analysis::prover::{ProverError, smt::SmtError};
    match e {
        ProverError::NoArea => format!("{e} with --area"),
        ProverError::InvalidArea { area, message } => format!("--area {area:?}: {message}"),
        ProverError::AreaWithoutIdentity { area } => {
            format!("--area {area:?} does not mention ${{cognito-identity.amazonaws.com:sub}}")
        }
        ProverError::Smt(SmtError::UnsupportedFormat(format)) => {
            format!("--solver smt supports the cognito and any identity formats, not {format:?}")
        }
        ProverError::Smt(_)
        | ProverError::Policies(_)
        | ProverError::RootPrincipal { .. }
        | ProverError::Undecided { .. } => e.to_string(),
        ProverError::TooManyCases { cases } => format!(
            "--cases {cases} is more than one fuzz run may try (at most {})",
            policy_sim::analysis::prover::fuzz::MAX_CASES
        ),
    }
}

/// A request error as the command line words it.
fn request_message(e: &RequestError) -> String {
    match e {
        RequestError::MissingKey { key } | RequestError::MissingPrincipalKey { key, .. } => {
            format!("{e} (e.g. --context {key}=...)")
        }
        _ => e.to_string(),
    }
}

/// A template error as the command line words it: parameters are `--param`, the role is
/// `--role`.
fn template_message(e: &TemplateError) -> String {
    use policy_sim::template::{ParamProblem, missing_message};
    match e {
        TemplateError::Missing(missing) => missing_message(missing, "with --param NAME=VALUE"),
        TemplateError::ManyRoles { loc, roles } => format!(
            "{loc}: the template has {} roles; choose one with --role ({})",
            roles.len(),
            roles.join(", ")
        ),
        TemplateError::UnusedParam { file, given, asked } => format!(
            "{file}: --param {given} is never used, but the template asks for {asked}: misspelt? (without it, {asked} keeps its default)"
        ),
        TemplateError::UnknownParam {
            file,
            given,
            suggestion,
        } => format!(
            "{file}: --param {given} names nothing the template defines or uses{}",
            suggestion
                .as_ref()
                .map(|s| format!(" (did you mean --param {s}=...?)"))
                .unwrap_or_default()
        ),
        TemplateError::BadParam { item, problem } => match problem {
            ParamProblem::GivenTwice => format!("--param {item} {problem}"),
            ParamProblem::NotNameValue | ParamProblem::EmptyName => {
                format!("--param {item:?} {problem}")
            }
        },
        TemplateError::At { .. } | TemplateError::File { .. } => e.to_string(),
    }
}

/// A template error with a place, drawn with the line it names: the file is read again
/// here, as template errors do not carry their text.
fn template_snippet(err: &Failure) -> Option<Located> {
    let (Failure::Template(e)
    | Failure::Flow(FlowError::Template(e))
    | Failure::Load(load::Error::Template(e))) = err
    else {
        return None;
    };
    let loc = e.loc()?;
    // Read as the template was: bounded, and inside the root of the file itself.
    let file = Path::new(&*loc.file);
    let text = policy_sim::template::read_text(&Root::discover(file), file).ok()?;
    // The library's snippet: long lines are not drawn, control characters are escaped.
    Some(Located {
        message: template_message(e),
        snippet: policy_sim::loc::Snippet::new(loc, text.into())?,
    })
}

/// An error at a place in a text, labelled `here`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct Located {
    message: String,
    snippet: policy_sim::loc::Snippet,
}

impl miette::Diagnostic for Located {
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(self.snippet.source_code())
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(self.snippet.labels())
    }
}

/// A diagnostic with the command line's wording of its message, and the rest (source
/// text, labels, help) of the original.
#[derive(Debug)]
struct Reworded<'a> {
    message: &'a str,
    inner: &'a dyn miette::Diagnostic,
    /// The inner diagnostic's source, its file name made terminal-safe.
    source: Option<SafeName<'a>>,
}

impl std::fmt::Display for Reworded<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for Reworded<'_> {}

/// The code is left out: the printed form stays the message and the place (library
/// callers read codes from the error itself).
impl miette::Diagnostic for Reworded<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        self.inner.severity()
    }
    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        let help = self.inner.help()?.to_string();
        Some(Box::new(terminal_safe(&help).into_owned()))
    }
    fn url<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.inner.url()
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.inner.labels()
    }
}

/// A diagnostic's source, with its file name made [`terminal_safe`] (a file name can
/// hold an escape sequence; the text itself is escaped by the library's snippet).
struct SafeName<'a>(&'a dyn miette::SourceCode);

impl std::fmt::Debug for SafeName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SafeName")
    }
}

impl miette::SourceCode for SafeName<'_> {
    fn read_span<'b>(
        &'b self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'b> + 'b>, miette::MietteError> {
        let contents = self.0.read_span(span, before, after)?;
        let Some(name) = contents.name() else {
            return Ok(contents);
        };
        let safe = terminal_safe(name).into_owned();
        Ok(Box::new(miette::MietteSpanContents::new_named(
            safe,
            contents.data(),
            *contents.span(),
            contents.line(),
            contents.column(),
            contents.line_count(),
        )))
    }
}

/// A diagnostic drawn by miette's graphical renderer (as configured for the terminal).
struct Graphical<'a>(&'a dyn miette::Diagnostic);

impl std::fmt::Display for Graphical<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use miette::ReportHandler as _;
        miette::MietteHandler::new().debug(self.0, f)
    }
}

fn print_warnings(warnings: &[String]) {
    for w in warnings {
        say(&format!("warning: {}", report::field(w)));
    }
}

/// Write `text` to standard output, flushed: an error names standard output.
fn write_stdout(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Failure::Output)
}

/// Which words of a text report take colour on a terminal: only the words that say the
/// outcome; the text itself is the same with colour or without.
#[derive(Clone, Copy)]
enum Marks {
    /// The first line's `Decision: WORD` (check) or `Verdict: WORD` (prove).
    Head,
    /// The `PASS`, `FAIL` and `UNKNOWN` that start a gate's check lines.
    Gate,
    /// The first words of a fuzz run: `Found` or `No counterexample`.
    Fuzz,
}

/// How standard output takes colour, as anstream (and clap) decide it: `NO_COLOR` and
/// `CLICOLOR=0` turn it off, `CLICOLOR_FORCE` on; otherwise on for a terminal that
/// supports it. `None`: off.
fn stdout_colour() -> Option<anstream::ColorChoice> {
    let choice = anstream::AutoStream::choice(&std::io::stdout());
    (choice != anstream::ColorChoice::Never).then_some(choice)
}

/// Write a text report (already [`terminal_safe`]) to standard output, its `marks`
/// coloured when standard output takes colour.
fn write_text(text: &str, marks: Marks) -> Result<(), Failure> {
    let Some(choice) = stdout_colour() else {
        return write_stdout(text);
    };
    let painted = match marks {
        Marks::Head => paint_head(text),
        Marks::Gate => text
            .split_inclusive('\n')
            .map(|line| {
                ["PASS", "FAIL", "UNKNOWN"]
                    .into_iter()
                    .find_map(|label| {
                        let rest = line.strip_prefix(label)?;
                        rest.starts_with([' ', '['])
                            .then(|| format!("{}{rest}", painted(label)))
                    })
                    .unwrap_or_else(|| line.to_string())
            })
            .collect(),
        Marks::Fuzz => ["Found", "No counterexample"]
            .into_iter()
            .find_map(|words| {
                let rest = text.strip_prefix(words)?;
                Some(format!("{}{rest}", painted(words)))
            })
            .unwrap_or_else(|| text.to_string()),
    };
    write_coloured(&painted, choice)
}

/// `text` with the word after `Decision: ` or `Verdict: ` on its first line coloured.
fn paint_head(text: &str) -> String {
    let end = text.find('\n').unwrap_or(text.len());
    let (first, rest) = text.split_at(end);
    ["Decision: ", "Verdict: "]
        .into_iter()
        .find_map(|label| {
            let word = first.strip_prefix(label)?;
            word_style(word)?;
            Some(format!("{label}{}{rest}", painted(word)))
        })
        .unwrap_or_else(|| text.to_string())
}

/// The colour of a word that says an outcome; `None` for any other word.
fn word_style(word: &str) -> Option<anstyle::Style> {
    use anstyle::{AnsiColor, Style};
    let colour = |c: AnsiColor| Some(Style::new().bold().fg_color(Some(c.into())));
    match word {
        "Allow" | "holds" | "PASS" | "No counterexample" => colour(AnsiColor::Green),
        "ExplicitDeny" | "ImplicitDeny" | "violated" | "FAIL" | "Found" | "error" => {
            colour(AnsiColor::Red)
        }
        "unknown" | "UNKNOWN" | "warning" => colour(AnsiColor::Yellow),
        "info" => colour(AnsiColor::Cyan),
        _ => None,
    }
}

/// `word` between its colour's escape codes (as it is when it has none).
fn painted(word: &str) -> String {
    match word_style(word) {
        Some(style) => format!("{style}{word}{style:#}"),
        None => word.to_string(),
    }
}

/// Write text with colour codes to standard output through anstream (which turns them
/// into console calls where a Windows console needs that).
fn write_coloured(text: &str, choice: anstream::ColorChoice) -> Result<(), Failure> {
    let mut out = anstream::AutoStream::new(std::io::stdout().lock(), choice);
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Failure::Output)
}

/// `lint`'s text report, each finding's severity coloured when standard output takes
/// colour. The coloured text is written only when the plain one needs no escaping
/// ([`terminal_safe`] borrows it), so the codes are the only thing it adds.
fn write_lint(findings: &[policy_sim::lint::Finding]) -> Result<(), Failure> {
    use policy_sim::report::lint;
    let plain = lint::text(findings);
    let safe = terminal_safe(&plain);
    match (stdout_colour(), &safe) {
        (Some(choice), std::borrow::Cow::Borrowed(_)) => write_coloured(
            &lint::text_with(findings, &|severity| painted(severity.as_str())),
            choice,
        ),
        _ => write_stdout(&safe),
    }
}

/// `completions SHELL`: the script, written whole (a closed standard output is exit 141,
/// not a panic).
fn completions(shell: clap_complete::Shell) -> Result<ExitCode, Failure> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "policy-sim", &mut script);
    if shell == clap_complete::Shell::Bash {
        // The bash generator escapes the binary's `-` in the state its loop sets
        // (`policy__sim__subcmd__check`) and in the labels of the arms that match it
        // (`policy__subcmd__sim__subcmd__check`) differently, so no subcommand's options
        // would complete: the arms are spelt as the loop spells the state.
        let text = String::from_utf8_lossy(&script).replace("policy__subcmd__sim", "policy__sim");
        script = text.into_bytes();
    }
    let mut out = std::io::stdout().lock();
    out.write_all(&script)
        .and_then(|()| out.flush())
        .map_err(Failure::Output)?;
    Ok(ExitCode::SUCCESS)
}

/// `man`: the main page on standard output, or with `dir` a page per command and
/// subcommand written there (`policy-sim.1`, `policy-sim-check.1`,
/// `policy-sim-prove-isolation.1`, ...), the directory created when missing. Like the
/// gate's `--sarif FILE`, the pages go where they are asked to.
fn man(dir: Option<&Path>) -> Result<ExitCode, Failure> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let Some(dir) = dir else {
        let mut page = Vec::new();
        render_man(&cmd, &mut page);
        let mut out = std::io::stdout().lock();
        out.write_all(&page)
            .and_then(|()| out.flush())
            .map_err(Failure::Output)?;
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(dir).map_err(|error| Failure::Write {
        path: dir.to_path_buf(),
        error,
    })?;
    write_man_pages(&cmd, dir)?;
    Ok(ExitCode::SUCCESS)
}

/// The man page of `cmd` (built), in roff.
fn render_man(cmd: &clap::Command, page: &mut Vec<u8>) {
    // Writing into memory does not fail.
    let _ = clap_mangen::Man::new(cmd.clone()).render(page);
}

/// The page of `cmd` and of each of its (visible) subcommands, into `dir`.
fn write_man_pages(cmd: &clap::Command, dir: &Path) -> Result<(), Failure> {
    let path = dir.join(clap_mangen::Man::new(cmd.clone()).get_filename());
    let mut page = Vec::new();
    render_man(cmd, &mut page);
    std::fs::write(&path, page).map_err(|error| Failure::Write { path, error })?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_man_pages(sub, dir)?;
    }
    Ok(())
}

/// The project root: `--root DIR`, else found from the first of `inputs` (`-` skipped).
fn project_root<'p>(
    given: Option<&Path>,
    inputs: impl IntoIterator<Item = &'p Path>,
) -> Result<Root, Failure> {
    match given {
        Some(dir) => Ok(Root::new(dir)?),
        None => Ok(Root::discover_first(inputs)),
    }
}

/// The files a policy source names (policies, or the template).
fn source_inputs(src: &Source) -> impl Iterator<Item = &Path> {
    src.policies
        .iter()
        .map(PathBuf::as_path)
        .chain(src.template.as_deref())
}

fn decision_code(decision: Decision) -> ExitCode {
    match decision {
        Decision::Allow => ExitCode::SUCCESS,
        Decision::ExplicitDeny | Decision::ImplicitDeny => ExitCode::from(EXIT_DENY),
    }
}

/// The template at `path` (inside `root`) with the `--param` values.
fn template(root: &Root, path: &Path, params: &[String]) -> Result<Template, Failure> {
    let params = Params::parse(params)?;
    let t = Template::load_in(root, path, params)?;
    print_notes(&t.notes);
    Ok(t)
}

/// Say what reading the input modelled rather than read ([`Template::notes`]), once per
/// run however often the input is read.
fn print_notes(notes: &[String]) {
    static SHOWN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if notes.is_empty() || SHOWN.swap(true, std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    for n in notes {
        say(&format!("note: {}", report::field(n)));
    }
}

/// The policies named by `--policy` or `--template`/`--role` (warnings printed).
fn load_source(src: &Source, root: Option<&Path>) -> Result<Loaded, Failure> {
    let root = project_root(root, source_inputs(src))?;
    match &src.template {
        None => Ok(load::load(
            &root,
            &load::Source::Files(src.policies.clone()),
        )?),
        Some(path) => {
            let t = template(&root, path, &src.params)?;
            let given = Given::parse(&src.managed)?;
            Ok(load::load_role(&root, &t, src.role.as_deref(), &given)?)
        }
    }
}

/// The single request from the command line.
fn build_request(args: &CheckArgs, now: jiff::Timestamp) -> Result<Request, Failure> {
    let usage = |message: String| Failure::Usage(message);
    let (Some(action), Some(resource)) = (&args.action, &args.resource) else {
        return Err(usage(
            "--action and --resource are required without --requests".to_string(),
        ));
    };
    let mut request = Request::new(action.clone(), resource.clone());
    for kv in &args.context {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(usage(format!("--context {kv:?} is not KEY=VALUE")));
        };
        if k.is_empty() {
            return Err(usage(format!("--context {kv:?} has an empty key")));
        }
        request.context.add(k, v);
    }
    if let Some(identity) = &args.identity
        && let Err(e) = request.set_identity(identity)
    {
        let RequestError::IdentityTwice = e else {
            return Err(e.into());
        };
        // The library's identity rule, worded with the options and the key as given.
        let key = args
            .context
            .iter()
            .filter_map(|kv| kv.split_once('=').map(|(k, _)| k))
            .find(|k| k.eq_ignore_ascii_case(policy_sim::lang::keys::COGNITO_SUB))
            .unwrap_or(policy_sim::lang::keys::COGNITO_SUB);
        return Err(usage(format!(
            "--identity and --context {key}=... both set the identity; give one"
        )));
    }
    request.context.fill_time_defaults(now)?;
    Ok(request)
}

fn check(args: &CheckArgs, root: Option<&Path>) -> Result<ExitCode, Failure> {
    let src = &args.source;
    if args.requests.is_some() && matches!(args.format, Some(Format::Text)) {
        return Err(Failure::Usage(
            "--format text is for a single request: a batch (--requests) writes JSON Lines (leave --format out, or give --format json)".to_string(),
        ));
    }
    let stdin_uses = src.policies.iter().filter(|p| is_stdin(p)).count()
        + usize::from(args.requests.as_deref().is_some_and(is_stdin));
    if stdin_uses > 1 {
        return Err(Failure::Usage(
            "standard input (`-`) can be used by only one of --policy and --requests".to_string(),
        ));
    }
    let types = args.types.files();
    // `-`, /dev/stdin, a pipe: whatever is consumed by reading it is named once.
    let consumed: Vec<&Path> = src
        .policies
        .iter()
        .map(PathBuf::as_path)
        .chain(args.requests.as_deref())
        .chain(types.files())
        .collect();
    load::check_distinct(&consumed)?;
    let root = project_root(
        root,
        source_inputs(src)
            .chain(args.requests.as_deref())
            .chain(types.files()),
    )?;
    let principal = args.types.caller()?;
    if principal.is_none() && args.requests.is_none() && types.resource_account.is_some() {
        return Err(Failure::Usage(
            "--resource-account is compared with the principal's account: give --principal"
                .to_string(),
        ));
    }
    let now = jiff::Timestamp::now();
    let loaded = match &src.template {
        None => load::load_files(&root, &src.policies)?,
        Some(path) => {
            let t = template(&root, path, &src.params)?;
            let mode = cognito::check_mode(
                &t,
                src.role.as_deref(),
                args.requests.is_some(),
                args.identity.as_deref(),
                !args.unauthenticated,
            )?;
            let given = Given::parse(&src.managed)?;
            match mode {
                CheckMode::Flow(identity) => {
                    return check_flow(args, &t, identity, (&root, &given), now);
                }
                CheckMode::Role => load::load_role(&root, &t, src.role.as_deref(), &given)?,
            }
        }
    };
    // A decision that depends on a policy the tool did not see could be wrong either way.
    loaded.gap(Claim::Decision)?;

    let base = loaded.policies();
    if principal.is_some() || !types.is_empty() || !base.is_identity_only() {
        let policies = add_policy_types(&root, base, &types)?;
        let principal = match principal {
            Some(p) => Some(p),
            None => default_principal(&root, src, &policies)?,
        };
        return match &args.requests {
            Some(path) => check_batch(
                &policies,
                principal.as_ref(),
                &root,
                path,
                now,
                args.threads,
            ),
            None => check_authorized(args, &policies, principal, now),
        };
    }
    let set = loaded.set;
    if let Some(path) = &args.requests {
        let policies = Policies::identity_only(set);
        return check_batch(&policies, None, &root, path, now, args.threads);
    }
    let request = build_request(args, now)?;
    let explanation = set.explain(&request)?;
    // Without a principal the request is the identity's own: a Cognito policy variable
    // with no value is then most likely a forgotten --identity.
    if args.identity.is_none() {
        print_warnings(&identity_warning(&set, &args.context));
    }
    // Hints from the action catalog, once the request is known to be well-formed.
    print_warnings(&policy_sim::catalog::request_warnings(
        &request.action,
        &request.resource,
    ));
    match args.format.unwrap_or(Format::Text) {
        Format::Text => write_text(
            &terminal_safe(&explanation_text(&set, &request, &explanation)),
            Marks::Head,
        ),
        Format::Json => write_stdout(&json_line(&Explained {
            line: evaluation_json(&set, &serde_json::Value::Null, &explanation.evaluation),
            explanation: report::check::explanation_json(&set, &request, &explanation),
        })),
    }?;
    Ok(decision_code(explanation.evaluation.decision))
}

/// A warning when the policies use `${cognito-identity.amazonaws.com:sub}` (with no
/// default) and the request gives it no value: a statement that uses it matches nothing,
/// which is right, but most likely not what was meant.
fn identity_warning(set: &policy_sim::eval::PolicySet, context: &[String]) -> Vec<String> {
    use policy_sim::lang::arn::ArnPattern;
    use policy_sim::lang::keys::COGNITO_SUB;
    use policy_sim::lang::model::ResourceSpec;
    let variable = format!("${{{COGNITO_SUB}}}");
    let given = context.iter().any(|kv| {
        kv.split_once('=')
            .is_some_and(|(k, _)| k.eq_ignore_ascii_case(COGNITO_SUB))
    });
    let reads = |text: &str| text.to_ascii_lowercase().contains(&variable);
    let used = set
        .policies()
        .iter()
        .filter(|p| p.has_variables_enabled())
        .flat_map(|p| &p.statements)
        .any(|st| {
            let in_resource = match &st.resource {
                Some(ResourceSpec::Resource(ps) | ResourceSpec::NotResource(ps)) => {
                    ps.iter().any(|p| match p {
                        ArnPattern::Any(source) | ArnPattern::Arn { source, .. } => reads(source),
                    })
                }
                None => false,
            };
            in_resource
                || st
                    .conditions
                    .iter()
                    .any(|c| c.raw_values.iter().any(|v| reads(v)))
        });
    if used && !given {
        vec![format!(
            "the policies use {variable}, which has no value without --identity: a statement that uses it matches nothing (give the Cognito identity id with --identity ID)"
        )]
    } else {
        Vec::new()
    }
}

/// `check` of one request with a principal or policy types besides identity-based
/// policies: every type's result.
fn check_authorized(
    args: &CheckArgs,
    policies: &Policies,
    principal: Option<Caller>,
    now: jiff::Timestamp,
) -> Result<ExitCode, Failure> {
    let mut request = build_request(args, now)?;
    request.principal = principal;
    policies.prepare(&mut request)?;
    let authorization = policies.authorize(&request)?;
    let explanations = policies.explain(&request)?;
    print_warnings(&policy_sim::catalog::request_warnings(
        &request.action,
        &request.resource,
    ));
    match args.format.unwrap_or(Format::Text) {
        Format::Text => write_text(
            &terminal_safe(&report::check::authorization_text(
                policies,
                &request,
                &authorization,
                &explanations,
            )),
            Marks::Head,
        ),
        Format::Json => write_stdout(&json_line(&Explained {
            line: report::check::authorization_json(policies, &request, &authorization),
            explanation: report::check::authorization_explanation_json(
                policies,
                &request,
                &explanations,
            ),
        })),
    }?;
    Ok(decision_code(authorization.verdict.decision))
}

/// The principal when none is given and policy types besides identity-based ones are in
/// play: for a template with an identity pool, the role session Cognito creates for the
/// role; otherwise none (the library then asks for one).
fn default_principal(
    root: &Root,
    src: &Source,
    policies: &Policies,
) -> Result<Option<Caller>, Failure> {
    let Some(path) = &src.template else {
        return Ok(None);
    };
    if policies.is_identity_only() {
        return Ok(None);
    }
    let t = template(root, path, &src.params)?;
    if !cognito::has_identity_pool(&t) {
        return Ok(None);
    }
    let role = t.select_role(src.role.as_deref())?;
    Ok(Some(cognito::role_session(&t, &role)?))
}

/// The policy types of a prove or fuzz run: the source's (a template's resource-based
/// policies and the role's boundary) and the ones given, with the principal (given, or
/// [`default_principal`]).
fn isolation_policies(
    root: Option<&Path>,
    src: &Source,
    loaded: &Loaded,
    types: &PolicyTypeArgs,
) -> Result<(Policies, Option<Caller>), Failure> {
    let files = types.files();
    let root = project_root(root, source_inputs(src).chain(files.files()))?;
    let policies = add_policy_types(&root, loaded.policies(), &files)?;
    let principal = match types.caller()? {
        Some(p) => Some(p),
        None => default_principal(&root, src, &policies)?,
    };
    Ok((policies, principal))
}

/// `check --template` on a template with an identity pool: the whole Cognito flow.
fn check_flow(
    args: &CheckArgs,
    t: &Template,
    identity: FlowIdentity,
    (root, given): (&Root, &Given),
    now: jiff::Timestamp,
) -> Result<ExitCode, Failure> {
    let mut flow = identity.request(build_request(args, now)?);
    // The policy types given besides the template's; the principal, when given, replaces
    // the role session Cognito creates.
    flow.extra = add_policy_types(root, Policies::default(), &args.types.files())?;
    flow.request.principal = args.types.caller()?;
    let outcome = cognito::simulate_with(t, &flow, root, given, now)?;
    print_warnings(&outcome.warnings);
    match args.format.unwrap_or(Format::Text) {
        Format::Text => write_text(
            &terminal_safe(&report::flow::flow_text(&t.file, &flow, &outcome)),
            Marks::Head,
        ),
        Format::Json => write_stdout(&json_line(&Explained {
            line: report::flow::flow_json(&outcome),
            explanation: report::flow::flow_explanation_json(&outcome),
        })),
    }?;
    Ok(decision_code(outcome.decision))
}

/// `check --requests`: the file (or standard input) and the thread count are the
/// arguments; the library decides and writes.
fn check_batch(
    policies: &Policies,
    principal: Option<&Caller>,
    root: &Root,
    path: &Path,
    now: jiff::Timestamp,
    threads: Option<usize>,
) -> Result<ExitCode, Failure> {
    let input: Box<dyn Read + Send> = if is_stdin(path) {
        Box::new(std::io::stdin())
    } else {
        let file = root.open_input(path).map_err(|e| match e {
            RootError::Io { detail, .. } => Failure::Input {
                path: path.to_path_buf(),
                detail,
            },
            outside @ (RootError::Outside { .. } | RootError::Invalid { .. }) => {
                Failure::Root(outside)
            }
        })?;
        Box::new(file)
    };
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let output = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let summary = run_authorized(
        policies,
        principal,
        input,
        output,
        BatchOptions { threads, now },
    )
    .map_err(|e| match e {
        BatchError::Read(error) => Failure::Batch {
            path: path.to_path_buf(),
            error,
        },
        BatchError::Write(error) => Failure::Output(error),
        threads @ BatchError::Threads(_) => Failure::Threads(threads),
    })?;
    Ok(match report::batch::failures_text(&summary) {
        None => ExitCode::SUCCESS,
        Some(text) => {
            say(text.trim_end_matches('\n'));
            ExitCode::from(EXIT_BAD_INPUT)
        }
    })
}

fn prove_isolation(prove: &ProveArgs, root: Option<&Path>) -> Result<ExitCode, Failure> {
    use policy_sim::analysis::identity::IdentityFormat;
    use policy_sim::analysis::prover;
    let args = &prove.isolation;
    let format = IdentityFormat::parse(&args.identity_format)?;
    let backend = match prove.solver {
        SolverChoice::Automata => prover::Backend::Automata,
        SolverChoice::Smt => {
            let Some((program, solver_args)) = prover::smt::find_solver() else {
                return Err(Failure::Usage(
                    "--solver smt needs z3 or cvc5 on the PATH (Debian: apt-get install z3)"
                        .to_string(),
                ));
            };
            prover::Backend::Smt {
                program: program.to_string(),
                args: solver_args.iter().map(|a| a.to_string()).collect(),
                dir: prove.smt_dir.clone(),
            }
        }
    };
    if let Some(pool) = prove_pool(args, root, &format, &backend)? {
        return Ok(verdict_code(pool));
    }
    let loaded = load_source(&args.source, root)?;
    let (policies, principal) = isolation_policies(root, &args.source, &loaded, &args.types)?;
    let mut proof = prover::prove_isolation_with(
        &policies,
        principal.as_ref(),
        &args.area_specs(),
        &format,
        &backend,
        jiff::Timestamp::now(),
    )?;
    loaded.settle(&mut proof);
    match args.format {
        Format::Json => write_stdout(&json_line(&report::proof::proof_json(&policies, &proof))),
        Format::Text => write_text(
            &terminal_safe(&report::proof::proof_text(&policies, &proof)),
            Marks::Head,
        ),
    }?;
    Ok(verdict_code(proof.verdict))
}

/// The exit code of a verdict: 0 holds, 1 violated, 3 unknown.
fn verdict_code(verdict: policy_sim::analysis::prover::Verdict) -> ExitCode {
    use policy_sim::analysis::prover::Verdict;
    match verdict {
        Verdict::Holds => ExitCode::SUCCESS,
        Verdict::Violated => ExitCode::from(EXIT_DENY),
        Verdict::Unknown => ExitCode::from(EXIT_UNKNOWN),
    }
}

/// `prove isolation --template` on a template with an identity pool and no `--role`:
/// every role of the pool, printed; the pool's verdict. `None` for any other source.
fn prove_pool(
    args: &IsolationArgs,
    root: Option<&Path>,
    format: &policy_sim::analysis::identity::IdentityFormat,
    backend: &policy_sim::analysis::prover::Backend,
) -> Result<Option<policy_sim::analysis::prover::Verdict>, Failure> {
    use policy_sim::cognito::roles::{PoolError, PoolInputs, prove_pool};
    let src = &args.source;
    let (Some(path), None) = (&src.template, &src.role) else {
        return Ok(None);
    };
    let files = args.types.files();
    let root = project_root(root, source_inputs(src).chain(files.files()))?;
    let t = template(&root, path, &src.params)?;
    if !cognito::has_identity_pool(&t) {
        return Ok(None);
    }
    let given = Given::parse(&src.managed)?;
    let extra = add_policy_types(&root, Policies::default(), &files)?;
    let principal = args.types.caller()?;
    let inputs = PoolInputs {
        root: &root,
        given: &given,
        extra: &extra,
        principal: principal.as_ref(),
        backend,
    };
    let pool = prove_pool(
        &t,
        &inputs,
        &args.area_specs(),
        format,
        jiff::Timestamp::now(),
    )
    .map_err(|e| match e {
        PoolError::Flow(e) => Failure::from(e),
        PoolError::Load(e) => Failure::from(e),
        PoolError::Authorize(e) => Failure::from(e),
        PoolError::Prover(e) => Failure::from(e),
    })?;
    // The input's own notes were said when it was read (`note: ...`).
    let pool_notes: Vec<String> = pool
        .notes
        .iter()
        .filter(|n| !t.notes.contains(n))
        .cloned()
        .collect();
    print_warnings(&pool_notes);
    match args.format {
        Format::Json => write_stdout(&json_line(&report::proof::pool_proof_json(&pool))),
        Format::Text => write_text(
            &terminal_safe(&report::proof::pool_proof_text(&pool)),
            Marks::Head,
        ),
    }?;
    Ok(Some(pool.verdict))
}

fn fuzz_isolation(args: &FuzzArgs, root: Option<&Path>) -> Result<ExitCode, Failure> {
    use policy_sim::analysis::identity::IdentityFormat;
    use policy_sim::analysis::prover;
    use report::fuzz::{FuzzRun, fuzz_json, fuzz_text};
    let iso = &args.isolation;
    if args.solver.is_some() || args.smt_dir.is_some() {
        let flag = if args.solver.is_some() {
            "--solver"
        } else {
            "--smt-dir"
        };
        return Err(Failure::Usage(format!(
            "fuzz isolation takes no {flag}: it samples requests and decides each with the evaluator (an SMT solver proves isolation with `prove isolation --solver smt`)"
        )));
    }
    let format = IdentityFormat::parse(&iso.identity_format)?;
    let loaded = load_source(&iso.source, root)?;
    // Sampling decides requests: each decision needs every policy.
    loaded.gap(Claim::Decision)?;
    let (policies, principal) = isolation_policies(root, &iso.source, &loaded, &iso.types)?;
    let result = prover::fuzz::fuzz_isolation(
        &policies,
        principal.as_ref(),
        &iso.area_specs(),
        &format,
        args.cases,
        args.seed,
        jiff::Timestamp::now(),
    )?;
    let run = FuzzRun {
        policies: &policies,
        result: &result,
        seed: args.seed,
        identity_format: &format.name,
        areas: &result.areas,
    };
    match iso.format {
        Format::Json => write_stdout(&json_line(&fuzz_json(&run))),
        Format::Text => write_text(&terminal_safe(&fuzz_text(&run)), Marks::Fuzz),
    }?;
    Ok(if result.counterexample.is_some() {
        ExitCode::from(EXIT_DENY)
    } else {
        ExitCode::SUCCESS
    })
}

fn gate(args: &GateArgs, root: Option<&Path>) -> Result<ExitCode, Failure> {
    use policy_sim::{gate, report};
    let root = project_root(root, [args.config.as_path()])?;
    let gates = gate::GateConfig::load_in(&root, &args.config)?;
    let now = jiff::Timestamp::now();
    let report = gate::run(&gates, now)?;
    let write = write_file;
    if let Some(path) = &args.sarif {
        write(path, report::gate::sarif_text(&report, load::display_path))?;
    }
    if let Some(path) = &args.junit {
        write(path, report::gate::junit(&report))?;
    }
    match args.format {
        Format::Text => write_text(&terminal_safe(&report::gate::text(&report)), Marks::Gate),
        Format::Json => write_stdout(&report::gate::json(&report)),
    }?;
    let failed = report.failed();
    // The page last: the gate's own outputs are written even when it cannot be made.
    if let Some(path) = &args.html {
        let config = load::display_path(&args.config);
        let access = gate::access_report(&config, &gates, report, now)?;
        write_file(path, report::html::render(&access))?;
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_DENY)
    })
}

/// Write `text` to the file `path`.
fn write_file(path: &Path, text: String) -> Result<(), Failure> {
    std::fs::write(path, text).map_err(|error| Failure::Write {
        path: path.to_path_buf(),
        error,
    })
}

/// `report`: the access report of a gate file, as one HTML page.
fn access_report(args: &ReportArgs, root: Option<&Path>) -> Result<ExitCode, Failure> {
    use policy_sim::gate;
    let root = project_root(root, [args.config.as_path()])?;
    let gates = gate::GateConfig::load_in(&root, &args.config)?;
    let now = jiff::Timestamp::now();
    let checks = gate::run(&gates, now)?;
    let config = load::display_path(&args.config);
    let access = gate::access_report(&config, &gates, checks, now)?;
    write_file(&args.html, report::html::render(&access))?;
    let rows: usize = access.gates.iter().map(|g| g.matrix.len()).sum();
    let violated: usize = access
        .gates
        .iter()
        .flat_map(|g| &g.matrix)
        .filter(|r| r.verdict == "violated")
        .count();
    write_stdout(&terminal_safe(&format!(
        "wrote {}: {} gate(s), {} area row(s) ({} violated), {} check(s), {} failed\n",
        load::display_path(&args.html),
        access.gates.len(),
        rows,
        violated,
        access.checks.len(),
        access.failed()
    )))?;
    Ok(ExitCode::SUCCESS)
}

fn actions(args: &ActionsArgs) -> Result<ExitCode, Failure> {
    use report::actions::{actions_json, actions_text, list_actions};
    // A pattern that is no action pattern at all is bad input (exit 2), not one that
    // covers no action (exit 1).
    for pattern in &args.patterns {
        policy_sim::lang::parse::parse_action_pattern(pattern)?;
    }
    let catalog = policy_sim::catalog::catalog();
    let list = list_actions(catalog, &args.patterns);
    for why in &list.uncovered {
        say(&why.to_string());
    }
    let text = match args.format {
        Format::Text => terminal_safe(&actions_text(&list)).into_owned(),
        Format::Json => json_line(&actions_json(catalog, &list)),
    };
    write_stdout(&text)?;
    Ok(if list.uncovered.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_DENY)
    })
}

fn show(args: &ShowArgs, root: Option<&Path>) -> Result<ExitCode, Failure> {
    let root = project_root(root, [args.template.as_path()])?;
    let t = template(&root, &args.template, &args.params)?;
    let role = t.select_role(args.role.as_deref())?;
    let shown = if args.trust {
        Shown::Document(t.trust_policy(&role)?.document)
    } else {
        let policies = t.role_policies(&role)?;
        for a in &policies.attached {
            say(&format!(
                "warning: {} {} ({}) is not part of the template and is not shown",
                a.kind.as_str(),
                report::field(&a.arn),
                report::field(&a.loc.to_string())
            ));
        }
        report::show::permissions(policies, args.only.as_deref())?
    };
    write_stdout(&report::show::shown_json(&shown))?;
    Ok(ExitCode::SUCCESS)
}

fn lint(args: &LintArgs, root: Option<&Path>) -> Result<ExitCode, Failure> {
    use policy_sim::lint::Severity;
    let root = project_root(root, source_inputs(&args.source))?;
    let loaded = match &args.source.template {
        None => {
            if args.source.policies.iter().any(|p| is_stdin(p)) {
                return Err(Failure::Usage(
                    "lint reads policy files, not standard input".to_string(),
                ));
            }
            // File names, not patterns (the shell has expanded any): `role[prod].json` is
            // that file.
            let patterns: Vec<String> = args
                .source
                .policies
                .iter()
                .map(|p| glob::Pattern::escape(&p.display().to_string()))
                .collect();
            load::load_policies(&root, &patterns, Path::new(""))?
        }
        Some(path) => {
            let t = template(&root, path, &args.source.params)?;
            let given = Given::parse(&args.source.managed)?;
            load::load_role(&root, &t, args.source.role.as_deref(), &given)?
        }
    };
    // Lint reads the source's own policies; it says what it could not see.
    for u in &loaded.unseen {
        say(&format!("warning: not linted, not seen: {u}"));
    }
    if args.types.principal.is_some() || args.types.resource_account.is_some() {
        return Err(Failure::Usage(
            "lint reads policies: --principal and --resource-account do not apply".to_string(),
        ));
    }
    let mut findings = loaded.lint();
    // The policy files of the other types, each with the rules that apply to it.
    findings.extend(policy_sim::load::types::lint_policy_types(
        &root,
        &args.types.files(),
    )?);
    match args.format {
        Format::Json => write_stdout(&policy_sim::report::lint::json(&findings)),
        Format::Text => write_lint(&findings),
    }?;
    Ok(
        if findings.iter().any(|f| f.severity >= Severity::Warning) {
            ExitCode::from(EXIT_DENY)
        } else {
            ExitCode::SUCCESS
        },
    )
}

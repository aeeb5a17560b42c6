//! The same plan on Ballista (DataFusion's distributed scheduler and executors).
//!
//! The functions travel by name: a scheduler and every executor register `decide`,
//! `decide_baseline` and `area_touch` built from their own policy files and areas (and
//! `field_of`, which reads their results' fields), and
//! each call in the plan names the digest of the policies (and areas) the client loaded
//! (see [`crate::udf`]): a process started with other files fails the query instead of
//! answering for them.
//!
//! Only file tables travel: on Ballista the inputs are Parquet request tables, read by the
//! executors from the same path (a shared file system).

use std::net::SocketAddr;
use std::sync::Arc;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use datafusion::execution::SessionState;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};

use crate::audit::{Audit, REQUESTS};
use crate::error::AuditError;
use crate::inputs::{Input, Kind};

fn engine_error(e: impl std::fmt::Display) -> AuditError {
    AuditError::Engine(e.to_string())
}

/// A session state with the audit's functions, for a scheduler or executors.
pub fn state_with_functions(
    audit: &Audit,
    config: SessionConfig,
) -> Result<SessionState, AuditError> {
    let ctx = SessionContext::new_with_config(config);
    audit.register_functions(&ctx)?;
    Ok(ctx.state())
}

/// A client of the Ballista scheduler at `url` (`ballista://HOST:PORT`; only the host and
/// port are read), with the audit's functions registered.
pub async fn client(url: &str, audit: &Audit) -> Result<SessionContext, AuditError> {
    let config = SessionConfig::new_with_ballista().with_target_partitions(audit.threads.max(1));
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .build();
    let ctx = SessionContext::remote_with_state(url, state).await?;
    // The client's state is rebuilt for Ballista with its own function list: register
    // ours again.
    audit.register_functions(&ctx)?;
    Ok(ctx)
}

async fn connect(
    addr: SocketAddr,
) -> Result<SchedulerGrpcClient<tonic::transport::Channel>, AuditError> {
    let url = format!("http://{addr}");
    let mut last = None;
    for _ in 0..100 {
        match SchedulerGrpcClient::connect(url.clone()).await {
            Ok(c) => return Ok(c),
            Err(e) => {
                last = Some(e);
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
    Err(AuditError::Engine(format!(
        "cannot reach the scheduler at {addr}: {}",
        last.map(|e| e.to_string()).unwrap_or_default()
    )))
}

/// Start, in this process, a scheduler and `executors` executors (one task slot each) on
/// the loopback interface, each with the audit's functions; the scheduler's address. They
/// run on the current Tokio runtime until it stops.
pub async fn start_in_process(audit: &Audit, executors: usize) -> Result<SocketAddr, AuditError> {
    let state = state_with_functions(audit, SessionConfig::new_with_ballista())?;
    let addr = ballista_scheduler::standalone::new_standalone_scheduler_from_state(&state)
        .await
        .map_err(engine_error)?;
    for _ in 0..executors {
        let scheduler = connect(addr).await?;
        ballista_executor::new_standalone_executor_from_state(scheduler, 1, &state)
            .await
            .map_err(engine_error)?;
    }
    Ok(addr)
}

/// Run a scheduler bound to `bind` (pull scheduling) whose sessions have the audit's
/// functions, until the process is stopped.
pub async fn run_scheduler(audit: Arc<Audit>, bind: SocketAddr) -> Result<(), AuditError> {
    use ballista_core::config::TaskSchedulingPolicy;
    use ballista_scheduler::cluster::BallistaCluster;
    use ballista_scheduler::config::SchedulerConfig;
    let builder_audit = Arc::clone(&audit);
    let session_builder: ballista_scheduler::SessionBuilder = Arc::new(move |config| {
        state_with_functions(&builder_audit, config)
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))
    });
    let config = SchedulerConfig {
        bind_host: bind.ip().to_string(),
        bind_port: bind.port(),
        external_host: bind.ip().to_string(),
        scheduling_policy: TaskSchedulingPolicy::PullStaged,
        override_session_builder: Some(session_builder),
        ..SchedulerConfig::default()
    };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(engine_error)?;
    ballista_scheduler::scheduler_process::start_server(cluster, bind, Arc::new(config))
        .await
        .map_err(engine_error)
}

/// Run an executor serving Arrow Flight on `bind`, polling the scheduler at `scheduler`,
/// with the audit's functions, until the process is stopped (SIGTERM, Ctrl-C). The data
/// handed between stages is kept in `work_dir`; the jobs' data there is removed as the
/// executor stops.
pub async fn run_executor(
    audit: &Audit,
    scheduler: SocketAddr,
    bind: SocketAddr,
    slots: usize,
    work_dir: &std::path::Path,
) -> Result<(), AuditError> {
    use ballista_core::config::TaskSchedulingPolicy;
    use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
    let state = state_with_functions(audit, SessionConfig::new_with_ballista())?;
    let registry = BallistaFunctionRegistry::from(&state);
    let config = ExecutorProcessConfig {
        bind_host: bind.ip().to_string(),
        external_host: Some(bind.ip().to_string()),
        port: bind.port(),
        grpc_port: bind.port().wrapping_add(1),
        scheduler_host: scheduler.ip().to_string(),
        scheduler_port: scheduler.port(),
        scheduler_connect_timeout_seconds: 30,
        vcores: slots.max(1),
        task_scheduling_policy: TaskSchedulingPolicy::PullStaged,
        override_function_registry: Some(Arc::new(registry)),
        work_dir: Some(
            work_dir
                .to_str()
                .ok_or_else(|| AuditError::Usage(format!("--work-dir {work_dir:?} is not UTF-8")))?
                .to_string(),
        ),
        // The cleaner runs only with an interval; when the executor stops it removes every
        // job's data (the periodic pass keeps Ballista's own time to live, seven days).
        job_data_clean_up_interval_seconds: 3600,
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(config))
        .await
        .map_err(engine_error)
}

/// Register the inputs as the request table on a Ballista client: every input must be a
/// Parquet request table (read by the executors at the same absolute path). Columns the
/// file lacks are filled as the embedded reader fills them, except `record` (0: the
/// engine cannot number a file's rows across its partitions).
pub async fn register_inputs(ctx: &SessionContext, inputs: &[Input]) -> Result<(), AuditError> {
    let mut parts = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        if input.kind != Kind::Parquet {
            return Err(AuditError::Input {
                file: input.name.clone(),
                reason: format!(
                    "a {} input: on Ballista the executors read Parquet request tables only; write one first with `policy-sim-audit ... --out FILE.parquet`",
                    input.kind.as_str()
                ),
            });
        }
        let name = format!("{REQUESTS}_{i}");
        let path = input.path.display().to_string();
        ctx.register_parquet(name.as_str(), &path, ParquetReadOptions::default())
            .await?;
        let schema = ctx.table(name.as_str()).await?.schema().clone();
        let has = |c: &str| schema.has_column_with_unqualified_name(c);
        for required in ["action", "resource"] {
            if !has(required) {
                return Err(AuditError::Input {
                    file: input.name.clone(),
                    reason: format!(
                        "Parquet: no `{required}` column: a request table needs `action` and `resource`"
                    ),
                });
            }
        }
        let text = |c: &str, fallback: Option<&str>| match (has(c), fallback) {
            (true, _) => format!("CAST(\"{c}\" AS VARCHAR) AS {c}"),
            (false, Some(other)) if has(other) => format!("CAST(\"{other}\" AS VARCHAR) AS {c}"),
            _ => format!("CAST(NULL AS VARCHAR) AS {c}"),
        };
        let source = match has("source") {
            true => "CAST(source AS VARCHAR) AS source".to_string(),
            false => format!("'{}' AS source", input.name.replace('\'', "''")),
        };
        let record = match has("record") {
            true => "CAST(record AS BIGINT UNSIGNED) AS record",
            false => "CAST(0 AS BIGINT UNSIGNED) AS record",
        };
        let recorded = match has("recorded") {
            true => "CAST(recorded AS BOOLEAN) AS recorded",
            false => "false AS recorded",
        };
        parts.push(format!(
            "SELECT {source}, {record}, {}, {}, {}, {}, {}, {}, {}, {}, {recorded}, {} FROM {name}",
            text("event_time", None),
            text("event_name", None),
            text("event_id", Some("id")),
            text("identity", None),
            text("principal", None),
            text("action", None),
            text("resource", None),
            text("context", None),
            text("error_code", None),
        ));
    }
    let sql = parts.join(" UNION ALL ");
    let plan = ctx.sql(&sql).await?.into_unoptimized_plan();
    ctx.register_table(
        REQUESTS,
        Arc::new(datafusion::catalog::view::ViewTable::new(plan, Some(sql))),
    )?;
    Ok(())
}

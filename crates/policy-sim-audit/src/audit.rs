//! The audit run: the inputs as a streaming table, the decided table as a plan over it
//! (the `decide` and `area_touch` functions), one pass tallying it, optionally written
//! out, and `--sql` over the decided table.

use std::sync::{Arc, Mutex};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::{RecordBatchReceiverStream, RecordBatchStreamAdapter};
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;
use policy_sim::analysis::prover::{AreaOwners, AreaSpec};
use policy_sim::lang::model::Effect;
use policy_sim::lang::principal::Caller;
use policy_sim::logs::UnmappedKind;
use policy_sim::logs::cloudtrail::IdentityIndex;
use policy_sim::logs::s3_access::NonCognitoRoles;

use crate::error::AuditError;
use crate::inputs::{Input, Kind, Learner, ParquetShares, ReadStats, Share, read_inputs};
use crate::out::OutWriter;
use crate::policies::Loaded;
use crate::report::{AuditReport, Inputs, Isolation, Replay, Unmapped, UnmappedExample, Verdict};
use crate::sessions::{Sessions, Settled};
use crate::table::request_schema;
use crate::tally::Tally;
use crate::udf::{AreaTouch, Decide, statements, typed_label};

/// The name the current policies' decision function has in SQL.
pub const DECIDE: &str = "decide";
/// The name the baseline policies' decision function has in SQL.
pub const DECIDE_BASELINE: &str = "decide_baseline";
/// The name of the request table in SQL.
pub const REQUESTS: &str = "requests";
/// The name of the decided table in SQL (`--sql` queries it).
pub const DECIDED: &str = "decided";

/// The decided table over `table`: every request column, then `decision`, `decided_by`,
/// `statement`, `eval_error`, (with a baseline: `baseline_decision`,
/// `baseline_statement`, `baseline_error`), `touch`, `owner`, `area`, `forbidden`. Each
/// function call names the digest of what it must decide with; the fields of its result
/// are read with `field_of`, so that each function runs once a row
/// ([`crate::udf::FieldOf`]).
pub fn decided_sql(table: &str, current: &str, baseline: Option<&str>, areas: &str) -> String {
    let (base_cols, base_call) = match baseline {
        Some(digest) => (
            ", field_of(b, 'decision') AS baseline_decision, field_of(b, 'statement') AS baseline_statement, field_of(b, 'error') AS baseline_error",
            format!(
                ", {DECIDE_BASELINE}(action, resource, identity, principal, context, '{digest}') AS b"
            ),
        ),
        None => ("", String::new()),
    };
    format!(
        "SELECT source, record, event_time, event_name, event_id, identity, principal, action, resource, context, recorded, error_code, \
         field_of(d, 'decision') AS decision, field_of(d, 'decided_by') AS decided_by, field_of(d, 'statement') AS statement, field_of(d, 'error') AS eval_error{base_cols}, \
         field_of(t, 'touch') AS touch, field_of(t, 'owner') AS owner, field_of(t, 'area') AS area, field_of(t, 'forbidden') AS forbidden \
         FROM (SELECT *, {DECIDE}(action, resource, identity, principal, context, '{current}') AS d{base_call}, \
         area_touch(identity, action, resource, context, event_name, '{areas}') AS t FROM {table})"
    )
}

/// Where the plan runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    /// In this process, on every core.
    Embedded,
    /// On the Ballista scheduler at this URL (`ballista://HOST:PORT`).
    Ballista(String),
}

impl Engine {
    /// `embedded` or `ballista://HOST:PORT`.
    pub fn parse(text: &str) -> Result<Engine, AuditError> {
        if text == "embedded" {
            return Ok(Engine::Embedded);
        }
        match text.strip_prefix("ballista://") {
            Some(rest) if rest.contains(':') && !rest.contains('/') => {
                Ok(Engine::Ballista(text.to_string()))
            }
            _ => Err(AuditError::Usage(format!(
                "--engine {text:?}: give `embedded` or `ballista://HOST:PORT`"
            ))),
        }
    }
}

/// What an audit decides with.
#[derive(Debug, Clone)]
pub struct Audit {
    /// The current (proposed) policies.
    pub current: Loaded,
    /// The baseline policies: replay compares each row's decision under both.
    pub baseline: Option<Loaded>,
    /// The principal of rows that name none.
    pub principal: Option<Caller>,
    /// The isolation areas (see [`Audit::default_areas`]).
    pub areas: Vec<AreaSpec>,
    /// The time of rows that carry none.
    pub now: jiff::Timestamp,
    /// Worker threads (partitions).
    pub threads: usize,
    /// The roles whose sessions in S3 access logs are decided without identity: known not
    /// to be a Cognito identity pool's ([`NonCognitoRoles`]).
    pub non_cognito_roles: Arc<NonCognitoRoles>,
}

/// The audit's result.
#[derive(Debug)]
pub struct Output {
    /// The report.
    pub report: AuditReport,
    /// The result of `--sql`, when given.
    pub sql: Option<Vec<RecordBatch>>,
}

impl Audit {
    /// The areas of the current policies (every `Allow` resource pattern with the identity
    /// variable), private: what `prove isolation` checks by default.
    pub fn default_areas(current: &Loaded) -> Vec<AreaSpec> {
        policy_sim::analysis::prover::default_areas_of(&current.policies)
            .into_iter()
            .map(AreaSpec::private)
            .collect()
    }

    /// A session with the audit's functions registered (`decide`, `decide_baseline`,
    /// `area_touch`, `field_of`).
    pub fn context(&self) -> Result<SessionContext, AuditError> {
        let config = SessionConfig::new()
            .with_target_partitions(self.threads.max(1))
            .with_batch_size(crate::table::BATCH_ROWS);
        let ctx = SessionContext::new_with_config(config);
        self.register_functions(&ctx)?;
        Ok(ctx)
    }

    /// Register the audit's functions on `ctx`.
    pub fn register_functions(&self, ctx: &SessionContext) -> Result<(), AuditError> {
        ctx.register_udf(crate::udf::FieldOf::default().udf());
        ctx.register_udf(self.decide().udf());
        if let Some(b) = &self.baseline {
            ctx.register_udf(
                Decide::new(
                    DECIDE_BASELINE,
                    Arc::clone(&b.policies),
                    self.principal.clone(),
                    self.now,
                    self.function_digest(b),
                )
                .udf(),
            );
        }
        let owners = AreaOwners::new(&self.areas)?;
        ctx.register_udf(AreaTouch::new(Arc::new(owners), self.areas_digest()).udf());
        Ok(())
    }

    /// A digest of the areas (patterns and what others may do in them).
    pub fn areas_digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for a in &self.areas {
            hash.update(a.others.as_str().as_bytes());
            hash.update([0]);
            hash.update(a.pattern.as_bytes());
            hash.update([0]);
        }
        crate::policies::hex(&hash.finalize())
    }

    /// The digest a decision function built from `loaded` checks: the policies' digest
    /// and the default principal (which decides rows that name none).
    pub fn function_digest(&self, loaded: &Loaded) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        hash.update(loaded.digest.as_bytes());
        hash.update([0]);
        if let Some(p) = &self.principal {
            hash.update(p.arn().as_bytes());
        }
        crate::policies::hex(&hash.finalize())
    }

    /// The decided table's SQL over `table`, for these policies and areas.
    pub fn decided_sql(&self, table: &str) -> String {
        decided_sql(
            table,
            &self.function_digest(&self.current),
            self.baseline
                .as_ref()
                .map(|b| self.function_digest(b))
                .as_deref(),
            &self.areas_digest(),
        )
    }

    fn decide(&self) -> Decide {
        Decide::new(
            DECIDE,
            Arc::clone(&self.current.policies),
            self.principal.clone(),
            self.now,
            self.function_digest(&self.current),
        )
    }

    /// Run the audit over `inputs` on `engine`: tally the decided table, write it to `out`
    /// (or the `sql` result, when given), and run `sql` over it.
    ///
    /// CloudTrail sessions are learned in the pass that maps the events
    /// ([`crate::sessions`]); should that pass find a key it used early issued again to
    /// another session, its tally (and `out`) are thrown away and the run is made again
    /// with the sessions indexed first ([`crate::inputs::index_sessions`]), which gives the
    /// same answers as the two passes always do.
    pub async fn run(
        &self,
        engine: &Engine,
        inputs: Vec<Input>,
        mut out: Option<OutWriter>,
        sql: Option<&str>,
    ) -> Result<Output, AuditError> {
        let mut indexed: Option<IdentityIndex> = None;
        loop {
            let stats = Arc::new(Mutex::new(ReadStats::default()));
            let (ctx, remote, sessions) = match engine {
                Engine::Embedded => {
                    let ctx = self.context()?;
                    let (table, sessions) = input_table(
                        inputs.clone(),
                        indexed.take(),
                        Arc::clone(&self.non_cognito_roles),
                        Arc::clone(&stats),
                        self.threads,
                    )?;
                    ctx.register_table(REQUESTS, Arc::new(table))?;
                    (ctx, None, Some(sessions))
                }
                #[cfg(feature = "ballista")]
                Engine::Ballista(url) => {
                    let ctx = crate::distributed::client(url, self).await?;
                    crate::distributed::register_inputs(&ctx, &inputs).await?;
                    (ctx, Some(inputs.len() as u64), None)
                }
                #[cfg(not(feature = "ballista"))]
                Engine::Ballista(_) => {
                    return Err(AuditError::Usage(
                        "this build has no Ballista engine (built without the `ballista` feature)"
                            .to_string(),
                    ));
                }
            };
            register_decided(&ctx, &self.decided_sql(REQUESTS)).await?;
            let df = ctx.sql(&format!("SELECT * FROM {DECIDED}")).await?;
            let decided_schema: SchemaRef = Arc::clone(df.schema().inner());
            let (decided_out, sql_out) = match sql {
                None => (out.take(), None),
                Some(_) => (None, out.take()),
            };
            let (tally, decided_out) =
                tally_streams(df.execute_stream_partitioned().await?, decided_out).await?;
            if let Some(sessions) = &sessions
                && sessions.settle()? == Settled::Again
            {
                // Made again from the start: `out` written anew, the sessions indexed first.
                out = match decided_out.or(sql_out) {
                    Some(w) => Some(w.start_over()?),
                    None => None,
                };
                indexed = Some(crate::inputs::index_sessions(&inputs, self.threads)?);
                continue;
            }
            if let Some(w) = decided_out {
                w.finish_with(Some(decided_schema))?;
            }
            return self
                .finish_run(ctx, tally, stats, sessions, remote, sql, sql_out)
                .await;
        }
    }

    /// The report of a run whose decided table was tallied, and `sql` run over that table.
    #[allow(clippy::too_many_arguments)]
    async fn finish_run(
        &self,
        ctx: SessionContext,
        tally: Tally,
        stats: Arc<Mutex<ReadStats>>,
        sessions: Option<Arc<Sessions>>,
        remote: Option<u64>,
        sql: Option<&str>,
        sql_out: Option<OutWriter>,
    ) -> Result<Output, AuditError> {
        let mut stats = std::mem::take(&mut *stats.lock().map_err(|_| poisoned())?);
        if let Some(sessions) = &sessions {
            stats.sessions = sessions.len()? as u64;
        }
        if let Some(files) = remote {
            // The executors read the files: every Parquet row is one request.
            stats.files.insert(crate::inputs::Kind::Parquet, files);
            stats.records = tally.decisions.total();
            stats.rows = tally.decisions.total();
        }
        let report = self.report(tally, stats);
        let sql_result = match sql {
            None => None,
            Some(query) => {
                // The inputs are read again: the decided table is never held in memory.
                // A query, nothing else: no DDL (CREATE EXTERNAL TABLE would read any
                // file), no DML (COPY would write anywhere), no SET.
                let options = datafusion::execution::context::SQLOptions::new()
                    .with_allow_ddl(false)
                    .with_allow_dml(false)
                    .with_allow_statements(false);
                let df = ctx.sql_with_options(query, options).await?;
                let schema: SchemaRef = Arc::clone(df.schema().inner());
                let batches = df.collect().await?;
                if let Some(mut w) = sql_out {
                    for b in &batches {
                        w.write(b)?;
                    }
                    w.finish_with(Some(schema))?;
                }
                Some(batches)
            }
        };
        Ok(Output {
            report,
            sql: sql_result,
        })
    }

    /// The report from the merged tally and the readers' counts.
    pub fn report(&self, tally: Tally, stats: ReadStats) -> AuditReport {
        let findings = tally.finding_list();
        let finding_rows = findings.iter().map(|f| f.count).sum();
        let relevant: u64 = stats
            .unmapped
            .0
            .iter()
            .filter(|(k, _)| **k != UnmappedKind::OtherService)
            .map(|(_, v)| *v)
            .sum();
        let replay = self.baseline.as_ref().map(|b| Replay {
            baseline: b.digest.clone(),
            unchanged: tally.replay[0],
            would_break: tally.replay[1],
            newly_allowed: tally.replay[2],
            deny_kind_changed: tally.replay[3],
            undecidable: tally.replay[4],
            examples: tally.changes.values().flatten().cloned().collect(),
        });
        let mut by_statement: Vec<(String, u64)> = tally
            .by_statement
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        by_statement.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let policies = &self.current.policies;
        let unused_statements = statements(policies)
            .filter(|(_, st)| st.effect == Effect::Allow)
            .map(|(r, _)| r)
            .map(|r| typed_label(policies, r))
            .filter(|label| !tally.by_statement.contains_key(label))
            .collect();
        let isolation = Isolation {
            areas: self.areas.iter().map(|a| a.pattern.clone()).collect(),
            own: tally.own,
            permitted: tally.permitted,
            denied_attempts: tally.denied_attempts,
            undecidable: tally.undecidable,
            without_identity: tally.without_identity,
            findings,
            finding_rows,
        };
        let examples = stats
            .examples
            .iter()
            .flat_map(|(kind, list)| {
                list.iter()
                    .map(move |(source, record, reason)| UnmappedExample {
                        kind: kind.as_str().to_string(),
                        source: source.clone(),
                        record: *record,
                        reason: reason.clone(),
                    })
            })
            .collect();
        let mut report = AuditReport {
            // Derived from the rest just below (`AuditReport::judge`).
            verdict: Verdict::Pass,
            policies: self.current.digest.clone(),
            inputs: Inputs {
                files: stats
                    .files
                    .iter()
                    .map(|(k, v)| (k.as_str().to_string(), *v))
                    .collect(),
                records: stats.records,
                rows: stats.rows,
                sessions: stats.sessions,
                non_cognito_roles: self.non_cognito_roles.arns().to_vec(),
            },
            unmapped: Unmapped {
                total: stats.unmapped.total(),
                relevant,
                by_kind: stats
                    .unmapped
                    .0
                    .iter()
                    .map(|(k, v)| (k.as_str().to_string(), *v))
                    .collect(),
                examples,
            },
            decisions: tally.decisions,
            recorded: tally.recorded,
            by_action: Tally::counts(&tally.by_action),
            by_identity: Tally::counts(&tally.by_identity),
            by_statement,
            unused_statements,
            isolation,
            replay,
        };
        report.verdict = report.judge();
        report
    }
}

/// Register the decided table as a view (`decided`), planned from `sql`.
pub async fn register_decided(ctx: &SessionContext, sql: &str) -> Result<(), AuditError> {
    let plan = ctx.sql(sql).await?.into_unoptimized_plan();
    ctx.register_table(
        DECIDED,
        Arc::new(datafusion::catalog::view::ViewTable::new(
            plan,
            Some(sql.to_string()),
        )),
    )?;
    Ok(())
}

fn poisoned() -> AuditError {
    AuditError::Engine("a reader thread failed".to_string())
}

/// Tally every partition's stream in its own task (writing batches to `out` when given);
/// merge the tallies.
pub async fn tally_streams(
    streams: Vec<SendableRecordBatchStream>,
    out: Option<OutWriter>,
) -> Result<(Tally, Option<OutWriter>), AuditError> {
    let out = out.map(|o| Arc::new(Mutex::new(o)));
    let mut tasks = Vec::new();
    for mut stream in streams {
        let out = out.clone();
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                tally.add_batch(&batch)?;
                if let Some(o) = &out {
                    o.lock().map_err(|_| poisoned())?.write(&batch)?;
                }
            }
            Ok::<Tally, AuditError>(tally)
        }));
    }
    let mut total = Tally::default();
    for t in tasks {
        let tally = t
            .await
            .map_err(|e| AuditError::Engine(format!("a worker failed: {e}")))??;
        total.merge(tally);
    }
    let out = match out {
        None => None,
        Some(o) => Some(
            Arc::into_inner(o)
                .ok_or_else(poisoned)?
                .into_inner()
                .map_err(|_| poisoned())?,
        ),
    };
    Ok((total, out))
}

/// The request table over `inputs`: `partitions` streams, each read on a blocking thread,
/// and the sessions its CloudTrail events are joined with. Files are dealt out in runs,
/// but every stream reads its own share of the rows of each Parquet file
/// ([`crate::inputs::Share`]), so that one large table is read (and decided) on every
/// core. Every read adds its counts to `stats`.
///
/// With `index`, the sessions indexed before ([`crate::inputs::index_sessions`]); without,
/// the streams learn them as they read ([`crate::sessions`]): the first run over the table
/// must then read every stream to its end, and [`Sessions::settle`] say whether its rows
/// are exact, before the table is read again. S3 access logs decide role sessions
/// without identity only for `roles`.
pub fn input_table(
    inputs: Vec<Input>,
    index: Option<IdentityIndex>,
    roles: Arc<NonCognitoRoles>,
    stats: Arc<Mutex<ReadStats>>,
    partitions: usize,
) -> Result<(StreamingTable, Arc<Sessions>), AuditError> {
    let inputs = Arc::new(inputs);
    let shared = inputs.iter().any(|i| i.kind.read_in_shares());
    let count = match shared {
        true => partitions.max(1),
        false => partitions.clamp(1, inputs.len().max(1)),
    };
    let cloudtrail = inputs
        .iter()
        .any(|i| matches!(i.kind, Kind::CloudTrail | Kind::CloudTrailLines));
    let sessions = Arc::new(match index {
        Some(index) => Sessions::indexed(index),
        None if cloudtrail => Sessions::learning(count),
        None => Sessions::indexed(IdentityIndex::new()),
    });
    let schema = request_schema();
    let parts: Vec<Arc<dyn PartitionStream>> = (0..count)
        .map(|p| {
            Arc::new(InputPartition {
                schema: Arc::clone(&schema),
                inputs: Arc::clone(&inputs),
                sessions: Arc::clone(&sessions),
                roles: Arc::clone(&roles),
                stats: Arc::clone(&stats),
                part: p,
                parts: count,
            }) as Arc<dyn PartitionStream>
        })
        .collect();
    Ok((StreamingTable::try_new(schema, parts)?, sessions))
}

/// A reader's part in the first pass while sessions are learned: done once, and done
/// (as failed) if the reader stops any other way, so that no other reader waits for it.
struct FirstPass<'a> {
    sessions: &'a Sessions,
    done: bool,
}

impl FirstPass<'_> {
    fn done(&mut self, failed: bool) -> Result<(), AuditError> {
        self.done = true;
        self.sessions.first_pass_done(failed)
    }
}

impl Drop for FirstPass<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.sessions.first_pass_done(true);
        }
    }
}

#[derive(Debug)]
struct InputPartition {
    schema: SchemaRef,
    inputs: Arc<Vec<Input>>,
    sessions: Arc<Sessions>,
    roles: Arc<NonCognitoRoles>,
    stats: Arc<Mutex<ReadStats>>,
    part: usize,
    parts: usize,
}

impl PartitionStream for InputPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (part, parts) = (self.part, self.parts);
        // Parquet files alone: read where the batches are decided and tallied.
        if let Some(reader) = ParquetShares::new(Arc::clone(&self.inputs), Share { part, parts }) {
            return pulled(
                Arc::clone(&self.schema),
                reader,
                self.sessions.len().unwrap_or_default() as u64,
                Arc::clone(&self.stats),
            );
        }
        let mut builder = RecordBatchReceiverStream::builder(Arc::clone(&self.schema), 2);
        let tx = builder.tx();
        let inputs = Arc::clone(&self.inputs);
        let sessions = Arc::clone(&self.sessions);
        let roles = Arc::clone(&self.roles);
        let stats = Arc::clone(&self.stats);
        builder.spawn_blocking(move || {
            // Parquet files are read by every stream, a share each; the others in runs of
            // the input order (CloudTrail files sort by time: a session is then mostly
            // learned by the reader that reads the events signed with its key).
            let (shared, dealt): (Vec<&Input>, Vec<&Input>) =
                inputs.iter().partition(|i| i.kind.read_in_shares());
            let run = |p: usize| dealt.len() * p / parts;
            let mut mine: Vec<&Input> = dealt[run(part)..run(part + 1)].to_vec();
            mine.extend(shared);
            let share = Share { part, parts };
            let mut local = ReadStats::default();
            let stopped = std::cell::Cell::new(false);
            let mut emit = |batch| {
                let sent = tx.blocking_send(Ok(batch)).is_ok();
                stopped.set(stopped.get() || !sent);
                sent
            };
            let result = match sessions.is_learning() {
                Ok(true) => {
                    let mut first = FirstPass {
                        sessions: &sessions,
                        done: false,
                    };
                    let mut learner = Learner::default();
                    let read = read_inputs(
                        &mine,
                        share,
                        &sessions,
                        &roles,
                        &mut learner,
                        &mut local,
                        &mut emit,
                    );
                    let done = first.done(read.is_err() || stopped.get());
                    read.and(done).and_then(|()| {
                        if sessions.wait_for_readers(&|| tx.is_closed())? {
                            learner.finish(&sessions, &mut local, &mut emit)?;
                        }
                        Ok(())
                    })
                }
                Ok(false) => read_inputs(
                    &mine,
                    share,
                    &sessions,
                    &roles,
                    &mut Learner::default(),
                    &mut local,
                    &mut emit,
                ),
                Err(e) => Err(e),
            };
            let merged = match stats.lock() {
                Ok(mut s) => {
                    s.merge(local);
                    Ok(())
                }
                Err(_) => Err(poisoned()),
            };
            result
                .and(merged)
                .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))
        });
        builder.build()
    }
}

/// The stream of `reader`'s batches, read on the thread that polls it (no reader thread,
/// no channel). Its counts are added to `stats` when it ends, fails, or is dropped
/// unfinished, as a reader thread adds them when it stops.
fn pulled(
    schema: SchemaRef,
    reader: ParquetShares,
    sessions: u64,
    stats: Arc<Mutex<ReadStats>>,
) -> SendableRecordBatchStream {
    /// The reader and its counts, merged into `stats` once.
    struct Pull {
        reader: ParquetShares,
        local: Option<ReadStats>,
        stats: Arc<Mutex<ReadStats>>,
    }
    impl Pull {
        fn merge(&mut self) -> Result<(), AuditError> {
            match self.local.take() {
                Some(local) => {
                    self.stats.lock().map_err(|_| poisoned())?.merge(local);
                    Ok(())
                }
                None => Ok(()),
            }
        }
    }
    impl Drop for Pull {
        fn drop(&mut self) {
            // A poisoned lock means another thread panicked: that run fails anyway.
            let _ = self.merge();
        }
    }
    let local = ReadStats {
        sessions,
        ..ReadStats::default()
    };
    let mut pull = Pull {
        reader,
        local: Some(local),
        stats,
    };
    let external = |e: AuditError| datafusion::error::DataFusionError::External(Box::new(e));
    let batches = futures::stream::poll_fn(move |_| {
        let Some(local) = pull.local.as_mut() else {
            // Ended, or failed: nothing more.
            return std::task::Poll::Ready(None);
        };
        let next = match pull.reader.next_batch(local) {
            Ok(Some(batch)) => Some(Ok(batch)),
            Ok(None) => pull.merge().err().map(|e| Err(external(e))),
            Err(e) => {
                // The read's error is the one reported, as from a reader thread.
                let _ = pull.merge();
                Some(Err(external(e)))
            }
        };
        std::task::Poll::Ready(next)
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, batches))
}

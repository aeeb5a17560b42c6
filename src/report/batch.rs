//! `check --requests`: deciding a stream of JSON Lines requests ([`crate::request::lines`])
//! and writing one JSON line per request, in input order, with bounded memory and optional
//! worker threads; and the summary printed when some lines failed.

use std::io::{Read, Write};

use jiff::Timestamp;

use crate::eval::authorize::{AuthorizeError, Policies, PolicyType, Scratch, TypedRef, deciding};
use crate::eval::{Decision, PolicySet, StatementRef};
use crate::lang::principal::Caller;
use crate::request::lines::{LineError, RequestBuffer, parse_request_into};

/// The output object for a line that failed: `{"line":N,"error":"..."}`.
#[derive(serde::Serialize)]
struct FailedLine<'a> {
    line: usize,
    error: &'a str,
}

/// Totals of a batch run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchSummary {
    /// Requests decided.
    pub decided: usize,
    /// Lines that could not be parsed or evaluated.
    pub failed: usize,
}

impl BatchSummary {
    fn add(&mut self, other: BatchSummary) {
        self.decided += other.decided;
        self.failed += other.failed;
    }
}

/// How a batch runs.
#[derive(Debug, Clone, Copy)]
pub struct BatchOptions {
    /// Worker threads; 1 processes everything on the calling thread; at most
    /// [`MAX_THREADS`].
    pub threads: usize,
    /// Fills `aws:CurrentTime`/`aws:EpochTime` when a request omits them.
    pub now: Timestamp,
}

/// Why a batch stopped: its input could not be read, or its output written (a closed
/// pipe, a full disk). The batch stops at the first failure either way.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum BatchError {
    /// Reading the requests failed.
    #[error("reading the requests: {0}")]
    #[diagnostic(code(policy_sim::batch::read))]
    Read(std::io::Error),
    /// Writing the results failed.
    #[error("writing the results: {0}")]
    #[diagnostic(code(policy_sim::batch::write))]
    Write(std::io::Error),
    /// The system would not start the worker threads.
    #[error("cannot start a worker thread: {0}")]
    #[diagnostic(code(policy_sim::batch::threads))]
    Threads(std::io::Error),
}

/// At most this many worker threads, whatever is asked (more cannot help on any machine
/// this runs on, and each holds buffers).
pub const MAX_THREADS: usize = 256;

/// Bytes read per block: lines are handed to workers a block at a time.
const BLOCK_BYTES: usize = 256 * 1024;
/// A longer line is reported as an error and skipped without being held in memory.
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// A run of whole lines, numbered from `first_line`.
struct Block {
    seq: u64,
    first_line: usize,
    bytes: Vec<u8>,
    /// A line too long to keep: its number (it follows the lines in `bytes`).
    oversized_line: Option<usize>,
}

/// Pre-rendered `{"policy":...,"index":...,"sid":...,"effect":...,"policy_type":...}` per
/// statement, per policy set in [`Policies::sets`] order: identity-based first (slot 0),
/// then the SCP levels, the RCP levels, the resource-based policies, the boundary and the
/// session policies.
struct Fragments {
    sets: Vec<Vec<Vec<String>>>,
    scps: usize,
    rcps: usize,
    resource: usize,
    boundary: usize,
}

impl Fragments {
    fn new(policies: &Policies) -> Fragments {
        let sets = policies
            .sets()
            .map(|(policy_type, index, set)| {
                set.policies()
                    .iter()
                    .enumerate()
                    .map(|(p, policy)| {
                        (0..policy.statements.len())
                            .map(|statement| {
                                let r = TypedRef {
                                    policy_type,
                                    index,
                                    statement: StatementRef {
                                        policy: p,
                                        statement,
                                    },
                                };
                                serde_json::to_string(&super::typed_statement_out(policies, r))
                                    .expect("a statement always serializes")
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        Fragments {
            sets,
            scps: policies.scps.len(),
            rcps: policies.rcps.len(),
            resource: policies.resource.len(),
            boundary: usize::from(policies.boundary.is_some()),
        }
    }

    /// The fragment of a statement of the identity-based policies.
    fn identity(&self, r: StatementRef) -> &str {
        &self.sets[0][r.policy][r.statement]
    }

    /// The fragment of a statement of any policy set.
    fn typed(&self, r: TypedRef) -> &str {
        let slot = match r.policy_type {
            PolicyType::Identity => 0,
            PolicyType::Scp => 1 + r.index,
            PolicyType::Rcp => 1 + self.scps + r.index,
            PolicyType::Resource => 1 + self.scps + self.rcps + r.index,
            PolicyType::Boundary => 1 + self.scps + self.rcps + self.resource,
            PolicyType::Session => 1 + self.scps + self.rcps + self.resource + self.boundary,
        };
        &self.sets[slot][r.statement.policy][r.statement.statement]
    }
}

/// Why a well-formed line could not be decided, or was not well-formed.
enum Failed {
    Line(LineError),
    Authorize(AuthorizeError),
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failed::Line(e) => e.fmt(f),
            Failed::Authorize(e) => e.fmt(f),
        }
    }
}

/// Per-worker state reused from line to line.
struct Worker<'a> {
    policies: &'a Policies,
    /// The principal of lines that do not name their own.
    principal: Option<&'a Caller>,
    /// Whether lines gain `decided_by` (policy types other than identity-based given).
    typed: bool,
    fragments: &'a Fragments,
    now: Timestamp,
    deciding: Vec<crate::eval::StatementRef>,
    scratch: Scratch,
    buffer: RequestBuffer,
    /// The last line's copy of `principal`, kept so that the next line copies into its
    /// strings instead of allocating new ones.
    spare: Option<Caller>,
}

impl Worker<'_> {
    /// Decide every line of `block`, appending one output line per request to `out`.
    fn process(&mut self, block: &Block, out: &mut Vec<u8>) -> BatchSummary {
        let mut summary = BatchSummary::default();
        let mut line_no = block.first_line;
        let mut rest: &[u8] = &block.bytes;
        while !rest.is_empty() {
            let (line, next) = match memchr::memchr(b'\n', rest) {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &[][..]),
            };
            rest = next;
            self.line(line, line_no, out, &mut summary);
            line_no += 1;
        }
        if let Some(n) = block.oversized_line {
            summary.failed += 1;
            write_error(
                out,
                n,
                &LineError::TooLong {
                    limit: MAX_LINE_BYTES,
                },
            );
        }
        summary
    }

    fn line(&mut self, line: &[u8], line_no: usize, out: &mut Vec<u8>, summary: &mut BatchSummary) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let buffer = &mut self.buffer;
        let parsed = std::str::from_utf8(line)
            .map_err(LineError::from)
            .and_then(|text| parse_request_into(text, self.now, buffer));
        if let Err(error) = parsed {
            summary.failed += 1;
            write_error(out, line_no, &error);
            return;
        }
        let default_principal = buffer.request.principal.is_none();
        if default_principal && let Some(principal) = self.principal {
            // `prepare` adjusts the caller per line: start each line from the given one.
            buffer.request.principal = Some(match self.spare.take() {
                Some(mut spare) => {
                    spare.clone_from(principal);
                    spare
                }
                None => principal.clone(),
            });
        }
        let result = if buffer.request.principal.is_none() && self.policies.is_identity_only() {
            // Identity-based policies alone: today's evaluation, nothing more.
            self.policies
                .identity
                .evaluate_into(&buffer.request, &mut self.deciding)
                .map(|decision| {
                    write_line(out, &buffer.id_json, decision, None, |out| {
                        for (i, r) in self.deciding.iter().enumerate() {
                            if i > 0 {
                                out.push(b',');
                            }
                            out.extend_from_slice(self.fragments.identity(*r).as_bytes());
                        }
                    })
                })
                .map_err(|e| Failed::Line(e.into()))
        } else {
            let policies = self.policies;
            policies
                .prepare(&mut buffer.request)
                .and_then(|()| policies.authorize_into(&buffer.request, &mut self.scratch))
                .map(|verdict| {
                    let decided_by = self.typed.then_some(verdict.decided_by);
                    write_line(out, &buffer.id_json, verdict.decision, decided_by, |out| {
                        for (i, r) in deciding(self.scratch.results(), verdict).enumerate() {
                            if i > 0 {
                                out.push(b',');
                            }
                            out.extend_from_slice(self.fragments.typed(r).as_bytes());
                        }
                    })
                })
                .map_err(Failed::Authorize)
        };
        if default_principal {
            self.spare = buffer.request.principal.take();
        }
        match result {
            Ok(()) => summary.decided += 1,
            Err(error) => {
                summary.failed += 1;
                write_error(out, line_no, &error);
            }
        }
    }
}

/// One decided line: `{"id":...,"decision":...,"statements":[...]}`, with
/// `"decided_by":...` after the statements when given; `statements` writes the
/// statements' fragments.
fn write_line(
    out: &mut Vec<u8>,
    id_json: &[u8],
    decision: Decision,
    decided_by: Option<PolicyType>,
    statements: impl FnOnce(&mut Vec<u8>),
) {
    out.extend_from_slice(b"{\"id\":");
    out.extend_from_slice(id_json);
    out.extend_from_slice(b",\"decision\":\"");
    out.extend_from_slice(decision.as_str().as_bytes());
    out.extend_from_slice(b"\",\"statements\":[");
    statements(out);
    out.push(b']');
    if let Some(t) = decided_by {
        out.extend_from_slice(b",\"decided_by\":\"");
        out.extend_from_slice(t.as_str().as_bytes());
        out.push(b'"');
    }
    out.extend_from_slice(b"}\n");
}

fn write_error(out: &mut Vec<u8>, line: usize, error: &dyn std::fmt::Display) {
    let error = error.to_string();
    serde_json::to_writer(
        &mut *out,
        &FailedLine {
            line,
            error: &error,
        },
    )
    .expect("writing to a Vec cannot fail");
    out.push(b'\n');
}

/// Cut `input` into blocks of whole lines and hand each to `send`, in order.
fn read_blocks(mut input: impl Read, mut send: impl FnMut(Block) -> bool) -> std::io::Result<()> {
    let mut seq = 0u64;
    let mut line = 1usize;
    let mut pending: Vec<u8> = Vec::with_capacity(BLOCK_BYTES);
    // Skipping the rest of an oversized line, whose number is kept here.
    let mut skipping: Option<usize> = None;
    let mut eof = false;
    while !eof {
        let start = pending.len();
        pending.resize(start + BLOCK_BYTES, 0);
        let n = loop {
            match input.read(&mut pending[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        pending.truncate(start + n);
        eof = n == 0;
        if let Some(long_line) = skipping {
            match memchr::memchr(b'\n', &pending) {
                Some(i) => {
                    pending.drain(..=i);
                    skipping = None;
                    let block = Block {
                        seq,
                        first_line: long_line + 1,
                        bytes: Vec::new(),
                        oversized_line: Some(long_line),
                    };
                    seq += 1;
                    line = long_line + 1;
                    if !send(block) {
                        return Ok(());
                    }
                }
                None => {
                    pending.clear();
                    if eof {
                        send(Block {
                            seq,
                            first_line: long_line + 1,
                            bytes: Vec::new(),
                            oversized_line: Some(long_line),
                        });
                    }
                    continue;
                }
            }
        }
        // Hand over every complete line; keep the partial last one (all of it at EOF).
        let cut = if eof {
            pending.len()
        } else {
            match memchr::memrchr(b'\n', &pending) {
                Some(i) => i + 1,
                None if pending.len() > MAX_LINE_BYTES => {
                    pending.clear();
                    skipping = Some(line);
                    continue;
                }
                None => continue,
            }
        };
        if cut == 0 {
            continue;
        }
        let tail = pending.split_off(cut);
        let bytes = std::mem::replace(&mut pending, tail);
        let lines = memchr::memchr_iter(b'\n', &bytes).count();
        let block = Block {
            seq,
            first_line: line,
            bytes,
            oversized_line: None,
        };
        seq += 1;
        line += lines + usize::from(eof && !block.bytes.ends_with(b"\n"));
        if !send(block) {
            return Ok(());
        }
    }
    Ok(())
}

/// Read JSON Lines requests from `input` and write one JSON line per request to `output`,
/// in input order. Blank lines are skipped. A line that cannot be parsed or evaluated
/// produces `{"line":N,"error":"..."}` and processing goes on.
///
/// Streaming: memory stays bounded whatever the input size (a few blocks of 256 KiB per
/// thread in flight). With `threads > 1` a reader cuts the input into blocks of lines,
/// workers decide them in parallel, and output blocks are written back in input order.
/// When the output cannot be written (its reader closed the pipe), reading and deciding
/// stop: [`BatchError::Write`].
pub fn run_batch(
    set: &PolicySet,
    input: impl Read + Send,
    output: impl Write,
    options: BatchOptions,
) -> Result<BatchSummary, BatchError> {
    run_authorized(
        &Policies::identity_only(set.clone()),
        None,
        input,
        output,
        options,
    )
}

/// [`run_batch`] with every policy type: each line is decided with `policies`
/// ([`Policies::authorize_into`]), as `principal` unless the line names its own
/// `"principal"`. A line without a principal is decided by the identity-based policies
/// alone when no other type is given, and is an error line otherwise. When other types
/// are given, each output line ends with `"decided_by"`; every statement carries its
/// `"policy_type"`.
pub fn run_authorized(
    policies: &Policies,
    principal: Option<&Caller>,
    input: impl Read + Send,
    mut output: impl Write,
    options: BatchOptions,
) -> Result<BatchSummary, BatchError> {
    let fragments = Fragments::new(policies);
    let new_worker = || Worker {
        policies,
        principal,
        typed: !policies.is_identity_only(),
        fragments: &fragments,
        now: options.now,
        deciding: Vec::with_capacity(16),
        scratch: Scratch::default(),
        buffer: RequestBuffer::default(),
        spare: None,
    };
    if options.threads <= 1 {
        let mut worker = new_worker();
        let mut summary = BatchSummary::default();
        let mut out = Vec::with_capacity(BLOCK_BYTES * 2);
        let mut write_error = None;
        read_blocks(input, |block| {
            out.clear();
            summary.add(worker.process(&block, &mut out));
            match output.write_all(&out) {
                Ok(()) => true,
                Err(e) => {
                    write_error = Some(e);
                    false
                }
            }
        })
        .map_err(BatchError::Read)?;
        if let Some(e) = write_error {
            return Err(BatchError::Write(e));
        }
        output.flush().map_err(BatchError::Write)?;
        return Ok(summary);
    }
    let threads = options.threads.min(MAX_THREADS);
    let (work_tx, work_rx) = std::sync::mpsc::sync_channel::<Block>(threads * 2);
    // Shared by the workers only: when they have all stopped, the reader's next send
    // fails and it stops reading.
    let work_rx = std::sync::Arc::new(std::sync::Mutex::new(work_rx));
    let (done_tx, done_rx) =
        std::sync::mpsc::sync_channel::<(u64, Vec<u8>, BatchSummary)>(threads * 2);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            let work_rx = std::sync::Arc::clone(&work_rx);
            let mut worker = new_worker();
            // A thread the system will not give is an error, not a panic.
            std::thread::Builder::new()
                .spawn_scoped(scope, move || {
                    loop {
                        let block = match work_rx.lock() {
                            Ok(rx) => match rx.recv() {
                                Ok(b) => b,
                                Err(_) => return,
                            },
                            Err(_) => return,
                        };
                        let mut out = Vec::with_capacity(block.bytes.len() + 1024);
                        let summary = worker.process(&block, &mut out);
                        if done_tx.send((block.seq, out, summary)).is_err() {
                            return;
                        }
                    }
                })
                .map_err(BatchError::Threads)?;
        }
        drop(done_tx);
        drop(work_rx);
        let reader = std::thread::Builder::new()
            .spawn_scoped(scope, move || {
                read_blocks(input, |block| work_tx.send(block).is_ok())
            })
            .map_err(BatchError::Threads)?;
        // Write results back in input order.
        let mut summary = BatchSummary::default();
        let mut waiting = std::collections::BTreeMap::new();
        let mut next = 0u64;
        let mut result = Ok(());
        'results: for (seq, out, s) in done_rx.iter() {
            summary.add(s);
            waiting.insert(seq, out);
            while let Some(out) = waiting.remove(&next) {
                result = output.write_all(&out);
                if result.is_err() {
                    // No one reads the results: stop the workers, and through them the
                    // reader, instead of deciding the rest of the input.
                    break 'results;
                }
                next += 1;
            }
        }
        drop(done_rx);
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the reader thread failed")));
        result.map_err(BatchError::Write)?;
        read.map_err(BatchError::Read)?;
        output.flush().map_err(BatchError::Write)?;
        Ok(summary)
    })
}

/// `N request(s) decided, M line(s) failed` (with the newline), or `None` when no line
/// failed.
pub fn failures_text(summary: &BatchSummary) -> Option<String> {
    (summary.failed > 0).then(|| {
        format!(
            "{} request(s) decided, {} line(s) failed\n",
            summary.decided, summary.failed
        )
    })
}

//! `check --requests`: deciding a stream of JSON Lines requests ([`crate::request::lines`])
//! and writing one JSON line per request, in input order, with bounded memory and optional
//! worker threads; and the summary printed when some lines failed.

use std::io::{Read, Write};

use jiff::Timestamp;

use crate::eval::authorize::{AuthorizeError, Policies, PolicyType, Scratch, TypedRef, deciding};
use crate::eval::{Decision, PolicySet, StatementRef};
use crate::lang::principal::Caller;
use crate::request::lines::{LineError, RequestBuffer, parse_request_into, scan_request_at};

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
const BLOCK_BYTES: usize = 1024 * 1024;
/// A longer line is reported as an error and skipped without being held in memory.
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// A run of whole lines, or one line too long to keep. Blocks are not numbered by line:
/// the reader only cuts, the workers count the lines of their blocks ([`Decided::lines`])
/// and the writer, which sees the blocks in order, numbers them.
struct Block {
    seq: u64,
    /// The lines are `bytes[..len]`; the rest of the buffer is spare room.
    bytes: Vec<u8>,
    len: usize,
    /// The block stands for one line too long to keep (it holds no bytes), the line after
    /// those of the block before.
    oversized: bool,
}

/// A block's results: its output lines, where its error lines' numbers go, and how many
/// input lines it held.
#[derive(Default)]
struct Decided {
    /// The output lines, each error line without its opening `{"line":N`.
    bytes: Vec<u8>,
    /// `(offset in bytes, line within the block counting from 0)` of each error line: a
    /// worker does not know how many lines came before its block, so the writer opens each
    /// error line, `{"line":N`, as it writes the block ([`Writer::write`]).
    numbers: Vec<(usize, usize)>,
    /// Input lines in the block, blank ones included.
    lines: usize,
    summary: BatchSummary,
}

impl Decided {
    fn clear(&mut self) {
        self.bytes.clear();
        self.numbers.clear();
        self.lines = 0;
        self.summary = BatchSummary::default();
    }

    /// An error line for line `line` of the block (from 0).
    fn error(&mut self, line: usize, error: &dyn std::fmt::Display) {
        self.summary.failed += 1;
        self.numbers.push((self.bytes.len(), line));
        self.bytes.extend_from_slice(b",\"error\":");
        serde_json::to_writer(&mut self.bytes, &error.to_string())
            .expect("writing to a Vec cannot fail");
        self.bytes.extend_from_slice(b"}\n");
    }
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
    /// Decide every line of `block` into `out` (cleared first): one output line per
    /// request, and the number of lines.
    fn process(&mut self, block: &Block, out: &mut Decided) {
        out.clear();
        if block.oversized {
            out.lines = 1;
            out.error(
                0,
                &LineError::TooLong {
                    limit: MAX_LINE_BYTES,
                },
            );
            return;
        }
        let bytes = &block.bytes[..block.len];
        let mut line_no = 0;
        let mut at = 0;
        // A block of UTF-8 (as nearly every one is) is checked once, and a line of the usual
        // shape is read where it starts, its end found by the reading. Any other line, and
        // every line of a block that is not UTF-8, is cut at its `\n` and read on its own.
        let text = simdutf8::basic::from_utf8(bytes).ok();
        while at < bytes.len() {
            let scanned =
                text.and_then(|text| scan_request_at(text, at, self.now, &mut self.buffer));
            at = match scanned {
                Some((end, parsed)) => {
                    self.decide(parsed, line_no, out);
                    end + 1
                }
                None => {
                    let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i);
                    self.line(&bytes[at..end], line_no, out);
                    end + 1
                }
            };
            line_no += 1;
        }
        out.lines = line_no;
    }

    /// Decide `line`, line `line_no` of its block (from 0), into `out`.
    fn line(&mut self, line: &[u8], line_no: usize, out: &mut Decided) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        // The vectorised check first; the standard one only to word the error.
        let parsed = simdutf8::basic::from_utf8(line)
            .or_else(|_| std::str::from_utf8(line))
            .map_err(LineError::from)
            .and_then(|text| parse_request_into(text, self.now, &mut self.buffer));
        self.decide(parsed, line_no, out);
    }

    /// Decide the request in `self.buffer` as `parsed` left it, line `line_no` of its
    /// block, into `out`.
    fn decide(&mut self, parsed: Result<(), LineError>, line_no: usize, out: &mut Decided) {
        if let Err(error) = parsed {
            out.error(line_no, &error);
            return;
        }
        let buffer = &mut self.buffer;
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
            // Identity-based policies alone: today's evaluation, nothing more. The line's
            // request was validated as it was read (`parse_request_into`; only its principal
            // changes after), so it is not validated again here.
            self.policies
                .identity
                .evaluate_validated_into(&buffer.request, &mut self.deciding)
                .map(|decision| {
                    write_line(&mut out.bytes, &buffer.id_json, decision, None, |out| {
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
                // Validated as it was read, as above.
                .and_then(|()| {
                    policies.authorize_validated_into(&buffer.request, &mut self.scratch)
                })
                .map(|verdict| {
                    let decided_by = self.typed.then_some(verdict.decided_by);
                    write_line(
                        &mut out.bytes,
                        &buffer.id_json,
                        verdict.decision,
                        decided_by,
                        |out| {
                            for (i, r) in deciding(self.scratch.results(), verdict).enumerate() {
                                if i > 0 {
                                    out.push(b',');
                                }
                                out.extend_from_slice(self.fragments.typed(r).as_bytes());
                            }
                        },
                    )
                })
                .map_err(Failed::Authorize)
        };
        // Kept for the next line's copy; a line without one moves nothing (a `Caller` is
        // large enough that moving `None` about is a copy per line).
        if default_principal && buffer.request.principal.is_some() {
            self.spare = buffer.request.principal.take();
        }
        match result {
            Ok(()) => out.summary.decided += 1,
            Err(error) => out.error(line_no, &error),
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

impl Block {
    /// The block standing for a line too long to keep (it holds no bytes).
    fn too_long(seq: u64) -> Block {
        Block {
            seq,
            bytes: Vec::new(),
            len: 0,
            oversized: true,
        }
    }
}

/// Buffers handed back after use, so that the next block reuses their pages instead of
/// asking the allocator (and the kernel) for fresh, zeroed ones. Holds at most the
/// buffers that were in flight at once.
struct Pool<T>(std::sync::Mutex<Vec<T>>);

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Pool(std::sync::Mutex::new(Vec::new()))
    }
}

impl<T> Pool<T> {
    fn take(&self) -> Option<T> {
        self.0.lock().ok()?.pop()
    }

    fn give(&self, buffer: T) {
        if let Ok(mut buffers) = self.0.lock() {
            buffers.push(buffer);
        }
    }
}

/// How [`read_blocks`] cuts its input: the size of a fresh block, and the longest line
/// (in bytes, without its `\n`) kept whole.
#[derive(Clone, Copy)]
struct Cut {
    block: usize,
    max_line: usize,
}

const CUT: Cut = Cut {
    block: BLOCK_BYTES,
    max_line: MAX_LINE_BYTES,
};

/// Read into `buffer[filled..]` once (a file fills it; a pipe hands over what has arrived,
/// so that lines written slowly, as by `tail -f`, are decided as they come); the new fill
/// level and whether the input ended.
fn fill(input: &mut impl Read, buffer: &mut [u8], filled: usize) -> std::io::Result<(usize, bool)> {
    loop {
        match input.read(&mut buffer[filled..]) {
            Ok(0) => return Ok((filled, true)),
            Ok(n) => return Ok((filled + n, false)),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Cut `input` into blocks of whole lines and hand each to `send`, in order. A line of
/// more than `cut.max_line` bytes is not held: it is skipped, and a block with no bytes
/// stands for it. Lines are not counted here (the workers count them). Each block's buffer comes from `recycled` when it has one (its length is kept:
/// a buffer is zeroed once, when first allocated), else is allocated.
fn read_blocks(
    mut input: impl Read,
    cut: Cut,
    mut recycled: impl FnMut() -> Option<Vec<u8>>,
    mut send: impl FnMut(Block) -> bool,
) -> std::io::Result<()> {
    let mut fresh = || match recycled() {
        // A buffer grown for a long line goes back to the usual size.
        Some(mut buffer) if buffer.len() >= cut.block => {
            if buffer.len() > cut.block {
                buffer.truncate(cut.block);
                buffer.shrink_to_fit();
            }
            buffer
        }
        _ => vec![0; cut.block],
    };
    let mut seq = 0u64;
    let mut buffer = fresh();
    // `buffer[..filled]` holds input not handed over yet: at most one partial line after
    // a block was cut.
    let mut filled = 0usize;
    // Skipping the rest of an oversized line.
    let mut skipping = false;
    let mut eof = false;
    while !eof {
        if filled == buffer.len() {
            // A full buffer without a line end: one line as long as the buffer.
            let grown = (buffer.len() * 2).min(cut.max_line + 1);
            buffer.resize(grown, 0);
        }
        (filled, eof) = fill(&mut input, &mut buffer, filled)?;
        if skipping {
            match memchr::memchr(b'\n', &buffer[..filled]) {
                Some(i) => {
                    buffer.copy_within(i + 1..filled, 0);
                    filled -= i + 1;
                    skipping = false;
                }
                None => {
                    filled = 0;
                    if !eof {
                        continue;
                    }
                }
            }
            let block = Block::too_long(seq);
            seq += 1;
            if !send(block) {
                return Ok(());
            }
        }
        // Hand over every complete line; keep the partial last one (all of it at EOF).
        let end = match memchr::memrchr(b'\n', &buffer[..filled]) {
            None if filled > cut.max_line => {
                filled = 0;
                skipping = true;
                if eof {
                    // The input ends inside the long line: name it now.
                    skipping = false;
                    send(Block::too_long(seq));
                }
                continue;
            }
            _ if eof => filled,
            Some(i) => i + 1,
            None => continue,
        };
        if end == 0 {
            continue;
        }
        let mut next = fresh();
        let rest = filled - end;
        if next.len() < rest {
            next.resize(rest, 0);
        }
        next[..rest].copy_from_slice(&buffer[end..filled]);
        let bytes = std::mem::replace(&mut buffer, next);
        filled = rest;
        let block = Block {
            seq,
            len: end,
            bytes,
            oversized: false,
        };
        seq += 1;
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
/// Streaming: memory stays bounded whatever the input size (a few blocks of 1 MiB per
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
    output: impl Write,
    options: BatchOptions,
) -> Result<BatchSummary, BatchError> {
    run_cut(policies, principal, input, output, options, CUT)
}

/// [`run_authorized`], with the input cut as `cut` says.
fn run_cut(
    policies: &Policies,
    principal: Option<&Caller>,
    input: impl Read + Send,
    output: impl Write,
    options: BatchOptions,
    cut: Cut,
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
    let mut writer = Writer {
        output,
        summary: BatchSummary::default(),
        first_line: 1,
        numbered: Vec::new(),
    };
    if options.threads <= 1 {
        let mut worker = new_worker();
        let mut decided = Decided::default();
        let mut write_error = None;
        let blocks = Pool::default();
        read_blocks(
            input,
            cut,
            || blocks.take(),
            |block| {
                worker.process(&block, &mut decided);
                blocks.give(block.bytes);
                match writer.write(&decided) {
                    Ok(()) => true,
                    Err(e) => {
                        write_error = Some(e);
                        false
                    }
                }
            },
        )
        .map_err(BatchError::Read)?;
        if let Some(e) = write_error {
            return Err(BatchError::Write(e));
        }
        return writer.finish();
    }
    let threads = options.threads.min(MAX_THREADS);
    let (work_tx, work_rx) = std::sync::mpsc::sync_channel::<Block>(threads * 2);
    // Shared by the workers only: when they have all stopped, the reader's next send
    // fails and it stops reading.
    let work_rx = std::sync::Arc::new(std::sync::Mutex::new(work_rx));
    let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<(u64, Decided)>(threads * 2);
    // Input blocks go back to the reader, output blocks to the workers.
    let (inputs, outputs) = (&Pool::default(), &Pool::<Decided>::default());
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
                        let mut decided = outputs.take().unwrap_or_default();
                        worker.process(&block, &mut decided);
                        inputs.give(block.bytes);
                        if done_tx.send((block.seq, decided)).is_err() {
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
                read_blocks(
                    input,
                    cut,
                    || inputs.take(),
                    |block| work_tx.send(block).is_ok(),
                )
            })
            .map_err(BatchError::Threads)?;
        // Write results back in input order.
        let mut waiting = std::collections::BTreeMap::new();
        let mut next = 0u64;
        let mut result = Ok(());
        'results: for (seq, decided) in done_rx.iter() {
            waiting.insert(seq, decided);
            while let Some(decided) = waiting.remove(&next) {
                result = writer.write(&decided);
                outputs.give(decided);
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
        writer.finish()
    })
}

/// Writes the decided blocks, given in input order, numbering their error lines.
struct Writer<W> {
    output: W,
    summary: BatchSummary,
    /// The number of the next block's first line.
    first_line: usize,
    /// Room for a block with its error lines numbered.
    numbered: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// Write the next block and flush it (lines that arrive slowly are answered as they
    /// come).
    fn write(&mut self, decided: &Decided) -> std::io::Result<()> {
        self.summary.add(decided.summary);
        let first_line = self.first_line;
        self.first_line += decided.lines;
        if decided.numbers.is_empty() {
            self.output.write_all(&decided.bytes)?;
        } else {
            let numbered = &mut self.numbered;
            numbered.clear();
            let mut at = 0;
            for &(offset, line) in &decided.numbers {
                numbered.extend_from_slice(&decided.bytes[at..offset]);
                write!(numbered, "{{\"line\":{}", first_line + line)?;
                at = offset;
            }
            numbered.extend_from_slice(&decided.bytes[at..]);
            self.output.write_all(numbered)?;
        }
        self.output.flush()
    }

    /// The totals, once everything is written and flushed.
    fn finish(mut self) -> Result<BatchSummary, BatchError> {
        self.output.flush().map_err(BatchError::Write)?;
        Ok(self.summary)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes a call (as a pipe may).
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    /// What the blocks say, flattened: each line with its number, and each line named as
    /// too long, in order. The lines are numbered here by counting them as the writer
    /// does; `error_lines_are_numbered_across_blocks` holds the whole batch to the numbers.
    #[derive(Debug, PartialEq, Eq)]
    enum Seen {
        Line(usize, Vec<u8>),
        TooLong(usize),
    }

    fn cut_up(input: &[u8], step: usize, cut: Cut, recycle: bool) -> Vec<Seen> {
        let pool = Pool::default();
        let mut seen = Vec::new();
        let mut next_seq = 0;
        let mut line = 1;
        read_blocks(
            Trickle { bytes: input, step },
            cut,
            || pool.take(),
            |block| {
                assert_eq!(block.seq, next_seq, "blocks come in order");
                next_seq += 1;
                let lines = &block.bytes[..block.len];
                if !lines.is_empty() {
                    let lines = lines.strip_suffix(b"\n").unwrap_or(lines);
                    for piece in lines.split(|&b| b == b'\n') {
                        seen.push(Seen::Line(line, piece.to_vec()));
                        line += 1;
                    }
                }
                if block.oversized {
                    assert!(block.len == 0, "a long line comes in a block of its own");
                    seen.push(Seen::TooLong(line));
                    line += 1;
                }
                if recycle {
                    pool.give(block.bytes);
                }
                true
            },
        )
        .expect("reading a slice cannot fail");
        seen
    }

    /// The model: split at `\n` (a final empty piece is no line); a line longer than
    /// `max_line` is named, not kept.
    fn model(input: &[u8], max_line: usize) -> Vec<Seen> {
        if input.is_empty() {
            return Vec::new();
        }
        let body = input.strip_suffix(b"\n").unwrap_or(input);
        body.split(|&b| b == b'\n')
            .enumerate()
            .map(|(i, line)| {
                if line.len() > max_line {
                    Seen::TooLong(i + 1)
                } else {
                    Seen::Line(i + 1, line.to_vec())
                }
            })
            .collect()
    }

    /// One policy allowing `s3:GetObject` on everything.
    fn allow_get_object() -> PolicySet {
        PolicySet::new(vec![
            crate::lang::parse::parse_policy(
                "p.json",
                br#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#,
            )
            .unwrap(),
        ])
    }

    /// A line that is not UTF-8 is an error line naming where it stops being UTF-8 (the
    /// standard check words it); the lines around it, ASCII or not, are decided.
    #[test]
    fn a_line_that_is_not_utf8_is_an_error_line() {
        let set = allow_get_object();
        let mut input = Vec::new();
        input.extend_from_slice(
            b"{\"id\":1,\"action\":\"s3:GetObject\",\"resource\":\"arn:aws:s3:::b/\xc3\xa9\"}\n",
        );
        input.extend_from_slice(b"{\"id\":2,\"action\":\"s3:GetObject\",\"resource\":\"*\"}\xc3\n");
        input.extend_from_slice(
            b"{\"id\":3,\"action\":\"s3:GetObject\",\"resource\":\"arn:aws:s3:::b/\xff\"}\n",
        );
        input.extend_from_slice(b"{\"id\":4,\"action\":\"s3:GetObject\",\"resource\":\"*\"}\n");
        let mut out = Vec::new();
        let options = BatchOptions {
            threads: 1,
            now: "2026-01-01T00:00:00Z".parse().unwrap(),
        };
        run_batch(&set, &input[..], &mut out, options).unwrap();
        let out = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{out}");
        assert!(
            lines[0].starts_with(r#"{"id":1,"decision":"Allow""#),
            "{out}"
        );
        assert_eq!(
            lines[1],
            r#"{"line":2,"error":"invalid UTF-8: incomplete utf-8 byte sequence from index 47"}"#
        );
        assert_eq!(
            lines[2],
            r#"{"line":3,"error":"invalid UTF-8: invalid utf-8 sequence of 1 bytes from index 59"}"#
        );
        assert!(
            lines[3].starts_with(r#"{"id":4,"decision":"Allow""#),
            "{out}"
        );
    }

    /// A line's action and resource are checked as it is read, and the decision relies on
    /// it (it does not check them again): a wildcard action, an action without a service
    /// and a resource that is not an ARN are error lines, with the identity-based policies
    /// alone and with a principal (every policy type's path), never decisions.
    #[test]
    fn a_request_of_the_wrong_shape_is_an_error_line_on_both_paths() {
        let set = crate::eval::PolicySet::new(vec![
            crate::lang::parse::parse_policy(
                "p.json",
                br#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
            )
            .unwrap(),
        ]);
        let input = concat!(
            r#"{"id":1,"action":"s3:Get*","resource":"arn:aws:s3:::b/k"}"#,
            "\n",
            r#"{"id":2,"action":"GetObject","resource":"*"}"#,
            "\n",
            r#"{"id":3,"action":"s3:GetObject","resource":"b/k"}"#,
            "\n",
            r#"{"id":4,"action":"s3:GetObject","resource":"arn:aws:s3:::b/k"}"#,
            "\n",
        );
        let principal = Caller::parse("arn:aws:sts::111122223333:assumed-role/r/s").unwrap();
        let policies = Policies::identity_only(set);
        for caller in [None, Some(&principal)] {
            let mut out = Vec::new();
            let options = BatchOptions {
                threads: 1,
                now: "2026-01-01T00:00:00Z".parse().unwrap(),
            };
            let summary =
                run_authorized(&policies, caller, input.as_bytes(), &mut out, options).unwrap();
            let out = String::from_utf8(out).unwrap();
            let lines: Vec<&str> = out.lines().collect();
            assert_eq!(
                lines[..3],
                [
                    r#"{"line":1,"error":"action \"s3:Get*\" is not of the form service:ActionName (without wildcards)"}"#,
                    r#"{"line":2,"error":"action \"GetObject\" is not of the form service:ActionName (without wildcards)"}"#,
                    r#"{"line":3,"error":"resource \"b/k\" is not an ARN (arn:partition:service:region:account:resource) or '*'"}"#,
                ],
                "{caller:?}"
            );
            assert!(
                lines[3].starts_with(r#"{"id":4,"decision":"Allow""#),
                "{out}"
            );
            assert_eq!((summary.decided, summary.failed), (1, 3));
        }
    }

    #[test]
    fn lines_are_numbered_across_blocks_and_long_ones_named() {
        let cut = Cut {
            block: 8,
            max_line: 12,
        };
        let input = b"abc\n0123456789ABCDEF\nxy\n\n0123456789AB\nlast";
        assert_eq!(
            cut_up(input, 5, cut, true),
            vec![
                Seen::Line(1, b"abc".to_vec()),
                Seen::TooLong(2),
                Seen::Line(3, b"xy".to_vec()),
                Seen::Line(4, Vec::new()),
                Seen::Line(5, b"0123456789AB".to_vec()),
                Seen::Line(6, b"last".to_vec()),
            ]
        );
        // The input may end inside a long line.
        assert_eq!(
            cut_up(b"ok\n0123456789ABC", 64, cut, false),
            vec![Seen::Line(1, b"ok".to_vec()), Seen::TooLong(2)]
        );
    }

    /// Lines that have arrived are handed on before the next read: a pipe written slowly
    /// (`tail -f`) is decided as it comes, not once a block's worth has arrived.
    #[test]
    fn lines_are_handed_on_as_they_arrive() {
        struct Slow<'a> {
            chunks: std::vec::IntoIter<&'static [u8]>,
            reads: usize,
            sent: &'a std::cell::Cell<usize>,
        }
        impl Read for Slow<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.sent.get() != self.reads {
                    return Err(std::io::Error::other(format!(
                        "read {} came before the lines of the earlier reads were handed on",
                        self.reads + 1
                    )));
                }
                let chunk = self.chunks.next().unwrap_or_default();
                buf[..chunk.len()].copy_from_slice(chunk);
                self.reads += usize::from(!chunk.is_empty());
                Ok(chunk.len())
            }
        }
        let sent = std::cell::Cell::new(0);
        let chunks: Vec<&'static [u8]> = vec![b"{\"a\":1}\n", b"{\"b\":2}\n", b"{\"c\":3}\n"];
        let input = Slow {
            chunks: chunks.clone().into_iter(),
            reads: 0,
            sent: &sent,
        };
        read_blocks(
            input,
            CUT,
            || None,
            |block| {
                assert_eq!(&block.bytes[..block.len], chunks[sent.get()]);
                sent.set(sent.get() + 1);
                true
            },
        )
        .expect("every line handed on before the next read");
        assert_eq!(sent.get(), 3);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Through the whole batch, on one thread or several, with blocks of a few lines
        /// (so that lines are counted by many workers): every line answered in input
        /// order, and each error line, a line too long to keep included, carries the
        /// number of its input line. Lines the scanner reads where they start (plain ones,
        /// with white space and `\r\n`) and lines it leaves to the general reader (an
        /// escape; every line of a block that is not UTF-8) are decided alike.
        #[test]
        fn error_lines_are_numbered_across_blocks(
            kinds in proptest::collection::vec(0u8..9, 0..60),
            // Below the longest line (99): a line too long never arrives whole.
            block in 40usize..99,
            threads in 1usize..4,
        ) {
            let set = allow_get_object();
            // 0: a request; 1: a line that is not one; 2: a blank line; 3: a line too long;
            // 4: a request in white space, ending in `\r\n`; 5: a line that is not UTF-8;
            // 6: a line of white space; 7: a request with an escape; 8: a line the scanner
            // reads in place but whose request is refused (an action without a name).
            let mut input = Vec::new();
            let mut want = Vec::new();
            for (i, kind) in kinds.iter().enumerate() {
                let request = format!(r#"{{"id":{i},"action":"s3:GetObject","resource":"*"}}"#);
                match kind {
                    0 => {
                        input.extend_from_slice(request.as_bytes());
                        want.push(format!("id {i} Allow"));
                    }
                    1 => {
                        input.extend_from_slice(br#"{"id":"#);
                        want.push(format!("line {}", i + 1));
                    }
                    2 => {}
                    3 => {
                        input.extend_from_slice(&[b'x'; 100]);
                        want.push(format!("line {} too long", i + 1));
                    }
                    4 => {
                        input.extend_from_slice(format!(" \t{request} \r").as_bytes());
                        want.push(format!("id {i} Allow"));
                    }
                    5 => {
                        input.extend_from_slice(br#"{"action":"s3:GetObject","resource":"arn:aws:s3:::b/"#);
                        input.extend_from_slice(b"\xff\"}");
                        want.push(format!("line {}", i + 1));
                    }
                    6 => input.extend_from_slice(b" \t\r"),
                    8 => {
                        input.extend_from_slice(
                            format!(r#"{{"id":{i},"action":"s3","resource":"*"}}"#).as_bytes(),
                        );
                        want.push(format!("line {}", i + 1));
                    }
                    _ => {
                        input.extend_from_slice(
                            format!(r#"{{"id":{i},"action":"s3:GetObject","resource":"arn:aws:s3:::b/\u00e9"}}"#)
                                .as_bytes(),
                        );
                        want.push(format!("id {i} Allow"));
                    }
                }
                input.push(b'\n');
            }
            let mut out = Vec::new();
            let options = BatchOptions {
                threads,
                now: "2026-01-01T00:00:00Z".parse().unwrap(),
            };
            let cut = Cut { block, max_line: 99 };
            let summary = run_cut(
                &Policies::identity_only(set),
                None,
                Trickle { bytes: &input, step: 64 },
                &mut out,
                options,
                cut,
            )
            .unwrap();
            let got: Vec<String> = String::from_utf8(out)
                .unwrap()
                .lines()
                .map(|line| {
                    let v: serde_json::Value = serde_json::from_str(line).unwrap();
                    match v.get("id") {
                        Some(id) => format!("id {id} {}", v["decision"].as_str().unwrap()),
                        None if v["error"].as_str().unwrap().contains("longer than") => {
                            format!("line {} too long", v["line"])
                        }
                        None => format!("line {}", v["line"]),
                    }
                })
                .collect();
            proptest::prop_assert_eq!(&got, &want);
            let failed = kinds.iter().filter(|&&k| matches!(k, 1 | 3 | 5 | 8)).count();
            let decided = kinds.iter().filter(|&&k| matches!(k, 0 | 4 | 7)).count();
            proptest::prop_assert_eq!((summary.decided, summary.failed), (decided, failed));
        }

        /// Whatever the block size, the read sizes and buffer reuse, the blocks hold the
        /// model's lines with the model's numbers.
        #[test]
        fn blocks_hold_the_lines_of_the_model(
            input in proptest::collection::vec(
                proptest::prop_oneof![4 => proptest::prelude::Just(b'\n'), 6 => b'a'..=b'e'],
                0..200,
            ),
            block in 1usize..24,
            max_line in 1usize..30,
            step in 1usize..40,
            recycle: bool,
        ) {
            let cut = Cut { block: block.min(max_line + 1), max_line };
            proptest::prop_assert_eq!(cut_up(&input, step, cut, recycle), model(&input, max_line));
        }
    }
}

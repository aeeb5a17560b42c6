//! Inputs: files and directories given on the command line, each file's kind told from its
//! content, and read into the request table ([`crate::table`]).
//!
//! | kind | told by | read as |
//! |---|---|---|
//! | CloudTrail log file | a JSON object whose `Records` holds the events (plain or gzip) | [`policy_sim::logs::cloudtrail`] |
//! | CloudTrail JSON Lines | one event a line (`eventSource`/`eventVersion`; CloudTrail Lake and Athena exports) | the same mapping |
//! | request lines | one request a line (`action`) | the columns as they are |
//! | Parquet | the `PAR1` magic | the request table's columns by name |
//! | S3 server access log | a line of the documented format | [`policy_sim::logs::s3_access`] |
//!
//! A directory is walked in name order; CloudTrail's digest files (under
//! `CloudTrail-Digest/`) are skipped. A file of no known kind is an error: nothing is
//! skipped silently.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, StringViewArray, UInt64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use policy_sim::logs::cloudtrail::record::Detach;
use policy_sim::logs::cloudtrail::{self, IdentityIndex, Record};
use policy_sim::logs::s3_access::{self, NonCognitoRoles};
use policy_sim::logs::{Unmapped, UnmappedCounts, UnmappedKind};
use policy_sim::root::Root;
use serde_json::Value;

use crate::error::AuditError;
use crate::records::each_record;
use crate::sessions::{Answers, Asking, Sessions};
use crate::table::{BATCH_ROWS, Row, TableBuilder, request_schema};

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A delivered CloudTrail log file (`{"Records":[...]}`, plain or gzip).
    CloudTrail,
    /// CloudTrail events one a line.
    CloudTrailLines,
    /// Request lines (the `check --requests` format).
    Requests,
    /// A Parquet request table.
    Parquet,
    /// An S3 server access log.
    S3AccessLog,
}

impl Kind {
    /// Whether a file of this kind is read in shares, each reader a run of its rows
    /// ([`Share`]): a Parquet table. Every other kind is read whole by one reader.
    pub fn read_in_shares(self) -> bool {
        self == Kind::Parquet
    }

    /// The kind's name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::CloudTrail => "cloudtrail",
            Kind::CloudTrailLines => "cloudtrail-lines",
            Kind::Requests => "requests",
            Kind::Parquet => "parquet",
            Kind::S3AccessLog => "s3-access-log",
        }
    }
}

/// One input file.
#[derive(Debug, Clone)]
pub struct Input {
    /// The file, resolved inside the project root.
    pub path: PathBuf,
    /// The file as named in reports (the path as given, or below the directory given).
    pub name: String,
    /// Its kind.
    pub kind: Kind,
}

/// The files of `paths` (files, or directories walked in name order), each with its kind,
/// read inside `root`.
pub fn discover(root: &Root, paths: &[PathBuf]) -> Result<Vec<Input>, AuditError> {
    let mut out = Vec::new();
    for given in paths {
        let resolved = root.resolve(given)?;
        if resolved.is_dir() {
            let mut files = Vec::new();
            walk(&resolved, &mut files).map_err(|e| AuditError::Input {
                file: given.display().to_string(),
                reason: format!("cannot read the directory: {e}"),
            })?;
            files.sort();
            for file in files {
                let rel = file.strip_prefix(&resolved).unwrap_or(&file);
                if rel
                    .components()
                    .any(|c| c.as_os_str() == "CloudTrail-Digest")
                {
                    continue;
                }
                let name = given.join(rel).display().to_string();
                // A link inside the tree may lead out of the project.
                let file = root.resolve(&file)?;
                let kind = detect(&name, &file)?;
                out.push(Input {
                    path: file,
                    name,
                    kind,
                });
            }
        } else {
            let name = given.display().to_string();
            let kind = detect(&name, &resolved)?;
            out.push(Input {
                path: resolved,
                name,
                kind,
            });
        }
    }
    if out.is_empty() {
        return Err(AuditError::Usage(
            "no input files: the directories given hold no log files".to_string(),
        ));
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&entry.path(), out)?;
        } else {
            out.push(entry.path());
        }
    }
    Ok(())
}

/// The most of a file's start read to tell its kind.
const HEAD_BYTES: usize = 1 << 20;
/// What is read first.
const FIRST_LOOK: usize = 16 << 10;

/// Tell a file's kind from its first bytes (decompressed when gzip).
pub fn detect(name: &str, path: &Path) -> Result<Kind, AuditError> {
    let input_error = |reason: String| AuditError::Input {
        file: name.to_string(),
        reason,
    };
    let mut file =
        std::fs::File::open(path).map_err(|e| input_error(format!("cannot read: {e}")))?;
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut file, &mut magic).map_err(|e| input_error(e.to_string()))?;
    if n == 4 && &magic == b"PAR1" {
        return Ok(Kind::Parquet);
    }
    let file = std::fs::File::open(path).map_err(|e| input_error(format!("cannot read: {e}")))?;
    let mut head = Vec::new();
    let mut reader: Box<dyn Read> = if magic[..n.min(2)] == [0x1f, 0x8b] {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    // A first look is enough for most files (a CloudTrail file starts with its
    // `Records`); read on, up to HEAD_BYTES, only to finish a long first line.
    let mut limit = FIRST_LOOK;
    loop {
        let before = head.len();
        (&mut reader)
            .take((limit - before) as u64)
            .read_to_end(&mut head)
            .map_err(|e| input_error(format!("cannot read: {e}")))?;
        let done = head.len() < limit
            || head.contains(&b'\n')
            || limit == HEAD_BYTES
            || String::from_utf8_lossy(&head)
                .trim_start()
                .strip_prefix('{')
                .is_some_and(|rest| rest.trim_start().starts_with("\"Records\""));
        if done {
            break;
        }
        limit = HEAD_BYTES;
    }
    let text = String::from_utf8_lossy(&head);
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(input_error("empty file: no records".to_string()));
    }
    if let Some(rest) = trimmed.strip_prefix('{') {
        if rest.trim_start().starts_with("\"Records\"") {
            return Ok(Kind::CloudTrail);
        }
        let first = trimmed.lines().next().unwrap_or("");
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(first) {
            if map.contains_key("Records") {
                return Ok(Kind::CloudTrail);
            }
            if map.contains_key("eventSource") || map.contains_key("eventVersion") {
                return Ok(Kind::CloudTrailLines);
            }
            if map.contains_key("action") || map.contains_key("resource") {
                return Ok(Kind::Requests);
            }
        }
        return Err(input_error(
            "a JSON file that is neither a CloudTrail log file ({\"Records\":[...]}), CloudTrail events one a line (eventSource), nor request lines (action, resource)".to_string(),
        ));
    }
    let first = trimmed.lines().next().unwrap_or("");
    if s3_access::parse_line(name, 1, first).is_ok() {
        return Ok(Kind::S3AccessLog);
    }
    Err(input_error(
        "not a CloudTrail log file, CloudTrail JSON Lines, request lines, Parquet, or an S3 server access log".to_string(),
    ))
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// At most this many unmapped events are kept as examples, per kind.
pub const EXAMPLES_PER_KIND: usize = 5;

/// What reading the inputs found besides the rows.
#[derive(Debug, Clone, Default)]
pub struct ReadStats {
    /// Files read, by kind.
    pub files: BTreeMap<Kind, u64>,
    /// Records (events, lines, Parquet rows) read.
    pub records: u64,
    /// Rows produced (an event may authorize several requests).
    pub rows: u64,
    /// Events that did not become requests, by kind.
    pub unmapped: UnmappedCounts,
    /// The first few unmapped events of each kind (by file and record): file, record,
    /// why.
    pub examples: BTreeMap<UnmappedKind, Vec<(String, u64, String)>>,
    /// Cognito sessions (access keys) indexed from `AssumeRoleWithWebIdentity` events.
    pub sessions: u64,
}

impl ReadStats {
    /// Add `other`'s counts.
    pub fn merge(&mut self, other: ReadStats) {
        for (k, n) in other.files {
            *self.files.entry(k).or_default() += n;
        }
        self.records += other.records;
        self.rows += other.rows;
        for (k, n) in other.unmapped.0 {
            *self.unmapped.0.entry(k).or_default() += n;
        }
        for (k, list) in other.examples {
            let mine = self.examples.entry(k).or_default();
            mine.extend(list);
            keep_first_examples(mine);
        }
        self.sessions = self.sessions.max(other.sessions);
    }

    fn unmapped(&mut self, file: &str, record: u64, u: &Unmapped) {
        self.unmapped.add(u);
        let list = self.examples.entry(u.kind).or_default();
        let later = list.len() == EXAMPLES_PER_KIND
            && list
                .last()
                .is_some_and(|(f, r, _)| (f.as_str(), *r) <= (file, record));
        if !later {
            list.push((file.to_string(), record, u.reason.clone()));
            keep_first_examples(list);
        }
    }
}

/// The first [`EXAMPLES_PER_KIND`] examples by file and record, whichever thread read
/// them first.
fn keep_first_examples(list: &mut Vec<(String, u64, String)>) {
    list.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    list.truncate(EXAMPLES_PER_KIND);
}

/// The Cognito sessions of every CloudTrail input, indexed before any event is mapped (a
/// session's key may be used in a file read before the one that records its issue).
///
/// Cost: every CloudTrail file is decompressed; a file that contains neither the text
/// `AssumeRole` (which `AssumeRoleWithWebIdentity` holds too) nor a `\u` escape is skipped, the others are read record by
/// record ([`each_record`]). A session record that cannot be read makes the keys it names
/// conflicts ([`IdentityIndex::add_unreadable`]). Files are read by `threads` threads, each
/// indexing its own; their indexes are merged ([`IdentityIndex::merge`], order-free).
/// Memory: the sessions, not their records. A file that cannot be read is left to the
/// mapping pass, which
/// reports it.
pub fn index_sessions(inputs: &[Input], threads: usize) -> Result<IdentityIndex, AuditError> {
    let files: Vec<&Input> = inputs
        .iter()
        .filter(|i| matches!(i.kind, Kind::CloudTrail | Kind::CloudTrailLines))
        .collect();
    let threads = threads.clamp(1, files.len().max(1));
    // Each thread indexes its files; merging is order-free (a key issued to two sessions
    // is a conflict whichever was seen first), so the index does not depend on the split.
    let parts: Vec<Option<IdentityIndex>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let files = &files;
                scope.spawn(move || {
                    let finder = memchr::memmem::Finder::new(SESSION_EVENTS);
                    let mut index = IdentityIndex::new();
                    let mut bytes = FileBytes::default();
                    for input in files.iter().skip(t).step_by(threads) {
                        index_file(input, &finder, &mut index, &mut bytes);
                    }
                    index
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().ok()).collect()
    });
    let mut index = IdentityIndex::new();
    for part in parts {
        // A thread that stopped has sessions no one indexed: no audit without them.
        let part = part.ok_or_else(|| {
            AuditError::Reader("the session index stopped before reading every file".to_string())
        })?;
        index.merge(part);
    }
    Ok(index)
}

/// The text every name of a session record holds: `AssumeRoleWithWebIdentity` (a Cognito
/// session) and `AssumeRole` (role chaining, which a Cognito session may do).
const SESSION_EVENTS: &[u8] = b"AssumeRole";

/// Whether a record names an event the session index learns from ([`SESSION_EVENTS`]).
fn is_session_event(record: &Record<'_>) -> bool {
    matches!(
        record.event_name.get(),
        Some("AssumeRoleWithWebIdentity" | "AssumeRole")
    )
}

/// Whether `text` may hold a session record: it names `AssumeRole` (found by `finder`),
/// or holds a `\u` escape, with which a name may be written.
fn may_name_a_session(text: &[u8], finder: &memchr::memmem::Finder) -> bool {
    finder.find(text).is_some() || memchr::memmem::find(text, b"\\u").is_some()
}

/// Index the sessions of one file. A file or record that cannot be read, or a malformed
/// session, is left to the mapping pass, which reports it; a session record that cannot be
/// read makes the keys it names conflicts (which session it issued cannot be told).
fn index_file(
    input: &Input,
    finder: &memchr::memmem::Finder,
    index: &mut IdentityIndex,
    bytes: &mut FileBytes,
) {
    let Ok(bytes) = bytes.read(input) else {
        return;
    };
    if !may_name_a_session(bytes, finder) {
        return;
    }
    let _ = each_record(input, bytes, &mut |_, record| {
        match record {
            Ok(record) => drop(index.add(record)),
            Err(u) if may_name_a_session(u.text.as_bytes(), finder) => {
                index.add_unreadable(u.text);
            }
            Err(_) => {}
        }
        true
    });
}

/// The most a file may hold, as read and decompressed: a file is read whole (CloudTrail
/// delivers files of a few megabytes), and a larger one (a gzip bomb, one huge export) is
/// an error naming it rather than memory without bound. A reader holds a gzip file's
/// bytes both as read and decompressed, so at most twice this at once.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// The most room kept from file to file for a file's bytes (CloudTrail's files are a few
/// megabytes decompressed): room past it, left by a larger file, is given back before the
/// next.
const HINT_BYTES: usize = 64 << 20;

/// Where [`FileBytes::fill`] left a file's bytes.
enum Filled {
    /// In `raw`, as read.
    Raw,
    /// The first `n` bytes of `out`, decompressed.
    Out(usize),
}

/// A reader's buffers for whole files, reused from file to file: the bytes as read, the
/// decompressed bytes (kept at their largest length, so that they are not zeroed again for
/// every file) and the decompressor.
#[derive(Default)]
pub struct FileBytes {
    raw: Vec<u8>,
    out: Vec<u8>,
    inflater: Option<crate::gunzip::Inflater>,
}

impl FileBytes {
    /// `input`'s bytes, decompressed when they start with the gzip magic bytes (one or more
    /// members); at most [`MAX_FILE_BYTES`], else an error naming the file.
    ///
    /// Cost: one read of the file and, for gzip, one decompression into room sized from its
    /// trailer (`crate::gunzip`); no allocation once the buffers fit the largest file.
    pub fn read(&mut self, input: &Input) -> Result<&[u8], AuditError> {
        Ok(match self.fill(input)? {
            Filled::Raw => &self.raw,
            Filled::Out(n) => &self.out[..n],
        })
    }

    /// [`FileBytes::read`] into a vector of its own.
    fn read_owned(input: &Input) -> Result<Vec<u8>, AuditError> {
        let mut buffers = FileBytes::default();
        Ok(match buffers.fill(input)? {
            Filled::Raw => buffers.raw,
            Filled::Out(n) => {
                buffers.out.truncate(n);
                buffers.out
            }
        })
    }

    fn fill(&mut self, input: &Input) -> Result<Filled, AuditError> {
        for buffer in [&mut self.raw, &mut self.out] {
            if buffer.capacity() > HINT_BYTES {
                *buffer = Vec::new();
            }
        }
        let too_big = || AuditError::Input {
            file: input.name.clone(),
            reason: format!(
                "holds more than {} MiB (decompressed): split it into smaller files",
                MAX_FILE_BYTES >> 20
            ),
        };
        let read_error = |source| {
            AuditError::Log(policy_sim::logs::LogError::Read {
                file: input.name.clone(),
                source,
            })
        };
        let file = std::fs::File::open(&input.path).map_err(read_error)?;
        let len = file.metadata().map_err(read_error)?.len();
        self.raw.clear();
        self.raw.reserve(len.min(HINT_BYTES as u64) as usize + 1);
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut self.raw)
            .map_err(read_error)?;
        if self.raw.len() as u64 > MAX_FILE_BYTES {
            return Err(AuditError::Input {
                file: input.name.clone(),
                reason: format!(
                    "is larger than {} MiB: split it into smaller files",
                    MAX_FILE_BYTES >> 20
                ),
            });
        }
        if !self.raw.starts_with(&[0x1f, 0x8b]) {
            return Ok(Filled::Raw);
        }
        let inflater = self
            .inflater
            .get_or_insert_with(crate::gunzip::Inflater::new);
        match crate::gunzip::gunzip_into(
            inflater,
            &self.raw,
            &mut self.out,
            MAX_FILE_BYTES as usize,
        ) {
            Ok(n) => Ok(Filled::Out(n)),
            Err(crate::gunzip::GunzipError::TooLarge { .. }) => Err(too_big()),
            Err(e @ crate::gunzip::GunzipError::BadData) => {
                Err(AuditError::Log(policy_sim::logs::LogError::Gzip {
                    file: input.name.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                }))
            }
        }
    }
}

/// Which part of a file one reader reads: part `part` of `parts` (`0` of `1`: all of it).
/// Only a Parquet file is read in parts, each reader its own run of rows; every other kind
/// of file is read whole by one reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    /// This reader's part, below `parts`.
    pub part: usize,
    /// How many readers share the file.
    pub parts: usize,
}

impl Share {
    /// The whole file.
    pub const WHOLE: Share = Share { part: 0, parts: 1 };

    /// The rows `lo..hi` of `total` that this part reads: contiguous runs, every row in
    /// exactly one part.
    pub fn rows(self, total: u64) -> (u64, u64) {
        let parts = self.parts.max(1) as u128;
        let at = |p: usize| (u128::from(total) * p as u128 / parts) as u64;
        (at(self.part), at(self.part + 1))
    }
}

/// Read `inputs` into request-table batches, handing each to `emit` (which returns
/// `false` to stop). CloudTrail events are joined with `sessions`: when they are still
/// being learned, each CloudTrail file teaches its sessions as it is read
/// ([`crate::sessions`]), and the caller maps the events `learner` set aside once every
/// reader is done ([`Learner::finish`]). A
/// Parquet file is read as far as `share` says (its other parts are other readers'); a
/// file is counted in `stats.files` by the reader of part 0 only. S3 access logs decide
/// role sessions without identity only for `roles` ([`s3_access::map_record`]).
pub fn read_inputs(
    inputs: &[&Input],
    share: Share,
    sessions: &Sessions,
    roles: &NonCognitoRoles,
    learner: &mut Learner,
    stats: &mut ReadStats,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<(), AuditError> {
    let mut builder = TableBuilder::new();
    // One set of buffers for every file's bytes.
    let mut bytes = FileBytes::default();
    let learning = sessions.is_learning()?;
    for input in inputs {
        count_file(input, share, stats);
        let go_on = match input.kind {
            Kind::CloudTrail | Kind::CloudTrailLines if learning => learn_cloudtrail(
                input,
                sessions,
                &mut builder,
                learner,
                stats,
                emit,
                &mut bytes,
            )?,
            Kind::CloudTrail | Kind::CloudTrailLines => {
                let index = sessions.index()?;
                read_cloudtrail(input, &index, &mut builder, stats, emit, &mut bytes)?
            }
            Kind::S3AccessLog => read_access_log(input, roles, &mut builder, stats, emit)?,
            Kind::Requests => read_request_lines(input, &mut builder, stats, emit)?,
            Kind::Parquet => {
                if !builder.is_empty() && !emit(builder.finish()) {
                    return Ok(());
                }
                read_parquet(input, share, stats, emit)?
            }
        };
        if !go_on {
            return Ok(());
        }
    }
    if !builder.is_empty() {
        emit(builder.finish());
    }
    Ok(())
}

/// Count `input` in `stats.files`, once whatever the number of readers: a file read in
/// shares by the reader of part 0 only.
fn count_file(input: &Input, share: Share, stats: &mut ReadStats) {
    if !input.kind.read_in_shares() || share.part == 0 {
        *stats.files.entry(input.kind).or_default() += 1;
    }
}

/// Parquet inputs read in turn, each as far as a share says, batch by batch on the
/// caller's thread: the batches (and counts, and errors) [`read_inputs`] hands out for
/// them, in the same order, pulled instead of pushed. A stream that reads, decides and
/// tallies on one thread frees each batch where it was allocated, so the allocator
/// reuses that memory at once instead of faulting in fresh pages.
pub struct ParquetShares {
    inputs: std::sync::Arc<Vec<Input>>,
    share: Share,
    /// The next input to open.
    next: usize,
    current: Option<ParquetShare>,
}

impl ParquetShares {
    /// A reader of `inputs` (in order) as far as `share` says; `None` when one of them is
    /// not a Parquet file (read those with [`read_inputs`]).
    pub fn new(inputs: std::sync::Arc<Vec<Input>>, share: Share) -> Option<ParquetShares> {
        inputs
            .iter()
            .all(|i| i.kind == Kind::Parquet)
            .then_some(ParquetShares {
                inputs,
                share,
                next: 0,
                current: None,
            })
    }

    /// The next batch, `None` after the last; counts go to `stats` as [`read_inputs`]
    /// counts them (except `sessions`, which is the caller's).
    ///
    /// Cost: see [`ParquetShare::open`] and [`ParquetShare::next_batch`].
    pub fn next_batch(&mut self, stats: &mut ReadStats) -> Result<Option<RecordBatch>, AuditError> {
        loop {
            if let Some(reader) = &mut self.current {
                if let Some(batch) = reader.next_batch(stats)? {
                    return Ok(Some(batch));
                }
                self.current = None;
            }
            let Some(input) = self.inputs.get(self.next) else {
                return Ok(None);
            };
            self.next += 1;
            count_file(input, self.share, stats);
            self.current = ParquetShare::open(input, self.share)?;
        }
    }
}

/// Emit a full batch; `false` when the consumer stopped.
fn flush_full(builder: &mut TableBuilder, emit: &mut dyn FnMut(RecordBatch) -> bool) -> bool {
    builder.len() < BATCH_ROWS || emit(builder.finish())
}

fn read_cloudtrail(
    input: &Input,
    index: &IdentityIndex,
    builder: &mut TableBuilder,
    stats: &mut ReadStats,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
    bytes: &mut FileBytes,
) -> Result<bool, AuditError> {
    let bytes = bytes.read(input)?;
    let mut stopped = false;
    let go_on = each_record(input, bytes, &mut |i, record| {
        stats.records += 1;
        let record = match record {
            Ok(record) => record,
            Err(u) => {
                stats.unmapped(&input.name, i, &cloudtrail::unreadable(u.error));
                return true;
            }
        };
        // A session record (a Cognito AssumeRoleWithWebIdentity, a role chaining's
        // AssumeRole) that could not be indexed is
        // reported as such, not as another service's event; one the index does not hold as
        // it reads (the index pass missed it) fails closed.
        if is_session_event(record) {
            match index.holds(record) {
                Err(u) => {
                    stats.unmapped(&input.name, i, &u);
                    return true;
                }
                Ok(false) => {
                    let u = Unmapped::new(
                        UnmappedKind::IdentityConflict,
                        "a Cognito session (or a role chaining) the session index does not hold as recorded",
                    );
                    stats.unmapped(&input.name, i, &u);
                    return true;
                }
                Ok(true) => {}
            }
        }
        push_mapped(
            input,
            i,
            record,
            cloudtrail::map(record, index),
            builder,
            stats,
        );
        stopped = !flush_full(builder, emit);
        !stopped
    })?;
    Ok(go_on && !stopped)
}

/// The most a reader keeps of events set aside while sessions are learned (copies of
/// their records, [`Detach::weight`]): past it, an event to set aside is noted by its
/// number, and its file read again at the end for the events noted.
pub const SET_ASIDE_BYTES: usize = 64 << 20;

/// A file with more than this many events set aside ...
const DENSE_MIN: usize = 64;
/// ... that are more than one in this many of its records so far is read again for them
/// at the end, rather than its events copied.
const DENSE_SHARE: usize = 8;

/// A reader's state while sessions are learned ([`crate::sessions`]): the events set aside
/// until every session is known.
pub struct Learner {
    /// The most `aside` may weigh ([`SET_ASIDE_BYTES`] unless told otherwise).
    budget: usize,
    /// Files with events set aside or noted (each event names its file by position here).
    files: Vec<Input>,
    /// Events set aside: their file, number and record.
    aside: Vec<(usize, u64, Record<'static>)>,
    /// The weight of `aside`.
    weight: usize,
    /// Events noted, past the budget: their file, and their numbers in rising order.
    noted: Vec<(usize, Vec<u64>)>,
    /// The answers the shared index gave this reader.
    answers: Answers,
}

impl Default for Learner {
    fn default() -> Learner {
        Learner::with_budget(SET_ASIDE_BYTES)
    }
}

impl Learner {
    /// A learner that sets aside at most `budget` bytes of events.
    pub fn with_budget(budget: usize) -> Learner {
        Learner {
            budget,
            files: Vec::new(),
            aside: Vec::new(),
            weight: 0,
            noted: Vec::new(),
            answers: Answers::default(),
        }
    }

    /// The files read again for the events noted past the budget.
    pub fn files_read_again(&self) -> usize {
        self.noted.len()
    }

    /// The position of `input` in `files` (it is the last one when it has events here).
    fn file(&mut self, input: &Input) -> usize {
        match self.files.last() {
            Some(last) if last.path == input.path && last.name == input.name => {}
            _ => self.files.push(input.clone()),
        }
        self.files.len() - 1
    }

    /// Map the events set aside and noted, now that every session is known (call once
    /// [`Sessions::wait_for_readers`] says so), into batches handed to `emit`; `false` when
    /// `emit` stopped. Their records were counted when first read.
    ///
    /// Cost: the events set aside are mapped from their copies; each file with events
    /// noted is read again (decompressed and parsed) and only those events mapped.
    pub fn finish(
        &mut self,
        sessions: &Sessions,
        stats: &mut ReadStats,
        emit: &mut dyn FnMut(RecordBatch) -> bool,
    ) -> Result<bool, AuditError> {
        let index = sessions.index()?;
        let mut builder = TableBuilder::new();
        for (file, i, record) in std::mem::take(&mut self.aside) {
            let input = &self.files[file];
            let mapped = cloudtrail::map(&record, &*index);
            push_mapped(input, i, &record, mapped, &mut builder, stats);
            if !flush_full(&mut builder, emit) {
                return Ok(false);
            }
        }
        self.weight = 0;
        let mut bytes = FileBytes::default();
        for (file, numbers) in &self.noted {
            let input = &self.files[*file];
            let bytes = bytes.read(input)?;
            let mut next = numbers.iter().peekable();
            let mut stopped = false;
            each_record(input, bytes, &mut |i, record| {
                if next.peek() != Some(&&i) {
                    return true;
                }
                next.next();
                match record {
                    Ok(record) => {
                        let mapped = cloudtrail::map(record, &*index);
                        push_mapped(input, i, record, mapped, &mut builder, stats);
                    }
                    // Noted events were read the first time: a file changed since.
                    Err(u) => stats.unmapped(&input.name, i, &cloudtrail::unreadable(u.error)),
                }
                stopped = !flush_full(&mut builder, emit);
                !stopped && next.peek().is_some()
            })?;
            if stopped {
                return Ok(false);
            }
            if next.peek().is_some() {
                return Err(AuditError::Input {
                    file: input.name.clone(),
                    reason: "changed while it was read: it holds fewer records than before"
                        .to_string(),
                });
            }
        }
        Ok(builder.is_empty() || emit(builder.finish()))
    }
}

/// Read one CloudTrail file while the sessions are learned ([`crate::sessions`]): every
/// session record is added to `sessions` as it comes, and every event is mapped with the
/// sessions known so far, its rows handed on as for [`read_cloudtrail`]. An event that
/// meets an access key not known then is set aside (a copy of its record) to be mapped at
/// the end ([`Learner::finish`]); or noted by its number, and the file read again for the
/// events noted at the end, when the file has many of them (more than `DENSE_MIN`, and more
/// than one in `DENSE_SHARE` of its records so far) or the reader has set aside as much as
/// its budget ([`SET_ASIDE_BYTES`]).
///
/// Cost: one read of the file; memory: the events set aside (at most the budget, past which
/// one file's copies are let go), and the numbers of those noted.
fn learn_cloudtrail(
    input: &Input,
    sessions: &Sessions,
    builder: &mut TableBuilder,
    learner: &mut Learner,
    stats: &mut ReadStats,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
    bytes: &mut FileBytes,
) -> Result<bool, AuditError> {
    let bytes = bytes.read(input)?;
    let finder = memchr::memmem::Finder::new(SESSION_EVENTS);
    // Rows handed on from here on were decided with the conflicts known now.
    sessions.handed_on(sessions.conflicts()?)?;
    let mut aside: Vec<(u64, Record<'static>)> = Vec::new();
    let mut noted: Vec<u64> = Vec::new();
    let mut weight = 0;
    let mut failed: Option<AuditError> = None;
    let mut stopped = false;
    let read = each_record(input, bytes, &mut |i, record| {
        let mut learn = || -> Result<bool, AuditError> {
            stats.records += 1;
            let record = match record {
                Ok(record) => record,
                Err(u) => {
                    if may_name_a_session(u.text.as_bytes(), &finder) {
                        sessions.add_unreadable(u.text)?;
                    }
                    stats.unmapped(&input.name, i, &cloudtrail::unreadable(u.error));
                    return Ok(true);
                }
            };
            // A session record that cannot be indexed is reported as such, not as another
            // service's event.
            if is_session_event(record)
                && let Err(u) = sessions.add(record)?
            {
                stats.unmapped(&input.name, i, &u);
                return Ok(true);
            }
            // The reader's own answers first; the shared index (and its lock) only for a
            // key it has none for.
            let asking = Asking::new(&learner.answers, sessions);
            let mapped = cloudtrail::map(record, &asking);
            if asking.done().keep(&mut learner.answers)? {
                // Many such events in a file (sessions recorded later than their use, as
                // at the start of a reader's run of files): the file is read again for
                // them; a few: copies kept in memory.
                let set_aside = aside.len() + noted.len() + 1;
                if !noted.is_empty()
                    || (set_aside > DENSE_MIN && set_aside * DENSE_SHARE > i as usize + 1)
                {
                    noted.extend(aside.drain(..).map(|(n, _)| n));
                    noted.push(i);
                } else {
                    weight += record.weight();
                    aside.push((i, record.detach()));
                }
                return Ok(true);
            }
            push_mapped(input, i, record, mapped, builder, stats);
            Ok(flush_full(builder, emit))
        };
        match learn() {
            Ok(go_on) => {
                stopped = !go_on;
                go_on
            }
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    let go_on = read?;
    if !aside.is_empty() && learner.weight + weight > learner.budget {
        // No room left: read again for them instead.
        noted.extend(aside.drain(..).map(|(n, _)| n));
        noted.sort_unstable();
    }
    if !aside.is_empty() || !noted.is_empty() {
        let file = learner.file(input);
        learner.weight += if aside.is_empty() { 0 } else { weight };
        learner
            .aside
            .extend(aside.into_iter().map(|(i, r)| (file, i, r)));
        if !noted.is_empty() {
            learner.noted.push((file, noted));
        }
    }
    Ok(go_on && !stopped)
}

/// The rows of one mapped CloudTrail record into `builder` (never flushed: the caller
/// hands them on), or the reason it is unmapped into `stats`.
fn push_mapped(
    input: &Input,
    i: u64,
    record: &cloudtrail::Record<'_>,
    mapped: Result<policy_sim::logs::Mapped, Unmapped>,
    builder: &mut TableBuilder,
    stats: &mut ReadStats,
) {
    let event = RecordedEvent {
        time: record.event_time.get(),
        name: record.event_name.get(),
        id: record.event_id.get(),
    };
    push_rows(input, i, event, mapped, builder, stats);
}

/// What a log record says about its event, shared by the rows of its requests.
#[derive(Clone, Copy)]
struct RecordedEvent<'a> {
    time: Option<&'a str>,
    name: Option<&'a str>,
    id: Option<&'a str>,
}

/// The rows of one mapped log record (record `i` of `input`) into `builder`, unflushed,
/// or the reason it is unmapped into `stats`.
fn push_rows(
    input: &Input,
    i: u64,
    event: RecordedEvent<'_>,
    mapped: Result<policy_sim::logs::Mapped, Unmapped>,
    builder: &mut TableBuilder,
    stats: &mut ReadStats,
) {
    match mapped {
        Ok(mapped) => {
            let base = Row {
                source: &input.name,
                record: i,
                event_time: event.time,
                event_name: event.name,
                event_id: event.id,
                recorded: true,
                error_code: mapped.error_code.as_deref(),
                ..Row::default()
            };
            for request in &mapped.requests {
                builder.push_request(&base, request);
                stats.rows += 1;
            }
        }
        Err(u) => stats.unmapped(&input.name, i, &u),
    }
}

fn read_access_log(
    input: &Input,
    roles: &NonCognitoRoles,
    builder: &mut TableBuilder,
    stats: &mut ReadStats,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<bool, AuditError> {
    let text = read_text(input)?;
    for (n, line) in non_blank_lines(&text) {
        let line_no = n as u64 + 1;
        stats.records += 1;
        let record = s3_access::parse_line(&input.name, n + 1, line)?;
        let time = record.time.to_string();
        let event = RecordedEvent {
            time: Some(&time),
            name: record.operation.as_deref(),
            id: record.request_id.as_deref(),
        };
        let mapped = s3_access::map_record(&record, roles);
        push_rows(input, line_no, event, mapped, builder, stats);
        if !flush_full(builder, emit) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A text input, decompressed when gzip.
fn read_text(input: &Input) -> Result<String, AuditError> {
    let bytes = FileBytes::read_owned(input)?;
    String::from_utf8(bytes).map_err(|e| AuditError::Input {
        file: input.name.clone(),
        reason: format!("not UTF-8 text: {e}"),
    })
}

/// The lines that are not blank, with their 0-based numbers.
fn non_blank_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
}

/// A request line's fields (the request lines' names; anything else is an error).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LineFields<'a> {
    #[serde(borrow, default)]
    id: Option<&'a serde_json::value::RawValue>,
    #[serde(default)]
    identity: Option<String>,
    #[serde(default)]
    principal: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    resource: Option<String>,
    #[serde(borrow, default)]
    context: Option<&'a serde_json::value::RawValue>,
}

fn read_request_lines(
    input: &Input,
    builder: &mut TableBuilder,
    stats: &mut ReadStats,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<bool, AuditError> {
    let text = read_text(input)?;
    for (n, line) in non_blank_lines(&text) {
        let line_no = n as u64 + 1;
        stats.records += 1;
        // A request line that cannot be read is bad input, as `check --requests` would
        // report it: the run stops naming the line.
        let fields: LineFields = serde_json::from_str(line).map_err(|e| {
            AuditError::Log(policy_sim::logs::LogError::Json {
                file: input.name.clone(),
                line: n + 1,
                column: e.column(),
                message: e.to_string(),
            })
        })?;
        let id = fields.id.map(|raw| {
            serde_json::from_str::<String>(raw.get()).unwrap_or_else(|_| raw.get().to_string())
        });
        builder.push(&Row {
            source: &input.name,
            record: line_no,
            event_id: id.as_deref(),
            identity: fields.identity.as_deref(),
            principal: fields.principal.as_deref(),
            action: fields.action.as_deref(),
            resource: fields.resource.as_deref(),
            context: fields.context.map(|c| c.get()),
            recorded: false,
            ..Row::default()
        });
        stats.rows += 1;
        if !flush_full(builder, emit) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Read the rows of a Parquet request table that `share` gives this reader. A file with
/// a page index is read in parts: each reader decodes only the pages holding its rows. A
/// file without one is read whole by the reader of part 0 (the others would decode every
/// page only to skip most rows).
fn read_parquet(
    input: &Input,
    share: Share,
    stats: &mut ReadStats,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<bool, AuditError> {
    let Some(mut reader) = ParquetShare::open(input, share)? else {
        return Ok(true);
    };
    while let Some(batch) = reader.next_batch(stats)? {
        if !emit(batch) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Check that a file's offset index (where each page of each column chunk starts, which
/// a reader follows instead of the pages' own headers) agrees with its column chunks: every
/// page inside its chunk's bytes, after the page before it, and the pages' first rows
/// rising from 0 within the row group. A reader given an index that points elsewhere reads
/// other bytes than the chunk's (or stops on a subtraction that overflows), so such a file
/// is refused as damaged, whatever the number of readers.
///
/// Cost: one pass over the index (a few entries a column chunk).
fn check_offset_index(
    groups: &[datafusion::parquet::file::metadata::RowGroupMetaData],
    index: &datafusion::parquet::file::metadata::ParquetOffsetIndex,
) -> Result<(), String> {
    // The reader builds the index one entry a column chunk; should it ever not, no chunk
    // goes unchecked.
    if !index
        .iter()
        .map(Vec::len)
        .eq(groups.iter().map(|g| g.columns().len()))
    {
        return Err(
            "the offset index does not cover the file's column chunks: the file is damaged"
                .to_string(),
        );
    }
    for (g, (group, columns)) in groups.iter().zip(index).enumerate() {
        for (chunk, pages) in group.columns().iter().zip(columns) {
            let bad = || {
                format!(
                    "row group {g}, column `{}`: the offset index does not match the column chunk (a page outside its bytes, or pages or rows out of order): the file is damaged",
                    chunk.column_path().string()
                )
            };
            let (start, len) = chunk.byte_range();
            let end = start.checked_add(len).ok_or_else(bad)?;
            let locations = pages.page_locations();
            if locations.is_empty() && group.num_rows() > 0 {
                return Err(bad());
            }
            let (mut next_byte, mut last_row) = (start, None);
            for page in locations {
                let offset = u64::try_from(page.offset).map_err(|_| bad())?;
                let size = u64::try_from(page.compressed_page_size).map_err(|_| bad())?;
                let page_end = offset.checked_add(size).ok_or_else(bad)?;
                let row = page.first_row_index;
                let row_in_order = match last_row {
                    None => row == 0,
                    Some(last) => row > last,
                };
                if offset < next_byte || page_end > end || !row_in_order || row >= group.num_rows()
                {
                    return Err(bad());
                }
                (next_byte, last_row) = (page_end, Some(row));
            }
        }
    }
    Ok(())
}

/// An error reading the Parquet file named `file`.
fn parquet_error(file: &str, e: &dyn std::fmt::Display) -> AuditError {
    AuditError::Input {
        file: file.to_string(),
        reason: format!("Parquet: {e}"),
    }
}

/// One reader's share of a Parquet file, read batch by batch on the caller's thread.
pub struct ParquetShare {
    /// The file as named in reports.
    name: String,
    reader: datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    /// The request table's schema.
    schema: datafusion::arrow::datatypes::SchemaRef,
    /// The file's place of the next row.
    row_in_file: u64,
}

impl ParquetShare {
    /// Open `input` for the rows `share` says, checking its schema (a file without
    /// `action` or `resource` is an error whatever the share). `None` when this share has
    /// no rows to read (an empty share, or a share other than part 0 of a file without an
    /// offset index, which part 0 reads whole).
    ///
    /// Cost: the footer and the offset index (when the file has one) are read and
    /// decoded; no page is. A damaged offset index is an error, however many parts.
    pub fn open(input: &Input, share: Share) -> Result<Option<ParquetShare>, AuditError> {
        use datafusion::parquet::arrow::arrow_reader::{
            ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
            RowSelector,
        };
        use datafusion::parquet::file::metadata::PageIndexPolicy;
        let parquet_error = |e: &dyn std::fmt::Display| parquet_error(&input.name, e);
        let file = std::fs::File::open(&input.path).map_err(|e| parquet_error(&e))?;
        // Only the offset index (where each page starts) is needed to read a share; a file
        // without one is still read, whole, by part 0. It is read whatever the number of
        // parts, so that a damaged one is an error with one reader as with several.
        let options = ArrowReaderOptions::new().with_offset_index_policy(PageIndexPolicy::Optional);
        let metadata =
            ArrowReaderMetadata::load(&file, options.clone()).map_err(|e| parquet_error(&e))?;
        // Text columns are read as views into the pages or the column's dictionary (no
        // copy of each cell); should the file's types refuse that reading, it is read
        // with them and cast after.
        let metadata = ArrowReaderMetadata::try_new(
            std::sync::Arc::clone(metadata.metadata()),
            options.with_schema(crate::table::text_as(
                metadata.schema(),
                &DataType::Utf8View,
            )),
        )
        .unwrap_or(metadata);
        let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata);
        if let Some(index) = builder.metadata().offset_index() {
            check_offset_index(builder.metadata().row_groups(), index)
                .map_err(|e| parquet_error(&e))?;
        }
        for required in ["action", "resource"] {
            if builder.schema().column_with_name(required).is_none() {
                return Err(parquet_error(&format!(
                    "no `{required}` column: a request table needs `action` and `resource`"
                )));
            }
        }
        // A negative row count (a damaged footer) is an error: taken as 0, it would shift
        // every share after it and leave rows unread.
        let groups: Vec<u64> = builder
            .metadata()
            .row_groups()
            .iter()
            .enumerate()
            .map(|(g, group)| {
                u64::try_from(group.num_rows()).map_err(|_| {
                    parquet_error(&format!(
                        "row group {g} has a negative row count ({})",
                        group.num_rows()
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        let total = groups
            .iter()
            .try_fold(0u64, |sum, &rows| sum.checked_add(rows))
            .ok_or_else(|| parquet_error(&"the row groups' row counts overflow"))?;
        let share = if builder.metadata().offset_index().is_some() {
            share
        } else if share.part == 0 {
            Share::WHOLE
        } else {
            return Ok(None);
        };
        let (lo, hi) = share.rows(total);
        if lo == hi && share != Share::WHOLE {
            return Ok(None);
        }
        // The row groups holding rows lo..hi: a run of groups whose rows run from `first` to
        // `last`, in which the selection skips to lo, selects lo..hi and skips the rest.
        let (mut chosen, mut first, mut last) = (Vec::new(), None, 0u64);
        let mut start = 0u64;
        for (g, &rows) in groups.iter().enumerate() {
            let end = start + rows;
            if end > lo && start < hi {
                chosen.push(g);
                first.get_or_insert(start);
                last = end;
            }
            start = end;
        }
        let first = first.unwrap_or(lo);
        let mut selectors = Vec::new();
        for (select, n) in [
            (false, lo - first),
            (true, hi - lo),
            (false, last.max(hi) - hi),
        ] {
            let n = usize::try_from(n).map_err(|e| parquet_error(&e))?;
            if n > 0 {
                selectors.push(match select {
                    true => RowSelector::select(n),
                    false => RowSelector::skip(n),
                });
            }
        }
        let builder = match share == Share::WHOLE {
            true => builder,
            false => builder
                .with_row_groups(chosen)
                .with_row_selection(RowSelection::from(selectors)),
        };
        let schema = request_schema();
        // Only the request table's columns (and `id`) are decoded: a decided table written by
        // `--out` carries a dozen more that the audit decides afresh.
        let wanted = builder
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| f.name() == "id" || schema.field_with_name(f.name()).is_ok())
            .map(|(i, _)| i);
        let mask =
            datafusion::parquet::arrow::ProjectionMask::roots(builder.parquet_schema(), wanted);
        let reader = builder
            .with_projection(mask)
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| parquet_error(&e))?;
        Ok(Some(ParquetShare {
            name: input.name.clone(),
            reader,
            schema,
            row_in_file: lo,
        }))
    }

    /// The next batch of request-table rows, `None` after the last; its rows are counted
    /// in `stats`.
    ///
    /// Cost: the pages holding the batch's rows of the wanted columns are decoded; the
    /// columns are cast to the request table's types (a copy where they differ).
    pub fn next_batch(&mut self, stats: &mut ReadStats) -> Result<Option<RecordBatch>, AuditError> {
        let file = self.name.as_str();
        let parquet_error = |e: &dyn std::fmt::Display| parquet_error(file, e);
        let schema = &self.schema;
        let Some(batch) = self.reader.next() else {
            return Ok(None);
        };
        let batch = batch.map_err(|e| parquet_error(&e))?;
        let rows = batch.num_rows();
        let start = self.row_in_file;
        self.row_in_file += rows as u64;
        // A cell that is not of its column's type (bytes that are not UTF-8, text where a
        // number belongs) is an error, not a null: a cast's default would drop it silently.
        let strict = datafusion::arrow::compute::CastOptions {
            safe: false,
            ..Default::default()
        };
        let cast = |name: &str, c: &ArrayRef, to: &DataType| {
            datafusion::arrow::compute::cast_with_options(c, to, &strict)
                .map_err(|e| parquet_error(&format!("column `{name}`: {e}")))
        };
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let name = field.name().as_str();
            let given = batch.column_by_name(name).or_else(|| {
                (name == "event_id")
                    .then(|| batch.column_by_name("id"))
                    .flatten()
            });
            let column: ArrayRef = match (name, given) {
                ("record", Some(c)) => cast(name, c, &DataType::UInt64)?,
                ("recorded", Some(c)) => cast(name, c, &DataType::Boolean)?,
                (_, Some(c)) => {
                    // Read as views already (see `open`): no copy.
                    let c = cast(name, c, &DataType::Utf8View)?;
                    if name == "source" && c.null_count() > 0 {
                        return Err(parquet_error(&"column `source` has nulls"));
                    }
                    c
                }
                ("source", None) => std::sync::Arc::new(StringViewArray::from(vec![file; rows])),
                ("record", None) => std::sync::Arc::new(UInt64Array::from_iter_values(
                    (0..rows as u64).map(|r| start + r),
                )),
                ("recorded", None) => std::sync::Arc::new(BooleanArray::from(vec![false; rows])),
                (_, None) => datafusion::arrow::array::new_null_array(&DataType::Utf8View, rows),
            };
            if (name == "record" || name == "recorded") && column.null_count() > 0 {
                return Err(parquet_error(&format!("column `{name}` has nulls")));
            }
            columns.push(column);
        }
        let out = RecordBatch::try_new(std::sync::Arc::clone(schema), columns)
            .map_err(|e| parquet_error(&e))?;
        stats.records += rows as u64;
        stats.rows += rows as u64;
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of `batches` as (source, record, identity, action, resource) texts, sorted.
    fn rows(batches: &[RecordBatch]) -> Vec<[String; 5]> {
        use datafusion::arrow::array::AsArray;
        use datafusion::arrow::compute::cast;
        let mut out = Vec::new();
        for b in batches {
            let text = |name: &str| {
                let column = b.column_by_name(name).unwrap();
                cast(column, &DataType::Utf8).unwrap()
            };
            let columns = ["source", "record", "identity", "action", "resource"].map(text);
            for row in 0..b.num_rows() {
                out.push(std::array::from_fn(|c| {
                    let column = columns[c].as_string::<i32>();
                    match column.is_null(row) {
                        true => "-".to_string(),
                        false => column.value(row).to_string(),
                    }
                }));
            }
        }
        out.sort();
        out
    }

    /// Read `inputs` on one reader, learning sessions with `budget` (or with the sessions
    /// indexed first, without): the rows, the counts, and the files read again.
    fn read_all(inputs: &[Input], budget: Option<usize>) -> (Vec<[String; 5]>, ReadStats, usize) {
        let sessions = match budget {
            Some(_) => Sessions::learning(1),
            None => Sessions::indexed(index_sessions(inputs, 1).unwrap()),
        };
        let mut learner = Learner::with_budget(budget.unwrap_or(0));
        let mut stats = ReadStats::default();
        let mut batches = Vec::new();
        let mut emit = |b: RecordBatch| {
            batches.push(b);
            true
        };
        let all: Vec<&Input> = inputs.iter().collect();
        read_inputs(
            &all,
            Share::WHOLE,
            &sessions,
            &NonCognitoRoles::new(),
            &mut learner,
            &mut stats,
            &mut emit,
        )
        .unwrap();
        if budget.is_some() {
            sessions.first_pass_done(false).unwrap();
            assert!(sessions.wait_for_readers(&|| false).unwrap());
            assert!(learner.finish(&sessions, &mut stats, &mut emit).unwrap());
            assert_eq!(sessions.settle().unwrap(), crate::sessions::Settled::Exact);
        }
        (rows(&batches), stats, learner.files_read_again())
    }

    #[test]
    fn events_met_before_their_session_are_set_aside_or_their_file_read_again() {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/audit/clean/cloudtrail.json");
        let log: Value = serde_json::from_slice(&std::fs::read(fixture).unwrap()).unwrap();
        let records = log["Records"].as_array().unwrap();
        let (issued, events): (Vec<&Value>, Vec<&Value>) = records
            .iter()
            .partition(|r| r["eventName"] == "AssumeRoleWithWebIdentity");
        let dir = tempfile::tempdir().unwrap();
        let mut inputs = Vec::new();
        for (name, part) in [("a.json", &events), ("b.json", &issued)] {
            let path = dir.path().join(name);
            let text = serde_json::json!({ "Records": part }).to_string();
            std::fs::write(&path, text).unwrap();
            inputs.push(Input {
                path,
                name: name.to_string(),
                kind: Kind::CloudTrail,
            });
        }
        let (expected, two_passes, _) = read_all(&inputs, None);
        assert!(
            expected.iter().filter(|r| r[2] != "-").count() >= 3,
            "the events have identities: {expected:#?}"
        );
        // Room to set the events aside: nothing is read again.
        let (aside, stats, reread) = read_all(&inputs, Some(SET_ASIDE_BYTES));
        assert_eq!((&aside, reread), (&expected, 0));
        // No room: the events are noted, and their file read again for them at the end.
        let (again, stats_again, reread) = read_all(&inputs, Some(0));
        assert_eq!((&again, reread), (&expected, 1));
        // Many such events in one file: it is read again for them, whatever the room.
        let many: Vec<&Value> = events
            .iter()
            .copied()
            .cycle()
            .take(10 * DENSE_MIN)
            .collect();
        let text = serde_json::json!({ "Records": many }).to_string();
        std::fs::write(&inputs[0].path, text).unwrap();
        let (expected_many, _, _) = read_all(&inputs, None);
        assert!(
            expected_many.len() >= 10 * DENSE_MIN,
            "{}",
            expected_many.len()
        );
        let (dense, _, reread) = read_all(&inputs, Some(SET_ASIDE_BYTES));
        assert_eq!((&dense, reread), (&expected_many, 1));
        for s in [&stats, &stats_again] {
            assert_eq!(
                (s.records, s.rows, &s.unmapped.0, &s.files),
                (
                    two_passes.records,
                    two_passes.rows,
                    &two_passes.unmapped.0,
                    &two_passes.files
                )
            );
        }
    }

    /// Every row of every small table lands in exactly one part, the parts in order and
    /// contiguous, and no part more than one row larger than another; checked against
    /// brute force for every table of up to 300 rows and up to 9 parts.
    #[test]
    fn shares_cover_every_row_exactly_once() {
        for total in 0..300u64 {
            for parts in 1..10usize {
                let mut owner = vec![None; total as usize];
                let mut next = 0;
                let mut sizes = Vec::new();
                for part in 0..parts {
                    let (lo, hi) = Share { part, parts }.rows(total);
                    assert_eq!(lo, next, "part {part} of {parts}, {total} rows");
                    assert!(lo <= hi && hi <= total);
                    for row in lo..hi {
                        assert_eq!(owner[row as usize], None);
                        owner[row as usize] = Some(part);
                    }
                    sizes.push(hi - lo);
                    next = hi;
                }
                assert_eq!(next, total);
                assert!(owner.iter().all(Option::is_some));
                let (min, max) = (sizes.iter().min(), sizes.iter().max());
                assert!(max.unwrap() - min.unwrap() <= 1, "{sizes:?}");
            }
        }
        // The whole file, and no overflow at the largest counts.
        assert_eq!(Share::WHOLE.rows(u64::MAX), (0, u64::MAX));
        assert_eq!(Share { part: 2, parts: 3 }.rows(u64::MAX).1, u64::MAX);
    }
}

//! Requests as JSON Lines, one object per line:
//! `{"id":"opt","identity":"us-east-1:abc","action":"s3:GetObject","resource":"arn:...",
//! "context":{"aws:SourceIp":"10.0.0.1","aws:TagKeys":["a","b"]}}`.
//!
//! `id` (string or number) and `identity` are optional; `context` values are strings,
//! numbers or booleans (read as their text), or arrays of them (a multivalued key).
//! Unknown fields and duplicate keys are errors.

use std::fmt;
use std::io::{Read, Write};

use jiff::Timestamp;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;

use crate::eval::PolicySet;
use crate::request::{Context, Request};

/// One parsed request line.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestLine {
    /// The `id`, echoed in the output (`null` when absent).
    pub id: Json,
    /// The request, with `aws:CurrentTime`/`aws:EpochTime` filled in.
    pub request: Request,
}

/// Reusable buffers for parsing request lines: a worker parses line after line into the
/// same buffers, so that once they have grown to fit the largest request nothing is
/// allocated per line.
#[derive(Debug, Default)]
pub struct RequestBuffer {
    /// The parsed request (action, resource, context).
    pub request: Request,
    /// The line's `id` as JSON text to echo (`null` when absent).
    pub id_json: Vec<u8>,
    identity: String,
    has_identity: bool,
    key: String,
}

const FIELDS: &[&str] = &["id", "identity", "action", "resource", "context"];

/// Parse `line` into `buffer`. JSON strings without escapes are read in place and copied
/// straight into the reused buffers. `now` fills `aws:CurrentTime`/`aws:EpochTime` when
/// absent.
pub fn parse_request_into(
    line: &str,
    now: Timestamp,
    buffer: &mut RequestBuffer,
) -> Result<(), String> {
    buffer.request.context.clear();
    buffer.id_json.clear();
    buffer.id_json.extend_from_slice(b"null");
    buffer.has_identity = false;
    let mut de = serde_json::Deserializer::from_str(line);
    de::DeserializeSeed::deserialize(LineSeed(buffer), &mut de)
        .and_then(|()| de.end())
        .map_err(|e| e.to_string())?;
    if buffer.has_identity {
        let ctx = &mut buffer.request.context;
        if ctx.has_key(crate::lang::keys::COGNITO_SUB) {
            return Err(format!(
                "identity and context[{:?}] both set the identity; give one",
                crate::lang::keys::COGNITO_SUB
            ));
        }
        ctx.push_value(crate::lang::keys::COGNITO_SUB)
            .push_str(&buffer.identity);
    }
    buffer.request.context.fill_time_defaults(now)?;
    buffer.request.validate()
}

/// Parse one request line into a fresh [`RequestLine`].
pub fn parse_request_line(line: &str, now: Timestamp) -> Result<RequestLine, String> {
    let mut buffer = RequestBuffer::default();
    parse_request_into(line, now, &mut buffer)?;
    let id = serde_json::from_slice(&buffer.id_json).map_err(|e| e.to_string())?;
    Ok(RequestLine {
        id,
        request: buffer.request,
    })
}

struct LineSeed<'b>(&'b mut RequestBuffer);

impl<'de> de::DeserializeSeed<'de> for LineSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LineSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a request object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let b = self.0;
        let mut seen = [false; 5];
        while let Some(()) = map.next_key_seed(StrInto(&mut b.key))? {
            let Some(field) = FIELDS.iter().position(|f| *f == b.key) else {
                return Err(de::Error::unknown_field(&b.key, FIELDS));
            };
            if std::mem::replace(&mut seen[field], true) {
                return Err(de::Error::duplicate_field(FIELDS[field]));
            }
            match field {
                0 => map.next_value_seed(IdSeed(&mut b.id_json))?,
                1 => {
                    map.next_value_seed(StrInto(&mut b.identity))?;
                    b.has_identity = true;
                }
                2 => map.next_value_seed(StrInto(&mut b.request.action))?,
                3 => map.next_value_seed(StrInto(&mut b.request.resource))?,
                _ => map.next_value_seed(ContextSeed {
                    context: &mut b.request.context,
                    key: &mut b.key,
                })?,
            }
        }
        for (i, name) in [(2, "action"), (3, "resource")] {
            if !seen[i] {
                return Err(de::Error::missing_field(name));
            }
        }
        Ok(())
    }
}

/// A JSON string copied into a reused `String`.
struct StrInto<'b>(&'b mut String);

impl<'de> de::DeserializeSeed<'de> for StrInto<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for StrInto<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.clear();
        self.0.push_str(v);
        Ok(())
    }
}

/// `id`: a string or a number (or `null`), kept as JSON text.
struct IdSeed<'b>(&'b mut Vec<u8>);

impl<'de> de::DeserializeSeed<'de> for IdSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for IdSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or a number")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.clear();
        serde_json::to_writer(&mut *self.0, v).map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.0.clear();
        serde_json::to_writer(&mut *self.0, &v).map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.0.clear();
        serde_json::to_writer(&mut *self.0, &v).map_err(E::custom)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.0.clear();
        serde_json::to_writer(&mut *self.0, &v).map_err(E::custom)
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        // `"id": null` is the same as no id.
        Ok(())
    }
}

/// `context`: keys to a value or a flat array of values, written into a reused context.
struct ContextSeed<'b> {
    context: &'b mut Context,
    key: &'b mut String,
}

impl<'de> de::DeserializeSeed<'de> for ContextSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ContextSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of context keys to values")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(()) = map.next_key_seed(StrInto(&mut *self.key))? {
            if self.context.has_key(self.key) {
                return Err(de::Error::custom(format!(
                    "duplicate context key {:?} (keys are case-insensitive)",
                    self.key
                )));
            }
            self.context.declare(self.key);
            map.next_value_seed(Values {
                context: &mut *self.context,
                key: self.key,
                nested: false,
            })?;
        }
        Ok(())
    }
}

/// One context value (a scalar) or, at the top, an array of them.
struct Values<'b> {
    context: &'b mut Context,
    key: &'b str,
    nested: bool,
}

impl Values<'_> {
    fn write(self, value: impl fmt::Display) {
        use std::fmt::Write as _;
        let _ = write!(self.context.push_value(self.key), "{value}");
    }
}

impl<'de> de::DeserializeSeed<'de> for Values<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Values<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.nested {
            f.write_str("a string, number or boolean")
        } else {
            f.write_str("a string, number, boolean or an array of them")
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.context.push_value(self.key).push_str(v);
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.write(v);
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.write(v);
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.write(v);
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.write(v);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.nested {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
        }
        while let Some(()) = seq.next_element_seed(Values {
            context: &mut *self.context,
            key: self.key,
            nested: true,
        })? {}
        Ok(())
    }
}

/// The output object for a line that failed: `{"line":N,"error":"..."}`.
#[derive(serde::Serialize)]
struct LineError<'a> {
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
    /// Worker threads; 1 processes everything on the calling thread.
    pub threads: usize,
    /// Fills `aws:CurrentTime`/`aws:EpochTime` when a request omits them.
    pub now: Timestamp,
}

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

/// Pre-rendered `{"policy":...,"index":...,"sid":...,"effect":...}` per statement.
struct Fragments(Vec<Vec<String>>);

impl Fragments {
    fn new(set: &PolicySet) -> Fragments {
        Fragments(
            set.policies()
                .iter()
                .map(|p| {
                    p.statements
                        .iter()
                        .map(|st| {
                            let out = crate::report::StatementOut {
                                policy: &p.name,
                                index: st.index,
                                sid: st.sid.as_deref(),
                                effect: st.effect.as_str(),
                            };
                            serde_json::to_string(&out).expect("a statement always serializes")
                        })
                        .collect()
                })
                .collect(),
        )
    }
}

/// Per-worker state reused from line to line.
struct Worker<'a> {
    set: &'a PolicySet,
    fragments: &'a Fragments,
    now: Timestamp,
    deciding: Vec<crate::eval::StatementRef>,
    buffer: RequestBuffer,
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
                &format!("line is longer than {MAX_LINE_BYTES} bytes"),
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
        let result = std::str::from_utf8(line)
            .map_err(|e| format!("invalid UTF-8: {e}"))
            .and_then(|text| parse_request_into(text, self.now, buffer))
            .and_then(|()| {
                self.set
                    .evaluate_into(&buffer.request, &mut self.deciding)
                    .map_err(|e| e.0)
            });
        match result {
            Ok(decision) => {
                summary.decided += 1;
                out.extend_from_slice(b"{\"id\":");
                out.extend_from_slice(&buffer.id_json);
                out.extend_from_slice(b",\"decision\":\"");
                out.extend_from_slice(decision.as_str().as_bytes());
                out.extend_from_slice(b"\",\"statements\":[");
                for (i, r) in self.deciding.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(self.fragments.0[r.policy][r.statement].as_bytes());
                }
                out.extend_from_slice(b"]}\n");
            }
            Err(error) => {
                summary.failed += 1;
                write_error(out, line_no, &error);
            }
        }
    }
}

fn write_error(out: &mut Vec<u8>, line: usize, error: &str) {
    serde_json::to_writer(&mut *out, &LineError { line, error })
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
pub fn run_batch(
    set: &PolicySet,
    input: impl Read + Send,
    mut output: impl Write,
    options: BatchOptions,
) -> std::io::Result<BatchSummary> {
    let fragments = Fragments::new(set);
    let new_worker = || Worker {
        set,
        fragments: &fragments,
        now: options.now,
        deciding: Vec::with_capacity(16),
        buffer: RequestBuffer::default(),
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
        })?;
        if let Some(e) = write_error {
            return Err(e);
        }
        output.flush()?;
        return Ok(summary);
    }
    let threads = options.threads;
    let (work_tx, work_rx) = std::sync::mpsc::sync_channel::<Block>(threads * 2);
    let work_rx = std::sync::Mutex::new(work_rx);
    let (done_tx, done_rx) =
        std::sync::mpsc::sync_channel::<(u64, Vec<u8>, BatchSummary)>(threads * 2);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            let work_rx = &work_rx;
            let mut worker = new_worker();
            scope.spawn(move || {
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
            });
        }
        drop(done_tx);
        let reader = scope.spawn(move || read_blocks(input, |block| work_tx.send(block).is_ok()));
        // Write results back in input order.
        let mut summary = BatchSummary::default();
        let mut waiting = std::collections::BTreeMap::new();
        let mut next = 0u64;
        let mut result = Ok(());
        for (seq, out, s) in done_rx.iter() {
            summary.add(s);
            waiting.insert(seq, out);
            while let Some(out) = waiting.remove(&next) {
                if result.is_ok() {
                    result = output.write_all(&out);
                }
                next += 1;
            }
        }
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the reader thread failed")));
        read?;
        result?;
        output.flush()?;
        Ok(summary)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn parses_full_line() {
        let r = parse_request_line(
            r#"{"id":"a","identity":"us-east-1:abc","action":"s3:GetObject","resource":"arn:aws:s3:::b/k","context":{"aws:SourceIp":"10.0.0.1","aws:TagKeys":["a","b"],"s3:max-keys":10}}"#,
            now(),
        )
        .unwrap();
        assert_eq!(r.id, Json::String("a".into()));
        let c = &r.request.context;
        assert_eq!(c.get("aws:tagkeys").unwrap().len(), 2);
        assert_eq!(c.get("s3:max-keys").unwrap()[0], "10");
        assert_eq!(
            c.get("cognito-identity.amazonaws.com:sub").unwrap()[0],
            "us-east-1:abc"
        );
        assert_eq!(c.get("aws:epochtime").unwrap()[0], "1767225600");
    }

    #[test]
    fn rejects_unknown_fields_and_duplicates() {
        let e = parse_request_line(
            r#"{"action":"s3:GetObject","resource":"*","extra":1}"#,
            now(),
        )
        .unwrap_err();
        assert!(e.starts_with("unknown field `extra`"), "{e}");
        let e = parse_request_line(
            r#"{"action":"s3:GetObject","resource":"*","context":{"a:b":"1","A:B":"2"}}"#,
            now(),
        )
        .unwrap_err();
        assert!(e.starts_with("duplicate context key \"A:B\""), "{e}");
        let e = parse_request_line(
            r#"{"action":"s3:GetObject","resource":"*","context":{"a:b":[],"A:B":"2"}}"#,
            now(),
        )
        .unwrap_err();
        assert!(e.starts_with("duplicate context key \"A:B\""), "{e}");
        let e = parse_request_line(
            r#"{"action":"s3:GetObject","resource":"*","context":{"a:b":[["x"]]}}"#,
            now(),
        )
        .unwrap_err();
        assert!(
            e.starts_with("invalid type: sequence, expected a string, number or boolean"),
            "{e}"
        );
    }
}

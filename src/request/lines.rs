//! Requests as JSON Lines, one object per line:
//! `{"id":"opt","identity":"us-east-1:abc","principal":"arn:aws:sts::...","action":"s3:GetObject",
//! "resource":"arn:...","context":{"aws:SourceIp":"10.0.0.1","aws:TagKeys":["a","b"]}}`.
//!
//! `id` (string or number), `identity` and `principal` (the caller's ARN, read by
//! [`Caller::parse`]) are optional; `context` values are strings,
//! numbers (read as written, see [`crate::lang::json`]) or booleans (read as their text),
//! or arrays of them (a multivalued key). Unknown fields and duplicate keys are errors.

use std::fmt;

use jiff::Timestamp;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;

use super::{Context, KeySlot, Request, RequestError};
use crate::lang::json::{Number, NumberTexts, seed_is_visitor};
use crate::lang::principal::{Caller, PrincipalError};

mod scan;
pub(crate) use scan::is_plain;

/// Why a request line could not be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LineError {
    /// Not valid UTF-8.
    #[error("invalid UTF-8: {0}")]
    #[diagnostic(code(policy_sim::lines::utf8))]
    Utf8(#[from] std::str::Utf8Error),
    /// Not a request object (JSON syntax, a wrong field or type).
    #[error("{0}")]
    #[diagnostic(code(policy_sim::lines::json))]
    Json(#[from] serde_json::Error),
    /// A well-formed line whose request cannot be decided.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Request(#[from] RequestError),
    /// A `principal` that is not a caller's ARN.
    #[error("principal: {0}")]
    #[diagnostic(code(policy_sim::lines::principal))]
    Principal(#[from] PrincipalError),
    /// A line too long to hold.
    #[error("line is longer than {limit} bytes")]
    #[diagnostic(code(policy_sim::lines::too_long))]
    TooLong {
        /// The limit in bytes.
        limit: usize,
    },
}

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
    principal: String,
    has_principal: bool,
    key: String,
}

const FIELDS: &[&str] = &[
    "id",
    "identity",
    "principal",
    "action",
    "resource",
    "context",
];

/// Parse `line` into `buffer`. `now` fills `aws:CurrentTime`/`aws:EpochTime` when
/// absent. On success the request is valid ([`crate::request::Request::validate`]): the
/// batch decides it without validating it again.
///
/// Two readers, one behaviour. A line of the usual shape (strings without escapes or
/// control characters, integers of at most 18 digits, no key twice) is read by a
/// specialised scanner ([`scan`]) straight into the reused buffers. Anything else — an
/// escape, a fraction, `null` in the context, a duplicate, a syntax error, any surprise
/// at all — makes the scanner give up, and the line is read again from the start by the
/// general reader on `serde_json`, which then decides: every error comes from that one
/// reader, so messages are the same whichever reader saw the line first. A property test
/// holds the two to the same results on generated and mutated lines.
pub fn parse_request_into(
    line: &str,
    now: Timestamp,
    buffer: &mut RequestBuffer,
) -> Result<(), LineError> {
    buffer.reset();
    if scan::read(line, buffer).is_err() {
        buffer.reset();
        read_general(line, buffer)?;
    }
    finish(now, buffer)
}

/// The batch's fast path through a block of lines: when the line that starts at `at` in
/// `text` is of the usual shape, read it into `buffer` as [`parse_request_into`] reads
/// that line (without its `\n`, and without one `\r` before it) and give where it ends
/// (the index of its `\n`, or `text`'s length) with what finishing it gave. `None` when
/// the scanner gives up: cut the line and give it to [`parse_request_into`], which then
/// decides (errors included).
///
/// Cost: one pass over the line, which is also the search for its end.
pub(crate) fn scan_request_at(
    text: &str,
    at: usize,
    now: Timestamp,
    buffer: &mut RequestBuffer,
) -> Option<(usize, Result<(), LineError>)> {
    buffer.reset();
    let end = scan::read_line_at(text, at, buffer).ok()?;
    Some((end, finish(now, buffer)))
}

/// [`parse_request_into`] with the general reader alone: the reference the scanner is
/// held to.
#[cfg(test)]
fn parse_request_reference(
    line: &str,
    now: Timestamp,
    buffer: &mut RequestBuffer,
) -> Result<(), LineError> {
    buffer.reset();
    read_general(line, buffer)?;
    finish(now, buffer)
}

impl RequestBuffer {
    /// Empty the buffers for the next line, keeping their storage.
    fn reset(&mut self) {
        self.request.context.clear();
        self.id_json.clear();
        self.id_json.extend_from_slice(b"null");
        self.has_identity = false;
        self.has_principal = false;
        self.request.principal = None;
    }
}

/// What follows reading the JSON, whichever reader read it: the identity, the principal,
/// the time keys and the request's shape.
fn finish(now: Timestamp, buffer: &mut RequestBuffer) -> Result<(), LineError> {
    if buffer.has_identity {
        buffer.request.set_identity(&buffer.identity)?;
    }
    if buffer.has_principal {
        buffer.request.principal = Some(Caller::parse(&buffer.principal)?);
    }
    buffer.request.context.fill_time_defaults(now)?;
    Ok(buffer.request.validate()?)
}

/// The general reader: `serde_json`, with the request's fields and rules, into the
/// (reset) buffers. JSON strings without escapes are read in place and copied straight
/// into the reused buffers.
fn read_general(line: &str, buffer: &mut RequestBuffer) -> Result<(), serde_json::Error> {
    let numbers = NumberTexts::new(line.as_bytes());
    let mut de = serde_json::Deserializer::from_str(line);
    de::DeserializeSeed::deserialize(
        LineSeed {
            buffer: &mut *buffer,
            numbers: &numbers,
        },
        &mut de,
    )
    .and_then(|()| de.end())
}

/// Read `json`, a JSON object of context keys to values, into `context` by the rules and
/// with the reader of a request line's `context` field: the same values (numbers as
/// written, booleans as their text, flat arrays as multivalued keys) and the same errors,
/// word for word (`null` values, nested arrays, empty keys, a key twice in any case; a key
/// `context` already holds is a duplicate too). Positions in a message count within `json`.
/// `key` is a reused buffer for the key being read (its contents afterwards are
/// unspecified). On error `context` may hold part of the object: clear it before reuse.
///
/// Two readers, one behaviour, as for a line ([`parse_request_into`]): into an empty
/// `context`, an object of the usual shape (keys and strings without escapes or control
/// characters, integers of at most 18 digits, booleans, flat arrays of them, no key twice)
/// is read by the line scanner; anything else, and anything into a `context` that already
/// holds keys, by `serde_json`, which then decides (errors included).
///
/// Cost: one pass over `json` (two when the scanner gives up); with `context` and `key`
/// reused from call to call (their storage kept) no heap allocation once they have grown
/// to fit.
pub fn parse_context_into(
    json: &str,
    context: &mut Context,
    key: &mut String,
) -> Result<(), LineError> {
    if context.is_empty() {
        if scan::read_context(json, context).is_ok() {
            return Ok(());
        }
        context.clear();
    }
    parse_context_general(json, context, key)
}

/// [`parse_context_into`] with `serde_json` alone: the reference the scanner is held to.
fn parse_context_general(
    json: &str,
    context: &mut Context,
    key: &mut String,
) -> Result<(), LineError> {
    let numbers = NumberTexts::new(json.as_bytes());
    let mut de = serde_json::Deserializer::from_str(json);
    de::DeserializeSeed::deserialize(
        ContextSeed {
            numbers: &numbers,
            context,
            key,
        },
        &mut de,
    )
    .and_then(|()| de.end())?;
    Ok(())
}

/// The error for a context key given twice (in any case), as the context reader words it
/// (without a position).
pub(crate) fn duplicate_context_key(key: &str) -> String {
    format!("duplicate context key {key:?} (keys are case-insensitive)")
}

/// The error for an empty context key, as the context reader words it.
pub(crate) const EMPTY_CONTEXT_KEY: &str = "a context key must not be empty";

/// Parse one request line into a fresh [`RequestLine`].
pub fn parse_request_line(line: &str, now: Timestamp) -> Result<RequestLine, LineError> {
    let mut buffer = RequestBuffer::default();
    parse_request_into(line, now, &mut buffer)?;
    let id = serde_json::from_slice(&buffer.id_json)?;
    Ok(RequestLine {
        id,
        request: buffer.request,
    })
}

struct LineSeed<'b> {
    buffer: &'b mut RequestBuffer,
    numbers: &'b NumberTexts<'b>,
}

seed_is_visitor!(LineSeed<'_>, (), deserialize_map);

impl<'de> Visitor<'de> for LineSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a request object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let b = self.buffer;
        let numbers = self.numbers;
        let mut seen = [false; 6];
        while let Some(()) = map.next_key_seed(StrInto(&mut b.key))? {
            let Some(field) = FIELDS.iter().position(|f| *f == b.key) else {
                return Err(de::Error::unknown_field(&b.key, FIELDS));
            };
            if std::mem::replace(&mut seen[field], true) {
                return Err(de::Error::duplicate_field(FIELDS[field]));
            }
            match field {
                0 => map.next_value_seed(IdSeed {
                    out: &mut b.id_json,
                    numbers,
                })?,
                1 => {
                    map.next_value_seed(StrInto(&mut b.identity))?;
                    b.has_identity = true;
                }
                2 => {
                    map.next_value_seed(StrInto(&mut b.principal))?;
                    b.has_principal = true;
                }
                3 => map.next_value_seed(StrInto(&mut b.request.action))?,
                4 => map.next_value_seed(StrInto(&mut b.request.resource))?,
                _ => map.next_value_seed(ContextSeed {
                    numbers,
                    context: &mut b.request.context,
                    key: &mut b.key,
                })?,
            }
        }
        for (i, name) in [(3, "action"), (4, "resource")] {
            if !seen[i] {
                return Err(de::Error::missing_field(name));
            }
        }
        Ok(())
    }
}

/// A JSON string copied into a reused `String`.
struct StrInto<'b>(&'b mut String);

seed_is_visitor!(StrInto<'_>, (), deserialize_str);

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

/// `id`: a string or a number (or `null`), kept as JSON text (a number as written).
struct IdSeed<'b> {
    out: &'b mut Vec<u8>,
    numbers: &'b NumberTexts<'b>,
}

impl IdSeed<'_> {
    fn number<E: de::Error>(self, value: Number) -> Result<(), E> {
        let text = self
            .numbers
            .next(value)
            .ok_or_else(|| E::custom(NUMBER_LOST))?;
        self.out.clear();
        self.out.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

/// The reader and the number scanner disagree (never expected: both read the same text).
const NUMBER_LOST: &str = "the text of a number could not be found";

seed_is_visitor!(IdSeed<'_>, (), deserialize_any);

impl<'de> Visitor<'de> for IdSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or a number")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.out.clear();
        serde_json::to_writer(&mut *self.out, v).map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.number(Number::I64(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.number(Number::U64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.number(Number::F64(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        // `"id": null` is the same as no id.
        Ok(())
    }
}

/// `context`: keys to a value or a flat array of values, written into a reused context.
struct ContextSeed<'b> {
    numbers: &'b NumberTexts<'b>,
    context: &'b mut Context,
    key: &'b mut String,
}

seed_is_visitor!(ContextSeed<'_>, (), deserialize_map);

impl<'de> Visitor<'de> for ContextSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of context keys to values")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(()) = map.next_key_seed(StrInto(&mut *self.key))? {
            if self.key.is_empty() {
                return Err(de::Error::custom(EMPTY_CONTEXT_KEY));
            }
            let Some(slot) = self.context.insert_new(self.key) else {
                return Err(de::Error::custom(duplicate_context_key(self.key)));
            };
            map.next_value_seed(Values {
                numbers: self.numbers,
                context: &mut *self.context,
                slot,
                nested: false,
            })?;
        }
        Ok(())
    }
}

/// One context value (a scalar) or, at the top, an array of them.
struct Values<'b> {
    numbers: &'b NumberTexts<'b>,
    context: &'b mut Context,
    /// The key's place in the context.
    slot: KeySlot,
    nested: bool,
}

impl Values<'_> {
    fn write(self, text: &str) {
        self.context.push_value_at(self.slot).push_str(text);
    }

    /// A number: its text as written.
    fn number<E: de::Error>(self, value: Number) -> Result<(), E> {
        let text = self
            .numbers
            .next(value)
            .ok_or_else(|| E::custom(NUMBER_LOST))?;
        self.write(text);
        Ok(())
    }
}

seed_is_visitor!(Values<'_>, (), deserialize_any);

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
        self.write(v);
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.write(if v { "true" } else { "false" });
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.number(Number::I64(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.number(Number::U64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.number(Number::F64(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.nested {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
        }
        while let Some(()) = seq.next_element_seed(Values {
            numbers: self.numbers,
            context: &mut *self.context,
            slot: self.slot,
            nested: true,
        })? {}
        Ok(())
    }
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

    /// A key the general reader read from an escape (here one holding a quote) is not
    /// remembered for the scanner's in-place comparison: the next line's text that would
    /// equal it in quotes is not a key but broken JSON, and is an error as the general
    /// reader says; a plain key remembered from one line is read from the next.
    #[test]
    fn only_plain_keys_are_compared_in_place() {
        let mut buffer = RequestBuffer::default();
        let line = |context: &str| {
            format!(r#"{{"action":"s3:GetObject","resource":"*","context":{context}}}"#)
        };
        parse_request_into(&line(r#"{"a\"b":"1"}"#), now(), &mut buffer).unwrap();
        assert_eq!(buffer.request.context.get("a\"b").unwrap()[0], "1");
        let broken = line(r#"{"a"b":"1"}"#);
        let mut fresh = RequestBuffer::default();
        let want = parse_request_into(&broken, now(), &mut fresh)
            .unwrap_err()
            .to_string();
        let got = parse_request_into(&broken, now(), &mut buffer)
            .unwrap_err()
            .to_string();
        assert_eq!(got, want);
        assert_eq!(got, "expected `:` at line 1 column 55");
        parse_request_into(&line(r#"{"aws:SourceIp":"10.0.0.1"}"#), now(), &mut buffer).unwrap();
        parse_request_into(&line(r#"{"aws:SourceIp":"10.0.0.2"}"#), now(), &mut buffer).unwrap();
        assert_eq!(
            buffer.request.context.get("aws:sourceip").unwrap()[0],
            "10.0.0.2"
        );
    }

    #[test]
    fn rejects_unknown_fields_and_duplicates() {
        let e = parse_request_line(
            r#"{"action":"s3:GetObject","resource":"*","extra":1}"#,
            now(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("unknown field `extra`"), "{e}");
        let e = parse_request_line(
            r#"{"action":"s3:GetObject","resource":"*","context":{"a:b":"1","A:B":"2"}}"#,
            now(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("duplicate context key \"A:B\""), "{e}");
        let e = parse_request_line(
            r#"{"action":"s3:GetObject","resource":"*","context":{"a:b":[],"A:B":"2"}}"#,
            now(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("duplicate context key \"A:B\""), "{e}");
        let e = parse_request_line(
            r#"{"action":"s3:GetObject","resource":"*","context":{"a:b":[["x"]]}}"#,
            now(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("invalid type: sequence, expected a string, number or boolean"),
            "{e}"
        );
    }

    #[test]
    fn a_line_may_name_its_principal() {
        let mut buffer = RequestBuffer::default();
        parse_request_into(
            r#"{"principal":"arn:aws:iam::111122223333:user/alice","action":"s3:GetObject","resource":"*"}"#,
            now(),
            &mut buffer,
        )
        .unwrap();
        let caller = buffer.request.principal.as_ref().unwrap();
        assert_eq!(caller.arn(), "arn:aws:iam::111122223333:user/alice");
        // The next line without one has none (the buffer is reused).
        parse_request_into(
            r#"{"action":"s3:GetObject","resource":"*"}"#,
            now(),
            &mut buffer,
        )
        .unwrap();
        assert!(buffer.request.principal.is_none());
        let e = parse_request_line(
            r#"{"principal":"arn:aws:iam::111122223333:role/R","action":"s3:GetObject","resource":"*"}"#,
            now(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "principal: \"arn:aws:iam::111122223333:role/R\" is a role; requests are made by its sessions: give the session ARN, e.g. arn:aws:sts::111122223333:assumed-role/R/SESSION"
        );
        let e = parse_request_line(
            r#"{"principal":"arn:aws:iam::1:user/a","principal":"x","action":"s3:GetObject","resource":"*"}"#,
            now(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("duplicate field `principal`"), "{e}");
    }

    #[test]
    fn numbers_are_read_as_written() {
        // Regression: `1.50` was read through f64 as "1.5", so a policy value "1.50"
        // silently stopped matching.
        let r = parse_request_line(
            r#"{"id":2.50,"action":"s3:GetObject","resource":"*","context":{"a:v":1.50,"a:w":[1e3,-0,true],"a:x":0.1000000000000000055511151231257827}}"#,
            now(),
        )
        .unwrap();
        assert_eq!(r.id.to_string(), "2.5", "the id is echoed from its text");
        let c = &r.request.context;
        assert_eq!(c.get("a:v").unwrap(), ["1.50"]);
        assert_eq!(c.get("a:w").unwrap(), ["1e3", "-0", "true"]);
        assert_eq!(
            c.get("a:x").unwrap(),
            ["0.1000000000000000055511151231257827"]
        );
        let mut buffer = RequestBuffer::default();
        parse_request_into(
            r#"{"id":2.50,"action":"s3:GetObject","resource":"*"}"#,
            now(),
            &mut buffer,
        )
        .unwrap();
        assert_eq!(buffer.id_json, b"2.50");
    }

    #[test]
    fn empty_identities_and_context_keys_are_refused() {
        let e = parse_request_line(
            r#"{"identity":"","action":"s3:GetObject","resource":"*"}"#,
            now(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the identity is empty (a Cognito identity id never is)"
        );
        let e = parse_request_line(
            r#"{"action":"s3:GetObject","resource":"*","context":{"":"x"}}"#,
            now(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("a context key must not be empty"), "{e}");
    }

    #[test]
    fn the_identity_comes_from_one_place() {
        let e = parse_request_line(
            r#"{"identity":"us-east-1:a","action":"s3:GetObject","resource":"*","context":{"Cognito-Identity.amazonaws.com:SUB":"us-east-1:b"}}"#,
            now(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "identity and context[\"cognito-identity.amazonaws.com:sub\"] both set the identity; give one"
        );
    }

    /// A line of `generate-requests` (the usual shape) is read by the scanner, with the
    /// general reader's result.
    #[test]
    fn the_usual_line_is_scanned() {
        let lines = [
            r#"{"id":"r0","identity":"us-east-1:6775dc77-0156-4f61-9afc-d44d14cf8bfe","action":"s3:GetObject","resource":"arn:aws:s3:::notes-app-uploads/private/us-east-1:6775dc77-0156-4f61-9afc-d44d14cf8bfe/file-637.jpg","context":{"aws:SourceIp":"10.248.237.150","aws:SecureTransport":"true","aws:RequestedRegion":"us-east-1"}}"#,
            r#" { "id" : -12 , "principal":"arn:aws:iam::111122223333:user/alice","action":"s3:GetObject","resource":"*","context":{"a:b":["x",true,false,0,-0,123456789012345678],"a:c":[]}}	"#,
            r#"{"id":null,"action":"s3:GetObject","resource":"arn:aws:s3:::b/é€😀","context":{}}"#,
        ];
        for line in lines {
            let mut fast = RequestBuffer::default();
            fast.reset();
            assert_eq!(scan::read(line, &mut fast), Ok(()), "{line}");
            finish(now(), &mut fast).unwrap();
            let mut reference = RequestBuffer::default();
            parse_request_reference(line, now(), &mut reference).unwrap();
            assert_eq!(outcome(&Ok(()), &fast), outcome(&Ok(()), &reference));
        }
    }

    /// The scanner gives up on what it does not read (the general reader then decides).
    #[test]
    fn the_scanner_gives_up_on_the_unusual() {
        let base = |body: &str| format!(r#"{{"action":"s3:GetObject","resource":"*"{body}}}"#);
        for line in [
            base(r#","id":1.5"#),
            base(r#","id":1e3"#),
            base(r#","id":1234567890123456789"#),
            base(r#","id":01"#),
            base(r#","id":true"#),
            base(r#","context":{"a:b":"\u0041"}"#),
            base(r#","context":{"a:b":null}"#),
            base(r#","context":{"a:b":[["x"]]}"#),
            base(r#","context":{"a:b":"1","A:B":"2"}"#),
            base(r#","context":{"":"x"}"#),
            base(r#","extra":1"#),
            base(r#","action":"s3:GetObject""#),
            base(",\"identity\":\"a\u{1}\""),
            r#"{"action":"s3:GetObject"}"#.to_string(),
            base("") + " x",
            base(",").to_string(),
        ] {
            let mut buffer = RequestBuffer::default();
            assert_eq!(scan::read(&line, &mut buffer), Err(scan::GiveUp), "{line}");
        }
    }

    /// A read request: the request, its context keys in order, the id's JSON text.
    type Read = (Request, Vec<(String, Vec<String>)>, String);

    /// What a reader produced, for comparing two readers: the error's message, or the
    /// request.
    fn outcome(result: &Result<(), LineError>, b: &RequestBuffer) -> Result<Read, String> {
        match result {
            Err(e) => Err(e.to_string()),
            Ok(()) => Ok((
                b.request.clone(),
                b.request
                    .context
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_vec()))
                    .collect(),
                String::from_utf8_lossy(&b.id_json).into_owned(),
            )),
        }
    }

    mod equivalence {
        use super::*;
        use proptest::prelude::*;

        /// A JSON string's text and how it is written: 0 as is (invalid JSON when it holds
        /// `"`, `\` or a control character), 1 escaped as serde_json writes it, 2 with
        /// every character but ASCII letters and digits as `\u` escapes.
        #[derive(Debug, Clone)]
        struct Text(String, u8);

        impl Text {
            fn render(&self) -> String {
                match self.1 {
                    0 => format!("\"{}\"", self.0),
                    1 => serde_json::to_string(&self.0).unwrap(),
                    _ => {
                        let mut out = String::from("\"");
                        for c in self.0.chars() {
                            if c.is_ascii_alphanumeric() {
                                out.push(c);
                            } else {
                                let mut units = [0u16; 2];
                                for u in c.encode_utf16(&mut units) {
                                    out.push_str(&format!("\\u{u:04X}"));
                                }
                            }
                        }
                        out + "\""
                    }
                }
            }
        }

        #[derive(Debug, Clone)]
        enum Value {
            Str(Text),
            /// A number as written (valid or not).
            Num(String),
            Bool(bool),
            Null,
            Arr(Vec<Value>),
        }

        impl Value {
            fn render(&self, ws: &[&str], k: &mut usize) -> String {
                match self {
                    Value::Str(t) => t.render(),
                    Value::Num(n) => n.clone(),
                    Value::Bool(b) => b.to_string(),
                    Value::Null => "null".into(),
                    Value::Arr(items) => {
                        let items: Vec<String> = items.iter().map(|v| v.render(ws, k)).collect();
                        let sep = format!("{},{}", pick(ws, k), pick(ws, k));
                        format!("[{}{}{}]", pick(ws, k), items.join(&sep), pick(ws, k))
                    }
                }
            }
        }

        fn pick<'a>(ws: &[&'a str], k: &mut usize) -> &'a str {
            *k += 1;
            ws[*k % ws.len()]
        }

        const PLAIN: &[char] = &[
            'a', 'Z', '0', '9', ':', '/', '*', '-', '_', '.', ' ', '~', 'é', '€', '😀', '\u{7f}',
            '\u{a0}',
        ];
        const SPECIAL: &[char] = &['"', '\\', '\n', '\u{1}', '\u{1f}', '/'];

        fn text(plain: bool, samples: &'static [&'static str]) -> BoxedStrategy<Text> {
            let chars: Vec<char> = if plain {
                PLAIN.to_vec()
            } else {
                PLAIN.iter().chain(SPECIAL).copied().collect()
            };
            let encoding = if plain {
                Just(0u8).boxed()
            } else {
                (0u8..3).boxed()
            };
            let free = prop::collection::vec(prop::sample::select(chars), 0..10)
                .prop_map(|c| c.into_iter().collect::<String>());
            let sampled = prop::sample::select(samples).prop_map(str::to_string);
            (prop_oneof![3 => sampled, 1 => free], encoding)
                .prop_map(|(t, e)| Text(t, e))
                .boxed()
        }

        fn number(plain: bool) -> BoxedStrategy<String> {
            let ints = prop_oneof![
                any::<i64>().prop_map(|n| (n % 1_000_000_000_000_000_000).to_string()),
                (0u64..1000).prop_map(|n| n.to_string()),
                Just("-0".to_string()),
            ];
            if plain {
                return ints.boxed();
            }
            prop_oneof![
                3 => ints,
                1 => prop::sample::select(&[
                    "1.50", "1e3", "-0.0", "1E+2", "2.5e-3", "01", "-", "1.", ".5", "+1", "1e",
                    "1234567890123456789", "99999999999999999999", "-9223372036854775808",
                    "18446744073709551615", "1e400", "0.1000000000000000055511151231257827",
                ][..])
                .prop_map(str::to_string),
            ]
            .boxed()
        }

        fn scalar(plain: bool) -> BoxedStrategy<Value> {
            let values = &[
                "10.0.0.1",
                "true",
                "2026-01-01T00:00:00Z",
                "1767225600",
                "us-east-1:b",
                "x",
            ][..];
            let common = prop_oneof![
                4 => text(plain, values).prop_map(Value::Str),
                1 => any::<bool>().prop_map(Value::Bool),
                1 => number(plain).prop_map(Value::Num),
            ];
            if plain {
                common.boxed()
            } else {
                prop_oneof![8 => common, 1 => Just(Value::Null)].boxed()
            }
        }

        fn value(plain: bool) -> BoxedStrategy<Value> {
            let array = prop::collection::vec(
                if plain {
                    scalar(true)
                } else {
                    prop_oneof![
                        6 => scalar(false),
                        1 => prop::collection::vec(scalar(false), 0..2).prop_map(Value::Arr),
                    ]
                    .boxed()
                },
                0..4,
            )
            .prop_map(Value::Arr);
            prop_oneof![3 => scalar(plain), 1 => array].boxed()
        }

        const KEYS: &[&str] = &[
            "aws:SourceIp",
            "AWS:sourceip",
            "aws:CurrentTime",
            "aws:EpochTime",
            "cognito-identity.amazonaws.com:sub",
            "aws:TagKeys",
            "s3:prefix",
            "a:b",
            "A:B",
            "k",
            "",
        ];

        /// One field of the request object: its name and its value's JSON text.
        fn fields(plain: bool) -> BoxedStrategy<Vec<(Text, Value)>> {
            let id = prop_oneof![
                text(plain, &["r0", "a", ""][..]).prop_map(Value::Str),
                number(plain).prop_map(Value::Num),
                Just(Value::Null),
            ];
            let id = if plain {
                id.boxed()
            } else {
                prop_oneof![4 => id, 1 => any::<bool>().prop_map(Value::Bool)].boxed()
            };
            let identity = text(plain, &["us-east-1:abc", "us-east-1:b", ""][..]);
            let principal = text(
                plain,
                &[
                    "arn:aws:iam::111122223333:user/alice",
                    "arn:aws:sts::111122223333:assumed-role/R/s",
                    "arn:aws:iam::111122223333:role/R",
                    "x",
                ][..],
            );
            let action = text(
                plain,
                &["s3:GetObject", "s3:Get*", "execute-api:Invoke", "bad"][..],
            );
            let resource = text(
                plain,
                &[
                    "*",
                    "arn:aws:s3:::b/k",
                    "arn:aws:s3:::notes/private/us-east-1:x/é",
                ][..],
            );
            let context = prop::collection::vec((text(plain, KEYS), value(plain)), 0..5);
            let extra = if plain {
                Just(Vec::new()).boxed()
            } else {
                prop::collection::vec(
                    (
                        text(false, &["extra", "Id", "action", "context", "id"][..]),
                        value(false),
                    ),
                    0..2,
                )
                .boxed()
            };
            (
                prop::option::weighted(0.7, id),
                prop::option::weighted(0.5, identity),
                prop::option::weighted(0.3, principal),
                prop::option::weighted(0.95, action),
                prop::option::weighted(0.95, resource),
                prop::option::weighted(0.8, context),
                extra,
            )
                .prop_map(
                    move |(id, identity, principal, action, resource, context, extra)| {
                        let mut out = Vec::new();
                        let mut add = |n: &str, v: Option<Value>| {
                            if let Some(v) = v {
                                out.push((Text(n.to_string(), 0), v));
                            }
                        };
                        add("id", id);
                        add("identity", identity.map(Value::Str));
                        add("principal", principal.map(Value::Str));
                        add("action", action.map(Value::Str));
                        add("resource", resource.map(Value::Str));
                        if let Some(context) = context {
                            // A context is written as an array of pairs here; rendered as an
                            // object below.
                            let pairs = context
                                .into_iter()
                                .map(|(k, v)| Value::Arr(vec![Value::Str(k), v]))
                                .collect();
                            out.push((Text("context".into(), 0), Value::Arr(pairs)));
                        }
                        out.extend(extra);
                        out
                    },
                )
                .prop_shuffle()
                .boxed()
        }

        /// Render a context given as pairs (`[key, value]` arrays) as an object, with
        /// white space from `ws`.
        fn render_context(pairs: &[Value], ws: &[&str], k: &mut usize) -> String {
            let mut entries = Vec::new();
            for pair in pairs {
                let Value::Arr(kv) = pair else { continue };
                let (Some(Value::Str(key)), Some(v)) = (kv.first(), kv.get(1)) else {
                    continue;
                };
                entries.push(format!(
                    "{}{}:{}{}",
                    key.render(),
                    pick(ws, k),
                    pick(ws, k),
                    v.render(ws, k)
                ));
            }
            let sep = format!(",{}", pick(ws, k));
            format!("{{{}{}}}", pick(ws, k), entries.join(&sep))
        }

        /// Render the fields as a request object, with white space from `ws`.
        fn render(fields: &[(Text, Value)], ws: &[&str]) -> String {
            let mut k = 0;
            let mut parts = Vec::new();
            for (name, value) in fields {
                let value = match (name.0.as_str(), value) {
                    ("context", Value::Arr(pairs)) if name.1 == 0 => {
                        render_context(pairs, ws, &mut k)
                    }
                    _ => value.render(ws, &mut k),
                };
                parts.push(format!(
                    "{}{}{}:{}{}",
                    pick(ws, &mut k),
                    name.render(),
                    pick(ws, &mut k),
                    pick(ws, &mut k),
                    value
                ));
            }
            let sep = format!("{},", pick(ws, &mut k));
            format!(
                "{}{{{}}}{}",
                pick(ws, &mut k),
                parts.join(&sep),
                pick(ws, &mut k)
            )
        }

        /// White space to render with: in a plain request line, JSON's white space but the
        /// line feed (which ends a request line; the scanner gives up on a line that holds
        /// one); in a plain context object, all of JSON's; otherwise anything.
        fn white_space(plain: bool, in_line: bool) -> BoxedStrategy<Vec<&'static str>> {
            let choices: &'static [&'static str] = if plain && in_line {
                &["", "", "", " ", "\t", "\r"]
            } else if plain {
                &["", "", "", " ", "\t", "\n", "\r\n"]
            } else {
                &["", "", "", " ", "\t", "\n", "\r\n", "\u{a0}", "\u{c}"]
            };
            prop::collection::vec(prop::sample::select(choices), 1..6).boxed()
        }

        /// A line: plain (the scanner's shape, though perhaps with duplicates or a missing
        /// field) or anything, then mutated by up to three edits.
        fn line(plain: bool) -> BoxedStrategy<String> {
            let base =
                (fields(plain), white_space(plain, true)).prop_map(|(f, ws)| render(&f, &ws));
            if plain {
                return base.boxed();
            }
            mutated(base.boxed())
        }

        /// A context object alone: plain (the scanner's shape, though perhaps with a key
        /// twice or an empty key) or anything, then mutated by up to three edits.
        fn context_object(plain: bool) -> BoxedStrategy<String> {
            let pairs =
                prop::collection::vec((text(plain, KEYS), value(plain)), 0..5).prop_map(|pairs| {
                    pairs
                        .into_iter()
                        .map(|(k, v)| Value::Arr(vec![Value::Str(k), v]))
                        .collect::<Vec<_>>()
                });
            let base = (pairs, white_space(plain, false)).prop_map(|(pairs, ws)| {
                let mut k = 0;
                let object = render_context(&pairs, &ws, &mut k);
                format!("{}{object}{}", pick(&ws, &mut k), pick(&ws, &mut k))
            });
            if plain {
                return base.boxed();
            }
            mutated(base.boxed())
        }

        /// `base`, then up to three edits (a character removed, inserted or replaced, the
        /// text cut, a piece repeated).
        fn mutated(base: BoxedStrategy<String>) -> BoxedStrategy<String> {
            let edit = (
                0u8..5,
                any::<prop::sample::Index>(),
                prop::sample::select(
                    &[
                        '{', '}', '[', ']', ',', ':', '"', '\\', ' ', '0', '-', '.', 'e', 'n', 't',
                        'x', 'é', '\u{0}',
                    ][..],
                ),
            );
            (base, prop::collection::vec(edit, 0..4))
                .prop_map(|(line, edits)| {
                    let mut chars: Vec<char> = line.chars().collect();
                    for (op, at, c) in edits {
                        let n = chars.len();
                        let i = at.index(n + 1);
                        match op {
                            0 if i < n => {
                                chars.remove(i);
                            }
                            1 => chars.insert(i, c),
                            2 if i < n => chars[i] = c,
                            3 => chars.truncate(i),
                            _ => {
                                let piece: Vec<char> = chars[i..].iter().take(7).copied().collect();
                                let at = i.min(chars.len());
                                chars.splice(at..at, piece);
                            }
                        }
                    }
                    chars.into_iter().collect()
                })
                .boxed()
        }

        /// Both readers on `a` then `b`, each into one reused buffer: the same results.
        fn agree(a: &str, b: &str) -> Result<(), TestCaseError> {
            let mut fast = RequestBuffer::default();
            let mut reference = RequestBuffer::default();
            for line in [a, b] {
                let f = parse_request_into(line, now(), &mut fast);
                let r = parse_request_reference(line, now(), &mut reference);
                prop_assert_eq!(outcome(&f, &fast), outcome(&r, &reference), "{:?}", line);
            }
            Ok(())
        }

        /// Both context readers on `a` then `b`, each into one reused context (cleared
        /// before each object, as the column decider does): the same results.
        fn contexts_agree(a: &str, b: &str) -> Result<(), TestCaseError> {
            let (mut fast, mut reference) = (Context::new(), Context::new());
            let mut key = String::new();
            for json in [a, b] {
                fast.clear();
                reference.clear();
                let f = parse_context_into(json, &mut fast, &mut key).map_err(|e| e.to_string());
                let r = parse_context_general(json, &mut reference, &mut key)
                    .map_err(|e| e.to_string());
                let pairs = |c: &Context| -> Vec<(String, Vec<String>)> {
                    c.iter().map(|(k, v)| (k.to_string(), v.to_vec())).collect()
                };
                prop_assert_eq!(
                    f.map(|()| pairs(&fast)),
                    r.map(|()| pairs(&reference)),
                    "{:?}",
                    json
                );
                // Into a context that already holds a key (one the objects may name
                // again, in another case): the same results too.
                for c in [&mut fast, &mut reference] {
                    c.clear();
                    c.add("A:b", "held");
                }
                let f = parse_context_into(json, &mut fast, &mut key).map_err(|e| e.to_string());
                let r = parse_context_general(json, &mut reference, &mut key)
                    .map_err(|e| e.to_string());
                prop_assert_eq!(
                    f.map(|()| pairs(&fast)),
                    r.map(|()| pairs(&reference)),
                    "{:?} after a held key",
                    json
                );
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// Context objects of the scanner's shape: the same results, and the scanner
            /// reads every one the general reader accepts.
            #[test]
            fn plain_contexts_are_scanned_alike(a in context_object(true), b in context_object(true)) {
                contexts_agree(&a, &b)?;
                let scanned = scan::read_context(&a, &mut Context::new()).is_ok();
                let general = parse_context_general(&a, &mut Context::new(), &mut String::new()).is_ok();
                prop_assert_eq!(scanned, general, "{:?}", a);
            }

            /// Any context object, escapes, odd numbers, wrong types and edits included:
            /// the same results, errors word for word.
            #[test]
            fn any_context_is_read_alike(a in context_object(false), b in context_object(false)) {
                contexts_agree(&a, &b)?;
            }

            /// Lines of the scanner's shape: the same results, and the scanner reads every
            /// one the general reader accepts as JSON (it gives up on none of them).
            #[test]
            fn plain_lines_are_scanned_alike(a in line(true), b in line(true)) {
                agree(&a, &b)?;
                let mut buffer = RequestBuffer::default();
                let scanned = scan::read(&a, &mut buffer).is_ok();
                let mut buffer = RequestBuffer::default();
                let general = read_general(&a, &mut buffer).is_ok();
                prop_assert_eq!(scanned, general, "{:?}", a);
            }

            /// Any line, escapes, odd numbers, wrong types and edits included: the same
            /// results, errors word for word.
            #[test]
            fn any_line_is_read_alike(a in line(false), b in line(false)) {
                agree(&a, &b)?;
            }

            /// Lines read where they start in a text of lines (the batch's fast path): where
            /// the scanner reads one, it ends at the line's `\n` (or the text's end) and reads
            /// what the reference reads from the line cut there (one `\r` before the `\n`
            /// taken off); plain lines are all read so.
            #[test]
            fn lines_read_in_place_are_read_alike(
                lines in prop::collection::vec(
                    prop_oneof![line(true), line(false)].prop_map(|l| l.replace('\n', " ")),
                    1..5,
                ),
                crlf in any::<bool>(),
                last_newline in any::<bool>(),
            ) {
                let eol = if crlf { "\r\n" } else { "\n" };
                let mut text = lines.join(eol);
                if last_newline {
                    text.push_str(eol);
                }
                let (mut fast, mut reference) = (RequestBuffer::default(), RequestBuffer::default());
                let mut at = 0;
                for line in &lines {
                    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
                    let whole = &text[at..end];
                    let whole = whole.strip_suffix('\r').unwrap_or(whole);
                    let r = parse_request_reference(whole, now(), &mut reference);
                    match scan_request_at(&text, at, now(), &mut fast) {
                        Some((scanned_end, f)) => {
                            prop_assert_eq!(scanned_end, end, "{:?}", text);
                            prop_assert_eq!(outcome(&f, &fast), outcome(&r, &reference), "{:?}", whole);
                        }
                        None => {
                            let alone = scan::read(line, &mut RequestBuffer::default());
                            prop_assert!(alone.is_err(), "read alone, not in place: {:?}", line);
                        }
                    }
                    at = end + 1;
                }
            }
        }
    }

    /// A line with 100,000 context keys is read in linear time (each key used to be
    /// compared with every earlier one: about ten minutes), and a duplicate in another case
    /// at the end is still found; a buffer reused for a small line then reads it right.
    #[test]
    fn many_context_keys_and_a_late_duplicate() {
        let keys: Vec<String> = (0..100_000)
            .map(|i| format!("\"k:{i}\":\"v{i}\""))
            .collect();
        let line = |extra: &str| {
            format!(
                r#"{{"action":"s3:GetObject","resource":"*","context":{{{}{extra}}}}}"#,
                keys.join(",")
            )
        };
        let mut buffer = RequestBuffer::default();
        parse_request_into(&line(""), now(), &mut buffer).unwrap();
        let c = &buffer.request.context;
        assert_eq!(c.get("K:99999"), Some(&["v99999".to_string()][..]));
        assert_eq!(c.get("k:0"), Some(&["v0".to_string()][..]));
        assert_eq!(c.get("k:100000"), None);
        let e = parse_request_into(&line(r#","K:99999":"w""#), now(), &mut buffer)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("duplicate context key \"K:99999\""), "{e}");
        let small = r#"{"action":"s3:GetObject","resource":"*","context":{"k:7":"x"}}"#;
        parse_request_into(small, now(), &mut buffer).unwrap();
        let c = &buffer.request.context;
        assert_eq!(c.get("k:7"), Some(&["x".to_string()][..]));
        assert_eq!(c.get("k:8"), None);
    }
}

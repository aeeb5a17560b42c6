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

/// Parse `line` into `buffer`. JSON strings without escapes are read in place and copied
/// straight into the reused buffers. `now` fills `aws:CurrentTime`/`aws:EpochTime` when
/// absent.
pub fn parse_request_into(
    line: &str,
    now: Timestamp,
    buffer: &mut RequestBuffer,
) -> Result<(), LineError> {
    buffer.request.context.clear();
    buffer.id_json.clear();
    buffer.id_json.extend_from_slice(b"null");
    buffer.has_identity = false;
    buffer.has_principal = false;
    buffer.request.principal = None;
    let numbers = NumberTexts::new(line.as_bytes());
    let mut de = serde_json::Deserializer::from_str(line);
    de::DeserializeSeed::deserialize(
        LineSeed {
            buffer: &mut *buffer,
            numbers: &numbers,
        },
        &mut de,
    )
    .and_then(|()| de.end())?;
    if buffer.has_identity {
        buffer.request.set_identity(&buffer.identity)?;
    }
    if buffer.has_principal {
        buffer.request.principal = Some(Caller::parse(&buffer.principal)?);
    }
    buffer.request.context.fill_time_defaults(now)?;
    Ok(buffer.request.validate()?)
}

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
                return Err(de::Error::custom("a context key must not be empty"));
            }
            let Some(slot) = self.context.insert_new(self.key) else {
                return Err(de::Error::custom(format!(
                    "duplicate context key {:?} (keys are case-insensitive)",
                    self.key
                )));
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

//! Requests as JSON Lines, one object per line:
//! `{"id":"opt","identity":"us-east-1:abc","action":"s3:GetObject","resource":"arn:...",
//! "context":{"aws:SourceIp":"10.0.0.1","aws:TagKeys":["a","b"]}}`.
//!
//! `id` (string or number) and `identity` are optional; `context` values are strings,
//! numbers or booleans (read as their text), or arrays of them (a multivalued key).
//! Unknown fields and duplicate keys are errors.

use std::fmt;
use std::io::{BufRead, Write};

use jiff::Timestamp;
use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;

use crate::context::{Context, Request};
use crate::eval::PolicySet;
use crate::report::evaluation_json;

/// One parsed request line.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestLine {
    /// The `id`, echoed in the output (`null` when absent).
    pub id: Json,
    /// The request, with `aws:CurrentTime`/`aws:EpochTime` filled in.
    pub request: Request,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    #[serde(default)]
    id: Option<Json>,
    #[serde(default)]
    identity: Option<String>,
    action: String,
    resource: String,
    #[serde(default)]
    context: Option<ContextMap>,
}

struct ContextMap(Context);

impl<'de> Deserialize<'de> for ContextMap {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<ContextMap, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ContextMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of context keys to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ContextMap, A::Error> {
                let mut ctx = Context::new();
                while let Some(key) = map.next_key::<String>()? {
                    if ctx.contains(&key) {
                        return Err(de::Error::custom(format!(
                            "duplicate context key {key:?} (keys are case-insensitive)"
                        )));
                    }
                    let ContextValues(values) = map.next_value()?;
                    ctx.set(&key, values);
                }
                Ok(ContextMap(ctx))
            }
        }
        d.deserialize_map(V)
    }
}

struct ContextValues(Vec<String>);

impl<'de> Deserialize<'de> for ContextValues {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<ContextValues, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ContextValues;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number, boolean or an array of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ContextValues, E> {
                Ok(ContextValues(vec![v.to_string()]))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ContextValues, E> {
                Ok(ContextValues(vec![v.to_string()]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ContextValues, E> {
                Ok(ContextValues(vec![v.to_string()]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ContextValues, E> {
                Ok(ContextValues(vec![v.to_string()]))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ContextValues, E> {
                Ok(ContextValues(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ContextValues, A::Error> {
                let mut out = Vec::new();
                while let Some(ContextValues(one)) = seq.next_element()? {
                    if one.len() != 1 {
                        return Err(de::Error::custom("context arrays cannot be nested"));
                    }
                    out.extend(one);
                }
                Ok(ContextValues(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Parse one request line. `now` fills `aws:CurrentTime`/`aws:EpochTime` when absent.
pub fn parse_request_line(line: &str, now: Timestamp) -> Result<RequestLine, String> {
    let raw: RawRequest = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let id = match raw.id {
        None => Json::Null,
        Some(id @ (Json::String(_) | Json::Number(_) | Json::Null)) => id,
        Some(_) => return Err("id must be a string or a number".to_string()),
    };
    let mut context = raw.context.map(|c| c.0).unwrap_or_default();
    if let Some(identity) = raw.identity {
        if context.contains(crate::context::COGNITO_SUB) {
            return Err(format!(
                "identity and context[{:?}] both set the identity; give one",
                crate::context::COGNITO_SUB
            ));
        }
        context.set(crate::context::COGNITO_SUB, vec![identity]);
    }
    context.fill_time_defaults(now);
    let request = Request {
        action: raw.action,
        resource: raw.resource,
        context,
    };
    request.validate()?;
    Ok(RequestLine { id, request })
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

/// Read JSON Lines requests from `input` and write one JSON line per request to `output`,
/// in order. Blank lines are skipped. A line that cannot be parsed or evaluated produces
/// `{"line":N,"error":"..."}` and processing goes on.
pub fn run_batch(
    set: &PolicySet,
    input: impl BufRead,
    mut output: impl Write,
    now: Timestamp,
) -> std::io::Result<BatchSummary> {
    let mut summary = BatchSummary::default();
    for (n, line) in input.split(b'\n').enumerate() {
        let line_no = n + 1;
        let bytes = line?;
        let result = match std::str::from_utf8(&bytes) {
            Err(e) => Err(format!("invalid UTF-8: {e}")),
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => parse_request_line(text.trim_end_matches('\r'), now).and_then(|r| {
                set.evaluate(&r.request)
                    .map(|ev| (r.id, ev))
                    .map_err(|e| e.0)
            }),
        };
        match result {
            Ok((id, evaluation)) => {
                summary.decided += 1;
                serde_json::to_writer(&mut output, &evaluation_json(set, &id, &evaluation))?;
            }
            Err(error) => {
                summary.failed += 1;
                serde_json::to_writer(
                    &mut output,
                    &LineError {
                        line: line_no,
                        error: &error,
                    },
                )?;
            }
        }
        output.write_all(b"\n")?;
    }
    output.flush()?;
    Ok(summary)
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
    }
}

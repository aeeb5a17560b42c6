//! The records of a CloudTrail input, read in one pass over its text.
//!
//! A delivered log file (`{"Records":[...]}`) is read as a stream: each element of
//! `Records` becomes a [`Record`] (the fields the mapping uses, borrowed from the text) and
//! is handed on before the next is read, so one pass reads the file and no record's tree
//! is kept. Should an element not read as a record (it is not an object, or repeats a
//! field the mapping reads), the stream stops there and the rest of the file is read
//! record by record as raw JSON first, so that the one record is reported and the others
//! still count. A file that is not valid JSON of its kind is an error worded by the
//! core's reader (file, line, column).

use std::fmt;

use policy_sim::logs::LogError;
use policy_sim::logs::cloudtrail::{self, Record};
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::AuditError;
use crate::inputs::{Input, Kind};

/// A record that could not be read as one: why, and its text.
#[derive(Debug, Clone, Copy)]
pub struct Unreadable<'r> {
    /// Why (not an object; a field the mapping reads repeated).
    pub error: &'r serde_json::Error,
    /// The record's JSON text.
    pub text: &'r str,
}

/// What a record handed on is: read, or unreadable.
pub type Read<'r, 'a> = Result<&'r Record<'a>, Unreadable<'r>>;

/// Hand each record of `input` (its decompressed `bytes`) to `each` with its 0-based
/// number among the file's records, in order; `false` from `each` stops the reading
/// (`Ok(false)`). Blank lines of a JSON Lines file are not records.
///
/// Cost: one pass over the text when every record reads (two over the rest of the file
/// after one that does not); memory: one record's fields at a time.
pub fn each_record(
    input: &Input,
    bytes: &[u8],
    each: &mut dyn FnMut(u64, Read<'_, '_>) -> bool,
) -> Result<bool, AuditError> {
    match input.kind {
        Kind::CloudTrail => {
            let mut stream = Stream {
                each,
                done: 0,
                stopped: false,
            };
            // UTF-8 checked once for the whole file, not string by string.
            let Ok(text) = std::str::from_utf8(bytes) else {
                return record_by_record(input, bytes, 0, each);
            };
            let mut json = serde_json::Deserializer::from_str(text);
            let streamed = (&mut stream)
                .deserialize(&mut json)
                .and_then(|()| json.end());
            match streamed {
                Ok(()) => Ok(true),
                Err(_) if stream.stopped => Ok(false),
                Err(_) => record_by_record(input, bytes, stream.done, stream.each),
            }
        }
        _ => {
            let text = std::str::from_utf8(bytes).map_err(|e| {
                let line = memchr::memchr_iter(b'\n', &bytes[..e.valid_up_to()]).count();
                json_error(input, line, 0, &format!("not UTF-8: {e}"))
            })?;
            let mut number = 0;
            for (n, line) in text.split('\n').enumerate() {
                if line.trim_ascii().is_empty() {
                    continue;
                }
                let read = match Record::parse(line) {
                    Ok(record) => Ok(record),
                    Err(e) if e.is_data() => Err(e),
                    Err(e) => return Err(json_error(input, n, e.column(), &e.to_string())),
                };
                let read = read
                    .as_ref()
                    .map_err(|error| Unreadable { error, text: line });
                if !each(number, read) {
                    return Ok(false);
                }
                number += 1;
            }
            Ok(true)
        }
    }
}

/// A JSON error on the 0-based line `n`.
fn json_error(input: &Input, n: usize, column: usize, message: &str) -> AuditError {
    AuditError::Log(LogError::Json {
        file: input.name.clone(),
        line: n + 1,
        column,
        message: message.to_string(),
    })
}

/// The records of a log file from the `skip`-th on, each read from its raw JSON.
fn record_by_record(
    input: &Input,
    bytes: &[u8],
    skip: u64,
    each: &mut dyn FnMut(u64, Read<'_, '_>) -> bool,
) -> Result<bool, AuditError> {
    #[derive(serde::Deserialize)]
    struct Log<'a> {
        #[serde(borrow, rename = "Records")]
        records: Vec<&'a RawValue>,
    }
    let log = match serde_json::from_slice::<Log>(bytes) {
        Ok(log) => log,
        Err(_) => {
            // The core's reader words the error (file, line, column, shape).
            cloudtrail::parse_log_file(&input.name, bytes)?;
            return Err(AuditError::Input {
                file: input.name.clone(),
                reason: "not a CloudTrail log file".to_string(),
            });
        }
    };
    for (i, raw) in log.records.iter().enumerate().skip(skip as usize) {
        let read = Record::parse(raw.get());
        let read = read.as_ref().map_err(|error| Unreadable {
            error,
            text: raw.get(),
        });
        if !each(i as u64, read) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The state of a streamed log file.
struct Stream<'e> {
    each: &'e mut dyn FnMut(u64, Read<'_, '_>) -> bool,
    /// Records handed on.
    done: u64,
    /// `each` said stop.
    stopped: bool,
}

impl<'de> DeserializeSeed<'de> for &mut Stream<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for &mut Stream<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CloudTrail log file")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "Records" && !seen {
                seen = true;
                map.next_value_seed(Records(&mut *self))?;
            } else if key == "Records" {
                return Err(de::Error::custom("\"Records\" twice"));
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if seen {
            Ok(())
        } else {
            Err(de::Error::custom("no \"Records\""))
        }
    }
}

/// The `Records` array.
struct Records<'s, 'e>(&'s mut Stream<'e>);

impl<'de> DeserializeSeed<'de> for Records<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Records<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(record) = seq.next_element_seed(OneRecord)? {
            let number = self.0.done;
            self.0.done += 1;
            if !(self.0.each)(number, Ok(&record)) {
                self.0.stopped = true;
                return Err(de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

/// One element of `Records`: an object read as a [`Record`] (anything else is an error).
struct OneRecord;

impl<'de> DeserializeSeed<'de> for OneRecord {
    type Value = Record<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Record<'de>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for OneRecord {
    type Value = Record<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Record<'de>, A::Error> {
        serde::Deserialize::deserialize(MapAccessDeserializer::new(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn input(kind: Kind) -> Input {
        Input {
            path: PathBuf::from("unused"),
            name: "logs/x.json".to_string(),
            kind,
        }
    }

    /// Each record's number and event name, or its error.
    type Seen = Vec<(u64, Result<String, String>)>;

    /// What `each_record` hands on.
    fn seen(kind: Kind, text: &str) -> Result<Seen, String> {
        let mut out = Vec::new();
        each_record(&input(kind), text.as_bytes(), &mut |i, r| {
            let r = r.map(|r| r.event_name.get().unwrap_or("-").to_string());
            out.push((i, r.map_err(|u| u.error.to_string())));
            true
        })
        .map_err(|e| e.to_string())?;
        Ok(out)
    }

    #[test]
    fn a_record_that_does_not_read_is_handed_on_and_the_rest_still_count() {
        let text = r#"{"Records":[{"eventName":"A"},7,{"eventName":"B","eventName":"C"},
            {"eventName":"D"},["E"],{"eventName":"F"}],"other":1}"#;
        let got = seen(Kind::CloudTrail, text).unwrap();
        let names: Vec<_> = got
            .iter()
            .map(|(i, r)| (*i, r.as_ref().map(String::as_str).map_err(|_| ())))
            .collect();
        assert_eq!(
            names,
            vec![
                (0, Ok("A")),
                (1, Err(())),
                (2, Err(())),
                (3, Ok("D")),
                (4, Err(())),
                (5, Ok("F"))
            ]
        );
        assert_eq!(
            got[1].1,
            Err("a record is not a JSON object".to_string()),
            "{got:?}"
        );
        assert!(
            got[2]
                .1
                .as_ref()
                .unwrap_err()
                .contains("duplicate field `eventName`")
        );
        // A file every record of which reads is streamed: the same records.
        let clean = r#"{"Records":[{"eventName":"A"},{"eventName":"D"}]}"#;
        assert_eq!(
            seen(Kind::CloudTrail, clean).unwrap(),
            vec![(0, Ok("A".to_string())), (1, Ok("D".to_string()))]
        );
    }

    #[test]
    fn a_file_that_is_not_json_of_its_kind_is_an_error_naming_the_place() {
        let e = seen(
            Kind::CloudTrail,
            "{\"Records\":[\n{\"eventName\":\"A\"},\n{,}]}",
        )
        .unwrap_err();
        assert_eq!(
            e,
            "logs/x.json:3:2: key must be a string at line 3 column 2"
        );
        let e = seen(Kind::CloudTrail, r#"{"records":[]}"#).unwrap_err();
        assert_eq!(
            e,
            "logs/x.json: no \"Records\" array: not a CloudTrail log file"
        );
        let e = seen(
            Kind::CloudTrailLines,
            "{\"eventName\":\"A\"}\n\n{\"eventName\":}\n",
        )
        .unwrap_err();
        assert_eq!(e, "logs/x.json:3:14: expected value at line 1 column 14");
    }

    #[test]
    fn a_line_that_is_not_json_is_an_error_naming_it() {
        for (text, want) in [
            (
                "{}\ngarbage here\n",
                "logs/x.json:2:1: expected value at line 1 column 1",
            ),
            (
                "{}\n{}\n[1,\n",
                "logs/x.json:3:3: EOF while parsing a value at line 1 column 3",
            ),
        ] {
            assert_eq!(seen(Kind::CloudTrailLines, text).unwrap_err(), want);
        }
    }

    #[test]
    fn lines_are_records_and_blank_lines_are_not() {
        let got = seen(
            Kind::CloudTrailLines,
            "{\"eventName\":\"A\"}\n\n  \n[1]\n{\"eventName\":\"B\"}\n",
        )
        .unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], (0, Ok("A".to_string())));
        assert_eq!(
            got[1],
            (1, Err("a record is not a JSON object".to_string()))
        );
        assert_eq!(got[2], (2, Ok("B".to_string())));
        let mut text = b"{}\n{}\n{\"eventName\":\"".to_vec();
        text.extend([0xff, b'"', b'}', b'\n']);
        let e = each_record(&input(Kind::CloudTrailLines), &text, &mut |_, _| true).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("logs/x.json:3:0: not UTF-8: invalid utf-8 sequence"),
            "{e}"
        );
    }

    #[test]
    fn false_stops_the_reading() {
        for (kind, text) in [
            (
                Kind::CloudTrail,
                r#"{"Records":[{"eventName":"A"},{"eventName":"B"},{"eventName":"C"}]}"#,
            ),
            (
                Kind::CloudTrail,
                r#"{"Records":[1,{"eventName":"B"},{"eventName":"C"}]}"#,
            ),
            (Kind::CloudTrailLines, "{}\n{}\n{}\n"),
        ] {
            let mut n = 0;
            let go_on = each_record(&input(kind), text.as_bytes(), &mut |_, _| {
                n += 1;
                n < 2
            })
            .unwrap();
            assert!(!go_on);
            assert_eq!(n, 2, "{text}");
        }
    }

    /// The model of a delivered log file's reading: the file parsed whole, then each
    /// element of `Records` read alone from its text, mapped with `index`. `None` when
    /// the file is not a CloudTrail log file (the reader must then be an error).
    fn model(
        text: &str,
        index: &cloudtrail::IdentityIndex,
    ) -> Option<Vec<(u64, Result<policy_sim::logs::Mapped, String>)>> {
        #[derive(serde::Deserialize)]
        struct Log<'a> {
            #[serde(borrow, rename = "Records")]
            records: Vec<&'a RawValue>,
        }
        let log: Log = serde_json::from_str(text).ok()?;
        Some(
            log.records
                .iter()
                .enumerate()
                .map(|(i, raw)| {
                    let read = Record::parse(raw.get()).map_err(|e| e.to_string());
                    let mapped = read.and_then(|r| {
                        cloudtrail::map(&r, index).map_err(|u| format!("unmapped {u}"))
                    });
                    (i as u64, mapped)
                })
                .collect(),
        )
    }

    /// The clean fixture's records (JSON texts), and the index of their sessions.
    fn fixture() -> (Vec<String>, cloudtrail::IdentityIndex) {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/audit/clean/cloudtrail.json"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let log: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut index = cloudtrail::IdentityIndex::new();
        let records = log["Records"].as_array().unwrap();
        for r in records {
            index.add_record(r).unwrap();
        }
        assert_eq!(index.len(), 2, "the fixture's two sessions");
        (records.iter().map(|r| r.to_string()).collect(), index)
    }

    /// One element of a generated `Records` array, from the fixture's record `i`.
    fn element(records: &[String], kind: u8, i: usize) -> String {
        let r = &records[i % records.len()];
        match kind % 8 {
            // As it is, compact or spread over lines.
            0 | 1 => r.clone(),
            2 => r.replace(",\"", ",\n  \""),
            // A field the mapping reads, repeated: the record does not read.
            3 => r.replacen('{', "{\"eventName\":\"GetObject\",", 1),
            // Names and values written with escapes: read as the plain text.
            4 => r
                .replace("\"eventSource\"", "\"event\\u0053ource\"")
                .replace("s3.amazonaws.com", "s3\\u002eamazonaws.com")
                .replace("/", "\\/"),
            // Not an object.
            5 => ["7", "\"text\"", "[1,{}]", "null"][i % 4].to_string(),
            // Members the mapping skips, nested.
            6 => r.replacen(
                '{',
                "{\"extra\":{\"deep\":[1,2.5e300,{\"a\":null}],\"s\":\"\\u00e9\"},",
                1,
            ),
            // An empty object.
            _ => "{}".to_string(),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(256))]

        /// Streamed, a log file hands on exactly what reading each element alone does
        /// (the same numbers, records mapping the same, the same errors), whatever
        /// record does not read and wherever; a file that is not a log file is an error.
        #[test]
        fn a_streamed_file_reads_as_each_record_alone(
            elements in proptest::collection::vec((0u8..8, 0usize..6), 0..8),
            before in proptest::bool::ANY,
            after in proptest::bool::ANY,
            cut in proptest::option::weighted(0.15, 0usize..4000),
        ) {
            let (records, index) = fixture();
            let items: Vec<String> = elements
                .iter()
                .map(|&(kind, i)| element(&records, kind, i))
                .collect();
            let mut text = format!(
                "{{{}\"Records\":[{}]{}}}",
                if before { "\"digest\":[1,{\"a\":\"b\"}], " } else { "" },
                items.join(", "),
                if after { ", \"next\": null" } else { "" },
            );
            if let Some(at) = cut {
                let mut at = at.min(text.len());
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                text.truncate(at);
            }
            let mut got = Vec::new();
            let read = each_record(&input(Kind::CloudTrail), text.as_bytes(), &mut |i, r| {
                let mapped = r.map_err(|u| u.error.to_string()).and_then(|r| {
                    cloudtrail::map(r, &index).map_err(|u| format!("unmapped {u}"))
                });
                got.push((i, mapped));
                true
            });
            match model(&text, &index) {
                Some(want) => {
                    proptest::prop_assert!(read.is_ok(), "{:?}\n{}", read.err(), text);
                    proptest::prop_assert_eq!(got, want, "{}", text);
                }
                None => proptest::prop_assert!(read.is_err(), "not a log file, read: {}", text),
            }
        }
    }
}

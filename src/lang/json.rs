//! The one rule for reading JSON numbers where their text matters: policy condition values
//! and request context values.
//!
//! A JSON number is read as the text it is written with (`1.50` stays `1.50`), never
//! through a floating-point value: string operators compare text, and numeric operators
//! compare exact decimals, so a round trip through `f64` (which turns `1.50` into `1.5` and
//! `0.10000000000000000001` into `0.1`) would change decisions.
//!
//! How: the JSON reader hands visitors numbers as `f64`/`i64`/`u64` only. Both readers that
//! need the text (the policy parser and the request line parser) see every number of their
//! input in document order, and stop at the first error; so the `k`-th number a visitor is
//! given is the `k`-th number token of the input text. [`NumberTexts`] walks the input
//! alongside and returns each token's text.

use std::cell::Cell;

/// `impl DeserializeSeed for $seed` that hands the seed itself, as its own visitor, to
/// `Deserializer::$method` (`deserialize_map`, `deserialize_any`, ...): the readers'
/// seeds carry state, so each is both seed and visitor.
macro_rules! seed_is_visitor {
    ($seed:ty, $value:ty, $method:ident) => {
        impl<'de> serde::de::DeserializeSeed<'de> for $seed {
            type Value = $value;
            fn deserialize<D: serde::de::Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<$value, D::Error> {
                d.$method(self)
            }
        }
    };
}
pub(crate) use seed_is_visitor;

/// The texts of the number tokens of one JSON document, in document order.
///
/// Cost: lazy; each call to [`NumberTexts::next`] scans forward from the previous token,
/// skipping strings, so the whole document is scanned at most once. No allocation.
#[derive(Debug)]
pub struct NumberTexts<'a> {
    text: &'a [u8],
    pos: Cell<usize>,
}

impl<'a> NumberTexts<'a> {
    /// The number tokens of `text` (the whole input the JSON reader reads).
    pub fn new(text: &'a [u8]) -> NumberTexts<'a> {
        NumberTexts {
            text,
            pos: Cell::new(0),
        }
    }

    /// The text of the next number token, checked against the value the JSON reader
    /// gave for it; `None` when there is no next token or it does not denote that value
    /// (never expected: the readers then fail with an internal error rather than attach
    /// the wrong text to a value).
    pub fn next(&self, value: Number) -> Option<&'a str> {
        let text = self.next_token()?;
        let same = match value {
            Number::I64(v) => text.parse::<i64>() == Ok(v),
            Number::U64(v) => text.parse::<u64>() == Ok(v),
            // The JSON reader may round a very long decimal differently in the last
            // places than `str::parse`: the same number within rounding is the same token
            // (a different token denotes a different number).
            Number::F64(v) => text
                .parse::<f64>()
                .is_ok_and(|t| t == v || (t - v).abs() <= 1e-9 * t.abs().max(v.abs())),
        };
        same.then_some(text)
    }

    /// The next number token (JSON's grammar: `-`, digits, an optional fraction and an
    /// optional exponent), skipping strings.
    fn next_token(&self) -> Option<&'a str> {
        let bytes = self.text;
        let mut i = self.pos.get();
        while i < bytes.len() {
            match bytes[i] {
                b'"' => i = skip_string(bytes, i + 1),
                b'-' | b'0'..=b'9' => {
                    let start = i;
                    i = number_end(bytes, i);
                    self.pos.set(i);
                    // Number tokens are ASCII, so the slice is valid UTF-8.
                    return std::str::from_utf8(&bytes[start..i]).ok();
                }
                _ => i += 1,
            }
        }
        self.pos.set(i);
        None
    }
}

/// A number as the JSON reader gave it to a visitor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// A negative integer.
    I64(i64),
    /// A non-negative integer.
    U64(u64),
    /// Anything else (a fraction, an exponent, or an integer too large for 64 bits).
    F64(f64),
}

/// The end of the JSON number starting at `i`: `-? digits (. digits)? ([eE] [+-]? digits)?`.
fn number_end(bytes: &[u8], mut i: usize) -> usize {
    let digits = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    if bytes.get(i) == Some(&b'-') {
        i += 1;
    }
    i = digits(i);
    if bytes.get(i) == Some(&b'.') {
        i = digits(i + 1);
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = digits(i);
    }
    i
}

/// The index just after the string whose contents start at `i` (after its opening quote).
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// True when a number's text is an integer (no fraction, no exponent).
pub fn is_integer(text: &str) -> bool {
    !text.contains(['.', 'e', 'E'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_document_order_with_strings_skipped() {
        let doc = br#"{"a1": "x\"2\\", "b": [1.50, -0, 1e3], "c-3": {"d": 0.1000000000000000055511151231257827}, "e": 18446744073709551616}"#;
        let n = NumberTexts::new(doc);
        assert_eq!(n.next(Number::F64(1.5)), Some("1.50"));
        assert_eq!(n.next(Number::I64(0)), Some("-0"));
        assert_eq!(n.next(Number::F64(1000.0)), Some("1e3"));
        assert_eq!(
            n.next(Number::F64(0.1)),
            Some("0.1000000000000000055511151231257827")
        );
        assert_eq!(
            n.next(Number::F64(18446744073709551616.0)),
            Some("18446744073709551616")
        );
        assert_eq!(n.next(Number::U64(0)), None);
        assert!(is_integer("-12"));
        assert!(!is_integer("1.0"));
        assert!(!is_integer("1e3"));
    }

    #[test]
    fn a_token_is_json_number_grammar_and_must_denote_the_value() {
        // `1-2` is the number 1 followed by text the reader refuses: the token is `1`.
        let n = NumberTexts::new(b"[1-2]");
        assert_eq!(n.next(Number::U64(1)), Some("1"));
        let n = NumberTexts::new(b"[1e5-3, 2]");
        assert_eq!(n.next(Number::F64(1e5)), Some("1e5"));
        // A text that does not denote the value the reader gave is refused, not attached.
        let n = NumberTexts::new(b"[7]");
        assert_eq!(n.next(Number::U64(8)), None);
        let n = NumberTexts::new(b"[2.5]");
        assert_eq!(n.next(Number::F64(3.5)), None);
        // A decimal longer than any double: the readers may round its last places apart.
        let long = format!("[0.{}]", "3".repeat(50_000));
        let n = NumberTexts::new(long.as_bytes());
        assert_eq!(
            n.next(Number::F64(0.33333333333333337)).map(str::len),
            Some(50_002)
        );
    }
}

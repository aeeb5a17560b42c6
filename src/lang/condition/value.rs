//! Typed condition values: exact decimals, dates, IP ranges, booleans, binary and ARN
//! patterns, each parsed once when the policy is loaded.

use base64::Engine;
use ipnet::IpNet;
use jiff::Timestamp;

use std::net::IpAddr;

use super::ConditionError;
use super::operator::{Comparison, Family, Operator};
use crate::lang::arn::{ArnPattern, ArnSyntax};
use crate::lang::variables::Syntax;
use crate::lang::wildcard::{Case, Pattern};

/// A decimal number in a `Numeric*` condition, compared exactly (no floating point): the
/// sign, the integer digits without leading zeros and the fraction digits without
/// trailing zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal<'a> {
    negative: bool,
    int: &'a str,
    frac: &'a str,
}

impl<'a> Decimal<'a> {
    /// Parse `[+-]digits[.digits]` (or `.digits`): "an integer or decimal value". Exponents,
    /// NaN and infinities are not numbers here.
    pub fn parse(text: &'a str) -> Result<Decimal<'a>, ConditionError> {
        let t = text.trim();
        let (negative, digits) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
            return Err(ConditionError::NotANumber {
                text: text.to_string(),
            });
        }
        let int = int.trim_start_matches('0');
        let frac = frac.trim_end_matches('0');
        Ok(Decimal {
            negative: negative && !(int.is_empty() && frac.is_empty()),
            int,
            frac,
        })
    }

    /// Exact comparison.
    pub fn compare(&self, other: &Decimal<'_>) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        let magnitude = self
            .int
            .len()
            .cmp(&other.int.len())
            .then_with(|| self.int.cmp(other.int))
            .then_with(|| self.frac.cmp(other.frac));
        match (self.negative, other.negative) {
            (false, false) => magnitude,
            (true, true) => magnitude.reverse(),
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
        }
    }
}

/// A policy's number, stored as its normalized digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number {
    negative: bool,
    int: Box<str>,
    frac: Box<str>,
}

impl Number {
    /// Parse a policy value; see [`Decimal::parse`].
    pub fn parse(text: &str) -> Result<Number, ConditionError> {
        let d = Decimal::parse(text)?;
        Ok(Number {
            negative: d.negative,
            int: d.int.into(),
            frac: d.frac.into(),
        })
    }

    /// The number as a [`Decimal`], for comparisons.
    pub fn as_decimal(&self) -> Decimal<'_> {
        Decimal {
            negative: self.negative,
            int: &self.int,
            frac: &self.frac,
        }
    }
}

/// Parse a date: an integer is epoch seconds; otherwise an ISO 8601 timestamp (with `Z`
/// or an offset; without one it is taken as UTC); otherwise a date `YYYY-MM-DD` at
/// 00:00:00Z.
pub fn parse_date(text: &str) -> Result<Timestamp, ConditionError> {
    let t = text.trim();
    if !t.is_empty()
        && t.trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        return t
            .parse::<i64>()
            .ok()
            .and_then(|s| Timestamp::from_second(s).ok())
            .ok_or_else(|| ConditionError::EpochOutOfRange {
                text: text.to_string(),
            });
    }
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts);
    }
    if let Ok(dt) = t.parse::<jiff::civil::DateTime>()
        && let Ok(z) = dt.to_zoned(jiff::tz::TimeZone::UTC)
    {
        return Ok(z.timestamp());
    }
    if let Ok(d) = t.parse::<jiff::civil::Date>()
        && let Ok(z) = d.to_zoned(jiff::tz::TimeZone::UTC)
    {
        return Ok(z.timestamp());
    }
    Err(ConditionError::NotADate {
        text: text.to_string(),
    })
}

/// Parse an IP range: CIDR (`203.0.113.0/24`, `2001:db8::/32`) or a bare address, which
/// means `/32` (IPv4) or `/128` (IPv6).
pub fn parse_ip_range(text: &str) -> Result<IpNet, ConditionError> {
    let t = text.trim();
    if let Ok(net) = t.parse::<IpNet>() {
        return Ok(net);
    }
    t.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| ConditionError::NotAnIpRange {
            text: text.to_string(),
        })
}

/// `true`/`false`, in any ASCII case.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A compiled policy value of a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string value (`String*` operators); wildcards only for `StringLike`.
    Text(Pattern),
    /// A number.
    Number(Number),
    /// A point in time.
    Date(Timestamp),
    /// `true`/`false`.
    Bool(bool),
    /// `Bool` with a policy variable, resolved per request.
    BoolVariable(Pattern),
    /// Decoded bytes of a base64 value.
    Binary(Vec<u8>),
    /// An IP range.
    Ip(IpNet),
    /// An ARN pattern.
    Arn(ArnPattern),
    /// `Null`'s `true` (key absent) or `false` (key present).
    Null(bool),
}

impl Operator {
    /// Compile one policy value for this operator. `variables` is true under
    /// `"Version": "2012-10-17"`.
    pub fn compile_value(&self, raw: &str, variables: bool) -> Result<Value, ConditionError> {
        let vars = variables && self.allows_variables();
        if variables && !vars && raw.contains("${") {
            return Err(ConditionError::VariablesNotAllowed {
                operator: self.to_string(),
                text: raw.to_string(),
            });
        }
        let syntax = Syntax {
            variables: vars,
            wildcards: self.comparison == Comparison::StringLike,
        };
        let not_bool = |what: &'static str| ConditionError::NotABool {
            text: raw.to_string(),
            what,
        };
        Ok(match self.comparison.family() {
            Family::String => Value::Text(Pattern::parse(raw, syntax, Case::Sensitive)?),
            Family::Numeric => Value::Number(Number::parse(raw)?),
            Family::Date => Value::Date(parse_date(raw)?),
            Family::Bool => {
                let p = Pattern::parse(raw, syntax, Case::Sensitive)?;
                if p.has_variables() {
                    Value::BoolVariable(p)
                } else {
                    Value::Bool(parse_bool(raw).ok_or_else(|| not_bool("Bool"))?)
                }
            }
            Family::Binary => Value::Binary(
                base64::engine::general_purpose::STANDARD
                    .decode(raw.trim())
                    .map_err(|e| ConditionError::NotBase64 {
                        text: raw.to_string(),
                        detail: e.to_string(),
                    })?,
            ),
            Family::Ip => Value::Ip(parse_ip_range(raw)?),
            Family::Arn => Value::Arn(ArnPattern::parse_with(
                raw,
                Syntax {
                    variables: vars,
                    wildcards: true,
                },
                ArnSyntax::Condition,
            )?),
            Family::Null => Value::Null(parse_bool(raw).ok_or_else(|| not_bool("Null"))?),
        })
    }
}

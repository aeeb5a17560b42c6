//! Condition operators and their evaluation (IAM User Guide, "IAM JSON policy elements:
//! Condition operators", "Conditions with multiple context keys or values" and
//! "Single-valued vs. multivalued context keys").
//!
//! Every operator family is here: `String*`, `Numeric*`, `Date*`, `Bool`, `BinaryEquals`,
//! `IpAddress`/`NotIpAddress`, `Arn*`, `Null`, with the `IfExists` suffix and the
//! `ForAnyValue:`/`ForAllValues:` set qualifiers. Policy values are parsed once, when the
//! policy is loaded: a value that does not fit its operator is a load error, never a
//! silent non-match. The rules, each with the doc section it follows, are listed in
//! `docs/semantics.md`.

use std::fmt;
use std::net::IpAddr;

use base64::Engine;
use ipnet::IpNet;
use jiff::Timestamp;

use crate::lang::arn::{ArnPattern, ArnSyntax};
use crate::lang::variables::{Piece, Syntax, VariableSource};
use crate::lang::wildcard::{Case, Match, Pattern};
use crate::request::Context;

/// The comparison an operator makes, in its positive form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// Exact, case-sensitive string equality.
    StringEquals,
    /// String equality ignoring case.
    StringEqualsIgnoreCase,
    /// Case-sensitive match with `*` and `?` wildcards.
    StringLike,
    /// Numeric `==`.
    NumericEquals,
    /// Numeric `<`.
    NumericLessThan,
    /// Numeric `<=`.
    NumericLessThanEquals,
    /// Numeric `>`.
    NumericGreaterThan,
    /// Numeric `>=`.
    NumericGreaterThanEquals,
    /// Date `==`.
    DateEquals,
    /// Date `<` (earlier).
    DateLessThan,
    /// Date `<=`.
    DateLessThanEquals,
    /// Date `>` (later).
    DateGreaterThan,
    /// Date `>=`.
    DateGreaterThanEquals,
    /// Boolean equality.
    Bool,
    /// Byte equality of base64-encoded values.
    BinaryEquals,
    /// Address inside a CIDR range.
    IpAddress,
    /// ARN match, component by component, with wildcards (`ArnEquals` and `ArnLike`
    /// behave identically).
    ArnLike,
    /// Presence test.
    Null,
}

/// `ForAnyValue:` / `ForAllValues:` or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    /// No qualifier.
    None,
    /// `ForAnyValue:`: at least one request value must satisfy the operator.
    ForAnyValue,
    /// `ForAllValues:`: every request value must satisfy the operator.
    ForAllValues,
}

/// A parsed condition operator such as `ForAnyValue:StringNotLikeIfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    /// The set qualifier.
    pub qualifier: SetQualifier,
    /// The positive comparison.
    pub comparison: Comparison,
    /// True for the negated forms (`StringNotEquals`, `NotIpAddress`, `ArnNotLike`, ...).
    pub negated: bool,
    /// True with the `IfExists` suffix.
    pub if_exists: bool,
    /// The canonical base name (`StringNotEquals`, `ArnEquals`, ...).
    base_name: &'static str,
}

/// Base operator names: (name, comparison, negated).
const OPERATORS: &[(&str, Comparison, bool)] = &[
    ("StringEquals", Comparison::StringEquals, false),
    ("StringNotEquals", Comparison::StringEquals, true),
    (
        "StringEqualsIgnoreCase",
        Comparison::StringEqualsIgnoreCase,
        false,
    ),
    (
        "StringNotEqualsIgnoreCase",
        Comparison::StringEqualsIgnoreCase,
        true,
    ),
    ("StringLike", Comparison::StringLike, false),
    ("StringNotLike", Comparison::StringLike, true),
    ("NumericEquals", Comparison::NumericEquals, false),
    ("NumericNotEquals", Comparison::NumericEquals, true),
    ("NumericLessThan", Comparison::NumericLessThan, false),
    (
        "NumericLessThanEquals",
        Comparison::NumericLessThanEquals,
        false,
    ),
    ("NumericGreaterThan", Comparison::NumericGreaterThan, false),
    (
        "NumericGreaterThanEquals",
        Comparison::NumericGreaterThanEquals,
        false,
    ),
    ("DateEquals", Comparison::DateEquals, false),
    ("DateNotEquals", Comparison::DateEquals, true),
    ("DateLessThan", Comparison::DateLessThan, false),
    ("DateLessThanEquals", Comparison::DateLessThanEquals, false),
    ("DateGreaterThan", Comparison::DateGreaterThan, false),
    (
        "DateGreaterThanEquals",
        Comparison::DateGreaterThanEquals,
        false,
    ),
    ("Bool", Comparison::Bool, false),
    ("BinaryEquals", Comparison::BinaryEquals, false),
    ("IpAddress", Comparison::IpAddress, false),
    ("NotIpAddress", Comparison::IpAddress, true),
    ("ArnEquals", Comparison::ArnLike, false),
    ("ArnLike", Comparison::ArnLike, false),
    ("ArnNotEquals", Comparison::ArnLike, true),
    ("ArnNotLike", Comparison::ArnLike, true),
    ("Null", Comparison::Null, false),
];

impl Operator {
    /// Parse an operator name. Names are matched ignoring ASCII case (see
    /// `docs/semantics.md`); an unknown name is an error with a suggestion when one is
    /// close.
    pub fn parse(text: &str) -> Result<Operator, String> {
        let lower = text.to_ascii_lowercase();
        let (qualifier, rest) = if let Some(r) = lower.strip_prefix("foranyvalue:") {
            (SetQualifier::ForAnyValue, r)
        } else if let Some(r) = lower.strip_prefix("forallvalues:") {
            (SetQualifier::ForAllValues, r)
        } else {
            (SetQualifier::None, lower.as_str())
        };
        let exact = OPERATORS
            .iter()
            .find(|(name, _, _)| name.eq_ignore_ascii_case(rest));
        let (found, if_exists) = match exact {
            Some(op) => (Some(op), false),
            None => match rest.strip_suffix("ifexists") {
                Some(base) => (
                    OPERATORS
                        .iter()
                        .find(|(name, _, _)| name.eq_ignore_ascii_case(base)),
                    true,
                ),
                None => (None, false),
            },
        };
        let Some(&(base_name, comparison, negated)) = found else {
            return Err(unknown_operator(text));
        };
        if comparison == Comparison::Null && if_exists {
            return Err(format!(
                "condition operator {text:?} is not valid: IfExists cannot be added to Null"
            ));
        }
        if comparison == Comparison::Null && qualifier != SetQualifier::None {
            return Err(format!(
                "condition operator {text:?} is not valid: Null takes no ForAnyValue/ForAllValues qualifier"
            ));
        }
        Ok(Operator {
            qualifier,
            comparison,
            negated,
            if_exists,
            base_name,
        })
    }

    /// True when values of this operator may contain policy variables (string, ARN and
    /// Bool operators).
    pub fn allows_variables(&self) -> bool {
        matches!(
            self.comparison,
            Comparison::StringEquals
                | Comparison::StringEqualsIgnoreCase
                | Comparison::StringLike
                | Comparison::ArnLike
                | Comparison::Bool
        )
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.qualifier {
            SetQualifier::None => {}
            SetQualifier::ForAnyValue => f.write_str("ForAnyValue:")?,
            SetQualifier::ForAllValues => f.write_str("ForAllValues:")?,
        }
        f.write_str(self.base_name)?;
        if self.if_exists {
            f.write_str("IfExists")?;
        }
        Ok(())
    }
}

fn unknown_operator(text: &str) -> String {
    let base = text
        .strip_prefix("ForAnyValue:")
        .or_else(|| text.strip_prefix("ForAllValues:"))
        .unwrap_or(text);
    let best = OPERATORS
        .iter()
        .flat_map(|(name, _, _)| [name.to_string(), format!("{name}IfExists")])
        .map(|candidate| (strsim::levenshtein(base, &candidate), candidate))
        .min();
    match best {
        Some((distance, name)) if distance <= 3 => {
            format!("unknown condition operator {text:?} (did you mean {name:?}?)")
        }
        _ => format!("unknown condition operator {text:?}"),
    }
}

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
    pub fn parse(text: &'a str) -> Result<Decimal<'a>, String> {
        let t = text.trim();
        let (negative, digits) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
            return Err(format!("{text:?} is not a number (an integer or decimal)"));
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
    pub fn parse(text: &str) -> Result<Number, String> {
        let d = Decimal::parse(text)?;
        Ok(Number {
            negative: d.negative,
            int: d.int.into(),
            frac: d.frac.into(),
        })
    }

    fn as_decimal(&self) -> Decimal<'_> {
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
pub fn parse_date(text: &str) -> Result<Timestamp, String> {
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
            .ok_or_else(|| format!("{text:?} is out of range for epoch seconds"));
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
    Err(format!(
        "{text:?} is not a date (ISO 8601 such as 2020-01-01T00:00:00Z, or epoch seconds)"
    ))
}

/// Parse an IP range: CIDR (`203.0.113.0/24`, `2001:db8::/32`) or a bare address, which
/// means `/32` (IPv4) or `/128` (IPv6).
pub fn parse_ip_range(text: &str) -> Result<IpNet, String> {
    let t = text.trim();
    if let Ok(net) = t.parse::<IpNet>() {
        return Ok(net);
    }
    t.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("{text:?} is not an IP address or CIDR range"))
}

fn parse_bool(text: &str) -> Option<bool> {
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
    pub fn compile_value(&self, raw: &str, variables: bool) -> Result<Value, String> {
        let vars = variables && self.allows_variables();
        if variables && !vars && raw.contains("${") {
            return Err(format!(
                "{self} does not accept policy variables (only string, ARN and Bool operators do): {raw:?}"
            ));
        }
        let syntax = Syntax {
            variables: vars,
            wildcards: self.comparison == Comparison::StringLike,
        };
        Ok(match self.comparison {
            Comparison::StringEquals
            | Comparison::StringEqualsIgnoreCase
            | Comparison::StringLike => Value::Text(Pattern::parse(raw, syntax, Case::Sensitive)?),
            Comparison::NumericEquals
            | Comparison::NumericLessThan
            | Comparison::NumericLessThanEquals
            | Comparison::NumericGreaterThan
            | Comparison::NumericGreaterThanEquals => Value::Number(Number::parse(raw)?),
            Comparison::DateEquals
            | Comparison::DateLessThan
            | Comparison::DateLessThanEquals
            | Comparison::DateGreaterThan
            | Comparison::DateGreaterThanEquals => Value::Date(parse_date(raw)?),
            Comparison::Bool => {
                let p = Pattern::parse(raw, syntax, Case::Sensitive)?;
                if p.has_variables() {
                    Value::BoolVariable(p)
                } else {
                    Value::Bool(parse_bool(raw).ok_or_else(|| {
                        format!("{raw:?} is not a Bool value (expected true or false)")
                    })?)
                }
            }
            Comparison::BinaryEquals => Value::Binary(
                base64::engine::general_purpose::STANDARD
                    .decode(raw.trim())
                    .map_err(|e| format!("{raw:?} is not base64: {e}"))?,
            ),
            Comparison::IpAddress => Value::Ip(parse_ip_range(raw)?),
            Comparison::ArnLike => Value::Arn(ArnPattern::parse_with(
                raw,
                Syntax {
                    variables: vars,
                    wildcards: true,
                },
                ArnSyntax::Condition,
            )?),
            Comparison::Null => {
                Value::Null(parse_bool(raw).ok_or_else(|| {
                    format!("{raw:?} is not a Null value (expected true or false)")
                })?)
            }
        })
    }
}

/// One `operator: { key: values }` entry of a `Condition` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The operator.
    pub operator: Operator,
    /// The condition key as written.
    pub key: String,
    /// The condition key in lowercase, for lookups.
    pub key_lower: String,
    /// The policy values (ORed; NORed for negated operators).
    pub values: Vec<Value>,
    /// The policy values as written, for explanations.
    pub raw_values: Vec<String>,
}

/// Why a request value could not be compared: the request is malformed for this operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError(pub String);

impl Condition {
    /// Does the condition hold for `context`?
    ///
    /// Errors when a request value does not fit the operator's type (e.g. `aws:SourceIp`
    /// that is not an address): the simulator fails closed instead of guessing.
    pub fn evaluate(&self, context: &Context) -> Result<bool, ValueError> {
        let request = context.get(&self.key_lower);
        if self.operator.comparison == Comparison::Null {
            let absent = request.is_none();
            return Ok(self
                .values
                .iter()
                .any(|v| matches!(v, Value::Null(b) if *b == absent)));
        }
        let Some(request) = request else {
            if self.operator.if_exists {
                return Ok(true);
            }
            return Ok(match self.operator.qualifier {
                SetQualifier::ForAllValues => true,
                SetQualifier::ForAnyValue => false,
                // A missing key makes positive operators false and negated ones true.
                SetQualifier::None => self.operator.negated,
            });
        };
        let satisfies = |value: &str| -> Result<bool, ValueError> {
            Ok(self.any_policy_value_matches(value, context)? != self.operator.negated)
        };
        match self.operator.qualifier {
            SetQualifier::ForAnyValue | SetQualifier::ForAllValues
                if request.len() == 1 && request[0].is_empty() =>
            {
                // A null data set (an empty string).
                Ok(self.operator.qualifier == SetQualifier::ForAllValues)
            }
            SetQualifier::ForAnyValue => any(request, satisfies),
            SetQualifier::ForAllValues => all(request, satisfies),
            SetQualifier::None => match request {
                [one] => satisfies(one),
                // AWS: "Multivalued context keys require a condition set operator"; what
                // a plain operator does with several values is not documented, so it is
                // an error rather than a guess.
                _ => Err(ValueError(format!(
                    "{} has {} values in the request, and {} without ForAnyValue:/ForAllValues: is not defined for a multivalued key",
                    self.key,
                    request.len(),
                    self.operator
                ))),
            },
        }
    }

    /// Is `value` matched (in the positive sense) by at least one policy value?
    fn any_policy_value_matches(&self, value: &str, vars: &Context) -> Result<bool, ValueError> {
        let err = |msg: String| {
            ValueError(format!(
                "request value {value:?} for {} {msg} (required by {})",
                self.key, self.operator
            ))
        };
        let c = self.operator.comparison;
        match c {
            Comparison::StringEquals => Ok(self.values.iter().any(|v| match v {
                Value::Text(p) => p.matches(value, vars) == Match::Yes,
                _ => false,
            })),
            Comparison::StringLike => Ok(self.values.iter().any(|v| match v {
                Value::Text(p) => p.matches(value, vars) == Match::Yes,
                _ => false,
            })),
            Comparison::StringEqualsIgnoreCase => Ok(self.values.iter().any(|v| match v {
                Value::Text(p) => equals_ignore_case(p, value, vars),
                _ => false,
            })),
            Comparison::NumericEquals
            | Comparison::NumericLessThan
            | Comparison::NumericLessThanEquals
            | Comparison::NumericGreaterThan
            | Comparison::NumericGreaterThanEquals => {
                let n = Decimal::parse(value).map_err(|_| err("is not a number".into()))?;
                Ok(self.values.iter().any(|v| match v {
                    Value::Number(p) => ordering_holds(c, Some(n.compare(&p.as_decimal()))),
                    _ => false,
                }))
            }
            Comparison::DateEquals
            | Comparison::DateLessThan
            | Comparison::DateLessThanEquals
            | Comparison::DateGreaterThan
            | Comparison::DateGreaterThanEquals => {
                let d = parse_date(value).map_err(|_| err("is not a date".into()))?;
                Ok(self.values.iter().any(|v| match v {
                    Value::Date(p) => ordering_holds(c, Some(d.cmp(p))),
                    _ => false,
                }))
            }
            Comparison::Bool => {
                let b = parse_bool(value).ok_or_else(|| err("is not true or false".into()))?;
                Ok(self.values.iter().any(|v| match v {
                    Value::Bool(p) => *p == b,
                    Value::BoolVariable(p) => {
                        let resolved = p.render(vars);
                        !p.pieces().iter().any(|piece| {
                            matches!(piece, Piece::Variable(var)
                                if crate::lang::variables::resolve(var, vars).is_none())
                        }) && parse_bool(&resolved) == Some(b)
                    }
                    _ => false,
                }))
            }
            Comparison::BinaryEquals => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(value.trim())
                    .map_err(|_| err("is not base64".into()))?;
                Ok(self
                    .values
                    .iter()
                    .any(|v| matches!(v, Value::Binary(p) if *p == bytes)))
            }
            Comparison::IpAddress => {
                let ip: IpAddr = value
                    .trim()
                    .parse()
                    .map_err(|_| err("is not an IP address".into()))?;
                Ok(self
                    .values
                    .iter()
                    .any(|v| matches!(v, Value::Ip(net) if net.contains(&ip))))
            }
            Comparison::ArnLike => {
                if crate::lang::arn::split_concrete(value).is_none() {
                    return Err(err("is not an ARN".into()));
                }
                Ok(self.values.iter().any(|v| match v {
                    Value::Arn(p) => p.matches(value, vars) == Match::Yes,
                    _ => false,
                }))
            }
            Comparison::Null => unreachable!("Null is decided before values are compared"),
        }
    }

    /// A one-line reason why the condition does not hold, for explanations.
    pub fn describe_failure(&self, context: &Context) -> String {
        let policy: Vec<String> = self
            .values
            .iter()
            .zip(&self.raw_values)
            .map(|(v, raw)| match v {
                Value::Text(p) | Value::BoolVariable(p) => p.render(context),
                Value::Arn(p) => p.render(context),
                _ => raw.clone(),
            })
            .collect();
        match context.get(&self.key_lower) {
            None => format!(
                "{} {}: the request has no value for {} (policy values {:?})",
                self.operator, self.key, self.key, policy
            ),
            Some(request) => format!(
                "{} {}: request value(s) {:?} do not satisfy policy value(s) {:?}",
                self.operator, self.key, request, policy
            ),
        }
    }
}

fn any(
    values: &[String],
    mut f: impl FnMut(&str) -> Result<bool, ValueError>,
) -> Result<bool, ValueError> {
    for v in values {
        if f(v)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn all(
    values: &[String],
    mut f: impl FnMut(&str) -> Result<bool, ValueError>,
) -> Result<bool, ValueError> {
    for v in values {
        if !f(v)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `request <op> policy` for the ordering comparisons.
fn ordering_holds(c: Comparison, ord: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    let Some(ord) = ord else { return false };
    match c {
        Comparison::NumericEquals | Comparison::DateEquals => ord == Equal,
        Comparison::NumericLessThan | Comparison::DateLessThan => ord == Less,
        Comparison::NumericLessThanEquals | Comparison::DateLessThanEquals => ord != Greater,
        Comparison::NumericGreaterThan | Comparison::DateGreaterThan => ord == Greater,
        Comparison::NumericGreaterThanEquals | Comparison::DateGreaterThanEquals => ord != Less,
        _ => false,
    }
}

/// Unicode case-insensitive equality of a (variable-bearing) policy value and `text`,
/// without allocating. An unresolved variable never matches.
fn equals_ignore_case(p: &Pattern, text: &str, vars: &dyn VariableSource) -> bool {
    let resolvable = p.pieces().iter().all(|piece| match piece {
        Piece::Literal(_) => true,
        Piece::Variable(v) => crate::lang::variables::resolve(v, vars).is_some(),
        // No wildcards in StringEqualsIgnoreCase values.
        Piece::Star | Piece::AnyChar => false,
    });
    resolvable
        && p.pieces()
            .iter()
            .flat_map(|piece| match piece {
                Piece::Literal(l) => l.chars(),
                Piece::Variable(v) => crate::lang::variables::resolve(v, vars)
                    .unwrap_or("")
                    .chars(),
                Piece::Star | Piece::AnyChar => "".chars(),
            })
            .flat_map(char::to_lowercase)
            .eq(text.chars().flat_map(char::to_lowercase))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(op: &str, key: &str, values: &[&str]) -> Condition {
        let operator = Operator::parse(op).unwrap();
        Condition {
            operator,
            key: key.into(),
            key_lower: key.to_ascii_lowercase(),
            values: values
                .iter()
                .map(|v| operator.compile_value(v, true).unwrap())
                .collect(),
            raw_values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn ctx(pairs: &[(&str, &str)]) -> Context {
        let mut c = Context::new();
        for (k, v) in pairs {
            c.add(k, *v);
        }
        c
    }

    #[test]
    fn operator_names() {
        let op = Operator::parse("ForAnyValue:StringNotLikeIfExists").unwrap();
        assert_eq!(op.qualifier, SetQualifier::ForAnyValue);
        assert_eq!(op.comparison, Comparison::StringLike);
        assert!(op.negated && op.if_exists);
        assert_eq!(op.to_string(), "ForAnyValue:StringNotLikeIfExists");
        assert_eq!(
            Operator::parse("stringequals").unwrap().to_string(),
            "StringEquals"
        );
        assert_eq!(
            Operator::parse("StringEqual").unwrap_err(),
            "unknown condition operator \"StringEqual\" (did you mean \"StringEquals\"?)"
        );
        assert_eq!(
            Operator::parse("NullIfExists").unwrap_err(),
            "condition operator \"NullIfExists\" is not valid: IfExists cannot be added to Null"
        );
    }

    #[test]
    fn missing_key_rules() {
        let c = ctx(&[]);
        assert!(!cond("StringEquals", "k", &["a"]).evaluate(&c).unwrap());
        assert!(cond("StringNotEquals", "k", &["a"]).evaluate(&c).unwrap());
        assert!(
            cond("StringEqualsIfExists", "k", &["a"])
                .evaluate(&c)
                .unwrap()
        );
        assert!(
            cond("ForAllValues:StringEquals", "k", &["a"])
                .evaluate(&c)
                .unwrap()
        );
        assert!(
            !cond("ForAnyValue:StringEquals", "k", &["a"])
                .evaluate(&c)
                .unwrap()
        );
        assert!(cond("Null", "k", &["true"]).evaluate(&c).unwrap());
        assert!(!cond("Null", "k", &["false"]).evaluate(&c).unwrap());
    }

    #[test]
    fn negated_operators_are_nor() {
        let c = ctx(&[("k", "b")]);
        assert!(
            !cond("StringNotEquals", "k", &["a", "b"])
                .evaluate(&c)
                .unwrap()
        );
        assert!(
            cond("StringNotEquals", "k", &["a", "c"])
                .evaluate(&c)
                .unwrap()
        );
    }

    #[test]
    fn typed_request_values_must_parse() {
        let c = ctx(&[("aws:SourceIp", "nonsense")]);
        let e = cond("IpAddress", "aws:SourceIp", &["10.0.0.0/8"])
            .evaluate(&c)
            .unwrap_err();
        assert_eq!(
            e.0,
            "request value \"nonsense\" for aws:SourceIp is not an IP address (required by IpAddress)"
        );
    }

    #[test]
    fn numbers_and_dates() {
        use std::cmp::Ordering::*;
        let cmp = |a: &str, b: &str| {
            Decimal::parse(a)
                .unwrap()
                .compare(&Decimal::parse(b).unwrap())
        };
        assert_eq!(cmp("10", "010.000"), Equal);
        assert_eq!(cmp("-0", "+0.0"), Equal);
        assert_eq!(cmp("2.5", "2.49999999999999999999"), Greater);
        assert_eq!(cmp("18446744073709551615", "18446744073709551614"), Greater);
        assert_eq!(cmp("9007199254740993", "9007199254740992.0"), Greater);
        assert_eq!(cmp("-3", "-2.5"), Less);
        assert_eq!(cmp("-3", "2"), Less);
        assert_eq!(cmp(".5", "0.50"), Equal);
        for bad in ["NaN", "inf", "1e3", "", "-", ".", "1.2.3", "0x10", "1 0"] {
            assert!(Decimal::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_date("0").unwrap(), Timestamp::UNIX_EPOCH);
        assert_eq!(
            parse_date("2020-01-01").unwrap(),
            parse_date("2020-01-01T00:00:00Z").unwrap()
        );
        assert_eq!(
            parse_date("2020-01-01T02:00:00+02:00").unwrap(),
            parse_date("1577836800").unwrap()
        );
        assert!(parse_date("yesterday").is_err());
    }

    #[test]
    fn ip_ranges() {
        assert_eq!(
            parse_ip_range("10.0.0.1").unwrap().to_string(),
            "10.0.0.1/32"
        );
        assert_eq!(parse_ip_range("2001:db8::1").unwrap().prefix_len(), 128);
        assert!(parse_ip_range("10.0.0.0/33").is_err());
    }

    #[test]
    fn variables_rejected_for_typed_operators() {
        let op = Operator::parse("NumericLessThan").unwrap();
        assert_eq!(
            op.compile_value("${aws:x}", true).unwrap_err(),
            "NumericLessThan does not accept policy variables (only string, ARN and Bool operators do): \"${aws:x}\""
        );
    }
}

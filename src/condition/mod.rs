//! Condition evaluation (IAM User Guide, "IAM JSON policy elements: Condition operators",
//! "Conditions with multiple context keys or values" and "Single-valued vs. multivalued
//! context keys"): how a compiled [`Condition`] (the policy language's model, in
//! [`crate::lang::condition`]) holds for a request's values.
//!
//! Every operator family is decided here: `String*`, `Numeric*`, `Date*`, `Bool`,
//! `BinaryEquals`, `IpAddress`/`NotIpAddress`, `Arn*`, `Null`, with the `IfExists` suffix
//! and the `ForAnyValue:`/`ForAllValues:` set qualifiers. A request value that does not fit
//! its operator is an error, never a silent non-match. The rules, each with the doc section
//! it follows, are listed in `docs/semantics.md`.

use std::net::IpAddr;

use base64::Engine;

use crate::lang::condition::{
    Comparison, Condition, Decimal, Family, SetQualifier, Value, parse_bool, parse_date,
};
use crate::lang::variables::{Piece, VariableSource};
use crate::lang::wildcard::{Match, Pattern};

/// Why a request value could not be compared: the request is malformed for this operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum ValueError {
    /// A request value that is not of the operator's type.
    #[error(
        "request value {:?} for {} {problem} (required by {operator})",
        crate::loc::Shown(value),
        crate::loc::Shown(key)
    )]
    #[diagnostic(code(policy_sim::request::value_type))]
    WrongType {
        /// The request value.
        value: String,
        /// The condition key as the policy writes it.
        key: String,
        /// What the value is not (`is not a number`).
        problem: &'static str,
        /// The operator.
        operator: String,
    },
    /// Several values for a plain (set-less) operator.
    #[error(
        "{} has {count} values in the request, and {operator} without ForAnyValue:/ForAllValues: is not defined for a multivalued key",
        crate::loc::Shown(key)
    )]
    #[diagnostic(code(policy_sim::request::multivalued))]
    Multivalued {
        /// The condition key as the policy writes it.
        key: String,
        /// How many values the request has.
        count: usize,
        /// The operator.
        operator: String,
    },
    /// A set operator would compare more value pairs than [`MAX_COMPARISONS`]: every
    /// request value against every policy value is quadratic, and no AWS request comes
    /// near it (see `docs/semantics.md`).
    #[error(
        "{} has {request} values in the request and {policy} in the policy under {operator}: \
         over the limit of {max} comparisons for one condition",
        crate::loc::Shown(key),
        max = MAX_COMPARISONS
    )]
    #[diagnostic(code(policy_sim::request::too_many_values))]
    TooManyComparisons {
        /// The condition key as the policy writes it.
        key: String,
        /// How many values the request has.
        request: usize,
        /// How many values the policy has.
        policy: usize,
        /// The operator.
        operator: String,
    },
}

/// The most request-value × policy-value pairs one condition may compare. AWS caps both
/// sides far below (a policy document is at most a few kilobytes to 32 KB, a request has
/// at most 50 tags), so only a constructed input reaches it.
pub const MAX_COMPARISONS: usize = 1 << 20;

/// Where a condition reads request values from: the request context. Implemented by
/// [`crate::request::Context`]; defined here so that conditions do not depend on how
/// requests are stored.
pub trait RequestValues: VariableSource {
    /// The values of a condition key (`key_lower` in lowercase); `None` when absent or
    /// given with no value.
    fn values(&self, key_lower: &str) -> Option<&[String]>;

    /// [`RequestValues::values`] of a known key: the same answer, which a source may find
    /// faster.
    fn known_values(&self, key: crate::lang::keys::KnownKey) -> Option<&[String]> {
        self.values(key.name())
    }
}

impl Condition {
    /// Does the condition hold for `context`?
    ///
    /// Errors when a request value does not fit the operator's type (e.g. `aws:SourceIp`
    /// that is not an address): the simulator fails closed instead of guessing.
    pub fn evaluate<C: RequestValues>(&self, context: &C) -> Result<bool, ValueError> {
        let request = match self.key_known {
            Some(key) => context.known_values(key),
            None => context.values(&self.key_lower),
        };
        // The common case first: a plain operator and one request value (the general
        // path below gives the same answer).
        if let (SetQualifier::None, Some([one])) = (self.operator.qualifier, request)
            && self.operator.comparison != Comparison::Null
            && self.values.len() <= MAX_COMPARISONS
        {
            return Ok(self.any_policy_value_matches(one, context)? != self.operator.negated);
        }
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
        if request.len().saturating_mul(self.values.len()) > MAX_COMPARISONS {
            return Err(ValueError::TooManyComparisons {
                key: self.key.clone(),
                request: request.len(),
                policy: self.values.len(),
                operator: self.operator.to_string(),
            });
        }
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
                _ => Err(ValueError::Multivalued {
                    key: self.key.clone(),
                    count: request.len(),
                    operator: self.operator.to_string(),
                }),
            },
        }
    }

    /// Is `value` matched (in the positive sense) by at least one policy value?
    fn any_policy_value_matches<C: RequestValues>(
        &self,
        value: &str,
        vars: &C,
    ) -> Result<bool, ValueError> {
        let err = |problem: &'static str| ValueError::WrongType {
            value: value.to_string(),
            key: self.key.clone(),
            problem,
            operator: self.operator.to_string(),
        };
        let c = self.operator.comparison;
        // Generic, not `dyn`: each comparison is inlined into the loop over policy values.
        #[inline(always)]
        fn any_value(values: &[Value], f: impl Fn(&Value) -> bool) -> bool {
            values.iter().any(f)
        }
        Ok(match c.family() {
            Family::String => {
                // StringEquals values are parsed without wildcards, StringLike values with
                // them: the same match serves both.
                let ignore_case = c == Comparison::StringEqualsIgnoreCase;
                any_value(&self.values, |v| match v {
                    Value::Text(p) if ignore_case => equals_ignore_case(p, value, vars),
                    Value::Text(p) => p.matches(value, vars) == Match::Yes,
                    _ => false,
                })
            }
            Family::Numeric => {
                let n = Decimal::parse(value).map_err(|_| err("is not a number"))?;
                any_value(&self.values, |v| {
                    matches!(v, Value::Number(p)
                        if c.ordering_holds(n.compare(&p.as_decimal())) == Some(true))
                })
            }
            Family::Date => {
                let d = parse_date(value).map_err(|_| err("is not a date"))?;
                any_value(
                    &self.values,
                    |v| matches!(v, Value::Date(p) if c.ordering_holds(d.cmp(p)) == Some(true)),
                )
            }
            Family::Bool => {
                let b = parse_bool(value).ok_or_else(|| err("is not true or false"))?;
                any_value(&self.values, |v| match v {
                    Value::Bool(p) => *p == b,
                    Value::BoolVariable(p) => {
                        p.resolves(vars) && parse_bool(&p.render(vars)) == Some(b)
                    }
                    _ => false,
                })
            }
            Family::Binary => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(value.trim())
                    .map_err(|_| err("is not base64"))?;
                any_value(
                    &self.values,
                    |v| matches!(v, Value::Binary(p) if *p == bytes),
                )
            }
            Family::Ip => {
                let ip: IpAddr = value
                    .trim()
                    .parse()
                    .map_err(|_| err("is not an IP address"))?;
                any_value(
                    &self.values,
                    |v| matches!(v, Value::Ip(net) if net.contains(&ip)),
                )
            }
            Family::Arn => {
                if crate::lang::arn::split_concrete(value).is_none() {
                    return Err(err("is not an ARN"));
                }
                any_value(
                    &self.values,
                    |v| matches!(v, Value::Arn(p) if p.matches(value, vars) == Match::Yes),
                )
            }
            // Null is decided on presence before any value is compared.
            Family::Null => false,
        })
    }

    /// A one-line reason why the condition does not hold, for explanations.
    pub fn describe_failure<C: RequestValues>(&self, context: &C) -> String {
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
        match context.values(&self.key_lower) {
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
    use crate::lang::condition::{Operator, parse_ip_range};
    use crate::request::Context;
    use jiff::Timestamp;

    fn cond(op: &str, key: &str, values: &[&str]) -> Condition {
        let operator = Operator::parse(op).unwrap();
        Condition {
            operator,
            key: key.into(),
            key_lower: key.to_ascii_lowercase(),
            key_known: crate::lang::keys::KnownKey::of(&key.to_ascii_lowercase()),
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
            Operator::parse("StringEqual").unwrap_err().to_string(),
            "unknown condition operator \"StringEqual\" (did you mean \"StringEquals\"?)"
        );
        assert_eq!(
            Operator::parse("NullIfExists").unwrap_err().to_string(),
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
            e.to_string(),
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
            op.compile_value("${aws:x}", true).unwrap_err().to_string(),
            "NumericLessThan does not accept policy variables (only string, ARN and Bool operators do): \"${aws:x}\""
        );
    }

    /// A set operator over very many request and policy values is refused (exit 2), not
    /// compared pair by pair for minutes; just under the limit it is decided.
    #[test]
    fn too_many_value_pairs_are_refused() {
        let policy: Vec<String> = (0..1024).map(|i| format!("t{i}*x")).collect();
        let policy: Vec<&str> = policy.iter().map(String::as_str).collect();
        let c = cond("ForAnyValue:StringLike", "aws:TagKeys", &policy);
        let mut request = Context::new();
        for i in 0..1024 {
            request.add("aws:TagKeys", format!("u{i}"));
        }
        assert_eq!(c.evaluate(&request), Ok(false));
        request.add("aws:TagKeys", "t5yx");
        assert_eq!(
            c.evaluate(&request).unwrap_err().to_string(),
            "aws:TagKeys has 1025 values in the request and 1024 in the policy under \
             ForAnyValue:StringLike: over the limit of 1048576 comparisons for one condition"
        );
    }
}

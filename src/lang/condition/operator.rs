//! Condition operator names: the comparison, the set qualifier, negation and `IfExists`.

use std::fmt;

use super::ConditionError;

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

/// The type of value an operator compares: decides how policy and request values are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `String*`: text.
    String,
    /// `Numeric*`: exact decimals.
    Numeric,
    /// `Date*`: points in time.
    Date,
    /// `Bool`.
    Bool,
    /// `BinaryEquals`: base64 bytes.
    Binary,
    /// `IpAddress`/`NotIpAddress`.
    Ip,
    /// `Arn*`.
    Arn,
    /// `Null`: presence.
    Null,
}

impl Comparison {
    /// The family of values the comparison reads.
    pub fn family(self) -> Family {
        match self {
            Comparison::StringEquals
            | Comparison::StringEqualsIgnoreCase
            | Comparison::StringLike => Family::String,
            Comparison::NumericEquals
            | Comparison::NumericLessThan
            | Comparison::NumericLessThanEquals
            | Comparison::NumericGreaterThan
            | Comparison::NumericGreaterThanEquals => Family::Numeric,
            Comparison::DateEquals
            | Comparison::DateLessThan
            | Comparison::DateLessThanEquals
            | Comparison::DateGreaterThan
            | Comparison::DateGreaterThanEquals => Family::Date,
            Comparison::Bool => Family::Bool,
            Comparison::BinaryEquals => Family::Binary,
            Comparison::IpAddress => Family::Ip,
            Comparison::ArnLike => Family::Arn,
            Comparison::Null => Family::Null,
        }
    }

    /// For the ordering comparisons (`Numeric*`, `Date*`): does `request <op> policy`
    /// hold, given how the request value compares with the policy value? `None` for the
    /// comparisons that do not order.
    pub fn ordering_holds(self, ord: std::cmp::Ordering) -> Option<bool> {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match self {
            Comparison::NumericEquals | Comparison::DateEquals => Some(ord == Equal),
            Comparison::NumericLessThan | Comparison::DateLessThan => Some(ord == Less),
            Comparison::NumericLessThanEquals | Comparison::DateLessThanEquals => {
                Some(ord != Greater)
            }
            Comparison::NumericGreaterThan | Comparison::DateGreaterThan => Some(ord == Greater),
            Comparison::NumericGreaterThanEquals | Comparison::DateGreaterThanEquals => {
                Some(ord != Less)
            }
            Comparison::StringEquals
            | Comparison::StringEqualsIgnoreCase
            | Comparison::StringLike
            | Comparison::Bool
            | Comparison::BinaryEquals
            | Comparison::IpAddress
            | Comparison::ArnLike
            | Comparison::Null => None,
        }
    }
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
    pub fn parse(text: &str) -> Result<Operator, ConditionError> {
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
            return Err(ConditionError::InvalidOperator {
                operator: text.to_string(),
                problem: "IfExists cannot be added to Null",
            });
        }
        if comparison == Comparison::Null && qualifier != SetQualifier::None {
            return Err(ConditionError::InvalidOperator {
                operator: text.to_string(),
                problem: "Null takes no ForAnyValue/ForAllValues qualifier",
            });
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
        match self.comparison.family() {
            Family::String | Family::Arn | Family::Bool => true,
            Family::Numeric | Family::Date | Family::Binary | Family::Ip | Family::Null => false,
        }
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

fn unknown_operator(text: &str) -> ConditionError {
    let base = text
        .strip_prefix("ForAnyValue:")
        .or_else(|| text.strip_prefix("ForAllValues:"))
        .unwrap_or(text);
    let best = OPERATORS
        .iter()
        .flat_map(|(name, _, _)| [name.to_string(), format!("{name}IfExists")])
        .map(|candidate| (strsim::levenshtein(base, &candidate), candidate))
        .min();
    ConditionError::UnknownOperator {
        operator: text.to_string(),
        suggestion: match best {
            Some((distance, name)) if distance <= 3 => Some(name),
            _ => None,
        },
    }
}

//! The condition model of the policy language: operators (name, comparison, set
//! qualifier, negation, `IfExists`) and policy values compiled for their operator (exact
//! decimals, dates, IP ranges, booleans, binary, string and ARN patterns), each parsed once
//! when the policy is loaded. Evaluating them against a request is [`crate::condition`].

mod operator;
mod value;

pub use operator::{Comparison, Family, Operator, SetQualifier};
pub(crate) use value::parse_bool;
pub use value::{Decimal, Number, Value, parse_date, parse_ip_range};

use crate::lang::arn::ArnError;
use crate::lang::variables::VariableError;

/// One `operator: { key: values }` entry of a `Condition` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The operator.
    pub operator: Operator,
    /// The condition key as written.
    pub key: String,
    /// The condition key in lowercase, for lookups.
    pub key_lower: String,
    /// `key_lower` among the keys a context answers without a search.
    pub key_known: Option<crate::lang::keys::KnownKey>,
    /// The policy values (ORed; NORed for negated operators).
    pub values: Vec<Value>,
    /// The policy values as written, for explanations.
    pub raw_values: Vec<String>,
}

/// A condition that cannot be compiled: an unknown or invalid operator, or a policy value
/// that does not fit its operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum ConditionError {
    /// An operator name no AWS operator has.
    #[error("unknown condition operator {:?}{}", crate::loc::Shown(operator), suggestion.as_ref().map(|s| format!(" (did you mean {s:?}?)")).unwrap_or_default())]
    #[diagnostic(code(policy_sim::condition::unknown_operator))]
    UnknownOperator {
        /// The name as written.
        operator: String,
        /// The closest operator name, when one is close.
        suggestion: Option<String>,
    },
    /// A combination AWS does not define (`NullIfExists`, `ForAnyValue:Null`).
    #[error(
        "condition operator {:?} is not valid: {problem}",
        crate::loc::Shown(operator)
    )]
    #[diagnostic(code(policy_sim::condition::invalid_operator))]
    InvalidOperator {
        /// The name as written.
        operator: String,
        /// Why it is not valid.
        problem: &'static str,
    },
    /// A `${...}` in a value of an operator that takes none.
    #[error(
        "{operator} does not accept policy variables (only string, ARN and Bool operators do): {:?}",
        crate::loc::Shown(text)
    )]
    #[diagnostic(code(policy_sim::condition::variables))]
    VariablesNotAllowed {
        /// The operator.
        operator: String,
        /// The value as written.
        text: String,
    },
    /// Not an integer or decimal.
    #[error(
        "{:?} is not a number (an integer or decimal)",
        crate::loc::Shown(text)
    )]
    #[diagnostic(code(policy_sim::condition::number))]
    NotANumber {
        /// The value as written.
        text: String,
    },
    /// Epoch seconds beyond the representable range.
    #[error("{:?} is out of range for epoch seconds", crate::loc::Shown(text))]
    #[diagnostic(code(policy_sim::condition::epoch))]
    EpochOutOfRange {
        /// The value as written.
        text: String,
    },
    /// Not a date.
    #[error(
        "{:?} is not a date (ISO 8601 such as 2020-01-01T00:00:00Z, or epoch seconds)",
        crate::loc::Shown(text)
    )]
    #[diagnostic(code(policy_sim::condition::date))]
    NotADate {
        /// The value as written.
        text: String,
    },
    /// Not an address or CIDR range.
    #[error("{:?} is not an IP address or CIDR range", crate::loc::Shown(text))]
    #[diagnostic(code(policy_sim::condition::ip))]
    NotAnIpRange {
        /// The value as written.
        text: String,
    },
    /// Not `true`/`false` (for `Bool` or `Null`).
    #[error(
        "{:?} is not a {what} value (expected true or false)",
        crate::loc::Shown(text)
    )]
    #[diagnostic(code(policy_sim::condition::bool))]
    NotABool {
        /// The value as written.
        text: String,
        /// `Bool` or `Null`.
        what: &'static str,
    },
    /// Not base64.
    #[error("{:?} is not base64: {detail}", crate::loc::Shown(text))]
    #[diagnostic(code(policy_sim::condition::base64))]
    NotBase64 {
        /// The value as written.
        text: String,
        /// The decoder's reason.
        detail: String,
    },
    /// A malformed `${...}`.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Variable(#[from] VariableError),
    /// A malformed ARN pattern (`Arn*` operators).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Arn(#[from] ArnError),
}

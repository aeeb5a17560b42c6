//! Deciding a batch of requests held as columns of text, one request per row, without
//! writing a JSON line per row: for callers that already hold requests column by column
//! (an audit engine reading recorded traffic into Arrow string arrays). This module knows
//! nothing of Arrow: a column is anything that implements [`TextColumn`], which a wrapper
//! around an Arrow `StringArray` implements without copying.
//!
//! # One meaning: the request line
//!
//! A row means exactly what its *equivalent request line* ([`crate::request::lines`])
//! means: the line with `identity`, `principal`, `action` and `resource` set to the row's
//! cells (a null cell: the field absent) and `context` holding the context cell's keys
//! followed by the key columns' keys (a null cell: the key absent). [`ColumnDecider`] gives
//! each row the decision, the deciding policy type and the statements `check --requests`
//! ([`crate::report::batch::run_authorized`]) gives that line, or the same error, word for
//! word. The one difference is where an error points: a message about the context cell
//! counts its line and column within the cell, and the errors the line reader gives with a
//! position in the line (a missing `action`, a key twice) are given without one. Every rule
//! has one home, shared with the lines: the context cell is read by
//! [`crate::request::lines::parse_context_into`], the identity by
//! [`Request::set_identity`], the principal by [`Caller::parse`], the time keys by
//! [`crate::request::Context::fill_time_defaults`], and the decision by
//! [`Policies::prepare`] and [`Policies::authorize_into`] (or
//! [`PolicySet::evaluate_into`](crate::eval::PolicySet::evaluate_into) for a row without a
//! principal when only identity-based policies are given, as the lines are decided). A
//! property test holds the two paths to the same answers on generated rows.
//!
//! Fail closed: a row that cannot be read or decided is a [`RowResult::Failed`] with the
//! reason, never a decision; columns of different lengths are a [`ColumnsError`] for the
//! whole batch, before any row is decided. Nothing here panics on any cell's content.
//!
//! # Example
//!
//! ```
//! use policy_sim::eval::authorize::{Policies, PolicyType};
//! use policy_sim::eval::columns::{ColumnDecider, Columns, RowResult, TextColumn};
//! use policy_sim::eval::{Decision, PolicySet};
//! use policy_sim::lang::parse::parse_policy;
//!
//! let policy = parse_policy(
//!     "p.json",
//!     br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
//! )
//! .unwrap();
//! let policies = Policies::identity_only(PolicySet::new(vec![policy]));
//! let now = "2026-01-01T00:00:00Z".parse().unwrap();
//! let mut decider = ColumnDecider::new(&policies, None, now);
//!
//! let action = vec!["s3:GetObject", "s3:PutObject"];
//! let resource = vec![Some("arn:aws:s3:::b/k"), None];
//! let mut out = Vec::new();
//! decider.decide(&Columns::new(&action, &resource), &mut out).unwrap();
//! let RowResult::Decided { verdict, statement } = out[0] else { panic!() };
//! assert_eq!(verdict.decision, Decision::Allow);
//! assert_eq!(statement.unwrap().policy_type, PolicyType::Identity);
//! assert_eq!(out[1], RowResult::Failed("missing field `resource`".to_string()));
//! ```

use jiff::Timestamp;
use serde::de::Error as _;

use crate::eval::StatementRef;
use crate::eval::authorize::{
    AuthorizeError, Policies, PolicyType, Scratch, TypedRef, Verdict, deciding,
};
use crate::lang::principal::Caller;
use crate::request::Request;
use crate::request::lines::{
    EMPTY_CONTEXT_KEY, LineError, duplicate_context_key, parse_context_into,
};

/// A column of optional text cells, one per row: what [`Columns`] is made of.
///
/// Implemented for slices, arrays and vectors of `&str`, `Option<&str>`, `String` and
/// `Option<String>`, and meant to be implemented by a thin wrapper around a columnar
/// array (an Arrow `StringArray`) that lends its cells without copying them.
pub trait TextColumn {
    /// The number of cells.
    fn len(&self) -> usize;

    /// The cell of `row`, or `None` for a null cell. A `row` at or past [`TextColumn::len`]
    /// must give `None`, not panic ([`ColumnDecider`] asks only for rows below `len`).
    ///
    /// Cost: called once per row and column by [`ColumnDecider::decide`]; it should be
    /// constant time and must not allocate for the decider to stay allocation-free.
    fn get(&self, row: usize) -> Option<&str>;

    /// Whether the column has no cells.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl TextColumn for [&str] {
    fn len(&self) -> usize {
        <[&str]>::len(self)
    }
    fn get(&self, row: usize) -> Option<&str> {
        <[&str]>::get(self, row).copied()
    }
}

impl TextColumn for [Option<&str>] {
    fn len(&self) -> usize {
        <[Option<&str>]>::len(self)
    }
    fn get(&self, row: usize) -> Option<&str> {
        <[Option<&str>]>::get(self, row).copied().flatten()
    }
}

impl TextColumn for [String] {
    fn len(&self) -> usize {
        <[String]>::len(self)
    }
    fn get(&self, row: usize) -> Option<&str> {
        <[String]>::get(self, row).map(String::as_str)
    }
}

impl TextColumn for [Option<String>] {
    fn len(&self) -> usize {
        <[Option<String>]>::len(self)
    }
    fn get(&self, row: usize) -> Option<&str> {
        <[Option<String>]>::get(self, row).and_then(Option::as_deref)
    }
}

impl<T> TextColumn for Vec<T>
where
    [T]: TextColumn,
{
    fn len(&self) -> usize {
        self.as_slice().len()
    }
    fn get(&self, row: usize) -> Option<&str> {
        TextColumn::get(self.as_slice(), row)
    }
}

impl<T, const N: usize> TextColumn for [T; N]
where
    [T]: TextColumn,
{
    fn len(&self) -> usize {
        N
    }
    fn get(&self, row: usize) -> Option<&str> {
        TextColumn::get(self.as_slice(), row)
    }
}

impl<T> TextColumn for &[T]
where
    [T]: TextColumn,
{
    fn len(&self) -> usize {
        <[T]>::len(self)
    }
    fn get(&self, row: usize) -> Option<&str> {
        TextColumn::get(*self, row)
    }
}

/// The columns of one batch of requests: row `i` of every column is request `i`.
///
/// Each column means the request line field of the same name
/// ([`crate::request::lines`]); see the [module documentation](self) for the equivalent
/// line of a row. Every column must have as many cells as `action`
/// ([`Columns::rows`]).
#[derive(Clone, Copy)]
pub struct Columns<'a> {
    /// `service:Action` (a null cell: the row has no action, an error on that row).
    pub action: &'a dyn TextColumn,
    /// The resource ARN or `*` (a null cell: an error on that row).
    pub resource: &'a dyn TextColumn,
    /// The Cognito identity id (`identity` of the lines); a null cell or no column: none.
    pub identity: Option<&'a dyn TextColumn>,
    /// The caller's ARN (`principal` of the lines); a null cell or no column: the
    /// decider's default principal, if it has one.
    pub principal: Option<&'a dyn TextColumn>,
    /// Each cell a JSON object of context keys to values, read by exactly the rules of the
    /// lines' `context`; a null cell or no column: no context keys but the key columns'.
    pub context: Option<&'a dyn TextColumn>,
    /// Single-valued context keys, one column each, named by the key (in any case, as the
    /// context compares keys); a cell's text is the key's one value, as a JSON string in
    /// a line's context would be. A null cell: the key is absent on that row. A key with a
    /// value on one row both here and in the context cell, or in two of these columns, is
    /// an error on that row, as a key twice in a line's context is (columns naming the
    /// same key are fine on rows where at most one of them has a value).
    pub keys: &'a [(&'a str, &'a dyn TextColumn)],
}

impl<'a> Columns<'a> {
    /// The two required columns; no identity, principal, context or key columns.
    pub fn new(action: &'a dyn TextColumn, resource: &'a dyn TextColumn) -> Columns<'a> {
        Columns {
            action,
            resource,
            identity: None,
            principal: None,
            context: None,
            keys: &[],
        }
    }

    /// The number of rows: the length of `action`, when every other column has the same
    /// length; otherwise [`ColumnsError::Length`] naming the first column that differs (in
    /// the order of the fields, then the key columns in order).
    ///
    /// Cost: one [`TextColumn::len`] per column; no allocation unless it fails.
    pub fn rows(&self) -> Result<usize, ColumnsError> {
        let expected = self.action.len();
        let check = |name: &dyn Fn() -> String, column: &dyn TextColumn| {
            let len = column.len();
            if len == expected {
                Ok(())
            } else {
                Err(ColumnsError::Length {
                    column: name(),
                    len,
                    expected,
                })
            }
        };
        check(&|| "resource".to_string(), self.resource)?;
        for (name, column) in [
            ("identity", self.identity),
            ("principal", self.principal),
            ("context", self.context),
        ] {
            if let Some(column) = column {
                check(&|| name.to_string(), column)?;
            }
        }
        for (key, column) in self.keys {
            check(&|| format!("key {key:?}"), *column)?;
        }
        Ok(expected)
    }
}

/// Why a batch of columns cannot be decided at all (a single row's failure is a
/// [`RowResult::Failed`] instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum ColumnsError {
    /// A column's length differs from the `action` column's.
    #[error("the {column} column has {len} rows; the action column has {expected}")]
    #[diagnostic(code(policy_sim::columns::length))]
    Length {
        /// The column: `resource`, `identity`, `principal`, `context` or `key "NAME"`.
        column: String,
        /// Its length.
        len: usize,
        /// The `action` column's length.
        expected: usize,
    },
}

/// The answer for one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowResult {
    /// The row's request was decided.
    Decided {
        /// The decision and the policy type that made it. A row decided by the
        /// identity-based policies alone (no principal, no other policy type given) is
        /// decided by [`PolicyType::Identity`], set index 0.
        verdict: Verdict,
        /// The first of the deciding statements, in the order of
        /// [`crate::eval::authorize::deciding`] (the order `check --requests` lists them);
        /// `None` for an implicit deny.
        statement: Option<TypedRef>,
    },
    /// The row could not be read or decided: the reason, as `check --requests` words it
    /// for the equivalent line (see the [module documentation](self) on positions).
    Failed(String),
}

/// Decides the rows of [`Columns`] with one set of [`Policies`], row after row, reusing its
/// buffers from row to row and from batch to batch.
///
/// Cost: per row, what `check --requests` spends on a line after reading its JSON: the
/// context cell (when there is one) is read ([`parse_context_into`]: the line scanner for
/// the usual shape, else `serde_json`), then the request is prepared
/// and decided. Once its buffers have grown to fit the largest row, a row decided without
/// error allocates nothing, provided its principal cell is null or equal to the last
/// principal cell parsed without error: the request, its context, the decision's scratch
/// and the caller's strings are reused, and that principal is not parsed again. A
/// principal cell that differs is parsed ([`Caller::parse`]: a few small allocations), so
/// rows sorted or grouped by principal cost least. A failed row allocates its message. One
/// decider serves one thread; give each thread its own.
pub struct ColumnDecider<'p> {
    policies: &'p Policies,
    /// Only identity-based policies are given (decided once).
    identity_only: bool,
    /// The principal of rows without a principal cell.
    default_principal: Option<Caller>,
    now: Timestamp,
    request: Request,
    scratch: Scratch,
    /// The deciding statements of the identity-based policies alone.
    identity_deciding: Vec<StatementRef>,
    /// The key being read from a context cell.
    key: String,
    /// The last principal cell parsed without error, and its caller (as parsed: `prepare`
    /// adjusts the request's copy, never this one).
    principal_text: String,
    principal: Option<Caller>,
    /// The last row's caller, kept so that the next row copies into its strings.
    spare: Option<Caller>,
}

impl<'p> ColumnDecider<'p> {
    /// A decider for `policies`. `principal` is the caller of rows whose principal cell is
    /// null (or of every row, without a principal column); `now` fills
    /// `aws:CurrentTime`/`aws:EpochTime` in rows that do not give them, as
    /// [`crate::request::lines::parse_request_into`] does.
    ///
    /// Cost: no work beyond storing its arguments; buffers grow on the first rows.
    pub fn new(
        policies: &'p Policies,
        principal: Option<Caller>,
        now: Timestamp,
    ) -> ColumnDecider<'p> {
        ColumnDecider {
            policies,
            identity_only: policies.is_identity_only(),
            default_principal: principal,
            now,
            request: Request::default(),
            scratch: Scratch::default(),
            identity_deciding: Vec::new(),
            key: String::new(),
            principal_text: String::new(),
            principal: None,
            spare: None,
        }
    }

    /// Decide every row of `columns`: `out` is cleared, then holds one [`RowResult`] per
    /// row, in row order. Columns of different lengths are an error, reported before any
    /// row is decided (`out` is then left empty).
    ///
    /// Guarantees: each row is decided as `check --requests` decides its equivalent line
    /// (see the [module documentation](self)). Cost: see [`ColumnDecider`]; `out` is reused
    /// (it grows to the number of rows once).
    pub fn decide(
        &mut self,
        columns: &Columns<'_>,
        out: &mut Vec<RowResult>,
    ) -> Result<(), ColumnsError> {
        out.clear();
        let rows = columns.rows()?;
        out.reserve(rows);
        for row in 0..rows {
            let result = match self.row(columns, row) {
                Ok((verdict, statement)) => RowResult::Decided { verdict, statement },
                Err(error) => RowResult::Failed(error.to_string()),
            };
            out.push(result);
        }
        Ok(())
    }

    /// Decide one row.
    fn row(
        &mut self,
        columns: &Columns<'_>,
        row: usize,
    ) -> Result<(Verdict, Option<TypedRef>), RowError> {
        if let Some(caller) = self.request.principal.take() {
            self.spare = Some(caller);
        }
        self.read(columns, row)?;
        let request = &mut self.request;
        if request.principal.is_none()
            && let Some(default) = &self.default_principal
        {
            request.principal = Some(copy_caller(&mut self.spare, default));
        }
        if request.principal.is_none() && self.identity_only {
            // Identity-based policies alone, as the lines decide such a request.
            let decision = self
                .policies
                .identity
                .evaluate_into(request, &mut self.identity_deciding)
                .map_err(|e| RowError::Line(e.into()))?;
            let verdict = Verdict {
                decision,
                decided_by: PolicyType::Identity,
                index: 0,
            };
            let statement = self.identity_deciding.first().map(|s| TypedRef {
                policy_type: PolicyType::Identity,
                index: 0,
                statement: *s,
            });
            return Ok((verdict, statement));
        }
        let policies = self.policies;
        policies.prepare(request).map_err(RowError::Authorize)?;
        let verdict = policies
            .authorize_into(request, &mut self.scratch)
            .map_err(RowError::Authorize)?;
        let statement = deciding(self.scratch.results(), verdict).next();
        Ok((verdict, statement))
    }

    /// Read row `row` into the request buffer, in the order the lines read a line: the
    /// context (the cell's keys, then the key columns'), the required fields, then the
    /// identity, the principal, the time keys and the request's shape.
    fn read(&mut self, columns: &Columns<'_>, row: usize) -> Result<(), RowError> {
        let request = &mut self.request;
        request.context.clear();
        if let Some(json) = columns.context.and_then(|c| c.get(row)) {
            parse_context_into(json, &mut request.context, &mut self.key)?;
        }
        for (key, column) in columns.keys {
            let Some(value) = column.get(row) else {
                continue;
            };
            if key.is_empty() {
                return Err(json_error(EMPTY_CONTEXT_KEY.to_string()));
            }
            let Some(slot) = request.context.insert_new(key) else {
                return Err(json_error(duplicate_context_key(key)));
            };
            request.context.push_value_at(slot).push_str(value);
        }
        let action = columns.action.get(row);
        let resource = columns.resource.get(row);
        for (name, cell, field) in [
            ("action", action, &mut request.action),
            ("resource", resource, &mut request.resource),
        ] {
            let Some(text) = cell else {
                return Err(RowError::Line(LineError::Json(
                    serde_json::Error::missing_field(name),
                )));
            };
            field.clear();
            field.push_str(text);
        }
        if let Some(identity) = columns.identity.and_then(|c| c.get(row)) {
            request.set_identity(identity).map_err(LineError::from)?;
        }
        if let Some(text) = columns.principal.and_then(|c| c.get(row)) {
            if self.principal.is_none() || self.principal_text != text {
                // Parsed into a fresh caller: a failure leaves the cache as it was.
                self.principal = Some(Caller::parse(text).map_err(LineError::from)?);
                self.principal_text.clear();
                self.principal_text.push_str(text);
            }
            if let Some(parsed) = &self.principal {
                request.principal = Some(copy_caller(&mut self.spare, parsed));
            }
        }
        request
            .context
            .fill_time_defaults(self.now)
            .map_err(LineError::from)?;
        request.validate().map_err(LineError::from)?;
        Ok(())
    }
}

/// A copy of `source`, into the strings of `spare` when there is one.
fn copy_caller(spare: &mut Option<Caller>, source: &Caller) -> Caller {
    match spare.take() {
        Some(mut caller) => {
            caller.clone_from(source);
            caller
        }
        None => source.clone(),
    }
}

/// An error the lines' JSON reader would give, without a position.
fn json_error(message: String) -> RowError {
    RowError::Line(LineError::Json(serde_json::Error::custom(message)))
}

/// Why a row failed: as the lines' reader or the decision would say.
enum RowError {
    Line(LineError),
    Authorize(AuthorizeError),
}

impl From<LineError> for RowError {
    fn from(e: LineError) -> RowError {
        RowError::Line(e)
    }
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RowError::Line(e) => e.fmt(f),
            RowError::Authorize(e) => e.fmt(f),
        }
    }
}

//! Errors of the library. Every load error names the file and, when the document could
//! be read, the line, column and JSON path of the problem.

use std::fmt;

/// A policy (or request file) that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read at all.
    #[error("{file}: {message}")]
    Read {
        /// File name as given.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// The document is not a valid policy.
    #[error("{file}:{}: {path}: {message}", Location { line: *line, column: *column })]
    Invalid {
        /// File name as given.
        file: String,
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// JSON path such as `Statement[1].Effect` (`(document)` for the root).
        path: String,
        /// What is wrong.
        message: String,
    },
}

struct Location {
    line: usize,
    column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A request that cannot be evaluated: malformed input, not a deny.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RequestError(pub String);

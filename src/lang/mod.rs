//! The policy language: parsing (with source positions), the document model, policy
//! variables (the only `${...}` lexer), the `*`/`?` wildcard language, ARN patterns and the
//! condition keys with a meaning of their own.
//!
//! Everything above this layer reads policies through these compiled types; nothing
//! re-reads pattern text.

pub mod arn;
pub mod condition;
pub mod json;
pub mod keys;
pub mod model;
pub mod parse;
pub mod principal;
pub mod variables;
pub mod wildcard;

//! Policy variables: `${key}`, `${key, 'default'}` and the escapes `${*}`, `${?}`, `${$}`.
//!
//! AWS substitutes policy variables only in documents whose `Version` is `2012-10-17`
//! (IAM User Guide, "IAM policy elements: Variables and tags"); under `2008-10-17` or with
//! no `Version` the same text is taken literally. This module turns the text of a
//! `Resource`, `NotResource` or condition value into [`Piece`]s: literal text, wildcards and
//! variable slots. Values substituted at evaluation time are always literal text: a `*`
//! inside an identity id is not a wildcard.
//!
//! Costs: parsing is linear in the text and happens once, when a policy is loaded.
//! Resolution ([`VariableSource::variable`]) is a lookup in the request context and never
//! allocates.

use std::fmt;

/// A policy variable slot, e.g. `${cognito-identity.amazonaws.com:sub}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// The context key as written in the policy.
    pub key: Box<str>,
    /// The context key in lowercase: condition keys are case-insensitive.
    pub key_lower: Box<str>,
    /// The default from `${key, 'default'}`, used when the request has no value.
    pub default: Option<Box<str>>,
    /// `key_lower` among the keys a context answers without a search.
    pub known: Option<crate::lang::keys::KnownKey>,
}

impl fmt::Display for Variable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.default {
            Some(d) => write!(f, "${{{}, '{}'}}", self.key, d),
            None => write!(f, "${{{}}}", self.key),
        }
    }
}

/// One element of a parsed pattern or value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Text that must appear as is.
    Literal(Box<str>),
    /// A variable, replaced by literal text from the request context.
    Variable(Variable),
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `?`: exactly one character.
    AnyChar,
}

impl Piece {
    /// Text or a variable (which stands for text): not a wildcard.
    pub fn is_text(&self) -> bool {
        matches!(self, Piece::Literal(_) | Piece::Variable(_))
    }
}

/// Where a value can get its variables from: the request context.
pub trait VariableSource {
    /// The single value of the context key `key_lower` (already lowercase), or `None`
    /// when the request has no value for it. Multivalued keys have no single value and
    /// must return `None` (AWS: multivalued keys cannot be used as policy variables).
    fn variable(&self, key_lower: &str) -> Option<&str>;

    /// [`VariableSource::variable`] of a known key: the same answer, which a source may
    /// find faster.
    fn known_variable(&self, key: crate::lang::keys::KnownKey) -> Option<&str> {
        self.variable(key.name())
    }
}

/// A source with no values at all.
pub struct NoVariables;

impl VariableSource for NoVariables {
    fn variable(&self, _key_lower: &str) -> Option<&str> {
        None
    }
}

/// Resolve a variable to its text: the context value, else its default, else `None`.
pub fn resolve<'a>(var: &'a Variable, source: &'a dyn VariableSource) -> Option<&'a str> {
    match var.known {
        Some(key) => source.known_variable(key),
        None => source.variable(&var.key_lower),
    }
    .or(var.default.as_deref())
}

/// How to read the text of a policy value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syntax {
    /// Substitute `${...}` variables (only under `"Version": "2012-10-17"`).
    pub variables: bool,
    /// Treat `*` and `?` as wildcards (Resource patterns, `StringLike`, `ArnLike`, ...).
    pub wildcards: bool,
}

/// A malformed `${...}` policy variable (only under `"Version": "2012-10-17"`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum VariableError {
    /// `${` without a closing `}`.
    #[error(
        "unterminated policy variable in {:?}: missing '}}'",
        crate::loc::Shown(text)
    )]
    #[diagnostic(code(policy_sim::variable::unterminated))]
    Unterminated {
        /// The text from the `${` on.
        text: String,
    },
    /// `${}`.
    #[error("empty policy variable '${{}}'")]
    #[diagnostic(code(policy_sim::variable::empty))]
    Empty,
    /// A default not written as `, 'text'`.
    #[error(
        "malformed default in policy variable {:?}: {problem}",
        crate::loc::Shown(text)
    )]
    #[diagnostic(code(policy_sim::variable::default))]
    MalformedDefault {
        /// The variable (or the text from its `${` on).
        text: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A key with white space, `{` or `$` in it.
    #[error("malformed policy variable key {:?}", crate::loc::Shown(key))]
    #[diagnostic(code(policy_sim::variable::key))]
    MalformedKey {
        /// The key as written.
        key: String,
    },
}

/// Parse `text` into pieces. Adjacent literal text is merged into one piece.
///
/// Errors (only when `syntax.variables` is on) describe a malformed `${...}`: an
/// unterminated variable, an empty key, or a default not written as `, 'text'`.
pub fn parse_pieces(text: &str, syntax: Syntax) -> Result<Vec<Piece>, VariableError> {
    let mut pieces: Vec<Piece> = Vec::new();
    let mut literal = String::new();
    let flush = |literal: &mut String, pieces: &mut Vec<Piece>| {
        if !literal.is_empty() {
            pieces.push(Piece::Literal(std::mem::take(literal).into_boxed_str()));
        }
    };
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if syntax.variables && rest.starts_with("${") {
            let (var, used) = lex_variable(rest)?;
            match var {
                Token::Text(t) => literal.push(t),
                Token::Variable(v) => {
                    flush(&mut literal, &mut pieces);
                    pieces.push(Piece::Variable(v));
                }
            }
            rest = &rest[used..];
            continue;
        }
        match c {
            '*' if syntax.wildcards => {
                flush(&mut literal, &mut pieces);
                // `**` means the same as `*`.
                if pieces.last() != Some(&Piece::Star) {
                    pieces.push(Piece::Star);
                }
            }
            '?' if syntax.wildcards => {
                flush(&mut literal, &mut pieces);
                pieces.push(Piece::AnyChar);
            }
            _ => literal.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    flush(&mut literal, &mut pieces);
    Ok(pieces)
}

/// The length in bytes of the `${...}` token at the start of `text` (which must start
/// with `${`), as [`parse_pieces`] reads it: a quoted default may hold `}` and `:`. Other
/// readers that must step over variables (the ARN component splitter) use this, so that
/// there is one lexer.
pub fn token_len(text: &str) -> Result<usize, VariableError> {
    lex_variable(text).map(|(_, used)| used)
}

/// What a `${...}` token stands for.
enum Token {
    Variable(Variable),
    /// One of the escapes `${*}`, `${?}`, `${$}`.
    Text(char),
}

/// Lex one `${...}` at the start of `text`; returns what it is and the bytes used.
fn lex_variable(text: &str) -> Result<(Token, usize), VariableError> {
    let body_start = 2;
    let close = text[body_start..]
        .find('}')
        .map(|i| i + body_start)
        .ok_or_else(|| VariableError::Unterminated {
            text: text.to_string(),
        })?;
    let body = &text[body_start..close];
    // The escapes documented by AWS for literal special characters.
    match body {
        "*" => return Ok((Token::Text('*'), close + 1)),
        "?" => return Ok((Token::Text('?'), close + 1)),
        "$" => return Ok((Token::Text('$'), close + 1)),
        _ => {}
    }
    let (key, default, end) = match body.find(',') {
        None => (body, None, close),
        Some(comma) => {
            let (default, end) = lex_default(text, body_start + comma + 1, close)?;
            (&body[..comma], Some(default), end)
        }
    };
    let key = key.trim_end_matches(' ');
    if key.is_empty() {
        return Err(VariableError::Empty);
    }
    if key
        .chars()
        .any(|c| c.is_whitespace() || c == '{' || c == '$')
    {
        return Err(VariableError::MalformedKey {
            key: key.to_string(),
        });
    }
    Ok((
        Token::Variable(Variable {
            key: key.into(),
            key_lower: key.to_ascii_lowercase().into(),
            default: default.map(Into::into),
            known: crate::lang::keys::KnownKey::of(&key.to_ascii_lowercase()),
        }),
        end + 1,
    ))
}

/// `, 'default'}` from byte `after_comma` of `text` on: the default is quoted and may
/// itself contain `}`, so the closing quote is found first, then the brace. Returns the
/// default and the byte index of the closing brace. `first_close` is the first `}` after
/// the `${` (for the message).
fn lex_default(
    text: &str,
    after_comma: usize,
    first_close: usize,
) -> Result<(&str, usize), VariableError> {
    let rest = &text[after_comma..];
    let trimmed = rest.trim_start_matches(' ');
    let skipped = rest.len() - trimmed.len();
    let Some(quoted) = trimmed.strip_prefix('\'') else {
        return Err(VariableError::MalformedDefault {
            text: text[..=first_close].to_string(),
            problem: "expected ${key, 'default'}",
        });
    };
    let Some(end_quote) = quoted.find('\'') else {
        return Err(VariableError::MalformedDefault {
            text: text.to_string(),
            problem: "missing closing quote",
        });
    };
    let default = &quoted[..end_quote];
    let after = &quoted[end_quote + 1..];
    let after_trim = after.trim_start_matches(' ');
    if !after_trim.starts_with('}') {
        return Err(VariableError::MalformedDefault {
            text: text.to_string(),
            problem: "expected '}' after the quoted default",
        });
    }
    let end = after_comma + skipped + 1 + end_quote + 1 + (after.len() - after_trim.len());
    Ok((default, end))
}

/// True when any piece is a variable.
pub fn has_variables(pieces: &[Piece]) -> bool {
    pieces.iter().any(|p| matches!(p, Piece::Variable(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const V2012: Syntax = Syntax {
        variables: true,
        wildcards: true,
    };

    fn lit(s: &str) -> Piece {
        Piece::Literal(s.into())
    }

    #[test]
    fn parses_variable_between_literals() {
        let p = parse_pieces("a/${aws:username}/*", V2012).unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!(p[0], lit("a/"));
        match &p[1] {
            Piece::Variable(v) => {
                assert_eq!(&*v.key, "aws:username");
                assert_eq!(v.default, None);
            }
            other => panic!("expected variable, got {other:?}"),
        }
        assert_eq!(p[2], lit("/"));
        assert_eq!(p[3], Piece::Star);
    }

    #[test]
    fn parses_default_and_lowercases_key() {
        let p = parse_pieces("${aws:PrincipalTag/Team, 'company-wide'}", V2012).unwrap();
        match &p[0] {
            Piece::Variable(v) => {
                assert_eq!(&*v.key_lower, "aws:principaltag/team");
                assert_eq!(v.default.as_deref(), Some("company-wide"));
            }
            other => panic!("expected variable, got {other:?}"),
        }
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn escapes_are_literal_text() {
        let p = parse_pieces("a${*}b${?}${$}", V2012).unwrap();
        assert_eq!(p, vec![lit("a*b?$")]);
    }

    #[test]
    fn version_2008_keeps_variables_literal() {
        let syntax = Syntax {
            variables: false,
            wildcards: true,
        };
        let p = parse_pieces("x/${aws:username}", syntax).unwrap();
        assert_eq!(p, vec![lit("x/${aws:username}")]);
    }

    #[test]
    fn without_wildcards_star_is_literal() {
        let syntax = Syntax {
            variables: true,
            wildcards: false,
        };
        assert_eq!(parse_pieces("a*b?", syntax).unwrap(), vec![lit("a*b?")]);
    }

    #[test]
    fn double_star_collapses() {
        assert_eq!(
            parse_pieces("a**", V2012).unwrap(),
            vec![lit("a"), Piece::Star]
        );
    }

    #[test]
    fn malformed_variables_are_errors() {
        assert_eq!(
            parse_pieces("a${aws:username", V2012)
                .unwrap_err()
                .to_string(),
            "unterminated policy variable in \"${aws:username\": missing '}'"
        );
        assert_eq!(
            parse_pieces("${}", V2012).unwrap_err().to_string(),
            "empty policy variable '${}'"
        );
        assert_eq!(
            parse_pieces("${aws:username, anon}", V2012)
                .unwrap_err()
                .to_string(),
            "malformed default in policy variable \"${aws:username, anon}\": expected ${key, 'default'}"
        );
    }

    #[test]
    fn display_round_trips() {
        let p = parse_pieces("${aws:username, 'anon'}", V2012).unwrap();
        match &p[0] {
            Piece::Variable(v) => assert_eq!(v.to_string(), "${aws:username, 'anon'}"),
            other => panic!("expected variable, got {other:?}"),
        }
    }
}

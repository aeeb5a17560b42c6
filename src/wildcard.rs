//! The IAM wildcard language: `*` (any run of characters, possibly empty) and `?`
//! (exactly one character). Nothing else is special: there are no `[...]` classes and no
//! escapes other than the `${*}`/`${?}` policy-variable forms handled in
//! [`crate::variables`].
//!
//! A [`Pattern`] is parsed once; [`Pattern::matches`] then runs over the request text with
//! variables resolved in place, so no string is built per request.
//!
//! Cost: matching is the classic greedy two-pointer algorithm with one back-tracking
//! point (the last `*`), `O(len(text) * len(pattern))` in the worst case and linear in the
//! common cases. It never allocates. `?` and `*` step over whole UTF-8 characters.

use crate::variables::{self, Piece, Syntax, VariableSource};

/// How literal text is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// Byte-for-byte (resources, `StringLike`, ARNs).
    Sensitive,
    /// ASCII case-insensitive (action names). The pattern's literals are stored in
    /// lowercase.
    AsciiInsensitive,
}

/// Result of matching a pattern that may contain policy variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// The text matches.
    Yes,
    /// The text does not match.
    No,
    /// A variable of the pattern has no value in the request and no default, so the
    /// pattern matches nothing and proves nothing (see `docs/semantics.md`).
    Unresolved,
}

/// A parsed wildcard pattern, possibly with policy variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: Box<str>,
    pieces: Vec<Piece>,
    case: Case,
}

impl Pattern {
    /// Parse `text` with the given syntax and case rule.
    pub fn parse(text: &str, syntax: Syntax, case: Case) -> Result<Pattern, String> {
        let mut pieces = variables::parse_pieces(text, syntax)?;
        if case == Case::AsciiInsensitive {
            for p in &mut pieces {
                if let Piece::Literal(l) = p {
                    *l = l.to_ascii_lowercase().into_boxed_str();
                }
            }
        }
        Ok(Pattern {
            source: text.into(),
            pieces,
            case,
        })
    }

    /// The text as written in the policy.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The parsed pieces.
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// True when the pattern is exactly `*`.
    pub fn is_match_all(&self) -> bool {
        self.pieces == [Piece::Star]
    }

    /// True when any piece is a policy variable.
    pub fn has_variables(&self) -> bool {
        variables::has_variables(&self.pieces)
    }

    /// Match `text` against the pattern, resolving variables from `vars`.
    pub fn matches(&self, text: &str, vars: &dyn VariableSource) -> Match {
        // A variable with neither a value nor a default makes the pattern unresolvable.
        for p in &self.pieces {
            if let Piece::Variable(v) = p
                && variables::resolve(v, vars).is_none()
            {
                return Match::Unresolved;
            }
        }
        if glob_match(&self.pieces, text.as_bytes(), vars, self.case) {
            Match::Yes
        } else {
            Match::No
        }
    }

    /// The pattern with its variables replaced by their values (wildcards kept), for
    /// explanations. Unresolved variables are shown as written.
    pub fn render(&self, vars: &dyn VariableSource) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Literal(l) => out.push_str(l),
                Piece::Variable(v) => match variables::resolve(v, vars) {
                    Some(value) => out.push_str(value),
                    None => out.push_str(&v.to_string()),
                },
                Piece::Star => out.push('*'),
                Piece::AnyChar => out.push('?'),
            }
        }
        out
    }
}

/// A position in the pattern: piece index and byte offset inside a literal piece.
#[derive(Clone, Copy)]
struct Cursor {
    piece: usize,
    offset: usize,
}

/// What the pattern holds at a cursor.
enum At<'a> {
    End,
    Star,
    AnyChar,
    /// The remaining bytes of a literal (or a resolved variable's value).
    Bytes(&'a [u8]),
}

fn literal_of<'a>(piece: &'a Piece, vars: &'a dyn VariableSource) -> Option<&'a [u8]> {
    match piece {
        Piece::Literal(l) => Some(l.as_bytes()),
        Piece::Variable(v) => Some(variables::resolve(v, vars).unwrap_or("").as_bytes()),
        Piece::Star | Piece::AnyChar => None,
    }
}

/// Move past exhausted literals and return what is at the cursor.
fn at<'a>(pieces: &'a [Piece], c: &mut Cursor, vars: &'a dyn VariableSource) -> At<'a> {
    loop {
        let Some(piece) = pieces.get(c.piece) else {
            return At::End;
        };
        match literal_of(piece, vars) {
            Some(bytes) if c.offset < bytes.len() => return At::Bytes(&bytes[c.offset..]),
            Some(_) => {
                c.piece += 1;
                c.offset = 0;
            }
            None => {
                return if matches!(piece, Piece::Star) {
                    At::Star
                } else {
                    At::AnyChar
                };
            }
        }
    }
}

/// Length in bytes of the UTF-8 character starting with `lead`.
fn char_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xff => 4,
        // A continuation byte cannot start a character in valid UTF-8; step one byte.
        _ => 1,
    }
}

fn glob_match(pieces: &[Piece], text: &[u8], vars: &dyn VariableSource, case: Case) -> bool {
    let mut p = Cursor {
        piece: 0,
        offset: 0,
    };
    let mut t = 0usize;
    // Back-tracking point: the cursor just after the last `*` and where its run ends.
    let mut star: Option<(Cursor, usize)> = None;
    while t < text.len() {
        match at(pieces, &mut p, vars) {
            At::Star => {
                p.piece += 1;
                p.offset = 0;
                star = Some((p, t));
                continue;
            }
            At::AnyChar => {
                p.piece += 1;
                p.offset = 0;
                t += char_len(text[t]).min(text.len() - t);
                continue;
            }
            At::Bytes(bytes) => {
                let b = text[t];
                let b = match case {
                    Case::Sensitive => b,
                    Case::AsciiInsensitive => b.to_ascii_lowercase(),
                };
                if bytes[0] == b {
                    p.offset += 1;
                    t += 1;
                    continue;
                }
            }
            At::End => {}
        }
        // Mismatch: let the last `*` swallow one more character, or fail.
        match star {
            Some((after_star, run_end)) => {
                let next = run_end + char_len(text[run_end]).min(text.len() - run_end);
                star = Some((after_star, next));
                p = after_star;
                t = next;
            }
            None => return false,
        }
    }
    // The text is used up: what remains of the pattern must be stars.
    loop {
        match at(pieces, &mut p, vars) {
            At::End => return true,
            At::Star => {
                p.piece += 1;
                p.offset = 0;
            }
            At::AnyChar | At::Bytes(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::variables::NoVariables;
    use std::collections::HashMap;

    const WILD: Syntax = Syntax {
        variables: true,
        wildcards: true,
    };

    struct Vars(HashMap<&'static str, &'static str>);
    impl VariableSource for Vars {
        fn variable(&self, key_lower: &str) -> Option<&str> {
            self.0.get(key_lower).copied()
        }
    }

    fn m(pattern: &str, text: &str) -> bool {
        Pattern::parse(pattern, WILD, Case::Sensitive)
            .unwrap()
            .matches(text, &NoVariables)
            == Match::Yes
    }

    #[test]
    fn basic_wildcards() {
        assert!(m("*", ""));
        assert!(m("*", "anything/at:all"));
        assert!(m("a*c", "abc"));
        assert!(m("a*c", "ac"));
        assert!(!m("a*c", "ab"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("a*b*c", "axxbyyc"));
        assert!(!m("a*b*c", "axxbyy"));
        assert!(m("*.txt", "notes/a.txt"));
        assert!(!m("abc", "abcd"));
        assert!(!m("abcd", "abc"));
        assert!(m("", ""));
        assert!(!m("", "a"));
    }

    #[test]
    fn question_mark_is_one_character_not_one_byte() {
        assert!(m("a?c", "aéc"));
        assert!(m("??", "日本"));
        assert!(!m("?", "日本"));
        assert!(m("*本", "日本"));
    }

    #[test]
    fn case_sensitivity() {
        assert!(!m("ABC", "abc"));
        let p = Pattern::parse("S3:Get*", WILD, Case::AsciiInsensitive).unwrap();
        assert_eq!(p.matches("s3:getobject", &NoVariables), Match::Yes);
        assert_eq!(p.matches("S3:GETOBJECT", &NoVariables), Match::Yes);
        assert_eq!(p.matches("s3:PutObject", &NoVariables), Match::No);
    }

    #[test]
    fn variable_values_are_literal() {
        let p = Pattern::parse("home/${aws:username}/*", WILD, Case::Sensitive).unwrap();
        let vars = Vars(HashMap::from([("aws:username", "a*")]));
        assert_eq!(p.matches("home/a*/x", &vars), Match::Yes);
        assert_eq!(p.matches("home/ab/x", &vars), Match::No);
        assert_eq!(p.matches("home/x/y", &NoVariables), Match::Unresolved);
        assert_eq!(p.render(&vars), "home/a*/*");
    }

    #[test]
    fn empty_variable_value_and_default() {
        let p = Pattern::parse("a${k, ''}b", WILD, Case::Sensitive).unwrap();
        assert_eq!(p.matches("ab", &NoVariables), Match::Yes);
        let p = Pattern::parse("a${k, 'z'}b", WILD, Case::Sensitive).unwrap();
        assert_eq!(p.matches("azb", &NoVariables), Match::Yes);
        let vars = Vars(HashMap::from([("k", "")]));
        assert_eq!(p.matches("ab", &vars), Match::Yes);
    }
}

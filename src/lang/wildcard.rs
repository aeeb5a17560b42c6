//! The IAM wildcard language: `*` (any run of characters, possibly empty) and `?`
//! (exactly one character). Nothing else is special: there are no `[...]` classes and no
//! escapes other than the `${*}`/`${?}` policy-variable forms handled in
//! [`crate::lang::variables`].
//!
//! A [`Pattern`] is parsed once; [`Pattern::matches`] then runs over the request text with
//! variables resolved in place, so no string is built per request.
//!
//! Cost: when text × pattern is small, the classic greedy two-pointer algorithm with one
//! back-tracking point (the last `*`), which never allocates; otherwise the segment matcher
//! of the `linear` module, `O(text + pattern)` except for a `?` between two stars (at
//! worst `O(text × ⌈segment / 64⌉)` for that segment). `?` and `*` step over whole UTF-8
//! characters.

use crate::lang::variables::{self, Piece, Syntax, VariableError, VariableSource};

mod linear;

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

/// How a pattern is matched, chosen once when it is parsed: the cheapest strategy that
/// is exact for the pattern (like globset's per-pattern strategies).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Strategy {
    /// `*`: everything.
    All,
    /// No wildcard and no variable: equality with `literal`.
    Exact,
    /// `literal*`: a prefix test.
    Prefix,
    /// `*literal`: a suffix test.
    Suffix,
    /// Texts and variables only, optionally ending with one `*`
    /// (`private/${cognito-identity.amazonaws.com:sub}/*`, the usual shape of a pattern with
    /// variables): successive prefix comparisons, with no set-up.
    Chain,
    /// Anything else (`?`, several stars, a star before the end): the general matcher.
    General,
}

/// A parsed wildcard pattern, possibly with policy variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: Box<str>,
    pieces: Vec<Piece>,
    case: Case,
    strategy: Strategy,
    /// The literal text for `Exact`, `Prefix` and `Suffix`.
    literal: Box<str>,
    has_variables: bool,
    /// The length of the pattern without its variables' values: literal bytes, and one
    /// per wildcard (the general matcher's choice of strategy reads it per match).
    fixed_len: usize,
}

impl Pattern {
    /// Parse `text` with the given syntax and case rule.
    pub fn parse(text: &str, syntax: Syntax, case: Case) -> Result<Pattern, VariableError> {
        let mut pieces = variables::parse_pieces(text, syntax)?;
        if case == Case::AsciiInsensitive {
            for p in &mut pieces {
                if let Piece::Literal(l) = p {
                    *l = l.to_ascii_lowercase().into_boxed_str();
                }
            }
        }
        let (strategy, literal) = match pieces.as_slice() {
            [Piece::Star] => (Strategy::All, ""),
            [] => (Strategy::Exact, ""),
            [Piece::Literal(l)] => (Strategy::Exact, &**l),
            [Piece::Literal(l), Piece::Star] => (Strategy::Prefix, &**l),
            [Piece::Star, Piece::Literal(l)] => (Strategy::Suffix, &**l),
            [texts @ .., last]
                if texts.iter().chain([last]).all(Piece::is_text)
                    || (*last == Piece::Star && texts.iter().all(Piece::is_text)) =>
            {
                (Strategy::Chain, "")
            }
            _ => (Strategy::General, ""),
        };
        let literal = literal.into();
        let fixed_len = pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(l) => l.len(),
                Piece::Star | Piece::AnyChar => 1,
                Piece::Variable(_) => 0,
            })
            .sum();
        Ok(Pattern {
            fixed_len,
            source: text.into(),
            has_variables: variables::has_variables(&pieces),
            pieces,
            case,
            strategy,
            literal,
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
        self.strategy == Strategy::All
    }

    /// The text of a pattern with no wildcard and no variable.
    pub fn as_exact(&self) -> Option<&str> {
        (self.strategy == Strategy::Exact).then_some(&*self.literal)
    }

    /// The literal of a pattern that is `literal*` (one final star, no other wildcard, no
    /// variable), stored in lowercase when the pattern ignores case.
    pub fn as_prefix(&self) -> Option<&str> {
        (self.strategy == Strategy::Prefix).then_some(&*self.literal)
    }

    /// How the pattern compares literal text.
    pub fn case(&self) -> Case {
        self.case
    }

    /// True when any piece is a policy variable.
    pub fn has_variables(&self) -> bool {
        self.has_variables
    }

    /// True when every variable of the pattern has a value (or a default) in `vars`.
    pub fn resolves(&self, vars: &dyn VariableSource) -> bool {
        !self.has_variables
            || self.pieces.iter().all(|p| match p {
                Piece::Variable(v) => variables::resolve(v, vars).is_some(),
                _ => true,
            })
    }

    /// Match `text` against the pattern, resolving variables from `vars`.
    ///
    /// Cost: `Exact`/`Prefix`/`Suffix` patterns are one comparison; others resolve each
    /// variable once, then take the greedy back-tracking matcher when text × pattern is
    /// small (the common case) and the segment matcher otherwise, which is linear in text
    /// and pattern except for `?` between two stars (see the module's `linear` docs: at
    /// worst `O(text × ⌈segment / 64⌉)`). No heap allocation for patterns of up to 16
    /// pieces matched by the greedy matcher.
    #[inline]
    pub fn matches(&self, text: &str, vars: &dyn VariableSource) -> Match {
        let t = text.as_bytes();
        let lit = self.literal.as_bytes();
        let yes = |b: bool| if b { Match::Yes } else { Match::No };
        match self.strategy {
            Strategy::All => Match::Yes,
            Strategy::Exact => yes(t.len() == lit.len() && self.literal_eq(t, lit)),
            Strategy::Prefix => yes(t.len() >= lit.len() && self.literal_eq(&t[..lit.len()], lit)),
            Strategy::Suffix => {
                yes(t.len() >= lit.len() && self.literal_eq(&t[t.len() - lit.len()..], lit))
            }
            Strategy::Chain => self.match_chain(text, vars),
            Strategy::General => self.matches_with(text, vars, Matcher::Cheapest),
        }
    }

    /// [`Pattern::matches`] for a `Chain` pattern: each text or variable value must begin
    /// what is left of `text`; then a final `*` takes the rest, or nothing may be left.
    /// `Unresolved` when a variable has no value, as the general matcher reports it
    /// whatever the text.
    fn match_chain(&self, text: &str, vars: &dyn VariableSource) -> Match {
        let (pieces, star) = match self.pieces.split_last() {
            Some((Piece::Star, rest)) => (rest, true),
            _ => (&self.pieces[..], false),
        };
        let mut rest = text.as_bytes();
        for (i, p) in pieces.iter().enumerate() {
            let s = match p {
                Piece::Literal(l) => l.as_bytes(),
                Piece::Variable(v) => match variables::resolve(v, vars) {
                    Some(value) => value.as_bytes(),
                    None => return Match::Unresolved,
                },
                // Not a chain (the strategy is chosen so that this cannot happen).
                Piece::Star | Piece::AnyChar => {
                    return self.matches_with(text, vars, Matcher::Cheapest);
                }
            };
            let equal = rest.get(..s.len()).is_some_and(|head| match self.case {
                Case::Sensitive => head == s,
                Case::AsciiInsensitive => head.eq_ignore_ascii_case(s),
            });
            if !equal {
                let unresolved = pieces[i + 1..].iter().any(
                    |p| matches!(p, Piece::Variable(v) if variables::resolve(v, vars).is_none()),
                );
                return if unresolved {
                    Match::Unresolved
                } else {
                    Match::No
                };
            }
            rest = &rest[s.len()..];
        }
        if star || rest.is_empty() {
            Match::Yes
        } else {
            Match::No
        }
    }

    /// `a` equals the pattern's literal `b` (same length), under the pattern's case rule;
    /// the first byte is compared before the rest (most candidates differ there).
    #[inline]
    fn literal_eq(&self, a: &[u8], b: &[u8]) -> bool {
        match self.case {
            Case::Sensitive => a == b,
            Case::AsciiInsensitive => match (a.first(), b.first()) {
                (Some(x), Some(y)) => x.to_ascii_lowercase() == *y && eq_lowercased(a, b),
                _ => a.len() == b.len(),
            },
        }
    }

    /// [`Pattern::matches`] with the segment matcher whatever the sizes: for tests that
    /// compare it with a model on small inputs.
    #[doc(hidden)]
    pub fn matches_segmented(&self, text: &str, vars: &dyn VariableSource) -> Match {
        self.matches_with(text, vars, Matcher::Segmented)
    }

    /// For each offset in `starts` (increasing, each a character boundary of `text`, e.g.
    /// just after each colon of an ARN), whether the pattern matches `text[start..]`:
    /// `out[j]` for `starts[j]` (`out` as long as `starts`). Returns `Match::Unresolved`
    /// (and all false) when a variable has no value, else whether any start matched.
    ///
    /// Cost: near-linear in text and pattern whatever the number of starts (see
    /// `linear::matches_from_each`), where matching each suffix in turn is
    /// `O(starts × text)`. Allocates.
    pub fn matches_from_each(
        &self,
        text: &str,
        starts: &[usize],
        vars: &dyn VariableSource,
        out: &mut [bool],
    ) -> Match {
        debug_assert!(starts.windows(2).all(|w| w[0] < w[1]));
        debug_assert!(starts.iter().all(|&s| text.is_char_boundary(s)));
        debug_assert_eq!(starts.len(), out.len());
        let mut units = vec![Unit::Star; self.pieces.len()];
        if resolve_units(&self.pieces, vars, &mut units).is_none() {
            out.fill(false);
            return Match::Unresolved;
        }
        linear::matches_from_each(&units, text, starts, self.case, out);
        if out.contains(&true) {
            Match::Yes
        } else {
            Match::No
        }
    }

    fn matches_with(&self, text: &str, vars: &dyn VariableSource, matcher: Matcher) -> Match {
        let t = text.as_bytes();
        let lit = self.literal.as_bytes();
        let eq = |a: &[u8], b: &[u8]| match self.case {
            Case::Sensitive => a == b,
            Case::AsciiInsensitive => a.eq_ignore_ascii_case(b),
        };
        let yes = |b: bool| if b { Match::Yes } else { Match::No };
        match self.strategy {
            Strategy::All => Match::Yes,
            Strategy::Exact => yes(eq(t, lit)),
            Strategy::Prefix => yes(t.len() >= lit.len() && eq(&t[..lit.len()], lit)),
            Strategy::Suffix => yes(t.len() >= lit.len() && eq(&t[t.len() - lit.len()..], lit)),
            Strategy::Chain | Strategy::General => {
                const INLINE: usize = 16;
                if self.pieces.len() <= INLINE {
                    let mut buf = [Unit::Star; INLINE];
                    let units = &mut buf[..self.pieces.len()];
                    let Some(values) = resolve_units(&self.pieces, vars, units) else {
                        return Match::Unresolved;
                    };
                    let len = self.fixed_len + values;
                    yes(match_units(units, len, text, self.case, matcher))
                } else {
                    let mut units = vec![Unit::Star; self.pieces.len()];
                    let Some(values) = resolve_units(&self.pieces, vars, &mut units) else {
                        return Match::Unresolved;
                    };
                    let len = self.fixed_len + values;
                    yes(match_units(&units, len, text, self.case, matcher))
                }
            }
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

/// Which general matcher to use.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Matcher {
    /// The greedy matcher when text × pattern is small, else the segment matcher.
    Cheapest,
    /// Always the segment matcher.
    Segmented,
}

/// Up to this product of text and pattern sizes, the greedy back-tracking matcher (at most
/// this many steps, no set-up) beats the segment matcher's searches.
const GREEDY_BUDGET: usize = 1 << 14;

/// Match resolved `units` (`pattern_len` bytes, a wildcard counting one) against `text`
/// with the matcher the sizes call for.
fn match_units(
    units: &[Unit<'_>],
    pattern_len: usize,
    text: &str,
    case: Case,
    matcher: Matcher,
) -> bool {
    if matcher == Matcher::Cheapest
        && let Some(answer) = match_text_chain(units, text.as_bytes(), case)
    {
        answer
    } else if matcher == Matcher::Cheapest
        && text.len().saturating_mul(pattern_len) <= GREEDY_BUDGET
    {
        glob_match(units, text.as_bytes(), case)
    } else {
        linear::matches(units, text, case)
    }
}

/// Texts only, optionally ending with one `*` (`home/${aws:username}/*`, the common shape
/// of a pattern with variables): successive prefix comparisons, each at `memcmp` speed.
/// `None` for any other shape. A leading text that differs already decides `false`,
/// whatever follows it.
#[inline]
fn match_text_chain(units: &[Unit<'_>], text: &[u8], case: Case) -> Option<bool> {
    let (texts, star) = match units.split_last() {
        Some((Unit::Star, rest)) => (rest, true),
        _ => (units, false),
    };
    let mut rest = text;
    for u in texts {
        let Unit::Text(s) = u else { return None };
        let s = s.as_bytes();
        let Some(head) = rest.get(..s.len()) else {
            return Some(false);
        };
        let equal = match case {
            Case::Sensitive => head == s,
            Case::AsciiInsensitive => head.eq_ignore_ascii_case(s),
        };
        if !equal {
            return Some(false);
        }
        rest = &rest[s.len()..];
    }
    Some(star || rest.is_empty())
}

/// `text` in ASCII lowercase equals `lower` (a pattern's literal, stored in lowercase):
/// `text.eq_ignore_ascii_case(lower)`, eight bytes at a time; the last eight bytes of a
/// text of eight or more are compared as one word (overlapping the word before), so no
/// byte is compared alone.
#[inline]
pub(crate) fn eq_lowercased(text: &[u8], lower: &[u8]) -> bool {
    if text.len() != lower.len() {
        return false;
    }
    let word = |bytes: &[u8], at: usize| {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(eight)
    };
    let n = text.len();
    if n < 8 {
        return text
            .iter()
            .zip(lower)
            .all(|(a, b)| a.to_ascii_lowercase() == *b);
    }
    let mut at = 0;
    while at + 8 < n {
        if word_to_ascii_lowercase(word(text, at)) != word(lower, at) {
            return false;
        }
        at += 8;
    }
    word_to_ascii_lowercase(word(text, n - 8)) == word(lower, n - 8)
}

/// Eight bytes with each ASCII capital letter lowercased (other bytes kept).
#[inline]
pub(crate) const fn word_to_ascii_lowercase(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let low7 = x & !HIGH;
    // High bit set in each byte whose low seven bits are >= 'A', then > 'Z'.
    let from_a = low7 + ONES * (0x80 - b'A') as u64;
    let past_z = low7 + ONES * (0x80 - b'Z' - 1) as u64;
    let upper = from_a & !past_z & !x & HIGH;
    x | (upper >> 2)
}

/// A piece with its variable resolved: what the general matcher walks over.
#[derive(Clone, Copy)]
enum Unit<'a> {
    Text(&'a str),
    Star,
    AnyChar,
}

/// Fill `units` from `pieces`; false when a variable has no value.
fn resolve_units<'a>(
    pieces: &'a [Piece],
    vars: &'a dyn VariableSource,
    units: &mut [Unit<'a>],
) -> Option<usize> {
    let mut values = 0;
    for (p, u) in pieces.iter().zip(units.iter_mut()) {
        *u = match p {
            Piece::Literal(l) => Unit::Text(l),
            Piece::Variable(v) => {
                let value = variables::resolve(v, vars)?;
                values += value.len();
                Unit::Text(value)
            }
            Piece::Star => Unit::Star,
            Piece::AnyChar => Unit::AnyChar,
        };
    }
    Some(values)
}

/// A position in the pattern: unit index and byte offset inside a literal unit.
#[derive(Clone, Copy)]
struct Cursor {
    unit: usize,
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

/// Move past exhausted literals and return what is at the cursor.
fn at<'a>(units: &[Unit<'a>], c: &mut Cursor) -> At<'a> {
    loop {
        match units.get(c.unit) {
            None => return At::End,
            Some(Unit::Text(text)) if c.offset < text.len() => {
                return At::Bytes(&text.as_bytes()[c.offset..]);
            }
            Some(Unit::Text(_)) => {
                c.unit += 1;
                c.offset = 0;
            }
            Some(Unit::Star) => return At::Star,
            Some(Unit::AnyChar) => return At::AnyChar,
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

/// The classic greedy matcher with one back-tracking point (the last `*`):
/// `O(text × pattern)` at worst, so only for small inputs.
fn glob_match(units: &[Unit<'_>], text: &[u8], case: Case) -> bool {
    let mut p = Cursor { unit: 0, offset: 0 };
    let mut t = 0usize;
    // Back-tracking point: the cursor just after the last `*` and where its run ends.
    let mut star: Option<(Cursor, usize)> = None;
    while t < text.len() {
        match at(units, &mut p) {
            At::Star => {
                p.unit += 1;
                p.offset = 0;
                if p.unit == units.len() {
                    // A final `*` matches whatever text is left.
                    return true;
                }
                star = Some((p, t));
                continue;
            }
            At::AnyChar => {
                p.unit += 1;
                p.offset = 0;
                t += char_len(text[t]).min(text.len() - t);
                continue;
            }
            At::Bytes(bytes) => {
                // Compare the whole literal run at once: on a full match advance past it;
                // on any mismatch the outcome is the same as failing at the first
                // differing byte (back-track to the last star).
                if let Some(chunk) = text.get(t..t + bytes.len()) {
                    let equal = match case {
                        Case::Sensitive => chunk == bytes,
                        // Variable values are not lowercased in advance.
                        Case::AsciiInsensitive => chunk.eq_ignore_ascii_case(bytes),
                    };
                    if equal {
                        p.offset += bytes.len();
                        t += bytes.len();
                        continue;
                    }
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
        match at(units, &mut p) {
            At::End => return true,
            At::Star => {
                p.unit += 1;
                p.offset = 0;
            }
            At::AnyChar | At::Bytes(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::variables::NoVariables;
    use std::collections::HashMap;

    #[test]
    fn word_lowercasing_agrees_with_the_bytes() {
        for b in 0..=255u8 {
            for lane in 0..8 {
                let mut bytes = *b"AzZ@[`a\xff";
                bytes[lane] = b;
                let expected = bytes.map(|x| x.to_ascii_lowercase());
                let got = word_to_ascii_lowercase(u64::from_le_bytes(bytes));
                assert_eq!(got.to_le_bytes(), expected, "byte {b:#x} in lane {lane}");
            }
        }
        let lower = b"s3:getobjectacl-version";
        for text in [
            &b"S3:GetObjectAcl-Version"[..],
            b"s3:getobjectacl-versioN",
            b"s3:getobjectacl-versio",
            b"s3:getobjectacl-version",
        ] {
            assert_eq!(
                eq_lowercased(text, lower),
                text.eq_ignore_ascii_case(lower),
                "{text:?}"
            );
        }
        assert!(!eq_lowercased(b"S3:GETOBJECT\x80", b"s3:getobject\xa0"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// `eq_lowercased` is `eq_ignore_ascii_case` against a lowercase text, at every
        /// length (whole words, the overlapping last word, short texts), with one byte
        /// changed or not.
        #[test]
        fn eq_lowercased_is_ascii_case_folding(
            text in proptest::collection::vec(
                proptest::prop_oneof![b'A'..=b'Z', b'a'..=b'z', proptest::prelude::any::<u8>()],
                0..40,
            ),
            change in proptest::option::of((0usize..40, proptest::prelude::any::<u8>())),
        ) {
            let mut lower = text.to_ascii_lowercase();
            if let Some((at, b)) = change && at < lower.len() {
                lower[at] = b.to_ascii_lowercase();
            }
            proptest::prop_assert_eq!(
                eq_lowercased(&text, &lower),
                text.eq_ignore_ascii_case(&lower)
            );
        }
    }

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

    /// Both matchers on one input: the same answer.
    fn both(p: &Pattern, text: &str, vars: &dyn VariableSource) -> Match {
        let fast = p.matches(text, vars);
        assert_eq!(
            fast,
            p.matches_segmented(text, vars),
            "{} on {text}",
            p.source()
        );
        fast
    }

    #[test]
    fn variables_join_the_literal_segment_around_them() {
        let vars = Vars(HashMap::from([("aws:username", "a?*"), ("k", "")]));
        let p = Pattern::parse("*/home/${aws:username}/x*", WILD, Case::Sensitive).unwrap();
        assert_eq!(both(&p, "b/home/a?*/x/y", &vars), Match::Yes);
        assert_eq!(both(&p, "b/home/ab//x/y", &vars), Match::No);
        assert_eq!(both(&p, "b/home/x/y", &NoVariables), Match::Unresolved);
        let p = Pattern::parse("*a${k}?${aws:username}*", WILD, Case::Sensitive).unwrap();
        assert_eq!(both(&p, "xxaéa?*yy", &vars), Match::Yes);
        assert_eq!(both(&p, "xxaéa?yy", &vars), Match::No);
        let p = Pattern::parse("*${k}*", WILD, Case::Sensitive).unwrap();
        assert_eq!(both(&p, "", &vars), Match::Yes);
    }

    #[test]
    fn long_inputs_take_the_segment_matcher_with_the_same_answers() {
        let text = format!("{}/key", "a".repeat(10_000));
        for (pattern, want) in [
            ("*aab*", false),
            ("*aaa*/key", true),
            ("a*a?a*?key", true),
            ("a*a?b*", false),
            ("*/KEY", false),
            ("?*/k?y", true),
        ] {
            let p = Pattern::parse(pattern, WILD, Case::Sensitive).unwrap();
            assert_eq!(
                both(&p, &text, &NoVariables) == Match::Yes,
                want,
                "{pattern}"
            );
        }
        let p = Pattern::parse("s3:*A?A*/KEY", WILD, Case::AsciiInsensitive).unwrap();
        assert_eq!(both(&p, &format!("S3:{text}"), &NoVariables), Match::Yes);
    }

    /// Inputs on which the greedy matcher is quadratic: a 4 MB text of one letter against a
    /// 1 MB pattern that almost matches everywhere (it took 89 s in a release build), and
    /// the same with `?` and in ASCII case-insensitive patterns. The segment matcher reads
    /// each text once (no timing asserted here; see docs/performance.md).
    #[test]
    fn worst_case_inputs_are_linear() {
        let text = "a".repeat(4 << 20);
        let run = "a".repeat(1 << 20);
        let cases = [
            (format!("*{run}b*"), Case::Sensitive, false),
            (format!("a*{run}*a"), Case::Sensitive, true),
            (format!("*{run}B*"), Case::AsciiInsensitive, false),
            (format!("*{}b*", "a?".repeat(32)), Case::Sensitive, false),
            (format!("*{}b*", "a?".repeat(50)), Case::Sensitive, false),
            (
                format!("*{}?*", "A?".repeat(50)),
                Case::AsciiInsensitive,
                true,
            ),
        ];
        for (pattern, case, want) in cases {
            let p = Pattern::parse(&pattern, WILD, case).unwrap();
            assert_eq!(
                p.matches(&text, &NoVariables) == Match::Yes,
                want,
                "{}...",
                &pattern[..10]
            );
        }
    }
}

//! The one translator from the compiled policy model to [`Glob`]s.
//!
//! Every analysis (the isolation prover, no new access, the catalog's "can this pattern
//! name a resource of this type" check used by lint) reads action and resource patterns
//! through this module, from their compiled form ([`Pattern::pieces`], the components of an
//! [`ArnPattern`]), never from their text. The translation is exact with respect to the
//! evaluator (`src/lang/arn.rs`, `src/lang/wildcard.rs`): a string is matched by the glob
//! exactly when the evaluator matches it, once policy variables are given the meaning the
//! [`Variables`] policy names. A property test below checks this against
//! [`ArnPattern::matches`] and [`Pattern::matches`] on generated patterns and texts, so the
//! translator cannot drift from the evaluator.
//!
//! ARN patterns follow the evaluator's component rule:
//!
//! - `*` alone matches every string;
//! - otherwise the ARN is `arn:` and at least five colon-separated components. The
//!   partition, service, region and account are matched separately, so their `*` and `?`
//!   never read a `:` ([`Class::NotColon`]); the resource part takes the rest of the ARN,
//!   colons included;
//! - in a `Resource` pattern, a region or account component that ends with `*` may span
//!   colons: that final `*` reads anything ([`Class::All`]), the stars before it stay
//!   inside the component;
//! - a short pattern (`arn:aws:s3:*`) ends with a component whose `*` takes the rest of
//!   the ARN, which must still have its five colons. When a spanning region comes before
//!   that last component, where the colons fall is not fixed and a glob cannot count
//!   them: the glob then leaves the count out, and so also matches strings with fewer
//!   colons. Those are not ARNs, and no request carries one (requests are validated), so
//!   the glob still decides every request exactly.
//!
//! Guarantee: on every ARN (every resource a request can name), a pattern's glob matches
//! exactly when [`ArnPattern::matches`] does; a property test checks it.
//! - `Arn*` condition values never span.

use crate::analysis::glob::{Class, Elem, Glob};
use crate::lang::arn::ArnPattern;
use crate::lang::keys::COGNITO_SUB;
use crate::lang::variables::{Piece, Variable};
use crate::lang::wildcard::Pattern;

/// What a policy variable stands for in a glob.
#[derive(Clone, Copy)]
pub enum Variables<'a> {
    /// The first `${cognito-identity.amazonaws.com:sub}` in the resource part is the
    /// identity slot ([`Elem::Slot`]); every other variable reads anything its place
    /// allows (a widening: the glob matches what the pattern matches for some value).
    TrackIdentity,
    /// Every variable reads anything its place allows: the glob matches what the pattern
    /// matches for some value of each variable occurrence.
    Widen,
    /// Each variable reads as the function says ([`Reading`]): exact for a request whose
    /// context has those values and lacks those keys (where no variable reads anything).
    Fixed(&'a dyn Fn(&Variable) -> Reading),
}

/// How [`Variables::Fixed`] reads one variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// The request's value for the key (the same for every occurrence of the key).
    Value(String),
    /// The request lacks the key: the variable is its default (`${key, 'default'}`), and a
    /// variable without default makes the pattern match nothing ([`Elem::Never`]).
    Absent,
    /// Anything its place allows (a widening).
    Any,
    /// The identity slot ([`Elem::Slot`]) at the first such occurrence in the resource
    /// part, as [`Variables::TrackIdentity`] reads the identity: every other occurrence
    /// reads anything its place allows (a widening).
    Identity,
}

/// Is `v` the identity variable `${cognito-identity.amazonaws.com:sub}`?
pub fn is_identity(v: &Variable) -> bool {
    &*v.key_lower == COGNITO_SUB
}

/// Does the pattern hold the identity variable in its resource part (so it can be an
/// area of the isolation prover)?
pub fn mentions_identity(p: &ArnPattern) -> bool {
    match p {
        ArnPattern::Any(_) => false,
        ArnPattern::Arn { parts, .. } => parts.iter().any(|part| {
            part.pieces()
                .iter()
                .any(|piece| matches!(piece, Piece::Variable(v) if is_identity(v)))
        }),
    }
}

/// The glob of an action pattern. Action patterns compare without regard to ASCII case
/// and keep their literals in lowercase, so the glob matches the lowercase form of every
/// action name the pattern matches (and nothing else).
pub fn action_glob(p: &Pattern) -> Glob {
    let mut out = Vec::new();
    let mut slot_used = true;
    push_pieces(
        &mut out,
        p.pieces(),
        Class::All,
        &Variables::Widen,
        &mut slot_used,
    );
    Glob(out)
}

/// The glob of a string condition value (`StringEquals`, `StringLike`), with variables
/// read as `vars` says; the identity, under [`Variables::TrackIdentity`], is the slot at
/// its first occurrence. `*` and `?` of a `StringLike` value read any character (a
/// `StringEquals` value holds no wildcard: its compiled pieces are literal).
pub fn text_glob(p: &Pattern, vars: &Variables<'_>) -> Glob {
    let mut out = Vec::new();
    let mut slot_used = false;
    push_pieces(&mut out, p.pieces(), Class::All, vars, &mut slot_used);
    Glob(out)
}

/// The glob of an ARN pattern (`Resource`, `NotResource`, `Arn*` condition values), with
/// variables read as `vars` says. See the module documentation for the rules.
pub fn arn_glob(p: &ArnPattern, vars: &Variables<'_>) -> Glob {
    let (parts, spans) = match p {
        ArnPattern::Any(_) => return Glob::everything(),
        ArnPattern::Arn {
            parts,
            trailing_star_spans,
            ..
        } => (parts, *trailing_star_spans),
    };
    let mut out = Glob::literal("arn:").0;
    let last = parts.len() - 1;
    // Only the resource part may hold the identity slot.
    let mut slot_used = false;
    // A region before this component may span colons.
    let mut spanned_before = false;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(Elem::Byte(b':'));
        }
        let pieces = part.pieces();
        if i >= 4 {
            // The resource part: the rest of the ARN, colons included.
            push_pieces(&mut out, pieces, Class::All, vars, &mut slot_used);
            continue;
        }
        let mut no_slot = true;
        let spanning = spans && i != last && (2..4).contains(&i);
        // The last component of a short pattern after a spanning region: its final `*`
        // takes the rest (see the module docs on the colon count).
        let rest_after_span = i == last && spanned_before;
        match pieces.split_last() {
            Some((Piece::Star, body)) if spanning || rest_after_span => {
                // A region or account ending in `*`: that star may swallow colons and the
                // components after them; the stars before it may not.
                push_pieces(&mut out, body, Class::NotColon, vars, &mut no_slot);
                out.push(Elem::Star(Class::All));
                spanned_before |= spanning;
                if rest_after_span {
                    continue;
                }
            }
            Some((Piece::Star | Piece::Literal(_) | Piece::AnyChar | Piece::Variable(_), _))
            | None => push_pieces(&mut out, pieces, Class::NotColon, vars, &mut no_slot),
        }
        if i == last {
            // A short pattern: its last component is matched up to the next colon and the
            // rest of the ARN is free, but the ARN still has five colons after `arn`.
            for _ in i..4 {
                out.extend([Elem::Byte(b':'), Elem::Star(Class::All)]);
            }
        }
    }
    Glob(out)
}

/// Append the glob of `pieces`, whose wildcards read bytes of `class`.
fn push_pieces(
    out: &mut Vec<Elem>,
    pieces: &[Piece],
    class: Class,
    vars: &Variables<'_>,
    slot_used: &mut bool,
) {
    for piece in pieces {
        match piece {
            Piece::Literal(l) => push_text(out, l, class),
            Piece::Star => out.push(Elem::Star(class)),
            Piece::AnyChar => out.push(Elem::AnyChar(class)),
            Piece::Variable(v) => match vars {
                Variables::TrackIdentity if is_identity(v) && !*slot_used => {
                    *slot_used = true;
                    out.push(Elem::Slot);
                }
                // A later occurrence of the identity reads the same identity, which is
                // never empty: one character or more (still a widening).
                Variables::TrackIdentity if is_identity(v) => {
                    out.extend([Elem::AnyChar(class), Elem::Star(class)]);
                }
                Variables::TrackIdentity | Variables::Widen => out.push(Elem::Star(class)),
                Variables::Fixed(reading) => match (reading(v), v.default.as_deref()) {
                    (Reading::Value(text), _) => push_text(out, &text, class),
                    (Reading::Absent, Some(default)) => push_text(out, default, class),
                    (Reading::Absent, None) => out.push(Elem::Never),
                    (Reading::Identity, _) if !*slot_used => {
                        *slot_used = true;
                        out.push(Elem::Slot);
                    }
                    (Reading::Any | Reading::Identity, _) => out.push(Elem::Star(class)),
                },
            },
        }
    }
}

/// Append literal text read where wildcards take bytes of `class`: a byte the class
/// leaves out (a `:` inside an ARN component) can never be matched there.
fn push_text(out: &mut Vec<Elem>, text: &str, class: Class) {
    if text.bytes().any(|b| !class.admits(b)) {
        out.push(Elem::Never);
    } else {
        out.extend(text.bytes().map(Elem::Byte));
    }
}

/// How the placeholders of an ARN format from the catalog are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatFill {
    /// Any value AWS allows: the partition, region, account and bucket name are text
    /// without `/` or `:`, every other placeholder any text (possibly empty).
    AnyValue,
    /// Example values: `aws`, `us-east-1`, `123456789012`, and one or more characters
    /// for every other placeholder.
    Examples,
}

/// The glob of an ARN format (`arn:${Partition}:s3:::${BucketName}/${ObjectName}`).
pub fn format_glob(format: &str, fill: FormatFill) -> Glob {
    use crate::catalog::FormatPiece;
    let mut out = Vec::new();
    for piece in crate::catalog::format_pieces(format) {
        match (piece, fill) {
            (FormatPiece::Text(t), _) => out.extend(t.bytes().map(Elem::Byte)),
            (FormatPiece::Placeholder(name), FormatFill::AnyValue) => {
                out.push(Elem::Star(if crate::catalog::is_plain_field(name) {
                    Class::NotColonOrSlash
                } else {
                    Class::All
                }));
            }
            (FormatPiece::Placeholder(name), FormatFill::Examples) => match name {
                "Partition" => out.extend(b"aws".iter().map(|b| Elem::Byte(*b))),
                "Region" => out.extend(b"us-east-1".iter().map(|b| Elem::Byte(*b))),
                "Account" => out.extend(b"123456789012".iter().map(|b| Elem::Byte(*b))),
                _ => out.extend([Elem::AnyChar(Class::All), Elem::Star(Class::All)]),
            },
        }
    }
    Glob(out)
}

/// States [`pattern_may_match_format`] explores before answering "may match".
const FORMAT_SEARCH_LIMIT: usize = 100_000;

/// Could some ARN match both the resource pattern `pattern` (policy variables taking any
/// value) and the catalog's ARN format `format`? Decided exactly on the two languages, so
/// `false` is certain: no ARN of that resource type matches the pattern. A search too
/// large to finish answers `true`, the answer that reports nothing.
pub fn pattern_may_match_format(pattern: &ArnPattern, format: &str) -> bool {
    use crate::analysis::search::{StringSearch, search_string};
    let require = [
        arn_glob(pattern, &Variables::Widen),
        format_glob(format, FormatFill::AnyValue),
    ];
    match search_string(&require, &[], FORMAT_SEARCH_LIMIT) {
        StringSearch::Found(_) | StringSearch::TooLarge => true,
        StringSearch::Empty => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::variables::Syntax;

    const V2012: Syntax = Syntax {
        variables: true,
        wildcards: true,
    };

    fn arn(text: &str) -> ArnPattern {
        ArnPattern::parse(text, V2012).unwrap()
    }

    fn m(pattern: &str, text: &str) -> bool {
        arn_glob(&arn(pattern), &Variables::Widen).matches(text.as_bytes())
    }

    #[test]
    fn components_keep_their_wildcards() {
        // The soundness defect this translator fixes: `*-1` is the region alone.
        assert!(!m(
            "arn:aws:execute-api:*-1:123456789012:api/*",
            "arn:aws:execute-api:us-east:x-1:123456789012:api/prod/GET/x"
        ));
        assert!(m(
            "arn:aws:execute-api:*-1:123456789012:api/*",
            "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/x"
        ));
        // A region ending in `*` spans colons in a Resource; a `*` inside it does not.
        assert!(m("arn:aws:sns:us-*:1:t", "arn:aws:sns:us-east-1:1:x:1:t"));
        assert!(!m("arn:aws:sns:us-*-1:1:t", "arn:aws:sns:us-east:x-1:1:t"));
        // The resource part takes the rest.
        assert!(m("arn:aws:s3:::b/*", "arn:aws:s3:::b/a:b/c"));
    }

    #[test]
    fn a_short_pattern_after_a_spanning_region_reaches_the_last_segment() {
        // The region spans, and the account (the pattern's last component) may then match
        // the ARN's last segment, as the evaluator decides.
        for (pattern, arn) in [
            ("arn:aws:s3:*:b*", "arn:aws:s3:::b"),
            ("arn:é:bb:?-*:*-*", "arn:é:bb:a-::--1"),
        ] {
            let p = ArnPattern::parse(pattern, V2012).unwrap();
            assert_eq!(
                p.matches(arn, &crate::lang::variables::NoVariables),
                crate::lang::wildcard::Match::Yes,
                "{pattern}"
            );
            assert!(m(pattern, arn), "{pattern} against {arn}");
        }
        assert!(!m("arn:aws:s3:*:b*", "arn:aws:s3:::c"));
    }

    #[test]
    fn short_patterns_need_the_whole_arn() {
        assert!(m("arn:aws:s3:*", "arn:aws:s3:::b/k"));
        assert!(!m("arn:aws:s3:*", "arn:aws:s3:x"));
        assert!(!m("arn:aws:s3:*", "arn:aws:s3:x:y"));
        assert!(m("arn:aws:s3:*", "arn:aws:s3:x:y:z"));
        assert!(m("*", "anything"));
    }

    #[test]
    fn conditions_never_span() {
        let p = ArnPattern::parse_with(
            "arn:aws:sns:us-*:1:t",
            V2012,
            crate::lang::arn::ArnSyntax::Condition,
        )
        .unwrap();
        let g = arn_glob(&p, &Variables::Widen);
        assert!(!g.matches(b"arn:aws:sns:us-east-1:1:x:1:t"));
        assert!(g.matches(b"arn:aws:sns:us-east-1:1:t"));
    }

    #[test]
    fn variables_by_policy() {
        let p = arn("arn:aws:s3:::b/${cognito-identity.amazonaws.com:sub}/${aws:username}/*");
        let tracked = arn_glob(&p, &Variables::TrackIdentity);
        assert_eq!(tracked.0.iter().filter(|e| **e == Elem::Slot).count(), 1);
        assert!(mentions_identity(&p));
        let value = |v: &Variable| Reading::Value(format!("<{}>", v.key_lower));
        let fixed = arn_glob(&p, &Variables::Fixed(&value));
        assert!(
            fixed.matches(b"arn:aws:s3:::b/<cognito-identity.amazonaws.com:sub>/<aws:username>/k")
        );
        assert!(!fixed.matches(b"arn:aws:s3:::b/x/y/k"));
        assert!(arn_glob(&p, &Variables::Widen).matches(b"arn:aws:s3:::b/x/y/k"));
        // A request without the key: the default, or nothing at all.
        let p = arn("arn:aws:s3:::b/${aws:username, 'public'}/${aws:userid}/*");
        let absent = |v: &Variable| {
            if &*v.key_lower == "aws:username" {
                Reading::Absent
            } else {
                Reading::Value("u".to_string())
            }
        };
        assert!(arn_glob(&p, &Variables::Fixed(&absent)).matches(b"arn:aws:s3:::b/public/u/k"));
        let none = |_: &Variable| Reading::Absent;
        assert!(!arn_glob(&p, &Variables::Fixed(&none)).matches(b"arn:aws:s3:::b/public/u/k"));
        let some = |v: &Variable| {
            if &*v.key_lower == "aws:username" {
                Reading::Absent
            } else {
                Reading::Any
            }
        };
        assert!(arn_glob(&p, &Variables::Fixed(&some)).matches(b"arn:aws:s3:::b/public/x/k"));
    }

    #[test]
    fn formats_and_patterns() {
        let bucket = "arn:${Partition}:s3:::${BucketName}";
        let object = "arn:${Partition}:s3:::${BucketName}/${ObjectName}";
        let log_group = "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}";
        let may = |p: &str, f: &str| pattern_may_match_format(&arn(p), f);
        assert!(may(
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fn:*",
            log_group
        ));
        assert!(may("arn:aws:s3:::b/*", object));
        assert!(!may("arn:aws:s3:::b/*", bucket));
        assert!(may("arn:aws:s3:::b*", bucket));
        assert!(may("*", bucket));
        assert!(may(
            "arn:aws:s3:::b/private/${cognito-identity.amazonaws.com:sub}/*",
            object
        ));
        assert!(!may("arn:aws:s3:::b", object));
        assert!(!may("arn:aws:ec2:*:*:instance/*", bucket));
        let example = format_glob(object, FormatFill::Examples);
        assert!(example.matches(b"arn:aws:s3:::b/k"));
        assert!(!example.matches(b"arn:aws:s3:::/k"));
    }

    #[test]
    fn actions_are_read_in_lowercase() {
        let p = Pattern::parse(
            "S3:Get*",
            Syntax {
                variables: false,
                wildcards: true,
            },
            crate::lang::wildcard::Case::AsciiInsensitive,
        )
        .unwrap();
        let g = action_glob(&p);
        assert!(g.matches(b"s3:getobject"));
        assert!(!g.matches(b"s3:putobject"));
    }

    /// Brute-force model agreement: the translator's glob and the evaluator decide every
    /// generated ARN the same way.
    mod agreement {
        use super::*;
        use crate::lang::arn::ArnSyntax;
        use crate::lang::variables::{NoVariables, VariableSource};
        use crate::lang::wildcard::{Case, Match};
        use proptest::prelude::*;

        /// One variable, `${v}`, with a value.
        struct V(String);
        impl VariableSource for V {
            fn variable(&self, key_lower: &str) -> Option<&str> {
                (key_lower == "v").then_some(self.0.as_str())
            }
        }

        fn component() -> impl Strategy<Value = String> {
            prop::collection::vec(
                prop::sample::select(vec!["a", "b", "-", "/", "é", "*", "?", "${v}"]),
                0..4,
            )
            .prop_map(|v| v.concat())
        }

        /// `arn:` and one to six components; sometimes `*`.
        fn pattern() -> impl Strategy<Value = String> {
            prop_oneof![
                1 => Just("*".to_string()),
                12 => prop::collection::vec(component(), 1..7)
                    .prop_map(|parts| format!("arn:{}", parts.join(":"))),
            ]
        }

        /// Text a wildcard may stand for: empty, plain, or with colons.
        fn filler() -> impl Strategy<Value = &'static str> {
            prop::sample::select(vec!["", "a", ":", "a:b", "-1", "é", "::", "b/a"])
        }

        /// An ARN made from `pattern` by filling its wildcards (so that many match), or
        /// from random parts.
        fn arn_for(pattern: String) -> impl Strategy<Value = String> {
            let n = pattern.len();
            prop_oneof![
                prop::collection::vec(filler(), n..=n).prop_map(move |fill| {
                    let mut out = String::new();
                    for (c, f) in pattern.chars().zip(fill) {
                        match c {
                            '*' => out.push_str(f),
                            '?' => out.push(f.chars().next().unwrap_or(':')),
                            c => out.push(c),
                        }
                    }
                    out
                }),
                prop::collection::vec("[ab:/-]{0,3}", 3..8)
                    .prop_map(|parts| format!("arn:{}", parts.join(":"))),
            ]
        }

        fn case() -> impl Strategy<Value = (String, String, String, bool)> {
            (pattern(), "[a:/]{0,2}", any::<bool>()).prop_flat_map(|(p, value, resource)| {
                let filled = p.replace("${v}", &value);
                (Just(p), arn_for(filled), Just(value), Just(resource))
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4000))]

            #[test]
            fn arn_globs_agree_with_the_evaluator(
                (text, arn, value, resource) in case(),
            ) {
                let kind = if resource { ArnSyntax::Resource } else { ArnSyntax::Condition };
                let Ok(p) = ArnPattern::parse_with(&text, V2012, kind) else {
                    return Ok(());
                };
                let vars = V(value.clone());
                let fixed = |_: &Variable| Reading::Value(value.clone());
                let glob = arn_glob(&p, &Variables::Fixed(&fixed));
                // The guarantee is on ARNs: every resource a request can name.
                if crate::lang::arn::split_concrete(&arn).is_none() {
                    return Ok(());
                }
                prop_assert_eq!(
                    glob.matches(arn.as_bytes()),
                    p.matches(&arn, &vars) == Match::Yes,
                    "{} against {} with v = {:?}: {:?}", text, arn, value, glob
                );
                if !p.has_variables() {
                    let widened = arn_glob(&p, &Variables::Widen);
                    prop_assert_eq!(
                        widened.matches(arn.as_bytes()),
                        p.matches(&arn, &NoVariables) == Match::Yes
                    );
                }
            }

            #[test]
            fn action_globs_agree_with_the_evaluator(
                pattern in "[aBc*?:]{0,8}",
                text in "[AbC:é]{0,10}",
            ) {
                let syntax = Syntax { variables: false, wildcards: true };
                let p = Pattern::parse(&pattern, syntax, Case::AsciiInsensitive).unwrap();
                prop_assert_eq!(
                    action_glob(&p).matches(text.to_ascii_lowercase().as_bytes()),
                    p.matches(&text, &NoVariables) == Match::Yes
                );
            }
        }
    }
}

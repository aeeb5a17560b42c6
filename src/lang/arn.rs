//! ARN patterns: the values of `Resource`, `NotResource` and the `Arn*` condition
//! operators.
//!
//! An ARN is `arn:partition:service:region:account-id:resource`. Following the IAM User
//! Guide ("IAM JSON policy elements: Resource" and the `ArnLike` operator description),
//! the first five colon-delimited components are matched separately, so a wildcard there
//! never spans a `:`; everything after the fifth colon is the resource part, matched as one
//! piece of text, where `*` spans `/` and `:` alike. Matching is case-sensitive.
//! The pattern `*` alone matches every resource.

use crate::lang::variables::{self, Piece, Syntax, VariableError, VariableSource};
use crate::lang::wildcard::{Case, Match, Pattern};

/// A compiled ARN pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArnPattern {
    /// `*`: every resource.
    Any(Box<str>),
    /// An ARN with a pattern per component.
    Arn {
        /// The pattern as written.
        source: Box<str>,
        /// partition, service, region, account, resource: five patterns, or fewer when
        /// the pattern is cut short by a final `*` (see [`ArnPattern::parse_with`]).
        parts: Vec<Pattern>,
        /// True for `Resource` patterns: a component that ends with `*` may match across
        /// colons. `Arn*` condition values match strictly component by component.
        trailing_star_spans: bool,
        /// `arn:partition:service:region:account:` when those four components are plain
        /// text: then a prefix comparison replaces the component-by-component match.
        literal_head: Option<Box<str>>,
    },
}

/// Split `text` at its first `max` colons that are not inside a `${...}` variable (read
/// by the policy-variable lexer, [`variables::token_len`]). A malformed variable stops the
/// splitting: the rest is one component, whose parse then reports the error.
fn split_components(text: &str, skip_variables: bool, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() && out.len() < max {
        // `$` is ASCII, so `i` is then a character boundary.
        if skip_variables && bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
            match variables::token_len(&text[i..]) {
                Ok(len) => {
                    i += len;
                    continue;
                }
                Err(_) => break,
            }
        }
        if bytes[i] == b':' {
            out.push(&text[start..i]);
            start = i + 1;
        }
        i += 1;
    }
    out.push(&text[start..]);
    out
}

/// Why a text is not an ARN pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum ArnError {
    /// Neither `*` nor `arn:...`.
    #[error(
        "{:?} is not an ARN pattern: it must be '*' or start with 'arn:'",
        crate::loc::Shown(text)
    )]
    #[diagnostic(code(policy_sim::arn::prefix))]
    NotArn {
        /// The pattern as written.
        text: String,
    },
    /// Too few components (and no final `*` to stand for the rest).
    #[error(
        "{:?} is not an ARN pattern: expected '*' or 'arn:partition:service:region:account:resource'",
        crate::loc::Shown(text)
    )]
    #[diagnostic(code(policy_sim::arn::shape))]
    Shape {
        /// The pattern as written.
        text: String,
    },
    /// An empty partition or service.
    #[error(
        "{:?} is not an ARN pattern: the partition and service must not be empty",
        crate::loc::Shown(text)
    )]
    #[diagnostic(code(policy_sim::arn::empty))]
    EmptyPartitionOrService {
        /// The pattern as written.
        text: String,
    },
    /// `*` or `?` in a resource ARN's service.
    #[error(
        "{:?}: a wildcard cannot be used in the service component of a resource ARN",
        crate::loc::Shown(text)
    )]
    #[diagnostic(code(policy_sim::arn::service_wildcard))]
    WildcardInService {
        /// The pattern as written.
        text: String,
    },
    /// A variable before the resource part of a resource ARN.
    #[error(
        "{:?}: policy variables can only be used in the resource part of an ARN (after the fifth colon)",
        crate::loc::Shown(text)
    )]
    #[diagnostic(code(policy_sim::arn::variable_place))]
    VariableOutsideResource {
        /// The pattern as written.
        text: String,
    },
    /// A malformed `${...}` in a component.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Variable(#[from] VariableError),
}

/// Match `parts` (the pattern's components after `arn:`) against `text` (the ARN after
/// `arn:`).
///
/// The fifth component (the resource part) takes the rest of the text, colons included.
/// Every other component is matched against the text up to the next colon, so its
/// wildcards never cross a colon. When `spans` (a `Resource` pattern) and the region or
/// account component ends with `*`, that final `*` may also swallow the colon and what
/// follows: the next component may then start after any later colon. (The partition never
/// spans, so the service component is always the ARN's own service.) The last component of
/// a short pattern always ends with `*` and so takes the rest of the text.
///
/// Cost: a direct recursion for ordinary ARNs; for an ARN with many colons and a spanning
/// component, a table over (component, colon) that keeps the work near-linear in the ARN's
/// length instead of a power of its colon count: each colon's segment is matched once per
/// component, and the resource part from all colons at once
/// ([`Pattern::matches_from_each`]).
fn match_components(parts: &[Pattern], text: &str, vars: &dyn VariableSource, spans: bool) -> bool {
    let spanning = |i: usize, p: &Pattern| {
        spans && (2..4).contains(&i) && matches!(p.pieces().last(), Some(Piece::Star))
    };
    let any_spanning = parts.iter().enumerate().any(|(i, p)| spanning(i, p));
    const RECURSION_COLONS: usize = 16;
    if any_spanning && memchr::memchr_iter(b':', text.as_bytes()).count() > RECURSION_COLONS {
        return match_table(parts, text, vars, &spanning);
    }
    match_from(parts, 0, text, vars, &spanning)
}

/// Does the component at `index` match `text` as its own segment (or, for the resource
/// part and the last component of a short pattern, as the rest of the ARN)?
fn segment_end(index: usize, last: usize, text: &str) -> Option<usize> {
    if index == 4 {
        return Some(text.len());
    }
    match text.find(':') {
        Some(colon) => Some(colon),
        // A short pattern's final `*` component may end the text; others need a colon.
        None if index == last => Some(text.len()),
        None => None,
    }
}

fn match_from(
    parts: &[Pattern],
    index: usize,
    text: &str,
    vars: &dyn VariableSource,
    spanning: &dyn Fn(usize, &Pattern) -> bool,
) -> bool {
    let last = parts.len() - 1;
    let part = &parts[index];
    let Some(end) = segment_end(index, last, text) else {
        return false;
    };
    if part.matches(&text[..end], vars) != Match::Yes {
        return false;
    }
    if index == last {
        // The resource part took everything; a short pattern's final `*` takes the rest.
        return true;
    }
    let mut colon = end;
    loop {
        if match_from(parts, index + 1, &text[colon + 1..], vars, spanning) {
            return true;
        }
        if !spanning(index, part) {
            return false;
        }
        match text[colon + 1..].find(':') {
            Some(next) => colon = colon + 1 + next,
            None => return false,
        }
    }
}

/// The same decision as [`match_from`], computed over a table: `ok[j]` says whether the
/// components from the current one on match the text starting at the `j`-th start
/// position (the text's start, then just after each colon).
fn match_table(
    parts: &[Pattern],
    text: &str,
    vars: &dyn VariableSource,
    spanning: &dyn Fn(usize, &Pattern) -> bool,
) -> bool {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(memchr::memchr_iter(b':', text.as_bytes()).map(|c| c + 1))
        .collect();
    let last = parts.len() - 1;
    let mut next: Vec<bool> = Vec::new();
    for index in (0..parts.len()).rev() {
        let part = &parts[index];
        // suffix_any[j]: some start at or after j works for the next component.
        let mut suffix_any = vec![false; starts.len() + 1];
        for j in (0..next.len()).rev() {
            suffix_any[j] = next[j] || suffix_any[j + 1];
        }
        let mut ok = vec![false; starts.len()];
        if index == 4 {
            // The resource part takes the rest of the text from each start: matched for
            // all starts at once, in near-linear time (its last component, so no `next`).
            part.matches_from_each(text, &starts, vars, &mut ok);
            next = ok;
            continue;
        }
        for (j, &start) in starts.iter().enumerate() {
            let rest = &text[start..];
            let Some(end) = segment_end(index, last, rest) else {
                continue;
            };
            if part.matches(&rest[..end], vars) != Match::Yes {
                continue;
            }
            ok[j] = if index == last {
                true
            } else {
                // The next component starts just after the colon that ends this segment:
                // start position j + 1 (every colon is a start position).
                let first = j + 1;
                if spanning(index, part) {
                    suffix_any.get(first).copied().unwrap_or(false)
                } else {
                    next.get(first).copied().unwrap_or(false)
                }
            };
        }
        next = ok;
    }
    next.first().copied().unwrap_or(false)
}

/// The components of a concrete ARN: partition, service, region, account, resource.
/// `None` when the text is not `arn:` followed by at least five colon-separated parts.
pub fn split_concrete(arn: &str) -> Option<[&str; 5]> {
    let rest = arn.strip_prefix("arn:")?;
    let mut it = rest.splitn(5, ':');
    let parts = [it.next()?, it.next()?, it.next()?, it.next()?, it.next()?];
    Some(parts)
}

/// The account field of a concrete ARN (its fifth colon-separated part), in one pass over
/// the bytes; `None` when the text is not `arn:` followed by five parts. An empty field
/// (S3) is `Some("")`.
pub fn account_field(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:")?;
    let mut colons = 0;
    let mut start = 0;
    for (i, &b) in rest.as_bytes().iter().enumerate() {
        if b == b':' {
            colons += 1;
            match colons {
                3 => start = i + 1,
                // Colons are ASCII: both ends are character boundaries.
                4 => return rest.get(start..i),
                _ => {}
            }
        }
    }
    None
}

/// Where an ARN pattern appears; the rules differ slightly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArnSyntax {
    /// `Resource`/`NotResource`: no wildcard in the service component, and policy variables
    /// only in the resource part (after the fifth colon).
    Resource,
    /// `Arn*` condition values: wildcards and variables in any component.
    Condition,
}

impl ArnPattern {
    /// Parse a `Resource`/`NotResource` pattern; see [`ArnPattern::parse_with`].
    pub fn parse(text: &str, syntax: Syntax) -> Result<ArnPattern, ArnError> {
        ArnPattern::parse_with(text, syntax, ArnSyntax::Resource)
    }

    /// Parse an ARN pattern: `*` or `arn:partition:service:region:account:resource`, each
    /// component possibly with wildcards and (when `syntax.variables`) policy variables.
    ///
    /// A pattern with fewer components is accepted only when its last component ends
    /// with `*` (e.g. `arn:aws:s3:*`): AWS documents that a `*` ending a segment "can
    /// expand to match beyond the colon boundaries", so that component matches the rest
    /// of the ARN. Anything else is an error.
    pub fn parse_with(text: &str, syntax: Syntax, kind: ArnSyntax) -> Result<ArnPattern, ArnError> {
        if text == "*" {
            return Ok(ArnPattern::Any(text.into()));
        }
        let components = split_components(text, syntax.variables, 5);
        if components[0] != "arn" {
            return Err(ArnError::NotArn { text: text.into() });
        }
        let parts = &components[1..];
        let short = parts.len() < 5;
        let spans = kind == ArnSyntax::Resource;
        if parts.len() < 2 || (short && !(spans && parts[parts.len() - 1].ends_with('*'))) {
            return Err(ArnError::Shape { text: text.into() });
        }
        if parts[0].is_empty() || parts[1].is_empty() {
            return Err(ArnError::EmptyPartitionOrService { text: text.into() });
        }
        if kind == ArnSyntax::Resource && parts[1].contains(['*', '?']) {
            return Err(ArnError::WildcardInService { text: text.into() });
        }
        let parts = parts
            .iter()
            .map(|t| Pattern::parse(t, syntax, Case::Sensitive))
            .collect::<Result<Vec<_>, _>>()?;
        // Read by the lexer: an escape such as `${*}` is text, not a variable.
        if kind == ArnSyntax::Resource
            && parts[..parts.len().min(4)]
                .iter()
                .any(Pattern::has_variables)
        {
            return Err(ArnError::VariableOutsideResource { text: text.into() });
        }
        let literal_head = if parts.len() == 5 && parts[..4].iter().all(|p| p.as_exact().is_some())
        {
            let mut head = String::from("arn:");
            for p in &parts[..4] {
                head.push_str(p.as_exact().unwrap_or_default());
                head.push(':');
            }
            Some(head.into_boxed_str())
        } else {
            None
        };
        Ok(ArnPattern::Arn {
            source: text.into(),
            parts,
            trailing_star_spans: spans,
            literal_head,
        })
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        match self {
            ArnPattern::Any(s) => s,
            ArnPattern::Arn { source, .. } => source,
        }
    }

    /// The pattern as one plain comparison with the whole ARN, when it is one:
    /// `(text, false)` when it matches exactly `text`, `(text, true)` when it matches
    /// exactly the ARNs that begin with `text`. `None` for other patterns (`*`, wildcards
    /// or variables before the resource part, a resource part other than `literal` or
    /// `literal*`). [`ArnPattern::matches`] gives the same answers.
    pub fn as_literal(&self) -> Option<(String, bool)> {
        let ArnPattern::Arn {
            parts,
            literal_head: Some(head),
            ..
        } = self
        else {
            return None;
        };
        let last = parts.get(4).filter(|p| p.case() == Case::Sensitive)?;
        if let Some(exact) = last.as_exact() {
            return Some((format!("{head}{exact}"), false));
        }
        last.as_prefix()
            .map(|prefix| (format!("{head}{prefix}"), true))
    }

    /// True when any component holds a policy variable.
    pub fn has_variables(&self) -> bool {
        match self {
            ArnPattern::Any(_) => false,
            ArnPattern::Arn { parts, .. } => parts.iter().any(Pattern::has_variables),
        }
    }

    /// Match a concrete ARN (or the text `*`, which only the pattern `*` matches).
    ///
    /// Cost: each component is a wildcard match; a `Resource` component ending in `*`
    /// tries each later colon of the ARN as its end. Up to 16 colons this is a direct
    /// recursion with no allocation of its own; beyond, a table near-linear in the ARN's
    /// length (see `match_components`), which allocates.
    pub fn matches(&self, arn: &str, vars: &dyn VariableSource) -> Match {
        let (parts, spans, head) = match self {
            ArnPattern::Any(_) => return Match::Yes,
            ArnPattern::Arn {
                parts,
                trailing_star_spans,
                literal_head,
                ..
            } => (parts, *trailing_star_spans, literal_head),
        };
        if let Some(head) = head {
            // Plain-text components contain no colon, so a matching prefix fixes the
            // first five colons and leaves exactly the resource part (which reports a
            // variable without value itself).
            if let Some(resource) = arn.strip_prefix(&**head) {
                return parts[4].matches(resource, vars);
            }
        }
        // A variable with no value makes the pattern match nothing.
        if !parts.iter().all(|p| p.resolves(vars)) {
            return Match::Unresolved;
        }
        if head.is_some() {
            return Match::No;
        }
        if split_concrete(arn).is_none() {
            return Match::No;
        }
        if match_components(parts, &arn["arn:".len()..], vars, spans) {
            Match::Yes
        } else {
            Match::No
        }
    }

    /// The pattern with variables replaced by their values, for explanations.
    pub fn render(&self, vars: &dyn VariableSource) -> String {
        match self {
            ArnPattern::Any(s) => s.to_string(),
            ArnPattern::Arn { parts, .. } => {
                let mut out = String::from("arn");
                for p in parts.iter() {
                    out.push(':');
                    out.push_str(&p.render(vars));
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::variables::NoVariables;

    const V2012: Syntax = Syntax {
        variables: true,
        wildcards: true,
    };

    fn m(pattern: &str, arn: &str) -> bool {
        ArnPattern::parse(pattern, V2012)
            .unwrap()
            .matches(arn, &NoVariables)
            == Match::Yes
    }

    #[test]
    fn star_matches_everything() {
        assert!(m("*", "arn:aws:s3:::b/k"));
        assert!(m("*", "*"));
    }

    #[test]
    fn resource_part_star_spans_slash_and_colon() {
        assert!(m("arn:aws:s3:::b/*", "arn:aws:s3:::b/a/b:c"));
        assert!(m(
            "arn:aws:execute-api:us-east-1:*:abc/*",
            "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/notes"
        ));
        assert!(!m("arn:aws:s3:::b/*", "arn:aws:s3:::c/x"));
    }

    #[test]
    fn components_match_separately() {
        // A `*` in the region component does not swallow the account's colon: this
        // pattern has only five components and is rejected.
        assert!(ArnPattern::parse("arn:aws:execute-api:us-east-1:abc/x", V2012).is_err());
        assert!(m("arn:aws:s3:*:*:*", "arn:aws:s3:::b"));
        assert!(!m("arn:aws:s3:*:*:b", "arn:aws:s3:::c"));
        assert!(!m("arn:aws:s3:::b", "arn:aws-cn:s3:::b"));
        // In a Resource, a component ending in `*` may expand beyond the colon
        // (IAM User Guide, "Using wildcards in resource ARNs") ...
        assert!(m("arn:aws:sns:us-*:1:t", "arn:aws:sns:us-east-1:1:x:1:t"));
        // ... but a `*` inside a component may not.
        assert!(!m("arn:aws:sns:us-*-1:1:t", "arn:aws:sns:us-east:x-1:1:t"));
        // ArnLike checks the six components separately (Condition operators, ARN
        // section: the someservice example).
        let cond = ArnPattern::parse_with(
            "arn:aws:someservice:*:111122223333:finance/*",
            V2012,
            ArnSyntax::Condition,
        )
        .unwrap();
        let value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/x";
        assert_eq!(cond.matches(value, &NoVariables), Match::No);
        assert!(m("arn:aws:someservice:*:111122223333:finance/*", value));
    }

    #[test]
    fn resource_rules_differ_from_condition_rules() {
        assert_eq!(
            ArnPattern::parse("arn:aws:*:*:*:*", V2012)
                .unwrap_err()
                .to_string(),
            "\"arn:aws:*:*:*:*\": a wildcard cannot be used in the service component of a resource ARN"
        );
        assert!(ArnPattern::parse_with("arn:aws:*:*:*:*", V2012, ArnSyntax::Condition).is_ok());
        assert_eq!(
            ArnPattern::parse("arn:aws:s3:${aws:region}::b", V2012)
                .unwrap_err()
                .to_string(),
            "\"arn:aws:s3:${aws:region}::b\": policy variables can only be used in the resource part of an ARN (after the fifth colon)"
        );
    }

    #[test]
    fn an_escape_before_the_resource_part_is_text_not_a_variable() {
        // `${*}` is a literal `*` (the lexer's reading), so it is no variable in the region.
        let p = ArnPattern::parse("arn:aws:s3:${*}::b", V2012).unwrap();
        assert_eq!(p.matches("arn:aws:s3:*::b", &NoVariables), Match::Yes);
        assert_eq!(p.matches("arn:aws:s3:x::b", &NoVariables), Match::No);
    }

    #[test]
    fn partition_never_spans_into_the_service() {
        assert!(!m("arn:aws*:s3:::b", "arn:aws:ec2:x:s3:::b"));
        assert!(m("arn:aws*:s3:::b", "arn:aws-cn:s3:::b"));
    }

    #[test]
    fn many_colons_use_the_table_and_agree_with_recursion() {
        let colons = ":".repeat(3000);
        let arn = format!("arn:aws:sqs:{colons}y");
        assert!(!m("arn:aws:sqs:*:*:*x", &arn));
        assert!(m("arn:aws:sqs:*:*:*y", &arn));
        assert!(m("arn:aws:sqs:a*:*:*y", &format!("arn:aws:sqs:a{colons}y")));
        assert!(!m(
            "arn:aws:sqs:a*:b:*y",
            &format!("arn:aws:sqs:a{colons}y")
        ));
        assert!(m(
            "arn:aws:sqs:a*:b:*y",
            &format!("arn:aws:sqs:a{colons}b:y")
        ));
    }

    /// A resource part with a middle segment, from each of 50,000 colons: the resource
    /// part is matched for all colons at once (it was re-matched from every colon, which
    /// is quadratic in the colons). Decisions only; no timing asserted.
    #[test]
    fn resource_part_with_a_middle_segment_after_many_colons() {
        let colons = "a:".repeat(50_000);
        let arn = format!("arn:aws:s3:{colons}");
        assert!(!m("arn:aws:s3:*:*:a*b*:", &arn));
        assert!(m("arn:aws:s3:*:*:a*:*:", &arn));
        assert!(m("arn:aws:s3:*:*:a*b*:", &format!("arn:aws:s3:{colons}b:")));
        assert!(m(
            "arn:aws:s3:*:a:a*b*:",
            &format!("arn:aws:s3:x:b{colons}b:")
        ));
        assert!(!m(
            "arn:aws:s3:*:a:a*b*:",
            &format!("arn:aws:s3:x:b{colons}")
        ));
        // The prefix and the suffix may not overlap; `?` in the prefix.
        let other = "b:".repeat(50_000);
        assert!(!m(
            "arn:aws:s3:*:*:a:a*a:a",
            &format!("arn:aws:s3:{other}a:a")
        ));
        assert!(m(
            "arn:aws:s3:*:*:a:a*a:a",
            &format!("arn:aws:s3:{other}a:aa:a")
        ));
        assert!(m(
            "arn:aws:s3:*:*:a?a*a:a",
            &format!("arn:aws:s3:{colons}a:a")
        ));
        assert!(m(
            "arn:aws:s3:*:*:?:a*b*?",
            &format!("arn:aws:s3:{colons}bé")
        ));
    }

    #[test]
    fn short_pattern_ending_in_star_spans_the_rest() {
        assert!(m("arn:aws:s3:*", "arn:aws:s3:::b/k"));
        assert!(m("arn:aws:iam::*", "arn:aws:iam::123456789012:role/x"));
        assert!(!m("arn:aws:iam::*", "arn:aws:s3:::b"));
        assert!(m(
            "arn:aws:execute-api:*:abc/*",
            "arn:aws:execute-api:us-east-1:1:abc/x"
        ));
    }

    #[test]
    fn case_sensitive() {
        assert!(!m("arn:aws:s3:::Bucket/*", "arn:aws:s3:::bucket/x"));
    }

    #[test]
    fn not_an_arn() {
        assert!(!m("arn:aws:s3:::*", "*"));
        assert!(!m("arn:aws:s3:::*", "s3://bucket"));
        assert_eq!(
            ArnPattern::parse("bucket/*", V2012)
                .unwrap_err()
                .to_string(),
            "\"bucket/*\" is not an ARN pattern: it must be '*' or start with 'arn:'"
        );
        assert!(ArnPattern::parse("arn:aws:s3", V2012).is_err());
        assert!(ArnPattern::parse("nar:aws:s3:::b", V2012).is_err());
    }

    #[test]
    fn variable_with_colons_stays_in_resource_part() {
        let p = ArnPattern::parse(
            "arn:aws:s3:::b/${cognito-identity.amazonaws.com:sub}/*",
            V2012,
        )
        .unwrap();
        assert!(p.has_variables());
        struct Sub;
        impl VariableSource for Sub {
            fn variable(&self, k: &str) -> Option<&str> {
                (k == "cognito-identity.amazonaws.com:sub").then_some("us-east-1:abc")
            }
        }
        assert_eq!(
            p.matches("arn:aws:s3:::b/us-east-1:abc/k", &Sub),
            Match::Yes
        );
        assert_eq!(p.matches("arn:aws:s3:::b/us-east-1:abd/k", &Sub), Match::No);
        assert_eq!(
            p.matches("arn:aws:s3:::b/x/k", &NoVariables),
            Match::Unresolved
        );
    }
}

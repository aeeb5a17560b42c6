//! The hand-written wildcard and ARN matchers against an independent model: a translation
//! of the same IAM pattern into a `regex`, checked with proptest on generated patterns and
//! texts. Also: the parser never panics, whatever the input.

use policy_sim::lang::arn::{ArnPattern, ArnSyntax};
use policy_sim::lang::variables::{NoVariables, Syntax};
use policy_sim::lang::wildcard::{Case, Match, Pattern};
use proptest::prelude::*;

const WILD: Syntax = Syntax {
    variables: false,
    wildcards: true,
};

/// `*` → any run, `?` → one character, everything else literal; anchored.
fn glob_regex(pattern: &str, star: &str, one: &str) -> String {
    let mut re = String::new();
    for c in pattern.chars() {
        match c {
            '*' => re.push_str(star),
            '?' => re.push_str(one),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re
}

/// The model of a resource ARN pattern `arn:aws:s3:{region}:{account}:{resource}`: a
/// wildcard stays inside its component, except a `*` that ends the region or account,
/// which runs on across colons; in the resource part every `*` spans everything.
fn s3_resource_regex(region: &str, account: &str, resource: &str) -> regex::Regex {
    let component = |c: &str| match c.strip_suffix('*') {
        Some(head) => format!("(?:{}.*)", glob_regex(head, "[^:]*", "[^:]")),
        None => format!("(?:{})", glob_regex(c, "[^:]*", "[^:]")),
    };
    let re = format!(
        "^(?s:arn:aws:s3:{}:{}:{})$",
        component(region),
        component(account),
        glob_regex(resource, ".*", ".")
    );
    regex::Regex::new(&re).unwrap()
}

fn pattern_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!['a', 'b', '/', ':', '*', '?', 'é']),
        0..10,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn text_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!['a', 'b', '/', ':', 'é', '*']),
        0..14,
    )
    .prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn wildcard_matches_like_regex(pattern in pattern_strategy(), text in text_strategy()) {
        let re = regex::Regex::new(&format!("^(?s:{})$", glob_regex(&pattern, ".*", "."))).unwrap();
        let p = Pattern::parse(&pattern, WILD, Case::Sensitive).unwrap();
        prop_assert_eq!(p.matches(&text, &NoVariables) == Match::Yes, re.is_match(&text));
    }

    #[test]
    fn ascii_case_insensitive_matches_like_regex(
        pattern in "[aBc*?:]{0,10}",
        text in "[AbC:]{0,20}",
    ) {
        let re = regex::Regex::new(&format!("^(?i:{})$", glob_regex(&pattern, ".*", "."))).unwrap();
        let p = Pattern::parse(&pattern, WILD, Case::AsciiInsensitive).unwrap();
        prop_assert_eq!(p.matches(&text, &NoVariables) == Match::Yes, re.is_match(&text));
        prop_assert_eq!(p.matches_segmented(&text, &NoVariables) == Match::Yes, re.is_match(&text));
    }

    /// Resource ARN patterns: wildcards inside the partition/service/region/account
    /// components stay inside the component, except a `*` that ends a component, which
    /// may run on across colons; in the resource part every `*` spans everything.
    #[test]
    fn resource_arn_matches_like_regex(
        region in "[ab*?]{0,3}",
        account in "[12*?]{0,3}",
        resource in "[x/:*?]{0,5}",
        text_region in "[ab:]{0,12}",
        text_account in "[12:]{0,12}",
        text_resource in "[x/:]{0,8}",
    ) {
        // Up to 30 colons: both the direct recursion and the table (used past 16 colons)
        // are exercised.
        let pattern = format!("arn:aws:s3:{region}:{account}:{resource}");
        let text = format!("arn:aws:s3:{text_region}:{text_account}:{text_resource}");
        let re = s3_resource_regex(&region, &account, &resource);
        let p = ArnPattern::parse(&pattern, WILD).unwrap();
        prop_assert_eq!(
            p.matches(&text, &NoVariables) == Match::Yes,
            re.is_match(&text),
            "pattern {} text {}", pattern, text
        );
    }

    /// ARNs with more than 16 colons take the table-driven path: same answers.
    #[test]
    fn resource_arn_with_many_colons_matches_like_regex(
        region in "[a*?]{0,3}",
        account in "[1*?]{0,3}",
        resource in "[x:*?]{0,4}",
        text_region in "[a:]{17,30}",
        text_account in "[1:]{0,6}",
        text_resource in "[x:]{0,6}",
    ) {
        let pattern = format!("arn:aws:s3:{region}:{account}:{resource}");
        let text = format!("arn:aws:s3:{text_region}:{text_account}:{text_resource}");
        let re = s3_resource_regex(&region, &account, &resource);
        let p = ArnPattern::parse(&pattern, WILD).unwrap();
        prop_assert_eq!(
            p.matches(&text, &NoVariables) == Match::Yes,
            re.is_match(&text),
            "pattern {} text {}", pattern, text
        );
    }

    /// Many colons against resource parts with middle segments, `?` and colons: the
    /// resource part is then matched from every colon at once (`matches_from_each`).
    #[test]
    fn resource_arn_with_many_colons_and_middle_segments_matches_like_regex(
        region in "[a*?]{0,2}\\*",
        account in "[1:*?]{0,3}",
        resource in "[xé:*?]{0,8}",
        text_region in "[a:]{17,40}",
        text_account in "[1:]{0,6}",
        text_resource in "[xé:]{0,12}",
    ) {
        let pattern = format!("arn:aws:s3:{region}:{account}:{resource}");
        let Ok(p) = ArnPattern::parse(&pattern, WILD) else {
            return Ok(());
        };
        let text = format!("arn:aws:s3:{text_region}:{text_account}:{text_resource}");
        // The pattern's own reading: region ending in `*`, then the split made by the
        // parser (the account is what comes before the next colon).
        let (account, resource) = pattern["arn:aws:s3:".len() + region.len() + 1..]
            .split_once(':')
            .unwrap_or_default();
        let re = s3_resource_regex(&region, account, resource);
        prop_assert_eq!(
            p.matches(&text, &NoVariables) == Match::Yes,
            re.is_match(&text),
            "pattern {} text {}", pattern, text
        );
    }

    /// Matching from every colon at once agrees with matching each suffix on its own.
    #[test]
    fn matches_from_each_agrees_with_each_suffix(
        pattern in "[aB:é*?]{0,10}",
        text in "[abAB:é]{0,40}",
        case_insensitive in any::<bool>(),
    ) {
        let case = if case_insensitive { Case::AsciiInsensitive } else { Case::Sensitive };
        let p = Pattern::parse(&pattern, WILD, case).unwrap();
        let starts: Vec<usize> = std::iter::once(0)
            .chain(text.match_indices(':').map(|(i, _)| i + 1))
            .collect();
        let mut out = vec![true; starts.len()];
        let any = p.matches_from_each(&text, &starts, &NoVariables, &mut out);
        let each: Vec<bool> = starts
            .iter()
            .map(|&s| p.matches(&text[s..], &NoVariables) == Match::Yes)
            .collect();
        prop_assert_eq!(&out, &each, "pattern {} text {}", pattern, text);
        prop_assert_eq!(any == Match::Yes, each.contains(&true));
    }

    /// `Arn*` condition values: every component strictly on its own.
    #[test]
    fn condition_arn_matches_like_regex(
        region in "[ab*?]{0,3}",
        resource in "[x/:*?]{0,5}",
        text_region in "[ab:]{0,3}",
        text_resource in "[x/:]{0,5}",
    ) {
        let pattern = format!("arn:aws:sns:{region}:1:{resource}");
        let text = format!("arn:aws:sns:{text_region}:1:{text_resource}");
        let re = format!(
            "^(?s:arn:aws:sns:{}:1:{})$",
            glob_regex(&region, "[^:]*", "[^:]"),
            glob_regex(&resource, ".*", ".")
        );
        let re = regex::Regex::new(&re).unwrap();
        let p = ArnPattern::parse_with(&pattern, WILD, ArnSyntax::Condition).unwrap();
        prop_assert_eq!(p.matches(&text, &NoVariables) == Match::Yes, re.is_match(&text));
    }

    #[test]
    fn parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = policy_sim::lang::parse::parse_policy("fuzz.json", &bytes);
    }

    #[test]
    fn parser_never_panics_on_policy_like_text(
        effect in "(Allow|Deny|allow|)",
        action in "[a-z0-9*?:${}]{0,12}",
        resource in "[a-z0-9*?:/${}', ]{0,24}",
        op in "(StringEquals|StringLike|NumericLessThan|DateEquals|Bool|IpAddress|ArnLike|Null|ForAnyValue:StringLike|Foo)(IfExists)?",
        key in "[a-z:/]{0,8}",
        value in "[a-z0-9.:/*${}]{0,12}",
    ) {
        let doc = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": effect, "Action": action, "Resource": resource,
                           "Condition": {op.clone(): {key.clone(): value.clone()}}}]
        });
        let bytes = serde_json::to_vec(&doc).unwrap();
        if let Ok(policy) = policy_sim::lang::parse::parse_policy("gen.json", &bytes) {
            // Whatever loads must evaluate without panicking.
            let set = policy_sim::eval::PolicySet::new(vec![policy]);
            let mut req = policy_sim::request::Request::new("s3:GetObject", "arn:aws:s3:::b/k");
            req.context.add(&key, value.clone());
            let _ = set.evaluate(&req);
        }
    }
}

proptest! {
    // Fewer cases: the inputs are longer.
    #![proptest_config(ProptestConfig::with_cases(600))]

    /// The segment matcher (taken for long inputs) on the same inputs, and on longer ones
    /// with long runs of one letter, where occurrences overlap.
    #[test]
    fn segment_matcher_matches_like_regex(
        pattern in pattern_strategy(),
        text in text_strategy(),
        long_pattern in "[ab*?é]{0,40}",
        long_text in "[abé]{0,120}",
    ) {
        for (pattern, text) in [(&pattern, &text), (&long_pattern, &long_text)] {
            let re = regex::Regex::new(&format!("^(?s:{})$", glob_regex(pattern, ".*", "."))).unwrap();
            let p = Pattern::parse(pattern, WILD, Case::Sensitive).unwrap();
            prop_assert_eq!(
                p.matches_segmented(text, &NoVariables) == Match::Yes,
                re.is_match(text),
                "pattern {} text {}", pattern, text
            );
            prop_assert_eq!(p.matches(text, &NoVariables), p.matches_segmented(text, &NoVariables));
        }
    }

    /// `?` segments longer than one machine word (64 characters) of state, on texts built
    /// to match them or to miss by one character.
    #[test]
    fn long_any_char_segments_match_like_regex(
        head in "[ab?]{60,70}",
        tail in "[ab?]{0,80}",
        fill in "[ab]{0,30}",
        flip in 0usize..200,
    ) {
        let pattern = format!("*{head}*{tail}*");
        let mut text: Vec<u8> =
            format!("{fill}{}{fill}{}{fill}", head.replace('?', "a"), tail.replace('?', "b")).into_bytes();
        if let Some(c) = text.get_mut(flip) {
            *c = if *c == b'a' { b'b' } else { b'a' };
        }
        let text = String::from_utf8(text).unwrap();
        let re = regex::Regex::new(&format!("^(?s:{})$", glob_regex(&pattern, ".*", "."))).unwrap();
        let p = Pattern::parse(&pattern, WILD, Case::Sensitive).unwrap();
        prop_assert_eq!(p.matches_segmented(&text, &NoVariables) == Match::Yes, re.is_match(&text));
        prop_assert_eq!(p.matches(&text, &NoVariables) == Match::Yes, re.is_match(&text));
    }
}

/// Variable values for the patterns with variables: `${k}` and `${v}` resolve (to text
/// holding wildcard characters, which must match only themselves), `${none}` does not.
struct ModelVars;

impl policy_sim::lang::variables::VariableSource for ModelVars {
    fn variable(&self, key_lower: &str) -> Option<&str> {
        match key_lower {
            "k" => Some("a*"),
            "v" => Some("B/"),
            _ => None,
        }
    }
}

/// The model of a pattern with variables: `Unresolved` when one has no value, else the
/// pattern with each value substituted as literal text, as a regex.
fn model_with_variables(tokens: &[&str], case: Case, text: &str) -> Match {
    let mut re = String::new();
    for t in tokens {
        match *t {
            "${none}" => return Match::Unresolved,
            "${k}" => re.push_str(&regex::escape("a*")),
            "${v}" => re.push_str(&regex::escape("B/")),
            "*" => re.push_str(".*"),
            "?" => re.push('.'),
            other => re.push_str(&regex::escape(other)),
        }
    }
    let flags = match case {
        Case::Sensitive => "s",
        Case::AsciiInsensitive => "si",
    };
    if regex::Regex::new(&format!("^(?{flags}:{re})$"))
        .unwrap()
        .is_match(text)
    {
        Match::Yes
    } else {
        Match::No
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Patterns with variables, most of them texts and variables with at most a final
    /// `*` (the chain the matcher answers by prefix comparisons), against the model, in
    /// both cases; the segment matcher gives the same answers.
    #[test]
    fn patterns_with_variables_match_like_the_model(
        tokens in prop::collection::vec(
            prop::sample::select(vec!["a", "b", "/", "${k}", "${v}", "${none}", "?"]),
            0..6,
        ),
        star in any::<bool>(),
        insensitive in any::<bool>(),
        text in "[aAbB/*]{0,12}",
    ) {
        let mut tokens = tokens;
        if star {
            tokens.push("*");
        }
        let pattern: String = tokens.concat();
        let case = if insensitive { Case::AsciiInsensitive } else { Case::Sensitive };
        let syntax = Syntax { variables: true, wildcards: true };
        let p = Pattern::parse(&pattern, syntax, case).unwrap();
        let want = model_with_variables(&tokens, case, &text);
        prop_assert_eq!(p.matches(&text, &ModelVars), want, "{} on {}", pattern, text);
        prop_assert_eq!(p.matches_segmented(&text, &ModelVars), want, "{} on {}", pattern, text);
    }
}

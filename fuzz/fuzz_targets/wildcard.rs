//! The wildcard matcher (`policy_sim::lang::wildcard`) against the reference matcher in
//! `src/glob.rs`.
//!
//! Properties:
//! - every match (with or without variable syntax, wildcards on or off, case-sensitive
//!   or ASCII case-insensitive) agrees with the reference, variables replaced by their
//!   values as literal text;
//! - a variable with no value and no default gives `Unresolved`, never `Yes`;
//! - text without `${` parses to the same pieces with and without variable syntax.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use policy_sim::lang::variables::{Piece, Syntax, VariableSource, resolve};
use policy_sim::lang::wildcard::{Case, Match, Pattern};
use policy_sim_fuzz::glob::{self, Unit};

#[derive(Arbitrary, Debug)]
struct Input {
    pattern: String,
    /// The text to match, or (when `from_pattern`) the filler for the pattern's `*`.
    text: String,
    from_pattern: bool,
    insensitive: bool,
    variables: bool,
    wildcards: bool,
    values: Vec<(String, String)>,
}

struct Values<'a>(&'a [(String, String)]);

impl VariableSource for Values<'_> {
    fn variable(&self, key_lower: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.to_ascii_lowercase() == key_lower)
            .map(|(_, v)| v.as_str())
    }
}

/// The reference's units for parsed pieces, variables replaced by their values; `None`
/// when a variable has no value.
fn units(pieces: &[Piece], vars: &dyn VariableSource) -> Option<Vec<Unit>> {
    let mut out = Vec::new();
    for p in pieces {
        match p {
            Piece::Literal(l) => out.extend(l.chars().map(Unit::Char)),
            Piece::Variable(v) => out.extend(resolve(v, vars)?.chars().map(Unit::Char)),
            Piece::Star => out.push(Unit::Star),
            Piece::AnyChar => out.push(Unit::One),
        }
    }
    Some(out)
}

/// A text the pattern should match: `*` replaced by `fill`, `?` by one character.
fn instance(units: &[Unit], fill: &str) -> String {
    units
        .iter()
        .map(|u| match u {
            Unit::Char(c) => c.to_string(),
            Unit::One => "é".to_string(),
            Unit::Star => fill.to_string(),
        })
        .collect()
}

fuzz_target!(|input: Input| {
    let syntax = Syntax {
        variables: input.variables,
        wildcards: input.wildcards,
    };
    let case = if input.insensitive {
        Case::AsciiInsensitive
    } else {
        Case::Sensitive
    };
    let Ok(pattern) = Pattern::parse(&input.pattern, syntax, case) else {
        assert!(input.variables, "only variable syntax can be malformed");
        return;
    };
    if !input.pattern.contains("${") {
        let plain = Pattern::parse(
            &input.pattern,
            Syntax {
                variables: false,
                ..syntax
            },
            case,
        )
        .expect("no variable syntax, no error");
        assert_eq!(
            pattern.pieces(),
            plain.pieces(),
            "`${{` absent, yet variables change pieces"
        );
        let raw = glob::units_of(&input.pattern, input.wildcards);
        let ours = units(plain.pieces(), &Values(&[])).expect("no variables");
        // Case-insensitive patterns keep their literals in lowercase.
        let fold = |u: &[Unit]| -> Vec<Unit> {
            u.iter()
                .map(|x| match x {
                    Unit::Char(c) if input.insensitive => Unit::Char(c.to_ascii_lowercase()),
                    x => *x,
                })
                .collect()
        };
        assert_eq!(
            fold(&raw),
            fold(&ours),
            "the pieces are not the text's wildcards"
        );
    }
    let vars = Values(&input.values);
    let got = pattern.matches(&input.text, &vars);
    let Some(expected_units) = units(pattern.pieces(), &vars) else {
        assert_eq!(got, Match::Unresolved, "a variable without a value matched");
        return;
    };
    let text = if input.from_pattern {
        instance(&expected_units, &input.text)
    } else {
        input.text.clone()
    };
    let got = pattern.matches(&text, &vars);
    let expected = glob::matches(&expected_units, &text, input.insensitive);
    assert_eq!(
        got == Match::Yes,
        expected,
        "pattern {:?} text {text:?}: matcher says {got:?}",
        input.pattern
    );
    assert_ne!(got, Match::Unresolved, "every variable has a value");
    if input.from_pattern {
        assert!(
            expected,
            "the reference rejects an instance of its own pattern"
        );
    }
});

//! Identity formats: which strings an identity id can be, as a DFA the isolation search
//! steps through byte by byte (the language of its identity slot).

use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::util::primitives::StateID;
use regex_automata::{Anchored, Input, MatchKind};

/// The Cognito identity id: `<region>:<lowercase uuid>`.
pub const COGNITO_REGEX: &str =
    r"[a-z]{2}(?:-[a-z]+)+-[0-9]+:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

/// Why an identity format cannot be used.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FormatError {
    /// The regular expression does not compile.
    #[error("identity format {spec:?} is not a valid regular expression: {source}")]
    InvalidRegex {
        /// The format as given.
        spec: String,
        /// What the regular-expression compiler said.
        source: Box<regex_automata::dfa::dense::BuildError>,
    },
    /// Not a format name, and not `regex:` followed by a regular expression (a misspelt
    /// name must not become a regular expression that matches only itself).
    #[error(
        "identity format {spec:?} is not one of cognito, opaque, any, regex:<regular expression>"
    )]
    UnknownName {
        /// The format as given.
        spec: String,
    },
    /// The regular expression matches no non-empty string.
    #[error("identity format {spec:?} matches no non-empty identity")]
    NoIdentity {
        /// The format as given.
        spec: String,
    },
}

/// The largest DFA an identity format may compile to, in bytes.
const DFA_LIMIT: usize = 16 << 20;

/// A set of identity strings.
#[derive(Debug, Clone)]
pub struct IdentityFormat {
    /// `cognito`, `opaque`, `any` or `regex:` and the regular expression given.
    pub name: String,
    /// What the format means, in words.
    pub description: String,
    dfa: dense::DFA<Vec<u32>>,
}

impl IdentityFormat {
    /// `cognito`, `opaque`, `any`, or `regex:` and a regular expression matched against
    /// the whole identity. Names are exact (`Any` is an error, not a regular expression).
    ///
    /// Cost: the regular expression is compiled to a DFA of at most 16 MiB; a larger one is
    /// an error ([`FormatError::InvalidRegex`]), not a long build.
    pub fn parse(spec: &str) -> Result<IdentityFormat, FormatError> {
        let (name, regex, description) = match spec {
            "cognito" => (
                "cognito",
                COGNITO_REGEX.to_string(),
                "Cognito identity ids: <region>:<lowercase UUID>, e.g. us-east-1:9bd0357e-2ac1-418d-a609-bc5e7bc064e3 (all the same length after the colon, none contains '/')".to_string(),
            ),
            "opaque" => (
                "opaque",
                r"[^/]+".to_string(),
                "opaque ids: any non-empty string without '/' (ids may differ in length, so one can be a prefix of another)".to_string(),
            ),
            "any" => (
                "any",
                r"(?s:.+)".to_string(),
                "any non-empty string (what the policy alone guarantees)".to_string(),
            ),
            other => match other.strip_prefix("regex:") {
                Some(regex) => (
                    other,
                    regex.to_string(),
                    format!("non-empty strings matching the regular expression {regex}"),
                ),
                None => {
                    return Err(FormatError::UnknownName {
                        spec: spec.to_string(),
                    });
                }
            },
        };
        let dfa = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .match_kind(MatchKind::All)
                    .start_kind(StartKind::Anchored)
                    .dfa_size_limit(Some(DFA_LIMIT))
                    .determinize_size_limit(Some(DFA_LIMIT)),
            )
            .build(&format!("^(?:{regex})$"))
            .map_err(|e| FormatError::InvalidRegex {
                spec: spec.to_string(),
                source: Box::new(e),
            })?;
        let format = IdentityFormat {
            name: name.to_string(),
            description,
            dfa,
        };
        if format.example().is_none() {
            return Err(FormatError::NoIdentity {
                spec: spec.to_string(),
            });
        }
        Ok(format)
    }

    /// The state before any byte.
    pub fn start(&self) -> StateID {
        self.dfa
            .start_state_forward(&Input::new("").anchored(Anchored::Yes))
            .expect("an anchored start state exists for an anchored DFA")
    }

    /// The state after `byte`; `None` when no identity can continue this way.
    pub fn step(&self, state: StateID, byte: u8) -> Option<StateID> {
        let next = self.dfa.next_state(state, byte);
        (!self.dfa.is_dead_state(next)).then_some(next)
    }

    /// Whether the bytes read so far form an identity.
    pub fn accepts(&self, state: StateID) -> bool {
        self.dfa.is_match_state(self.dfa.next_eoi_state(state))
    }

    /// Whether `s` is an identity of this format.
    pub fn matches(&self, s: &str) -> bool {
        let mut st = self.start();
        for &b in s.as_bytes() {
            match self.step(st, b) {
                Some(n) => st = n,
                None => return false,
            }
        }
        !s.is_empty() && self.accepts(st)
    }

    /// The class of `byte`: bytes of one class lead every state to the same next state.
    pub fn byte_class(&self, byte: u8) -> u8 {
        self.dfa.byte_classes().get(byte)
    }

    /// A shortest identity of the format, preferring letters and digits.
    pub fn example(&self) -> Option<String> {
        self.example_except(&[])
    }

    /// A shortest identity not in `avoid`.
    pub fn example_except(&self, avoid: &[&str]) -> Option<String> {
        // Breadth-first; readable bytes first, then every other byte (non-ASCII included).
        let mut alphabet: Vec<u8> = (b'0'..=b'9')
            .chain(b'a'..=b'z')
            .chain(b'A'..=b'Z')
            .chain(*b"-:_./")
            .collect();
        let rest: Vec<u8> = (0..=255u8).filter(|b| !alphabet.contains(b)).collect();
        alphabet.extend(rest);
        let mut frontier: Vec<(StateID, Vec<u8>)> = vec![(self.start(), Vec::new())];
        let mut visited = std::collections::HashSet::new();
        for _ in 0..256 {
            let mut next = Vec::new();
            for (st, bytes) in frontier {
                for &b in &alphabet {
                    let Some(n) = self.step(st, b) else { continue };
                    let mut nb = bytes.clone();
                    nb.push(b);
                    if self.accepts(n)
                        && let Ok(s) = String::from_utf8(nb.clone())
                        && !avoid.contains(&s.as_str())
                    {
                        return Some(s);
                    }
                    if visited.insert((n, nb.len().min(2))) || nb.len() < 3 {
                        next.push((n, nb));
                    }
                }
            }
            if next.is_empty() {
                return None;
            }
            next.truncate(4096);
            frontier = next;
        }
        None
    }
}

/// Two realistic identities of the Cognito format, for counterexamples.
pub const COGNITO_EXAMPLES: [&str; 2] = [
    "us-east-1:7f3a9c2e-4b1d-4e8a-9c6f-2d5b8e1a0c3f",
    "us-east-1:c41d8e07-92ab-4f36-b5e2-8a1f6d3c9b70",
];

impl IdentityFormat {
    /// Is this the `opaque` or `any` format, under which the policy text alone must keep
    /// identities apart (no fixed length to lean on)?
    pub fn is_weakest(&self) -> bool {
        self.name == "opaque" || self.name == "any"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cognito_ids() {
        let f = IdentityFormat::parse("cognito").unwrap();
        assert!(f.matches("us-east-1:9bd0357e-2ac1-418d-a609-bc5e7bc064e3"));
        assert!(f.matches("ap-southeast-2:9bd0357e-2ac1-418d-a609-bc5e7bc064e3"));
        assert!(!f.matches("us-east-1:9bd0357e-2ac1-418d-a609-bc5e7bc064e"));
        assert!(!f.matches("us-east-1:abc"));
        assert!(f.matches(&f.example().unwrap()));
    }

    #[test]
    fn opaque_ids() {
        let f = IdentityFormat::parse("opaque").unwrap();
        assert!(f.matches("a") && f.matches("ab") && f.matches("us-east-1:x*?é"));
        assert!(!f.matches("a/b") && !f.matches(""));
        for id in COGNITO_EXAMPLES {
            assert!(IdentityFormat::parse("cognito").unwrap().matches(id));
        }
    }

    #[test]
    fn any_and_regex() {
        let f = IdentityFormat::parse("any").unwrap();
        assert!(f.matches("a/b*?"));
        assert!(!f.matches(""));
        let f = IdentityFormat::parse("regex:[a-z]{3}").unwrap();
        assert!(f.matches("abc") && !f.matches("abcd"));
        assert_eq!(f.example_except(&["aaa"]).unwrap().len(), 3);
        assert!(IdentityFormat::parse("regex:(").is_err());
        assert!(IdentityFormat::parse("").is_err());
        // A misspelt name is an error, not a regular expression matching only itself.
        for spec in ["ANY", "Any", "uuid", "Cognito", "[a-z]{3}"] {
            assert!(
                matches!(
                    IdentityFormat::parse(spec),
                    Err(FormatError::UnknownName { .. })
                ),
                "{spec}"
            );
        }
        // A format whose DFA would be enormous is refused, not built.
        assert!(matches!(
            IdentityFormat::parse("regex:(?:a|b)*a(?:a|b){24}"),
            Err(FormatError::InvalidRegex { .. })
        ));
    }
}

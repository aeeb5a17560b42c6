//! `fuzz isolation`: sample identity pairs and resources, and ask the evaluator. Where
//! `prove isolation` reasons symbolically, this tries concrete requests, reproducibly from
//! a seed, and reports the first counterexample it finds. It can find violations (every
//! one it reports is an evaluator-confirmed request); it can never prove isolation.
//!
//! Identities come from the format (a random walk of its DFA) and from near misses of the
//! victim's id: its prefixes, longer ids that start with it, ids with `/`, `*`, `?`, `$`
//! or non-ASCII characters. Resources fill the victim's area, with wildcards replaced by
//! random segments that sometimes contain the attacker's id.

use crate::eval::{Decision, PolicySet, StatementRef};
use crate::lang::model::Effect;
use crate::lang::variables::Piece;
use crate::workload::SplitMix64;

use super::format::IdentityFormat;
use super::{
    Counterexample, area_service, candidate_actions_for, in_area, plausible_context, request_for,
};

/// The outcome of a fuzz run.
#[derive(Debug, Clone)]
pub struct FuzzResult {
    /// The first confirmed counterexample, if any.
    pub counterexample: Option<Counterexample>,
    /// Cases tried (up to and including the counterexample).
    pub tried: u64,
}

const REGIONS: &[&str] = &[
    "us-east-1",
    "eu-west-1",
    "ap-southeast-2",
    "us-gov-west-1",
    "sa-east-1",
];

/// A random identity of the format: a random walk of its DFA, or a Cognito-shaped id.
fn random_identity(format: &IdentityFormat, rng: &mut SplitMix64) -> Option<String> {
    if format.name == "cognito" || rng.below(3) == 0 {
        let region = REGIONS[rng.below(REGIONS.len() as u64) as usize];
        let id = crate::workload::identity(rng);
        let candidate = format!("{region}{}", &id[id.find(':').unwrap_or(0)..]);
        if format.matches(&candidate) {
            return Some(candidate);
        }
    }
    let alphabet: Vec<u8> = (b'a'..=b'f')
        .chain(b'0'..=b'9')
        .chain(*b"-:/xyz*?$._")
        .collect();
    for _ in 0..20 {
        let mut state = format.start();
        let mut out = Vec::new();
        for _ in 0..48 {
            if !out.is_empty() && format.accepts(state) && rng.below(5) == 0 {
                break;
            }
            let options: Vec<u8> = alphabet
                .iter()
                .copied()
                .filter(|&b| format.step(state, b).is_some())
                .collect();
            if options.is_empty() {
                break;
            }
            let b = options[rng.below(options.len() as u64) as usize];
            state = format.step(state, b).unwrap_or(state);
            out.push(b);
        }
        if let Ok(s) = String::from_utf8(out)
            && format.matches(&s)
        {
            return Some(s);
        }
    }
    format.example()
}

/// An attacker near the victim: a prefix, an extension, a path, or an unrelated id.
fn near_miss(victim: &str, format: &IdentityFormat, rng: &mut SplitMix64) -> Option<String> {
    let extras = ["x", "0", "/", "/x", "*", "?", "$", "é", "/..", "-1"];
    let candidate = match rng.below(5) {
        0 => {
            let cut = victim
                .char_indices()
                .map(|(i, _)| i)
                .filter(|&i| i > 0)
                .collect::<Vec<_>>();
            cut.get(rng.below(cut.len().max(1) as u64) as usize)
                .map(|&i| victim[..i].to_string())
                .unwrap_or_default()
        }
        1 => format!(
            "{victim}{}",
            extras[rng.below(extras.len() as u64) as usize]
        ),
        2 => {
            let split = victim.char_indices().map(|(i, _)| i).collect::<Vec<_>>();
            let at = split
                .get(rng.below(split.len().max(1) as u64) as usize)
                .copied()
                .unwrap_or(0);
            format!("{}/{}", &victim[..at], &victim[at..])
        }
        _ => random_identity(format, rng).unwrap_or_default(),
    };
    (candidate != victim && format.matches(&candidate)).then_some(candidate)
}

/// A resource inside `area` for `victim`; wildcards become random text, sometimes the
/// attacker's own id.
fn resource_in(area: &str, victim: &str, attacker: &str, rng: &mut SplitMix64) -> String {
    let pieces = super::area_pieces(area);
    let fillers = ["", "x", "file.jpg", "a/b", "photos/", ".."];
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Literal(l) => out.push_str(&l),
            Piece::Variable(v) if &*v.key_lower == "cognito-identity.amazonaws.com:sub" => {
                out.push_str(victim)
            }
            Piece::Variable(_) => out.push('x'),
            Piece::AnyChar => out.push(['x', '/', 'é'][rng.below(3) as usize]),
            Piece::Star => match rng.below(4) {
                0 => {
                    out.push_str(attacker);
                    out.push('/');
                }
                _ => out.push_str(fillers[rng.below(fillers.len() as u64) as usize]),
            },
        }
    }
    out
}

/// Try `cases` random (attacker, victim, resource) triples; stop at the first the
/// evaluator allows. The same `seed` gives the same cases.
pub fn fuzz_isolation(
    set: &PolicySet,
    areas: &[String],
    format: &IdentityFormat,
    cases: u64,
    seed: u64,
) -> FuzzResult {
    let mut rng = SplitMix64::new(seed);
    let allows: Vec<StatementRef> = set
        .policies()
        .iter()
        .enumerate()
        .flat_map(|(p, pol)| {
            (0..pol.statements.len()).map(move |s| StatementRef {
                policy: p,
                statement: s,
            })
        })
        .filter(|r| set.statement(*r).effect == Effect::Allow)
        .collect();
    for tried in 1..=cases {
        let Some(victim) = random_identity(format, &mut rng) else {
            return FuzzResult {
                counterexample: None,
                tried,
            };
        };
        let Some(attacker) = near_miss(&victim, format, &mut rng) else {
            continue;
        };
        let area = &areas[rng.below(areas.len() as u64) as usize];
        let resource = resource_in(area, &victim, &attacker, &mut rng);
        if !in_area(area, &resource, &victim) {
            continue;
        }
        for &r in &allows {
            let st = set.statement(r);
            let context = plausible_context(st, &attacker);
            for action in candidate_actions_for(st, area_service(area).as_deref()) {
                let req = request_for(&action, &resource, &attacker, &context);
                if let Ok(e) = set.evaluate(&req)
                    && e.decision == Decision::Allow
                {
                    return FuzzResult {
                        counterexample: Some(Counterexample {
                            attacker,
                            victim,
                            action,
                            resource,
                            context,
                            statement: e.deciding.first().copied().unwrap_or(r),
                        }),
                        tried,
                    };
                }
            }
        }
    }
    FuzzResult {
        counterexample: None,
        tried: cases,
    }
}

//! `fuzz isolation`: sample identity pairs and resources, and ask the evaluator. Where
//! `prove isolation` reasons symbolically, this tries concrete requests, reproducibly from
//! a seed, and reports the first counterexample it finds. It can find violations (every
//! one it reports is an evaluator-confirmed request); it can never prove isolation.
//!
//! Identities come from the format (a random walk of its DFA) and from near misses of the
//! victim's id: its prefixes, longer ids that start with it, ids with `/`, `*`, `?`, `$`
//! or non-ASCII characters. Resources fill the victim's area, with wildcards replaced by
//! random segments that sometimes contain the attacker's id.
//!
//! Every policy type takes part: the statements tried are those that can grant (identity
//! `Allow`s and resource-policy `Allow`s naming the principal), and each request is
//! decided by [`Policies::authorize`].

use std::collections::HashMap;

use crate::analysis::confirm::request;
use crate::analysis::glob::Elem;
use crate::analysis::identity::IdentityFormat;
use crate::eval::Decision;
use crate::eval::authorize::{Policies, PolicyType, TypedRef};
use crate::lang::keys::COGNITO_SUB;
use crate::lang::principal::Caller;
use crate::workload::SplitMix64;

use super::area::Area;
use super::area::Others;
use super::listing::bucket_list_actions;
use super::subject::Subject;
use super::witness::{candidate_actions_in, check_listing};
use super::{AreaSpec, Counterexample, ProverError, Reach, checked_subject, compile_areas};

/// The outcome of a fuzz run.
#[derive(Debug, Clone)]
pub struct FuzzResult {
    /// The first confirmed counterexample, if any.
    pub counterexample: Option<Counterexample>,
    /// Cases tried (up to and including the counterexample).
    pub tried: u64,
    /// The areas sampled (those named, else the prover's default areas).
    pub areas: Vec<String>,
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
fn resource_in(area: &Area, victim: &str, attacker: &str, rng: &mut SplitMix64) -> String {
    let fillers = ["", "x", "file.jpg", "a/b", "photos/", ".."];
    let mut out = Vec::new();
    for e in area.glob_for(victim).0 {
        match e {
            Elem::Byte(b) => out.push(b),
            Elem::AnyChar(_) => out.extend(["x", "/", "é"][rng.below(3) as usize].bytes()),
            Elem::Star(_) => match rng.below(4) {
                0 => {
                    out.extend(attacker.bytes());
                    out.push(b'/');
                }
                _ => out.extend(fillers[rng.below(fillers.len() as u64) as usize].bytes()),
            },
            Elem::Slot | Elem::Never => {}
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The most cases one run may try: a larger count is refused (a run that long would look
/// like a hang).
pub const MAX_CASES: u64 = 1_000_000;

/// Try `cases` random (attacker, victim, resource) triples; stop at the first the
/// evaluator allows. The same `seed` gives the same cases. The areas are compiled as the
/// prover compiles them (the named ones, else the default areas): an area that does not
/// compile, or no area at all, is the prover's error, never a run that samples nothing.
///
/// Cost per case: one resource match per `Allow` statement, and requests evaluated only
/// for the statements whose resources match (each statement's candidate actions are
/// listed once per area, not per case). `cases` above [`MAX_CASES`] is an error.
pub fn fuzz_isolation(
    policies: &Policies,
    principal: Option<&Caller>,
    areas: &[AreaSpec],
    format: &IdentityFormat,
    cases: u64,
    seed: u64,
    now: jiff::Timestamp,
) -> Result<FuzzResult, ProverError> {
    if cases > MAX_CASES {
        return Err(ProverError::TooManyCases { cases });
    }
    let mut undecided: Option<String> = None;
    let subject = checked_subject(policies, principal, now)?;
    let areas = compile_areas(policies, areas)?;
    let sources: Vec<String> = areas.iter().map(|a| a.source.clone()).collect();
    let mut rng = SplitMix64::new(seed);
    let allows: Vec<TypedRef> = subject.grantors().iter().map(|g| g.r).collect();
    // Candidate actions by (area, statement), listed on first use.
    let mut actions: HashMap<(usize, usize), Vec<String>> = HashMap::new();
    for tried in 1..=cases {
        let Some(victim) = random_identity(format, &mut rng) else {
            return Ok(FuzzResult {
                counterexample: None,
                tried,
                areas: sources,
            });
        };
        let Some(attacker) = near_miss(&victim, format, &mut rng) else {
            continue;
        };
        // `compile_areas` never returns an empty list.
        let a = rng.below(areas.len() as u64) as usize;
        let area = &areas[a];
        let resource = resource_in(area, &victim, &attacker, &mut rng);
        if !area.contains(&resource, &victim) {
            continue;
        }
        if let Some(counterexample) = try_case(
            &subject,
            &allows,
            (a, area),
            [&attacker, &victim, &resource],
            (&mut actions, &mut undecided),
            (format, now),
        ) {
            return Ok(FuzzResult {
                counterexample: Some(counterexample),
                tried,
                areas: sources,
            });
        }
    }
    // A request the evaluator could not decide might have been allowed: "no
    // counterexample" would be a guess.
    if let Some(reason) = undecided {
        return Err(ProverError::Undecided { reason });
    }
    Ok(FuzzResult {
        counterexample: None,
        tried: cases,
        areas: sources,
    })
}

/// The candidate actions of each (area, statement), listed once.
type Actions = HashMap<(usize, usize), Vec<String>>;

/// Try one case: every statement that can grant and whose resources match, with each of
/// its candidate actions (listed once per area and statement in `actions`), decided with
/// every policy type. The first request allowed is the counterexample, named by the
/// identity or resource statement that allowed it.
fn try_case(
    subject: &Subject,
    allows: &[TypedRef],
    (a, area): (usize, &Area),
    [attacker, victim, resource]: [&str; 3],
    (actions, undecided): (&mut Actions, &mut Option<String>),
    (format, now): (&IdentityFormat, jiff::Timestamp),
) -> Option<Counterexample> {
    for (k, &r) in allows.iter().enumerate() {
        let st = subject.statement(r);
        let context = subject.context(st, attacker);
        // Only a statement whose resources match (with the variables of the request it
        // is tried with) can allow that request; its actions are listed only then.
        let mut vars = crate::request::Context::new();
        for (key, v) in &context {
            vars.set(key, v.clone());
        }
        vars.set(COGNITO_SUB, vec![attacker.to_string()]);
        if !st.matches_resource(resource, &vars) {
            continue;
        }
        let candidates = actions
            .entry((a, k))
            .or_insert_with(|| candidate_actions_in(st, area));
        for action in candidates.iter() {
            let Some(req) = request(
                subject.policies,
                subject.caller.as_ref(),
                [action, resource],
                attacker,
                &context,
                now,
            ) else {
                continue;
            };
            let auth = match subject.policies.authorize(&req) {
                Ok(auth) => auth,
                Err(e) => {
                    undecided.get_or_insert_with(|| format!("{action} on {resource}: {e}"));
                    continue;
                }
            };
            if auth.verdict.decision != Decision::Allow {
                continue;
            }
            let statement = auth
                .deciding
                .iter()
                .copied()
                .find(|t| match t.policy_type {
                    PolicyType::Identity | PolicyType::Resource => true,
                    PolicyType::Boundary
                    | PolicyType::Session
                    | PolicyType::Scp
                    | PolicyType::Rcp => false,
                })
                .unwrap_or(r);
            return Some(Counterexample {
                attacker: attacker.to_string(),
                victim: victim.to_string(),
                class: crate::catalog::catalog().access_class(action),
                action: action.clone(),
                resource: resource.to_string(),
                reach: Reach::Object,
                reveals: None,
                area: area.source.clone(),
                context,
                principal: subject.caller.as_ref().map(|c| c.arn().to_string()),
                statement,
            });
        }
    }
    // A listing of the area's bucket with a prefix of the resource's key names it.
    if area.others != Others::Read
        && let Some(bucket) = &area.bucket
    {
        let arn = format!("arn:aws:s3:::{bucket}");
        for &r in allows {
            let st = subject.statement(r);
            for action in bucket_list_actions()
                .iter()
                .filter(|a| st.matches_action(a))
            {
                let found = check_listing(
                    subject,
                    (r, action, &arn),
                    area,
                    resource,
                    [attacker, victim],
                    format,
                    now,
                );
                if let Ok(c) = found {
                    return Some(c);
                }
            }
        }
    }
    None
}

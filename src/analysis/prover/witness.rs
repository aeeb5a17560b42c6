//! Candidates of a solver made concrete and confirmed with the evaluator: distinct
//! identities of the format, the resource inside the victim's area, and a request of the
//! attacker that the policies of every type allow ([`crate::eval::authorize`]).

use crate::analysis::confirm::{ContextMap, alternative_contexts};
use crate::analysis::glob::Elem;
use crate::analysis::identity::{COGNITO_EXAMPLES, IdentityFormat};
use crate::analysis::search::Witness;
use crate::analysis::translate::mentions_identity;
use crate::catalog::{AccessClass, catalog};
use crate::eval::Decision;
use crate::eval::authorize::TypedRef;
use crate::lang::model::{ActionSpec, Statement};
use crate::lang::variables::NoVariables;
use crate::lang::wildcard::Match;

use super::area::{Area, Others};
use super::solver::Candidate;
use super::subject::Subject;
use super::{Counterexample, Reach};

/// The kind of request a candidate stands for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Request<'a> {
    /// A request on the candidate resource itself.
    Object,
    /// `action` (a bucket listing) on the bucket `bucket` (its ARN), with an `s3:prefix`
    /// that the candidate resource's key starts with.
    Listing {
        /// The list action (`s3:ListBucket`).
        action: &'a str,
        /// The bucket's ARN.
        bucket: &'a str,
    },
}

/// Confirm one candidate for the `Allow` statement `r` against `area`, made as `request`
/// says; the counterexample is then put in the harmful direction with readable ids where
/// the evaluator confirms that too ([`polish`]).
pub(crate) fn confirm(
    subject: &Subject,
    (r, request): (TypedRef, Request<'_>),
    area: &Area,
    candidate: &Candidate,
    format: &IdentityFormat,
    now: jiff::Timestamp,
) -> Result<Counterexample, String> {
    let check = |resource: &str, ids: [&str; 2]| match request {
        Request::Object => check_concrete(subject, r, area, resource, ids, format, now),
        Request::Listing { action, bucket } => check_listing(
            subject,
            (r, action, bucket),
            area,
            resource,
            ids,
            format,
            now,
        ),
    };
    let found = match candidate {
        Candidate::Witness(w) => confirm_witness(w, format, &check)?,
        Candidate::Concrete {
            resource,
            attacker,
            victim,
            ..
        } => check(resource, [attacker, victim])?,
    };
    Ok(polish(found, area, format, &check))
}

/// Identities tried when no candidate of the solver is confirmed: ids that are prefixes
/// of each other, one with `/`, and realistic Cognito ids (those of the format are used).
const POOL: [&str; 8] = [
    "a",
    "aa",
    "ab",
    "b",
    "a/b",
    "ba",
    COGNITO_EXAMPLES[0],
    COGNITO_EXAMPLES[1],
];

/// Pieces a wildcard of the area is filled with.
const FILLS: [&str; 6] = ["", "x", "/x", "a", "b/", "a/b"];

/// How many (resource, identities) pairs [`confirm_pool`] tries.
const POOL_TRIES: usize = 400;

/// Resources of `area` for `victim`: its pattern with the identity substituted and each
/// wildcard filled from [`FILLS`] (`?` from one character), at most 24.
fn area_resources(area: &Area, victim: &str) -> Vec<String> {
    let text = area.source.replace(SUB, "\u{0}");
    let mut out = vec![String::new()];
    for ch in text.chars() {
        let fills: Vec<String> = match ch {
            '\u{0}' => vec![victim.to_string()],
            '*' => FILLS.iter().map(|f| f.to_string()).collect(),
            '?' => ["x", "/", "a"].iter().map(|f| f.to_string()).collect(),
            c => vec![c.to_string()],
        };
        out = out
            .iter()
            .flat_map(|prefix| fills.iter().map(move |f| format!("{prefix}{f}")))
            .take(24)
            .collect();
    }
    out
}

/// When no candidate of the solver was confirmed: try concrete identities of [`POOL`]
/// that fit the format and resources of the victim's area ([`area_resources`]), each
/// checked with the evaluator like any candidate. The solver found the problem
/// satisfiable; its representatives may simply not be the ones conditions, denies or a
/// repeated identity need.
pub(crate) fn confirm_pool(
    subject: &Subject,
    (r, request): (TypedRef, Request<'_>),
    area: &Area,
    format: &IdentityFormat,
    now: jiff::Timestamp,
) -> Option<Counterexample> {
    let check = |resource: &str, ids: [&str; 2]| match request {
        Request::Object => check_concrete(subject, r, area, resource, ids, format, now),
        Request::Listing { action, bucket } => check_listing(
            subject,
            (r, action, bucket),
            area,
            resource,
            ids,
            format,
            now,
        ),
    };
    let ids: Vec<&str> = POOL.into_iter().filter(|id| format.matches(id)).collect();
    let mut tries = 0;
    for victim in &ids {
        for resource in area_resources(area, victim) {
            if !area.contains(&resource, victim) {
                continue;
            }
            for attacker in ids.iter().filter(|a| *a != victim) {
                tries += 1;
                if tries > POOL_TRIES {
                    return None;
                }
                if let Ok(c) = check(&resource, [attacker, victim]) {
                    return Some(polish(c, area, format, &check));
                }
            }
        }
    }
    None
}

/// Checks one concrete candidate (resource, `[attacker, victim]`) with the evaluator.
type Check<'a> = dyn Fn(&str, [&str; 2]) -> Result<Counterexample, String> + 'a;

/// Try to turn a witness of the automata into a confirmed counterexample.
fn confirm_witness(
    w: &Witness,
    format: &IdentityFormat,
    check: &Check<'_>,
) -> Result<Counterexample, String> {
    let resource = String::from_utf8(w.resource.clone())
        .map_err(|_| "the witness resource is not valid UTF-8".to_string())?;
    let victim = resource[w.victim.start..w.victim.end].to_string();
    let attacker = match w.attacker {
        Some(span) => resource[span.start..span.end].to_string(),
        None => format
            .example_except(&[&victim])
            .ok_or("no second identity of the format exists")?,
    };
    let first = check(&resource, [&attacker, &victim]);
    if first.is_ok() || attacker != victim {
        return first;
    }
    // Spans that start apart read the same bytes only by the search's choice of
    // representatives: try the victim's identity with one character changed, wherever
    // the spans do not overlap.
    let overlap = w
        .attacker
        .is_some_and(|a| a.start < w.victim.end && w.victim.start < a.end);
    if overlap {
        return first;
    }
    for i in 0..victim.len() {
        if !victim.is_char_boundary(i) || !victim.is_char_boundary(i + 1) {
            continue;
        }
        for replacement in ['1', 'b', 'x', '0', 'a', '2', 'z'] {
            let mut other = victim.clone();
            other.replace_range(i..i + 1, replacement.encode_utf8(&mut [0; 4]));
            if other == victim || !format.matches(&other) {
                continue;
            }
            let mut r = resource.clone();
            r.replace_range(w.victim.start..w.victim.end, &other);
            if let Ok(c) = check(&r, [&attacker, &other]) {
                return Ok(c);
            }
        }
    }
    first
}

/// Where the victim's identity starts in `resource`, when the area's pattern is plain
/// text up to its identity variable (`arn:aws:s3:::b/private/${sub}/*`).
fn victim_offset(area: &Area, resource: &str, victim: &str) -> Option<usize> {
    let mut at = 0;
    for e in &area.glob.0 {
        match e {
            Elem::Byte(_) => at += 1,
            Elem::Slot => {
                return resource
                    .get(at..)
                    .is_some_and(|rest| rest.starts_with(victim))
                    .then_some(at);
            }
            Elem::Star(_) | Elem::AnyChar(_) | Elem::Never => return None,
        }
    }
    None
}

/// The resource of `c` that lies in the victim's area: the one requested, or for a
/// listing the one it reveals.
fn reached(c: &Counterexample) -> &str {
    c.reveals.as_deref().unwrap_or(&c.resource)
}

/// Put a confirmed counterexample in the harmful direction and give it readable ids,
/// keeping each change only when the evaluator confirms it again:
/// - when the resource lies in the attacker's own area too and one id is a prefix of the
///   other, the attacker is the shorter id and the victim the longer one (the harm is
///   the short id reaching the long id's files, not the long id reading its own);
/// - Cognito ids become realistic ones (`us-east-1:` and a UUID); other ids become short
///   names (`ann` and `anna` for a prefix pair, `alice` and `bob` otherwise).
fn polish(
    c: Counterexample,
    area: &Area,
    format: &IdentityFormat,
    check: &Check<'_>,
) -> Counterexample {
    let mut best = c;
    let (a, b) = (best.attacker.clone(), best.victim.clone());
    let r = reached(&best).to_string();
    if area.contains(&r, &a) && a != b && (b.starts_with(&a) || a.starts_with(&b)) {
        let (short, long) = if a.len() < b.len() { (a, b) } else { (b, a) };
        if short != best.attacker {
            let resource = if area.contains(&r, &long) {
                r.clone()
            } else {
                area.example(&long)
            };
            if let Ok(c) = check(&resource, [&short, &long]) {
                best = c;
            }
        }
    }
    let (a, b) = (best.attacker.clone(), best.victim.clone());
    let r = reached(&best).to_string();
    let Some(at) = victim_offset(area, &r, &b) else {
        return best;
    };
    let proposals: Vec<(String, String)> = if format.name == "cognito" {
        vec![(
            COGNITO_EXAMPLES[0].to_string(),
            COGNITO_EXAMPLES[1].to_string(),
        )]
    } else if let Some(tail) = b.strip_prefix(a.as_str()) {
        vec![
            ("ann".to_string(), format!("ann{tail}")),
            ("ann".to_string(), "anna".to_string()),
        ]
    } else if let Some(tail) = a.strip_prefix(b.as_str()) {
        vec![
            (format!("ann{tail}"), "ann".to_string()),
            ("anna".to_string(), "ann".to_string()),
        ]
    } else {
        vec![("alice".to_string(), "bob".to_string())]
    };
    for (na, nb) in proposals {
        if !format.matches(&na) || !format.matches(&nb) {
            continue;
        }
        let mut resource = r.clone();
        resource.replace_range(at..at + b.len(), &nb);
        if let Ok(c) = check(&resource, [&na, &nb]) {
            best = c;
            break;
        }
    }
    // A file in the victim's folder rather than the folder's empty name or the bare id.
    let r = reached(&best);
    let file = if r.ends_with('/') {
        format!("{r}photo.jpg")
    } else if r.ends_with(best.victim.as_str()) {
        format!("{r}/photo.jpg")
    } else {
        return best;
    };
    check(&file, [&best.attacker, &best.victim]).unwrap_or(best)
}

/// The checks every candidate passes first: distinct identities of the format, and the
/// resource inside the victim's area.
fn check_identities(
    area: &Area,
    resource: &str,
    [attacker, victim]: [&str; 2],
    format: &IdentityFormat,
) -> Result<(), String> {
    if attacker == victim {
        return Err(format!(
            "the witness needs the same identity twice ({attacker})"
        ));
    }
    if !format.matches(attacker) || !format.matches(victim) {
        return Err("the witness identities do not fit the identity format".to_string());
    }
    if !area.contains(resource, victim) {
        return Err(format!(
            "{resource} is not inside the area of {victim} after all"
        ));
    }
    Ok(())
}

/// Check a concrete candidate with the evaluator: distinct identities of the format, the
/// resource inside the victim's area, and the attacker allowed an action the area
/// forbids to others.
fn check_concrete(
    subject: &Subject,
    st_ref: TypedRef,
    area: &Area,
    resource: &str,
    [attacker, victim]: [&str; 2],
    format: &IdentityFormat,
    now: jiff::Timestamp,
) -> Result<Counterexample, String> {
    check_identities(area, resource, [attacker, victim], format)?;
    let st = subject.statement(st_ref);
    let actions = candidate_actions_in(st, area);
    for context in contexts(subject, st, attacker) {
        for action in &actions {
            if subject.decide(action, resource, attacker, &context, now) != Some(Decision::Allow) {
                continue;
            }
            return Ok(Counterexample {
                attacker: attacker.to_string(),
                victim: victim.to_string(),
                class: catalog().access_class(action),
                action: action.clone(),
                resource: resource.to_string(),
                reach: Reach::Object,
                reveals: None,
                area: area.source.clone(),
                context,
                principal: subject.caller.as_ref().map(|c| c.arn().to_string()),
                statement: st_ref,
            });
        }
    }
    Err(format!(
        "{attacker} is not confirmed to reach {resource} (conditions or denies the search widened)"
    ))
}

/// The request contexts to try for `attacker`'s requests under the `Allow` `st`: its
/// plausible context first, then the alternatives the conditions of every statement
/// suggest ([`alternative_contexts`]), so that a `Deny` whose condition the plausible
/// context happens to meet, or an `Allow` condition it misses, does not hide a
/// counterexample.
fn contexts(subject: &Subject, st: &Statement, attacker: &str) -> Vec<ContextMap> {
    let base = subject.context(st, attacker);
    let statements: Vec<&Statement> = subject
        .policies
        .sets()
        .flat_map(|(_, _, set)| set.policies())
        .flat_map(|p| p.statements.iter())
        .filter(|s| !s.conditions.is_empty())
        .collect();
    if statements.is_empty() {
        return vec![base];
    }
    alternative_contexts(&statements, &base, attacker)
}

/// How many `s3:prefix` values one listing candidate tries.
const PREFIX_TRIES: usize = 256;

/// Check a listing candidate with the evaluator: `resource` (inside the victim's area) is
/// in the bucket, and the attacker may list the bucket with an `s3:prefix` its key starts
/// with (the victim's folder first, then every prefix from the shortest), or with no
/// prefix for a list action that takes none.
pub(crate) fn check_listing(
    subject: &Subject,
    (st_ref, action, bucket): (TypedRef, &str, &str),
    area: &Area,
    resource: &str,
    [attacker, victim]: [&str; 2],
    format: &IdentityFormat,
    now: jiff::Timestamp,
) -> Result<Counterexample, String> {
    check_identities(area, resource, [attacker, victim], format)?;
    let under = format!("{bucket}/");
    let Some(key) = resource.strip_prefix(&under) else {
        return Err(format!("{resource} is not in the bucket {bucket}"));
    };
    let st = subject.statement(st_ref);
    let mut prefixes: Vec<Option<&str>> = Vec::new();
    if listing_takes_prefix(action) {
        if let Some(at) = victim_offset(area, resource, victim) {
            let end = at + victim.len() - under.len();
            let end = if key[end..].starts_with('/') {
                end + 1
            } else {
                end
            };
            prefixes.push(Some(&key[..end]));
        }
        prefixes.extend(
            (1..=key.len())
                .filter(|&i| key.is_char_boundary(i))
                .map(|i| Some(&key[..i])),
        );
    }
    // Last, no prefix at all: the listing then names every key of the bucket.
    prefixes.truncate(PREFIX_TRIES - 1);
    prefixes.push(None);
    let bases = contexts(subject, st, attacker);
    let tries = bases
        .iter()
        .flat_map(|base| prefixes.iter().map(move |p| (base, *p)));
    for (base, prefix) in tries.take(PREFIX_TRIES * 4) {
        let mut context = base.clone();
        context.retain(|k, _| !k.eq_ignore_ascii_case(S3_PREFIX));
        if let Some(p) = prefix {
            context.insert(S3_PREFIX.to_string(), vec![p.to_string()]);
        }
        if subject.decide(action, bucket, attacker, &context, now) == Some(Decision::Allow) {
            return Ok(Counterexample {
                attacker: attacker.to_string(),
                victim: victim.to_string(),
                action: action.to_string(),
                resource: bucket.to_string(),
                reach: Reach::Listing,
                reveals: Some(resource.to_string()),
                area: area.source.clone(),
                class: catalog().access_class(action),
                context,
                principal: subject.caller.as_ref().map(|c| c.arn().to_string()),
                statement: st_ref,
            });
        }
    }
    Err(format!(
        "{attacker} is not confirmed to list {bucket} with a prefix of {resource} (conditions or denies the search widened)"
    ))
}

/// The condition key of a listing's prefix.
pub(crate) const S3_PREFIX: &str = "s3:prefix";

/// Does the list action take an `s3:prefix` (as the catalog documents)?
pub(crate) fn listing_takes_prefix(action: &str) -> bool {
    catalog()
        .action(action)
        .is_some_and(|(_, a)| crate::catalog::action_supports_key(a, S3_PREFIX))
}

/// Candidate actions of `st` on `area` ([`candidate_actions_for`]), only those that write
/// on a protected area.
pub(crate) fn candidate_actions_in(st: &Statement, area: &Area) -> Vec<String> {
    let mut out = candidate_actions_for(st, area.service.as_deref());
    match area.others {
        Others::Nothing => {}
        Others::Read => out.retain(|a| catalog().access_class(a) == AccessClass::Write),
        Others::Write => out.retain(|a| catalog().access_class(a) == AccessClass::Read),
    }
    out
}

/// Concrete actions to try for a counterexample, of `service` when known: actions the
/// catalog documents first (the usual ones, then up to 16 more of the service that `st`
/// covers), then made-up names that only match the patterns (`s3:Any`), so a statement
/// that allows only undocumented actions still gets a candidate.
pub(crate) fn candidate_actions_for(st: &Statement, service: Option<&str>) -> Vec<String> {
    let catalog = catalog();
    let own: Vec<String> = candidate_actions(st)
        .into_iter()
        .chain(service.map(|s| format!("{s}:GetObject")))
        .filter(|a| {
            service.is_none_or(|s| {
                a.split(':')
                    .next()
                    .is_some_and(|svc| svc.eq_ignore_ascii_case(s))
            })
        })
        .filter(|a| st.matches_action(a))
        .collect();
    let (documented, made_up): (Vec<String>, Vec<String>) =
        own.into_iter().partition(|a| catalog.action(a).is_some());
    let mut out = documented;
    if let Some(svc) = service.and_then(|s| catalog.service(s)) {
        out.extend(
            svc.actions
                .iter()
                .map(|a| format!("{}:{}", svc.prefix, a.name))
                .filter(|a| st.matches_action(a))
                .take(16),
        );
    }
    out.extend(made_up);
    let mut seen = std::collections::HashSet::new();
    out.retain(|a| seen.insert(a.to_ascii_lowercase()));
    out
}

/// Concrete actions to try for a counterexample: the statement's own action names, the
/// usual actions its patterns cover, and for each wildcard pattern a name made from it
/// (`s3:Get*` gives `s3:get`, `s3:*` gives `s3:Any`).
fn candidate_actions(st: &Statement) -> Vec<String> {
    const PREFERRED: &[&str] = &[
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
        "execute-api:Invoke",
        "dynamodb:GetItem",
    ];
    let covers =
        |p: &crate::lang::wildcard::Pattern, a: &str| p.matches(a, &NoVariables) == Match::Yes;
    let mut out: Vec<String> = Vec::new();
    match &st.action {
        ActionSpec::Action(ps) => {
            for p in ps {
                if p.as_exact().is_some() {
                    out.push(p.source().to_string());
                    continue;
                }
                out.extend(
                    PREFERRED
                        .iter()
                        .filter(|a| covers(p, a))
                        .map(|a| a.to_string()),
                );
                // A name AWS may add later that only the pattern covers: each `*`
                // reads `Future` and each `?` reads `X` (`s3:Get*` gives
                // `s3:GetFuture`), in the pattern's own spelling.
                out.push(
                    p.source()
                        .chars()
                        .map(|c| match c {
                            '*' => "Future".to_string(),
                            '?' => "X".to_string(),
                            c => c.to_string(),
                        })
                        .collect(),
                );
            }
        }
        ActionSpec::NotAction(ps) => {
            out.extend(
                PREFERRED
                    .iter()
                    .filter(|a| !ps.iter().any(|p| covers(p, a)))
                    .map(|a| a.to_string()),
            );
        }
    }
    out.dedup();
    out
}

/// What the victim owns, in words: `file` for S3 objects, else `resource`.
fn thing(area: &Area) -> &'static str {
    if area.service.as_deref() == Some("s3") {
        "file"
    } else {
        "resource"
    }
}

/// Why a confirmed counterexample breaks isolation, in words, the victim first:
/// "identity B's file X can be written by identity A (s3:PutObject): ...".
pub(crate) fn explain_violation(c: &Counterexample, area: &Area, has_slot: bool) -> String {
    let (a, b) = (&c.attacker, &c.victim);
    let what = thing(area);
    let head = match c.reach {
        Reach::Object => format!(
            "identity {b}'s {what} {} can be {} by identity {a} ({})",
            c.resource,
            match c.class {
                AccessClass::Read => "read",
                AccessClass::Write => "written",
            },
            c.action
        ),
        Reach::Listing => {
            let prefix = c
                .context
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(S3_PREFIX))
                .and_then(|(_, v)| v.first());
            format!(
                "the names of identity {b}'s {what}s (such as {}) can be listed by identity {a} ({} on {}{})",
                reached(c),
                c.action,
                c.resource,
                prefix
                    .map(|p| format!(" with s3:prefix {p}"))
                    .unwrap_or_default()
            )
        }
    };
    let unknown_action = catalog().action(&c.action).is_none();
    let head = if unknown_action && c.class == AccessClass::Write {
        format!(
            "{head}; {} is not an action the catalog knows (one AWS may add later), and such an action counts as write",
            c.action
        )
    } else {
        head
    };
    let why = if !has_slot {
        match c.reach {
            Reach::Object => {
                "the statement that allows it does not depend on the identity".to_string()
            }
            Reach::Listing => {
                "the statement that allows the listing does not bound s3:prefix to the identity's own folder".to_string()
            }
        }
    } else if a.contains('/') || b.contains('/') {
        format!(
            "an identity containing '/' ({}) reaches into the folder of another identity ({}); Cognito ids never contain '/', so this needs a looser identity format",
            if a.contains('/') { a } else { b },
            if a.contains('/') { b } else { a }
        )
    } else if b.starts_with(a.as_str()) {
        format!(
            "{a} is a prefix of {b} and the pattern does not end the identity with '/', so {a}'s pattern covers every id that starts with {a}"
        )
    } else if a.starts_with(b.as_str()) {
        format!(
            "{b} is a prefix of {a} and the pattern does not end the identity with '/', so {a}'s pattern covers {b}'s"
        )
    } else {
        "the statement's pattern for one identity covers resources of another".to_string()
    };
    format!("{head}: {why}")
}

/// The smallest change to a policy that removes a counterexample, when one is obvious.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// What to change, in words.
    pub summary: String,
    /// The text to replace, when the change is a replacement.
    pub before: Option<String>,
    /// What to write instead.
    pub after: Option<String>,
}

/// The identity variable as policies write it.
const SUB: &str = "${cognito-identity.amazonaws.com:sub}";

/// `text` with the identity variable ended by `/` where a wildcard or the end follows it
/// (`.../${sub}*` becomes `.../${sub}/*`, `.../${sub}` becomes `.../${sub}/`), or `None`
/// when every occurrence is already followed by `/`.
fn with_delimiter(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find(&SUB.to_ascii_lowercase())?;
    let end = at + SUB.len();
    match text[end..].chars().next() {
        Some('/') => None,
        Some('*' | '?') | None => Some(format!("{}/{}", &text[..end], &text[end..])),
        Some(_) => None,
    }
}

/// The key part of an S3 area (`private/${sub}/*` of `arn:aws:s3:::b/private/${sub}/*`).
fn area_key(area: &Area) -> Option<&str> {
    let bucket = area.bucket.as_deref()?;
    area.source
        .strip_prefix("arn:aws:s3:::")
        .and_then(|rest| rest.strip_prefix(bucket))
        .and_then(|rest| rest.strip_prefix('/'))
}

/// The smallest fix for `c`, allowed by `st` on `area`, when one is obvious: a `/` after
/// the identity variable in the statement's resource or `s3:prefix` value, or an
/// `s3:prefix` condition for a listing that has none.
pub(crate) fn fix_for(st: &Statement, area: &Area, c: &Counterexample) -> Option<Fix> {
    let slash = |before: &str| {
        with_delimiter(before).map(|after| Fix {
            summary: format!(
                "end the identity with '/': write {after} instead of {before}, so that one id's pattern stops at its own folder"
            ),
            before: Some(before.to_string()),
            after: Some(after),
        })
    };
    match c.reach {
        Reach::Object => match &st.resource {
            Some(crate::lang::model::ResourceSpec::Resource(ps)) => ps
                .iter()
                .filter(|p| matches_for(p, &c.resource, &c.attacker))
                .find_map(|p| slash(p.source())),
            Some(crate::lang::model::ResourceSpec::NotResource(_)) | None => None,
        },
        Reach::Listing => {
            let values: Vec<&String> = st
                .conditions
                .iter()
                .filter(|k| k.key_lower == S3_PREFIX)
                .flat_map(|k| k.raw_values.iter())
                .collect();
            if !values
                .iter()
                .any(|v| v.to_ascii_lowercase().contains(&SUB.to_ascii_lowercase()))
            {
                let key = area_key(area)?;
                let folder = key.strip_suffix('*').unwrap_or(key);
                return Some(Fix {
                    summary: format!(
                        "bound the listing to the identity's own folder: give the statement \"Condition\": {{\"StringLike\": {{\"s3:prefix\": [\"{folder}\", \"{key}\"]}}}}"
                    ),
                    before: None,
                    after: Some(format!(
                        "{{\"StringLike\": {{\"s3:prefix\": [\"{folder}\", \"{key}\"]}}}}"
                    )),
                });
            }
            values.iter().find_map(|v| slash(v))
        }
    }
}

/// With the default areas: when the statement that reaches `area` only reads, does not
/// depend on the identity, and covers the area's parent (`protected/*` over
/// `protected/${sub}/*`, Amplify's protected level), say that the area may be meant as a
/// protected one.
pub(crate) fn protected_hint(
    st: &Statement,
    area: &Area,
    c: &Counterexample,
    label: &str,
) -> Option<String> {
    if c.reach != Reach::Object || c.class != AccessClass::Read {
        return None;
    }
    let Some(crate::lang::model::ResourceSpec::Resource(ps)) = &st.resource else {
        return None;
    };
    let pattern = ps
        .iter()
        .find(|p| !mentions_identity(p) && matches_for(p, &c.resource, &c.attacker))?;
    Some(format!(
        "{label} lets every identity read {}, which holds the area {}: if other identities may read that area by design (as in Amplify's protected level), prove it as a protected area, where others may read and only the owner may write: --write-area {} (in a gate file: {{pattern: {}, others: read}})",
        pattern.source(),
        area.source,
        area.source,
        area.source
    ))
}

/// Does `p` match `resource` for a request of `identity`?
fn matches_for(p: &crate::lang::arn::ArnPattern, resource: &str, identity: &str) -> bool {
    let mut ctx = crate::request::Context::new();
    ctx.add(crate::lang::keys::COGNITO_SUB, identity);
    p.matches(resource, &ctx) == Match::Yes
}

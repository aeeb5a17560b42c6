//! Requests made from a policy's own text, so that random policies meet requests that
//! reach their statements: actions and resources from the patterns with the wildcards
//! filled in, identities, and context values from the conditions.

use policy_sim::lang::model::{ActionSpec, ResourceSpec};
use policy_sim::{Context, Policy, Request};

/// At most this many requests per policy (a fuzz run wants many policies per second).
pub const MAX_REQUESTS: usize = 48;

const IDENTITY: &str = "us-east-1:abc";

/// `text` with `${...}` replaced by `variable` and the wildcards by `fill` (`*`) and `a`
/// (`?`).
pub fn instantiate(text: &str, fill: &str, variable: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("${")
            && let Some(end) = after.find('}')
        {
            out.push_str(variable);
            rest = &after[end + 1..];
            continue;
        }
        match c {
            '*' => out.push_str(fill),
            '?' => out.push('a'),
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn push_unique(list: &mut Vec<String>, item: String, cap: usize) {
    if list.len() < cap && !list.contains(&item) {
        list.push(item);
    }
}

/// Requests for `policy`: every combination of a few actions, resources and contexts
/// drawn from its statements, up to [`MAX_REQUESTS`]. Some are malformed on purpose
/// (an action taken from a pattern may not be a valid name): evaluation must refuse
/// those the same way every time.
pub fn for_policy(policy: &Policy, now: jiff::Timestamp) -> Vec<Request> {
    let mut actions = vec!["s3:GetObject".to_string()];
    let mut resources = vec!["arn:aws:s3:::b/private/us-east-1:abc/k".to_string()];
    let mut contexts: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for st in &policy.statements {
        let (ActionSpec::Action(p) | ActionSpec::NotAction(p)) = &st.action;
        for pattern in p {
            push_unique(&mut actions, instantiate(pattern.source(), "", IDENTITY), 4);
            push_unique(
                &mut actions,
                instantiate(pattern.source(), "Xy", IDENTITY),
                5,
            );
        }
        if let Some(ResourceSpec::Resource(p) | ResourceSpec::NotResource(p)) = &st.resource {
            for pattern in p {
                push_unique(
                    &mut resources,
                    instantiate(pattern.source(), "x/y", IDENTITY),
                    4,
                );
                push_unique(
                    &mut resources,
                    instantiate(pattern.source(), "", "us-east-1:xyz"),
                    5,
                );
            }
        }
        for c in &st.conditions {
            for raw in c.raw_values.iter().take(2) {
                if contexts.len() < 4 {
                    let value = instantiate(raw, "z", IDENTITY);
                    contexts.push(vec![(c.key.clone(), value)]);
                }
            }
        }
    }
    // All conditions' first values at once.
    let all: Vec<(String, String)> = contexts.iter().flatten().cloned().collect();
    contexts.push(all);
    let mut out = Vec::new();
    'all: for action in &actions {
        for resource in &resources {
            for (i, values) in contexts.iter().enumerate() {
                let mut context = Context::new();
                for (key, value) in values {
                    context.add(key, value);
                }
                let mut request = Request::new(action.as_str(), resource.as_str());
                request.context = context;
                if i % 2 == 0 && request.set_identity(IDENTITY).is_err() {
                    continue;
                }
                if request.context.fill_time_defaults(now).is_err() {
                    continue;
                }
                out.push(request);
                if out.len() == MAX_REQUESTS {
                    break 'all;
                }
            }
        }
    }
    out
}

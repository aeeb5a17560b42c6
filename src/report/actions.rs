//! `actions`: the documented actions that action patterns cover, from the bundled
//! catalog, and the patterns that cover none.

use std::collections::HashSet;

use serde::Serialize;

use crate::catalog::{Catalog, unknown_action_message};

/// What a list of patterns covers.
#[derive(Debug, Default)]
pub struct ActionList {
    /// Every action covered, once, in the order the patterns first cover it.
    pub actions: Vec<String>,
    /// For each pattern that covers no documented action, why (with suggestions for a
    /// misspelt action).
    pub uncovered: Vec<String>,
}

/// The actions `patterns` cover in `catalog`.
pub fn list_actions(catalog: &Catalog, patterns: &[String]) -> ActionList {
    let mut out = ActionList::default();
    let mut seen = HashSet::new();
    for pattern in patterns {
        let expanded = catalog.expand(pattern);
        if expanded.is_empty() {
            out.uncovered.push(if pattern.contains(['*', '?']) {
                format!("{pattern} covers no action AWS documents")
            } else {
                unknown_action_message(pattern, &catalog.lookup(pattern))
            });
        }
        for a in expanded {
            if seen.insert(a.clone()) {
                out.actions.push(a);
            }
        }
    }
    out
}

/// One resource type of an action in the JSON list.
#[derive(Debug, Serialize)]
pub struct ResourceTypeOut {
    /// The resource type's name.
    pub name: &'static str,
    /// Whether the action requires it.
    pub required: bool,
    /// Its ARN format, when the service documents it.
    pub arn: Option<&'static str>,
}

/// One action in the JSON list, fields in this order:
/// `{"action":...,"access_level":...,"resource_types":[...],"condition_keys":[...]}`.
#[derive(Debug, Serialize)]
pub struct ActionOut {
    /// `service:Name`, as AWS spells it.
    pub action: String,
    /// `Read`, `Write`, `List`, ...
    pub access_level: &'static str,
    /// The resource types it applies to.
    pub resource_types: Vec<ResourceTypeOut>,
    /// The condition keys it supports.
    pub condition_keys: Vec<&'static str>,
}

/// The JSON list of `list`'s actions.
pub fn actions_json(catalog: &Catalog, list: &ActionList) -> Vec<ActionOut> {
    list.actions
        .iter()
        .filter_map(|a| catalog.action(a))
        .map(|(s, a)| ActionOut {
            action: format!("{}:{}", s.prefix, a.name),
            access_level: a.access_level,
            resource_types: a
                .resource_types()
                .map(|(name, required)| ResourceTypeOut {
                    name,
                    required,
                    arn: s.resource_type(name).map(|r| r.arn),
                })
                .collect(),
            condition_keys: a.condition_keys().collect(),
        })
        .collect()
}

/// The actions as text, one a line.
pub fn actions_text(list: &ActionList) -> String {
    list.actions.iter().map(|a| format!("{a}\n")).collect()
}

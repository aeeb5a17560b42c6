//! `show`: the IAM JSON a template's role will have, resolved: its trust policy, its one
//! permission policy, the one named, or all of them under `policies`.

use serde::Serialize;
use serde_json::Value;

use crate::template::RolePolicies;

/// One named policy document.
#[derive(Debug, Serialize)]
pub struct NamedDocument {
    /// `PolicyName`, or the logical id of a policy resource.
    pub name: String,
    /// The resolved IAM JSON.
    pub document: Value,
}

/// What `show` prints (pretty JSON).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Shown {
    /// One policy document, as IAM reads it (pipe it to `check --policy -`).
    Document(Value),
    /// Several: `{"policies":[{"name":...,"document":{...}}, ...]}`.
    Policies {
        /// The role's policies, in template order.
        policies: Vec<NamedDocument>,
    },
}

/// Why a role's policies cannot be shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum ShowError {
    /// No policy of the role has the name asked for.
    #[error("role {role} has no policy {name:?} (its policies: {})", .names.join(", "))]
    NoSuchPolicy {
        /// The role.
        role: String,
        /// The name asked for.
        name: String,
        /// The names it has.
        names: Vec<String>,
    },
    /// The role has no policy in the template.
    #[error("role {role} has no policies")]
    NoPolicies {
        /// The role.
        role: String,
    },
}

/// The documents of a role's permission policies: the one named `only`, else the only
/// one, else all of them.
pub fn permissions(policies: RolePolicies, only: Option<&str>) -> Result<Shown, ShowError> {
    let role = policies.role;
    let mut policies = policies.policies;
    if let Some(name) = only {
        return match policies.iter().position(|p| p.name == name) {
            Some(i) => Ok(Shown::Document(policies.swap_remove(i).document)),
            None => Err(ShowError::NoSuchPolicy {
                role,
                name: name.to_string(),
                names: policies.into_iter().map(|p| p.name).collect(),
            }),
        };
    }
    match policies.len() {
        0 => Err(ShowError::NoPolicies { role }),
        1 => Ok(Shown::Document(policies.remove(0).document)),
        _ => Ok(Shown::Policies {
            policies: policies
                .into_iter()
                .map(|p| NamedDocument {
                    name: p.name,
                    document: p.document,
                })
                .collect(),
        }),
    }
}

/// `shown` as pretty JSON (with the newline).
pub fn shown_json(shown: &Shown) -> String {
    serde_json::to_string_pretty(shown).expect("JSON serializes") + "\n"
}

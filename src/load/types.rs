//! Loading every policy type AWS evaluates besides identity-based policies: the
//! resource's resource-based policy, the permissions boundary, session policies, SCPs and
//! RCPs ([`PolicyTypeFiles`]), into the [`Policies`] that `eval::authorize` decides with.
//!
//! Each file is read inside the project root, as identity-based policy files are (a file
//! outside it is an error), and parsed as its kind: resource-based policies
//! ([`PolicyKind::Resource`]), boundaries and session policies (identity-based), SCPs
//! ([`PolicyKind::Scp`]) and RCPs ([`PolicyKind::Rcp`]). Errors name the file and, for a
//! document that is not a valid policy, the line, column and JSON path.
//!
//! SCP and RCP files carry a level label: files with the same label form one level of
//! the organization (root, an OU, the account), levels in the order their label first
//! appears. The policies are checked together ([`Policies::validate`]) once loaded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::eval::PolicySet;
use crate::eval::authorize::{AuthorizeError, Level, Policies, ScopedPolicy};
use crate::lang::model::{Policy, PolicyKind};
use crate::lang::parse::{LoadError, parse_policy_as, read_bounded};
use crate::root::Root;

/// The files of every policy type other than identity-based, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyTypeFiles {
    /// Resource-based policies, each with the ARN of the resource it is attached to
    /// (`None`: the policy of whatever resource is requested).
    pub resource: Vec<(Option<String>, PathBuf)>,
    /// The owner of a resource whose ARN has no account (S3).
    pub resource_account: Option<String>,
    /// The principal's permissions boundary.
    pub boundary: Option<PathBuf>,
    /// The session policies, evaluated together.
    pub session: Vec<PathBuf>,
    /// SCP files with their level label, in the order given.
    pub scps: Vec<(String, PathBuf)>,
    /// RCP files with their level label, in the order given.
    pub rcps: Vec<(String, PathBuf)>,
}

impl PolicyTypeFiles {
    /// True when no file and no resource account is given (identity-based policies only).
    pub fn is_empty(&self) -> bool {
        self.resource.is_empty()
            && self.resource_account.is_none()
            && self.boundary.is_none()
            && self.session.is_empty()
            && self.scps.is_empty()
            && self.rcps.is_empty()
    }

    /// Every file named, in the order [`load_policy_types`] reads them.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.resource
            .iter()
            .map(|(_, p)| p.as_path())
            .chain(self.boundary.as_deref())
            .chain(self.session.iter().map(PathBuf::as_path))
            .chain(self.scps.iter().map(|(_, p)| p.as_path()))
            .chain(self.rcps.iter().map(|(_, p)| p.as_path()))
    }
}

/// Why the policy types could not be loaded.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum TypesError {
    /// A file that cannot be read inside the root, or is not a valid policy of its kind.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Load(#[from] super::Error),
    /// Standard input named as one of these files: each is read from a file.
    #[error("standard input (`-`) cannot be read as {what}: name its file")]
    #[diagnostic(code(policy_sim::load::types_stdin))]
    Stdin {
        /// What it was named as (`a resource-based policy`, `an SCP`, ...).
        what: &'static str,
    },
    /// An SCP or RCP level label that is empty.
    #[error("{file}: {kind} level label is empty")]
    #[diagnostic(code(policy_sim::load::empty_level))]
    EmptyLevel {
        /// `an SCP` or `an RCP`.
        kind: &'static str,
        /// The file as given.
        file: String,
    },
    /// Policies that cannot be used together (two accounts among the levels, a resource
    /// account that is not an account id).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Policies(#[from] AuthorizeError),
}

/// Read the policy at `path` (inside `root`) as a policy of `kind`, named by the path as
/// given.
fn read_policy(root: &Root, path: &Path, kind: PolicyKind) -> Result<Policy, TypesError> {
    read_policy_text(root, path, kind).map(|(policy, _)| policy)
}

/// [`read_policy`], with the document's text (for lint's locations).
fn read_policy_text(
    root: &Root,
    path: &Path,
    kind: PolicyKind,
) -> Result<(Policy, String), TypesError> {
    if super::is_stdin(path) {
        return Err(TypesError::Stdin {
            what: kind.described(),
        });
    }
    let name = path.display().to_string();
    let file = root
        .open_input(path)
        .map_err(|e| super::read_error(&name, e))?;
    let bytes = read_bounded(&name, file).map_err(super::Error::from)?;
    let policy: Result<Policy, LoadError> = parse_policy_as(&name, &bytes, kind);
    let policy = policy.map_err(super::Error::from)?;
    Ok((policy, String::from_utf8_lossy(&bytes).into_owned()))
}

/// Lint the files of every type with the rules that apply to it
/// ([`crate::lint::lint_typed`]): a resource-based policy may name principals, and an
/// `Allow` to every principal without a condition is a finding there.
pub fn lint_policy_types(
    root: &Root,
    files: &PolicyTypeFiles,
) -> Result<Vec<crate::lint::Finding>, TypesError> {
    use crate::eval::authorize::PolicyType;
    let typed = files
        .resource
        .iter()
        .map(|(_, p)| (PolicyType::Resource, PolicyKind::Resource, p))
        .chain(
            files
                .boundary
                .iter()
                .map(|p| (PolicyType::Boundary, PolicyKind::Identity, p)),
        )
        .chain(
            files
                .session
                .iter()
                .map(|p| (PolicyType::Session, PolicyKind::Identity, p)),
        )
        .chain(
            files
                .scps
                .iter()
                .map(|(_, p)| (PolicyType::Scp, PolicyKind::Scp, p)),
        )
        .chain(
            files
                .rcps
                .iter()
                .map(|(_, p)| (PolicyType::Rcp, PolicyKind::Rcp, p)),
        );
    let mut findings = Vec::new();
    for (t, kind, path) in typed {
        let (policy, text) = read_policy_text(root, path, kind)?;
        let source = (
            crate::lint::Locations::from_text(&policy.name, &text),
            crate::lint::policy_size(&text),
        );
        let set = PolicySet::new(vec![policy]);
        findings.extend(crate::lint::lint_typed(&set, &[Some(source)], t));
    }
    Ok(findings)
}

/// The levels of `items` (label, file): files with the same label form one level, levels
/// in the order their label first appears.
fn levels(
    root: &Root,
    items: &[(String, PathBuf)],
    kind: PolicyKind,
) -> Result<Vec<Level>, TypesError> {
    let mut grouped: Vec<(String, Vec<Policy>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (label, path) in items {
        if label.is_empty() {
            return Err(TypesError::EmptyLevel {
                kind: kind.described(),
                file: path.display().to_string(),
            });
        }
        let policy = read_policy(root, path, kind)?;
        match index.get(label.as_str()) {
            Some(&i) => grouped[i].1.push(policy),
            None => {
                index.insert(label, grouped.len());
                grouped.push((label.clone(), vec![policy]));
            }
        }
    }
    Ok(grouped
        .into_iter()
        .map(|(label, policies)| Level {
            label,
            set: PolicySet::new(policies),
        })
        .collect())
}

/// Check the ARN a resource-based policy is attached to (the gate's `resource-policies`):
/// a concrete ARN of one resource, since the policy applies to that ARN and to what
/// follows it after `/`. A value that would silently cover nothing is refused: a
/// wildcard, a trailing or doubled `/`, an S3 bucket ARN with a region or account, or a
/// name S3 cannot have; a bucket or an API is named without a path.
pub fn check_resource_scope(arn: &str) -> Result<(), String> {
    let shape =
        "not the ARN of one resource (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, no wildcard)";
    let Some([_, service, region, account, resource]) = crate::lang::arn::split_concrete(arn)
    else {
        return Err(shape.to_string());
    };
    if arn.contains(['*', '?'])
        || resource.is_empty()
        || resource.ends_with('/')
        || resource.contains("//")
    {
        return Err(shape.to_string());
    }
    match service {
        "s3" => {
            if !region.is_empty() || !account.is_empty() {
                return Err(
                    "an S3 bucket's ARN has no region and no account (arn:aws:s3:::BUCKET)"
                        .to_string(),
                );
            }
            let valid = (3..=63).contains(&resource.len())
                && resource.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'
                });
            if !valid {
                return Err("a bucket policy is attached to a bucket: arn:aws:s3:::BUCKET, the name in lowercase letters, digits, '.' and '-' (3 to 63)".to_string());
            }
        }
        "execute-api" if region.is_empty() || account.is_empty() || resource.contains('/') => {
            return Err("an API's resource policy is attached to the API: arn:aws:execute-api:REGION:ACCOUNT:API_ID".to_string());
        }
        _ => {}
    }
    Ok(())
}

/// Every policy AWS evaluates: the identity-based policies `identity` and the other
/// types' `files`, read inside `root` and checked together ([`Policies::validate`]).
pub fn load_policy_types(
    root: &Root,
    identity: PolicySet,
    files: &PolicyTypeFiles,
) -> Result<Policies, TypesError> {
    add_policy_types(root, Policies::identity_only(identity), files)
}

/// `base` (e.g. [`crate::load::Loaded::policies`]: a template's role with its boundary and
/// the template's resource-based policies) with the other types' `files` added: their
/// resource-based policies join the base's, and a boundary file is an error when the base
/// has one ([`Policies::with`]).
pub fn add_policy_types(
    root: &Root,
    base: Policies,
    files: &PolicyTypeFiles,
) -> Result<Policies, TypesError> {
    let extra = read_policy_types(root, PolicySet::default(), files)?;
    Ok(base.with(extra)?)
}

/// The files read into their types (not yet validated together).
fn read_policy_types(
    root: &Root,
    identity: PolicySet,
    files: &PolicyTypeFiles,
) -> Result<Policies, TypesError> {
    let resource = files
        .resource
        .iter()
        .map(|(scope, path)| {
            Ok(ScopedPolicy {
                resource: scope.clone(),
                set: PolicySet::new(vec![read_policy(root, path, PolicyKind::Resource)?]),
            })
        })
        .collect::<Result<Vec<_>, TypesError>>()?;
    let boundary = match &files.boundary {
        Some(path) => Some(PolicySet::new(vec![read_policy(
            root,
            path,
            PolicyKind::Identity,
        )?])),
        None => None,
    };
    let session = if files.session.is_empty() {
        None
    } else {
        Some(PolicySet::new(
            files
                .session
                .iter()
                .map(|p| read_policy(root, p, PolicyKind::Identity))
                .collect::<Result<Vec<_>, _>>()?,
        ))
    };
    let policies = Policies {
        identity,
        resource,
        resource_account: files.resource_account.clone(),
        boundary,
        session,
        scps: levels(root, &files.scps, PolicyKind::Scp)?,
        rcps: levels(root, &files.rcps, PolicyKind::Rcp)?,
    };
    Ok(policies)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> Root {
        Root::new(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    fn dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/policy-types")
    }

    #[test]
    fn levels_group_by_label_in_first_order() {
        let files = PolicyTypeFiles {
            scps: vec![
                ("root".into(), dir().join("scp-allow-all.json")),
                ("ou".into(), dir().join("scp-deny-delete.json")),
                ("root".into(), dir().join("scp-deny-delete.json")),
            ],
            rcps: vec![("root".into(), dir().join("rcp-tls.json"))],
            ..PolicyTypeFiles::default()
        };
        let p = load_policy_types(&project(), PolicySet::default(), &files).unwrap();
        let labels: Vec<(&str, usize)> = p
            .scps
            .iter()
            .map(|l| (l.label.as_str(), l.set.policies().len()))
            .collect();
        assert_eq!(labels, [("root", 2), ("ou", 1)]);
        assert_eq!(p.rcps.len(), 1);
    }

    #[test]
    fn each_file_is_read_as_its_kind() {
        // An identity-based document is not an RCP, nor a resource-based policy.
        let files = PolicyTypeFiles {
            rcps: vec![("root".into(), dir().join("scp-allow-all.json"))],
            ..PolicyTypeFiles::default()
        };
        let e = load_policy_types(&project(), PolicySet::default(), &files).unwrap_err();
        assert!(
            e.to_string().contains(
                "Statement[0]: missing required element: one of \"Principal\" or \"NotPrincipal\""
            ),
            "{e}"
        );
        let files = PolicyTypeFiles {
            boundary: Some(dir().join("rcp-tls.json")),
            ..PolicyTypeFiles::default()
        };
        let e = load_policy_types(&project(), PolicySet::default(), &files).unwrap_err();
        assert!(
            e.to_string()
                .contains("an identity-based policy must not contain \"Principal\""),
            "{e}"
        );
        let files = PolicyTypeFiles {
            scps: vec![(String::new(), dir().join("scp-allow-all.json"))],
            ..PolicyTypeFiles::default()
        };
        let e = load_policy_types(&project(), PolicySet::default(), &files).unwrap_err();
        assert!(
            e.to_string().ends_with("an SCP level label is empty"),
            "{e}"
        );
    }

    #[test]
    fn files_outside_the_root_and_standard_input_are_refused() {
        let root = Root::new(&dir()).unwrap();
        let files = PolicyTypeFiles {
            boundary: Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")),
            ..PolicyTypeFiles::default()
        };
        let e = load_policy_types(&root, PolicySet::default(), &files).unwrap_err();
        assert!(e.to_string().contains("is outside the project root"), "{e}");
        let files = PolicyTypeFiles {
            session: vec![PathBuf::from("-")],
            ..PolicyTypeFiles::default()
        };
        let e = load_policy_types(&project(), PolicySet::default(), &files).unwrap_err();
        assert_eq!(
            e.to_string(),
            "standard input (`-`) cannot be read as an identity-based policy: name its file"
        );
    }

    #[test]
    fn the_policies_are_validated_together() {
        let files = PolicyTypeFiles {
            resource_account: Some("12345".into()),
            ..PolicyTypeFiles::default()
        };
        let e = load_policy_types(&project(), PolicySet::default(), &files).unwrap_err();
        assert_eq!(e.to_string(), "\"12345\" is not an account id (12 digits)");
    }
}

#[cfg(test)]
mod scope_tests {
    use super::check_resource_scope;

    #[test]
    fn scopes_that_would_cover_nothing_are_refused() {
        for ok in [
            "arn:aws:s3:::notes-app-uploads",
            "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5",
            "arn:aws:sqs:us-east-1:123456789012:jobs",
        ] {
            assert_eq!(check_resource_scope(ok), Ok(()), "{ok}");
        }
        for bad in [
            "arn:aws:s3:::notes-app-uploads/",
            "arn:aws:s3:::notes-app-uploads//",
            "arn:aws:s3:us-east-1::notes-app-uploads",
            "arn:aws:s3:::Notes-App-Uploads",
            "arn:aws:s3:::notes-app-uploads/private",
            "arn:aws:s3:::notes-*",
            "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod",
            "arn:aws:sqs:us-east-1:123456789012:",
            "notes-app-uploads",
        ] {
            assert!(check_resource_scope(bad).is_err(), "{bad}");
        }
    }
}

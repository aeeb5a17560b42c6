//! The policies an audit decides with, loaded by the core library's loader exactly as
//! `policy-sim check` loads them (files, or a template's role; the other policy types).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use policy_sim::eval::authorize::Policies;
use policy_sim::lang::principal::Caller;
use policy_sim::load;
use policy_sim::load::types::{PolicyTypeFiles, add_policy_types};
use policy_sim::managed::{Claim, Given};
use policy_sim::root::Root;
use policy_sim::template::{Params, Template};
use sha2::{Digest, Sha256};

use crate::error::AuditError;

/// Where one set of policies comes from (the options `check` takes).
#[derive(Debug, Clone, Default)]
pub struct PolicyInputs {
    /// Identity-based policy files.
    pub policies: Vec<PathBuf>,
    /// A template whose role's policies are used (instead of `policies`).
    pub template: Option<PathBuf>,
    /// The role's logical id.
    pub role: Option<String>,
    /// `NAME=VALUE` values the template needs.
    pub params: Vec<String>,
    /// `ARN=FILE` documents of managed policies the role names.
    pub managed: Vec<String>,
    /// The other policy types' files.
    pub types: PolicyTypeFiles,
}

impl PolicyInputs {
    /// Every file named, for the project root and the digest.
    pub fn files(&self) -> Vec<&Path> {
        self.policies
            .iter()
            .map(PathBuf::as_path)
            .chain(self.template.as_deref())
            .chain(self.types.files())
            .collect()
    }
}

/// Policies ready to decide with.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Every policy type.
    pub policies: Arc<Policies>,
    /// [`policies_digest`] of the policies.
    pub digest: String,
}

/// Load `inputs` inside `root`. A policy the tool cannot see (a managed policy named by
/// ARN and not given) is an error: decisions that depend on it could be wrong either way.
pub fn load_inputs(root: &Root, inputs: &PolicyInputs) -> Result<Loaded, AuditError> {
    if inputs.policies.is_empty() && inputs.template.is_none() {
        return Err(AuditError::Usage(
            "no policies: give --policy FILE (repeatable) or --template FILE".to_string(),
        ));
    }
    if !inputs.policies.is_empty() && inputs.template.is_some() {
        return Err(AuditError::Usage(
            "--policy and --template cannot be used together".to_string(),
        ));
    }
    let loaded = match &inputs.template {
        None => load::load_files(root, &inputs.policies)?,
        Some(path) => {
            let params = Params::parse(&inputs.params)?;
            let t = Template::load_in(root, path, params)?;
            let given = Given::parse(&inputs.managed)
                .map_err(|e| AuditError::Usage(format!("--managed-policy: {e}")))?;
            load::load_role(root, &t, inputs.role.as_deref(), &given)?
        }
    };
    loaded
        .gap(Claim::Decision)
        .map_err(|e| AuditError::Usage(e.to_string()))?;
    let policies = add_policy_types(root, loaded.policies(), &inputs.types)?;
    let digest = policies_digest(&policies);
    Ok(Loaded {
        policies: Arc::new(policies),
        digest,
    })
}

/// A SHA-256 over the policies as loaded and read: every policy type, each set's index and
/// scope (a resource policy's resource, an organization level's label), every policy's
/// parsed document (its name, version and statements, in their model's deterministic
/// debug form), and the resource account. Two processes that loaded the same policies
/// get the same digest, whatever options or files gave them; any difference that can
/// change a decision changes it.
pub fn policies_digest(policies: &Policies) -> String {
    let mut hash = Sha256::new();
    let mut put = |text: &str| {
        hash.update((text.len() as u64).to_le_bytes());
        hash.update(text.as_bytes());
    };
    for (policy_type, index, set) in policies.sets() {
        put(policy_type.as_str());
        put(&index.to_string());
        for policy in set.policies() {
            put(&format!("{policy:?}"));
        }
    }
    for scoped in &policies.resource {
        put(&format!("{:?}", scoped.resource));
    }
    for level in policies.scps.iter().chain(&policies.rcps) {
        put(&level.label);
    }
    put(&format!("{:?}", policies.resource_account));
    hex(&hash.finalize())
}

/// Lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A `--principal` value.
pub fn parse_principal(text: Option<&str>) -> Result<Option<Caller>, AuditError> {
    text.map(Caller::parse)
        .transpose()
        .map_err(|e| AuditError::Usage(format!("--principal: {e}")))
}

//! Template loader: a CloudFormation (YAML or JSON) or Serverless template, read from a
//! file in a private temporary directory (the loader reads files), then its role's
//! policies and trust policy.
//!
//! Properties:
//! - loading and resolving are deterministic (same policies, same errors);
//! - an error renders, and a located error names the template and a place inside it;
//! - every resolved policy's JSON document parses on its own to the same statements, and
//!   written back from its model decides as the loaded policy does.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use policy_sim::lang::model::PolicyKind;
use policy_sim::lang::parse::parse_policy_as;
use policy_sim::template::{Params, Template, TemplateError};
use policy_sim::{Policy, PolicySet};
use policy_sim_fuzz::{assert_loc_inside, now, policy_json, render, requests};

/// The template file: one per process, in a directory of its own.
fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("policy-sim-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        dir.join("template.yml")
    })
}

/// What a load gives, as text to compare two runs: the policies' statements or the error.
fn load(text: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    let file = path().display().to_string();
    let check_error = |e: TemplateError| {
        render(&e);
        if let Some(loc) = e.loc()
            && *loc.file == *file
        {
            assert_loc_inside(loc, &file, text, "template error");
        }
        e.to_string()
    };
    let t = Template::load(path(), Params::default()).map_err(check_error)?;
    let role = t.select_role(None).map_err(check_error)?;
    let mut out = Vec::new();
    let policies = t.role_policies(&role).map_err(check_error)?;
    for p in &policies.policies {
        check_document(&p.policy, &p.document, PolicyKind::Identity);
        out.push((p.name.clone(), keys(&p.policy)));
    }
    let trust = t.trust_policy(&role).map_err(check_error)?;
    check_document(&trust.policy, &trust.document, PolicyKind::Resource);
    out.push((trust.name, keys(&trust.policy)));
    Ok(out)
}

fn keys(p: &Policy) -> Vec<String> {
    p.statements.iter().map(|s| s.key()).collect()
}

/// The resolved document parses on its own to the policy the loader gave, and the policy
/// written back from its model decides alike.
fn check_document(policy: &Policy, document: &serde_json::Value, kind: PolicyKind) {
    let json = document.to_string();
    let alone = parse_policy_as("doc.json", json.as_bytes(), kind)
        .unwrap_or_else(|e| panic!("a resolved document does not parse alone: {e}\n{json}"));
    assert_eq!(
        keys(policy),
        keys(&alone),
        "the document alone differs\n{json}"
    );
    if kind == PolicyKind::Identity {
        let written = policy_json::to_json(policy);
        let again = parse_policy_as("again.json", written.as_bytes(), kind)
            .unwrap_or_else(|e| panic!("written back, the policy does not parse: {e}\n{written}"));
        let a = PolicySet::new(vec![policy.clone()]);
        let b = PolicySet::new(vec![again]);
        for r in requests::for_policy(policy, now()) {
            let decide = |s: &PolicySet| s.evaluate(&r).ok().map(|e| e.decision);
            assert_eq!(decide(&a), decide(&b), "{r:?}\n{written}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    std::fs::write(path(), data).expect("the template file is written");
    let first = load(text);
    let second = load(text);
    assert_eq!(first, second, "two loads of one template differ");
});

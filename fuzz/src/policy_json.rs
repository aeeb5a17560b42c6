//! A policy written back as JSON from its parsed model, with every list written as a
//! list and every condition value quoted: the same policy in another spelling, which must
//! parse and decide every request as the original does.

use policy_sim::Policy;
use policy_sim::lang::model::{ActionSpec, Principal, ResourceSpec, Statement};
use serde_json::{Map, Value, json};

/// The JSON text of `policy`'s model.
pub fn to_json(policy: &Policy) -> String {
    let mut doc = Map::new();
    if let Some(v) = policy.version {
        doc.insert("Version".into(), json!(v.as_str()));
    }
    if let Some(id) = &policy.id {
        doc.insert("Id".into(), json!(id));
    }
    let statements: Vec<Value> = policy.statements.iter().map(statement).collect();
    doc.insert("Statement".into(), Value::Array(statements));
    Value::Object(doc).to_string()
}

fn statement(st: &Statement) -> Value {
    let mut out = Map::new();
    if let Some(sid) = &st.sid {
        out.insert("Sid".into(), json!(sid));
    }
    out.insert("Effect".into(), json!(st.effect.as_str()));
    if let Some(p) = &st.principal {
        out.insert("Principal".into(), principal(p));
    }
    if let Some(p) = &st.not_principal {
        out.insert("NotPrincipal".into(), principal(p));
    }
    let (name, patterns) = match &st.action {
        ActionSpec::Action(p) => ("Action", p),
        ActionSpec::NotAction(p) => ("NotAction", p),
    };
    let sources: Vec<&str> = patterns.iter().map(|p| p.source()).collect();
    out.insert(name.into(), json!(sources));
    match &st.resource {
        Some(ResourceSpec::Resource(p)) => {
            let sources: Vec<&str> = p.iter().map(|p| p.source()).collect();
            out.insert("Resource".into(), json!(sources));
        }
        Some(ResourceSpec::NotResource(p)) => {
            let sources: Vec<&str> = p.iter().map(|p| p.source()).collect();
            out.insert("NotResource".into(), json!(sources));
        }
        None => {}
    }
    if !st.conditions.is_empty() {
        // Conditions of one operator block are contiguous in the model.
        let mut blocks: Vec<(String, Map<String, Value>)> = Vec::new();
        for c in &st.conditions {
            let op = c.operator.to_string();
            if blocks.last().is_none_or(|(o, _)| *o != op) {
                blocks.push((op, Map::new()));
            }
            let block = &mut blocks.last_mut().expect("just pushed").1;
            block.insert(c.key.clone(), json!(c.raw_values));
        }
        let condition: Map<String, Value> = blocks
            .into_iter()
            .map(|(op, keys)| (op, Value::Object(keys)))
            .collect();
        out.insert("Condition".into(), Value::Object(condition));
    }
    Value::Object(out)
}

fn principal(p: &Principal) -> Value {
    match p {
        Principal::Any => json!("*"),
        Principal::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(kind, values)| (kind.clone(), json!(values)))
                .collect(),
        ),
    }
}

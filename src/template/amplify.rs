//! Amplify Gen 1: the root stack's `AuthRole` and `UnauthRole` are created with a trust
//! policy that denies everyone, and the custom resource `UpdateRolesWithIDPFunctionOutputs`
//! (`Custom::LambdaCallout`, calling the inline function `UpdateRolesWithIDPFunction`)
//! replaces both at deploy time with one that trusts the identity pool. The Amplify CLI
//! publishes that function's code (`update-idp-roles-cfn.json` of its CloudFormation
//! provider): for `Create` and `Update` it sets, on the role named `authRoleName`,
//!
//! ```json
//! {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
//!   "Principal": {"Federated": "cognito-identity.amazonaws.com"},
//!   "Action": "sts:AssumeRoleWithWebIdentity",
//!   "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": idpId},
//!     "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"}}}]}
//! ```
//!
//! and the same with `unauthenticated` on `unauthRoleName`. That rewrite is modelled,
//! and said in a note, only when the custom resource is exactly that one (see [`model`]);
//! any other custom resource stays refused.

use super::node::{Kind, Node};
use super::node::{map, seq, text};
use super::{TemplateError, get_att_target, ref_target};

/// The custom resource's logical id in the Amplify root stack.
const CALLOUT: &str = "UpdateRolesWithIDPFunctionOutputs";
/// The function it calls.
const FUNCTION: &str = "UpdateRolesWithIDPFunction";
/// Its properties, exactly.
const PROPERTIES: [&str; 5] = [
    "ServiceToken",
    "region",
    "idpId",
    "authRoleName",
    "unauthRoleName",
];
/// Text the function's code holds (whitespace and quotes removed): it reads the three
/// properties and writes the trust policy above for both kinds of identity.
const CODE_MARKERS: [&str; 10] = [
    "event.ResourceProperties.authRoleName",
    "event.ResourceProperties.unauthRoleName",
    "event.ResourceProperties.idpId",
    "Effect:Allow",
    "Principal:{Federated:cognito-identity.amazonaws.com}",
    "Action:sts:AssumeRoleWithWebIdentity",
    "StringEquals:{cognito-identity.amazonaws.com:aud:idpId}",
    "ForAnyValue:StringLike:{cognito-identity.amazonaws.com:amr:authenticated}",
    "ForAnyValue:StringLike:{cognito-identity.amazonaws.com:amr:unauthenticated}",
    "AssumeRolePolicy",
];

/// SHA-256 of the function code of each version of the Amplify CLI's
/// `update-idp-roles-cfn.json` modelled here, once whitespace and quotes are removed:
/// the published file (aws-amplify/amplify-cli, commit 0883a4b8) without its two debugging
/// lines that make the function fail at once (`response.send(..., 'KABOOM'); return;`).
const KNOWN_CODE_SHA256: [&str; 1] =
    ["4c2de23b682c818870c91bbd308206bc21e10cb0d38c84dbdb86fae0b03a41d1"];

/// Whether `squeezed` (code without whitespace and quotes) is a known version.
fn is_known_code(squeezed: &str) -> bool {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(squeezed.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    KNOWN_CODE_SHA256.contains(&hex.as_str())
}

/// Model the Amplify Gen 1 trust rewrite in `cfn` when its custom resource is exactly the
/// Amplify CLI's: `UpdateRolesWithIDPFunctionOutputs` of type `Custom::LambdaCallout` with
/// no `Condition`, exactly the properties `ServiceToken` (`Fn::GetAtt
/// [UpdateRolesWithIDPFunction, Arn]`), `region`, `idpId`, `authRoleName` and
/// `unauthRoleName` (each `Ref` of an `AWS::IAM::Role` of the template), calling an
/// `AWS::Lambda::Function` whose inline `Code.ZipFile` holds the CLI's rewrite. The two
/// roles' `AssumeRolePolicyDocument` are replaced and the custom resource removed; the
/// note to show is returned. Anything else leaves `cfn` as it is.
pub(super) fn model(cfn: &mut Node) -> Result<Option<String>, TemplateError> {
    let Some(resources) = cfn.get("Resources").and_then(Node::as_map) else {
        return Ok(None);
    };
    let find = |id: &str| resources.iter().find(|(k, _)| k == id).map(|(_, r)| r);
    let type_of = |r: &Node| r.get("Type").and_then(Node::as_str).map(str::to_string);
    let Some(callout) = find(CALLOUT) else {
        return Ok(None);
    };
    if type_of(callout).as_deref() != Some("Custom::LambdaCallout")
        || callout.get("Condition").is_some()
    {
        return Ok(None);
    }
    let Some(props) = callout.get("Properties").and_then(Node::as_map) else {
        return Ok(None);
    };
    let mut keys: Vec<&str> = props.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    let mut expected = PROPERTIES;
    expected.sort_unstable();
    if keys != expected {
        return Ok(None);
    }
    let prop = |k: &str| props.iter().find(|(p, _)| p == k).map(|(_, v)| v);
    let token = prop("ServiceToken");
    let token_ok = token.is_some_and(|t| {
        get_att_target(t) == Some(FUNCTION)
            && matches!(
                t.single_entry().map(|(_, a)| a),
                Some(a) if a.as_seq().is_some_and(|s| s.get(1).and_then(Node::as_str) == Some("Arn"))
                    || a.as_str() == Some("UpdateRolesWithIDPFunction.Arn")
            )
    });
    let role = |k: &str| {
        prop(k)
            .and_then(ref_target)
            .filter(|r| find(r).and_then(type_of).as_deref() == Some("AWS::IAM::Role"))
            .map(str::to_string)
    };
    let (Some(auth), Some(unauth), Some(idp)) = (
        role("authRoleName"),
        role("unauthRoleName"),
        prop("idpId").cloned(),
    ) else {
        return Ok(None);
    };
    let function = find(FUNCTION);
    let code = function
        .filter(|f| type_of(f).as_deref() == Some("AWS::Lambda::Function"))
        .and_then(|f| f.get("Properties"))
        .and_then(|p| p.get("Code"))
        .and_then(|c| c.get("ZipFile"))
        .and_then(zip_text);
    let Some(code) = code else {
        return Ok(None);
    };
    let squeezed: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '\'' | '"' | '`'))
        .collect();
    if !token_ok || auth == unauth || !CODE_MARKERS.iter().all(|m| squeezed.contains(m)) {
        return Ok(None);
    }
    // Markers alone would accept a function that also does something else (attaches a
    // policy, say): the code must be, to the character, a version the CLI published.
    if !is_known_code(&squeezed) {
        let at = function.map_or_else(|| callout.loc.clone(), |f| f.loc.clone());
        return Err(TemplateError::at(
            at,
            format!(
                "{FUNCTION} looks like the Amplify CLI's, but its code (whitespace and quotes aside) is not a version policy-sim knows: what {CALLOUT} does to the roles at deploy time is not known, so the template is refused (known versions: docs/templates.md)"
            ),
        ));
    }
    let loc = callout.loc.clone();
    let trust = |amr: &str| {
        let kv = |k: &str, v: Node| map(vec![(k.to_string(), v)], &loc);
        let statement = map(
            vec![
                ("Effect".to_string(), text("Allow", &loc)),
                (
                    "Principal".to_string(),
                    kv("Federated", text("cognito-identity.amazonaws.com", &loc)),
                ),
                (
                    "Action".to_string(),
                    text("sts:AssumeRoleWithWebIdentity", &loc),
                ),
                (
                    "Condition".to_string(),
                    map(
                        vec![
                            (
                                "StringEquals".to_string(),
                                kv("cognito-identity.amazonaws.com:aud", idp.clone()),
                            ),
                            (
                                "ForAnyValue:StringLike".to_string(),
                                kv("cognito-identity.amazonaws.com:amr", text(amr, &loc)),
                            ),
                        ],
                        &loc,
                    ),
                ),
            ],
            &loc,
        );
        map(
            vec![
                ("Version".to_string(), text("2012-10-17", &loc)),
                ("Statement".to_string(), seq(vec![statement], &loc)),
            ],
            &loc,
        )
    };
    let mut out = Vec::with_capacity(resources.len());
    for (id, res) in resources {
        if id == CALLOUT {
            continue;
        }
        let amr = if *id == auth {
            "authenticated"
        } else if *id == unauth {
            "unauthenticated"
        } else {
            out.push((id.clone(), res.clone()));
            continue;
        };
        out.push((id.clone(), with_trust(res, trust(amr))));
    }
    let note = format!(
        "{CALLOUT} (Custom::LambdaCallout, the Amplify CLI's {FUNCTION}) is modelled, not run: at deploy time it replaces the trust policies of {auth} and {unauth} with one that lets cognito-identity.amazonaws.com assume them (sts:AssumeRoleWithWebIdentity) for the identity pool's tokens (cognito-identity.amazonaws.com:aud is its idpId), with amr authenticated for {auth} and unauthenticated for {unauth}; the trust policies written in the template are not used"
    );
    let Kind::Map(entries) = &cfn.kind else {
        return Ok(None);
    };
    let rebuilt: Vec<(String, Node)> = entries
        .iter()
        .map(|(k, v)| {
            if k == "Resources" {
                (k.clone(), map(out.clone(), &v.loc))
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect();
    *cfn = map(rebuilt, &cfn.loc);
    Ok(Some(note))
}

/// The inline code: a string, or `Fn::Join` of strings.
fn zip_text(node: &Node) -> Option<String> {
    if let Some(s) = node.as_str() {
        return Some(s.to_string());
    }
    let (_, arg) = node.single_entry().filter(|(k, _)| *k == "Fn::Join")?;
    let [delimiter, items] = arg.as_seq()? else {
        return None;
    };
    let lines: Option<Vec<&str>> = items.as_seq()?.iter().map(Node::as_str).collect();
    Some(lines?.join(delimiter.as_str()?))
}

/// A role resource with its `AssumeRolePolicyDocument` replaced by `trust`.
fn with_trust(res: &Node, trust: Node) -> Node {
    let entries = res.as_map().unwrap_or(&[]);
    let mut out = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        if k != "Properties" {
            out.push((k.clone(), v.clone()));
            continue;
        }
        let mut props: Vec<(String, Node)> = v
            .as_map()
            .unwrap_or(&[])
            .iter()
            .filter(|(p, _)| p != "AssumeRolePolicyDocument")
            .cloned()
            .collect();
        props.push(("AssumeRolePolicyDocument".to_string(), trust.clone()));
        out.push((k.clone(), map(props, &v.loc)));
    }
    map(out, &res.loc)
}

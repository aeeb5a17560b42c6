//! Resource-based policies a template deploys, each with the ARN of the resource it is
//! attached to:
//!
//! - `AWS::S3::BucketPolicy`: the bucket named by `Bucket` (`!Ref` of a bucket of the
//!   template: its `BucketName`, else its physical name as a value to give), ARN
//!   `arn:PARTITION:s3:::NAME`;
//! - `AWS::ApiGateway::RestApi`: its `Policy` (a JSON object, or JSON text), or the
//!   `x-amazon-apigateway-policy` of an OpenAPI `Body`, for the API
//!   `arn:PARTITION:execute-api:REGION:ACCOUNT:API_ID` (`API_ID`: the API's physical id, a
//!   value to give as its logical id);
//! - Serverless: `provider.apiGateway.resourcePolicy` for the service's API
//!   (`ApiGatewayRestApi`, or `provider.apiGateway.restApiId`).
//!
//! API Gateway's `execute-api:/stage/METHOD/path` resource shorthand is expanded to the
//! API's ARN, as API Gateway does when it saves the policy. What could hold a policy that
//! is not read (an API definition in S3, a SAM API's `Auth.ResourcePolicy`) is an error,
//! never a policy left out.

use std::collections::HashMap;

use serde_json::Value;

use super::intrinsics::Resolver;
use super::node::{Kind, Loc, Node};
use super::{ResolvedPolicy, Template, TemplateError, is_no_value, ref_target};
use crate::lang::model::PolicyKind;

/// The Serverless Framework's logical id for the service's REST API.
pub const SERVERLESS_REST_API: &str = "ApiGatewayRestApi";

/// The OpenAPI extension that carries a REST API's resource policy.
const OPENAPI_POLICY: &str = "x-amazon-apigateway-policy";

/// API Gateway's shorthand for the API's own ARN in its resource policy.
const EXECUTE_API_SHORTHAND: &str = "execute-api:";

/// The kind of resource a resource-based policy of the template is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// An S3 bucket (`AWS::S3::BucketPolicy`).
    S3Bucket,
    /// An API Gateway REST API (`AWS::ApiGateway::RestApi` `Policy`, or Serverless
    /// `provider.apiGateway.resourcePolicy`).
    RestApi,
}

/// A resource-based policy of the template and the resource it is attached to.
#[derive(Debug, Clone)]
pub struct ResourcePolicy {
    /// The ARN of the resource (the policy applies to it and everything under it).
    pub resource: String,
    /// What the resource is.
    pub kind: ResourceKind,
    /// The policy, parsed as a resource-based policy and named `FILE#LogicalId/Property`.
    pub policy: ResolvedPolicy,
}

/// A policy found, before parsing: who holds it, the property, its node and its value.
struct Found {
    owner: String,
    property: &'static str,
    kind: ResourceKind,
    resource: String,
    node: Node,
    value: Value,
}

impl Template {
    /// The resource-based policies the template deploys (created resources only), in
    /// document order, then the Serverless service API's. A value the template needs and
    /// nobody gave (a bucket's or an API's physical name) is reported with the others;
    /// anything not understood is an error naming its place.
    pub fn resource_policies(&self) -> Result<Vec<ResourcePolicy>, TemplateError> {
        let mut r = self.resolver();
        let mut found = Vec::new();
        for (logical, res) in self.resources() {
            let ty = res.get("Type").and_then(Node::as_str).unwrap_or("");
            let read = match ty {
                "AWS::S3::BucketPolicy" => Template::bucket_policy,
                "AWS::ApiGateway::RestApi" => Template::rest_api_policy,
                "AWS::Serverless::Api" => Template::sam_api,
                _ => continue,
            };
            if !self.resource_exists(res, &mut r)? {
                continue;
            }
            let props = match res.get("Properties") {
                Some(p) => Some(self.structural(p, &mut r)?),
                None => None,
            };
            if let Some(f) = read(self, logical, res, props.as_ref(), &mut r)? {
                found.push(f);
            }
        }
        if let Some(f) = self.serverless_api_policy(&found, &mut r)? {
            found.push(f);
        }
        r.finish()?;
        one_policy_per_bucket(&found)?;
        let mut out = Vec::with_capacity(found.len());
        for f in found {
            let owner = format!("{} ({})", f.owner, kind_name(f.kind));
            let policy = self.parse_resolved(
                &f.owner,
                &owner,
                f.property,
                &f.node,
                &f.value,
                PolicyKind::Resource,
            )?;
            out.push(ResourcePolicy {
                resource: f.resource,
                kind: f.kind,
                policy: ResolvedPolicy {
                    name: f.property.to_string(),
                    document: f.value,
                    policy,
                    node: f.node,
                },
            });
        }
        Ok(out)
    }

    /// `AWS::S3::BucketPolicy`: `Bucket` and `PolicyDocument`, both required.
    fn bucket_policy(
        &self,
        logical: &str,
        res: &Node,
        props: Option<&Node>,
        r: &mut Resolver<'_>,
    ) -> Result<Option<Found>, TemplateError> {
        let required = |key: &str| {
            props.and_then(|p| p.get(key)).ok_or_else(|| {
                TemplateError::at(
                    res.loc.clone(),
                    format!("bucket policy {logical} has no {key}"),
                )
            })
        };
        let bucket = required("Bucket")?;
        let doc = required("PolicyDocument")?;
        let name = self.bucket_name(logical, bucket, r)?;
        let partition = r.pseudo_text("AWS::Partition");
        let value = r.document(doc)?;
        Ok(Some(Found {
            owner: logical.to_string(),
            property: "PolicyDocument",
            kind: ResourceKind::S3Bucket,
            resource: format!("arn:{partition}:s3:::{name}"),
            node: doc.clone(),
            value,
        }))
    }

    /// The name of the bucket a bucket policy's `Bucket` names: for `!Ref` of a bucket of
    /// the template, its `BucketName` (a physical name given for it must agree), else its
    /// physical name as a value to give; anything else is resolved as a name.
    fn bucket_name(
        &self,
        policy: &str,
        bucket: &Node,
        r: &mut Resolver<'_>,
    ) -> Result<String, TemplateError> {
        let bucket = self.structural(bucket, r)?;
        let Some(target) = ref_target(&bucket) else {
            return r.string(&bucket);
        };
        if self.resource_type(target) != Some("AWS::S3::Bucket") {
            return r.string(&bucket);
        }
        let res = self.resource(target)?;
        if !self.resource_exists(res, r)? {
            return Err(TemplateError::at(
                bucket.loc.clone(),
                format!(
                    "bucket policy {policy} is for bucket {target}, which is not created: its Condition is false"
                ),
            ));
        }
        let named = match res.get("Properties").and_then(|p| p.get("BucketName")) {
            Some(n) => Some(self.structural(n, r)?).filter(|n| !is_no_value(n)),
            None => None,
        };
        let Some(named) = named else {
            // A generated name: the physical name is a value to give.
            return r.string(&bucket);
        };
        let missing = r.missing.len();
        let name = r.string(&named)?;
        if r.missing.len() == missing
            && let Some(given) = self.params.resolve(target)
            && given != name
        {
            return Err(TemplateError::at(
                named.loc.clone(),
                format!(
                    "bucket {target} is given the name {given:?}, but its BucketName is {name:?}"
                ),
            ));
        }
        Ok(name)
    }

    /// `AWS::ApiGateway::RestApi`: its `Policy`, or the `x-amazon-apigateway-policy` of
    /// its OpenAPI `Body`. An API defined in S3 (`BodyS3Location`), whose policy cannot be
    /// read, and a policy given both ways are errors.
    fn rest_api_policy(
        &self,
        logical: &str,
        _res: &Node,
        props: Option<&Node>,
        r: &mut Resolver<'_>,
    ) -> Result<Option<Found>, TemplateError> {
        let Some(props) = props else {
            return Ok(None);
        };
        if let Some(s3) = props.get("BodyS3Location") {
            return Err(TemplateError::at(
                s3.loc.clone(),
                format!(
                    "REST API {logical} is defined by a file in S3 (BodyS3Location), which policy-sim cannot read: it could carry a resource policy ({OPENAPI_POLICY}) that would not be checked"
                ),
            ));
        }
        let policy = props
            .get("Policy")
            .map(|p| self.structural(p, r))
            .transpose()?
            .filter(|p| !is_no_value(p));
        let in_body = self.openapi_policy(logical, props.get("Body"), r)?;
        let (property, node) = match (policy, in_body) {
            (None, None) => return Ok(None),
            (Some(p), None) => ("Policy", p),
            (None, Some(b)) => ("Body", b),
            (Some(p), Some(_)) => {
                return Err(TemplateError::at(
                    p.loc.clone(),
                    format!(
                        "REST API {logical} has both a Policy and, in its Body, an {OPENAPI_POLICY}: which one applies is not known"
                    ),
                ));
            }
        };
        let api = self.api_arn(logical, None, &node.loc, r)?;
        let value = self.api_document(logical, &node, &api, r)?;
        Ok(Some(Found {
            owner: logical.to_string(),
            property,
            kind: ResourceKind::RestApi,
            resource: api,
            node,
            value,
        }))
    }

    /// The `x-amazon-apigateway-policy` node of an OpenAPI `Body` written as a mapping; a
    /// `Body` written as text that mentions it is an error (it is not parsed).
    fn openapi_policy(
        &self,
        logical: &str,
        body: Option<&Node>,
        r: &mut Resolver<'_>,
    ) -> Result<Option<Node>, TemplateError> {
        let Some(body) = body else {
            return Ok(None);
        };
        let body = self.structural(body, r)?;
        match &body.kind {
            Kind::Map(_) => Ok(body.get(OPENAPI_POLICY).cloned()),
            Kind::Null | Kind::Scalar(..) | Kind::Seq(_) => {
                if to_text(&body).contains(OPENAPI_POLICY) {
                    return Err(TemplateError::at(
                        body.loc.clone(),
                        format!(
                            "the Body of REST API {logical} carries a {OPENAPI_POLICY} that is not a mapping of the template: policy-sim does not read it"
                        ),
                    ));
                }
                Ok(None)
            }
        }
    }

    /// A SAM API: SAM is not expanded, so a resource policy it would add is an error.
    fn sam_api(
        &self,
        logical: &str,
        _res: &Node,
        props: Option<&Node>,
        _r: &mut Resolver<'_>,
    ) -> Result<Option<Found>, TemplateError> {
        let Some(props) = props else {
            return Ok(None);
        };
        let carrier = props
            .get("Auth")
            .and_then(|a| a.get("ResourcePolicy"))
            .or_else(|| props.get("DefinitionUri"))
            .or_else(|| {
                props
                    .get("DefinitionBody")
                    .filter(|b| to_text(b).contains(OPENAPI_POLICY))
            });
        match carrier {
            None => Ok(None),
            Some(n) => Err(TemplateError::at(
                n.loc.clone(),
                format!(
                    "{logical} (AWS::Serverless::Api) could give its API a resource policy, and policy-sim does not expand SAM"
                ),
            )),
        }
    }

    /// The Serverless service API's resource policy, as a `Found`. The API's id is
    /// `provider.apiGateway.restApiId`, else the physical id of `ApiGatewayRestApi`. A
    /// `resources:` entry that gives that API a `Policy` too is an error.
    fn serverless_api_policy(
        &self,
        found: &[Found],
        r: &mut Resolver<'_>,
    ) -> Result<Option<Found>, TemplateError> {
        let Some(api) = &self.api_policy else {
            return Ok(None);
        };
        if let Some(other) = found
            .iter()
            .find(|f| f.kind == ResourceKind::RestApi && f.owner == SERVERLESS_REST_API)
        {
            return Err(TemplateError::at(
                other.node.loc.clone(),
                format!(
                    "{SERVERLESS_REST_API} is given a policy here and by {}: which one applies is not known",
                    api.key
                ),
            ));
        }
        let loc = &api.statements.loc;
        let arn = self.api_arn(SERVERLESS_REST_API, api.rest_api_id.as_ref(), loc, r)?;
        let node = Node {
            kind: Kind::Map(
                vec![
                    (
                        "Version".to_string(),
                        Node {
                            kind: Kind::Scalar(
                                "2012-10-17".to_string(),
                                super::node::ScalarType::Str,
                            ),
                            loc: loc.clone(),
                        },
                    ),
                    ("Statement".to_string(), api.statements.clone()),
                ]
                .into(),
            ),
            loc: loc.clone(),
        };
        let value = self.api_document(SERVERLESS_REST_API, &node, &arn, r)?;
        let (owner, property) = api.key.rsplit_once('.').unwrap_or(("provider", api.key));
        Ok(Some(Found {
            owner: owner.to_string(),
            property,
            kind: ResourceKind::RestApi,
            resource: arn,
            node,
            value,
        }))
    }

    /// `arn:PARTITION:execute-api:REGION:ACCOUNT:API_ID` for the API `logical` (its id
    /// given as `id`, else its physical id, a value to give).
    fn api_arn(
        &self,
        logical: &str,
        id: Option<&Node>,
        loc: &Loc,
        r: &mut Resolver<'_>,
    ) -> Result<String, TemplateError> {
        let id = match id {
            Some(n) => r.string(n)?,
            None => r.reference_text(logical, loc)?,
        };
        let partition = r.pseudo_text("AWS::Partition");
        let region = r.pseudo_text("AWS::Region");
        let account = r.pseudo_text("AWS::AccountId");
        Ok(format!(
            "arn:{partition}:execute-api:{region}:{account}:{id}"
        ))
    }

    /// An API's policy document, resolved (JSON text parsed), with the `execute-api:/...`
    /// shorthand expanded to the API's ARN.
    fn api_document(
        &self,
        logical: &str,
        node: &Node,
        api: &str,
        r: &mut Resolver<'_>,
    ) -> Result<Value, TemplateError> {
        let mut value = match r.resolve(node)? {
            Value::String(text) => serde_json::from_str(&text).map_err(|e| {
                TemplateError::at(
                    node.loc.clone(),
                    format!("the policy of REST API {logical} is not JSON: {e}"),
                )
            })?,
            other => other,
        };
        expand_execute_api(&mut value, api, node)?;
        Ok(value)
    }
}

/// Replace API Gateway's `execute-api:/...` shorthand in each statement's `Resource` and
/// `NotResource` with the API's ARN followed by the rest (`execute-api:/*` is
/// `arn:...:API_ID/*`). Another `execute-api:` form is an error: it names no ARN, and a
/// Deny that matches nothing would be dropped silently.
fn expand_execute_api(document: &mut Value, api: &str, node: &Node) -> Result<(), TemplateError> {
    let Some(statements) = document.get_mut("Statement") else {
        return Ok(());
    };
    let list: Vec<&mut Value> = match statements {
        Value::Array(items) => items.iter_mut().collect(),
        other => vec![other],
    };
    for (i, statement) in list.into_iter().enumerate() {
        for key in ["Resource", "NotResource"] {
            let Some(field) = statement.get_mut(key) else {
                continue;
            };
            let texts: Vec<&mut Value> = match field {
                Value::Array(items) => items.iter_mut().collect(),
                other => vec![other],
            };
            for text in texts {
                let Value::String(s) = text else { continue };
                let Some(rest) = s.strip_prefix(EXECUTE_API_SHORTHAND) else {
                    continue;
                };
                if !rest.starts_with('/') {
                    let path = format!("Statement[{i}].{key}");
                    return Err(TemplateError::at(
                        super::locate(node, &path),
                        format!(
                            "{path}: {s:?} is neither an ARN nor API Gateway's execute-api:/STAGE/METHOD/PATH"
                        ),
                    ));
                }
                *s = format!("{api}{rest}");
            }
        }
    }
    Ok(())
}

/// At most one policy per bucket: a second `AWS::S3::BucketPolicy` for the same bucket
/// would replace the first, in an order the template does not fix.
fn one_policy_per_bucket(found: &[Found]) -> Result<(), TemplateError> {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for f in found {
        if f.kind != ResourceKind::S3Bucket {
            continue;
        }
        if let Some(first) = seen.insert(&f.resource, &f.owner) {
            return Err(TemplateError::at(
                f.node.loc.clone(),
                format!(
                    "bucket policies {first} and {} are both for {}: a bucket has one policy, and which one is deployed last is not known",
                    f.owner, f.resource
                ),
            ));
        }
    }
    Ok(())
}

/// `bucket policy`, `REST API policy`.
fn kind_name(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::S3Bucket => "bucket policy",
        ResourceKind::RestApi => "REST API policy",
    }
}

/// A node's text, keys and scalars, for a search.
fn to_text(node: &Node) -> String {
    super::to_json_unchecked(node).to_string()
}

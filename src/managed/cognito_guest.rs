//! The session policy Amazon Cognito applies to guest (unauthenticated) credentials of the
//! enhanced authentication flow, shipped as versioned, dated data
//! (`cognito_unauth_session_policy.json`).
//!
//! Neither source gives one document that says everything the flow does:
//! - the Amazon Cognito Developer Guide, "IAM roles", section "Access policies" ([`SOURCE_URL`]),
//!   lists the services a guest's credentials can reach (among them Amazon S3, DynamoDB,
//!   Lambda) and the few actions allowed in the services restricted to some (AWS KMS,
//!   SageMaker, Textract, Sumerian), but prints no policy document;
//! - the AWS managed policy `AmazonCognitoUnAuthedIdentitiesSessionPolicy`
//!   ([`MANAGED_POLICY_URL`]) is a document, but it names fewer services than the guide (no
//!   Amazon S3, which guest access to S3 in the enhanced flow plainly uses).
//!
//! The data is therefore built, not copied: one Allow of every action of each service the
//! guide lists, one Allow of the actions the guide's table restricts, and the services and
//! actions only the managed policy names (`personalize:*`, `rum:PutRumEvents`, and the KMS
//! key-pair actions). It is the union of the two sources, a superset of each: a session
//! policy that denied what AWS allows could make `prove isolation` answer `holds` wrongly,
//! while a wider one can only leave an Allow that the role's own policies must still grant.
//! The choice is written in `docs/semantics.md`.

use std::sync::OnceLock;

use crate::lang::model::Policy;
use crate::lang::parse::parse_policy;

/// The document (JSON text).
pub static DOCUMENT: &str = include_str!("cognito_unauth_session_policy.json");

/// The name the policy goes by in explanations.
pub const NAME: &str = "AmazonCognitoUnAuthedIdentitiesSessionPolicy";

/// The version of policy-sim's data (raised whenever the document changes).
pub const VERSION: u32 = 1;

/// The date the sources were read (UTC).
pub const READ_ON: &str = "2026-11-30";

/// The page that lists the services: its title.
pub const SOURCE_TITLE: &str = "Amazon Cognito Developer Guide: IAM roles (Access policies)";

/// The page that lists the services.
pub const SOURCE_URL: &str =
    "https://docs.aws.amazon.com/cognito/latest/developerguide/iam-roles.html#access-policies";

/// The AWS managed policy reference page of `AmazonCognitoUnAuthedIdentitiesSessionPolicy`
/// (version v3 of 2024-11-01 there; the bundled AWS managed policies carry v4).
pub const MANAGED_POLICY_URL: &str = "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonCognitoUnAuthedIdentitiesSessionPolicy.html";

/// Where the data comes from, in one line: name, data version, date read and sources.
pub fn source() -> String {
    format!(
        "{NAME} (policy-sim data v{VERSION}, read {READ_ON}: built from {SOURCE_TITLE}, {SOURCE_URL}, and {MANAGED_POLICY_URL})"
    )
}

/// The guest session policy of Cognito's enhanced flow, parsed (an identity-kind policy:
/// session policies have no `Principal`), named [`NAME`].
pub fn policy() -> Policy {
    static PARSED: OnceLock<Policy> = OnceLock::new();
    PARSED
        .get_or_init(|| {
            parse_policy(NAME, DOCUMENT.as_bytes())
                .expect("the bundled Cognito guest session policy parses (tested)")
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{Decision, PolicySet};
    use crate::request::Request;

    fn decide(action: &str, resource: &str) -> Decision {
        let set = PolicySet::new(vec![policy()]);
        let mut request = Request::new(action, resource);
        request
            .context
            .fill_time_defaults("2026-11-30T00:00:00Z".parse().unwrap())
            .unwrap();
        set.evaluate(&request).unwrap().decision
    }

    #[test]
    fn the_data_parses_and_names_its_source() {
        let p = policy();
        assert_eq!(p.name, NAME);
        assert!(source().contains("read 2026-11-30"));
        assert!(source().contains(SOURCE_URL));
    }

    #[test]
    fn guests_reach_the_listed_services_only() {
        for (action, resource) in [
            ("s3:GetObject", "arn:aws:s3:::notes/public/a.txt"),
            ("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:1:table/t"),
            ("kms:Decrypt", "arn:aws:kms:us-east-1:1:key/k"),
            (
                "sagemaker:InvokeEndpoint",
                "arn:aws:sagemaker:us-east-1:1:endpoint/e",
            ),
            ("rum:PutRumEvents", "*"),
        ] {
            assert_eq!(decide(action, resource), Decision::Allow, "{action}");
        }
        for (action, resource) in [
            ("iam:CreateUser", "arn:aws:iam::1:user/u"),
            ("kms:CreateKey", "*"),
            (
                "sagemaker:CreateEndpoint",
                "arn:aws:sagemaker:us-east-1:1:endpoint/e",
            ),
            ("sts:AssumeRole", "arn:aws:iam::1:role/r"),
            ("ec2:RunInstances", "*"),
        ] {
            assert_eq!(decide(action, resource), Decision::ImplicitDeny, "{action}");
        }
    }

    #[test]
    fn the_managed_policy_is_within_the_data() {
        // Every action the bundled managed policy allows is allowed here too (the data is a
        // superset of both sources).
        let arn = "arn:aws:iam::aws:policy/AmazonCognitoUnAuthedIdentitiesSessionPolicy";
        let (doc, _) = super::super::bundled::document(arn).expect("bundled");
        let managed: serde_json::Value = serde_json::from_str(doc).unwrap();
        let actions = managed["Statement"][0]["Action"].as_array().unwrap();
        assert!(!actions.is_empty());
        for a in actions {
            let a = a.as_str().unwrap();
            // A wildcard action stands for itself with its `*` as text.
            let concrete = a.replace('*', "X");
            assert_eq!(decide(&concrete, "*"), Decision::Allow, "{a}");
        }
    }
}

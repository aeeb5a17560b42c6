//! # policy-sim
//!
//! An offline AWS IAM policy evaluator. Load identity-based policies, then decide requests
//! exactly as AWS documents it: [`eval::Decision::Allow`], [`eval::Decision::ExplicitDeny`]
//! or [`eval::Decision::ImplicitDeny`], with the statements that decided and, for every
//! other statement, why it did not apply.
//!
//! Where each rule of IAM semantics lives:
//!
//! | concept | module |
//! |---|---|
//! | the policy document model | [`policy`] |
//! | strict JSON parsing with file:line:column and JSON paths | [`parse`] |
//! | policy variables `${...}` | [`variables`] |
//! | the `*`/`?` wildcard language | [`wildcard`] |
//! | ARN patterns (`Resource`, `Arn*` operators) | [`arn`] |
//! | condition operators | [`condition`] |
//! | requests and their context | [`context`] |
//! | the decision | [`eval`] |
//! | JSON Lines batch input | [`batch`] |
//! | explanations and output objects | [`report`] |
//! | CloudFormation / Serverless templates | [`template`] |
//! | the Cognito identity-pool flow | [`cognito`] |
//! | synthetic request sets for benchmarks | [`workload`] |
//! | the isolation prover | [`prover`] |
//! | lint rules (PS001...) | [`lint`] |
//! | no new access compared with a baseline | [`diff`] |
//! | the CI policy gate | [`gate`] |
//! | AWS's services, actions, resource types and condition keys | [`catalog`] |
//!
//! ```
//! use policy_sim::{parse::parse_policy, eval::{PolicySet, Decision}, context::Request};
//! let policy = parse_policy("inline.json", br#"{
//!   "Version": "2012-10-17",
//!   "Statement": [{"Effect": "Allow", "Action": "s3:*",
//!     "Resource": "arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}/*"}]
//! }"#).unwrap();
//! let set = PolicySet::new(vec![policy]);
//! let own = Request::new("s3:GetObject", "arn:aws:s3:::notes/private/us-east-1:abc/a.txt")
//!     .with_identity("us-east-1:abc");
//! assert_eq!(set.evaluate(&own).unwrap().decision, Decision::Allow);
//! let other = Request::new("s3:GetObject", "arn:aws:s3:::notes/private/us-east-1:xyz/a.txt")
//!     .with_identity("us-east-1:abc");
//! assert_eq!(set.evaluate(&other).unwrap().decision, Decision::ImplicitDeny);
//! ```

#![warn(missing_docs)]

pub mod arn;
pub mod batch;
pub mod catalog;
pub mod cognito;
pub mod condition;
pub mod context;
pub mod diff;
pub mod error;
pub mod eval;
pub mod gate;
pub mod lint;
pub mod parse;
pub mod policy;
pub mod prover;
pub mod report;
pub mod template;
pub mod variables;
pub mod wildcard;
pub mod workload;

pub use error::{LoadError, RequestError};

/// Read and parse a policy file.
pub fn load_policy_file(path: &std::path::Path) -> Result<policy::Policy, LoadError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| LoadError::Read {
        file: name.clone(),
        message: format!("cannot read: {e}"),
    })?;
    let bytes = parse::read_bounded(&name, file)?;
    parse::parse_policy(&name, &bytes)
}

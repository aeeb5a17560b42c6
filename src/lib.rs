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
//! | source locations of errors and findings | [`loc`] |
//! | the project root every file read stays inside | [`root`] |
//! | the policy document model | [`lang::model`] |
//! | strict JSON parsing with file:line:column and JSON paths | [`lang::parse`] |
//! | policy variables `${...}` | [`lang::variables`] |
//! | the `*`/`?` wildcard language | [`lang::wildcard`] |
//! | ARN patterns (`Resource`, `Arn*` operators) | [`lang::arn`] |
//! | condition keys with a meaning of their own | [`lang::keys`] |
//! | reading JSON numbers as written (policies and requests) | [`lang::json`] |
//! | the condition model: operators and typed values | [`lang::condition`] |
//! | condition evaluation | [`condition`] |
//! | requests, their context, the identity rule | [`request`] |
//! | the decision (one combining rule: [`Decision::combine`]) | [`eval`] |
//! | JSON Lines request input | [`request::lines`] |
//! | recorded traffic to requests: CloudTrail records, S3 access log lines | [`logs`] |
//! | deciding a stream of requests, its JSON lines | [`report::batch`] |
//! | deciding requests held as columns of text (no JSON line per row) | [`eval::columns`] |
//! | every output: JSON forms and text renderers | [`report`] |
//! | the one policy loader (files, standard input, globs, a template's role) | [`load`] |
//! | CloudFormation / Serverless templates | [`template`] |
//! | policies a role names by ARN (managed policies, boundaries), the bundled AWS managed policies | [`managed`] |
//! | the Cognito identity-pool flow | [`cognito`] |
//! | synthetic request sets for benchmarks | [`workload`] |
//! | compiled patterns to automata (the one translator) | [`analysis::translate`] |
//! | the isolation prover | [`analysis::prover`] |
//! | lint rules PS001 to PS015, one file each | [`lint`] |
//! | no new access compared with a baseline | [`analysis::no_new_access`] |
//! | the CI policy gate | [`gate`] |
//! | AWS's services, actions, resource types and condition keys | [`catalog`] |
//!
//! ```
//! use policy_sim::{lang::parse::parse_policy, eval::{PolicySet, Decision}, request::Request};
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

pub mod analysis;
pub mod catalog;
pub mod cognito;
pub mod condition;
pub mod eval;
pub mod gate;
pub mod lang;
pub mod lint;
pub mod load;
pub mod loc;
pub mod logs;
pub mod managed;
pub mod report;
pub mod request;
pub mod root;
pub mod template;
pub mod workload;

pub use eval::{Decision, Evaluation, PolicySet};
pub use lang::model::Policy;
pub use lang::parse::{LoadError, load_policy_file};
pub use request::{Context, Request, RequestError};

/// Any error of the library, for callers that handle them alike (each module's own
/// error type says more). Every variant is a [`miette::Diagnostic`] with a code and, where
/// the error has a place in a file, a location and the text around it.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// A policy that could not be read or parsed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Load(#[from] LoadError),
    /// A request that cannot be decided.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Request(#[from] RequestError),
    /// A request line that cannot be read.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Line(#[from] request::lines::LineError),
    /// A template that cannot be used.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Template(#[from] template::TemplateError),
}

//! Condition keys with a meaning of their own to the simulator: the Cognito identity key,
//! the time keys AWS fills in, and the keys AWS puts in every request. Keys are stored in
//! ASCII lowercase (condition key names are case-insensitive).

/// The Cognito identity id (`sub`) of an identity-pool identity: the key of
/// `${cognito-identity.amazonaws.com:sub}`.
pub const COGNITO_SUB: &str = "cognito-identity.amazonaws.com:sub";
/// Always present in real requests; defaults to the current time.
pub const CURRENT_TIME: &str = "aws:currenttime";
/// Always present in real requests; defaults to the current time in epoch seconds.
pub const EPOCH_TIME: &str = "aws:epochtime";

/// Keys the IAM User Guide ("AWS global condition context keys") says are "always
/// included in the request context" (besides the two time keys, which default to now).
/// A statement that needs one of them cannot be decided for a request without it.
pub const ALWAYS_PRESENT: &[&str] = &[
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principaltype",
    "aws:requestedregion",
    "aws:securetransport",
    "aws:useragent",
];

/// Keys included in every signed request and absent only from anonymous ones (IAM User
/// Guide, "AWS global condition context keys": `aws:userid`). A statement that reads one
/// cannot be decided for a request that names its principal without its value; without a
/// principal the request may be anonymous and the key is taken as absent.
pub const SIGNED_PRESENT: &[&str] = &["aws:userid"];

/// Keys included in every request made with temporary credentials (a role or federated
/// user session: IAM User Guide, "AWS global condition context keys": `aws:TokenIssueTime`,
/// `aws:MultiFactorAuthPresent`). A statement that reads one cannot be decided for a
/// session without its value.
pub const SESSION_PRESENT: &[&str] = &["aws:tokenissuetime", "aws:multifactorauthpresent"];

/// `aws:PrincipalIsAWSService`: `false` for every caller the tool reads (it is "present in
/// the request context for all signed API requests that use AWS credentials").
pub const PRINCIPAL_IS_AWS_SERVICE: &str = "aws:PrincipalIsAWSService";

/// `aws:PrincipalArn`: set from the caller (`--principal`).
pub const PRINCIPAL_ARN: &str = "aws:PrincipalArn";
/// `aws:PrincipalAccount`: set from the caller.
pub const PRINCIPAL_ACCOUNT: &str = "aws:PrincipalAccount";
/// `aws:PrincipalType`: set from the caller.
pub const PRINCIPAL_TYPE: &str = "aws:PrincipalType";
/// `aws:userid`: set from the caller where its ARN determines it.
pub const USERID: &str = "aws:userid";
/// `aws:username`: set for IAM users.
pub const USERNAME: &str = "aws:username";
/// `aws:ResourceAccount`: the account that owns the resource.
pub const RESOURCE_ACCOUNT: &str = "aws:ResourceAccount";

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

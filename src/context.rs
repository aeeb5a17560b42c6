//! Requests and their context: the action, the resource and the condition keys AWS would
//! put in the request context.
//!
//! Condition key names are case-insensitive (IAM User Guide, "IAM JSON policy elements:
//! Condition"), so keys are stored in ASCII lowercase. A key may hold several values
//! (a multivalued key such as `aws:TagKeys`).

use jiff::Timestamp;

use crate::variables::VariableSource;

/// The context key set by `--identity`: the Cognito identity id.
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

/// The condition keys of a request, each with one or more values.
///
/// Stored as a small list searched linearly: requests carry a handful of keys, and a scan
/// of lowercase keys beats hashing them. Lookups never allocate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    entries: Vec<(Box<str>, Vec<String>)>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Context {
        Context::default()
    }

    fn position(&self, key_lower: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _)| &**k == key_lower)
    }

    /// Add `value` to `key` (making it multivalued when it already has a value).
    pub fn add(&mut self, key: &str, value: impl Into<String>) {
        let key = key.to_ascii_lowercase();
        match self.position(&key) {
            Some(i) => self.entries[i].1.push(value.into()),
            None => self
                .entries
                .push((key.into_boxed_str(), vec![value.into()])),
        }
    }

    /// Set `key` to exactly `values` (an empty list makes the key present with no value,
    /// which evaluates as absent).
    pub fn set(&mut self, key: &str, values: Vec<String>) {
        let key = key.to_ascii_lowercase();
        match self.position(&key) {
            Some(i) => self.entries[i].1 = values,
            None => self.entries.push((key.into_boxed_str(), values)),
        }
    }

    /// The values of a key (`key_lower` must already be lowercase). A key given with no
    /// values is reported as absent.
    pub fn get(&self, key_lower: &str) -> Option<&[String]> {
        self.entries
            .iter()
            .find(|(k, _)| &**k == key_lower)
            .map(|(_, v)| v.as_slice())
            .filter(|v| !v.is_empty())
    }

    /// True when the key has at least one value.
    pub fn contains(&self, key: &str) -> bool {
        self.get(&key.to_ascii_lowercase()).is_some()
    }

    /// Fill in the keys AWS sets on every request when the caller did not give them:
    /// `aws:CurrentTime` and `aws:EpochTime`. When only one of the two is given, the
    /// other is derived from it; when neither is, both are `now`.
    ///
    /// Errors (never a silent fallback to `now`) when a given time key has several values
    /// or is not a date, or when both are given and name different seconds.
    pub fn fill_time_defaults(&mut self, now: Timestamp) -> Result<(), String> {
        let given = |key: &str, name: &str| -> Result<Option<Timestamp>, String> {
            match self.get(key) {
                None => Ok(None),
                Some([one]) => crate::condition::parse_date(one)
                    .map(Some)
                    .map_err(|e| format!("{name}: {e}")),
                Some(_) => Err(format!("{name} must have a single value")),
            }
        };
        let current = given(CURRENT_TIME, "aws:CurrentTime")?;
        let epoch = given(EPOCH_TIME, "aws:EpochTime")?;
        if let (Some(c), Some(e)) = (current, epoch)
            && c.as_second() != e.as_second()
        {
            return Err(format!(
                "aws:CurrentTime ({c}) and aws:EpochTime ({}) name different times",
                e.as_second()
            ));
        }
        let base = current.or(epoch).unwrap_or(now);
        if current.is_none() {
            self.set(CURRENT_TIME, vec![iso8601_seconds(base)]);
        }
        if epoch.is_none() {
            self.set(EPOCH_TIME, vec![base.as_second().to_string()]);
        }
        Ok(())
    }

    /// Iterate over `(lowercase key, values)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.entries.iter().map(|(k, v)| (&**k, v.as_slice()))
    }
}

impl VariableSource for Context {
    fn variable(&self, key_lower: &str) -> Option<&str> {
        match self.get(key_lower) {
            // Multivalued keys cannot be policy variables (IAM User Guide, "IAM policy
            // elements: Variables and tags"): they have no single value.
            Some([one]) => Some(one),
            _ => None,
        }
    }
}

/// `2026-01-01T00:00:00Z` for `t`. A batch gives every request the same "now", so the
/// last rendering is kept per thread instead of formatting the same second again.
fn iso8601_seconds(t: Timestamp) -> String {
    thread_local! {
        static LAST: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((i64::MIN, String::new())) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != t.as_second() {
            *last = (t.as_second(), t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
        }
        last.1.clone()
    })
}

/// One authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `service:Action`, e.g. `s3:GetObject`.
    pub action: String,
    /// The resource ARN, or `*` for actions that take no resource.
    pub resource: String,
    /// The request context.
    pub context: Context,
}

impl Request {
    /// A request with an empty context.
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Request {
        Request {
            action: action.into(),
            resource: resource.into(),
            context: Context::new(),
        }
    }

    /// Set the Cognito identity id (`cognito-identity.amazonaws.com:sub`).
    pub fn with_identity(mut self, identity: &str) -> Request {
        self.context.set(COGNITO_SUB, vec![identity.to_string()]);
        self
    }

    /// Check the shape of the request: a `service:action` name and an ARN (or `*`)
    /// resource. Returns a message naming what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if !is_action_name(&self.action) {
            return Err(format!(
                "action {:?} is not of the form service:ActionName (without wildcards)",
                self.action
            ));
        }
        if self.resource != "*" && !is_arn(&self.resource) {
            return Err(format!(
                "resource {:?} is not an ARN (arn:partition:service:region:account:resource) or '*'",
                self.resource
            ));
        }
        Ok(())
    }
}

/// `service:Name`: a non-empty service and name, no wildcard, no white space. One pass
/// over the bytes (this runs for every decision).
fn is_action_name(action: &str) -> bool {
    let bytes = action.as_bytes();
    let Some(colon) = memchr::memchr(b':', bytes) else {
        return false;
    };
    colon > 0
        && colon + 1 < bytes.len()
        && bytes
            .iter()
            .all(|&b| !matches!(b, b'*' | b'?') && !b.is_ascii_whitespace())
        && (action.is_ascii() || !action.contains(char::is_whitespace))
}

/// `arn:` followed by at least five colon-separated components.
fn is_arn(resource: &str) -> bool {
    resource.starts_with("arn:")
        && memchr::memchr_iter(b':', &resource.as_bytes()[4..])
            .nth(3)
            .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive() {
        let mut c = Context::new();
        c.add("AWS:SourceIp", "10.0.0.1");
        assert_eq!(c.get("aws:sourceip"), Some(&["10.0.0.1".to_string()][..]));
        assert!(c.contains("aws:SOURCEIP"));
    }

    #[test]
    fn multivalued_keys_are_not_variables() {
        let mut c = Context::new();
        c.add("aws:TagKeys", "a");
        assert_eq!(c.variable("aws:tagkeys"), Some("a"));
        c.add("aws:TagKeys", "b");
        assert_eq!(c.variable("aws:tagkeys"), None);
    }

    #[test]
    fn empty_value_list_is_absent() {
        let mut c = Context::new();
        c.set("aws:TagKeys", vec![]);
        assert_eq!(c.get("aws:tagkeys"), None);
    }

    #[test]
    fn time_defaults_agree() {
        let now: Timestamp = "2026-01-02T03:04:05Z".parse().unwrap();
        let mut c = Context::new();
        c.fill_time_defaults(now).unwrap();
        assert_eq!(c.get(CURRENT_TIME).unwrap()[0], "2026-01-02T03:04:05Z");
        assert_eq!(c.get(EPOCH_TIME).unwrap()[0], "1767323045");

        let mut c = Context::new();
        c.add("aws:EpochTime", "0");
        c.fill_time_defaults(now).unwrap();
        assert_eq!(c.get(CURRENT_TIME).unwrap()[0], "1970-01-01T00:00:00Z");

        let mut c = Context::new();
        c.add("aws:EpochTime", "1900000000.5");
        assert_eq!(
            c.fill_time_defaults(now).unwrap_err(),
            "aws:EpochTime: \"1900000000.5\" is not a date (ISO 8601 such as 2020-01-01T00:00:00Z, or epoch seconds)"
        );
        let mut c = Context::new();
        c.add("aws:EpochTime", "1900000000");
        c.add("aws:CurrentTime", "2026-01-01T00:00:00Z");
        assert_eq!(
            c.fill_time_defaults(now).unwrap_err(),
            "aws:CurrentTime (2026-01-01T00:00:00Z) and aws:EpochTime (1900000000) name different times"
        );
        let mut c = Context::new();
        c.add("aws:EpochTime", "1767225600");
        c.add("aws:CurrentTime", "2026-01-01T00:00:00.250Z");
        assert!(c.fill_time_defaults(now).is_ok(), "same second");
    }

    #[test]
    fn request_validation() {
        assert!(
            Request::new("s3:GetObject", "arn:aws:s3:::b/k")
                .validate()
                .is_ok()
        );
        assert!(Request::new("s3:GetObject", "*").validate().is_ok());
        assert_eq!(
            Request::new("s3:Get*", "*").validate().unwrap_err(),
            "action \"s3:Get*\" is not of the form service:ActionName (without wildcards)"
        );
        assert_eq!(
            Request::new("s3:GetObject", "bucket/key")
                .validate()
                .unwrap_err(),
            "resource \"bucket/key\" is not an ARN (arn:partition:service:region:account:resource) or '*'"
        );
    }
}

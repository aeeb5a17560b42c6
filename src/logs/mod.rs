//! Recorded traffic mapped to requests: CloudTrail records ([`cloudtrail`]) and S3 server
//! access log lines ([`s3_access`]) become [`Request`]s the evaluator decides.
//!
//! Mapping never guesses (`docs/audit.md`): an event whose operation, resource, principal
//! or identity cannot be read from the record is an [`Unmapped`] of a [`UnmappedKind`],
//! which the caller counts; a request is only built from what the record carries.
//!
//! The S3 operation table ([`S3_OPERATIONS`]) follows the Amazon S3 User Guide, "Required
//! permissions for Amazon S3 API operations": each API operation with the IAM action it
//! is authorized with and whether that action's resource is the object or the bucket.
//! Both log kinds use it: CloudTrail names the API operation (`eventName`), an access log
//! line names its own operation code, which [`s3_access`] translates to the API name first.

pub mod cloudtrail;
pub mod generate;
pub mod s3_access;

use std::collections::BTreeMap;
use std::fmt;

use crate::request::Request;

/// A log file that cannot be read: the error names the file and, where there is one, the
/// line (and column).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LogError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    #[diagnostic(code(policy_sim::logs::read))]
    Read {
        /// The file as given.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Gzip data (the file starts with the gzip magic bytes) that does not decompress.
    #[error("{file}: gzip data that does not decompress: {source}")]
    #[diagnostic(code(policy_sim::logs::gzip))]
    Gzip {
        /// The file as given.
        file: String,
        /// The decompressor's error.
        source: std::io::Error,
    },
    /// Text that is not JSON, or not UTF-8.
    #[error("{file}:{line}:{column}: {message}")]
    #[diagnostic(code(policy_sim::logs::json))]
    Json {
        /// The file as given.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A line that does not have the documented shape.
    #[error("{file}:{line}: {message}")]
    #[diagnostic(code(policy_sim::logs::line))]
    Line {
        /// The file as given.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A whole file that does not have the documented shape (e.g. no `Records` array).
    #[error("{file}: {message}")]
    #[diagnostic(code(policy_sim::logs::shape))]
    Shape {
        /// The file as given.
        file: String,
        /// What is wrong.
        message: String,
    },
}

/// Why an event did not become a request: the caller counts these by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UnmappedKind {
    /// The event is not an S3 request (another `eventSource`, e.g. STS or KMS).
    OtherService,
    /// An S3 operation that is not in [`S3_OPERATIONS`].
    UnknownOperation,
    /// The record names no resource the operation's action needs (no object or bucket
    /// ARN, no bucket name, no deleted keys).
    NoResource,
    /// No principal a policy can match: anonymous, a canonical user id, an AWS service, a
    /// principal type the mapping does not read, or an ARN that is not a caller's.
    NoPrincipal,
    /// A session of a Cognito identity pool's role whose identity id is not known: its
    /// `AssumeRoleWithWebIdentity` was not seen (e.g. the enhanced flow), or the log kind
    /// cannot carry it (S3 access logs).
    NoIdentity,
    /// The same access key was issued to two different identities or roles in the
    /// records seen, or its role differs from the data event's: the identity is not known.
    IdentityConflict,
    /// A record (or line) whose fields do not have the documented shape.
    Malformed,
}

impl UnmappedKind {
    /// Every kind, in a fixed order (for reports that list zero counts too).
    pub const ALL: [UnmappedKind; 7] = [
        UnmappedKind::OtherService,
        UnmappedKind::UnknownOperation,
        UnmappedKind::NoResource,
        UnmappedKind::NoPrincipal,
        UnmappedKind::NoIdentity,
        UnmappedKind::IdentityConflict,
        UnmappedKind::Malformed,
    ];

    /// The kind's name in reports: `other-service`, `unknown-operation`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            UnmappedKind::OtherService => "other-service",
            UnmappedKind::UnknownOperation => "unknown-operation",
            UnmappedKind::NoResource => "no-resource",
            UnmappedKind::NoPrincipal => "no-principal",
            UnmappedKind::NoIdentity => "no-identity",
            UnmappedKind::IdentityConflict => "identity-conflict",
            UnmappedKind::Malformed => "malformed",
        }
    }
}

impl fmt::Display for UnmappedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event that did not become a request, with its kind and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmapped {
    /// What kind of gap it is (what the caller counts).
    pub kind: UnmappedKind,
    /// Why, in words (the operation, the field missing, ...).
    pub reason: String,
}

impl Unmapped {
    /// An unmapped event of `kind`.
    pub fn new(kind: UnmappedKind, reason: impl Into<String>) -> Unmapped {
        Unmapped {
            kind,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Unmapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.reason)
    }
}

/// Unmapped events counted by kind (kinds with no event are absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnmappedCounts(pub BTreeMap<UnmappedKind, u64>);

impl UnmappedCounts {
    /// Count one unmapped event.
    pub fn add(&mut self, unmapped: &Unmapped) {
        *self.0.entry(unmapped.kind).or_insert(0) += 1;
    }

    /// The count of `kind`.
    pub fn get(&self, kind: UnmappedKind) -> u64 {
        self.0.get(&kind).copied().unwrap_or(0)
    }

    /// The total over every kind.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
}

/// The requests one recorded event maps to (most operations need one; `DeleteObjects`
/// one per deleted key, `CopyObject` a read of the source and a write of the target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// The requests, each with its action, resource, context and principal.
    pub requests: Vec<Request>,
    /// The error AWS answered with (`errorCode` in CloudTrail, `Error Code` in an access
    /// log, e.g. `AccessDenied`), when the request failed.
    pub error_code: Option<String>,
}

/// Which resource an S3 action is authorized on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The object: `arn:PARTITION:s3:::BUCKET/KEY`.
    Object,
    /// The bucket: `arn:PARTITION:s3:::BUCKET`.
    Bucket,
}

/// How many requests an operation makes, and on what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One request on the operation's resource.
    One,
    /// One request per deleted key (`DeleteObjects`); unmapped when the keys are not
    /// recorded.
    PerDeletedKey,
    /// The action on the target object and `s3:GetObject` on the source object
    /// (`CopyObject`); unmapped when the source is not recorded.
    Copy,
}

/// One row of the S3 operation table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct S3Operation {
    /// The API operation, as CloudTrail's `eventName` names it.
    pub name: &'static str,
    /// The IAM action it is authorized with.
    pub action: &'static str,
    /// The action when the request names an object version (`versionId`), where the
    /// documentation gives a different one.
    pub version_action: Option<&'static str>,
    /// Object or bucket.
    pub scope: Scope,
    /// One request, one per deleted key, or a copy.
    pub shape: Shape,
    /// The operation lists a bucket: `prefix` and `delimiter` become `s3:prefix` and
    /// `s3:delimiter`.
    pub lists: bool,
}

const fn op(name: &'static str, action: &'static str, scope: Scope) -> S3Operation {
    S3Operation {
        name,
        action,
        version_action: None,
        scope,
        shape: Shape::One,
        lists: false,
    }
}

const fn versioned(
    name: &'static str,
    action: &'static str,
    version_action: &'static str,
) -> S3Operation {
    S3Operation {
        version_action: Some(version_action),
        ..op(name, action, Scope::Object)
    }
}

const fn listing(name: &'static str, action: &'static str) -> S3Operation {
    S3Operation {
        lists: true,
        ..op(name, action, Scope::Bucket)
    }
}

/// `text` as a JSON string, quoted and escaped (RFC 8259: `"`, `\`, and the control
/// characters below U+0020), appended to `out`. What a JSON reader reads back is `text`.
///
/// Cost: one scan of `text`; text with nothing to escape is copied whole.
pub fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    if !text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(text);
        out.push('"');
        return;
    }
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                use std::fmt::Write;
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

use Scope::{Bucket, Object};

/// The S3 API operations mapped, with the permission each requires (Amazon S3 User
/// Guide, "Required permissions for Amazon S3 API operations"). An operation not listed is
/// [`UnmappedKind::UnknownOperation`]; operations that need several permissions at once
/// (e.g. `GetObjectAttributes`, `UploadPartCopy`) are left out rather than half mapped.
pub const S3_OPERATIONS: &[S3Operation] = &[
    versioned("GetObject", "s3:GetObject", "s3:GetObjectVersion"),
    versioned("HeadObject", "s3:GetObject", "s3:GetObjectVersion"),
    op("PutObject", "s3:PutObject", Object),
    S3Operation {
        shape: Shape::Copy,
        ..op("CopyObject", "s3:PutObject", Object)
    },
    op("CreateMultipartUpload", "s3:PutObject", Object),
    op("UploadPart", "s3:PutObject", Object),
    op("CompleteMultipartUpload", "s3:PutObject", Object),
    op("AbortMultipartUpload", "s3:AbortMultipartUpload", Object),
    op("ListParts", "s3:ListMultipartUploadParts", Object),
    versioned("DeleteObject", "s3:DeleteObject", "s3:DeleteObjectVersion"),
    S3Operation {
        shape: Shape::PerDeletedKey,
        ..op("DeleteObjects", "s3:DeleteObject", Object)
    },
    versioned("GetObjectAcl", "s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
    versioned("PutObjectAcl", "s3:PutObjectAcl", "s3:PutObjectVersionAcl"),
    versioned(
        "GetObjectTagging",
        "s3:GetObjectTagging",
        "s3:GetObjectVersionTagging",
    ),
    versioned(
        "PutObjectTagging",
        "s3:PutObjectTagging",
        "s3:PutObjectVersionTagging",
    ),
    versioned(
        "DeleteObjectTagging",
        "s3:DeleteObjectTagging",
        "s3:DeleteObjectVersionTagging",
    ),
    op("RestoreObject", "s3:RestoreObject", Object),
    listing("ListObjects", "s3:ListBucket"),
    listing("ListObjectsV2", "s3:ListBucket"),
    listing("ListObjectVersions", "s3:ListBucketVersions"),
    op(
        "ListMultipartUploads",
        "s3:ListBucketMultipartUploads",
        Bucket,
    ),
    op("HeadBucket", "s3:ListBucket", Bucket),
];

/// The row of [`S3_OPERATIONS`] for an API operation name (exact, case-sensitive: the
/// logs spell operations one way).
pub fn s3_operation(name: &str) -> Option<&'static S3Operation> {
    S3_OPERATIONS.iter().find(|o| o.name == name)
}

/// The name suffixes Amazon S3 reserves for names that are not general purpose buckets
/// (Amazon S3 User Guide, "General purpose bucket naming rules"): access point aliases
/// (`-s3alias`), Object Lambda access point aliases (`--ol-s3`), S3 on Outposts access point
/// aliases (`--op-s3`), directory buckets (`--x-s3`) and table buckets (`--table-s3`).
pub const RESERVED_BUCKET_SUFFIXES: &[&str] =
    &["-s3alias", "--ol-s3", "--op-s3", "--x-s3", "--table-s3"];

/// Whether `bucket` ends with a suffix S3 reserves for something else than a general
/// purpose bucket ([`RESERVED_BUCKET_SUFFIXES`]): a request made through an access point
/// alias (which `CopyObject`'s source, among others, may name) is authorized on the access
/// point, not on a bucket of that name.
pub(crate) fn is_reserved_bucket(bucket: &str) -> bool {
    RESERVED_BUCKET_SUFFIXES.iter().any(|s| bucket.ends_with(s))
}

/// Whether `ip` belongs to a private network: the IPv4 private ranges (RFC 1918), the
/// shared range `100.64.0.0/10` (which a VPC may use) and IPv6 unique local addresses
/// (`fc00::/7`). S3's public endpoints see a request from a VPC as coming from the NAT's
/// or the instance's public address; one they record from such an address came through a
/// VPC endpoint, and a request through an endpoint has no `aws:SourceIp` in its context
/// (IAM User Guide, "AWS global condition context keys"). So such an address is never
/// given as `aws:SourceIp` (`docs/audit.md`, "Context keys").
pub(crate) fn is_private_address(ip: &std::net::IpAddr) -> bool {
    let private_v4 = |v4: std::net::Ipv4Addr| {
        let [a, b, ..] = v4.octets();
        v4.is_private() || (a == 100 && b & 0xc0 == 64)
    };
    match ip {
        std::net::IpAddr::V4(v4) => private_v4(*v4),
        // An IPv4 address written as IPv6 (`::ffff:10.0.0.1`) is that address.
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => private_v4(v4),
            None => v6.segments()[0] & 0xfe00 == 0xfc00,
        },
    }
}

/// The ARN of a bucket, or of an object in it.
pub(crate) fn s3_arn(partition: &str, bucket: &str, key: Option<&str>) -> String {
    match key {
        Some(key) => format!("arn:{partition}:s3:::{bucket}/{key}"),
        None => format!("arn:{partition}:s3:::{bucket}"),
    }
}

/// Decode `%XX` escapes (RFC 3986). A `+` stays a `+`; a `%` not followed by two hex
/// digits, or bytes that are not UTF-8 once decoded, are refused (`None`).
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_string());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let digit = |b: u8| (b as char).to_digit(16);
            let (hi, lo) = (digit(hex[0])?, digit(hex[1])?);
            out.push(u8::try_from(hi * 16 + lo).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The session name Amazon Cognito identity pools give the role sessions they hand out
/// (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/CognitoIdentityCredentials`).
pub const COGNITO_SESSION_NAME: &str = "CognitoIdentityCredentials";

/// Is `arn` a role session named as Cognito names its sessions?
pub(crate) fn is_cognito_session(arn: &str) -> bool {
    arn.contains(":assumed-role/")
        && arn
            .rsplit('/')
            .next()
            .is_some_and(|s| s == COGNITO_SESSION_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_read_back_as_the_text() {
        let mut texts: Vec<String> = (0u8..0x80).map(|b| format!("a{}b", b as char)).collect();
        texts.extend([
            "".into(),
            "plain".into(),
            "é\u{2028}\u{10348}".into(),
            "\"\\".into(),
        ]);
        for text in texts {
            let mut out = String::from("x");
            push_json_string(&mut out, &text);
            let back: String = serde_json::from_str(&out[1..]).unwrap();
            assert_eq!(back, text);
        }
    }

    #[test]
    fn table_names_are_unique_and_actions_are_s3() {
        for (i, a) in S3_OPERATIONS.iter().enumerate() {
            assert!(a.action.starts_with("s3:"), "{}", a.name);
            assert!(a.version_action.is_none_or(|v| v.starts_with("s3:")));
            for b in &S3_OPERATIONS[i + 1..] {
                assert_ne!(a.name, b.name);
            }
        }
        assert_eq!(S3_OPERATIONS.len(), 22);
    }

    #[test]
    fn lookups() {
        let get = s3_operation("GetObject").unwrap();
        assert_eq!(
            (get.action, get.version_action, get.scope),
            ("s3:GetObject", Some("s3:GetObjectVersion"), Scope::Object)
        );
        let list = s3_operation("ListObjectsV2").unwrap();
        assert_eq!(
            (list.action, list.scope, list.lists),
            ("s3:ListBucket", Scope::Bucket, true)
        );
        assert!(s3_operation("getobject").is_none());
        assert!(s3_operation("GetObjectAttributes").is_none());
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b+c%2Fd").as_deref(), Some("a b+c/d"));
        assert_eq!(percent_decode("plain").as_deref(), Some("plain"));
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("é"));
        assert_eq!(percent_decode("bad%2"), None);
        assert_eq!(percent_decode("bad%zz"), None);
        assert_eq!(percent_decode("%FF"), None);
        assert_eq!(percent_decode("%+1"), None);
    }

    #[test]
    fn cognito_sessions() {
        assert!(is_cognito_session(
            "arn:aws:sts::123456789012:assumed-role/Auth_Role/CognitoIdentityCredentials"
        ));
        assert!(!is_cognito_session(
            "arn:aws:sts::123456789012:assumed-role/Auth_Role/alice"
        ));
        assert!(!is_cognito_session(
            "arn:aws:iam::123456789012:user/CognitoIdentityCredentials"
        ));
    }

    #[test]
    fn counts() {
        let mut c = UnmappedCounts::default();
        c.add(&Unmapped::new(UnmappedKind::NoPrincipal, "x"));
        c.add(&Unmapped::new(UnmappedKind::NoPrincipal, "y"));
        c.add(&Unmapped::new(UnmappedKind::Malformed, "z"));
        assert_eq!(c.get(UnmappedKind::NoPrincipal), 2);
        assert_eq!(c.get(UnmappedKind::NoIdentity), 0);
        assert_eq!(c.total(), 3);
    }
}

//! S3 server access log lines to requests (`docs/audit.md`).
//!
//! The format is the Amazon S3 User Guide's "Amazon S3 server access log format": one
//! record a line, fields separated by one space, in the documented order; the time in
//! brackets (`[06/Feb/2019:00:00:38 +0000]`), the Request-URI, Referer and User-Agent in
//! double quotes, `-` for a value that is unknown or does not apply. AWS may append new
//! fields at the end of a line: the first 17 fields (through User-Agent) are required,
//! the later documented ones optional, and fields past the last documented one ignored.
//!
//! The log has no access key id field, so a Cognito identity cannot be joined from it:
//! requests of Cognito role sessions are [`UnmappedKind::NoIdentity`]. Nor does it say
//! whether a role session is a Cognito identity's at all (a basic-flow app names its
//! sessions itself), so a role session is decided without identity only when its role is
//! known to be another's ([`NonCognitoRoles`]).

use std::net::IpAddr;

use jiff::Timestamp;

use super::{
    LogError, Mapped, Unmapped, UnmappedKind, is_cognito_session, is_reserved_bucket,
    percent_decode, s3_arn, s3_operation,
};
use crate::lang::keys;
use crate::lang::principal::{Caller, PrincipalError};
use crate::request::{Context, Request};

/// One access log record, its fields as documented (`None` where the log has `-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLogRecord {
    /// Canonical user id of the bucket owner.
    pub bucket_owner: Option<String>,
    /// The bucket the request was made to.
    pub bucket: Option<String>,
    /// When the request was received.
    pub time: Timestamp,
    /// The requester's apparent IP address.
    pub remote_ip: Option<String>,
    /// Canonical user id or IAM ARN of the requester (`None`: unauthenticated).
    pub requester: Option<String>,
    /// S3's request id.
    pub request_id: Option<String>,
    /// `REST.GET.OBJECT`, `BATCH.DELETE.OBJECT`, ...
    pub operation: Option<String>,
    /// The object key, URL-decoded (the log writes it URL-encoded).
    pub key: Option<String>,
    /// The Request-URI part of the HTTP request line (`GET /b/k?x HTTP/1.1`).
    pub request_uri: Option<String>,
    /// The HTTP status.
    pub http_status: Option<String>,
    /// S3's error code (`AccessDenied`, ...).
    pub error_code: Option<String>,
    /// Response bytes sent.
    pub bytes_sent: Option<String>,
    /// The object's size.
    pub object_size: Option<String>,
    /// Total time, milliseconds.
    pub total_time: Option<String>,
    /// Turn-around time, milliseconds.
    pub turn_around_time: Option<String>,
    /// The HTTP Referer.
    pub referer: Option<String>,
    /// The HTTP User-Agent.
    pub user_agent: Option<String>,
    /// The version id of the request.
    pub version_id: Option<String>,
    /// `x-amz-id-2`.
    pub host_id: Option<String>,
    /// `SigV2`, `SigV4`.
    pub signature_version: Option<String>,
    /// The TLS cipher negotiated.
    pub cipher_suite: Option<String>,
    /// `AuthHeader`, `QueryString`.
    pub authentication_type: Option<String>,
    /// The endpoint used.
    pub host_header: Option<String>,
    /// The TLS version negotiated (`TLSv1.2`, ...).
    pub tls_version: Option<String>,
    /// The access point the request came through.
    pub access_point_arn: Option<String>,
    /// `Yes` when an ACL was required to authorize the request.
    pub acl_required: Option<String>,
    /// The region the request came from.
    pub source_region: Option<String>,
}

/// Split a line into its fields: bracketed and quoted fields keep their spaces.
fn fields(line: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = line.trim_end_matches('\r');
    while !rest.is_empty() {
        let (field, after) = if let Some(inner) = rest.strip_prefix('[') {
            let end = inner
                .find(']')
                .ok_or_else(|| format!("field {}: '[' without ']'", out.len() + 1))?;
            (&inner[..end], &inner[end + 1..])
        } else if let Some(inner) = rest.strip_prefix('"') {
            // A quote closes the field where a space or the end of the line follows it.
            let end = inner
                .match_indices('"')
                .map(|(i, _)| i)
                .find(|&i| matches!(inner.as_bytes().get(i + 1), None | Some(b' ')))
                .ok_or_else(|| format!("field {}: '\"' without a closing quote", out.len() + 1))?;
            (&inner[..end], &inner[end + 1..])
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        out.push(field);
        rest = match after.strip_prefix(' ') {
            Some(r) => r,
            None if after.is_empty() => after,
            None => return Err(format!("field {}: no space after it", out.len())),
        };
    }
    Ok(out)
}

/// The fields every line has (through User-Agent).
const REQUIRED_FIELDS: usize = 17;

/// Parse one line (`line` is its 1-based number, for errors).
pub fn parse_line(file: &str, line: usize, text: &str) -> Result<AccessLogRecord, LogError> {
    let err = |message: String| LogError::Line {
        file: file.to_string(),
        line,
        message,
    };
    let f = fields(text).map_err(err)?;
    if f.len() < REQUIRED_FIELDS {
        return Err(err(format!(
            "{} fields; an access log record has at least {REQUIRED_FIELDS}",
            f.len()
        )));
    }
    let get = |i: usize| {
        f.get(i)
            .copied()
            .filter(|v| *v != "-" && !v.is_empty())
            .map(str::to_string)
    };
    let time = Timestamp::strptime("%d/%b/%Y:%H:%M:%S %z", f[2])
        .map_err(|e| err(format!("time [{}]: {e}", f[2])))?;
    let key = match get(7) {
        Some(k) => Some(
            percent_decode(&k).ok_or_else(|| err(format!("key {k:?} is not URL-encoded text")))?,
        ),
        None => None,
    };
    Ok(AccessLogRecord {
        bucket_owner: get(0),
        bucket: get(1),
        time,
        remote_ip: get(3),
        requester: get(4),
        request_id: get(5),
        operation: get(6),
        key,
        request_uri: get(8),
        http_status: get(9),
        error_code: get(10),
        bytes_sent: get(11),
        object_size: get(12),
        total_time: get(13),
        turn_around_time: get(14),
        referer: get(15),
        user_agent: get(16),
        version_id: get(17),
        host_id: get(18),
        signature_version: get(19),
        cipher_suite: get(20),
        authentication_type: get(21),
        host_header: get(22),
        tls_version: get(23),
        access_point_arn: get(24),
        acl_required: get(25),
        source_region: get(26),
    })
}

/// Parse a whole log (blank lines skipped); the first bad line is an error naming it.
pub fn parse_log(file: &str, text: &str) -> Result<Vec<AccessLogRecord>, LogError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| parse_line(file, i + 1, l))
        .collect()
}

/// Access log operation codes to S3 API operations (then [`crate::logs::S3_OPERATIONS`]
/// gives the action). `plain` codes are refused when the Request-URI names a subresource
/// that would make it another operation (`?acl`, `?tagging`, `?versions`, ...).
pub const ACCESS_LOG_OPERATIONS: &[(&str, &str, bool)] = &[
    ("REST.GET.OBJECT", "GetObject", true),
    ("REST.HEAD.OBJECT", "HeadObject", true),
    ("REST.PUT.OBJECT", "PutObject", true),
    ("REST.DELETE.OBJECT", "DeleteObject", true),
    ("BATCH.DELETE.OBJECT", "DeleteObject", false),
    ("REST.GET.BUCKET", "ListObjects", true),
    ("REST.HEAD.BUCKET", "HeadBucket", true),
];

/// Query parameters that make a request another operation than its plain code.
const SUBRESOURCES: &[&str] = &[
    "acl",
    "tagging",
    "versions",
    "uploads",
    "uploadId",
    "restore",
    "legal-hold",
    "retention",
    "torrent",
    "attributes",
    "select",
    "policy",
    "versioning",
    "logging",
];

/// The query parameters of a Request-URI field (`GET /b/k?a=1&b HTTP/1.1`), decoded.
fn query(request_uri: &str) -> Result<Vec<(String, String)>, String> {
    let target = request_uri.split(' ').nth(1).unwrap_or("");
    let Some((_, q)) = target.split_once('?') else {
        return Ok(Vec::new());
    };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            match (percent_decode(k), percent_decode(v)) {
                (Some(k), Some(v)) => Ok((k, v)),
                _ => Err(format!("query parameter {p:?} is not URL-encoded text")),
            }
        })
        .collect()
}

fn unmapped(kind: UnmappedKind, reason: impl Into<String>) -> Unmapped {
    Unmapped::new(kind, reason)
}

/// The roles whose sessions are known not to be Cognito identities' (a backend's roles):
/// what an access log cannot tell by itself. Their sessions' requests are decided without
/// identity; any other role session's are [`UnmappedKind::NoIdentity`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NonCognitoRoles {
    arns: Vec<String>,
}

impl NonCognitoRoles {
    /// No role known: every role session is [`UnmappedKind::NoIdentity`].
    pub fn new() -> NonCognitoRoles {
        NonCognitoRoles::default()
    }

    /// The roles `arns` (`arn:aws:iam::ACCOUNT:role/NAME`, with the role's path if it has
    /// one), each checked to be a role ARN; a role given twice is kept once.
    pub fn from_arns<S: AsRef<str>>(arns: &[S]) -> Result<NonCognitoRoles, PrincipalError> {
        let mut kept: Vec<String> = Vec::with_capacity(arns.len());
        for a in arns {
            let a = a.as_ref();
            Caller::check_role_arn(a)?;
            if !kept.iter().any(|k| k == a) {
                kept.push(a.to_string());
            }
        }
        Ok(NonCognitoRoles { arns: kept })
    }

    /// The roles as given.
    pub fn arns(&self) -> &[String] {
        &self.arns
    }

    /// The first role `caller` is a session of ([`Caller::is_session_of`]: partition,
    /// account and role name, compared exactly, case included), as given.
    pub fn role_of(&self, caller: &Caller) -> Option<&str> {
        self.arns
            .iter()
            .find(|a| caller.is_session_of(a))
            .map(String::as_str)
    }
}

/// Map one access log record to its request (see the module documentation); `roles` are
/// the roles whose sessions may be decided without identity.
///
/// A role session is [`UnmappedKind::NoIdentity`] when it is named as Cognito names its
/// sessions, and also when its role is not in `roles`: the log carries neither the access
/// key nor the web identity federation that would tell a basic-flow Cognito session (which
/// the app names itself, e.g. `web-identity`) from a backend's, and deciding a Cognito
/// identity's request without its identity would decide another request than AWS saw.
pub fn map_record(record: &AccessLogRecord, roles: &NonCognitoRoles) -> Result<Mapped, Unmapped> {
    let code = record
        .operation
        .as_deref()
        .ok_or_else(|| unmapped(UnmappedKind::Malformed, "no operation"))?;
    let unknown = |why: &str| {
        unmapped(
            UnmappedKind::UnknownOperation,
            format!("access log operation {code}{why} is not in the mapping table"),
        )
    };
    let (_, name, plain) = ACCESS_LOG_OPERATIONS
        .iter()
        .find(|(c, _, _)| *c == code)
        .ok_or_else(|| unknown(""))?;
    let params = match &record.request_uri {
        Some(uri) => query(uri).map_err(|e| unmapped(UnmappedKind::Malformed, e))?,
        None => Vec::new(),
    };
    if *plain
        && let Some((sub, _)) = params
            .iter()
            .find(|(k, _)| SUBRESOURCES.contains(&k.as_str()))
    {
        return Err(unknown(&format!(" with ?{sub}")));
    }
    let operation = s3_operation(name).ok_or_else(|| unknown(""))?;
    let requester = record.requester.as_deref().ok_or_else(|| {
        unmapped(
            UnmappedKind::NoPrincipal,
            "an unauthenticated (anonymous) request",
        )
    })?;
    if !requester.starts_with("arn:") {
        let canonical = requester.len() == 64 && requester.bytes().all(|b| b.is_ascii_hexdigit());
        return Err(unmapped(
            UnmappedKind::NoPrincipal,
            match canonical {
                true => format!("requester {requester} is a canonical user id, not an IAM ARN"),
                false => {
                    format!("requester {requester} is neither a canonical user id nor an IAM ARN")
                }
            },
        ));
    }
    let caller =
        Caller::parse(requester).map_err(|e| unmapped(UnmappedKind::NoPrincipal, e.to_string()))?;
    if is_cognito_session(caller.arn()) {
        return Err(unmapped(
            UnmappedKind::NoIdentity,
            "a Cognito session: access logs carry no access key to find its identity by",
        ));
    }
    // The role as named, with its path: `aws:PrincipalArn` is the role's ARN.
    let named_role = match caller.role_arn() {
        Some(role) => Some(roles.role_of(&caller).ok_or_else(|| {
            unmapped(
                UnmappedKind::NoIdentity,
                format!(
                    "a session of {role}, a role not known to be other than a Cognito identity pool's: access logs carry neither the access key nor the web identity that would tell"
                ),
            )
        })?),
        None => None,
    };
    if record.access_point_arn.is_some() {
        return Err(unmapped(
            UnmappedKind::NoResource,
            "made through an access point, whose resource form is not mapped",
        ));
    }
    let partition = caller.arn().split(':').nth(1).unwrap_or("aws").to_string();
    let bucket = record
        .bucket
        .as_deref()
        .ok_or_else(|| unmapped(UnmappedKind::NoResource, "no bucket"))?;
    if is_reserved_bucket(bucket) {
        return Err(unmapped(
            UnmappedKind::NoResource,
            format!(
                "{bucket} is no bucket's name (an access point alias or another reserved form)"
            ),
        ));
    }
    let resource = match operation.scope {
        super::Scope::Bucket => s3_arn(&partition, bucket, None),
        super::Scope::Object => {
            let key = record
                .key
                .as_deref()
                .ok_or_else(|| unmapped(UnmappedKind::NoResource, "no key"))?;
            s3_arn(&partition, bucket, Some(key))
        }
    };
    let versioned = params
        .iter()
        .any(|(k, v)| k == "versionId" && !v.is_empty());
    let action = match (versioned, operation.version_action) {
        (true, Some(v)) => v,
        _ => operation.action,
    };
    let mut context = Context::new();
    context.add(
        keys::CURRENT_TIME,
        record.time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );
    // A private address came through a VPC endpoint, whose requests have no
    // `aws:SourceIp` but the address inside the VPC (the log has no field naming the
    // endpoint; the endpoint keys it does not show make a statement that reads them
    // undecidable, `keys::ENDPOINT_PRESENT`).
    if let Some(ip) = &record.remote_ip
        && let Ok(address) = ip.parse::<IpAddr>()
    {
        match super::is_private_address(&address) {
            true => context.add("aws:VpcSourceIp", ip),
            false => context.add("aws:SourceIp", ip),
        }
    }
    if let Some(agent) = &record.user_agent {
        context.add("aws:UserAgent", agent);
    }
    if record.tls_version.is_some() {
        context.add("aws:SecureTransport", "true");
    }
    // The session's role with its path (the evaluator takes the caller's role path from
    // this key, as from a CloudTrail record's session issuer).
    if let Some(role) = named_role {
        context.add(keys::PRINCIPAL_ARN, role);
    }
    if operation.lists {
        for (param, key) in [("prefix", "s3:prefix"), ("delimiter", "s3:delimiter")] {
            if let Some((_, v)) = params.iter().find(|(k, _)| k == param) {
                context.add(key, v);
            }
        }
    }
    let mut request = Request::new(action, resource);
    request.context = context;
    request.principal = Some(caller);
    Ok(Mapped {
        requests: vec![request],
        error_code: record.error_code.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::variables::VariableSource;

    #[test]
    fn fields_keep_brackets_and_quotes_whole() {
        assert_eq!(
            fields(r#"a [1 2] "x y" - "" z"#).unwrap(),
            vec!["a", "1 2", "x y", "-", "", "z"]
        );
        assert_eq!(
            fields(r#"a "b"#).unwrap_err(),
            "field 2: '\"' without a closing quote"
        );
        assert_eq!(fields("a [b").unwrap_err(), "field 2: '[' without ']'");
        assert_eq!(
            fields(r#""a"b c"#).unwrap_err(),
            "field 1: '\"' without a closing quote"
        );
        assert_eq!(fields("a  b").unwrap(), vec!["a", "", "b"]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Any line, however broken, is a record or an error naming line 7: never a panic.
        #[test]
        fn any_line_parses_or_fails_with_its_line(
            text in "([a-z0-9%:/?&=.-]{0,6}|\\[|\\]|\"| |é|REST\\.GET\\.OBJECT|\\[30/Nov/2026:12:01:00 \\+0000\\]|arn:aws:iam::123456789012:user/a){0,30}",
        ) {
            match parse_line("f", 7, &text) {
                Ok(record) => {
                    let _ = map_record(&record, &NonCognitoRoles::new());
                }
                Err(e) => proptest::prop_assert!(e.to_string().starts_with("f:7: "), "{}", e),
            }
        }
    }

    /// A GetObject line of `requester` (the fixture's fourth line, its requester replaced).
    fn line_of(requester: &str) -> AccessLogRecord {
        let line = format!(
            "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be notes-app-uploads [30/Nov/2026:12:04:00 +0000] 198.51.100.7 {requester} 7B4A0FABBEXAMPLE REST.GET.OBJECT private/us-east-1%3Abbbbbbbb-0000-0000-0000-000000000002/notes.txt \"GET /notes-app-uploads/private/us-east-1%3Abbbbbbbb-0000-0000-0000-000000000002/notes.txt HTTP/1.1\" 200 - 5 5 4 3 \"-\" \"aws-sdk-js/2.1\" - - SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader notes-app-uploads.s3.us-east-1.amazonaws.com TLSV1.2 - - us-east-1"
        );
        parse_line("f", 1, &line).unwrap()
    }

    #[test]
    fn a_private_remote_ip_is_no_source_ip() {
        let user = "arn:aws:iam::123456789012:user/admin";
        // (aws:SourceIp, aws:VpcSourceIp) of a request from `remote`.
        let keys = |remote: &str| {
            let mut record = line_of(user);
            record.remote_ip = Some(remote.to_string());
            let m = map_record(&record, &NonCognitoRoles::new()).unwrap();
            let context = &m.requests[0].context;
            let get = |k: &str| context.variable(k).map(str::to_string);
            (get("aws:SourceIp"), get("aws:VpcSourceIp"))
        };
        let ip = |s: &str| Some(s.to_string());
        assert_eq!(keys("198.51.100.7"), (ip("198.51.100.7"), None));
        // Through a VPC endpoint: AWS's request context has no source IP, but the
        // address inside the VPC.
        assert_eq!(keys("10.0.3.7"), (None, ip("10.0.3.7")));
        assert_eq!(keys("fd12:3456::7"), (None, ip("fd12:3456::7")));
    }

    #[test]
    fn a_role_session_needs_its_role_known_to_be_no_cognito_pools() {
        let backend = NonCognitoRoles::from_arns(&[
            "arn:aws:iam::123456789012:role/service-role/thumbnailer",
        ])
        .unwrap();
        let kind = |requester: &str, roles: &NonCognitoRoles| {
            map_record(&line_of(requester), roles).map_err(|u| (u.kind, u.reason))
        };
        // A basic-flow Cognito session, named by the app: no identity, whatever is known.
        let basic = "arn:aws:sts::123456789012:assumed-role/notes-app-auth-role/web-identity";
        for roles in [&NonCognitoRoles::new(), &backend] {
            assert_eq!(
                kind(basic, roles).unwrap_err(),
                (
                    UnmappedKind::NoIdentity,
                    "a session of arn:aws:iam::123456789012:role/notes-app-auth-role, a role not known to be other than a Cognito identity pool's: access logs carry neither the access key nor the web identity that would tell".to_string()
                )
            );
        }
        // The backend's session: no identity until its role is named, then decided as
        // the role session it is.
        let lambda = "arn:aws:sts::123456789012:assumed-role/thumbnailer/resize-fn";
        assert_eq!(
            kind(lambda, &NonCognitoRoles::new()).unwrap_err().0,
            UnmappedKind::NoIdentity
        );
        let m = kind(lambda, &backend).unwrap();
        let principal = m.requests[0].principal.as_ref().unwrap();
        assert_eq!(principal.arn(), lambda);
        // `aws:PrincipalArn` is the role as named, with its path.
        assert_eq!(
            m.requests[0].context.variable(keys::PRINCIPAL_ARN),
            Some("arn:aws:iam::123456789012:role/service-role/thumbnailer")
        );
        // Role names compare as written: another case is another role.
        assert_eq!(
            kind(
                "arn:aws:sts::123456789012:assumed-role/Thumbnailer/resize-fn",
                &backend
            )
            .unwrap_err()
            .0,
            UnmappedKind::NoIdentity
        );
        assert_eq!(m.requests[0].context.variable(keys::COGNITO_SUB), None);
        // The same role name in another account is another role.
        assert_eq!(
            kind(
                "arn:aws:sts::444455556666:assumed-role/thumbnailer/resize-fn",
                &backend
            )
            .unwrap_err()
            .0,
            UnmappedKind::NoIdentity
        );
        // A Cognito-named session stays without identity even if its role is named.
        let named = NonCognitoRoles::from_arns(&["arn:aws:iam::123456789012:role/auth"]).unwrap();
        assert_eq!(
            kind(
                "arn:aws:sts::123456789012:assumed-role/auth/CognitoIdentityCredentials",
                &named
            )
            .unwrap_err()
            .0,
            UnmappedKind::NoIdentity
        );
        // IAM users are never Cognito identities.
        assert!(
            kind(
                "arn:aws:iam::123456789012:user/admin",
                &NonCognitoRoles::new()
            )
            .is_ok()
        );
        assert!(
            NonCognitoRoles::from_arns(&["arn:aws:sts::123456789012:assumed-role/a/b"]).is_err()
        );
        let twice = NonCognitoRoles::from_arns(&[
            "arn:aws:iam::123456789012:role/a",
            "arn:aws:iam::123456789012:role/a",
        ])
        .unwrap();
        assert_eq!(twice.arns(), ["arn:aws:iam::123456789012:role/a"]);
        // A requester of neither form is said to be neither.
        assert_eq!(
            kind("ARN:aws:iam::123456789012:user/admin", &NonCognitoRoles::new()).unwrap_err(),
            (
                UnmappedKind::NoPrincipal,
                "requester ARN:aws:iam::123456789012:user/admin is neither a canonical user id nor an IAM ARN".to_string()
            )
        );
    }

    #[test]
    fn a_bucket_name_s3_reserves_names_no_bucket() {
        let user = "arn:aws:iam::123456789012:user/admin";
        let mut record = line_of(user);
        assert!(map_record(&record, &NonCognitoRoles::new()).is_ok());
        record.bucket = Some("notesap-abc123xyz-s3alias".to_string());
        let u = map_record(&record, &NonCognitoRoles::new()).unwrap_err();
        assert_eq!(
            (u.kind, u.reason.as_str()),
            (
                UnmappedKind::NoResource,
                "notesap-abc123xyz-s3alias is no bucket's name (an access point alias or another reserved form)"
            )
        );
    }

    #[test]
    fn query_parameters() {
        assert_eq!(
            query("GET /b?list-type=2&prefix=private%2Fus-east-1%3Aabc%2F HTTP/1.1").unwrap(),
            vec![
                ("list-type".to_string(), "2".to_string()),
                ("prefix".to_string(), "private/us-east-1:abc/".to_string())
            ]
        );
        assert!(query("GET /b/k HTTP/1.1").unwrap().is_empty());
        assert!(query("GET /b?prefix=%zz HTTP/1.1").is_err());
    }
}

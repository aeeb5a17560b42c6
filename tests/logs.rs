//! Recorded events mapped to requests: the fixtures in `fixtures/logs/` (shapes copied from
//! AWS's documented examples, see its README) give exact requests, exact unmapped counts,
//! and the decisions the corrected authenticated role gives them.

use std::path::Path;

use policy_sim::logs::cloudtrail::{self, IdentityIndex, KeyLookup, WebIdentitySession};
use policy_sim::logs::s3_access;
use policy_sim::logs::{Mapped, UnmappedKind};
use policy_sim::request::Request;
use policy_sim::{Decision, PolicySet, load_policy_file};

const ALICE: &str = "us-east-1:aaaaaaaa-0000-0000-0000-000000000001";
const BOB: &str = "us-east-1:bbbbbbbb-0000-0000-0000-000000000002";
const POOL: &str = "us-east-1:11111111-2222-3333-4444-555555555555";
const ROLE: &str = "arn:aws:iam::123456789012:role/notes-app-auth-role";
const SESSION: &str =
    "arn:aws:sts::123456789012:assumed-role/notes-app-auth-role/CognitoIdentityCredentials";

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/logs")
        .join(name)
}

/// Context keys with their values, in the order they were added.
type Pairs = Vec<(String, Vec<String>)>;

/// A request as (action, resource, principal ARN, context pairs in order).
type Shape = (String, String, Option<String>, Pairs);

fn shape(r: &Request) -> Shape {
    (
        r.action.clone(),
        r.resource.clone(),
        r.principal.as_ref().map(|c| c.arn().to_string()),
        r.context
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect(),
    )
}

fn kv(pairs: &[(&str, &str)]) -> Vec<(String, Vec<String>)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
        .collect()
}

/// The context every Cognito-session data event in the CloudTrail fixture carries.
fn session_context(time: &str, extra: &[(&str, &str)]) -> Vec<(String, Vec<String>)> {
    let mut pairs = vec![
        ("aws:currenttime", time),
        ("aws:sourceip", "198.51.100.7"),
        ("aws:useragent", "[aws-sdk-js/3.0]"),
        ("aws:requestedregion", "us-east-1"),
        ("aws:securetransport", "true"),
        ("aws:principalarn", ROLE),
        ("aws:principalaccount", "123456789012"),
    ];
    pairs.extend_from_slice(extra);
    pairs.push(("cognito-identity.amazonaws.com:sub", "SUB"));
    kv(&pairs)
}

fn with_sub(mut ctx: Vec<(String, Vec<String>)>, identity: &str) -> Vec<(String, Vec<String>)> {
    if let Some(last) = ctx.last_mut() {
        last.1 = vec![identity.to_string()];
    }
    ctx
}

fn cloudtrail_fixture() -> cloudtrail::MappedRecords {
    let records = cloudtrail::read_log_file(&fixture("notes-app-cloudtrail.json")).unwrap();
    assert_eq!(records.len(), 11);
    cloudtrail::map_records(&records)
}

#[test]
fn the_join_indexes_each_cognito_session_by_its_access_key() {
    let out = cloudtrail_fixture();
    assert_eq!(out.index.len(), 2);
    assert_eq!(
        out.index.lookup("ASIAALICEEXAMPLE"),
        KeyLookup::Session(&WebIdentitySession {
            identity_id: ALICE.to_string(),
            role_arn: ROLE.to_string(),
            pool_id: POOL.to_string(),
        })
    );
    assert_eq!(out.index.lookup("ASIACAROLEXAMPLE"), KeyLookup::Unknown);
}

#[test]
fn cloudtrail_data_events_become_exact_requests() {
    let out = cloudtrail_fixture();
    let got: Vec<(usize, Vec<_>, Option<String>)> = out
        .mapped
        .iter()
        .map(|(i, m)| {
            (
                *i,
                m.requests.iter().map(shape).collect(),
                m.error_code.clone(),
            )
        })
        .collect();
    let object =
        |id: &str, name: &str| format!("arn:aws:s3:::notes-app-uploads/private/{id}/{name}");
    let bob_prefix = format!("private/{BOB}/");
    let expected = vec![
        (
            0,
            vec![(
                "s3:GetObject".to_string(),
                object(ALICE, "notes.txt"),
                Some(SESSION.to_string()),
                with_sub(session_context("2026-11-30T12:01:00Z", &[]), ALICE),
            )],
            None,
        ),
        (
            3,
            vec![(
                "s3:GetObject".to_string(),
                object(BOB, "notes.txt"),
                Some(SESSION.to_string()),
                with_sub(session_context("2026-11-30T12:02:00Z", &[]), ALICE),
            )],
            Some("AccessDenied".to_string()),
        ),
        (
            4,
            vec![(
                "s3:ListBucket".to_string(),
                "arn:aws:s3:::notes-app-uploads".to_string(),
                Some(SESSION.to_string()),
                with_sub(
                    session_context(
                        "2026-11-30T12:03:00Z",
                        &[("s3:prefix", &bob_prefix), ("s3:delimiter", "/")],
                    ),
                    BOB,
                ),
            )],
            None,
        ),
        (
            5,
            // No resources[]: requestParameters bucketName and key give the ARN.
            vec![(
                "s3:PutObject".to_string(),
                object(BOB, "draft.txt"),
                Some(SESSION.to_string()),
                with_sub(session_context("2026-11-30T12:04:00Z", &[]), BOB),
            )],
            None,
        ),
    ];
    assert_eq!(got, expected);
    // Request::set_identity set the identity: the request reads it like any other input.
    let first = &out.mapped[0].1.requests[0];
    assert_eq!(
        first.context.get("cognito-identity.amazonaws.com:sub"),
        Some(&[ALICE.to_string()][..])
    );
}

#[test]
fn cloudtrail_unmapped_events_are_counted_by_kind() {
    let out = cloudtrail_fixture();
    let got: Vec<(usize, UnmappedKind)> = out.unmapped.iter().map(|(i, u)| (*i, u.kind)).collect();
    assert_eq!(
        got,
        vec![
            (1, UnmappedKind::OtherService),
            (2, UnmappedKind::OtherService),
            (6, UnmappedKind::NoIdentity),
            (7, UnmappedKind::NoResource),
            (8, UnmappedKind::UnknownOperation),
            (9, UnmappedKind::OtherService),
            (10, UnmappedKind::NoPrincipal),
        ]
    );
    let counts: Vec<(UnmappedKind, u64)> = out.counts.0.iter().map(|(k, n)| (*k, *n)).collect();
    assert_eq!(
        counts,
        vec![
            (UnmappedKind::OtherService, 3),
            (UnmappedKind::UnknownOperation, 1),
            (UnmappedKind::NoResource, 1),
            (UnmappedKind::NoPrincipal, 1),
            (UnmappedKind::NoIdentity, 1),
        ]
    );
    let reasons: Vec<&str> = out
        .unmapped
        .iter()
        .map(|(_, u)| u.reason.as_str())
        .collect();
    assert_eq!(
        reasons,
        vec![
            "sts.amazonaws.com AssumeRoleWithWebIdentity",
            "sts.amazonaws.com AssumeRoleWithWebIdentity",
            "a Cognito session (ASIACAROLEXAMPLE) whose AssumeRoleWithWebIdentity was not seen",
            "DeleteObjects without the deleted keys recorded",
            "S3 operation GetObjectAttributes is not in the mapping table",
            "kms.amazonaws.com Decrypt",
            "userIdentity type \"AWSService\" is not mapped",
        ]
    );
}

#[test]
fn records_cloudtrail_truncated_are_malformed_not_mapped_from_what_is_left() {
    let records = cloudtrail::read_log_file(&fixture("truncated-cloudtrail.json")).unwrap();
    let out = cloudtrail::map_records(&records);
    let reason = "CloudTrail truncated a field of the record (omitted: true): what the request named cannot be read whole";
    let got: Vec<(usize, UnmappedKind, &str)> = out
        .unmapped
        .iter()
        .map(|(i, u)| (*i, u.kind, u.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                0,
                UnmappedKind::OtherService,
                "sts.amazonaws.com AssumeRoleWithWebIdentity"
            ),
            (1, UnmappedKind::Malformed, reason),
            (2, UnmappedKind::Malformed, reason),
        ]
    );
    // The record marked `omitted: false` is whole: alice deletes her own key.
    let [(3, m)] = out.mapped.as_slice() else {
        panic!("{:?}", out.mapped)
    };
    assert_eq!(
        m.requests
            .iter()
            .map(shape)
            .map(|s| (s.0, s.1))
            .collect::<Vec<_>>(),
        vec![(
            "s3:DeleteObject".to_string(),
            format!("arn:aws:s3:::notes-app-uploads/private/{ALICE}/a.txt")
        )]
    );
}

#[test]
fn without_the_assume_role_events_cognito_sessions_have_no_identity() {
    let records = cloudtrail::read_log_file(&fixture("notes-app-cloudtrail.json")).unwrap();
    let empty = IdentityIndex::new();
    for i in [0, 3, 4, 5] {
        let u = cloudtrail::map_record(&records[i], &empty).unwrap_err();
        assert_eq!(u.kind, UnmappedKind::NoIdentity, "record {i}");
    }
}

#[test]
fn an_access_key_issued_twice_is_a_conflict() {
    let records = cloudtrail::read_log_file(&fixture("notes-app-cloudtrail.json")).unwrap();
    let mut twice = records[2].clone();
    twice["responseElements"]["credentials"]["accessKeyId"] = "ASIAALICEEXAMPLE".into();
    let mut index = IdentityIndex::new();
    assert_eq!(index.add_record(&records[1]), Ok(true));
    assert_eq!(index.add_record(&twice), Ok(true));
    assert_eq!(index.lookup("ASIAALICEEXAMPLE"), KeyLookup::Conflict);
    let u = cloudtrail::map_record(&records[0], &index).unwrap_err();
    assert_eq!(u.kind, UnmappedKind::IdentityConflict);
    // The same event seen twice (a log file delivered twice) is no conflict.
    let mut index = IdentityIndex::new();
    assert_eq!(index.add_record(&records[1]), Ok(true));
    assert_eq!(index.add_record(&records[1]), Ok(true));
    assert!(matches!(
        index.lookup("ASIAALICEEXAMPLE"),
        KeyLookup::Session(_)
    ));
    // A Cognito AssumeRoleWithWebIdentity without its issued key cannot be indexed.
    let mut cut = records[1].clone();
    cut["responseElements"]["credentials"] = serde_json::Value::Null;
    let u = index.add_record(&cut).unwrap_err();
    assert_eq!(u.kind, UnmappedKind::Malformed);
    assert_eq!(
        u.reason,
        "AssumeRoleWithWebIdentity of a Cognito identity without responseElements.credentials.accessKeyId"
    );
}

#[test]
fn delete_objects_and_copy_object_make_one_request_per_resource() {
    let records = cloudtrail::read_log_file(&fixture("notes-app-cloudtrail.json")).unwrap();
    let index = IdentityIndex::new();
    let mut delete = records[7].clone();
    delete["requestParameters"]["delete"] =
        serde_json::json!({"Object": [{"Key": "a.txt"}, {"Key": "b/c.txt"}]});
    let m = cloudtrail::map_record(&delete, &index).unwrap();
    let got: Vec<(&str, &str)> = m
        .requests
        .iter()
        .map(|r| (r.action.as_str(), r.resource.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("s3:DeleteObject", "arn:aws:s3:::notes-app-uploads/a.txt"),
            ("s3:DeleteObject", "arn:aws:s3:::notes-app-uploads/b/c.txt"),
        ]
    );
    let mut copy = records[7].clone();
    copy["eventName"] = "CopyObject".into();
    copy["requestParameters"] = serde_json::json!({
        "bucketName": "notes-app-uploads", "key": "to/x.txt",
        "x-amz-copy-source": "other-bucket/from%20here/y.txt?versionId=abc"
    });
    let m = cloudtrail::map_record(&copy, &index).unwrap();
    let got: Vec<(&str, &str)> = m
        .requests
        .iter()
        .map(|r| (r.action.as_str(), r.resource.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "s3:GetObjectVersion",
                "arn:aws:s3:::other-bucket/from here/y.txt"
            ),
            ("s3:PutObject", "arn:aws:s3:::notes-app-uploads/to/x.txt"),
        ]
    );
    copy["requestParameters"]
        .as_object_mut()
        .unwrap()
        .remove("x-amz-copy-source");
    let u = cloudtrail::map_record(&copy, &index).unwrap_err();
    assert_eq!(u.kind, UnmappedKind::NoResource);
}

fn corrected_role() -> PolicySet {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/corrected-auth-role.json");
    PolicySet::new(vec![load_policy_file(&path).unwrap()])
}

fn decisions(set: &PolicySet, mapped: &[(usize, Mapped)]) -> Vec<(usize, Decision)> {
    mapped
        .iter()
        .flat_map(|(i, m)| m.requests.iter().map(move |r| (*i, r)))
        .map(|(i, r)| (i, set.evaluate(r).unwrap().decision))
        .collect()
}

#[test]
fn mapped_cloudtrail_requests_decide_as_the_corrected_role_says() {
    let out = cloudtrail_fixture();
    assert_eq!(
        decisions(&corrected_role(), &out.mapped),
        vec![
            (0, Decision::Allow),        // alice reads her own object
            (3, Decision::ImplicitDeny), // alice reads bob's (AWS said AccessDenied too)
            (4, Decision::Allow),        // bob lists his own folder
            (5, Decision::Allow),        // bob writes his own object
        ]
    );
}

#[test]
fn cloudtrail_files_malformed_name_the_place() {
    let e =
        cloudtrail::parse_log_file("x.json", b"{\"Records\": [\n  {\"a\": 1,}\n]}").unwrap_err();
    assert!(e.to_string().starts_with("x.json:2:"), "{e}");
    let e = cloudtrail::parse_log_file("x.json", b"[1]").unwrap_err();
    assert_eq!(
        e.to_string(),
        "x.json: not a JSON object with a \"Records\" array"
    );
    let e = cloudtrail::parse_log_file("x.json", b"{\"records\": []}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "x.json: no \"Records\" array: not a CloudTrail log file"
    );
    let e = cloudtrail::parse_json_lines("x.jsonl", b"{}\n\n{\"a\":\n").unwrap_err();
    assert!(e.to_string().starts_with("x.jsonl:3:"), "{e}");
    assert_eq!(
        cloudtrail::parse_json_lines("x.jsonl", b"{}\n\n{}\n")
            .unwrap()
            .len(),
        2
    );
}

fn access_fixture() -> Vec<Result<Mapped, policy_sim::logs::Unmapped>> {
    let text = std::fs::read_to_string(fixture("notes-app-s3-access.log")).unwrap();
    let records = s3_access::parse_log("notes-app-s3-access.log", &text).unwrap();
    assert_eq!(records.len(), 8);
    let roles = s3_access::NonCognitoRoles::new();
    records
        .iter()
        .map(|r| s3_access::map_record(r, &roles))
        .collect()
}

#[test]
fn access_log_lines_parse_in_documented_order() {
    let text = std::fs::read_to_string(fixture("notes-app-s3-access.log")).unwrap();
    let records = s3_access::parse_log("f", &text).unwrap();
    let first = &records[0];
    assert_eq!(first.bucket.as_deref(), Some("notes-app-uploads"));
    assert_eq!(first.time.to_string(), "2026-11-30T12:01:00Z");
    assert_eq!(first.operation.as_deref(), Some("REST.GET.OBJECT"));
    assert_eq!(
        first.key.as_deref(),
        Some(format!("private/{ALICE}/notes v2.txt").as_str())
    );
    assert_eq!(first.referer, None);
    assert_eq!(first.user_agent.as_deref(), Some("aws-cli/2.15.0"));
    assert_eq!(first.tls_version.as_deref(), Some("TLSV1.2"));
    assert_eq!(first.access_point_arn, None);
    assert_eq!(first.source_region.as_deref(), Some("us-east-1"));
    // A line in the older, shorter format: the later fields are absent.
    let old = &records[6];
    assert_eq!(old.operation.as_deref(), Some("BATCH.DELETE.OBJECT"));
    assert_eq!(
        (old.version_id.as_ref(), old.tls_version.as_ref()),
        (None, None)
    );
}

#[test]
fn access_log_records_become_exact_requests_or_counted_gaps() {
    let got: Vec<Result<Vec<_>, (UnmappedKind, String)>> = access_fixture()
        .into_iter()
        .map(|r| {
            r.map(|m| m.requests.iter().map(shape).collect())
                .map_err(|u| (u.kind, u.reason))
        })
        .collect();
    let admin = Some("arn:aws:iam::123456789012:user/admin".to_string());
    let ctx = |time: &str, extra: &[(&str, &str)]| {
        let mut pairs = vec![
            ("aws:currenttime", time),
            ("aws:sourceip", "198.51.100.7"),
            ("aws:useragent", "aws-cli/2.15.0"),
            ("aws:securetransport", "true"),
        ];
        pairs.extend_from_slice(extra);
        kv(&pairs)
    };
    let prefix = format!("private/{ALICE}/");
    let expected: Vec<Result<Vec<_>, (UnmappedKind, String)>> = vec![
        Ok(vec![(
            "s3:GetObject".to_string(),
            format!("arn:aws:s3:::notes-app-uploads/private/{ALICE}/notes v2.txt"),
            admin.clone(),
            ctx("2026-11-30T12:01:00Z", &[]),
        )]),
        Ok(vec![(
            "s3:ListBucket".to_string(),
            "arn:aws:s3:::notes-app-uploads".to_string(),
            admin.clone(),
            ctx(
                "2026-11-30T12:02:00Z",
                &[("s3:prefix", &prefix), ("s3:delimiter", "/")],
            ),
        )]),
        Err((
            UnmappedKind::UnknownOperation,
            "access log operation REST.GET.VERSIONING is not in the mapping table".to_string(),
        )),
        Err((
            UnmappedKind::NoIdentity,
            "a Cognito session: access logs carry no access key to find its identity by"
                .to_string(),
        )),
        Err((
            UnmappedKind::NoPrincipal,
            "an unauthenticated (anonymous) request".to_string(),
        )),
        Err((
            UnmappedKind::UnknownOperation,
            "access log operation REST.GET.OBJECT with ?acl is not in the mapping table"
                .to_string(),
        )),
        Ok(vec![(
            "s3:DeleteObject".to_string(),
            format!("arn:aws:s3:::notes-app-uploads/private/{ALICE}/old.txt"),
            admin.clone(),
            kv(&[
                ("aws:currenttime", "2026-11-30T12:07:00Z"),
                ("aws:sourceip", "198.51.100.7"),
            ]),
        )]),
        Err((
            UnmappedKind::NoPrincipal,
            "requester 79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be is a canonical user id, not an IAM ARN".to_string(),
        )),
    ];
    assert_eq!(got, expected);
}

#[test]
fn access_log_requests_with_a_known_identity_decide_as_the_corrected_role_says() {
    // The log itself carries no identity: a caller that knows it (e.g. from another
    // source) sets it, and the decisions follow the role's policy.
    let set = corrected_role();
    let results = access_fixture();
    let Ok(m) = &results[0] else {
        panic!("line 1 maps")
    };
    let mut own = m.requests[0].clone();
    own.set_identity(ALICE).unwrap();
    assert_eq!(set.evaluate(&own).unwrap().decision, Decision::Allow);
    let mut other = m.requests[0].clone();
    other.set_identity(BOB).unwrap();
    assert_eq!(
        set.evaluate(&other).unwrap().decision,
        Decision::ImplicitDeny
    );
}

#[test]
fn malformed_access_log_lines_name_their_line() {
    let text = std::fs::read_to_string(fixture("malformed-s3-access.log")).unwrap();
    let e = s3_access::parse_log("malformed-s3-access.log", &text).unwrap_err();
    assert_eq!(
        e.to_string(),
        "malformed-s3-access.log:3: field 9: '\"' without a closing quote"
    );
    let e = s3_access::parse_log("f.log", "a b [30/Nov/2026:12:01:00 +0000] c\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "f.log:1: 4 fields; an access log record has at least 17"
    );
    let line = "o b [30/Nov/2026:25:01:00 +0000] 1 - X REST.GET.OBJECT k \"GET /b/k HTTP/1.1\" 200 - 1 1 1 1 \"-\" \"a\"";
    let e = s3_access::parse_log("f.log", &format!("\n{line}")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("f.log:2: time [30/Nov/2026:25:01:00 +0000]: "),
        "{e}"
    );
    let bad_key = line.replace("25:01", "12:01").replace(" k \"", " k%zz \"");
    let e = s3_access::parse_log("f.log", &bad_key).unwrap_err();
    assert_eq!(
        e.to_string(),
        "f.log:1: key \"k%zz\" is not URL-encoded text"
    );
}

//! The evaluation hot path allocates nothing: a counting global allocator observes a mix of
//! Allow, ExplicitDeny and ImplicitDeny decisions (every condition family, policy variables,
//! a small scanned set and a large indexed one) and must see zero allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use policy_sim::eval::{Decision, PolicySet, StatementRef};
use policy_sim::lang::parse::parse_policy;
use policy_sim::request::Request;

struct Counting;

thread_local! {
    /// Allocations made by this thread: the test harness's own threads do not count.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn the_counter_sees_allocations() {
    let before = allocations();
    drop(std::hint::black_box(vec![1u8; 16]));
    assert_eq!(allocations(), before + 1);
}

fn count() {
    // `try_with`: during thread teardown the counter may already be gone.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const CONDITIONS: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"Own","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}/*"},
  {"Sid":"List","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::notes",
   "Condition":{"StringLike":{"s3:prefix":"private/${cognito-identity.amazonaws.com:sub}/*"},
                "NumericLessThanEquals":{"s3:max-keys":"1000"},
                "DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},
                "Bool":{"aws:SecureTransport":"true"},
                "IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]},
                "ForAnyValue:StringEqualsIgnoreCase":{"aws:TagKeys":["Env","Team"]},
                "ArnLike":{"aws:SourceArn":"arn:aws:s3:::notes*"},
                "Null":{"aws:TokenIssueTime":"true"}}},
  {"Sid":"NoTls","Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}},
  {"Sid":"Api","Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:api1/*"}
]}"#;

fn large_set() -> PolicySet {
    let statements: Vec<String> = (0..200)
        .map(|i| {
            format!(
                r#"{{"Effect":"{}","Action":["svc{}:Get{i}","svc{}:List*"],"Resource":"arn:aws:svc{}:*:*:r{i}/${{aws:username}}/*"}}"#,
                if i % 7 == 6 { "Deny" } else { "Allow" },
                i % 20,
                i % 20,
                i % 20
            )
        })
        .collect();
    let doc = format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    );
    PolicySet::new(vec![parse_policy("large.json", doc.as_bytes()).unwrap()])
}

fn req(action: &str, resource: &str, context: &[(&str, &str)]) -> Request {
    let mut r = Request::new(action, resource).with_identity("us-east-1:abc");
    for (k, v) in context {
        r.context.add(k, *v);
    }
    // AWS puts aws:SecureTransport in every request; the NoTls statement reads it.
    if !r.context.contains("aws:SecureTransport") {
        r.context.add("aws:SecureTransport", "true");
    }
    r.context
        .fill_time_defaults("2026-01-01T00:00:00Z".parse().unwrap())
        .unwrap();
    r
}

#[test]
fn evaluation_allocates_nothing() {
    let small = PolicySet::new(vec![
        parse_policy("conditions.json", CONDITIONS.as_bytes()).unwrap(),
    ]);
    let large = large_set();
    let list_ctx: &[(&str, &str)] = &[
        ("s3:prefix", "private/us-east-1:abc/photos/"),
        ("s3:max-keys", "100"),
        ("aws:SecureTransport", "true"),
        ("aws:SourceIp", "10.1.2.3"),
        ("aws:TagKeys", "team"),
        ("aws:TagKeys", "cost"),
        ("aws:SourceArn", "arn:aws:s3:::notes-bucket"),
    ];
    let cases: Vec<(&PolicySet, Request, Decision)> = vec![
        (
            &small,
            req(
                "s3:GetObject",
                "arn:aws:s3:::notes/private/us-east-1:abc/a",
                &[],
            ),
            Decision::Allow,
        ),
        (
            &small,
            req(
                "s3:GetObject",
                "arn:aws:s3:::notes/private/us-east-1:xyz/a",
                &[],
            ),
            Decision::ImplicitDeny,
        ),
        (
            &small,
            req("s3:ListBucket", "arn:aws:s3:::notes", list_ctx),
            Decision::Allow,
        ),
        (
            &small,
            req(
                "s3:ListBucket",
                "arn:aws:s3:::notes",
                &[("s3:prefix", "private/")],
            ),
            Decision::ImplicitDeny,
        ),
        (
            &small,
            req(
                "s3:GetObject",
                "arn:aws:s3:::notes/private/us-east-1:abc/a",
                &[("aws:SecureTransport", "false")],
            ),
            Decision::ExplicitDeny,
        ),
        (
            &small,
            req(
                "execute-api:Invoke",
                "arn:aws:execute-api:us-east-1:1:api1/prod/GET/x",
                &[],
            ),
            Decision::Allow,
        ),
        (
            &large,
            req(
                "svc3:Get3",
                "arn:aws:svc3:us-east-1:1:r3/alice/x",
                &[("aws:username", "alice")],
            ),
            Decision::Allow,
        ),
        (
            &large,
            req(
                "svc6:Get6",
                "arn:aws:svc6:us-east-1:1:r6/alice/x",
                &[("aws:username", "alice")],
            ),
            Decision::ExplicitDeny,
        ),
        (
            &large,
            req(
                "svc3:ListThings",
                "arn:aws:svc3:us-east-1:1:r3/bob/x",
                &[("aws:username", "alice")],
            ),
            Decision::ImplicitDeny,
        ),
        (
            &large,
            req("svc99:Nothing", "*", &[]),
            Decision::ImplicitDeny,
        ),
    ];
    let mut deciding: Vec<StatementRef> = Vec::with_capacity(64);
    // Check the decisions (and warm up) before counting.
    for (set, request, expected) in &cases {
        assert_eq!(
            set.evaluate_into(request, &mut deciding).unwrap(),
            *expected
        );
    }
    let before = allocations();
    for _ in 0..1000 {
        for (set, request, _) in &cases {
            std::hint::black_box(set.evaluate_into(request, &mut deciding).unwrap());
        }
    }
    let allocations = allocations() - before;
    assert_eq!(
        allocations, 0,
        "evaluation allocated {allocations} times over 10,000 decisions"
    );
}

#[test]
fn batch_line_parsing_reuses_its_buffers() {
    let lines = [
        r#"{"id":"a1","identity":"us-east-1:abc","action":"s3:GetObject","resource":"arn:aws:s3:::notes/private/us-east-1:abc/x","context":{"aws:SourceIp":"10.0.0.1","aws:TagKeys":["a","b"],"s3:max-keys":10,"aws:SecureTransport":true}}"#,
        r#"{"id":7,"action":"execute-api:Invoke","resource":"arn:aws:execute-api:us-east-1:1:api1/prod/GET/x"}"#,
        r#"{"action":"s3:GetObject","resource":"arn:aws:s3:::notes/private/us-east-1:abc/x","identity":"us-east-1:abc","context":{"aws:SecureTransport":"true"}}"#,
    ];
    let now = "2026-01-01T00:00:00Z".parse().unwrap();
    let mut buffer = policy_sim::request::lines::RequestBuffer::default();
    // Let the buffers grow to fit every line once.
    for _ in 0..2 {
        for line in lines {
            policy_sim::request::lines::parse_request_into(line, now, &mut buffer).unwrap();
        }
    }
    let before = allocations();
    for _ in 0..1000 {
        for line in lines {
            policy_sim::request::lines::parse_request_into(line, now, &mut buffer).unwrap();
        }
    }
    let allocations = allocations() - before;
    assert_eq!(
        allocations, 0,
        "parsing allocated {allocations} times over 3,000 lines"
    );
    assert_eq!(
        buffer.request.context.get("aws:securetransport").unwrap(),
        ["true"]
    );
}

/// Long texts take the segment matcher: it allocates nothing either for segments of up
/// to 64 characters (variables joined to literals, `?`, ASCII case-insensitive) and single
/// literals of any length; and a context with many keys (past its scan limit, so read
/// through its index) is read without allocating.
#[test]
fn long_texts_and_many_keys_allocate_nothing() {
    use policy_sim::lang::variables::Syntax;
    use policy_sim::lang::wildcard::{Case, Match, Pattern};
    let wild = Syntax {
        variables: true,
        wildcards: true,
    };
    let mut r = Request::new("s3:GetObject", "*");
    for i in 0..100 {
        r.context.add(&format!("tag:k{i}"), "v");
    }
    r.context.add("aws:username", "alice");
    let long_literal = "x".repeat(500);
    let patterns = [
        (
            "arn:aws:s3:::b/*/home/${aws:username}/*?z*".to_string(),
            Case::Sensitive,
        ),
        (format!("*{long_literal}*"), Case::Sensitive),
        ("S3:*get?bJECT*".to_string(), Case::AsciiInsensitive),
    ];
    let patterns: Vec<Pattern> = patterns
        .iter()
        .map(|(p, case)| Pattern::parse(p, wild, *case).unwrap())
        .collect();
    let filler = "y".repeat(20_000);
    let texts = [
        format!("arn:aws:s3:::b/{filler}/home/alice/{filler}az"),
        format!("{filler}{long_literal}"),
        format!("s3:{filler}GetObject"),
    ];
    let expected = [Match::Yes, Match::Yes, Match::Yes];
    for ((p, text), want) in patterns.iter().zip(&texts).zip(expected) {
        assert_eq!(p.matches(text, &r.context), want, "{}", p.source());
    }
    let before = allocations();
    for _ in 0..20 {
        for (p, text) in patterns.iter().zip(&texts) {
            std::hint::black_box(p.matches(text, &r.context));
            std::hint::black_box(p.matches(&text[1..], &r.context));
        }
        std::hint::black_box(r.context.get("TAG:K99"));
    }
    let allocations = allocations() - before;
    assert_eq!(allocations, 0, "matching allocated {allocations} times");
}

/// Every policy type (issue 12): a decision by a role session with identity-based
/// policies, a bucket policy, a permissions boundary, session policies, two SCP levels and
/// an RCP level allocates nothing with a reused `Scratch`, and neither does preparing a
/// request buffer reused from request to request.
#[test]
fn every_policy_type_allocates_nothing() {
    use policy_sim::eval::authorize::{Level, Policies, PolicyType, ScopedPolicy, Scratch};
    use policy_sim::lang::model::PolicyKind;
    use policy_sim::lang::parse::parse_policy_as;
    use policy_sim::lang::principal::Caller;

    let set = |kind: PolicyKind, doc: &str| {
        PolicySet::new(vec![
            parse_policy_as("p.json", doc.as_bytes(), kind).unwrap(),
        ])
    };
    let identity = set(
        PolicyKind::Identity,
        r#"{"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Action":["cognito-sync:*","cognito-identity:*"],"Resource":"*"},
          {"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}/*"}]}"#,
    );
    let policies = Policies {
        identity,
        resource: vec![ScopedPolicy {
            resource: Some("arn:aws:s3:::notes".to_string()),
            set: set(
                PolicyKind::Resource,
                r#"{"Version":"2012-10-17","Statement":[
                  {"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::notes/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}},
                  {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::notes/*"}]}"#,
            ),
        }],
        resource_account: Some("111122223333".to_string()),
        boundary: Some(set(
            PolicyKind::Identity,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:*","sqs:*"],"Resource":"*"}}"#,
        )),
        session: Some(set(
            PolicyKind::Identity,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::notes/*"}}"#,
        )),
        scps: vec![
            Level {
                label: "root".to_string(),
                set: set(
                    PolicyKind::Scp,
                    r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
                ),
            },
            Level {
                label: "ou-apps".to_string(),
                set: set(
                    PolicyKind::Scp,
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
                      {"Effect":"Deny","NotAction":["iam:*","sts:*"],"Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}}]}"#,
                ),
            },
        ],
        rcps: vec![Level {
            label: "root".to_string(),
            set: set(
                PolicyKind::Rcp,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalAccount":"111122223333"}}}}"#,
            ),
        }],
    };
    let session =
        Caller::parse("arn:aws:sts::111122223333:assumed-role/Auth/CognitoIdentityCredentials")
            .unwrap();
    let outsider = Caller::parse("arn:aws:sts::444455556666:assumed-role/Other/s").unwrap();
    let request = |caller: &Caller, action: &str, owner: &str, tls: &str| {
        let mut r = req(
            action,
            &format!("arn:aws:s3:::notes/private/{owner}/a"),
            &[
                ("aws:SecureTransport", tls),
                ("aws:RequestedRegion", "us-east-1"),
            ],
        );
        r.principal = Some(caller.clone());
        r
    };
    let table = [
        (
            &session,
            "s3:GetObject",
            "us-east-1:abc",
            "true",
            Decision::Allow,
        ),
        (
            &session,
            "s3:GetObject",
            "us-east-1:abc",
            "false",
            Decision::ExplicitDeny,
        ),
        (
            &session,
            "s3:GetObject",
            "us-east-1:xyz",
            "true",
            Decision::ImplicitDeny,
        ),
        (
            &session,
            "s3:DeleteObject",
            "us-east-1:abc",
            "true",
            Decision::ImplicitDeny,
        ),
        (
            &outsider,
            "s3:DeleteObject",
            "us-east-1:abc",
            "true",
            Decision::ExplicitDeny,
        ),
        (
            &session,
            "sqs:SendMessage",
            "us-east-1:abc",
            "true",
            Decision::ImplicitDeny,
        ),
    ];
    let cases: Vec<(Request, Decision)> = table
        .iter()
        .map(|(caller, action, owner, tls, d)| (request(caller, action, owner, tls), *d))
        .collect();
    // The keys `prepare` derives: emptied before each round, so that it sets them again.
    let derived = [
        "aws:PrincipalArn",
        "aws:PrincipalAccount",
        "aws:PrincipalType",
        "aws:userid",
        "aws:ResourceAccount",
    ];
    let mut buffers: Vec<(Request, Caller)> = cases
        .iter()
        .map(|(r, _)| (r.clone(), r.principal.clone().unwrap()))
        .collect();
    let mut scratch = Scratch::default();
    let round = |buffers: &mut Vec<(Request, Caller)>, scratch: &mut Scratch| {
        for ((buffer, caller), (_, expected)) in buffers.iter_mut().zip(&cases) {
            for key in derived {
                buffer.context.declare(key);
            }
            buffer.principal.as_mut().unwrap().clone_from(caller);
            policies.prepare(buffer).unwrap();
            let verdict = policies.authorize_into(buffer, scratch).unwrap();
            assert_eq!(verdict.decision, *expected, "{}", buffer.action);
            std::hint::black_box(verdict);
        }
    };
    // Check the decisions (and let the buffers grow) before counting.
    round(&mut buffers, &mut scratch);
    round(&mut buffers, &mut scratch);
    assert_eq!(
        scratch
            .results()
            .iter()
            .map(|r| r.policy_type)
            .collect::<Vec<_>>(),
        [
            PolicyType::Identity,
            PolicyType::Scp,
            PolicyType::Scp,
            PolicyType::Rcp,
            PolicyType::Resource,
            PolicyType::Boundary,
            PolicyType::Session
        ]
    );
    let before = allocations();
    for _ in 0..200 {
        round(&mut buffers, &mut scratch);
    }
    let allocations = allocations() - before;
    assert_eq!(
        allocations, 0,
        "preparing and deciding allocated {allocations} times over 1,200 decisions"
    );
}

/// Requests held as columns (issue 16): once its buffers have grown, a `ColumnDecider`
/// decides rows with context cells, key columns, an identity, a per-row principal equal to
/// the previous row's and the default principal, against a bucket policy and a boundary,
/// without allocating (the output vector is reused).
#[test]
fn column_decisions_allocate_nothing() {
    use policy_sim::eval::authorize::{Policies, PolicyType, ScopedPolicy};
    use policy_sim::eval::columns::{ColumnDecider, Columns, RowResult, TextColumn};
    use policy_sim::lang::model::PolicyKind;
    use policy_sim::lang::parse::parse_policy_as;
    use policy_sim::lang::principal::Caller;

    let set = |kind: PolicyKind, doc: &str| {
        PolicySet::new(vec![
            parse_policy_as("p.json", doc.as_bytes(), kind).unwrap(),
        ])
    };
    let policies = Policies {
        identity: set(
            PolicyKind::Identity,
            r#"{"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::notes/private/${cognito-identity.amazonaws.com:sub}/*"},
              {"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#,
        ),
        resource: vec![ScopedPolicy {
            resource: Some("arn:aws:s3:::notes".to_string()),
            set: set(
                PolicyKind::Resource,
                r#"{"Version":"2012-10-17","Statement":[
                  {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"s3:DeleteObject","Resource":"arn:aws:s3:::notes/*"}]}"#,
            ),
        }],
        boundary: Some(set(
            PolicyKind::Identity,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
        )),
        ..Policies::default()
    };
    let bob = Caller::parse("arn:aws:iam::111122223333:user/bob").unwrap();
    let alice = "arn:aws:iam::111122223333:user/alice";
    let object = "arn:aws:s3:::notes/private/us-east-1:abc/a";
    let action = [
        "s3:GetObject",
        "s3:DeleteObject",
        "s3:GetObject",
        "s3:PutObject",
        "s3:GetObject",
    ];
    let resource = [object; 5];
    let identity = [
        Some("us-east-1:abc"),
        None,
        Some("us-east-1:xyz"),
        None,
        None,
    ];
    let principal = [Some(alice), Some(alice), None, Some(alice), None];
    let context = [
        Some(r#"{"aws:SecureTransport":true,"aws:TagKeys":["a","b"],"s3:max-keys":10}"#),
        None,
        Some(r#"{"aws:SecureTransport":"true"}"#),
        Some("{}"),
        None,
    ];
    let ip = [
        Some("10.1.2.3"),
        Some("10.1.2.3"),
        Some("10.9.9.9"),
        Some("192.0.2.1"),
        Some("10.0.0.5"),
    ];
    let keys: &[(&str, &dyn TextColumn)] = &[("aws:SourceIp", &ip)];
    let columns = Columns {
        action: &action,
        resource: &resource,
        identity: Some(&identity),
        principal: Some(&principal),
        context: Some(&context),
        keys,
    };
    let now = "2026-01-01T00:00:00Z".parse().unwrap();
    let mut decider = ColumnDecider::new(&policies, Some(bob), now);
    let mut out = Vec::new();
    for _ in 0..2 {
        decider.decide(&columns, &mut out).unwrap();
    }
    let answers: Vec<(Decision, PolicyType)> = out
        .iter()
        .map(|r| match r {
            RowResult::Decided { verdict, .. } => (verdict.decision, verdict.decided_by),
            RowResult::Failed(e) => panic!("a row failed: {e}"),
        })
        .collect();
    assert_eq!(
        answers,
        [
            (Decision::Allow, PolicyType::Identity),
            (Decision::Allow, PolicyType::Resource),
            (Decision::ImplicitDeny, PolicyType::Identity),
            (Decision::ExplicitDeny, PolicyType::Identity),
            (Decision::ImplicitDeny, PolicyType::Identity),
        ]
    );
    let before = allocations();
    for _ in 0..200 {
        decider.decide(&columns, &mut out).unwrap();
        std::hint::black_box(&out);
    }
    let allocations = allocations() - before;
    assert_eq!(
        allocations, 0,
        "deciding columns allocated {allocations} times over 1,000 rows"
    );
}

//! Deciding requests held as columns ([`policy_sim::eval::columns`]): exact answers and
//! error texts for hand-written rows, and a property holding every row to the answer
//! `check --requests` gives its equivalent JSON line.

use policy_sim::eval::authorize::{Policies, PolicyType, ScopedPolicy, TypedRef, Verdict};
use policy_sim::eval::columns::{ColumnDecider, Columns, ColumnsError, RowResult, TextColumn};
use policy_sim::eval::{Decision, PolicySet, StatementRef};
use policy_sim::lang::model::PolicyKind;
use policy_sim::lang::parse::parse_policy_as;
use policy_sim::lang::principal::Caller;
use policy_sim::report::batch::{BatchOptions, run_authorized};
use proptest::prelude::*;

const IDENTITY: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"Get","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},
  {"Sid":"Own","Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/${cognito-identity.amazonaws.com:sub}/*"},
  {"Sid":"Ip","Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"},"Null":{"aws:SourceIp":"false"}}},
  {"Sid":"Acl","Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"s3:x-amz-acl":"public-read"}}}
]}"#;

const BUCKET: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"Alice","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b/*"},
  {"Sid":"Role","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/R"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"},
  {"Sid":"Other","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},
  {"Sid":"NoOld","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/old/*"}
]}"#;

const BOUNDARY: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"Reads","Effect":"Allow","Action":["s3:Get*","s3:List*","s3:Delete*"],"Resource":"*"}
]}"#;

fn set(kind: PolicyKind, text: &str) -> PolicySet {
    PolicySet::new(vec![
        parse_policy_as("p.json", text.as_bytes(), kind).expect("a valid policy"),
    ])
}

fn identity_only() -> Policies {
    Policies::identity_only(set(PolicyKind::Identity, IDENTITY))
}

fn with_bucket() -> Policies {
    Policies {
        resource: vec![ScopedPolicy {
            resource: Some("arn:aws:s3:::b".to_string()),
            set: set(PolicyKind::Resource, BUCKET),
        }],
        ..identity_only()
    }
}

fn with_boundary() -> Policies {
    Policies {
        boundary: Some(set(PolicyKind::Identity, BOUNDARY)),
        ..with_bucket()
    }
}

fn now() -> jiff::Timestamp {
    "2026-01-01T00:00:00Z".parse().expect("a timestamp")
}

const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
const BOB: &str = "arn:aws:iam::111122223333:user/bob";

fn caller(arn: &str) -> Caller {
    Caller::parse(arn).expect("a caller")
}

fn decided(
    decision: Decision,
    decided_by: PolicyType,
    index: usize,
    statement: Option<(PolicyType, usize)>,
) -> RowResult {
    RowResult::Decided {
        verdict: Verdict {
            decision,
            decided_by,
            index,
        },
        statement: statement.map(|(policy_type, statement)| TypedRef {
            policy_type,
            index: 0,
            statement: StatementRef {
                policy: 0,
                statement,
            },
        }),
    }
}

fn failed(text: &str) -> RowResult {
    RowResult::Failed(text.to_string())
}

fn run(decider: &mut ColumnDecider<'_>, columns: &Columns<'_>) -> Vec<RowResult> {
    let mut out = vec![failed("stale")];
    decider.decide(columns, &mut out).expect("equal lengths");
    out
}

#[test]
fn required_fields_and_identity_policies_alone() {
    let policies = identity_only();
    let mut d = ColumnDecider::new(&policies, None, now());
    let action = vec![
        Some("s3:GetObject"),
        None,
        Some("s3:GetObject"),
        Some("s3:PutObject"),
        Some("s3:PutObject"),
        Some("bad"),
        None,
    ];
    let resource = vec![
        Some("arn:aws:s3:::b/k"),
        Some("arn:aws:s3:::b/k"),
        None,
        Some("arn:aws:s3:::b/us-east-1:abc/x"),
        Some("arn:aws:s3:::b/us-east-1:abc/x"),
        Some("*"),
        None,
    ];
    let identity = vec![
        None,
        None,
        None,
        Some("us-east-1:abc".to_string()),
        Some("us-east-1:zzz".to_string()),
        None,
        None,
    ];
    let columns = Columns {
        identity: Some(&identity),
        ..Columns::new(&action, &resource)
    };
    assert_eq!(
        run(&mut d, &columns),
        vec![
            decided(
                Decision::Allow,
                PolicyType::Identity,
                0,
                Some((PolicyType::Identity, 0))
            ),
            failed("missing field `action`"),
            failed("missing field `resource`"),
            decided(
                Decision::Allow,
                PolicyType::Identity,
                0,
                Some((PolicyType::Identity, 1))
            ),
            decided(Decision::ImplicitDeny, PolicyType::Identity, 0, None),
            failed("action \"bad\" is not of the form service:ActionName (without wildcards)"),
            failed("missing field `action`"),
        ]
    );
}

#[test]
fn lengths_must_agree() {
    let policies = identity_only();
    let mut d = ColumnDecider::new(&policies, None, now());
    let two = vec!["s3:GetObject", "s3:GetObject"];
    let one = vec!["*"];
    let mut out = vec![failed("stale")];
    assert_eq!(
        d.decide(&Columns::new(&two, &one), &mut out),
        Err(ColumnsError::Length {
            column: "resource".to_string(),
            len: 1,
            expected: 2
        })
    );
    assert!(out.is_empty());
    let resource = vec!["*", "*"];
    let ip: Vec<Option<String>> = vec![None, None, None];
    let keys: &[(&str, &dyn TextColumn)] = &[("aws:SourceIp", &ip)];
    let columns = Columns {
        keys,
        ..Columns::new(&two, &resource)
    };
    let e = d.decide(&columns, &mut out).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the key \"aws:SourceIp\" column has 3 rows; the action column has 2"
    );
    let principal = vec![ALICE];
    let columns = Columns {
        principal: Some(&principal),
        ..Columns::new(&two, &resource)
    };
    assert_eq!(
        d.decide(&columns, &mut out).unwrap_err().to_string(),
        "the principal column has 1 rows; the action column has 2"
    );
    // No rows at all: nothing to decide, no error.
    let none: Vec<&str> = Vec::new();
    d.decide(&Columns::new(&none, &none), &mut out).unwrap();
    assert!(out.is_empty());
}

#[test]
fn context_cells_read_as_the_lines_read_them() {
    let policies = identity_only();
    let mut d = ColumnDecider::new(&policies, None, now());
    let action = vec!["s3:GetObject"; 7];
    let resource = vec!["arn:aws:s3:::b/k"; 7];
    let context = vec![
        Some(r#"{"aws:SourceIp":"10.1.2.3","aws:SecureTransport":true}"#),
        Some(r#"{"aws:SourceIp":"192.0.2.1"}"#),
        Some(r#"{"a:b":[["x"]]}"#),
        Some(r#"{"a:b":"1","A:B":"2"}"#),
        Some("[]"),
        None,
        Some(r#"{"s3:x-amz-acl":"public-read"}"#),
    ];
    let columns = Columns {
        context: Some(&context),
        ..Columns::new(&action, &resource)
    };
    assert_eq!(
        run(&mut d, &columns),
        vec![
            decided(
                Decision::Allow,
                PolicyType::Identity,
                0,
                Some((PolicyType::Identity, 0))
            ),
            decided(
                Decision::ExplicitDeny,
                PolicyType::Identity,
                0,
                Some((PolicyType::Identity, 2))
            ),
            failed(
                "invalid type: sequence, expected a string, number or boolean at line 1 column 9"
            ),
            failed("duplicate context key \"A:B\" (keys are case-insensitive) at line 1 column 16"),
            failed(
                "invalid type: sequence, expected an object of context keys to values at line 1 column 0"
            ),
            decided(
                Decision::Allow,
                PolicyType::Identity,
                0,
                Some((PolicyType::Identity, 0))
            ),
            decided(
                Decision::ExplicitDeny,
                PolicyType::Identity,
                0,
                Some((PolicyType::Identity, 3))
            ),
        ]
    );
}

#[test]
fn key_columns() {
    let policies = identity_only();
    let mut d = ColumnDecider::new(&policies, None, now());
    let action = vec!["s3:GetObject"; 6];
    let resource = vec!["arn:aws:s3:::b/k"; 6];
    let ip = vec![
        Some("10.1.2.3"),
        Some("192.0.2.1"),
        None,
        Some("10.1.2.3"),
        Some("10.1.2.3"),
        None,
    ];
    let ip_upper = vec![None, None, Some("192.0.2.1"), Some("10.1.2.3"), None, None];
    let acl = vec![
        Some("private"),
        Some("private"),
        Some("private"),
        None,
        None,
        Some("public-read"),
    ];
    let context = vec![
        None,
        None,
        None,
        None,
        Some(r#"{"AWS:SOURCEIP":"10.1.2.3"}"#),
        Some("{}"),
    ];
    let keys: &[(&str, &dyn TextColumn)] = &[
        ("aws:SourceIp", &ip),
        ("AWS:sourceip", &ip_upper),
        ("s3:x-amz-acl", &acl),
    ];
    let columns = Columns {
        keys,
        context: Some(&context),
        ..Columns::new(&action, &resource)
    };
    let allow = decided(
        Decision::Allow,
        PolicyType::Identity,
        0,
        Some((PolicyType::Identity, 0)),
    );
    assert_eq!(
        run(&mut d, &columns),
        vec![
            allow.clone(),
            decided(
                Decision::ExplicitDeny,
                PolicyType::Identity,
                0,
                Some((PolicyType::Identity, 2))
            ),
            // The second spelling of the key alone: read as the key.
            decided(
                Decision::ExplicitDeny,
                PolicyType::Identity,
                0,
                Some((PolicyType::Identity, 2))
            ),
            failed("duplicate context key \"AWS:sourceip\" (keys are case-insensitive)"),
            failed("duplicate context key \"aws:SourceIp\" (keys are case-insensitive)"),
            decided(
                Decision::ExplicitDeny,
                PolicyType::Identity,
                0,
                Some((PolicyType::Identity, 3))
            ),
        ]
    );
    // An empty key name is an error on the rows that give it a value only.
    let empty = vec![None, Some("x"), None, None, None, None];
    let keys: &[(&str, &dyn TextColumn)] = &[("", &empty)];
    let columns = Columns {
        keys,
        ..Columns::new(&action, &resource)
    };
    let out = run(&mut d, &columns);
    assert_eq!(out[0], allow);
    assert_eq!(out[1], failed("a context key must not be empty"));
    assert_eq!(out[2], allow);
    // The identity and its context key: the identity rule of every input.
    let identity = vec![Some("us-east-1:abc"); 6];
    let sub = vec![None, Some("us-east-1:abc"), None, None, None, None];
    let keys: &[(&str, &dyn TextColumn)] = &[("cognito-identity.amazonaws.com:sub", &sub)];
    let columns = Columns {
        keys,
        identity: Some(&identity),
        ..Columns::new(&action, &resource)
    };
    let out = run(&mut d, &columns);
    assert_eq!(out[0], allow);
    assert_eq!(
        out[1],
        failed(
            "identity and context[\"cognito-identity.amazonaws.com:sub\"] both set the identity; give one"
        )
    );
}

#[test]
fn principals_default_and_per_row_with_caching() {
    let policies = with_boundary();
    let action = vec!["s3:DeleteObject"; 8];
    let resource = vec!["arn:aws:s3:::b/k"; 8];
    let principal = vec![
        Some(ALICE),
        Some(ALICE),
        Some(BOB),
        Some("x"),
        Some(ALICE),
        None,
        Some(BOB),
        Some(BOB),
    ];
    let columns = Columns {
        principal: Some(&principal),
        ..Columns::new(&action, &resource)
    };
    let alice_allowed = decided(
        Decision::Allow,
        PolicyType::Resource,
        0,
        Some((PolicyType::Resource, 0)),
    );
    let implicit = decided(Decision::ImplicitDeny, PolicyType::Identity, 0, None);
    let bad_principal =
        RowResult::Failed(format!("principal: {}", Caller::parse("x").unwrap_err()));
    // Without a default principal, the row without one cannot be decided: a resource
    // policy and a boundary are given.
    let mut d = ColumnDecider::new(&policies, None, now());
    let expected = vec![
        alice_allowed.clone(),
        alice_allowed.clone(),
        implicit.clone(),
        bad_principal.clone(),
        alice_allowed.clone(),
        failed("a resource policy is given, so the request needs its principal (the caller's ARN)"),
        implicit.clone(),
        implicit.clone(),
    ];
    assert_eq!(run(&mut d, &columns), expected);
    // The same decider again: its cache (Bob's) does not leak into Alice's first row.
    assert_eq!(run(&mut d, &columns), expected);
    // With Alice as the default, the null row is hers; Bob's rows stay his.
    let mut d = ColumnDecider::new(&policies, Some(caller(ALICE)), now());
    let mut with_default = expected.clone();
    with_default[5] = alice_allowed.clone();
    assert_eq!(run(&mut d, &columns), with_default);
    // No principal column at all: every row is the default's.
    let mut d = ColumnDecider::new(&policies, Some(caller(BOB)), now());
    assert_eq!(
        run(&mut d, &Columns::new(&action, &resource)),
        vec![implicit; 8]
    );
}

#[test]
fn a_role_path_from_the_context_stays_on_its_row() {
    // `prepare` reads a role's path from `aws:PrincipalArn`: the cached caller must not
    // keep it for the next row of the same principal.
    let policies = with_bucket();
    let mut d = ColumnDecider::new(&policies, None, now());
    let action = vec!["s3:ListBucket"; 3];
    let resource = vec!["arn:aws:s3:::b"; 3];
    let principal = vec!["arn:aws:sts::111122223333:assumed-role/R/s"; 3];
    let context = vec![
        None,
        Some(r#"{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/team/R"}"#),
        None,
    ];
    let columns = Columns {
        principal: Some(&principal),
        context: Some(&context),
        ..Columns::new(&action, &resource)
    };
    let allowed = decided(
        Decision::Allow,
        PolicyType::Resource,
        0,
        Some((PolicyType::Resource, 1)),
    );
    let out = run(&mut d, &columns);
    assert_eq!(out[0], allowed);
    assert_eq!(out, vec![allowed.clone(), out[1].clone(), allowed]);
    assert_ne!(out[1], out[0], "the path changes the role's ARN");
}

/// The error text without the position serde_json appends (` at line N column M`).
fn without_position(text: &str) -> String {
    if let Some(i) = text.rfind(" at line ") {
        let rest = &text[i + " at line ".len()..];
        if let Some((line, column)) = rest.split_once(" column ")
            && !line.is_empty()
            && line.bytes().all(|b| b.is_ascii_digit())
            && !column.is_empty()
            && column.bytes().all(|b| b.is_ascii_digit())
        {
            return text[..i].to_string();
        }
    }
    text.to_string()
}

/// One row as generated: the cells of the five columns and the key columns.
#[derive(Debug, Clone)]
struct Row {
    action: Option<String>,
    resource: Option<String>,
    identity: Option<String>,
    principal: Option<String>,
    context: Option<String>,
    keys: Vec<Option<String>>,
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

/// The row's equivalent request line.
fn line(row: &Row, key_names: &[String]) -> String {
    let mut fields = Vec::new();
    for (name, cell) in [
        ("identity", &row.identity),
        ("principal", &row.principal),
        ("action", &row.action),
        ("resource", &row.resource),
    ] {
        if let Some(text) = cell {
            fields.push(format!("\"{name}\":{}", json_string(text)));
        }
    }
    let keys: Vec<String> = key_names
        .iter()
        .zip(&row.keys)
        .filter_map(|(name, cell)| {
            cell.as_ref()
                .map(|v| format!("{}:{}", json_string(name), json_string(v)))
        })
        .collect();
    let context = match &row.context {
        None if keys.is_empty() => None,
        None => Some(format!("{{{}}}", keys.join(","))),
        Some(cell) => {
            let trimmed = cell.trim();
            match trimmed.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                Some(inner) if !keys.is_empty() => {
                    if inner.trim().is_empty() {
                        Some(format!("{{{}}}", keys.join(",")))
                    } else {
                        Some(format!("{{{inner},{}}}", keys.join(",")))
                    }
                }
                // Not an object: the line fails on it before its keys, as the row does.
                _ => Some(cell.clone()),
            }
        }
    };
    if let Some(context) = context {
        fields.push(format!("\"context\":{context}"));
    }
    format!("{{{}}}", fields.join(","))
}

/// What `check --requests` says of each line: `Ok((decision, decided_by, first
/// statement))` or the error without its position.
type Answer = Result<(String, Option<String>, Option<serde_json::Value>), String>;

fn lines_answers(policies: &Policies, principal: Option<&Caller>, lines: &str) -> Vec<Answer> {
    let mut out = Vec::new();
    run_authorized(
        policies,
        principal,
        lines.as_bytes(),
        &mut out,
        BatchOptions {
            threads: 1,
            now: now(),
        },
    )
    .expect("in memory");
    String::from_utf8(out)
        .expect("UTF-8")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("an output line");
            if let Some(e) = v.get("error") {
                return Err(without_position(e.as_str().expect("a message")));
            }
            Ok((
                v["decision"].as_str().expect("a decision").to_string(),
                v.get("decided_by")
                    .map(|t| t.as_str().expect("a type").to_string()),
                v["statements"].as_array().expect("a list").first().cloned(),
            ))
        })
        .collect()
}

fn column_answers(policies: &Policies, results: &[RowResult]) -> Vec<Answer> {
    let typed = !policies.is_identity_only();
    results
        .iter()
        .map(|r| match r {
            RowResult::Failed(e) => Err(without_position(e)),
            RowResult::Decided { verdict, statement } => Ok((
                verdict.decision.as_str().to_string(),
                typed.then(|| verdict.decided_by.as_str().to_string()),
                statement.map(|s| {
                    serde_json::to_value(policy_sim::report::typed_statement_out(policies, s))
                        .expect("a statement serializes")
                }),
            )),
        })
        .collect()
}

/// A cell: one of `good` (nine times in ten) or `bad` when present (`weight`), else null.
fn cell(
    good: &'static [&'static str],
    bad: &'static [&'static str],
    weight: f64,
) -> BoxedStrategy<Option<String>> {
    let good = prop::sample::select(good).prop_map(str::to_string);
    let text = if bad.is_empty() {
        good.boxed()
    } else {
        let bad = prop::sample::select(bad).prop_map(str::to_string);
        prop_oneof![9 => good, 1 => bad].boxed()
    };
    prop::option::weighted(weight, text).boxed()
}

const KEYS: &[&str] = &[
    "aws:SourceIp",
    "AWS:sourceip",
    "aws:SecureTransport",
    "aws:CurrentTime",
    "aws:EpochTime",
    "cognito-identity.amazonaws.com:sub",
    "aws:PrincipalArn",
    "aws:PrincipalAccount",
    "aws:ResourceAccount",
    "s3:prefix",
    "s3:x-amz-acl",
    "k",
];

const VALUES: &[&str] = &[
    "10.0.0.1",
    "192.0.2.7",
    "true",
    "false",
    "2026-01-01T00:00:00Z",
    "1767225600",
    "us-east-1:abc",
    "arn:aws:iam::111122223333:role/team/R",
    "arn:aws:iam::111122223333:user/alice",
    "111122223333",
    "public-read",
    "x",
];

/// A JSON value of a context: a string, a number as written, a boolean, or an array.
fn value() -> BoxedStrategy<String> {
    let scalar = prop_oneof![
        4 => prop::sample::select(VALUES).prop_map(json_string),
        1 => prop::sample::select(&["10", "1.50", "-0", "1e3"][..]).prop_map(str::to_string),
        1 => any::<bool>().prop_map(|b| b.to_string()),
    ];
    prop_oneof![
        4 => scalar.clone(),
        1 => prop::collection::vec(scalar, 0..3).prop_map(|v| format!("[{}]", v.join(","))),
    ]
    .boxed()
}

/// A context cell: an object of known keys (a duplicate in another case now and then),
/// or a complete JSON value the context reader refuses.
fn context() -> BoxedStrategy<Option<String>> {
    let object =
        prop::collection::vec((prop::sample::select(KEYS), value()), 0..3).prop_map(|pairs| {
            let pairs: Vec<String> = pairs
                .into_iter()
                .map(|(k, v)| format!("{}:{v}", json_string(k)))
                .collect();
            format!("{{{}}}", pairs.join(","))
        });
    let invalid = prop::sample::select(
        &[
            "[]",
            "\"x\"",
            "1",
            "null",
            r#"{"a:b":null}"#,
            r#"{"a:b":[["x"]]}"#,
            r#"{"":"x"}"#,
            r#"{"a:b":"1","A:B":"2"}"#,
            r#"{"a:b":{}}"#,
            r#"{"a:b":1e400}"#,
            " { } ",
            r#"{"aws:SourceIp":"\u0031\u0030.0.0.1"}"#,
        ][..],
    )
    .prop_map(str::to_string);
    prop::option::weighted(0.7, prop_oneof![8 => object, 1 => invalid]).boxed()
}

const KEY_COLUMNS: &[&str] = &[
    "aws:SecureTransport",
    "s3:x-amz-acl",
    "aws:SourceIp",
    "AWS:SOURCEIP",
    "s3:prefix",
    "cognito-identity.amazonaws.com:sub",
    "aws:PrincipalArn",
    "aws:SecureTransport",
    "s3:x-amz-acl",
    "aws:SourceIp",
    "s3:x-amz-acl",
    "",
];

fn rows(keys: usize) -> impl Strategy<Value = Vec<Row>> {
    let row = (
        cell(
            &[
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:ListBucket",
                "execute-api:Invoke",
            ],
            &["bad", "s3:Get*", ""],
            0.97,
        ),
        cell(
            &[
                "*",
                "arn:aws:s3:::b",
                "arn:aws:s3:::b/k",
                "arn:aws:s3:::b/us-east-1:abc/x",
                "arn:aws:s3:::b/old/k",
                "arn:aws:s3:::other/k",
            ],
            &["nope"],
            0.97,
        ),
        cell(&["us-east-1:abc", "us-east-1:zzz"], &[""], 0.3),
        cell(
            &[
                ALICE,
                BOB,
                "arn:aws:sts::111122223333:assumed-role/R/s",
                "arn:aws:iam::444455556666:root",
            ],
            &["x"],
            0.7,
        ),
        context(),
        prop::collection::vec(cell(VALUES, &[], 0.4), keys),
    )
        .prop_map(
            |(action, resource, identity, principal, context, keys)| Row {
                action,
                resource,
                identity,
                principal,
                context,
                keys,
            },
        );
    prop::collection::vec(row, 1..16)
}

fn batch() -> impl Strategy<Value = (Vec<String>, Vec<Row>)> {
    prop::collection::vec(prop::sample::select(KEY_COLUMNS), 0..3).prop_flat_map(|names| {
        let n = names.len();
        (
            Just(names.into_iter().map(str::to_string).collect::<Vec<_>>()),
            rows(n),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Every row is answered as `check --requests` answers its equivalent line: the same
    /// decision, deciding type and first statement, or the same error (positions aside).
    #[test]
    fn rows_are_decided_as_their_lines(
        (key_names, rows) in batch(),
        which in 0usize..3,
        default in prop::option::of(prop::sample::select(&[ALICE, BOB, "arn:aws:sts::111122223333:assumed-role/R/s"][..])),
    ) {
        let policies = match which {
            0 => identity_only(),
            1 => with_bucket(),
            _ => with_boundary(),
        };
        let default = default.map(caller);
        let text: String = rows.iter().map(|r| line(r, &key_names) + "\n").collect();
        let expected = lines_answers(&policies, default.as_ref(), &text);

        let column = |f: fn(&Row) -> &Option<String>| rows.iter().map(f).cloned().collect::<Vec<_>>();
        let action = column(|r| &r.action);
        let resource = column(|r| &r.resource);
        let identity = column(|r| &r.identity);
        let principal = column(|r| &r.principal);
        let context = column(|r| &r.context);
        let key_cells: Vec<Vec<Option<String>>> = (0..key_names.len())
            .map(|k| rows.iter().map(|r| r.keys[k].clone()).collect())
            .collect();
        let keys: Vec<(&str, &dyn TextColumn)> = key_names
            .iter()
            .zip(&key_cells)
            .map(|(n, c)| (n.as_str(), c as &dyn TextColumn))
            .collect();
        let columns = Columns {
            action: &action,
            resource: &resource,
            identity: Some(&identity),
            principal: Some(&principal),
            context: Some(&context),
            keys: &keys,
        };
        let mut decider = ColumnDecider::new(&policies, default, now());
        let mut out = Vec::new();
        decider.decide(&columns, &mut out).expect("equal lengths");
        prop_assert_eq!(out.len(), rows.len());
        let got = column_answers(&policies, &out);
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            prop_assert_eq!(g, e, "row {}: {:?}\nline {}", i, rows[i], line(&rows[i], &key_names));
        }
        prop_assert_eq!(got.len(), expected.len());
        // The same batch again on the same decider (warm buffers, a cached caller): the
        // same answers.
        let mut again = Vec::new();
        decider.decide(&columns, &mut again).expect("equal lengths");
        prop_assert_eq!(again, out);
    }
}

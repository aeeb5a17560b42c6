//! Regression tests for rules that used to live in two places and disagreed.

use policy_sim::eval::PolicySet;
use policy_sim::lang::parse::parse_policy;
use policy_sim::report::batch::{BatchOptions, run_batch};

fn set(doc: &str) -> PolicySet {
    PolicySet::new(vec![parse_policy("p.json", doc.as_bytes()).unwrap()])
}

fn batch(set: &PolicySet, lines: &str) -> String {
    let mut out = Vec::new();
    run_batch(
        set,
        lines.as_bytes(),
        &mut out,
        BatchOptions {
            threads: 1,
            now: "2026-01-01T00:00:00Z".parse().unwrap(),
        },
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

/// A request value written as the JSON number `1.50` is the text `1.50`, as the policy's
/// `"1.50"` is: it was read through `f64` as `1.5` and silently stopped matching.
#[test]
fn batch_numbers_are_read_from_their_text_as_policies_are() {
    let s = set(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*",
            "Condition":{"StringEquals":{"s3:x-amz-meta-v":"1.50"},
                         "NumericEquals":{"s3:max-keys":0.1000000000000000055511151231257827}}}}"#,
    );
    let out = batch(
        &s,
        concat!(
            r#"{"id":1,"action":"s3:GetObject","resource":"*","context":{"s3:x-amz-meta-v":1.50,"s3:max-keys":"0.1000000000000000055511151231257827"}}"#,
            "\n",
            r#"{"id":2,"action":"s3:GetObject","resource":"*","context":{"s3:x-amz-meta-v":1.5,"s3:max-keys":"0.1000000000000000055511151231257827"}}"#,
            "\n",
            // Through f64 both numbers would be 0.1; exactly, they differ.
            r#"{"id":3,"action":"s3:GetObject","resource":"*","context":{"s3:x-amz-meta-v":"1.50","s3:max-keys":0.1}}"#,
            "\n",
        ),
    );
    let decisions: Vec<&str> = out
        .lines()
        .map(|l| {
            l.split("\"decision\":\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(
        decisions,
        ["Allow", "ImplicitDeny", "ImplicitDeny"],
        "{out}"
    );
}

/// The ARN component splitter reads `${...}` with the policy-variable lexer: a default
/// holding `}` and `:` (accepted in a Resource) is accepted in an `ArnLike` value too,
/// where it used to be cut at the first `}`.
#[test]
fn arn_like_values_read_variables_as_everywhere_else() {
    let s = set(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sns:Publish","Resource":"*",
            "Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:sns:${aws:RequestedRegion, 'x}:y'}:123456789012:topic"}}}}"#,
    );
    let out = batch(
        &s,
        concat!(
            r#"{"action":"sns:Publish","resource":"*","context":{"aws:RequestedRegion":"us-east-1","aws:SourceArn":"arn:aws:sns:us-east-1:123456789012:topic"}}"#,
            "\n",
            r#"{"action":"sns:Publish","resource":"*","context":{"aws:RequestedRegion":"us-east-1","aws:SourceArn":"arn:aws:sns:eu-west-1:123456789012:topic"}}"#,
            "\n",
        ),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].contains("\"decision\":\"Allow\""), "{out}");
    assert!(lines[1].contains("\"decision\":\"ImplicitDeny\""), "{out}");
}

/// A decimal longer than any floating-point value is still read (as its text) and compared
/// exactly: the check that a number's text denotes the value the JSON reader saw allows
/// for the reader's rounding of its last places.
#[test]
fn a_very_long_decimal_in_a_policy_is_read_exactly() {
    let long = format!("0.{}", "3".repeat(50_000));
    let s = set(&format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Deny","Action":"s3:*","Resource":"*",
            "Condition":{{"NumericLessThan":{{"s3:max-keys":{long}}}}}}}}}"#
    ));
    let out = batch(
        &s,
        &format!(
            "{}\n{}\n",
            r#"{"action":"s3:ListBucket","resource":"*","context":{"s3:max-keys":"0.2"}}"#,
            format_args!(
                r#"{{"action":"s3:ListBucket","resource":"*","context":{{"s3:max-keys":"{long}4"}}}}"#
            )
        ),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].contains("\"decision\":\"ExplicitDeny\""), "{out}");
    // Larger than the policy's value only in the 50,001st decimal place.
    assert!(lines[1].contains("\"decision\":\"ImplicitDeny\""), "{out}");
}

//! Every file in `fixtures/malformed/` must be rejected with exactly the message recorded in
//! `fixtures/malformed/expected.json` (file name → message). The messages were reviewed by
//! hand; to re-record them after an intended change, run the test with
//! `POLICY_SIM_BLESS=1` and review the diff.

use std::collections::BTreeMap;
use std::path::PathBuf;

use policy_sim::lang::parse::parse_policy;

#[test]
fn malformed_policies_are_rejected_with_exact_messages() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/malformed");
    let expected_path = dir.join("expected.json");
    let mut actual = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name == "expected.json" || !name.ends_with(".json") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let message = match parse_policy(&name, &bytes) {
            Ok(_) => panic!("{name} was accepted"),
            Err(e) => e.to_string(),
        };
        actual.insert(name, message);
    }
    if std::env::var_os("POLICY_SIM_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&actual).unwrap() + "\n";
        std::fs::write(&expected_path, text).unwrap();
        return;
    }
    let expected: BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(&expected_path).unwrap()).unwrap();
    assert_eq!(
        actual.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "fixture files and expected.json disagree"
    );
    for (name, message) in &actual {
        assert_eq!(message, &expected[name], "message for {name}");
    }
    assert!(actual.len() >= 15);
}

/// A value of `n` characters: `x` repeated.
fn long(n: usize) -> String {
    "x".repeat(n)
}

/// `message` echoes a value of `n` characters (`x`s, and maybe one more) in the
/// shortened form: its first 120 characters, then `… (n characters)`, and stays short.
fn assert_shortened(message: &str, n: usize) {
    let shown = format!("\"{}\"… ({n} characters)", long(120));
    assert!(message.contains(&shown), "{message}");
    assert!(message.len() < 600, "{} bytes: {message}", message.len());
}

fn assert_bounded(message: &str) {
    assert_shortened(message, 50_000);
}

fn policy_error(statement: &str) -> String {
    let text = format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#);
    match parse_policy("p.json", text.as_bytes()) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn long_values_are_shortened_in_policy_messages() {
    let v = long(50_000);
    // An action pattern.
    assert_bounded(&policy_error(&format!(
        r#"{{"Effect":"Allow","Action":"{v}","Resource":"*"}}"#
    )));
    // A condition value that is not of its operator's type.
    for operator in [
        "NumericEquals",
        "DateEquals",
        "IpAddress",
        "Bool",
        "BinaryEquals",
    ] {
        let v = if operator == "BinaryEquals" {
            format!("{v}!")
        } else {
            v.clone()
        };
        let message = policy_error(&format!(
            r#"{{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{{"{operator}":{{"aws:k":"{v}"}}}}}}"#
        ));
        assert_shortened(&message, v.chars().count());
    }
    // A Sid, an element name and a condition key.
    assert_shortened(
        &policy_error(&format!(
            r#"{{"Sid":"{v}-","Effect":"Allow","Action":"s3:*","Resource":"*"}}"#
        )),
        50_001,
    );
    assert_bounded(&policy_error(&format!(
        r#"{{"{v}":1,"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#
    )));
    assert_bounded(&policy_error(&format!(
        r#"{{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{{"StringEquals":{{"{v}":"1"}}}}}}"#
    )));
    // An operator.
    assert_bounded(&policy_error(&format!(
        r#"{{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{{"{v}":{{"aws:k":"1"}}}}}}"#
    )));
    // A policy variable that is not closed.
    let message = policy_error(&format!(
        r#"{{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${{{v}"}}"#
    ));
    assert!(message.contains("… (50002 characters)"), "{message}");
    assert!(message.len() < 600, "{} bytes: {message}", message.len());
}

#[test]
fn long_values_are_shortened_in_request_messages() {
    use policy_sim::eval::PolicySet;
    use policy_sim::request::Request;
    let policy = parse_policy(
        "p.json",
        br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":"10"}}}]}"#,
    )
    .unwrap();
    let set = PolicySet::new(vec![policy]);
    let v = long(50_000);
    // An action.
    let e = set.evaluate(&Request::new(v.clone(), "*")).unwrap_err();
    assert_bounded(&e.to_string());
    // A resource.
    let e = set
        .evaluate(&Request::new("s3:ListBucket", v.clone()))
        .unwrap_err();
    assert_bounded(&e.to_string());
    // A request value of the wrong type.
    let mut request = Request::new("s3:ListBucket", "arn:aws:s3:::b");
    request.context.set("s3:max-keys", vec![v]);
    let e = set.evaluate(&request).unwrap_err();
    assert_bounded(&e.to_string());
}

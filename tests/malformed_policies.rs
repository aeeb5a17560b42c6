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

//! Lookups by name stay near-linear in the template's size: templates large enough that
//! a scan per lookup (references times entries) would take minutes.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::node::{Kind, Loc, Mapping, Node, ScalarType};
use super::{Missing, Params, Template, missing_message, node_bytes, serverless};
use crate::root::Root;

fn at(line: usize) -> Loc {
    Loc {
        file: Arc::from("t.yml"),
        line,
        column: 1,
    }
}

fn s(text: &str) -> Node {
    Node {
        kind: Kind::Scalar(text.to_string(), ScalarType::Str),
        loc: at(1),
    }
}

fn map(entries: Vec<(String, Node)>) -> Node {
    Node {
        kind: Kind::Map(Mapping::new(entries)),
        loc: at(1),
    }
}

fn one(key: &str, value: Node) -> Node {
    map(vec![(key.to_string(), value)])
}

fn seq(items: Vec<Node>) -> Node {
    Node {
        kind: Kind::Seq(items),
        loc: at(1),
    }
}

fn template(cfn: Node) -> Template {
    Template {
        file: Arc::from("t.yml"),
        region: "us-east-1".to_string(),
        params: Params::default(),
        serverless: false,
        region_known: false,
        input_bytes: node_bytes(&cfn),
        cfn,
        api_policy: None,
        input: super::InputKind::CloudFormation,
        names: super::Names::default(),
        notes: Vec::new(),
    }
}

const N: usize = 100_000;

fn role() -> Node {
    map(vec![
        ("Type".to_string(), s("AWS::IAM::Role")),
        (
            "Properties".to_string(),
            one(
                "Policies",
                seq(vec![map(vec![
                    ("PolicyName".to_string(), s("P")),
                    (
                        "PolicyDocument".to_string(),
                        map(vec![
                            ("Version".to_string(), s("2012-10-17")),
                            (
                                "Statement".to_string(),
                                one("Effect", s("Allow")).with(&[
                                    ("Action", s("s3:GetObject")),
                                    (
                                        "Resource",
                                        one("Fn::Sub", s("arn:aws:s3:::${P99999}/${B99999.Arn}")),
                                    ),
                                ]),
                            ),
                        ]),
                    ),
                ])]),
            ),
        ),
    ])
}

trait With {
    fn with(self, more: &[(&str, Node)]) -> Node;
}

impl With for Node {
    fn with(self, more: &[(&str, Node)]) -> Node {
        let Kind::Map(m) = self.kind else {
            return self;
        };
        let mut entries = m.into_vec();
        entries.extend(more.iter().map(|(k, v)| (k.to_string(), v.clone())));
        map(entries)
    }
}

#[test]
fn references_find_their_targets_by_index() {
    // 100,000 parameters and resources, each referred to, the role last: every Ref,
    // Fn::GetAtt and `${X}` scanned Parameters or Resources, and each resource scanned
    // Resources for the role: about 10^10 steps.
    let params = (0..N)
        .map(|i| (format!("P{i}"), one("Default", s(&format!("v{i}")))))
        .collect();
    let mut resources: Vec<(String, Node)> = (0..N)
        .map(|i| {
            let bucket = map(vec![
                ("Type".to_string(), s("AWS::S3::Bucket")),
                (
                    "Properties".to_string(),
                    one("BucketName", s(&format!("b{i}"))),
                ),
            ]);
            (format!("B{i}"), bucket)
        })
        .collect();
    resources.push(("Role".to_string(), role()));
    let t = template(map(vec![
        ("Parameters".to_string(), map(params)),
        ("Resources".to_string(), map(resources)),
    ]));
    let refs = seq((0..N)
        .flat_map(|i| {
            [
                one("Ref", s(&format!("P{i}"))),
                one("Fn::GetAtt", seq(vec![s(&format!("B{i}")), s("Arn")])),
            ]
        })
        .collect());
    let Value::Array(values) = t.resolve_node(&refs).unwrap() else {
        panic!("a list resolves to a list");
    };
    assert_eq!(values.len(), 2 * N);
    assert_eq!(values[2 * 777], "v777");
    assert_eq!(values[2 * 777 + 1], "arn:aws:s3:::b777");
    assert_eq!(t.resource_type("B99998"), Some("AWS::S3::Bucket"));
    let policies = t.role_policies("Role").unwrap();
    assert_eq!(
        policies.policies[0].document["Statement"]["Resource"],
        "arn:aws:s3:::v99999/arn:aws:s3:::b99999"
    );
}

#[test]
fn find_in_map_and_conditions_find_their_entries_by_index() {
    let mappings = one(
        "M",
        map((0..N)
            .map(|i| (format!("K{i}"), one("V", s(&format!("v{i}")))))
            .collect()),
    );
    let conditions = (0..N)
        .map(|i| {
            (
                format!("C{i}"),
                one("Fn::Equals", seq(vec![s(&format!("{i}")), s("7")])),
            )
        })
        .collect();
    let t = template(map(vec![
        ("Mappings".to_string(), mappings),
        ("Conditions".to_string(), map(conditions)),
        ("Resources".to_string(), one("Role", role())),
    ]));
    let lookups = seq((0..N)
        .map(|i| {
            one(
                "Fn::If",
                seq(vec![
                    s(&format!("C{i}")),
                    one(
                        "Fn::FindInMap",
                        seq(vec![s("M"), s(&format!("K{i}")), s("V")]),
                    ),
                    s("-"),
                ]),
            )
        })
        .collect());
    let Value::Array(values) = t.resolve_node(&lookups).unwrap() else {
        panic!("a list resolves to a list");
    };
    assert_eq!(values.len(), N);
    assert_eq!(values[7], "v7");
    assert_eq!(values[8], "-");
}

/// Conditions `C0 .. C{n-1}`, each the `And` of the next twice, the last `true`.
fn doubling_chain(n: usize) -> Node {
    let mut conditions: Vec<(String, Node)> = (0..n - 1)
        .map(|i| {
            let next = one("Condition", s(&format!("C{}", i + 1)));
            (
                format!("C{i}"),
                one("Fn::And", seq(vec![next.clone(), next])),
            )
        })
        .collect();
    let null = Node {
        kind: Kind::Null,
        loc: at(1),
    };
    conditions.push((
        format!("C{}", n - 1),
        one("Fn::Equals", seq(vec![null.clone(), null])),
    ));
    map(conditions)
}

/// The role, created when `condition` holds.
fn role_if(condition: &str) -> Node {
    let mut role = role();
    if let Kind::Map(m) = &mut role.kind {
        m.push("Condition".to_string(), s(condition));
    }
    role
}

#[test]
fn each_condition_is_evaluated_once() {
    // 60 levels, each using the next twice: 2^60 evaluations without reuse (refused by
    // the byte budget only after tens of seconds, for a template that is valid).
    let role = role_if("C0");
    let t = template(map(vec![
        ("Conditions".to_string(), doubling_chain(60)),
        ("Resources".to_string(), one("Role", role.clone())),
    ]));
    assert_eq!(t.created(&role), Ok(true));
    // Reuse keeps the depth rule: through 10 more levels, the 60-level chain is too deep.
    let mut conditions = doubling_chain(60);
    if let Kind::Map(m) = &mut conditions.kind {
        for i in 0..10 {
            m.push(format!("D{i}"), one("Condition", s(&format!("D{}", i + 1))));
        }
        m.push("D10".to_string(), one("Condition", s("C0")));
        m.push(
            "Top".to_string(),
            one(
                "Fn::And",
                seq(vec![one("Condition", s("C0")), one("Condition", s("D0"))]),
            ),
        );
    }
    let role = role_if("Top");
    let t = template(map(vec![
        ("Conditions".to_string(), conditions),
        ("Resources".to_string(), one("Role", role.clone())),
    ]));
    assert_eq!(
        t.created(&role).unwrap_err().to_string(),
        "t.yml:1:1: conditions refer to each other more than 64 levels deep"
    );
}

#[test]
fn a_value_missing_at_many_places_is_listed_once() {
    let missing: Vec<Missing> = (0..N)
        .map(|i| Missing {
            name: "Stage".to_string(),
            loc: at(N - i),
            what: "template parameter",
        })
        .collect();
    let message = missing_message(&missing, "as NAME=VALUE");
    let (head, places) = message.split_once(", used at ").unwrap();
    assert_eq!(
        head,
        "1 value(s) the template needs are not given; supply each as NAME=VALUE:\n  Stage (template parameter)"
    );
    assert!(places.starts_with("t.yml:1:1, t.yml:2:1, t.yml:3:1,"));
    assert_eq!(places.matches("t.yml").count(), N);
}

fn serverless_cfn(doc: &Node) -> Result<Node, super::TemplateError> {
    let here = Path::new(".");
    serverless::cloudformation(doc, &Root::discover(here), here, &Params::default())
}

#[test]
fn serverless_self_references_and_merged_sections_use_the_index() {
    // 95,000 `custom` values, each used once (about the most `MAX_NODES` allows), and 1,000 `resources:` parts merged.
    const M: usize = 95_000;
    let custom = map((0..M)
        .map(|i| (format!("v{i}"), s(&format!("x{i}"))))
        .collect());
    let refs = seq((0..M)
        .map(|i| s(&format!("a-${{self:custom.v{i}}}")))
        .collect());
    let mut parts: Vec<Node> = (0..1_000)
        .map(|i| one("Resources", one(&format!("R{i}"), one("Type", s("T")))))
        .collect();
    parts.push(one("Resources", one("Role", one("Properties", refs))));
    let doc = map(vec![
        ("service".to_string(), s("s")),
        ("custom".to_string(), custom),
        ("resources".to_string(), seq(parts)),
    ]);
    let cfn = serverless_cfn(&doc).unwrap();
    let resources = cfn.get("Resources").unwrap();
    assert_eq!(resources.as_map().unwrap().len(), 1_001);
    let values = resources
        .get("Role")
        .and_then(|r| r.get("Properties"))
        .and_then(Node::as_seq)
        .unwrap();
    assert_eq!(values[12_345].as_str(), Some("a-x12345"));
    // A resource defined twice is still refused.
    let twice = seq(vec![
        one("Resources", one("R7", one("Type", s("T")))),
        one(
            "Resources",
            map((0..100)
                .map(|i| (format!("R{i}"), one("Type", s("T"))))
                .collect()),
        ),
    ]);
    let doc = map(vec![
        ("service".to_string(), s("s")),
        ("resources".to_string(), twice),
    ]);
    let e = serverless_cfn(&doc).unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.yml:1:1: Resources defines \"R7\" twice (first at t.yml:1:1)"
    );
}

/// Copies of nodes that hold no text (nested empty lists) count against the expansion
/// budget: 10,000 `Fn::ForEach` copies of a list nested 150 levels deep hold about as
/// many nodes as 1.5 million resources, from 1.5 KB of template.
#[test]
fn copies_of_empty_nested_lists_are_budgeted() {
    let values: Vec<String> = (0..100).map(|i| format!("v{i}")).collect();
    let values = values.join(", ");
    let deep = format!("{}{}", "[".repeat(150), "]".repeat(150));
    let text = format!(
        "Transform: AWS::LanguageExtensions\nResources:\n  Fn::ForEach::A:\n    - a\n    - [{values}]\n    - Fn::ForEach::B:\n        - b\n        - [{values}]\n        - 'Q${{a}}${{b}}': {{Type: AWS::SQS::Queue, Properties: {{Tags: {deep}}}}}\n"
    );
    let file: Arc<str> = Arc::from("t.yml");
    let doc = super::node::parse(&file, &text).unwrap();
    let err = super::foreach::expand(doc, &Params::default(), "us-east-1", false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("a value is repeated too many times"), "{err}");
    // A node counts as much as it takes in memory, roughly, besides its text.
    assert_eq!(node_bytes(&seq(vec![seq(vec![])])), 2 * super::NODE_COST);
    assert_eq!(node_bytes(&one("ab", s("xyz"))), 2 * super::NODE_COST + 5);
}

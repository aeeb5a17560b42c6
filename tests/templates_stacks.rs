//! Nested stacks, CDK cloud assemblies (also Amplify Gen 2's and SST v2's) and Amplify
//! Gen 1, through the built binary: the notes app's decisions through the Cognito flow,
//! roles named by construct path, qualified or short id, `--param` short and qualified
//! names, the Amplify note, `prove isolation` verdicts, and the inputs that are refused.

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_policy-sim"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Text without whitespace or the renderer's frame: a message wrapped to the terminal's
/// width compares with the message.
fn squeezed(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '│' | '×' | '·'))
        .collect()
}

/// The error output holds `message` (wrapping aside); exit 2.
fn refused(o: &Output, message: &str) {
    assert_eq!(o.status.code(), Some(2), "{}", stdout(o));
    assert!(
        squeezed(&stderr(o)).contains(&squeezed(message)),
        "expected {message:?} in:\n{}",
        stderr(o)
    );
}

fn decision(o: &Output) -> String {
    stdout(o)
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("Decision: ")
        .to_string()
}

const CDK: &str = "fixtures/templates/cdk-notes/cdk.out";
const POOL_ID: &str = "IdentityPool=us-east-1:11111111-2222-3333-4444-555555555555";
const ME: &str = "us-east-1:7f3a9c2e-4b1d-4e8a-9c6f-2d5b8e1a0c3f";
const OTHER: &str = "us-east-1:c41d8e07-92ab-4f36-b5e2-8a1f6d3c9b70";

fn cdk_check(extra: &[&str], action: &str, resource: &str) -> Output {
    let mut args = vec![
        "check",
        "--template",
        CDK,
        "--param",
        POOL_ID,
        "--param",
        "AuthRole900B840B.Arn=arn:aws:iam::123456789012:role/NotesStack-AuthRole",
        "--param",
        "NotesApi2FFCBC92=a1b2c3d4e5",
        "--context",
        "aws:SecureTransport=true",
        "--action",
        action,
        "--resource",
        resource,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn cdk_assembly_cognito_flow_decides_each_identity() {
    let own = format!("arn:aws:s3:::notes-app-uploads/private/{ME}/note.txt");
    let other = format!("arn:aws:s3:::notes-app-uploads/private/{OTHER}/note.txt");
    let o = cdk_check(&["--identity", ME], "s3:GetObject", &own);
    assert_eq!(decision(&o), "Allow", "{}{}", stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0));
    // The policy is created in the nested stack Storage for the role of NotesStack.
    assert!(stdout(&o).contains(
        "identity fixtures/templates/cdk-notes/cdk.out#NotesStack/AuthRole900B840B/NotesStack/StorageNestedStackStorageNestedStackResource9807768E/AuthUploadsEB72F3F7 Statement[0] (Allow)"
    ));
    assert!(stdout(&o).contains(
        "2. role-attachment: passed - NotesStack/RoleAttachment attaches role NotesStack/AuthRole900B840B for authenticated identities"
    ));
    let o = cdk_check(&["--identity", ME], "s3:GetObject", &other);
    assert_eq!(decision(&o), "ImplicitDeny");
    assert_eq!(o.status.code(), Some(1));
    // Guests read public/ through the guest role, and nothing private.
    let public = "arn:aws:s3:::notes-app-uploads/public/a.jpg";
    let o = cdk_check(
        &["--identity", ME, "--unauthenticated"],
        "s3:GetObject",
        public,
    );
    assert_eq!(decision(&o), "Allow", "{}", stdout(&o));
    assert!(stdout(&o).contains("attaches role NotesStack/GuestRole80ECD357 for unauthenticated"));
    let o = cdk_check(
        &["--identity", ME, "--unauthenticated"],
        "s3:GetObject",
        &own,
    );
    assert_eq!(decision(&o), "ImplicitDeny");
}

#[test]
fn cdk_role_by_construct_path_qualified_or_short_id() {
    let resource = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes";
    for role in [
        "NotesStack/AuthRole",
        "NotesStack/AuthRole/Resource",
        "NotesStack/AuthRole900B840B",
        "AuthRole900B840B",
    ] {
        let o = cdk_check(&["--role", role], "execute-api:Invoke", resource);
        assert_eq!(
            decision(&o),
            "Allow",
            "--role {role}: {}{}",
            stdout(&o),
            stderr(&o)
        );
    }
    // The worker role of the second stack reads the bucket of the first one's nested
    // stack: its Fn::ImportValue is that stack's output.
    let o = cdk_check(
        &["--role", "WorkerStack/WorkerRole"],
        "s3:GetObject",
        "arn:aws:s3:::notes-app-uploads/public/a.jpg",
    );
    assert_eq!(decision(&o), "Allow", "{}{}", stdout(&o), stderr(&o));
    let o = cdk_check(
        &["--role", "WorkerStack/WorkerRole"],
        "s3:GetObject",
        "arn:aws:s3:::notes-app-uploads/private/x",
    );
    assert_eq!(decision(&o), "ImplicitDeny");
    let o = cdk_check(
        &["--role", "NotesStack/AuthRol"],
        "s3:GetObject",
        "arn:aws:s3:::x/y",
    );
    refused(
        &o,
        "role \"NotesStack/AuthRol\" not found (did you mean \"NotesStack/AuthRole\"?)",
    );
}

#[test]
fn cdk_values_are_asked_by_qualified_name() {
    let o = run(&[
        "check",
        "--template",
        CDK,
        "--role",
        "NotesStack/AuthRole",
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::notes-app-uploads/public/a",
    ]);
    refused(
        &o,
        "NotesStack/NotesApi2FFCBC92 (Ref to a resource), used at fixtures/templates/cdk-notes/cdk.out/NotesStack.template.json:",
    );
}

#[test]
fn cdk_prove_isolation_holds_for_the_pool() {
    let o = run(&[
        "prove",
        "isolation",
        "--template",
        CDK,
        "--param",
        POOL_ID,
        "--param",
        "AuthRole900B840B.Arn=arn:aws:iam::123456789012:role/NotesStack-AuthRole",
        "--param",
        "NotesApi2FFCBC92=a1b2c3d4e5",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("Role NotesStack/AuthRole900B840B (authenticated, NotesStack/RoleAttachment Roles.authenticated): holds"));
}

const AMPLIFY: &str = "fixtures/templates/amplify-gen1-notes/amplify/backend/awscloudformation/build/root-cloudformation-stack.json";
const BUCKET: &str = "notes-app-uploads123456-dev";
const AMPLIFY_NOTE: &str = "note: UpdateRolesWithIDPFunctionOutputs (Custom::LambdaCallout, the Amplify CLI's UpdateRolesWithIDPFunction) is modelled, not run: at deploy time it replaces the trust policies of AuthRole and UnauthRole with one that lets cognito-identity.amazonaws.com assume them (sts:AssumeRoleWithWebIdentity) for the identity pool's tokens (cognito-identity.amazonaws.com:aud is its idpId), with amr authenticated for AuthRole and unauthenticated for UnauthRole; the trust policies written in the template are not used\n";

fn amplify_params() -> Vec<String> {
    [
        POOL_ID.to_string(),
        format!("S3Bucket={BUCKET}"),
        "notesapi=a1b2c3d4e5".to_string(),
        "AWS::StackName=amplify-notesapp-dev-123456".to_string(),
    ]
    .into_iter()
    .flat_map(|p| ["--param".to_string(), p])
    .collect()
}

fn amplify_check(extra: &[&str], action: &str, resource: &str) -> Output {
    let mut args: Vec<String> = ["check", "--template", AMPLIFY, "--context"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push("aws:SecureTransport=true".to_string());
    args.extend(amplify_params());
    args.extend(["--action", action, "--resource", resource].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&args)
}

#[test]
fn amplify_gen1_flow_through_the_modelled_trust_rewrite() {
    let own = format!("arn:aws:s3:::{BUCKET}/private/{ME}/a.txt");
    let o = amplify_check(&["--identity", ME], "s3:PutObject", &own);
    assert_eq!(decision(&o), "Allow", "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stderr(&o), AMPLIFY_NOTE);
    let out = stdout(&o);
    assert!(out.contains("1. identity-pool: passed - identity pool authnotesauth/IdentityPool (us-east-1:11111111-2222-3333-4444-555555555555) issues credentials to authenticated identities"), "{out}");
    assert!(out.contains("2. role-attachment: passed - authnotesauth/IdentityPoolRoleMap attaches role AuthRole for authenticated identities"));
    assert!(out.contains("3. trust-policy: passed - the trust policy of AuthRole allows sts:AssumeRoleWithWebIdentity for this token"));
    // The storage stack's policy, attached by name (Roles: [!Ref authRoleName]) to the
    // root's role.
    assert!(out.contains("#AuthRole/storagenotesstorage/S3AuthPrivatePolicy Statement[0] (Allow)"));
    let other = format!("arn:aws:s3:::{BUCKET}/private/{OTHER}/a.txt");
    let o = amplify_check(&["--identity", ME], "s3:GetObject", &other);
    assert_eq!(decision(&o), "ImplicitDeny");
    // Guests: put/get in public/, never delete.
    let public = format!("arn:aws:s3:::{BUCKET}/public/a.txt");
    let o = amplify_check(
        &["--identity", ME, "--unauthenticated"],
        "s3:PutObject",
        &public,
    );
    assert_eq!(decision(&o), "Allow", "{}", stdout(&o));
    assert!(stdout(&o).contains("attaches role UnauthRole for unauthenticated identities"));
    let o = amplify_check(
        &["--identity", ME, "--unauthenticated"],
        "s3:DeleteObject",
        &public,
    );
    assert_eq!(decision(&o), "ImplicitDeny");
    // The API stack's managed policy, attached to the root's role by name.
    let o = amplify_check(
        &["--role", "AuthRole"],
        "execute-api:Invoke",
        "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/dev/GET/notes",
    );
    assert_eq!(decision(&o), "Allow", "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn amplify_gen1_bucket_name_uses_the_nested_stack_name() {
    // The bucket's name is built from the storage stack's own name (AWS::StackName in
    // the nested stack), given here qualified; the bucket policy then names that bucket.
    let args = [
        "check",
        "--template",
        AMPLIFY,
        "--identity",
        ME,
        "--param",
        POOL_ID,
        "--param",
        "storagenotesstorage/S3Bucket=notes-app-uploads123456-dev",
        "--param",
        "notesapi=a1b2c3d4e5",
        "--param",
        "storagenotesstorage/AWS::StackName=amplify-notesapp-dev-123456-storagenotesstorage-1ABC2DEF3GHI",
        "--context",
        "aws:SecureTransport=false",
        "--action",
        "s3:GetObject",
        "--resource",
    ];
    let own = format!("arn:aws:s3:::{BUCKET}/private/{ME}/a.txt");
    let mut with = args.to_vec();
    with.push(&own);
    let o = run(&with);
    // The nested stack's name makes the bucket name, so the bucket policy applies.
    assert_eq!(decision(&o), "ExplicitDeny", "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains(
            "S3BucketPolicy/PolicyDocument Statement[0] (Sid DenyInsecureTransport, Deny)"
        )
    );
}

#[test]
fn amplify_gen1_prove_isolation_verdicts() {
    let mut args: Vec<String> = ["prove", "isolation", "--template", AMPLIFY]
        .map(String::from)
        .to_vec();
    args.extend(amplify_params());
    let o = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    // Protected files are readable by every identity: violated, as designed.
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("Role AuthRole (authenticated, authnotesauth/IdentityPoolRoleMap Roles.authenticated): violated"));
    let area = format!("arn:aws:s3:::{BUCKET}/protected/${{cognito-identity.amazonaws.com:sub}}/*");
    args.extend(["--write-area".to_string(), area]);
    let o = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("Role UnauthRole (unauthenticated, authnotesauth/IdentityPoolRoleMap Roles.unauthenticated): holds"));
}

const NESTED: &str = "fixtures/templates/nested/ambiguous/root.yml";
const BOTH: [&str; 6] = [
    "--param",
    "One/Bucket.Arn=arn:aws:s3:::one",
    "--param",
    "Two/Bucket.Arn=arn:aws:s3:::two",
    "--param",
    "Queue.Arn=arn:aws:sqs:us-east-1:123456789012:q",
];

fn nested(extra: &[&str], action: &str, resource: &str) -> Output {
    let mut args = vec![
        "check",
        "--template",
        NESTED,
        "--role",
        "AppRole",
        "--action",
        action,
        "--resource",
        resource,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn nested_params_short_qualified_and_ambiguous() {
    // Queue.Arn is short for One/Queue.Arn; a parameter the parent passes (Stage) and a
    // child default (Prefix) make the path; the parent's ${One.Outputs.QueueArn} is the
    // child's output.
    let o = nested(&BOTH, "s3:GetObject", "arn:aws:s3:::one/one/prod/a");
    assert_eq!(decision(&o), "Allow", "{}{}", stdout(&o), stderr(&o));
    let o = nested(
        &BOTH,
        "sqs:SendMessage",
        "arn:aws:sqs:us-east-1:123456789012:q",
    );
    assert_eq!(decision(&o), "Allow", "{}{}", stdout(&o), stderr(&o));
    // Two's Deny, created while Stage is prod, not when its stack's Condition is false.
    let o = nested(&BOTH, "s3:DeleteObject", "arn:aws:s3:::two/a");
    assert_eq!(decision(&o), "ExplicitDeny");
    let mut dev = BOTH.to_vec();
    dev.extend(["--param", "Stage=dev"]);
    let o = nested(&dev, "s3:DeleteObject", "arn:aws:s3:::two/a");
    assert_eq!(decision(&o), "ImplicitDeny");
    let o = nested(&dev, "s3:GetObject", "arn:aws:s3:::one/one/dev/a");
    assert_eq!(decision(&o), "Allow");
    // A child's parameter default, overridden by its short name.
    let mut prefix = BOTH.to_vec();
    prefix.extend(["--param", "Prefix=two"]);
    let o = nested(&prefix, "s3:GetObject", "arn:aws:s3:::one/two/prod/a");
    assert_eq!(decision(&o), "Allow");
    // Bucket is in both children.
    let o = nested(
        &["--param", "Bucket.Arn=arn:aws:s3:::one"],
        "s3:GetObject",
        "arn:aws:s3:::one/one/prod/a",
    );
    refused(
        &o,
        "fixtures/templates/nested/ambiguous/root.yml:2:1: parameter \"Bucket.Arn\" is ambiguous: Bucket names each of [One/Bucket, Two/Bucket]; give the qualified name",
    );
    // Missing values are named qualified.
    let o = nested(&[], "s3:GetObject", "arn:aws:s3:::one/one/prod/a");
    refused(
        &o,
        "error: 3 value(s) the template needs are not given; supply each with --param NAME=VALUE:\n  One/Bucket.Arn (Fn::GetAtt), used at fixtures/templates/nested/ambiguous/one.yml:18:23\n  One/Queue.Arn (Fn::GetAtt), used at fixtures/templates/nested/ambiguous/one.yml:21:12\n  Two/Bucket.Arn (Fn::GetAtt), used at fixtures/templates/nested/ambiguous/two.yml:15:35",
    );
    // A misspelt short name is told.
    let mut typo = BOTH.to_vec();
    typo.extend(["--param", "Prefx=two"]);
    let o = nested(&typo, "s3:GetObject", "arn:aws:s3:::one/one/prod/a");
    refused(
        &o,
        "error: fixtures/templates/nested/ambiguous/root.yml: --param Prefx is never used, but the template asks for Prefix: misspelt? (without it, Prefix keeps its default)",
    );
}

#[test]
fn unreadable_nested_stack_is_refused_with_the_reason_until_given() {
    let base = [
        "check",
        "--template",
        "fixtures/templates/nested/unread/root.yml",
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::data/a",
    ];
    refused(
        &run(&base),
        "fixtures/templates/nested/unread/root.yml:7:5: Storage (AWS::CloudFormation::Stack) is a nested stack whose template was not read: its TemplateURL \"https://s3.amazonaws.com/some-deployment-bucket/templates/storage-template.json\" is not a local file, and no file \"storage-template.json\" is beside fixtures/templates/nested/unread; give its template file with --param Storage.TemplateURL=FILE: it could attach policies to role AppRole that would not be checked",
    );
    let mut given = base.to_vec();
    given.extend([
        "--param",
        "Storage.TemplateURL=fixtures/templates/nested/unread/elsewhere.yml",
    ]);
    let o = run(&given);
    assert_eq!(decision(&o), "Allow", "{}{}", stdout(&o), stderr(&o));
    // A template outside the project root is never read.
    let mut outside = base.to_vec();
    outside.extend(["--param", "Storage.TemplateURL=/etc/passwd"]);
    refused(
        &run(&outside),
        "fixtures/templates/nested/unread/root.yml:7:5: nested stack Storage: /etc/passwd is outside the project root",
    );
    given.extend(["--param", "Storage.TemplateURL=no/such.yml"]);
    refused(&run(&given), "--param Storage.TemplateURL is given twice");
}

#[test]
fn other_custom_resource_and_cycles_are_refused() {
    refused(
        &run(&[
            "check",
            "--template",
            "fixtures/templates/nested/custom/root.yml",
            "--role",
            "AuthRole",
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::data/a",
        ]),
        "fixtures/templates/nested/custom/root.yml:20:5: UpdateRolesWithIDPFunctionOutputs (Custom::LambdaCallout) is a custom resource, whose effect policy-sim cannot know: it could attach policies to role AuthRole that would not be checked",
    );
    refused(
        &run(&[
            "check",
            "--template",
            "fixtures/templates/nested/cycle/root.yml",
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::data/a",
        ]),
        "fixtures/templates/nested/cycle/child.yml:3:5: nested stack Child/Back reads fixtures/templates/nested/cycle/root.yml, which is already being read: the stacks nest in a cycle (fixtures/templates/nested/cycle/root.yml -> fixtures/templates/nested/cycle/child.yml -> fixtures/templates/nested/cycle/root.yml)",
    );
}

#[test]
fn a_directory_without_manifest_is_refused() {
    refused(
        &run(&[
            "check",
            "--template",
            "fixtures/templates/nested/cycle",
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::data/a",
        ]),
        "fixtures/templates/nested/cycle: is a directory without manifest.json: a directory is read as a CDK cloud assembly (cdk.out, SST v2's .sst/dist, Amplify Gen 2's .amplify/artifacts/cdk.out)",
    );
}

#[test]
fn lint_names_a_cdk_policy_by_its_construct_path() {
    // The fixture's assembly with one statement made too broad: `s3:*` on every resource.
    let dir = root().join("target/stacks-tests/lint-cdk.out");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let from = root().join("fixtures/templates/cdk-notes/cdk.out");
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    let nested = dir.join("NotesStackStorageD8D2B150.nested.template.json");
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&nested).unwrap()).unwrap();
    let statement = &mut doc["Resources"]["AuthUploadsEB72F3F7"]["Properties"]["PolicyDocument"]["Statement"]
        [0];
    assert!(
        statement.is_object(),
        "the statement to change is in the fixture"
    );
    *statement = serde_json::json!({"Effect": "Allow", "Action": "s3:*", "Resource": "*"});
    let broad = serde_json::to_string_pretty(&doc).unwrap();
    std::fs::write(&nested, broad).unwrap();
    let o = run(&[
        "lint",
        "--template",
        "target/stacks-tests/lint-cdk.out",
        "--role",
        "NotesStack/AuthRole",
        "--param",
        "AuthRole900B840B.Arn=arn:aws:iam::123456789012:role/NotesStack-AuthRole",
        "--param",
        "NotesApi2FFCBC92=a1b2c3d4e5",
    ]);
    let out = stdout(&o);
    assert!(
        out.contains(
            "target/stacks-tests/lint-cdk.out/NotesStackStorageD8D2B150.nested.template.json:"
        ) && out.contains("NotesStack/Storage/AuthUploads: Statement[0]"),
        "{out}{}",
        stderr(&o)
    );
}

// Amplify Gen 2: the cloud assembly `ampx sandbox` writes to .amplify/artifacts/cdk.out,
// synthesized from fixtures/templates/amplify-gen2-notes/app (see its README).
const GEN2: &str = "fixtures/templates/amplify-gen2-notes/.amplify/artifacts/cdk.out";
const GEN2_BUCKET: &str = "notes-bucket-abc123";
const GEN2_AUTH_ROLE: &str =
    "amplify-notesapp-dev-sandbox-b6709107a4/auth/amplifyAuth/authenticatedUserRole";

fn gen2_args(args: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    for p in [
        format!("notesBucket12B17BEE={GEN2_BUCKET}"),
        format!("notesBucket12B17BEE.Arn=arn:aws:s3:::{GEN2_BUCKET}"),
        "CustomS3AutoDeleteObjectsCustomResourceProviderRole3B1BD092.Arn=arn:aws:iam::123456789012:role/autodelete".to_string(),
        "amplifyAuthIdentityPool3FDE84CC=us-east-1:11111111-2222-3333-4444-555555555555".to_string(),
    ] {
        out.extend(["--param".to_string(), p]);
    }
    out
}

fn run_owned(args: &[String]) -> Output {
    run(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn amplify_gen2_values_are_asked_by_qualified_name() {
    let o = run(&["prove", "isolation", "--template", GEN2]);
    refused(
        &o,
        "error: 3 value(s) the template needs are not given; supply each with --param NAME=VALUE:",
    );
    assert!(stderr(&o).contains("  storage0EC3F24A/notesBucket12B17BEE (Ref to a resource), used at fixtures/templates/amplify-gen2-notes/.amplify/artifacts/cdk.out/amplifynotesappdevsandboxb6709107a4storage92A5862F.nested.template.json:61:15"), "{}", stderr(&o));
}

#[test]
fn amplify_gen2_flow_decides_each_level() {
    let check = |extra: &[&str], action: &str, resource: String| {
        let mut args = gen2_args(&[
            "check",
            "--template",
            GEN2,
            "--context",
            "aws:SecureTransport=true",
            "--action",
            action,
        ]);
        args.extend(["--resource".to_string(), resource]);
        args.extend(extra.iter().map(|s| s.to_string()));
        run_owned(&args)
    };
    let o = check(
        &["--identity", ME],
        "s3:PutObject",
        format!("arn:aws:s3:::{GEN2_BUCKET}/private/{ME}/a.txt"),
    );
    assert_eq!(decision(&o), "Allow", "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("2. role-attachment: passed - auth179371D7/amplifyAuthIdentityPoolRoleAttachment045F17C8 attaches role auth179371D7/amplifyAuthauthenticatedUserRoleD8DA3689 for authenticated identities"), "{out}");
    // defineStorage's policy is in the storage stack, attached to the auth stack's role
    // through a parameter the root stack passes.
    assert!(out.contains("#auth179371D7/amplifyAuthauthenticatedUserRoleD8DA3689/storage0EC3F24A/amplifynotesappdevsandboxb6709107a4storageAccess36B8992C3 Statement[2] (Allow)"), "{out}");
    // The token-based role mapping Amplify writes is not simulated, and says so.
    assert!(stderr(&o).contains("has RoleMappings (token or rule based role choice); they are not simulated: the pool's default authenticated role is used"));
    // Another identity's protected files: readable, not writable.
    let theirs = format!("arn:aws:s3:::{GEN2_BUCKET}/protected/{OTHER}/a.txt");
    let o = check(&["--identity", ME], "s3:GetObject", theirs.clone());
    assert_eq!(decision(&o), "Allow", "{}", stdout(&o));
    let o = check(&["--identity", ME], "s3:PutObject", theirs);
    assert_eq!(decision(&o), "ImplicitDeny", "{}", stdout(&o));
    assert_eq!(o.status.code(), Some(1));
    // Guests read public/ and write nothing.
    let public = format!("arn:aws:s3:::{GEN2_BUCKET}/public/a.txt");
    let guest = ["--identity", ME, "--unauthenticated"];
    let o = check(&guest, "s3:GetObject", public.clone());
    assert_eq!(decision(&o), "Allow", "{}", stdout(&o));
    let o = check(&guest, "s3:PutObject", public);
    assert_eq!(decision(&o), "ImplicitDeny", "{}", stdout(&o));
}

#[test]
fn amplify_gen2_prove_isolation_verdicts() {
    let area =
        format!("arn:aws:s3:::{GEN2_BUCKET}/protected/${{cognito-identity.amazonaws.com:sub}}/*");
    // The role by construct path: protected/ as a private area is violated (every
    // signed-in identity reads it, as designed); as a protected area it holds.
    let role = gen2_args(&[
        "prove",
        "isolation",
        "--template",
        GEN2,
        "--role",
        GEN2_AUTH_ROLE,
    ]);
    let o = run_owned(&role);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).starts_with("Verdict: violated\n"));
    assert!(stdout(&o).contains(&format!("--write-area {area}")));
    let mut protected = role.clone();
    protected.extend(["--write-area".to_string(), area.clone()]);
    let o = run_owned(&protected);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).starts_with("Verdict: holds\n"));
    // The whole pool: both roles hold with the protected area, but Amplify's role mapping
    // of Type Token may choose a role of a user pool group, and the template has none.
    let mut pool = gen2_args(&["prove", "isolation", "--template", GEN2]);
    let o = run_owned(&pool);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    pool.extend(["--write-area".to_string(), area]);
    let o = run_owned(&pool);
    assert_eq!(o.status.code(), Some(3), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Role auth179371D7/amplifyAuthauthenticatedUserRoleD8DA3689 (authenticated, auth179371D7/amplifyAuthIdentityPoolRoleAttachment045F17C8 Roles.authenticated): holds\n"), "{out}");
    assert!(out.contains("Role auth179371D7/amplifyAuthunauthenticatedUserRole2B524D9E (unauthenticated, auth179371D7/amplifyAuthIdentityPoolRoleAttachment045F17C8 Roles.unauthenticated): holds (no area of its own)\n"), "{out}");
    assert!(out.contains("Role RoleMappings UserPoolWebClientRoleMapping (mapped, auth179371D7/amplifyAuthIdentityPoolRoleAttachment045F17C8 RoleMappings UserPoolWebClientRoleMapping (Type Token)): unknown\n"), "{out}");
}

// SST v2: the cloud assembly `sst build` writes to .sst/dist (fixtures/templates/sst2-notes).
// SST turns CDK's path metadata off: construct paths come from the manifest alone.
const SST: &str = "fixtures/templates/sst2-notes/.sst/dist";
const SST_BUCKET: &str = "dev-notes-app-uploads";

fn sst_args(args: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    for p in [
        format!("UploadsBucketC4B27CC7={SST_BUCKET}"),
        format!("UploadsBucketC4B27CC7.Arn=arn:aws:s3:::{SST_BUCKET}"),
    ] {
        out.extend(["--param".to_string(), p]);
    }
    out
}

#[test]
fn sst2_prove_isolation_holds_and_roles_by_construct_path() {
    let o = run_owned(&sst_args(&["prove", "isolation", "--template", SST]));
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("Role AuthIdentityPoolAuthRoleD14DA003 (authenticated, AuthIdentityPoolRoleAttachmentB0D3DC72 Roles.authenticated): holds\n"));
    // attachPermissionsForAuthUsers writes the role's DefaultPolicy; the role is named by
    // its construct path from the manifest.
    let o = run_owned(&sst_args(&[
        "lint",
        "--template",
        SST,
        "--role",
        "dev-notes-app-Notes/Auth/IdentityPoolAuthRole",
    ]));
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("fixtures/templates/sst2-notes/.sst/dist/dev-notes-app-Notes.template.json:347:7: PS006 info: dev-notes-app-Notes/Auth/IdentityPoolAuthRole/DefaultPolicy: Statement[1]: s3:* grants every S3 action"), "{}", stdout(&o));
    let check = |identity: &str| {
        run_owned(&sst_args(&[
            "check",
            "--template",
            SST,
            "--identity",
            ME,
            "--context",
            "aws:SecureTransport=true",
            "--action",
            "s3:DeleteObject",
            "--resource",
            &format!("arn:aws:s3:::{SST_BUCKET}/private/{identity}/a.txt"),
        ]))
    };
    let o = check(ME);
    assert_eq!(decision(&o), "Allow", "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("#AuthIdentityPoolAuthRoleD14DA003/AuthIdentityPoolAuthRoleDefaultPolicy32D17CAC Statement[1] (Allow)"));
    let o = check(OTHER);
    assert_eq!(decision(&o), "ImplicitDeny", "{}", stdout(&o));
}

#[test]
fn several_roles_of_a_cdk_input_are_listed_by_construct_path() {
    let o = run(&["lint", "--template", "fixtures/templates/cdk-notes/cdk.out"]);
    assert_eq!(o.status.code(), Some(2));
    let err: String = stderr(&o)
        .lines()
        .filter_map(|l| {
            l.trim_start()
                .strip_prefix("× ")
                .or_else(|| l.trim_start().strip_prefix("│ "))
        })
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(
        err,
        "fixtures/templates/cdk-notes/cdk.out/manifest.json:1:1: the template has 4 roles; choose one with --role (NotesStack/AuthRole (NotesStack/ AuthRole900B840B), NotesStack/GuestRole (NotesStack/GuestRole80ECD357), NotesStack/NotesApi/CloudWatchRole (NotesStack/ NotesApiCloudWatchRoleB85AD1BE), WorkerStack/WorkerRole (WorkerStack/ WorkerRole8DD27D41))"
    );
}

/// Copy the directory `from` into `to`, recursively.
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn an_amplify_function_that_does_more_than_the_cli_s_is_refused() {
    // The Amplify fixture with one more line in UpdateRolesWithIDPFunction: it would
    // also attach AdministratorAccess to the auth role at deploy time.
    let dir = root().join("target/stacks-tests/amplify-more");
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&root().join("fixtures/templates/amplify-gen1-notes"), &dir);
    let root_stack =
        dir.join("amplify/backend/awscloudformation/build/root-cloudformation-stack.json");
    let text = std::fs::read_to_string(&root_stack).unwrap();
    let line = "\"    let idpId = event.ResourceProperties.idpId;\",";
    assert!(text.contains(line), "the line to follow is in the fixture");
    let more = text.replacen(
        line,
        &format!("{line}\n\"    new aws.IAM().attachRolePolicy({{RoleName: authRoleName, PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess'}}).promise();\","),
        1,
    );
    std::fs::write(&root_stack, more).unwrap();
    let rel = "target/stacks-tests/amplify-more/amplify/backend/awscloudformation/build/root-cloudformation-stack.json";
    let o = run(&["show", "--template", rel, "--role", "AuthRole"]);
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    let err: String = stderr(&o)
        .lines()
        .filter_map(|l| {
            l.trim_start()
                .strip_prefix("× ")
                .or_else(|| l.trim_start().strip_prefix("│ "))
        })
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        err.contains("UpdateRolesWithIDPFunction looks like the Amplify CLI's, but its code (whitespace and quotes aside) is not a version policy-sim knows"),
        "{err}"
    );
    // The fixture itself is modelled (its code is the CLI's).
    let o = run(&[
        "show",
        "--template",
        AMPLIFY,
        "--role",
        "AuthRole",
        "--trust",
        "--param",
        "IdentityPool=us-east-1:11111111-2222-3333-4444-555555555555",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("cognito-identity.amazonaws.com:amr"));
}

//! The CI files that cannot run here are checked as far as a file can be: `action.yml` and
//! `.github/workflows/release.yml` follow SchemaStore's schemas (vendored in `tests/schemas/`,
//! see its SOURCE), a broken copy of each is rejected, the archives the release workflow
//! publishes are the ones the action downloads, no `run:` script of either interpolates an
//! expression (`${{ ... }}`: script injection), and the pre-commit hooks run policy-sim.

use std::collections::BTreeSet;
use std::path::PathBuf;

use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::{Map, Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A YAML file (one document) as JSON, scalars with the types YAML 1.2 gives them.
fn yaml(path: &str) -> Value {
    let docs = Yaml::load_from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(docs.len(), 1, "{path}: one YAML document");
    to_json(&docs[0], path)
}

fn to_json(node: &Yaml, path: &str) -> Value {
    match node {
        Yaml::Value(Scalar::Null) => Value::Null,
        Yaml::Value(Scalar::Boolean(b)) => json!(b),
        Yaml::Value(Scalar::Integer(i)) => json!(i),
        Yaml::Value(Scalar::FloatingPoint(f)) => json!(f.into_inner()),
        Yaml::Value(Scalar::String(s)) => json!(s),
        Yaml::Sequence(items) => items.iter().map(|i| to_json(i, path)).collect(),
        Yaml::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let Yaml::Value(Scalar::String(key)) = k else {
                    panic!("{path}: a mapping key that is not a string: {k:?}");
                };
                let old = out.insert(key.to_string(), to_json(v, path));
                assert!(old.is_none(), "{path}: key {key} twice");
            }
            Value::Object(out)
        }
        other => panic!("{path}: a YAML node this test does not read: {other:?}"),
    }
}

fn validator(schema: &str) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&read(&format!("tests/schemas/{schema}"))).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn errors(validator: &jsonschema::Validator, value: &Value) -> Vec<String> {
    validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

const WORKFLOW: &str = ".github/workflows/release.yml";
const ACTION: &str = "action.yml";

#[test]
fn the_release_workflow_follows_the_workflow_schema() {
    let schema = validator("github-workflow.json");
    let workflow = yaml(WORKFLOW);
    assert_eq!(errors(&schema, &workflow), Vec::<String>::new());

    // A job without runs-on is rejected: the schema does catch a broken workflow.
    let mut broken = workflow.clone();
    broken["jobs"]["build"]
        .as_object_mut()
        .unwrap()
        .remove("runs-on")
        .expect("the build job has runs-on");
    assert!(
        !errors(&schema, &broken).is_empty(),
        "a job without runs-on"
    );
    // So is a step with both `run` and `uses`, and a trigger GitHub does not have.
    let mut broken = workflow.clone();
    broken["jobs"]["build"]["steps"][0]["run"] = json!("true");
    assert!(
        !errors(&schema, &broken).is_empty(),
        "a step with run and uses"
    );
    let mut broken = workflow;
    broken["on"] = json!({"tag": {"pattern": "v*"}});
    assert!(!errors(&schema, &broken).is_empty(), "an unknown trigger");
}

#[test]
fn the_action_follows_the_action_schema() {
    let schema = validator("github-action.json");
    let action = yaml(ACTION);
    assert_eq!(errors(&schema, &action), Vec::<String>::new());

    // A composite action's run step needs its shell; an action needs runs.
    let mut broken = action.clone();
    let last = broken["runs"]["steps"].as_array_mut().unwrap().last_mut();
    last.unwrap().as_object_mut().unwrap().remove("shell");
    assert!(
        !errors(&schema, &broken).is_empty(),
        "a run step without shell"
    );
    let mut broken = action;
    broken.as_object_mut().unwrap().remove("runs");
    assert!(
        !errors(&schema, &broken).is_empty(),
        "an action without runs"
    );
}

#[test]
fn the_action_has_the_documented_inputs() {
    let action = yaml(ACTION);
    let inputs = action["inputs"].as_object().unwrap();
    let names: Vec<&str> = inputs.keys().map(String::as_str).collect();
    assert_eq!(names, ["config", "sarif", "junit", "version", "repository"]);
    assert_eq!(inputs["config"]["default"], "policy-gate.yml");
    for name in names {
        assert_eq!(inputs[name]["required"], false, "{name}");
    }
    assert_eq!(action["runs"]["using"], "composite");
}

/// Every `run:` script of a workflow's or action's steps, with where it is.
fn scripts(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{at}.{k}");
                match (k.as_str(), v) {
                    ("run", Value::String(script)) => out.push((here, script.clone())),
                    _ => scripts(v, &here, out),
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                scripts(v, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn no_script_interpolates_an_expression() {
    for path in [ACTION, WORKFLOW] {
        let mut found = Vec::new();
        scripts(&yaml(path), "", &mut found);
        assert!(found.len() >= 4, "{path}: only {} scripts", found.len());
        for (at, script) in found {
            assert!(
                !script.contains("${{"),
                "{path}{at}: an expression inside a script (pass it through env):\n{script}"
            );
        }
    }
    // The check itself: an expression in a script is found.
    let mut found = Vec::new();
    let step = json!({"steps": [{"run": "echo ${{ inputs.config }}", "shell": "bash"}]});
    scripts(&step, "", &mut found);
    assert!(found[0].1.contains("${{"));
}

/// The one text in `text` between `before` and `after`.
fn between<'a>(text: &'a str, before: &str, after: &str) -> &'a str {
    let start = text.find(before).unwrap_or_else(|| panic!("no {before:?}")) + before.len();
    let len = text[start..].find(after).unwrap();
    &text[start..start + len]
}

/// The archive name pattern of a script line `archive="..."`/`asset="..."`, with the
/// version and target written `{version}` and `{target}`.
fn name_pattern(script: &str, variable: &str, version: &str, target: &str) -> String {
    between(script, &format!("{variable}=\""), "\"")
        .replace(version, "{version}")
        .replace(target, "{target}")
}

fn step_script<'a>(steps: &'a Value, name: &str) -> &'a str {
    steps
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name:?}"))["run"]
        .as_str()
        .unwrap()
}

#[test]
fn the_action_downloads_what_the_release_publishes() {
    let workflow = yaml(WORKFLOW);
    let action = yaml(ACTION);

    // The release's targets, and the runner each is built on.
    let built: BTreeSet<String> = workflow["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["target"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        built,
        BTreeSet::from(
            [
                "x86_64-unknown-linux-musl",
                "aarch64-unknown-linux-musl",
                "x86_64-apple-darwin",
                "aarch64-apple-darwin",
            ]
            .map(String::from)
        )
    );

    // The targets the action picks for a runner: lines `OS/ARCH) target=TARGET ;;`.
    let download = step_script(
        &action["runs"]["steps"],
        "Download policy-sim from the release and check its SHA-256",
    );
    let picked: BTreeSet<String> = download
        .lines()
        .filter_map(|l| l.trim().split_once(") target="))
        .map(|(_, t)| t.trim_end_matches(" ;;").to_string())
        .collect();
    assert_eq!(picked, built, "the action picks exactly the built targets");
    for (runner, target) in [
        ("Linux/X64", "x86_64-unknown-linux-musl"),
        ("Linux/ARM64", "aarch64-unknown-linux-musl"),
        ("macOS/X64", "x86_64-apple-darwin"),
        ("macOS/ARM64", "aarch64-apple-darwin"),
    ] {
        assert!(
            download.contains(&format!("{runner}) target={target} ;;")),
            "{runner} -> {target}"
        );
    }

    // The archive's name, and the checksum file's.
    let package = step_script(&workflow["jobs"]["build"]["steps"], "Package");
    let published = name_pattern(package, "archive", "${VERSION}", "${TARGET}");
    let downloaded = name_pattern(download, "asset", "${VERSION}", "${target}");
    assert_eq!(published, "policy-sim-{version}-{target}.tar.gz");
    assert_eq!(downloaded, published);
    // The workflow's VERSION is the tag, the action's the version input (a tag).
    let package_env = &workflow["jobs"]["build"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Package")
        .unwrap()["env"];
    assert_eq!(package_env["VERSION"], "${{ github.ref_name }}");
    assert_eq!(package_env["TARGET"], "${{ matrix.target }}");
    assert_eq!(
        action["runs"]["steps"][0]["env"]["VERSION"],
        "${{ inputs.version }}"
    );

    let checksums = step_script(&workflow["jobs"]["publish"]["steps"], "Checksums");
    assert!(checksums.contains("sha256sum policy-sim-*.tar.gz > SHA256SUMS"));
    assert!(download.contains("sums=\"SHA256SUMS\""));
    let publish = step_script(&workflow["jobs"]["publish"]["steps"], "Publish the release");
    assert!(publish.contains("dist/policy-sim-*.tar.gz dist/SHA256SUMS"));
    // The archive holds the binary at its top, where the action extracts it from.
    assert!(package.contains("-C \"$staging\" policy-sim "));
    assert!(download.contains("tar -xzf \"$asset\" -C \"$RUNNER_TEMP/policy-sim/bin\" policy-sim"));

    // The release is made on a version tag.
    assert_eq!(workflow["on"]["push"]["tags"], json!(["v*"]));
}

#[test]
fn the_source_build_is_cached_on_the_lock_file_and_the_runner() {
    let action = yaml(ACTION);
    let steps = action["runs"]["steps"].as_array().unwrap();
    let cache = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/cache@"))
        })
        .expect("a cache step");
    let key = cache["with"]["key"].as_str().unwrap();
    assert!(key.contains("${{ runner.os }}"), "{key}");
    assert!(key.contains("${{ steps.lock.outputs.hash }}"), "{key}");
    let lock = step_script(
        &action["runs"]["steps"],
        "Hash the action's Cargo.lock (the build cache's key)",
    );
    assert!(lock.contains("\"$GITHUB_ACTION_PATH/Cargo.lock\""));
    let build = step_script(
        &action["runs"]["steps"],
        "Build policy-sim from the action's source",
    );
    assert!(build.contains("cargo install --locked --path \"$GITHUB_ACTION_PATH\""));
}

#[test]
fn the_pre_commit_hook_runs_the_gate() {
    let hooks = yaml(".pre-commit-hooks.yaml");
    let hooks = hooks.as_array().unwrap();
    let ids: Vec<&str> = hooks.iter().map(|h| h["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["policy-sim-gate"]);
    let gate = &hooks[0];
    assert_eq!(gate["entry"], "policy-sim gate");
    assert_eq!(gate["language"], "rust");
    assert_eq!(gate["pass_filenames"], false);
    for key in gate.as_object().unwrap().keys() {
        assert!(
            [
                "id",
                "name",
                "description",
                "entry",
                "language",
                "pass_filenames",
                "always_run",
                "minimum_pre_commit_version",
            ]
            .contains(&key.as_str()),
            "a hook key pre-commit does not define: {key}"
        );
    }
}

/// The README's YAML block that contains `needle`, as JSON.
fn readme_yaml(needle: &str) -> Value {
    let text = read("README.md");
    let block = text
        .split("```yaml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .find(|b| b.contains(needle))
        .unwrap_or_else(|| panic!("README.md: no yaml block with {needle:?}"));
    let docs = Yaml::load_from_str(block).unwrap();
    to_json(&docs[0], "README.md")
}

#[test]
fn the_readme_job_uses_the_action_with_its_inputs() {
    let job = readme_yaml("uses: OWNER/policy-sim@");
    let schema = validator("github-workflow.json");
    assert_eq!(errors(&schema, &job), Vec::<String>::new());
    let action = yaml(ACTION);
    let steps = job["jobs"]["policy-gate"]["steps"].as_array().unwrap();
    let step = steps
        .iter()
        .find(|s| s["uses"] == "OWNER/policy-sim@v0.1.0")
        .unwrap();
    for input in step["with"].as_object().unwrap().keys() {
        assert!(action["inputs"].get(input).is_some(), "no input {input}");
    }
    // The SARIF the action writes is the one uploaded, even when the gate fails.
    let upload = steps
        .iter()
        .find(|s| s["uses"] == "github/codeql-action/upload-sarif@v3")
        .unwrap();
    assert_eq!(upload["with"]["sarif_file"], step["with"]["sarif"]);
    assert_eq!(upload["if"], "always()");

    let hooks = readme_yaml("id: policy-sim-gate");
    assert_eq!(hooks["repos"][0]["hooks"][0]["id"], "policy-sim-gate");
}

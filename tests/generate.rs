//! The synthetic CloudTrail generator (`policy_sim::logs::generate`), read back with the
//! mapping: every count it returns is what the mapping finds, counted independently.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use policy_sim::logs::UnmappedKind;
use policy_sim::logs::cloudtrail::{map_records, parse_log_file};
use policy_sim::logs::generate::{
    GenerateError, GenerateOptions, Generated, generate_cloudtrail, identity_ids,
};
use policy_sim::{Decision, PolicySet, load_policy_file};
use serde_json::Value;

const BUCKET_PRIVATE: &str = "arn:aws:s3:::notes-app-uploads/private/";
const SUB: &str = "cognito-identity.amazonaws.com:sub";

/// A fresh directory under the tests' target directory.
fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("generate-{name}"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    dir
}

fn options(seed: u64) -> GenerateOptions {
    GenerateOptions {
        span_seconds: 6 * 3_600,
        planted_every: 50,
        ..GenerateOptions::new(3_000, 25, seed)
    }
}

/// Every file under `dir`, relative, sorted by path.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Every record of every file, in file-name order, and the largest file's record count.
fn read_all(dir: &Path, files: &[PathBuf]) -> (Vec<Value>, usize) {
    let mut records = Vec::new();
    let mut largest = 0;
    for file in files {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let batch = parse_log_file(&file.display().to_string(), &bytes).unwrap();
        largest = largest.max(batch.len());
        records.extend(batch);
    }
    (records, largest)
}

#[test]
fn generated_logs_map_to_the_counts_returned() {
    let dir = out_dir("counts");
    let o = options(16);
    let g: Generated = generate_cloudtrail(&dir, &o).unwrap();

    // The delivery tree, in time order by name.
    let files = files_under(&dir);
    assert_eq!(files, g.files);
    let name = regex::Regex::new(
        r"^AWSLogs/123456789012/CloudTrail/us-east-1/(\d{4})/(\d\d)/(\d\d)/123456789012_CloudTrail_us-east-1_(\d{8})T\d{4}Z_[0-9A-Za-z]{16}\.json\.gz$",
    )
    .unwrap();
    for f in &files {
        let f = f.to_str().unwrap();
        let c = name.captures(f).unwrap_or_else(|| panic!("{f}"));
        assert_eq!(format!("{}{}{}", &c[1], &c[2], &c[3]), c[4], "{f}");
    }

    let (records, largest) = read_all(&dir, &files);
    assert_eq!(records.len() as u64, 3_000);
    assert_eq!(g.records, 3_000);
    assert!(largest as u64 <= o.records_per_file);
    // Times never go back, in file-name order.
    let times: Vec<&str> = records
        .iter()
        .map(|r| r["eventTime"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(times[0], "2026-11-01T00:00:00Z");

    // Each session's key is issued before any data event signs with it; the keys never
    // issued are exactly the no-identity events.
    let mut issued = HashSet::new();
    let mut unissued = 0;
    for r in &records {
        if r["eventName"] == "AssumeRoleWithWebIdentity" {
            let key = r["responseElements"]["credentials"]["accessKeyId"]
                .as_str()
                .unwrap();
            assert!(issued.insert(key.to_string()), "{key} issued twice");
        } else if let Some(key) = r["userIdentity"]["accessKeyId"].as_str()
            && !issued.contains(key)
        {
            unissued += 1;
        }
    }
    assert_eq!(issued.len() as u64, g.sessions);
    assert_eq!(unissued, g.unmapped.get(UnmappedKind::NoIdentity));
    // Listings and multi-object deletes carry the object entry by prefix that real
    // records have (and that the mapping passes over); other data events name the object.
    let mut by_prefix = 0;
    for r in &records {
        let name = r["eventName"].as_str().unwrap();
        if r["eventSource"] != "s3.amazonaws.com" {
            continue;
        }
        let objects: Vec<&serde_json::Value> = r["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "AWS::S3::Object")
            .collect();
        if matches!(name, "ListObjects" | "ListObjectsV2" | "DeleteObjects") {
            assert_eq!(objects.len(), 1, "{name}");
            assert_eq!(objects[0]["ARNPrefix"], "arn:aws:s3:::notes-app-uploads/");
            assert!(objects[0].get("ARN").is_none());
            by_prefix += 1;
        } else {
            assert!(objects.iter().all(|e| e["ARN"].is_string()), "{name}");
        }
    }
    assert!(by_prefix > 0);

    let mapped = map_records(&records);
    assert_eq!(mapped.index.len() as u64, g.sessions);
    assert_eq!(mapped.counts, g.unmapped);
    assert_eq!(
        g.unmapped.total() + g.mapped_records,
        g.records,
        "every record is either mapped or unmapped"
    );
    assert_eq!(mapped.mapped.len() as u64, g.mapped_records);
    let requests: u64 = mapped
        .mapped
        .iter()
        .map(|(_, m)| m.requests.len() as u64)
        .sum();
    assert_eq!(requests, g.requests);
    // Every kind planted shows up in a set this size.
    for kind in [
        UnmappedKind::OtherService,
        UnmappedKind::NoPrincipal,
        UnmappedKind::NoIdentity,
        UnmappedKind::UnknownOperation,
        UnmappedKind::NoResource,
    ] {
        assert!(g.unmapped.get(kind) > 0, "{kind}");
    }
    assert!(g.renewals > 0 && g.renewals < g.sessions);

    // Cross-identity requests, counted from the mapped requests: the identity the join
    // gave against the identity the object key names.
    let ids: HashSet<String> = identity_ids(o.seed, o.identities).into_iter().collect();
    let mut cross: BTreeMap<Option<String>, u64> = BTreeMap::new();
    let mut errors: BTreeMap<Option<String>, u64> = BTreeMap::new();
    let set = PolicySet::new(vec![
        load_policy_file(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/corrected-auth-role.json"),
        )
        .unwrap(),
    ]);
    let mut decisions: HashMap<(bool, Decision), u64> = HashMap::new();
    for (_, m) in &mapped.mapped {
        *errors.entry(m.error_code.clone()).or_insert(0) += 1;
        for r in &m.requests {
            let me = &r
                .context
                .get(SUB)
                .expect("every mapped request has its identity")[0];
            assert!(ids.contains(me), "{me}");
            let named = match r.resource.strip_prefix(BUCKET_PRIVATE) {
                Some(rest) => rest.split('/').next().unwrap().to_string(),
                // A listing: the identity is the prefix's.
                None => {
                    assert_eq!(r.resource, "arn:aws:s3:::notes-app-uploads");
                    let prefix = &r.context.get("s3:prefix").unwrap()[0];
                    prefix
                        .strip_prefix("private/")
                        .unwrap()
                        .trim_end_matches('/')
                        .to_string()
                }
            };
            assert!(ids.contains(&named), "{named}");
            let is_cross = named != *me;
            if is_cross {
                *cross.entry(m.error_code.clone()).or_insert(0) += 1;
            }
            let d = set.evaluate(r).unwrap().decision;
            *decisions.entry((is_cross, d)).or_insert(0) += 1;
        }
    }
    assert!(g.planted_leaks > 0 && g.planted_denied > 0);
    let mut expected = BTreeMap::new();
    expected.insert(None, g.planted_leaks);
    expected.insert(Some("AccessDenied".to_string()), g.planted_denied);
    assert_eq!(cross, expected);
    // The only other error is NoSuchKey on own objects.
    assert_eq!(
        errors.get(&Some("NoSuchKey".to_string())).copied(),
        Some(g.not_found)
    );
    assert_eq!(errors.len(), 3, "{errors:?}");
    // The shipped corrected role allows every own request and no cross-identity one.
    let planted = g.planted_leaks + g.planted_denied;
    let mut want = HashMap::new();
    want.insert((false, Decision::Allow), g.requests - planted);
    want.insert((true, Decision::ImplicitDeny), planted);
    assert_eq!(decisions, want);

    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let read = |dir: &Path, g: &Generated| -> Vec<Vec<u8>> {
        g.files
            .iter()
            .map(|f| std::fs::read(dir.join(f)).unwrap())
            .collect()
    };
    let (a, b, c) = (out_dir("seed-a"), out_dir("seed-b"), out_dir("seed-c"));
    let o = GenerateOptions {
        records_per_file: 400,
        ..options(5)
    };
    let ga = generate_cloudtrail(&a, &o).unwrap();
    let gb = generate_cloudtrail(&b, &o).unwrap();
    assert_eq!(ga, gb);
    assert_eq!(read(&a, &ga), read(&b, &gb));
    let gc = generate_cloudtrail(&c, &options(6)).unwrap();
    assert_ne!(ga.files, gc.files);
    assert_ne!(read(&a, &ga), read(&c, &gc));
    for d in [a, b, c] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn a_directory_that_holds_something_is_refused() {
    let dir = out_dir("not-empty");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("keep.txt"), "mine").unwrap();
    let e = generate_cloudtrail(&dir, &options(1)).unwrap_err();
    assert!(matches!(e, GenerateError::NotEmpty(_)), "{e}");
    assert!(e.to_string().ends_with("the output directory is not empty; give a new or empty directory (generated files are never mixed with others)"), "{e}");
    assert_eq!(files_under(&dir), vec![PathBuf::from("keep.txt")]);
    // An empty directory is fine; one identity plants no cross-identity access.
    std::fs::remove_file(dir.join("keep.txt")).unwrap();
    let g = generate_cloudtrail(
        &dir,
        &GenerateOptions {
            planted_every: 1,
            ..GenerateOptions::new(200, 1, 3)
        },
    )
    .unwrap();
    assert_eq!((g.planted_leaks, g.planted_denied), (0, 0));
    assert_eq!(g.records, 200);
    std::fs::remove_dir_all(&dir).unwrap();
}

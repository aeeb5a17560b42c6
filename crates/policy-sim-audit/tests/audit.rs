//! The audit end to end: the binary on hand-written CloudTrail records (shapes copied from
//! AWS's documented examples, `fixtures/logs/README.md`), and the decided table held to
//! the core library's own decision of every row.

use std::path::PathBuf;

use serde_json::Value;

mod common;
use common::{CORRECTED, audit, project};

const ALICE: &str = "us-east-1:aaaaaaaa-0000-0000-0000-000000000001";
const BOB: &str = "us-east-1:bbbbbbbb-0000-0000-0000-000000000002";

fn json(args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let out = audit(&all);
    let text = String::from_utf8(out.stdout).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{e}: {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), value)
}

/// `path` relative to the repository root, as the binary is given it.
fn relative(path: &std::path::Path) -> String {
    path.strip_prefix(project())
        .unwrap()
        .to_str()
        .unwrap()
        .to_string()
}

/// A scratch file holding `text`, by its path relative to the project.
fn scratch_text(name: &str, text: &str) -> String {
    let file = scratch(name);
    std::fs::write(&file, text).unwrap();
    relative(&file)
}

fn scratch(name: &str) -> PathBuf {
    let dir = project().join("target/scratch/audit-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn a_clean_log_passes_and_a_denied_attempt_is_no_finding() {
    let (code, r) = json(&["--policy", CORRECTED, "fixtures/audit/clean"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["verdict"], "pass");
    assert_eq!(r["inputs"]["records"], 6);
    assert_eq!(r["inputs"]["sessions"], 2);
    assert_eq!(
        r["unmapped"]["total"], 2,
        "the two AssumeRoleWithWebIdentity events"
    );
    assert_eq!(r["unmapped"]["relevant"], 0);
    let i = &r["isolation"];
    assert_eq!(i["denied_attempts"], 1, "{i:#}");
    assert_eq!(i["findings"], serde_json::json!([]));
    assert_eq!(
        i["areas"],
        serde_json::json!([
            "arn:aws:s3:::notes-app-uploads/private/${cognito-identity.amazonaws.com:sub}/*"
        ])
    );
}

#[test]
fn an_observed_cross_identity_access_fails_and_names_both_identities() {
    let (code, r) = json(&["--policy", CORRECTED, "fixtures/audit/leak"]);
    assert_eq!(code, 1);
    assert_eq!(r["verdict"], "fail");
    let findings = r["isolation"]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    assert_eq!(f["identity"], ALICE);
    assert_eq!(f["owner"], BOB);
    assert_eq!(f["touch"], "other");
    assert_eq!(f["action"], "s3:GetObject");
    assert_eq!(f["count"], 1);
    assert_eq!(f["first"]["source"], "fixtures/audit/leak/cloudtrail.json");
    // AWS authorized it, the policies given deny it: the report says so.
    assert_eq!(r["recorded"]["authorized_but_policies_deny"], 1);
    let text =
        String::from_utf8(audit(&["--policy", CORRECTED, "fixtures/audit/leak"]).stdout).unwrap();
    assert!(
        text.contains(&format!(
            "    {ALICE} -> the area of {BOB}: s3:GetObject x1 (first: fixtures/audit/leak/cloudtrail.json#"
        )),
        "{text}"
    );
    assert!(
        text.ends_with("Verdict: FAIL (1 cross-identity access(es))\n"),
        "{text}"
    );
}

#[test]
fn unmapped_events_leave_the_verdict_unknown() {
    let (code, r) = json(&[
        "--policy",
        CORRECTED,
        "fixtures/logs/notes-app-cloudtrail.json",
    ]);
    assert_eq!(code, 1);
    assert_eq!(r["verdict"], "unknown");
    assert_eq!(r["isolation"]["findings"], serde_json::json!([]));
    let kinds = &r["unmapped"]["by_kind"];
    assert_eq!(kinds["no-identity"], 1, "{kinds:#}");
    assert_eq!(kinds["no-resource"], 1);
    assert_eq!(kinds["unknown-operation"], 1);
    assert_eq!(kinds["no-principal"], 1);
    assert_eq!(kinds["other-service"], 3, "KMS and the two sessions");
    assert_eq!(r["unmapped"]["relevant"], 4);
}

#[test]
fn replay_reports_changed_decisions_of_the_recorded_requests() {
    let (code, r) = json(&[
        "--policy",
        CORRECTED,
        "--baseline",
        "policies/console-auth-role.json",
        "fixtures/audit/clean",
    ]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(r["verdict"], "fail");
    let replay = &r["replay"];
    // Under the tutorial's policy (objects at `${sub}*`, no `private/`) every private
    // object request was denied; the corrected policy allows the owners': alice's
    // GetObject and bob's PutObject and listing.
    assert_eq!(replay["newly_allowed"], 3, "{replay:#}");
    assert_eq!(replay["would_break"], 0);
    assert_eq!(
        replay["unchanged"], 1,
        "alice's read of bob's object: denied both times"
    );
    let changes: Vec<(&str, &str)> = replay["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["change"].as_str().unwrap(), c["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        changes,
        [
            ("newly-allowed", "s3:GetObject"),
            ("newly-allowed", "s3:ListBucket"),
            ("newly-allowed", "s3:PutObject")
        ]
    );
    // The same policies on both sides: nothing changes, and the run passes.
    let (code, r) = json(&[
        "--policy",
        CORRECTED,
        "--baseline",
        CORRECTED,
        "fixtures/audit/clean",
    ]);
    assert_eq!(code, 0);
    assert_eq!(r["replay"]["unchanged"], 4);
}

#[test]
fn sql_runs_over_the_decided_table() {
    let (code, r) = json(&[
        "--policy",
        CORRECTED,
        "--sql",
        "SELECT action, decision, count(*) AS n FROM decided GROUP BY action, decision ORDER BY action, decision",
        "fixtures/audit/clean",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        r["sql"],
        serde_json::json!([
            {"action": "s3:GetObject", "decision": "Allow", "n": 1},
            {"action": "s3:GetObject", "decision": "ImplicitDeny", "n": 1},
            {"action": "s3:ListBucket", "decision": "Allow", "n": 1},
            {"action": "s3:PutObject", "decision": "Allow", "n": 1}
        ])
    );
    let out = audit(&[
        "--policy",
        CORRECTED,
        "--sql",
        "SELECT nonsense FROM decided",
        "fixtures/audit/clean",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nonsense"), "{err}");
}

/// The decided table calls each function once a row: its plan holds one call of `decide`,
/// `decide_baseline` and `area_touch` (DataFusion's optimizer would copy a call into each
/// field read of its result, four decisions a row, if the fields were read with `[...]`).
#[test]
fn each_function_runs_once_a_row() {
    let (code, r) = json(&[
        "--policy",
        CORRECTED,
        "--baseline",
        CORRECTED,
        "--sql",
        "EXPLAIN SELECT * FROM decided",
        "fixtures/audit/clean",
    ]);
    assert_eq!(code, 0, "{r:#}");
    let physical = r["sql"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["plan_type"] == "physical_plan")
        .and_then(|row| row["plan"].as_str())
        .unwrap_or_else(|| panic!("no physical plan: {r:#}"));
    for call in ["decide(", "decide_baseline(", "area_touch("] {
        let calls = physical
            .match_indices(call)
            .filter(|(at, _)| {
                // Not the tail of a longer name.
                !physical[..*at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            })
            .count();
        assert_eq!(calls, 1, "{call}: {physical}");
    }
}

/// An executor's work directory must be a directory: anything else is refused before the
/// executor starts (exit 2), not when a job first writes there.
#[test]
fn an_executor_refuses_a_work_directory_that_is_not_one() {
    for dir in ["README.md", "target/scratch/audit-tests/no-such-dir"] {
        let out = audit(&[
            "executor",
            "--policy",
            CORRECTED,
            "--scheduler",
            "127.0.0.1:9",
            "--bind",
            "127.0.0.1:9",
            "--work-dir",
            dir,
        ]);
        assert_eq!(out.status.code(), Some(2), "{dir}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("error: --work-dir {dir}: not a directory (give one that exists)\n")
        );
    }
}

/// Every row of the decided table (written as JSON Lines) decided again by the core
/// library's single-request path: the engine's `decide` agrees with it.
#[test]
fn the_decided_table_agrees_with_the_library() {
    use policy_sim::eval::authorize::Policies;
    use policy_sim::request::lines::parse_request_line;
    let out = scratch("decided.jsonl");
    let result = audit(&[
        "--policy",
        CORRECTED,
        "--out",
        out.to_str().unwrap(),
        "fixtures/logs/notes-app-cloudtrail.json",
    ]);
    assert_eq!(result.status.code(), Some(1));
    let root = policy_sim::root::Root::new(&project()).unwrap();
    let loaded = policy_sim::load::load_files(&root, &[project().join(CORRECTED)]).unwrap();
    let policies = Policies::identity_only(loaded.set);
    let text = std::fs::read_to_string(&out).unwrap();
    let mut rows = 0;
    for line in text.lines() {
        let row: Value = serde_json::from_str(line).unwrap();
        let mut request = serde_json::Map::new();
        for key in ["identity", "principal", "action", "resource"] {
            if let Some(v) = row.get(key) {
                request.insert(key.to_string(), v.clone());
            }
        }
        if let Some(Value::String(c)) = row.get("context") {
            request.insert("context".to_string(), serde_json::from_str(c).unwrap());
        }
        let line = serde_json::to_string(&request).unwrap();
        let mut parsed = parse_request_line(&line, jiff::Timestamp::now()).unwrap();
        policies.prepare(&mut parsed.request).unwrap();
        let verdict = policies.authorize(&parsed.request).unwrap().verdict;
        assert_eq!(row["decision"], verdict.decision.as_str(), "{line}");
        rows += 1;
    }
    // The four S3 requests of alice and bob; the other records are unmapped.
    assert_eq!(rows, 4, "{text}");
}

#[test]
fn the_decided_parquet_reads_back_as_a_request_table() {
    let out = scratch("decided.parquet");
    let first = audit(&[
        "--policy",
        CORRECTED,
        "--out",
        out.to_str().unwrap(),
        "fixtures/audit/leak",
    ]);
    assert_eq!(first.status.code(), Some(1));
    let rel = relative(&out);
    let (code, again) = json(&["--policy", CORRECTED, &rel]);
    let (_, direct) = json(&["--policy", CORRECTED, "fixtures/audit/leak"]);
    assert_eq!(code, 1);
    // The same rows, the same recorded answers, the same findings.
    assert_eq!(
        again["isolation"]["findings"],
        direct["isolation"]["findings"]
    );
    assert_eq!(again["decisions"], direct["decisions"]);
    assert_eq!(again["recorded"], direct["recorded"]);
    assert_eq!(again["inputs"]["files"], serde_json::json!({"parquet": 1}));
    // The file's text columns are plain strings (`Utf8`), whatever the engine held them
    // as: any Parquet reader takes them.
    let written =
        datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            std::fs::File::open(&out).unwrap(),
        )
        .unwrap();
    let schema = written.schema();
    for name in [
        "source", "identity", "action", "resource", "context", "decision", "touch",
    ] {
        let field = schema.field_with_name(name).unwrap();
        assert_eq!(
            field.data_type(),
            &datafusion::arrow::datatypes::DataType::Utf8,
            "{name}"
        );
    }
}

/// Rewrite the Parquet table `from` into `to` with row groups of `group` rows and pages of
/// at most 64 rows, with or without the page index that lets a reader skip to its share.
fn rewrite_parquet(from: &std::path::Path, to: &std::path::Path, group: usize, page_index: bool) {
    use datafusion::arrow::array::RecordBatchReader;
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::arrow::arrow_reader::{
        ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
    };
    use datafusion::parquet::file::metadata::PageIndexPolicy;
    use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(from).unwrap())
        .unwrap()
        .with_batch_size(100)
        .build()
        .unwrap();
    let mut props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(group))
        .set_data_page_row_count_limit(64)
        .set_write_batch_size(64);
    if !page_index {
        props = props
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_offset_index_disabled(true);
    }
    let file = std::fs::File::create(to).unwrap();
    let mut writer = ArrowWriter::try_new(file, reader.schema(), Some(props.build())).unwrap();
    for batch in reader {
        writer.write(&batch.unwrap()).unwrap();
    }
    writer.close().unwrap();
    // The file is as meant: several row groups, the offset index there or not.
    let options = ArrowReaderOptions::new().with_offset_index_policy(PageIndexPolicy::Optional);
    let written = ParquetRecordBatchReaderBuilder::try_new_with_options(
        std::fs::File::open(to).unwrap(),
        options,
    )
    .unwrap();
    assert!(written.metadata().num_row_groups() > 3);
    assert_eq!(written.metadata().offset_index().is_some(), page_index);
}

/// A Parquet request table is read in shares, one a thread, each reader skipping to its
/// own rows: with one, two or three threads the same report, every row read once and
/// numbered by its place in the file (the table has no `record` column); a table without
/// a page index, read whole by one reader, gives it too.
#[test]
fn a_parquet_table_read_in_shares_reads_every_row_once() {
    let dir = scratch("shares");
    let _ = std::fs::remove_dir_all(&dir);
    let logs = dir.join("logs");
    let out = audit(&[
        "generate-cloudtrail",
        "--records",
        "3000",
        "--identities",
        "30",
        "--seed",
        "5",
        "--out",
        &relative(&logs),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let planted: Value = serde_json::from_slice(&out.stdout).unwrap();
    let decided = dir.join("decided.parquet");
    let query = "SELECT event_time, event_name, event_id, identity, principal, action, \
                 resource, context, recorded, error_code FROM decided";
    let out = audit(&[
        "--policy",
        CORRECTED,
        "--sql",
        query,
        "--out",
        decided.to_str().unwrap(),
        &relative(&logs),
    ]);
    assert!(decided.exists(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = dir.join("table.parquet");
    rewrite_parquet(&decided, &table, 300, true);
    let rel = relative(&table);
    let (code, one) = json(&["--policy", CORRECTED, "--threads", "1", &rel]);
    assert_eq!(code, 1);
    assert_eq!(one["inputs"]["rows"], planted["requests"], "{one:#}");
    assert_eq!(one["inputs"]["files"], serde_json::json!({"parquet": 1}));
    assert_eq!(
        one["isolation"]["finding_rows"], planted["planted_leaks"],
        "{:#}",
        one["isolation"]
    );
    for threads in ["2", "3"] {
        let (_, shared) = json(&["--policy", CORRECTED, "--threads", threads, &rel]);
        assert_eq!(shared, one, "{threads} threads");
    }
    // Read beside other kinds of input (here the logs it came from), the table is read
    // by the reader threads instead of where it is decided: its rows count once more.
    let twice = |n: &Value| serde_json::json!(n.as_u64().unwrap() * 2);
    for threads in ["1", "2", "3"] {
        let (_, both) = json(&[
            "--policy",
            CORRECTED,
            "--threads",
            threads,
            &rel,
            &relative(&logs),
        ]);
        assert_eq!(both["inputs"]["rows"], twice(&one["inputs"]["rows"]));
        assert_eq!(both["inputs"]["files"]["parquet"], 1, "{threads} threads");
        for (decision, n) in one["decisions"].as_object().unwrap() {
            assert_eq!(both["decisions"][decision], twice(n), "{decision}");
        }
        assert_eq!(
            both["isolation"]["finding_rows"],
            twice(&one["isolation"]["finding_rows"])
        );
    }
    rewrite_parquet(&decided, &table, 300, false);
    let (_, whole) = json(&["--policy", CORRECTED, "--threads", "2", &rel]);
    assert_eq!(whole, one);
    // The table's text columns in Arrow's other string types, or as untyped bytes, read
    // the same (the reader takes text as views where the file allows, else casts).
    use datafusion::arrow::datatypes::DataType;
    let text = DataType::Utf8;
    let dictionary = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    for retyped in [
        DataType::LargeUtf8,
        DataType::Utf8View,
        dictionary,
        DataType::Binary,
    ] {
        // (Under the same name: rows name their file.)
        retype_parquet(&decided, &table, &text, &retyped);
        for threads in ["1", "2"] {
            let (_, again) = json(&["--policy", CORRECTED, "--threads", threads, &rel]);
            assert_eq!(again, one, "{retyped} columns, {threads} threads");
        }
    }
}

/// Rewrite the Parquet table `from` into `to` with its `from_type` columns cast to
/// `to_type` (the file's schema says so: a reader takes them as that type).
fn retype_parquet(
    from: &std::path::Path,
    to: &std::path::Path,
    from_type: &datafusion::arrow::datatypes::DataType,
    to_type: &datafusion::arrow::datatypes::DataType,
) {
    use datafusion::arrow::array::RecordBatchReader;
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(from).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let fields: Vec<Field> = reader
        .schema()
        .fields()
        .iter()
        .map(|f| match f.data_type() == from_type {
            true => f.as_ref().clone().with_data_type(to_type.clone()),
            false => f.as_ref().clone(),
        })
        .collect();
    assert!(fields.iter().any(|f| f.data_type() == to_type));
    let schema = std::sync::Arc::new(Schema::new(fields));
    let file = std::fs::File::create(to).unwrap();
    let mut writer = ArrowWriter::try_new(file, std::sync::Arc::clone(&schema), None).unwrap();
    for batch in reader {
        let batch = batch.unwrap();
        let columns = batch
            .columns()
            .iter()
            .zip(schema.fields())
            .map(|(c, f)| datafusion::arrow::compute::cast(c, f.data_type()).unwrap())
            .collect();
        writer
            .write(&RecordBatch::try_new(std::sync::Arc::clone(&schema), columns).unwrap())
            .unwrap();
    }
    writer.close().unwrap();
}

/// A Parquet table whose untyped (`BINARY`) text column holds bytes that are not UTF-8 is
/// bad input naming the file and the column (exit 2), whichever share reads the row.
#[test]
fn a_parquet_column_of_bytes_that_are_not_text_is_bad_input() {
    use datafusion::arrow::array::{ArrayRef, BinaryArray};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::parquet::arrow::ArrowWriter;
    let table = scratch("not-text.parquet");
    let action: ArrayRef = std::sync::Arc::new(BinaryArray::from(vec![
        b"s3:GetObject".as_slice(),
        b"s3:Get\xffObject".as_slice(),
    ]));
    let resource: ArrayRef = std::sync::Arc::new(BinaryArray::from(vec![
        b"arn:aws:s3:::b/k".as_slice(),
        b"arn:aws:s3:::b/k".as_slice(),
    ]));
    let batch = RecordBatch::try_from_iter([("action", action), ("resource", resource)]).unwrap();
    let mut writer =
        ArrowWriter::try_new(std::fs::File::create(&table).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let rel = relative(&table);
    for threads in ["1", "2"] {
        let out = audit(&["--policy", CORRECTED, "--threads", threads, &rel]);
        assert_eq!(out.status.code(), Some(2), "{threads} threads");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&rel) && err.contains("column `action`"),
            "{err}"
        );
    }
}

/// A Parquet table whose offset index (where each page starts, which readers go by)
/// disagrees with its columns is bad input, with one thread as with several: here the
/// `action` and `resource` columns' indexes are swapped, so that each points to the
/// other's pages.
#[test]
fn a_parquet_table_whose_offset_index_points_elsewhere_is_bad_input_with_any_threads() {
    use datafusion::arrow::array::{ArrayRef, StringArray};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let table = scratch("swapped-index.parquet");
    let text = |v: &str| -> ArrayRef { std::sync::Arc::new(StringArray::from(vec![v; 3])) };
    // Plain pages (a dictionary would hide the swap) of texts of one length, after a column
    // that puts both pages past byte 64: both columns' indexes encode to as many bytes.
    let batch = RecordBatch::try_from_iter([
        ("event_id", text(&"e".repeat(40))),
        ("action", text("s3:GetObjectAcl")),
        ("resource", text("arn:aws:s3:::bb")),
    ])
    .unwrap();
    let props = datafusion::parquet::file::properties::WriterProperties::builder()
        .set_dictionary_enabled(false)
        .build();
    let mut writer = ArrowWriter::try_new(
        std::fs::File::create(&table).unwrap(),
        batch.schema(),
        Some(props),
    )
    .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let rel = relative(&table);
    let run = |threads: &str| {
        let out = audit(&[
            "--policy",
            CORRECTED,
            "--format",
            "json",
            "--threads",
            threads,
            &rel,
        ]);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let as_written = run("1");
    assert_eq!(as_written.0, Some(0), "{}", as_written.1);
    assert_eq!(run("2"), as_written);
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&table).unwrap()).unwrap();
    let range = |c: usize| {
        let chunk = reader.metadata().row_group(0).column(c);
        let at = usize::try_from(chunk.offset_index_offset().unwrap()).unwrap();
        let len = usize::try_from(chunk.offset_index_length().unwrap()).unwrap();
        at..at + len
    };
    let (first, second) = (range(1), range(2));
    assert_eq!(first.len(), second.len());
    let mut bytes = std::fs::read(&table).unwrap();
    let index = bytes[first.clone()].to_vec();
    bytes.copy_within(second.clone(), first.start);
    bytes[second].copy_from_slice(&index);
    std::fs::write(&table, bytes).unwrap();
    // The file is refused as damaged, by one reader as by two and three (before, one
    // reader read it as written, while several read other bytes or stopped on an error).
    for threads in ["1", "2", "3"] {
        let out = audit(&["--policy", CORRECTED, "--threads", threads, &rel]);
        assert_eq!(out.status.code(), Some(2), "{threads} threads: {out:?}");
        assert!(out.stdout.is_empty(), "{threads} threads: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.trim_end(),
            format!(
                "error: {rel}: Parquet: row group 0, column `action`: the offset index does not match the column chunk (a page outside its bytes, or pages or rows out of order): the file is damaged"
            ),
            "{threads} threads"
        );
    }
}

#[test]
fn inputs_of_no_known_kind_are_errors_naming_the_file() {
    let out = audit(&["--policy", CORRECTED, "policies/README.md"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("policies/README.md: not a CloudTrail log file, CloudTrail JSON Lines, request lines, Parquet, or an S3 server access log"),
        "{err}"
    );
    let out = audit(&["--policy", CORRECTED, "/etc/passwd"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("outside the project root"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn request_lines_are_decided_as_check_decides_them() {
    let rel = scratch_text(
        "requests.jsonl",
        &format!(
            concat!(
                r#"{{"id":1,"identity":"{a}","action":"s3:GetObject","resource":"arn:aws:s3:::notes-app-uploads/private/{a}/x"}}"#,
                "\n",
                r#"{{"id":2,"identity":"{a}","action":"s3:GetObject","resource":"arn:aws:s3:::notes-app-uploads/private/{b}/x"}}"#,
                "\n",
                r#"{{"id":3,"identity":"{a}","action":"s3:ListBucket","resource":"arn:aws:s3:::notes-app-uploads","context":{{"s3:prefix":"private/"}}}}"#,
                "\n"
            ),
            a = ALICE,
            b = BOB
        ),
    );
    let (code, r) = json(&["--policy", CORRECTED, &rel]);
    // Nothing recorded: the policies' own answers count. The corrected policy denies the
    // other identity's object and the listing of every private folder.
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["decisions"]["allow"], 1);
    assert_eq!(r["decisions"]["implicit_deny"], 2);
    assert_eq!(r["isolation"]["denied_attempts"], 2);
    let (code, r) = json(&[
        "--policy",
        "policies/console-auth-role.json",
        "--area",
        "arn:aws:s3:::notes-app-uploads/private/${cognito-identity.amazonaws.com:sub}/*",
        &rel,
    ]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["isolation"]["areas"].as_array().unwrap().len(), 1);
}

/// Generated logs: the planted cross-identity accesses are found exactly, the planted
/// denied attempts counted apart, the unmapped events by kind as the generator made them.
#[test]
fn generated_logs_give_back_what_was_planted() {
    let dir = scratch("generated");
    let _ = std::fs::remove_dir_all(&dir);
    let rel = relative(&dir);
    let out = audit(&[
        "generate-cloudtrail",
        "--records",
        "6000",
        "--identities",
        "40",
        "--seed",
        "11",
        "--out",
        &rel,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let planted: Value = serde_json::from_slice(&out.stdout).unwrap();
    let leaks = planted["planted_leaks"].as_u64().unwrap();
    assert!(leaks > 0, "{planted:#}");
    // The same seed again into a non-empty directory: refused, nothing overwritten.
    let again = audit(&[
        "generate-cloudtrail",
        "--records",
        "10",
        "--identities",
        "2",
        "--out",
        &rel,
    ]);
    assert_eq!(again.status.code(), Some(2));
    let (code, r) = json(&["--policy", CORRECTED, "--threads", "2", &rel]);
    assert_eq!(code, 1);
    assert_eq!(r["verdict"], "fail");
    assert_eq!(
        r["isolation"]["finding_rows"], leaks,
        "{:#}",
        r["isolation"]
    );
    let findings = r["isolation"]["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .all(|f| f["touch"] == "other" && f["owner"] != f["identity"])
    );
    assert_eq!(r["isolation"]["denied_attempts"], planted["planted_denied"]);
    assert_eq!(r["unmapped"]["by_kind"], planted["unmapped"]);
    assert_eq!(r["inputs"]["records"], planted["records"]);
    assert_eq!(r["inputs"]["rows"], planted["requests"]);
    assert_eq!(r["inputs"]["sessions"], planted["sessions"]);
    // One thread or two: the same report.
    let (_, one) = json(&["--policy", CORRECTED, "--threads", "1", &rel]);
    assert_eq!(one, r);
}

#[test]
fn access_logs_are_read_and_their_errors_name_the_line() {
    let (code, r) = json(&[
        "--policy",
        CORRECTED,
        "fixtures/logs/notes-app-s3-access.log",
    ]);
    // Access logs carry no access key: the Cognito session's request has no identity.
    assert_eq!(code, 1);
    assert_eq!(r["verdict"], "unknown");
    assert_eq!(
        r["inputs"]["files"],
        serde_json::json!({"s3-access-log": 1})
    );
    assert_eq!(r["inputs"]["records"], 8);
    assert_eq!(r["inputs"]["rows"], 3);
    assert_eq!(r["unmapped"]["by_kind"]["no-identity"], 1);
    let out = audit(&[
        "--policy",
        CORRECTED,
        "fixtures/logs/malformed-s3-access.log",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: fixtures/logs/malformed-s3-access.log:3: field 9: '\"' without a closing quote\n"
    );
}

#[test]
fn a_session_chained_from_a_cognito_session_is_never_decided_without_its_identity() {
    // Alice's Cognito session assumes another role (sts:AssumeRole) and reads bob's file
    // with the chained session, which carries no web identity federation. The chain and
    // the read are in a file read before the one that issues her session.
    for threads in ["1", "2"] {
        let (code, r) = json(&[
            "--policy",
            CORRECTED,
            "--threads",
            threads,
            "fixtures/audit/chained",
        ]);
        assert_eq!(code, 1, "{r}");
        assert_eq!(r["verdict"], "unknown");
        assert_eq!(
            r["unmapped"]["by_kind"],
            serde_json::json!({"no-identity": 1, "other-service": 3})
        );
        let examples = r["unmapped"]["examples"].as_array().unwrap();
        let no_identity = examples
            .iter()
            .find(|e| e["kind"] == "no-identity")
            .unwrap();
        assert_eq!(
            no_identity["reason"],
            "a session (ASIACHAINEDEXAMPLE) of arn:aws:iam::123456789012:role/notes-app-chained, a role Cognito identities' sessions have or chain into (sts:AssumeRole), whose identity is not known"
        );
        assert_eq!(r["isolation"]["without_identity"], 0);
    }
    // No request was decided, but an S3 event was seen: the verdict says why, not that
    // nothing was observed.
    let text = String::from_utf8(audit(&["--policy", CORRECTED, "fixtures/audit/chained"]).stdout)
        .unwrap();
    assert!(
        text.ends_with("Verdict: UNKNOWN (1 S3 event(s) not mapped, isolation unknown for them)\n"),
        "{text}"
    );
}

/// An access log line: `requester` reads bob's object, AWS authorized it.
fn access_line(requester: &str, minute: u32) -> String {
    format!(
        "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be notes-app-uploads [30/Nov/2026:12:{minute:02}:00 +0000] 198.51.100.7 {requester} 7B4A0FABBEXAMPLE{minute:02} REST.GET.OBJECT private/us-east-1%3Abbbbbbbb-0000-0000-0000-000000000002/notes.txt \"GET /notes-app-uploads/private/us-east-1%3Abbbbbbbb-0000-0000-0000-000000000002/notes.txt HTTP/1.1\" 200 - 5 5 4 3 \"-\" \"aws-sdk-js/2.1\" - - SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader notes-app-uploads.s3.us-east-1.amazonaws.com TLSV1.2 - - us-east-1\n"
    )
}

#[test]
fn access_log_role_sessions_need_their_role_named_as_no_identity_pools() {
    // A basic-flow app names its Cognito sessions itself (`web-identity`): in an access log
    // it looks like any role session. Alice's session reads bob's file; a backend reads it.
    const BACKEND: &str = "arn:aws:iam::123456789012:role/service-role/thumbnailer";
    let basic = "arn:aws:sts::123456789012:assumed-role/notes-app-auth-role/web-identity";
    let backend = "arn:aws:sts::123456789012:assumed-role/thumbnailer/resize-fn";
    let both = scratch_text(
        "role-sessions-s3-access.log",
        &(access_line(basic, 1) + &access_line(backend, 2)),
    );
    // Neither role is known to be other than an identity pool's: both are UNKNOWN, never a
    // PASS of requests decided without their identity.
    let (code, r) = json(&["--policy", CORRECTED, &both]);
    assert_eq!(code, 1);
    assert_eq!(r["verdict"], "unknown");
    assert_eq!(
        r["unmapped"]["by_kind"],
        serde_json::json!({"no-identity": 2})
    );
    assert_eq!(
        r["unmapped"]["examples"][0]["reason"],
        "a session of arn:aws:iam::123456789012:role/notes-app-auth-role, a role not known to be other than a Cognito identity pool's: access logs carry neither the access key nor the web identity that would tell"
    );
    assert_eq!(r["inputs"]["rows"], 0);
    // The backend's role named: its read is decided, without identity; the app's session
    // stays unknown.
    let (code, r) = json(&["--policy", CORRECTED, "--non-cognito-role", BACKEND, &both]);
    assert_eq!(code, 1);
    assert_eq!(r["verdict"], "unknown");
    assert_eq!(
        r["unmapped"]["by_kind"],
        serde_json::json!({"no-identity": 1})
    );
    assert_eq!(r["inputs"]["rows"], 1);
    assert_eq!(r["isolation"]["without_identity"], 1);
    assert_eq!(
        r["inputs"]["non_cognito_roles"],
        serde_json::json!([BACKEND])
    );
    // The backend alone: nothing left unjudged.
    let alone = scratch_text("backend-s3-access.log", &access_line(backend, 2));
    let out = audit(&["--policy", CORRECTED, "--non-cognito-role", BACKEND, &alone]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "access log sessions decided without identity, their roles named as no identity pool's: {BACKEND}\n"
        )),
        "{text}"
    );
    assert!(text.ends_with("Verdict: PASS\n"), "{text}");
    // Where no access log is read, the text does not mention the roles.
    let out = audit(&[
        "--policy",
        CORRECTED,
        "--non-cognito-role",
        BACKEND,
        "fixtures/audit/clean",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("access log sessions"), "{text}");
    // The role's path, as named, is the session's: a policy that denies the roles under
    // `service-role/` by aws:PrincipalArn denies this read (replay sees it break).
    let read_all = r#"{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::notes-app-uploads/*"}"#;
    let before = scratch_text("read-all.json", &format!("{read_all}]}}"));
    let after = scratch_text(
        "read-all-but-service-roles.json",
        &format!(
            r#"{read_all}, {{"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*",
            "Condition": {{"ArnLike": {{"aws:PrincipalArn": "arn:aws:iam::*:role/service-role/*"}}}}}}]}}"#
        ),
    );
    let (code, r) = json(&[
        "--policy",
        &after,
        "--baseline",
        &before,
        "--area",
        "arn:aws:s3:::notes-app-uploads/private/${cognito-identity.amazonaws.com:sub}/*",
        "--non-cognito-role",
        BACKEND,
        &alone,
    ]);
    assert_eq!(code, 1);
    assert_eq!(r["verdict"], "fail");
    assert_eq!(r["replay"]["would_break"], 1);
    // A value that is not a role ARN is bad input.
    let out = audit(&["--policy", CORRECTED, "--non-cognito-role", backend, &alone]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "error: --non-cognito-role: \"{backend}\" is not a role ARN: expected arn:aws:iam::ACCOUNT:role/NAME (with the role's path, if it has one)\n"
        )
    );
}

#[test]
fn without_isolation_areas_the_verdict_is_unknown() {
    // A policy that never names the identity: there is no area to check, so a clean log
    // cannot pass on isolation.
    let rel = scratch_text(
        "no-identity-policy.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::notes-app-uploads/*"}]}"#,
    );
    let (code, r) = json(&["--policy", &rel, "fixtures/audit/leak"]);
    assert_eq!(code, 1);
    assert_eq!(r["verdict"], "unknown");
    assert_eq!(r["isolation"]["areas"], serde_json::json!([]));
    let text = String::from_utf8(audit(&["--policy", &rel, "fixtures/audit/leak"]).stdout).unwrap();
    assert!(
        text.ends_with(
            "Verdict: UNKNOWN (no isolation areas to check: give --area or --write-area)\n"
        ),
        "{text}"
    );
    // With the area named, the leak is found.
    let (code, r) = json(&[
        "--policy",
        &rel,
        "--area",
        "arn:aws:s3:::notes-app-uploads/private/${cognito-identity.amazonaws.com:sub}/*",
        "fixtures/audit/leak",
    ]);
    assert_eq!(code, 1);
    assert_eq!(r["verdict"], "fail");
    assert_eq!(r["isolation"]["finding_rows"], 1);
}

#[test]
fn the_help_runs_its_first_example_on_the_repository_files() {
    let out = audit(&["--help"]);
    let help = String::from_utf8(out.stdout).unwrap();
    let examples = help
        .split("Examples:")
        .nth(1)
        .expect("the help has examples");
    let first = examples.lines().find(|l| !l.trim().is_empty()).unwrap();
    let args: Vec<&str> = first.split_whitespace().skip(1).collect();
    for arg in args.iter().filter(|a| a.contains('/')) {
        assert!(
            project().join(arg).exists(),
            "{arg} is not in the repository"
        );
    }
    let run = audit(&args);
    let text = String::from_utf8(run.stdout).unwrap();
    assert_eq!(run.status.code(), Some(1), "{text}");
    assert!(
        text.ends_with("Verdict: FAIL (1 cross-identity access(es))\n"),
        "{text}"
    );
}

#[test]
fn a_session_the_app_named_itself_is_no_identity_when_its_role_is_cognitos() {
    // The basic flow: the app names its sessions (`web-identity`, the JavaScript SDK v2's
    // default). A read of bob's file by such a session, its key issued in no log, comes
    // before (in file order) the sessions that show the role is the identity pool's.
    let (records, _) = clean_records_and_a_rival_session();
    let mut read = records
        .iter()
        .find(|r| r["eventName"] == "GetObject")
        .unwrap()
        .clone();
    let session = "arn:aws:sts::123456789012:assumed-role/notes-app-auth-role/web-identity";
    read["userIdentity"]["arn"] = Value::from(session);
    read["userIdentity"]["accessKeyId"] = Value::from("ASIAUNSEENEXAMPLE");
    // Nor does the record say the session is federated through Cognito.
    let context = read["userIdentity"]["sessionContext"]
        .as_object_mut()
        .unwrap();
    assert!(context.remove("webIdFederationData").is_some());
    read["requestParameters"]["key"] = Value::from(format!("private/{BOB}/notes.txt"));
    read["resources"] = serde_json::json!([]);
    let dir = scratch("named-session");
    let _ = std::fs::remove_dir_all(&dir);
    write_log(&dir, "a.json", &[read.to_string()]);
    let texts: Vec<String> = records.iter().map(Value::to_string).collect();
    write_log(&dir, "b.json", &texts);
    for threads in ["1", "2"] {
        let (code, r) = json(&["--policy", CORRECTED, "--threads", threads, &relative(&dir)]);
        assert_eq!(code, 1, "{r:#}");
        assert_eq!(r["verdict"], "unknown", "{r:#}");
        assert_eq!(r["unmapped"]["by_kind"]["no-identity"], 1, "{r:#}");
        assert_eq!(r["unmapped"]["relevant"], 1);
    }
}

#[test]
fn nothing_observed_is_unknown_not_a_pass() {
    // A trail without S3 data events: its sessions are read, but no request at all. A
    // clean verdict over no traffic would be a wrong "safe".
    let (records, _) = clean_records_and_a_rival_session();
    let sessions: Vec<String> = records
        .iter()
        .filter(|r| r["eventName"] == "AssumeRoleWithWebIdentity")
        .map(Value::to_string)
        .collect();
    assert_eq!(sessions.len(), 2);
    let dir = scratch("sessions-only");
    let _ = std::fs::remove_dir_all(&dir);
    write_log(&dir, "log.json", &sessions);
    let empty = scratch("no-records");
    let _ = std::fs::remove_dir_all(&empty);
    write_log(&empty, "log.json", &[]);
    for input in [&dir, &empty] {
        let rel = relative(input);
        let (code, r) = json(&["--policy", CORRECTED, &rel]);
        assert_eq!(code, 1, "{r:#}");
        assert_eq!(r["verdict"], "unknown");
        assert_eq!(r["inputs"]["rows"], 0);
        assert_eq!(
            r["unmapped"]["relevant"], 0,
            "no other reason to be unknown"
        );
        let out = audit(&["--policy", CORRECTED, &rel]);
        assert_eq!(out.status.code(), Some(1));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.ends_with(
                "Verdict: UNKNOWN (no request was read, so nothing was observed; a trail logs S3 data events only when they are turned on)\n"
            ),
            "{text}"
        );
    }
    // One data event of the same trail, and the verdict is a pass again.
    let get = records
        .iter()
        .find(|r| r["eventName"] == "GetObject")
        .unwrap()
        .to_string();
    write_log(&dir, "log.json", &[sessions, vec![get]].concat());
    let (code, r) = json(&["--policy", CORRECTED, &relative(&dir)]);
    assert_eq!((code, &r["verdict"]), (0, &Value::from("pass")), "{r:#}");
    assert_eq!(r["inputs"]["rows"], 1);
}

#[test]
fn the_identity_may_come_from_the_context_as_decide_reads_it() {
    let rel = scratch_text(
        "context-identity.jsonl",
        &(format!(
            r#"{{"action":"s3:GetObject","resource":"arn:aws:s3:::notes-app-uploads/private/{BOB}/x","context":{{"cognito-identity.amazonaws.com:sub":"{ALICE}"}}}}"#
        ) + "\n"),
    );
    // A policy that allows every object: the read of bob's object is allowed, and the
    // identity in the context makes it alice's.
    let open = scratch_text(
        "all-objects.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::notes-app-uploads/*"}]}"#,
    );
    let area = "arn:aws:s3:::notes-app-uploads/private/${cognito-identity.amazonaws.com:sub}/*";
    let (code, r) = json(&["--policy", &open, "--area", area, &rel]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(r["decisions"]["allow"], 1);
    let f = &r["isolation"]["findings"][0];
    assert_eq!(
        (f["identity"].as_str(), f["owner"].as_str()),
        (Some("-"), Some(BOB))
    );
}

/// A listing's `s3:prefix`, a string or an array of one string in the context, names
/// whose folder it lists.
#[test]
fn a_listing_reaches_the_folder_its_prefix_names() {
    let open = scratch_text(
        "list-bucket.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::notes-app-uploads"}]}"#,
    );
    let area = "arn:aws:s3:::notes-app-uploads/private/${cognito-identity.amazonaws.com:sub}/*";
    for prefix in [
        format!(r#""private/{BOB}/""#),
        format!(r#"["private/{BOB}/"]"#),
    ] {
        let rel = scratch_text(
            "listing.jsonl",
            &(format!(
                r#"{{"identity":"{ALICE}","action":"s3:ListBucket","resource":"arn:aws:s3:::notes-app-uploads","context":{{"s3:prefix":{prefix}}}}}"#
            ) + "\n"),
        );
        let (code, r) = json(&["--policy", &open, "--area", area, &rel]);
        assert_eq!(code, 1, "{prefix}: {r:#}");
        let f = &r["isolation"]["findings"][0];
        assert_eq!(
            (f["identity"].as_str(), f["owner"].as_str()),
            (Some(ALICE), Some(BOB)),
            "{prefix}"
        );
    }
}

/// A recorded access whose context `decide` cannot read (a `null` value) fails to be
/// decided, but the identity its context names still makes it a reach into another's
/// area: a finding, not an access without identity.
#[test]
fn an_unreadable_context_still_names_the_identity_of_a_recorded_access() {
    let lines = scratch_text(
        "unreadable-context.jsonl",
        &(format!(
            r#"{{"identity":"{ALICE}","action":"s3:GetObject","resource":"arn:aws:s3:::notes-app-uploads/private/{BOB}/x"}}"#
        ) + "\n"),
    );
    // A Parquet request table of that row, recorded, with the identity only in a context
    // that holds a null.
    let table = scratch("unreadable-context.parquet");
    let _ = std::fs::remove_file(&table);
    let query = format!(
        r#"SELECT action, resource, CAST(NULL AS VARCHAR) AS identity, '{{"cognito-identity.amazonaws.com:sub":"{ALICE}","aws:SourceIp":null}}' AS context, true AS recorded FROM decided"#
    );
    let out = audit(&[
        "--policy",
        CORRECTED,
        "--sql",
        &query,
        "--out",
        table.to_str().unwrap(),
        &lines,
    ]);
    assert!(table.exists(), "{}", String::from_utf8_lossy(&out.stderr));
    let area = "arn:aws:s3:::notes-app-uploads/private/${cognito-identity.amazonaws.com:sub}/*";
    let (code, r) = json(&["--policy", CORRECTED, "--area", area, &relative(&table)]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(r["decisions"]["error"], 1, "{r:#}");
    let f = &r["isolation"]["findings"][0];
    assert_eq!(
        (f["identity"].as_str(), f["owner"].as_str()),
        (Some("-"), Some(BOB)),
        "{r:#}"
    );
}

#[test]
fn sql_is_a_query_only_and_bad_request_lines_are_errors() {
    for statement in [
        "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc/passwd'",
        "COPY (SELECT * FROM decided) TO 'target/scratch/x.csv'",
        "SET datafusion.execution.batch_size = 1",
    ] {
        let out = audit(&[
            "--policy",
            CORRECTED,
            "--sql",
            statement,
            "fixtures/audit/clean",
        ]);
        assert_eq!(out.status.code(), Some(2), "{statement}");
        assert!(out.stdout.is_empty() || !String::from_utf8_lossy(&out.stdout).contains("passwd"));
    }
    let rel = scratch_text(
        "bad.jsonl",
        "{\"action\":\"s3:GetObject\",\"resource\":\"*\"}\n{\"action\":1}\n",
    );
    let out = audit(&["--policy", CORRECTED, &rel]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with(&format!("error: {rel}:2:")), "{err}");
}

#[test]
fn the_digest_is_of_the_policies_as_loaded() {
    use policy_sim::load::types::PolicyTypeFiles;
    use policy_sim_audit::policies::{PolicyInputs, load_inputs};
    let root = policy_sim::root::Root::new(&project()).unwrap();
    let a = project().join("policies/corrected-auth-role.json");
    let b = project().join("policies/console-auth-role.json");
    let load = |policies: Vec<PathBuf>, boundary: Option<PathBuf>| {
        let inputs = PolicyInputs {
            policies,
            types: PolicyTypeFiles {
                boundary,
                ..PolicyTypeFiles::default()
            },
            ..PolicyInputs::default()
        };
        load_inputs(&root, &inputs).unwrap().digest
    };
    // The same files in other roles decide differently: other digests.
    let two = load(vec![a.clone(), b.clone()], None);
    let bounded = load(vec![a.clone()], Some(b.clone()));
    assert_ne!(two, bounded);
    // The same policies, named again: the same digest.
    assert_eq!(two, load(vec![a.clone(), b.clone()], None));
    assert_ne!(two, load(vec![b, a], None));
}

/// The clean log's records, and alice's session record issuing her key to bob instead.
fn clean_records_and_a_rival_session() -> (Vec<Value>, Value) {
    let text =
        std::fs::read_to_string(project().join("fixtures/audit/clean/cloudtrail.json")).unwrap();
    let log: Value = serde_json::from_str(&text).unwrap();
    let records = log["Records"].as_array().unwrap().clone();
    let alice_session = records
        .iter()
        .find(|r| {
            r["eventName"] == "AssumeRoleWithWebIdentity"
                && r["responseElements"]["subjectFromWebIdentityToken"] == ALICE
        })
        .unwrap();
    let mut rival = alice_session.clone();
    rival["responseElements"]["subjectFromWebIdentityToken"] = Value::from(BOB);
    (records, rival)
}

/// No request of the report was decided as `identity`'s.
fn assert_no_request_of(report: &Value, identity: &str) {
    let rows = report["by_identity"].as_array().unwrap();
    assert!(
        rows.iter().all(|row| row["key"] != identity),
        "{identity}: {rows:#?}"
    );
}

/// Write `records` (JSON texts) as a CloudTrail log file under `dir`.
fn write_log(dir: &std::path::Path, name: &str, records: &[String]) {
    std::fs::create_dir_all(dir).unwrap();
    let text = format!("{{\"Records\":[{}]}}", records.join(","));
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn a_session_record_that_cannot_be_read_makes_its_key_a_conflict() {
    let (records, rival) = clean_records_and_a_rival_session();
    // The rival repeats a field: which session it issued cannot be told.
    let rival = serde_json::to_string(&rival).unwrap();
    let rival = rival.replacen('{', "{\"awsRegion\":\"us-east-1\",", 1);
    let dir = scratch("unreadable-session");
    let _ = std::fs::remove_dir_all(&dir);
    let mut texts: Vec<String> = records.iter().map(Value::to_string).collect();
    texts.push(rival);
    write_log(&dir, "log.json", &texts);
    let (code, r) = json(&["--policy", CORRECTED, &relative(&dir)]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(r["verdict"], "unknown");
    let kinds = &r["unmapped"]["by_kind"];
    assert_eq!(kinds["malformed"], 1, "{kinds:#}");
    assert!(
        kinds["identity-conflict"].as_u64().unwrap() >= 1,
        "alice's data events are not mapped to her: {kinds:#}"
    );
    assert_no_request_of(&r, ALICE);
}

#[test]
fn a_session_written_with_escapes_is_indexed_like_any_other() {
    let (records, rival) = clean_records_and_a_rival_session();
    let dir = scratch("escaped-session");
    let _ = std::fs::remove_dir_all(&dir);
    let texts: Vec<String> = records.iter().map(Value::to_string).collect();
    write_log(&dir, "a.json", &texts);
    // The rival alone in its own file, its event name written with an escape.
    let rival = serde_json::to_string(&rival).unwrap().replace(
        "AssumeRoleWithWebIdentity",
        "\\u0041ssumeRoleWithWebIdentity",
    );
    assert!(!rival.contains("AssumeRoleWithWebIdentity"));
    write_log(&dir, "b.json", &[rival]);
    let (code, r) = json(&["--policy", CORRECTED, &relative(&dir)]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(r["verdict"], "unknown");
    let kinds = &r["unmapped"]["by_kind"];
    assert!(
        kinds["identity-conflict"].as_u64().unwrap() >= 2,
        "the key was issued twice: the rival and alice's data events: {kinds:#}"
    );
    assert_no_request_of(&r, ALICE);
}

/// The parts of a report that do not name files: what every reading of the same records
/// must agree on.
fn answers(r: &Value) -> Value {
    serde_json::json!({
        "verdict": r["verdict"],
        "decisions": r["decisions"],
        "by_action": r["by_action"],
        "by_identity": r["by_identity"],
        "by_statement": r["by_statement"],
        "unused_statements": r["unused_statements"],
        "unmapped": r["unmapped"]["by_kind"],
        "records": r["inputs"]["records"],
        "rows": r["inputs"]["rows"],
        "sessions": r["inputs"]["sessions"],
        "own": r["isolation"]["own"],
        "finding_rows": r["isolation"]["finding_rows"],
    })
}

#[test]
fn sessions_recorded_in_a_later_file_are_joined_with_any_threads() {
    let (records, _) = clean_records_and_a_rival_session();
    let (issued, events): (Vec<&Value>, Vec<&Value>) = records
        .iter()
        .partition(|r| r["eventName"] == "AssumeRoleWithWebIdentity");
    let dir = scratch("later-sessions");
    let _ = std::fs::remove_dir_all(&dir);
    // The events first by name, each in a file of its own; the sessions last.
    for (i, e) in events.iter().enumerate() {
        write_log(&dir, &format!("a{i}.json"), &[e.to_string()]);
    }
    let issued: Vec<String> = issued.iter().map(|r| r.to_string()).collect();
    write_log(&dir, "z.json", &issued);
    let (code, whole) = json(&[
        "--policy",
        CORRECTED,
        "fixtures/audit/clean/cloudtrail.json",
    ]);
    assert_eq!(code, 0, "{whole:#}");
    let identities = whole["by_identity"].as_array().unwrap();
    assert!(
        [ALICE, BOB]
            .iter()
            .all(|who| identities.iter().any(|row| row["key"] == *who)),
        "{identities:#?}"
    );
    for threads in ["1", "2", "3"] {
        let (code, split) = json(&["--policy", CORRECTED, "--threads", threads, &relative(&dir)]);
        assert_eq!(code, 0, "{threads} threads: {split:#}");
        assert_eq!(answers(&split), answers(&whole), "{threads} threads");
    }
}

#[test]
fn a_key_issued_again_after_its_events_were_decided_is_a_conflict_with_any_threads() {
    let (mut records, rival) = clean_records_and_a_rival_session();
    // Sessions before their events: the first file is decided as soon as it is read.
    records.sort_by_key(|r| r["eventName"] != "AssumeRoleWithWebIdentity");
    let dir = scratch("rival-later");
    let _ = std::fs::remove_dir_all(&dir);
    let texts: Vec<String> = records.iter().map(Value::to_string).collect();
    write_log(&dir, "a.json", &texts);
    write_log(&dir, "b.json", &[rival.to_string()]);
    // The answers of the same records in one file, where the rival is known at once.
    let one = scratch("rival-one-file");
    let _ = std::fs::remove_dir_all(&one);
    let mut all = texts.clone();
    all.insert(0, rival.to_string());
    write_log(&one, "log.json", &all);
    let (_, expected) = json(&["--policy", CORRECTED, &relative(&one)]);
    for threads in ["1", "2", "3"] {
        let out = scratch(&format!("rival-later-{threads}.jsonl"));
        let (code, r) = json(&[
            "--policy",
            CORRECTED,
            "--threads",
            threads,
            "--out",
            &relative(&out),
            &relative(&dir),
        ]);
        assert_eq!(code, 1, "{threads} threads: {r:#}");
        assert_eq!(r["verdict"], "unknown");
        assert!(
            r["unmapped"]["by_kind"]["identity-conflict"]
                .as_u64()
                .unwrap()
                >= 2,
            "{threads} threads: the key was issued twice: {:#}",
            r["unmapped"]
        );
        assert_no_request_of(&r, ALICE);
        assert_eq!(answers(&r), answers(&expected), "{threads} threads");
        // The decided table written once: the rows of the run that counted.
        let written = std::fs::read_to_string(&out).unwrap();
        assert_eq!(
            written.lines().count() as u64,
            r["inputs"]["rows"].as_u64().unwrap(),
            "{threads} threads"
        );
        assert!(!written.contains(ALICE), "{threads} threads");
    }
}

//! Recorded traffic as `policy-sim-audit` reads it: CloudTrail log files and records, and
//! S3 server access log lines, through the core library's readers and mappings.
//!
//! The input is read three ways: as a delivered log file (`{"Records": [...]}`), as one
//! record's text, and line by line as an access log. Properties:
//! - a record read from its text ([`Record::parse`]) and from a parsed value
//!   ([`Record::from_value`]) maps the same whenever both read it (a value keeps only the
//!   last of a repeated member, which the text reader refuses instead);
//! - a record written back from its value reads and maps as the value does;
//! - a detached copy ([`Detach`]) maps as the record does, and mapping is deterministic;
//! - once a record's session is indexed, the index holds it;
//! - the records indexed in another order, or as merged halves, map the same;
//! - every mapped request is decided (or refused) by the shipped policies without panic,
//!   and an access log line that maps has a request for each of its requests;
//! - errors render, and an unmapped event always says why.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use policy_sim::PolicySet;
use policy_sim::lang::parse::parse_policy;
use policy_sim::lang::principal::Caller;
use policy_sim::logs::cloudtrail::record::Detach;
use policy_sim::logs::cloudtrail::{IdentityIndex, Record, map, parse_log_file};
use policy_sim::logs::{Mapped, Unmapped, UnmappedKind, s3_access};
use policy_sim_fuzz::render;
use serde_json::Value;

fn set() -> &'static PolicySet {
    static SET: OnceLock<PolicySet> = OnceLock::new();
    SET.get_or_init(|| {
        let text = include_bytes!("../../policies/corrected-auth-role.json");
        let policy =
            parse_policy("corrected-auth-role.json", text).expect("a shipped policy parses");
        PolicySet::new(vec![policy])
    })
}

/// Check what a mapping gave: its requests decide, an unmapped event says why.
fn check_mapped(mapped: &Result<Mapped, Unmapped>) {
    match mapped {
        Ok(m) => {
            assert!(!m.requests.is_empty(), "a mapped event with no request");
            for request in &m.requests {
                let first = set().evaluate(request).map_err(|e| e.to_string());
                let again = set().evaluate(request).map_err(|e| e.to_string());
                assert_eq!(
                    first, again,
                    "deciding a mapped request is not deterministic"
                );
            }
        }
        Err(u) => assert!(!u.reason.is_empty(), "an unmapped event without a reason"),
    }
}

/// Map `record` with `index`, and check a detached copy maps the same.
fn map_checked(record: &Record<'_>, index: &IdentityIndex) -> Result<Mapped, Unmapped> {
    let mapped = map(record, index);
    let copy = record.detach();
    let again = map(&copy, index);
    assert_eq!(mapped, again, "a detached copy maps otherwise");
    check_mapped(&mapped);
    mapped
}

/// Index `record`'s session (if it issues one) and check the index then holds it.
fn learn(index: &mut IdentityIndex, record: &Record<'_>) {
    if index.add(record).is_ok() {
        assert_eq!(
            index.holds(record),
            Ok(true),
            "an indexed session is not held"
        );
    }
}

fn log_file(data: &[u8]) {
    let records = match parse_log_file("fuzz.json", data) {
        Ok(records) => records,
        Err(e) => {
            render(&e);
            return;
        }
    };
    let mut index = IdentityIndex::new();
    for value in &records {
        if let Ok(record) = Record::from_value(value) {
            learn(&mut index, &record);
        }
    }
    // The same records indexed backwards, and as two halves merged: the same answers.
    let mut backwards = IdentityIndex::new();
    for value in records.iter().rev() {
        if let Ok(record) = Record::from_value(value) {
            let _ = backwards.add(&record);
        }
    }
    let (mut first, mut second) = (IdentityIndex::new(), IdentityIndex::new());
    for (n, value) in records.iter().enumerate() {
        if let Ok(record) = Record::from_value(value) {
            let half = if n % 2 == 0 { &mut first } else { &mut second };
            let _ = half.add(&record);
        }
    }
    second.merge(first);
    for value in &records {
        let Ok(record) = Record::from_value(value) else {
            continue;
        };
        let mapped = map_checked(&record, &index);
        assert_eq!(
            mapped,
            map(&record, &backwards),
            "indexing the records backwards answers otherwise"
        );
        assert_eq!(
            mapped,
            map(&record, &second),
            "indexing the records as merged halves answers otherwise"
        );
        // The same record written back as text: one member each, so the text reader
        // reads it too, and maps it the same.
        let text = serde_json::to_string(value).expect("a value writes");
        let read = Record::parse(&text).expect("a record written back reads");
        assert_eq!(
            mapped,
            map(&read, &index),
            "the text and the value of a record map otherwise: {text}"
        );
    }
}

fn one_record(text: &str) {
    let from_text = Record::parse(text);
    let value: Option<Value> = serde_json::from_str(text).ok();
    let from_value = value.as_ref().map(Record::from_value);
    let mut index = IdentityIndex::new();
    if let Ok(record) = &from_text {
        learn(&mut index, record);
    }
    match (&from_text, &from_value) {
        (Ok(a), Some(Ok(b))) => {
            let by_text = map_checked(a, &index);
            assert_eq!(
                by_text,
                map(b, &index),
                "a record's text and value map otherwise"
            );
        }
        // Read from the text only (a number past f64 in a member the mapping skips is
        // skipped, not converted): mapped all the same.
        (Ok(a), _) => {
            let _ = map_checked(a, &index);
        }
        _ => {}
    }
}

fn access_log(text: &str) {
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match s3_access::parse_line("fuzz.log", n + 1, line) {
            Ok(record) => {
                let none = s3_access::NonCognitoRoles::new();
                let mapped = s3_access::map_record(&record, &none);
                check_mapped(&mapped);
                assert_eq!(
                    mapped,
                    s3_access::map_record(&record, &none),
                    "mapping an access log line is not deterministic"
                );
                // A role session maps only once its role is named as no identity pool's,
                // and naming it changes nothing but that refusal.
                let role = record
                    .requester
                    .as_deref()
                    .and_then(|r| Caller::parse(r).ok())
                    .and_then(|c| c.role_arn().map(str::to_string));
                if let Some(role) = role {
                    assert!(mapped.is_err(), "a role session mapped with no role named");
                    let roles = s3_access::NonCognitoRoles::from_arns(&[role.as_str()])
                        .expect("a session's role ARN is a role ARN");
                    let with = s3_access::map_record(&record, &roles);
                    check_mapped(&with);
                    let unnamed = matches!(&mapped, Err(u)
                        if u.kind == UnmappedKind::NoIdentity && u.reason.starts_with("a session of "));
                    if !unnamed {
                        assert_eq!(mapped, with, "naming a role changed another refusal");
                    }
                    if let Ok(m) = &with {
                        for r in &m.requests {
                            let p = r.principal.as_ref().expect("a mapped line has a principal");
                            assert_eq!(
                                p.principal_arn(),
                                role,
                                "the named role is not the principal's"
                            );
                            assert_eq!(
                                r.context.get(policy_sim::lang::keys::PRINCIPAL_ARN),
                                Some(&[role.clone()][..]),
                                "the named role is not aws:PrincipalArn"
                            );
                        }
                    }
                }
            }
            Err(e) => {
                let text = render(&e);
                assert!(
                    text.contains(&format!("fuzz.log:{}: ", n + 1)),
                    "an access log error names another line: {text}"
                );
                // The audit stops at a file's first bad line; so does this.
                return;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    log_file(data);
    if let Ok(text) = std::str::from_utf8(data) {
        one_record(text);
        access_log(text);
    }
});

//! The same plan on Ballista: a scheduler and two executors (this crate's `scheduler` and
//! `executor` commands) on 127.0.0.1, and the report they give equal to the embedded
//! engine's on the same request table; an executor with other policies fails the query.
#![cfg(feature = "ballista")]

use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

mod common;
use common::{BIN, CORRECTED, audit, project};

/// A port free on 127.0.0.1 now (and the one after it).
fn free_port() -> u16 {
    loop {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

/// The processes of a cluster, stopped when dropped as a user stops them (SIGTERM; killed
/// when one has not stopped 10 s later), and the executors' work directories.
struct Cluster(Vec<Child>, Vec<std::path::PathBuf>);

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
        }
        for c in &mut self.0 {
            for _ in 0..100 {
                if matches!(c.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The files under `dir`, at any depth.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn spawn(args: &[&str]) -> Child {
    Command::new(BIN)
        .args(args)
        .current_dir(project())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A scheduler with `policy` and two executors with theirs, each with `extra` options.
fn cluster(policy: &str, executor_policies: [&str; 2], extra: &[&str]) -> (Cluster, String) {
    let scheduler = format!("127.0.0.1:{}", free_port());
    let mut args = vec!["scheduler", "--policy", policy, "--bind", &scheduler];
    args.extend(extra);
    let mut children = vec![spawn(&args)];
    let mut work_dirs = Vec::new();
    for p in executor_policies {
        let port = free_port();
        let bind = format!("127.0.0.1:{port}");
        let work = format!("target/scratch/ballista-tests/work-{port}");
        let _ = std::fs::remove_dir_all(project().join(&work));
        std::fs::create_dir_all(project().join(&work)).unwrap();
        let mut args = vec![
            "executor",
            "--policy",
            p,
            "--scheduler",
            &scheduler,
            "--bind",
            &bind,
            "--work-dir",
            &work,
        ];
        args.extend(extra);
        children.push(spawn(&args));
        work_dirs.push(project().join(work));
    }
    (
        Cluster(children, work_dirs),
        format!("ballista://{scheduler}"),
    )
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn ballista_gives_the_embedded_report() {
    let dir = project().join("target/scratch/ballista-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let table = dir.join("requests.parquet");
    // The request table: the decided table of hand-written CloudTrail records, as Parquet.
    let out = audit(&[
        "--policy",
        CORRECTED,
        "--out",
        table.to_str().unwrap(),
        "fixtures/logs/notes-app-cloudtrail.json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = table.to_str().unwrap();
    let baseline = "policies/console-auth-role.json";
    let embedded = audit(&[
        "--policy",
        CORRECTED,
        "--baseline",
        baseline,
        "--format",
        "json",
        table,
    ]);
    let (cluster, url) = cluster(CORRECTED, [CORRECTED, CORRECTED], &["--baseline", baseline]);
    // The executors register with the scheduler on their own: retry until the scheduler
    // answers (at most 30 s).
    let mut remote = None;
    let mut last = String::new();
    for _ in 0..30 {
        let out = audit(&[
            "--policy",
            CORRECTED,
            "--baseline",
            baseline,
            "--format",
            "json",
            "--engine",
            &url,
            table,
        ]);
        if !out.stdout.is_empty() {
            remote = Some(out);
            break;
        }
        last = String::from_utf8_lossy(&out.stderr).to_string();
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    let remote = remote.unwrap_or_else(|| panic!("the Ballista cluster never answered: {last}"));
    assert_eq!(remote.status.code(), embedded.status.code());
    let (r, e) = (report(&remote), report(&embedded));
    assert_eq!(r, e);
    assert_eq!(r["decisions"]["allow"], 3);
    assert_eq!(r["replay"]["newly_allowed"], 3);
    // SQL over the decided table runs there too.
    let sql = "SELECT action, count(*) AS n FROM decided GROUP BY action ORDER BY action";
    let out = audit(&[
        "--policy", CORRECTED, "--format", "json", "--engine", &url, "--sql", sql, table,
    ]);
    assert_eq!(
        report(&out)["sql"],
        serde_json::json!([
            {"action": "s3:GetObject", "n": 2},
            {"action": "s3:ListBucket", "n": 1},
            {"action": "s3:PutObject", "n": 1}
        ])
    );
    // The executors kept the rows they handed between stages in their work directories,
    // and remove them as they stop.
    let dirs = cluster.1.clone();
    let kept: usize = dirs.iter().map(|d| files_under(d).len()).sum();
    assert!(
        kept > 0,
        "no data in {dirs:?}: the check below would prove nothing"
    );
    drop(cluster);
    for d in &dirs {
        assert_eq!(files_under(d), Vec::<std::path::PathBuf>::new(), "{d:?}");
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn an_executor_with_other_policies_fails_the_query() {
    let dir = project().join("target/scratch/ballista-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let table = dir.join("requests-mismatch.parquet");
    let out = audit(&[
        "--policy",
        CORRECTED,
        "--out",
        table.to_str().unwrap(),
        "fixtures/audit/clean",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let other = "policies/console-auth-role.json";
    let (_cluster, url) = cluster(CORRECTED, [other, other], &[]);
    let mut last = None;
    for _ in 0..30 {
        let out = audit(&[
            "--policy",
            CORRECTED,
            "--engine",
            &url,
            table.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        if err.contains("the plan was made for policies with digest") {
            assert_eq!(out.status.code(), Some(2));
            assert!(out.stdout.is_empty());
            return;
        }
        last = Some(err);
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    panic!("no digest error: {last:?}");
}

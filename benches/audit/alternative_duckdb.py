#!/usr/bin/env python3
"""Audit CloudTrail logs for cross-identity S3 accesses between Cognito identities (DuckDB).

The same audit as alternative.py, with the log reading, the access key join and the
counting done in SQL by DuckDB (`pip install duckdb`); policy-sim still decides the
requests (`policy-sim check --requests -`).

Usage:
    python3 alternative_duckdb.py --policy policies/corrected-auth-role.json \
        --policy-sim target/release/policy-sim LOGDIR

Prints the same JSON summary as alternative.py.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
from collections import Counter

import duckdb

# CloudTrail eventName -> IAM action. CopyObject maps to s3:PutObject on the target key
# only: the read of the source object (s3:GetObject on x-amz-copy-source) is ignored, so
# a CopyObject makes one request here, not two.
ACTION_CASE = """
    CASE name
        WHEN 'GetObject' THEN 's3:GetObject'
        WHEN 'HeadObject' THEN 's3:GetObject'
        WHEN 'PutObject' THEN 's3:PutObject'
        WHEN 'DeleteObject' THEN 's3:DeleteObject'
        WHEN 'CopyObject' THEN 's3:PutObject'
        WHEN 'ListObjects' THEN 's3:ListBucket'
        WHEN 'ListObjectsV2' THEN 's3:ListBucket'
    END"""

# One row per record, only the fields the audit needs. `read_json` infers the record
# schema from all files (sample_size=-1); the fields are then struct members.
EVENTS_INFERRED = """
CREATE TABLE ev AS
SELECT r.eventSource AS src, r.eventName AS name, CAST(r.eventID AS VARCHAR) AS id,
       r.errorCode AS err, r.sourceIPAddress AS ip, r.userIdentity.accessKeyId AS akid,
       r.requestParameters.bucketName AS bucket, r.requestParameters."key" AS okey,
       r.requestParameters.prefix AS prefix,
       r.responseElements.credentials.accessKeyId AS issued_key,
       r.responseElements.subjectFromWebIdentityToken AS subject
FROM (SELECT unnest(Records) AS r
      FROM read_json({files}, sample_size=-1, maximum_object_size=1073741824))
"""

# Fallback when the logs lack one of those fields altogether (e.g. no ListObjects event
# anywhere, so no `prefix`): the same with the fields pulled out of JSON. Slower.
EVENTS_JSON = """
CREATE TABLE ev AS
SELECT r->>'$.eventSource' AS src, r->>'$.eventName' AS name, r->>'$.eventID' AS id,
       r->>'$.errorCode' AS err, r->>'$.sourceIPAddress' AS ip,
       r->>'$.userIdentity.accessKeyId' AS akid,
       r->>'$.requestParameters.bucketName' AS bucket,
       r->>'$.requestParameters.key' AS okey,
       r->>'$.requestParameters.prefix' AS prefix,
       r->>'$.responseElements.credentials.accessKeyId' AS issued_key,
       r->>'$.responseElements.subjectFromWebIdentityToken' AS subject
FROM (SELECT unnest(Records) AS r
      FROM read_json({files}, columns={{'Records': 'JSON[]'}},
                     maximum_object_size=1073741824))
"""

SESSIONS = """
CREATE TABLE sessions AS
SELECT issued_key AS akid, any_value(subject) AS identity
FROM ev
WHERE src = 'sts.amazonaws.com' AND name = 'AssumeRoleWithWebIdentity' AND err IS NULL
  AND issued_key IS NOT NULL AND subject IS NOT NULL
GROUP BY issued_key
"""

# Mapped S3 data events with their identity (NULL: key not issued by any session).
MAPPED = f"""
CREATE TABLE mapped AS
SELECT ev.*, {ACTION_CASE} AS action, s.identity,
       CASE WHEN name IN ('ListObjects', 'ListObjectsV2') THEN 'arn:aws:s3:::' || bucket
            ELSE 'arn:aws:s3:::' || bucket || '/' || okey END AS resource,
       CASE WHEN name IN ('ListObjects', 'ListObjectsV2') THEN NULL
            ELSE regexp_extract(okey, '^private/([^/]+)/', 1) END AS owner
FROM ev LEFT JOIN sessions s USING (akid)
WHERE src = 's3.amazonaws.com'
  AND name IN ('GetObject', 'HeadObject', 'PutObject', 'DeleteObject', 'CopyObject',
               'ListObjects', 'ListObjectsV2')
  AND bucket IS NOT NULL
  AND (okey IS NOT NULL OR name IN ('ListObjects', 'ListObjectsV2'))
  AND akid IS NOT NULL
"""

REQUEST_LINES = """
SELECT json_object(
    'id', coalesce(id, ''), 'identity', identity, 'action', action, 'resource', resource,
    'context', CASE
        WHEN prefix IS NOT NULL AND action = 's3:ListBucket' AND ip IS NOT NULL
            THEN json_object('s3:prefix', prefix, 'aws:SourceIp', ip)
        WHEN prefix IS NOT NULL AND action = 's3:ListBucket' THEN json_object('s3:prefix', prefix)
        WHEN ip IS NOT NULL THEN json_object('aws:SourceIp', ip)
        ELSE json_object() END)::VARCHAR
FROM mapped WHERE identity IS NOT NULL
"""

COUNTS = """
SELECT
  (SELECT count(*) FROM ev) AS records,
  (SELECT count(*) FROM mapped WHERE identity IS NOT NULL) AS requests,
  (SELECT count(*) FROM mapped WHERE identity IS NULL) AS unknown_key,
  (SELECT count(*) FROM ev WHERE src = 's3.amazonaws.com' AND akid IS NULL
     AND name IN ('GetObject', 'HeadObject', 'PutObject', 'DeleteObject', 'CopyObject',
                  'ListObjects', 'ListObjectsV2')
     AND bucket IS NOT NULL
     AND (okey IS NOT NULL OR name IN ('ListObjects', 'ListObjectsV2'))) AS no_access_key,
  (SELECT count(*) FROM ev WHERE src = 's3.amazonaws.com'
     AND name IN ('GetObject', 'HeadObject', 'PutObject', 'DeleteObject', 'CopyObject',
                  'ListObjects', 'ListObjectsV2')
     AND (bucket IS NULL OR (okey IS NULL AND name NOT IN ('ListObjects', 'ListObjectsV2'))))
     AS no_resource
"""

CROSS = """
SELECT id FROM mapped
WHERE identity IS NOT NULL AND err IS NULL AND owner <> '' AND owner <> identity
"""

UNMAPPED = """
SELECT name, count(*) FROM ev
WHERE src = 's3.amazonaws.com'
  AND name NOT IN ('GetObject', 'HeadObject', 'PutObject', 'DeleteObject', 'CopyObject',
                   'ListObjects', 'ListObjectsV2')
GROUP BY name ORDER BY name
"""


def log_files(root):
    """Every *.json.gz under root, sorted by file name (then by path, for ties)."""
    found = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.endswith(".json.gz"):
                found.append((name, os.path.join(dirpath, name)))
    found.sort()
    return [path for _name, path in found]


def sql_list(paths):
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--policy", action="append", required=True, help="policy file (repeatable)")
    ap.add_argument("--policy-sim", required=True, help="path of the policy-sim binary")
    ap.add_argument("--threads", type=int, help="worker threads of policy-sim")
    ap.add_argument("logdir", help="CloudTrail delivery tree (DIR/AWSLogs/...)")
    args = ap.parse_args()

    files = log_files(args.logdir)
    db = duckdb.connect()
    if files:
        try:
            db.execute(EVENTS_INFERRED.format(files=sql_list(files)))
        except duckdb.BinderException:
            db.execute(EVENTS_JSON.format(files=sql_list(files)))
    else:
        db.execute(
            "CREATE TABLE ev (src VARCHAR, name VARCHAR, id VARCHAR, err VARCHAR, "
            "ip VARCHAR, akid VARCHAR, bucket VARCHAR, okey VARCHAR, prefix VARCHAR, "
            "issued_key VARCHAR, subject VARCHAR)"
        )
    db.execute(SESSIONS)
    db.execute(MAPPED)
    records, requests, unknown_key, no_access_key, no_resource = db.execute(COUNTS).fetchone()
    cross_rows = db.execute(CROSS).fetchall()
    cross_ids = {row[0] for row in cross_rows}
    unmapped = dict(db.execute(UNMAPPED).fetchall())

    cmd = [args.policy_sim, "check"]
    for p in args.policy:
        cmd += ["--policy", p]
    cmd += ["--requests", "-"]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=1 << 20)

    failure = []
    cursor = db.cursor()

    # Feed policy-sim from a thread while the main thread reads its answers, so neither
    # pipe can fill up and block the other side.
    def feed():
        try:
            result = cursor.execute(REQUEST_LINES)
            while True:
                rows = result.fetchmany(8192)
                if not rows:
                    break
                proc.stdin.write(("\n".join(r[0] for r in rows) + "\n").encode("utf-8"))
        except BrokenPipeError:
            pass
        except BaseException as e:
            failure.append(e)
        finally:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()

    decisions = Counter()
    cross_decisions = Counter()
    answered = 0
    for raw in proc.stdout:
        answer = json.loads(raw)
        answered += 1
        decision = answer.get("decision") or "error"
        decisions[decision] += 1
        if answer.get("id") in cross_ids:
            cross_decisions[decision] += 1
    rc = proc.wait()
    feeder.join()
    if failure:
        raise failure[0]
    if rc not in (0, 2):  # 2: some line could not be decided (counted as "error")
        sys.exit("policy-sim exited with %d" % rc)
    if answered != requests:
        sys.exit("policy-sim answered %d of %d requests" % (answered, requests))

    summary = {
        "records": records,
        "requests": requests,
        "decisions": dict(sorted(decisions.items())),
        "cross_identity": len(cross_rows),
        "cross_identity_decisions": dict(sorted(cross_decisions.items())),
        "unknown_key": unknown_key,
        "no_access_key": no_access_key,
        "no_resource": no_resource,
        "unmapped_operations": unmapped,
        "files": len(files),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

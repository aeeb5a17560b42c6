#!/usr/bin/env python3
"""Audit CloudTrail logs for cross-identity S3 accesses between Cognito identities.

The straightforward way: read the CloudTrail delivery tree with the standard library,
learn each session's Cognito identity from its AssumeRoleWithWebIdentity event (access
key id -> identity id), turn the S3 data events into IAM requests, have
`policy-sim check --requests -` decide them, and count in Python.

Usage:
    python3 alternative.py --policy policies/corrected-auth-role.json \
        --policy-sim target/release/policy-sim LOGDIR

Prints one JSON summary:
    {"records":..,"requests":..,"decisions":{..},"cross_identity":..,"unknown_key":..,...}

"cross_identity" counts the observed cross-identity accesses: S3 events without an
errorCode (AWS answered them) of one identity on an object key under
`private/<another identity>/`, whatever the policy decides for them.
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
import threading
from collections import Counter

# CloudTrail eventName -> IAM action. CopyObject maps to s3:PutObject on the target key
# only: the read of the source object (s3:GetObject on x-amz-copy-source) is ignored, so
# a CopyObject makes one request here, not two.
OBJECT_ACTIONS = {
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "DeleteObject": "s3:DeleteObject",
    "CopyObject": "s3:PutObject",
}
LIST_OPERATIONS = ("ListObjects", "ListObjectsV2")


def log_files(root):
    """Every *.json.gz under root, sorted by file name (then by path, for ties)."""
    found = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.endswith(".json.gz"):
                found.append((name, os.path.join(dirpath, name)))
    found.sort()
    return [path for _name, path in found]


def private_owner(key):
    """X for a key `private/X/...`, else None."""
    if key.startswith("private/"):
        end = key.find("/", 8)
        if end > 8:
            return key[8:end]
    return None


class Audit:
    def __init__(self):
        self.records = 0
        self.requests = 0
        self.unknown_key = 0  # access key id not issued by any AssumeRoleWithWebIdentity
        self.no_access_key = 0  # S3 events without an access key (AWS service callers)
        self.no_resource = 0  # mapped operation without bucketName (or key)
        self.unmapped = Counter()  # S3 operations not in the table, by eventName
        self.cross_identity = 0
        self.cross_ids = set()  # eventIDs of the observed cross-identity accesses
        self.sessions = {}  # access key id -> Cognito identity id
        self.pending = []  # data events seen before the session that issued their key

    def records_of(self, files):
        for path in files:
            with gzip.open(path, "rb") as f:
                doc = json.load(f)
            records = doc.get("Records") or []
            self.records += len(records)
            yield from records

    def request_lines(self, files):
        """Yield one request line (str) per mapped S3 data event; keeps the counts."""
        sessions = self.sessions
        for r in self.records_of(files):
            source = r.get("eventSource")
            if source == "sts.amazonaws.com":
                if r.get("eventName") == "AssumeRoleWithWebIdentity" and not r.get("errorCode"):
                    resp = r.get("responseElements") or {}
                    key = (resp.get("credentials") or {}).get("accessKeyId")
                    subject = resp.get("subjectFromWebIdentityToken")
                    if key and subject:
                        sessions[key] = subject
                continue
            if source != "s3.amazonaws.com":
                continue
            line = self.map_event(r)
            if line is not None:
                yield line
        # Events read before their AssumeRoleWithWebIdentity (out-of-order delivery):
        # their key may be known now; the rest are unknown keys.
        pending, self.pending = self.pending, []
        for r in pending:
            line = self.map_event(r, final=True)
            if line is not None:
                yield line

    def map_event(self, r, final=False):
        name = r.get("eventName")
        params = r.get("requestParameters") or {}
        bucket = params.get("bucketName")
        if name in OBJECT_ACTIONS:
            action = OBJECT_ACTIONS[name]
            key = params.get("key")
            if not bucket or not key:
                self.no_resource += 1
                return None
            resource = "arn:aws:s3:::%s/%s" % (bucket, key)
            context = {}
        elif name in LIST_OPERATIONS:
            action = "s3:ListBucket"
            key = None
            if not bucket:
                self.no_resource += 1
                return None
            resource = "arn:aws:s3:::" + bucket
            context = {}
            prefix = params.get("prefix")
            if prefix is not None:
                context["s3:prefix"] = prefix
        else:
            self.unmapped[name] += 1
            return None

        access_key = (r.get("userIdentity") or {}).get("accessKeyId")
        if not access_key:
            self.no_access_key += 1
            return None
        identity = self.sessions.get(access_key)
        if identity is None:
            if final:
                self.unknown_key += 1
            else:
                self.pending.append(r)
            return None

        ip = r.get("sourceIPAddress")
        if ip:
            context["aws:SourceIp"] = ip
        event_id = r.get("eventID") or ""
        self.requests += 1
        if key is not None and not r.get("errorCode"):
            owner = private_owner(key)
            if owner is not None and owner != identity:
                self.cross_identity += 1
                self.cross_ids.add(event_id)
        line = {"id": event_id, "identity": identity, "action": action, "resource": resource}
        if context:
            line["context"] = context
        return json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--policy", action="append", required=True, help="policy file (repeatable)")
    ap.add_argument("--policy-sim", required=True, help="path of the policy-sim binary")
    ap.add_argument("--threads", type=int, help="worker threads of policy-sim")
    ap.add_argument("logdir", help="CloudTrail delivery tree (DIR/AWSLogs/...)")
    args = ap.parse_args()

    files = log_files(args.logdir)
    cmd = [args.policy_sim, "check"]
    for p in args.policy:
        cmd += ["--policy", p]
    cmd += ["--requests", "-"]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=1 << 20
    )

    audit = Audit()
    failure = []

    # Feed policy-sim from a thread while the main thread reads its answers: neither pipe
    # can fill up and block the other side, however large the input.
    def feed():
        try:
            buf = []
            size = 0
            for line in audit.request_lines(files):
                b = line.encode("utf-8")
                buf.append(b)
                size += len(b)
                if size >= 1 << 16:
                    proc.stdin.write(b"".join(buf))
                    buf, size = [], 0
            if buf:
                proc.stdin.write(b"".join(buf))
        except BrokenPipeError:
            pass
        except BaseException as e:  # reported after the join
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
        if audit.cross_ids and answer.get("id") in audit.cross_ids:
            cross_decisions[decision] += 1
    rc = proc.wait()
    feeder.join()
    if failure:
        raise failure[0]
    if rc not in (0, 2):  # 2: some line could not be decided (counted as "error")
        sys.exit("policy-sim exited with %d" % rc)
    if answered != audit.requests:
        sys.exit("policy-sim answered %d of %d requests" % (answered, audit.requests))

    summary = {
        "records": audit.records,
        "requests": audit.requests,
        "decisions": dict(sorted(decisions.items())),
        "cross_identity": audit.cross_identity,
        "cross_identity_decisions": dict(sorted(cross_decisions.items())),
        "unknown_key": audit.unknown_key,
        "no_access_key": audit.no_access_key,
        "no_resource": audit.no_resource,
        "unmapped_operations": dict(sorted(audit.unmapped.items())),
        "files": len(files),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

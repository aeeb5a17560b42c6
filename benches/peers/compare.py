#!/usr/bin/env python3
"""Compare peers' decisions with policy-sim's, request by request (matched by id).

Usage: compare.py --requests R.jsonl --policy-sim PS.jsonl --peer NAME=FILE.jsonl [--peer ...]
       [--examples 5]

Prints, for each peer: how many requests were compared, how many decisions differ, a
breakdown of the differences (policy-sim decision -> peer decision, by action), and up
to --examples example mismatches with the full request. Exit code 0 (differences are
findings, not failures); 2 on unreadable input.
"""

import argparse
import collections
import json
import sys


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                yield n, json.loads(line)


def decisions_by_id(path, label):
    out = {}
    errors = 0
    for n, row in read_jsonl(path):
        if "error" in row and "id" not in row:
            errors += 1
            out[("line", n)] = "Error"
            continue
        if row["id"] in out:
            raise SystemExit(f"{label}: duplicate id {row['id']!r} in {path}")
        out[row["id"]] = row["decision"]
    return out, errors


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", required=True)
    parser.add_argument("--policy-sim", required=True, dest="policy_sim")
    parser.add_argument("--peer", action="append", default=[], help="NAME=FILE")
    parser.add_argument("--examples", type=int, default=5)
    args = parser.parse_args()

    requests = {}
    for _, row in read_jsonl(args.requests):
        requests[row.get("id")] = row

    ps, ps_errors = decisions_by_id(args.policy_sim, "policy-sim")
    print(f"policy-sim: {len(ps)} decisions, {ps_errors} error lines, "
          f"mix {dict(collections.Counter(ps.values()))}")

    for spec in args.peer:
        name, _, path = spec.partition("=")
        peer, _ = decisions_by_id(path, name)
        compared = 0
        missing = 0
        mismatches = []
        kinds = collections.Counter()
        for rid, request in requests.items():
            if rid not in ps or rid not in peer:
                missing += 1
                continue
            compared += 1
            if ps[rid] != peer[rid]:
                mismatches.append(rid)
                kinds[(ps[rid], peer[rid], request["action"])] += 1
        print()
        print(f"== {name} ==")
        print(f"decision mix: {dict(collections.Counter(peer.values()))}")
        print(f"compared: {compared}  mismatches: {len(mismatches)}"
              + (f"  (not compared, missing on one side: {missing})" if missing else ""))
        for (ps_d, peer_d, action), count in kinds.most_common():
            print(f"  {count:7d}  policy-sim {ps_d:<12} {name} {peer_d:<12} action {action}")
        for rid in mismatches[: args.examples]:
            print(f"  example {rid}: policy-sim={ps[rid]} {name}={peer[rid]}")
            print(f"    request: {json.dumps(requests[rid], separators=(',', ':'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

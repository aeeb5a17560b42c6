#!/usr/bin/env python3
"""Compare decisions on fixtures/authorization/ with the documentation-backed expectations.

Usage:
  authorization_compare.py [--fixtures DIR] [--peer NAME=FILE.jsonl ...]
                           [--policy-sim BIN [--policy-sim-out FILE.jsonl] [--stand-in]]
                           [--strict]

- Checks the fixtures' format first (exit 2 on a malformed fixture).
- --peer: a file written by authorization_harness.mjs (one {"file","id","decision",...} line
  per case).
- --policy-sim: runs `BIN check` once per case with the issue-12 flags (--principal,
  --resource-policy, --resource-account, --boundary, --session-policy, --scp LEVEL=FILE,
  --rcp LEVEL=FILE, --identity, --context, --format json), writes its decisions to
  --policy-sim-out (default out/authorization-policy-sim.jsonl) and compares them too,
  including the `error` substring and `decided_by` (the JSON output's field).
  A case whose group has no identity-based policy is run without --policy, as the fixture
  means; --stand-in gives it instead a stand-in identity policy that allows only an object
  no case requests (the same decisions in AWS), for a CLI that requires --policy.
- Prints, per tool, how many cases agree and every disagreement with the case's
  documentation rule, and for policy-sim the command that reproduces each disagreement.
- Exit 0 (disagreements are findings), unless --strict: then 1 when policy-sim disagrees.
"""

import argparse
import collections
import json
import os
import shlex
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DECISIONS = {"Allow", "ExplicitDeny", "ImplicitDeny", "Error"}
POLICY_TYPES = {"identity", "resource", "boundary", "session", "scp", "rcp"}
GROUP_KEYS = {"identity", "resource", "boundary", "session", "scps", "rcps", "cases"}
CASE_KEYS = {"id", "principal", "identity", "action", "resource", "resource_account", "context",
             "expect", "error", "decided_by", "doc"}
# With --stand-in, the identity policy of a group that has none: it allows one object that
# no case requests, so every decision is the same as with no identity-based policy.
STAND_IN = {"name": "stand-in-grants-nothing.json",
            "document": {"Version": "2012-10-17",
                         "Statement": [{"Sid": "GrantsNothingRequested", "Effect": "Allow",
                                        "Action": "s3:GetObject",
                                        "Resource": "arn:aws:s3:::stand-in-grants-nothing/none"}]}}


class FixtureError(Exception):
    pass


def check_named(where, value):
    if not isinstance(value, dict) or set(value) != {"name", "document"}:
        raise FixtureError(f"{where}: expected {{name, document}}")
    if not isinstance(value["name"], str) or not value["name"].endswith(".json"):
        raise FixtureError(f"{where}: name must be a file name ending in .json")
    if not isinstance(value["document"], dict):
        raise FixtureError(f"{where}: document must be a JSON object")


def check_levels(where, levels):
    if not isinstance(levels, list):
        raise FixtureError(f"{where}: expected [[LEVEL, [{{name, document}}]]]")
    for i, level in enumerate(levels):
        if (not isinstance(level, list) or len(level) != 2 or not isinstance(level[0], str)
                or not isinstance(level[1], list) or not level[1]):
            raise FixtureError(f"{where}[{i}]: expected [LEVEL, [at least one policy]]")
        for j, named in enumerate(level[1]):
            check_named(f"{where}[{i}][1][{j}]", named)


def load_fixtures(directory):
    """Returns [(file, group_index, group, case)] after checking the format."""
    out = []
    ids = set()
    for file in sorted(f for f in os.listdir(directory) if f.endswith(".json")):
        with open(os.path.join(directory, file), encoding="utf-8") as f:
            fixture = json.load(f)
        if set(fixture) != {"description", "groups"}:
            raise FixtureError(f"{file}: top level must have exactly description and groups")
        for gi, group in enumerate(fixture["groups"]):
            where = f"{file} groups[{gi}]"
            unknown = set(group) - GROUP_KEYS
            if unknown:
                raise FixtureError(f"{where}: unknown keys {sorted(unknown)}")
            for key in ("identity", "resource", "session"):
                for j, named in enumerate(group.get(key, [])):
                    check_named(f"{where}.{key}[{j}]", named)
            if len(group.get("resource", [])) > 1:
                raise FixtureError(f"{where}: at most one resource policy")
            if "boundary" in group:
                check_named(f"{where}.boundary", group["boundary"])
            for key in ("scps", "rcps"):
                if key in group:
                    check_levels(f"{where}.{key}", group[key])
            for ci, case in enumerate(group["cases"]):
                cw = f"{where} cases[{ci}]"
                unknown = set(case) - CASE_KEYS
                if unknown:
                    raise FixtureError(f"{cw}: unknown keys {sorted(unknown)}")
                for key in ("id", "action", "resource", "expect", "doc"):
                    if not isinstance(case.get(key), str) or not case[key]:
                        raise FixtureError(f"{cw}: {key} must be a non-empty string")
                if case["id"] in ids:
                    raise FixtureError(f"{cw}: duplicate id {case['id']!r}")
                ids.add(case["id"])
                if case["expect"] not in DECISIONS:
                    raise FixtureError(f"{cw}: expect must be one of {sorted(DECISIONS)}")
                if (case["expect"] == "Error") != ("error" in case):
                    raise FixtureError(f"{cw}: error (a substring) goes with expect Error, and only there")
                if "decided_by" in case and case["decided_by"] not in POLICY_TYPES:
                    raise FixtureError(f"{cw}: decided_by must be one of {sorted(POLICY_TYPES)}")
                if ":" not in case["doc"]:
                    raise FixtureError(f"{cw}: doc must be 'page title: the rule'")
                for key, value in case.get("context", {}).items():
                    if not (isinstance(value, str) or (isinstance(value, list)
                                                       and all(isinstance(v, str) for v in value))):
                        raise FixtureError(f"{cw}: context {key} must be a string or a list of strings")
                out.append((file, gi, group, case))
    return out


def read_rows(path):
    rows = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                rows[row["id"]] = row
    return rows


# ---- policy-sim ------------------------------------------------------------------------

def safe(text):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def write_doc(directory, named):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, safe(named["name"]))
    with open(path, "w", encoding="utf-8") as f:
        json.dump(named["document"], f, indent=2)
    return path


def group_flags(tmp, file, gi, group, stand_in):
    """Writes a group's policies under tmp and returns the flags that name them."""
    base = os.path.join(tmp, safe(file[:-5]), f"group{gi}")
    flags = []
    identity = group.get("identity") or ([STAND_IN] if stand_in else [])
    for named in identity:
        flags += ["--policy", write_doc(os.path.join(base, "identity"), named)]
    for named in group.get("resource", []):
        flags += ["--resource-policy", write_doc(os.path.join(base, "resource"), named)]
    if "boundary" in group:
        flags += ["--boundary", write_doc(os.path.join(base, "boundary"), group["boundary"])]
    for named in group.get("session", []):
        flags += ["--session-policy", write_doc(os.path.join(base, "session"), named)]
    for key, flag in (("scps", "--scp"), ("rcps", "--rcp")):
        for li, (level, docs) in enumerate(group.get(key, [])):
            for named in docs:
                path = write_doc(os.path.join(base, key, f"{li}-{safe(level)}"), named)
                flags += [flag, f"{level}={path}"]
    return flags


def case_flags(case):
    """The flags of one case besides its group's policies."""
    flags = []
    if "principal" in case:
        flags += ["--principal", case["principal"]]
    if "resource_account" in case:
        flags += ["--resource-account", case["resource_account"]]
    if "identity" in case:
        flags += ["--identity", case["identity"]]
    for ctx_key, value in case.get("context", {}).items():
        for v in (value if isinstance(value, list) else [value]):
            flags += ["--context", f"{ctx_key}={v}"]
    return flags + ["--action", case["action"], "--resource", case["resource"], "--format", "json"]


def run_policy_sim(binary, cases, out_path, stand_in):
    """Runs `binary check` on every case; returns {id: row}, each row with its command.

    The groups' policies are written under policies/ next to out_path (kept, so that the
    printed commands reproduce a case)."""
    rows = {}
    cache = {}
    policies = os.path.join(os.path.dirname(os.path.abspath(out_path)), "authorization-policies")
    shutil.rmtree(policies, ignore_errors=True)
    for file, gi, group, case in cases:
        key = (file, gi)
        if key not in cache:
            cache[key] = group_flags(policies, file, gi, group, stand_in)
        argv = [binary, "check", "--root", policies] + cache[key] + case_flags(case)
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        row = {"file": file, "id": case["id"], "command": shlex.join(argv)}
        if proc.returncode in (0, 1):
            try:
                output = json.loads(proc.stdout)
                row["decision"] = output.get("decision", "Unreadable")
                if isinstance(output.get("decided_by"), str):
                    row["decided_by"] = output["decided_by"]
            except json.JSONDecodeError:
                row["decision"] = "Unreadable"
                row["error"] = proc.stdout.strip()[:500]
        elif proc.returncode == 2:
            row["decision"] = "Error"
            row["error"] = proc.stderr.strip()[:500]
        else:
            row["decision"] = f"Exit{proc.returncode}"
            row["error"] = proc.stderr.strip()[:500]
        rows[case["id"]] = row
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as f:
        for file, _, _, case in cases:
            f.write(json.dumps(rows[case["id"]]) + "\n")
    return rows


# ---- comparison ------------------------------------------------------------------------

def compare(name, cases, rows, check_details):
    """Prints how `name` compares with the fixtures; returns (disagreements, details)."""
    agree = 0
    disagreements = []
    details = []
    for file, _, _, case in cases:
        row = rows.get(case["id"])
        got = row["decision"] if row else "Missing"
        if got != case["expect"]:
            disagreements.append((file, case, row))
            continue
        agree += 1
        if check_details and case["expect"] == "Error":
            if case["error"].lower() not in (row.get("error") or "").lower():
                details.append((file, case, row, f"error message lacks {case['error']!r}: {row.get('error')!r}"))
        if check_details and "decided_by" in case and row.get("decided_by") != case["decided_by"]:
            details.append((file, case, row, f"decided by {row.get('decided_by')}, expected {case['decided_by']}"))
    print(f"\n== {name} ==")
    print(f"cases: {len(cases)}  agree with the documentation: {agree}  disagree: {len(disagreements)}")
    mix = collections.Counter((case["expect"], (rows.get(case["id"]) or {}).get("decision", "Missing"))
                              for _, _, _, case in cases)
    for (expected, got), count in sorted(mix.items()):
        if expected != got:
            print(f"  {count:4d}  expected {expected:<12} got {got}")
    if disagreements:
        print("-- disagreements:")
    for file, case, row in disagreements:
        extra = ""
        if row and row.get("unsafe_decision"):
            extra = f" (runUnsafeSimulation: {row['unsafe_decision']}; ignored keys {row.get('ignored_context_keys')})"
        if row and row.get("error"):
            extra += f" [{row['error'].splitlines()[0][:160]}]"
        print(f"  {file} :: {case['id']}: expected {case['expect']}, got "
              f"{row['decision'] if row else 'Missing'}{extra}")
        print(f"      doc: {case['doc']}")
        if row and row.get("command"):
            print(f"      reproduce: {row['command']}")
    if details:
        print("-- same decision, other details differ:")
    for file, case, row, message in details:
        print(f"  {file} :: {case['id']}: {message}")
        if row.get("command"):
            print(f"      reproduce: {row['command']}")
    return disagreements, details


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fixtures", default=os.path.join(ROOT, "fixtures", "authorization"))
    parser.add_argument("--peer", action="append", default=[], help="NAME=FILE")
    parser.add_argument("--policy-sim", dest="policy_sim")
    parser.add_argument("--policy-sim-out", dest="policy_sim_out",
                        default=os.path.join(HERE, "out", "authorization-policy-sim.jsonl"))
    parser.add_argument("--stand-in", dest="stand_in", action="store_true",
                        help="give a group without identity-based policies a stand-in one")
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()

    try:
        cases = load_fixtures(args.fixtures)
    except (FixtureError, json.JSONDecodeError, KeyError, TypeError) as err:
        print(f"authorization_compare.py: malformed fixture: {err}", file=sys.stderr)
        return 2
    by_expect = collections.Counter(case["expect"] for _, _, _, case in cases)
    files = collections.Counter(file for file, _, _, _ in cases)
    print(f"fixtures: {len(cases)} cases in {len(files)} files; expected {dict(by_expect)}")

    for spec in args.peer:
        name, _, path = spec.partition("=")
        compare(name, cases, read_rows(path), check_details=False)

    failed = False
    if args.policy_sim:
        rows = run_policy_sim(args.policy_sim, cases, args.policy_sim_out, args.stand_in)
        label = "policy-sim" + (" (stand-in identity policy where a group has none)" if args.stand_in else "")
        disagreements, details = compare(label, cases, rows, check_details=True)
        failed = bool(disagreements or details)
    return 1 if (args.strict and failed) else 0


if __name__ == "__main__":
    sys.exit(main())

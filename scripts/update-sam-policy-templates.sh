#!/usr/bin/env bash
# Refresh src/template/sam/ from the PyPI package aws-sam-translator: its policy-template data
# (samtranslator/policy_templates_data/policy_templates.json, copied unchanged), its LICENSE
# and NOTICE (Apache-2.0), and SOURCE (package and version).
# Usage: scripts/update-sam-policy-templates.sh [VERSION]   (default: the version in SOURCE)
# Needs python3 with venv; the package goes into a venv under target/ (never committed).
# The Rust build itself never downloads anything.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=src/template/sam
version="${1:-$(sed -n 's/^aws-sam-translator \([^ ]*\) .*/\1/p' "$dir/SOURCE" 2>/dev/null || true)}"
venv=target/samvenv
[ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet "aws-sam-translator${version:+==$version}" pyyaml
site="$("$venv/bin/python" -c 'import samtranslator, os; print(os.path.dirname(os.path.dirname(samtranslator.__file__)))')"
got="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("aws-sam-translator"))')"
cp "$site/samtranslator/policy_templates_data/policy_templates.json" "$dir/policy_templates.json"
cp "$site/aws_sam_translator-$got.dist-info/licenses/LICENSE" "$dir/LICENSE"
cp "$site/aws_sam_translator-$got.dist-info/licenses/NOTICE" "$dir/NOTICE"
printf 'aws-sam-translator %s (PyPI, Apache-2.0): samtranslator/policy_templates_data/policy_templates.json, unchanged; LICENSE and NOTICE from its distribution.\n' "$got" > "$dir/SOURCE"
echo "wrote $dir from aws-sam-translator $got"

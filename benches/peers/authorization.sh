#!/usr/bin/env bash
# Decisions on fixtures/authorization/ (every policy type, named principal) by iam-simulate
# and policy-sim, each compared with the documentation-backed expectations.
#
#   bash benches/peers/authorization.sh           # iam-simulate and policy-sim (debug build,
#                                                 # brought up to date with cargo build)
#   BIN=target/release/policy-sim bash benches/peers/authorization.sh   # this binary as is
#   PEERS="" bash benches/peers/authorization.sh  # policy-sim only
#   STAND_IN=1 ...                                # a stand-in identity policy (it grants
#                                                 # nothing a case requests) where a group
#                                                 # has none, for a check that requires --policy
#   STRICT=1 ...                                  # exit 1 when policy-sim disagrees
#
# Output in benches/peers/out/authorization-*.jsonl (policy-sim's rows carry the command
# that reproduces each case; the policies it names are in out/authorization-policies/).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
if [ -z "${BIN:-}" ]; then
  BIN="$ROOT/target/debug/policy-sim"
  (cd "$ROOT" && cargo build --quiet)
fi
PEERS="${PEERS-iam-simulate}"
mkdir -p "$HERE/out"

ARGS=()
for peer in $PEERS; do
  case "$peer" in
    iam-simulate)
      [ -f "$HERE/node_modules/@cloud-copilot/iam-simulate/package.json" ] || bash "$HERE/install.sh"
      node "$HERE/authorization_harness.mjs" --out "$HERE/out/authorization-iam-simulate.jsonl"
      ARGS+=(--peer "iam-simulate=$HERE/out/authorization-iam-simulate.jsonl") ;;
    *) echo "authorization.sh: unknown peer '$peer'" >&2; exit 2 ;;
  esac
done
ARGS+=(--policy-sim "$BIN")
[ -n "${STAND_IN:-}" ] && ARGS+=(--stand-in)
[ -n "${STRICT:-}" ] && ARGS+=(--strict)
python3 "$HERE/authorization_compare.py" "${ARGS[@]}"

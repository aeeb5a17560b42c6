#!/usr/bin/env bash
# Benchmark policy-sim against its peers on the same policy and requests, then compare
# decisions.
#
#   bash benches/peers/run.sh [N]          # N requests, default 20000
#
# Environment:
#   POLICY=FILE   identity policy (default policies/serverless-stack-auth-role.json)
#   SEED=S        request seed (default 1)
#   REQUESTS=FILE use this JSON Lines request file instead of generating N requests
#                 (N is then the file's line count; e.g. REQUESTS=benches/peers/probes.jsonl)
#   PEERS="..."   which peers to run, any of: iam-simulate iam-simulate-unsafe pmapper
#                 (default: all three)
#
# Everything it writes goes to benches/peers/out/.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
N="${1:-20000}"
SEED="${SEED:-1}"
POLICY="${POLICY:-$ROOT/policies/serverless-stack-auth-role.json}"
PEERS="${PEERS:-iam-simulate iam-simulate-unsafe pmapper}"
OUT="$HERE/out"
BIN="$ROOT/target/release/policy-sim"

case "$N" in
  ''|*[!0-9]*) echo "run.sh: N must be a positive integer, got '$N'" >&2; exit 2 ;;
esac

mkdir -p "$OUT"

# 1. Peers (install.sh is idempotent and quick when everything is in place).
if [ ! -f "$HERE/node_modules/@cloud-copilot/iam-simulate/package.json" ] ||
   [ ! -x "$HERE/.venv/bin/python" ]; then
  bash "$HERE/install.sh"
else
  bash "$HERE/install.sh" >/dev/null
fi

# 2. policy-sim, release build.
echo "== building policy-sim (cargo build --release) =="
(cd "$ROOT" && cargo build --release --quiet)

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%d", n / s; else print "n/a" }'; }

# 3. Requests.
if [ -n "${REQUESTS:-}" ]; then
  REQ="$(cd "$(dirname "$REQUESTS")" && pwd)/$(basename "$REQUESTS")"
  N=$(grep -c . "$REQ")
  echo "== $N requests from $REQ; policy $POLICY =="
else
  REQ="$OUT/requests-$N-seed$SEED.jsonl"
  "$BIN" generate-requests --count "$N" --seed "$SEED" > "$REQ"
  echo "== $N requests (seed $SEED) in $REQ; policy $POLICY =="
fi

# 4. policy-sim, whole process (start-up, policy load, JSON parsing, evaluation, output),
#    timed by the shell; run PS_REPEAT times (default 3), the median run is reported.
PS_OUT="$OUT/policy-sim-$N.jsonl"
PS_REPEAT="${PS_REPEAT:-3}"
ps_all=""
for _ in $(seq "$PS_REPEAT"); do
  t0=$(now)
  set +e
  "$BIN" check --policy "$POLICY" --requests "$REQ" > "$PS_OUT"
  ps_rc=$?
  set -e
  t1=$(now)
  s=$(elapsed "$t0" "$t1")
  ps_all="${ps_all:+$ps_all,}$s"
done
ps_median=$(echo "$ps_all" | tr ',' '\n' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
if [ "$ps_rc" -ne 0 ]; then
  echo "run.sh: policy-sim exited with $ps_rc (some lines failed; see $PS_OUT)" >&2
fi
echo "{\"peer\":\"policy-sim\",\"version\":\"$("$BIN" --version | awk '{print $2}')\",\"requests\":$N,\"whole_process_seconds_median\":$ps_median,\"whole_process_decisions_per_second\":$(rate "$N" "$ps_median"),\"runs_seconds\":[$ps_all]}"

# 5. Peers (each harness times its evaluation loop only and prints one summary line).
COMPARE_ARGS=()
for peer in $PEERS; do
  case "$peer" in
    iam-simulate)
      node "$HERE/iam_simulate_harness.mjs" --api runSimulation \
        --policy "$POLICY" --requests "$REQ" --out "$OUT/iam-simulate-$N.jsonl"
      COMPARE_ARGS+=(--peer "iam-simulate=$OUT/iam-simulate-$N.jsonl") ;;
    iam-simulate-unsafe)
      node "$HERE/iam_simulate_harness.mjs" --api runUnsafeSimulation \
        --policy "$POLICY" --requests "$REQ" --out "$OUT/iam-simulate-unsafe-$N.jsonl"
      COMPARE_ARGS+=(--peer "iam-simulate-unsafe=$OUT/iam-simulate-unsafe-$N.jsonl") ;;
    pmapper)
      "$HERE/.venv/bin/python" "$HERE/pmapper_harness.py" \
        --policy "$POLICY" --requests "$REQ" --out "$OUT/pmapper-$N.jsonl"
      COMPARE_ARGS+=(--peer "pmapper=$OUT/pmapper-$N.jsonl") ;;
    *) echo "run.sh: unknown peer '$peer'" >&2; exit 2 ;;
  esac
done

# 6. Decisions, line by line by id.
echo
echo "== decisions compared with policy-sim =="
python3 "$HERE/compare.py" --requests "$REQ" --policy-sim "$PS_OUT" "${COMPARE_ARGS[@]}"

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
#                 (default: all three; without pmapper when a policy type below is set)
#   PS_REPEAT=K   policy-sim runs (default 3), PEER_REPEAT=K runs of each peer (default 1);
#                 the median run is reported
#
# Policy types besides the identity policy (policy-sim's flags of the same names, given to
# both policy-sim and iam-simulate for every request; PMapper takes none of them):
#   PRINCIPAL=ARN            the caller (default for policy-sim: none; for iam-simulate the
#                            role arn:aws:iam::123456789012:role/auth)
#   RESOURCE_POLICY=FILE     RESOURCE_ACCOUNT=ID     BOUNDARY=FILE
#   SESSION_POLICIES="FILE ..."   SCPS="LEVEL=FILE ..."   RCPS="LEVEL=FILE ..."
#
# Everything it writes goes to benches/peers/out/.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
N="${1:-20000}"
SEED="${SEED:-1}"
POLICY="${POLICY:-$ROOT/policies/serverless-stack-auth-role.json}"
PS_REPEAT="${PS_REPEAT:-3}"
PEER_REPEAT="${PEER_REPEAT:-1}"

# Flags for the policy types, the same for policy-sim and iam-simulate.
TYPE_FLAGS=()
[ -n "${PRINCIPAL:-}" ] && TYPE_FLAGS+=(--principal "$PRINCIPAL")
[ -n "${RESOURCE_POLICY:-}" ] && TYPE_FLAGS+=(--resource-policy "$RESOURCE_POLICY")
[ -n "${RESOURCE_ACCOUNT:-}" ] && TYPE_FLAGS+=(--resource-account "$RESOURCE_ACCOUNT")
[ -n "${BOUNDARY:-}" ] && TYPE_FLAGS+=(--boundary "$BOUNDARY")
for f in ${SESSION_POLICIES:-}; do TYPE_FLAGS+=(--session-policy "$f"); done
for s in ${SCPS:-}; do TYPE_FLAGS+=(--scp "$s"); done
for s in ${RCPS:-}; do TYPE_FLAGS+=(--rcp "$s"); done
if [ "${#TYPE_FLAGS[@]}" -gt 0 ]; then
  PEERS="${PEERS:-iam-simulate iam-simulate-unsafe}"
  case " $PEERS " in
    *" pmapper "*) echo "run.sh: PMapper takes no policy type besides the identity policy" >&2; exit 2 ;;
  esac
else
  PEERS="${PEERS:-iam-simulate iam-simulate-unsafe pmapper}"
fi
OUT="$HERE/out"
BIN="$ROOT/target/release/policy-sim"

for count in "$N" "$PS_REPEAT" "$PEER_REPEAT"; do
  case "$count" in
    ''|*[!0-9]*|0) echo "run.sh: N, PS_REPEAT and PEER_REPEAT must be positive integers, got '$count'" >&2; exit 2 ;;
  esac
done

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
median() { tr ',' '\n' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Runs a peer harness PEER_REPEAT times; prints each run's summary line and, for more
# than one run, a line with the median loop time and its rate.
run_peer() {
  local name="$1"; shift
  local all="" line seconds requests
  for _ in $(seq "$PEER_REPEAT"); do
    line=$("$@")
    echo "$line"
    seconds=$(echo "$line" | python3 -c 'import json, sys; print(json.load(sys.stdin)["seconds"])')
    requests=$(echo "$line" | python3 -c 'import json, sys; print(json.load(sys.stdin)["requests"])')
    all="${all:+$all,}$seconds"
  done
  if [ "$PEER_REPEAT" -gt 1 ]; then
    seconds=$(echo "$all" | median)
    echo "{\"peer\":\"$name\",\"requests\":$requests,\"loop_seconds_median\":$seconds,\"decisions_per_second\":$(rate "$requests" "$seconds"),\"runs_seconds\":[$all]}"
  fi
}

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
ps_all=""
for _ in $(seq "$PS_REPEAT"); do
  t0=$(now)
  set +e
  "$BIN" check --policy "$POLICY" ${TYPE_FLAGS[@]+"${TYPE_FLAGS[@]}"} --requests "$REQ" > "$PS_OUT"
  ps_rc=$?
  set -e
  t1=$(now)
  s=$(elapsed "$t0" "$t1")
  ps_all="${ps_all:+$ps_all,}$s"
done
ps_median=$(echo "$ps_all" | median)
if [ "$ps_rc" -ne 0 ]; then
  echo "run.sh: policy-sim exited with $ps_rc (some lines failed; see $PS_OUT)" >&2
fi
echo "{\"peer\":\"policy-sim\",\"version\":\"$("$BIN" --version | awk '{print $2}')\",\"requests\":$N,\"whole_process_seconds_median\":$ps_median,\"whole_process_decisions_per_second\":$(rate "$N" "$ps_median"),\"runs_seconds\":[$ps_all]}"

# 5. Peers (each harness times its evaluation loop only and prints one summary line).
COMPARE_ARGS=()
for peer in $PEERS; do
  case "$peer" in
    iam-simulate)
      run_peer iam-simulate node "$HERE/iam_simulate_harness.mjs" --api runSimulation \
        --policy "$POLICY" ${TYPE_FLAGS[@]+"${TYPE_FLAGS[@]}"} --requests "$REQ" \
        --out "$OUT/iam-simulate-$N.jsonl"
      COMPARE_ARGS+=(--peer "iam-simulate=$OUT/iam-simulate-$N.jsonl") ;;
    iam-simulate-unsafe)
      run_peer iam-simulate-unsafe node "$HERE/iam_simulate_harness.mjs" --api runUnsafeSimulation \
        --policy "$POLICY" ${TYPE_FLAGS[@]+"${TYPE_FLAGS[@]}"} --requests "$REQ" \
        --out "$OUT/iam-simulate-unsafe-$N.jsonl"
      COMPARE_ARGS+=(--peer "iam-simulate-unsafe=$OUT/iam-simulate-unsafe-$N.jsonl") ;;
    pmapper)
      run_peer pmapper "$HERE/.venv/bin/python" "$HERE/pmapper_harness.py" \
        --policy "$POLICY" --requests "$REQ" --out "$OUT/pmapper-$N.jsonl"
      COMPARE_ARGS+=(--peer "pmapper=$OUT/pmapper-$N.jsonl") ;;
    *) echo "run.sh: unknown peer '$peer'" >&2; exit 2 ;;
  esac
done

# 6. Decisions, line by line by id.
echo
echo "== decisions compared with policy-sim =="
python3 "$HERE/compare.py" --requests "$REQ" --policy-sim "$PS_OUT" "${COMPARE_ARGS[@]}"

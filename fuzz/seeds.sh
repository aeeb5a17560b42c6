#!/usr/bin/env bash
# Fill fuzz/corpus/<target>/ with seeds from the repository's fixtures (the corpora are
# not committed; libFuzzer adds what it finds next to them). Safe to run again.
#
#   fuzz/seeds.sh            # every target
#   fuzz/seeds.sh policy     # one target
set -euo pipefail
fuzz="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$fuzz")"
cd "$root"

seed() { # seed TARGET FILE...: copy each file, named by its path, into the target's corpus
    local target=$1 dir file
    shift
    dir="$fuzz/corpus/$target"
    mkdir -p "$dir"
    for file in "$@"; do
        [ -f "$file" ] && cp "$file" "$dir/$(printf '%s' "$file" | tr '/' '_')"
    done
    return 0
}

# The inline policies and the cases of fixtures/requests/ (a policy document each; the
# cases as request lines), when python3 is there to take them apart.
requests_fixtures() { # requests_fixtures TARGET
    command -v python3 >/dev/null || return 0
    mkdir -p "$fuzz/corpus/$1"
    python3 - "$1" "$fuzz/corpus/$1" fixtures/requests/*.json <<'PY'
import json, os, sys
target, out, files = sys.argv[1], sys.argv[2], sys.argv[3:]
fields = ("id", "identity", "action", "resource", "context")
for f in files:
    stem = os.path.basename(f)[:-len(".json")]
    for g, group in enumerate(json.load(open(f))["groups"]):
        if target == "policy":
            for i, p in enumerate(group.get("policies", [])):
                with open(os.path.join(out, f"requests-{stem}-{g}-{i}.json"), "w") as w:
                    json.dump(p["document"], w, indent=2)
        else:
            with open(os.path.join(out, f"requests-{stem}-{g}.jsonl"), "w") as w:
                for case in group["cases"]:
                    w.write(json.dumps({k: case[k] for k in fields if k in case}) + "\n")
PY
}

# Each record of the CloudTrail fixtures as a file of its own, when python3 is there.
log_records() {
    command -v python3 >/dev/null || return 0
    mkdir -p "$fuzz/corpus/logs"
    python3 - "$fuzz/corpus/logs" fixtures/logs/*.json fixtures/audit/*/*.json <<'PY'
import json, os, sys
out, files = sys.argv[1], sys.argv[2:]
for f in files:
    stem = f.replace("/", "_")
    for i, record in enumerate(json.load(open(f))["Records"]):
        with open(os.path.join(out, f"record-{stem}-{i}.json"), "w") as w:
            json.dump(record, w)
PY
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(policy template batch_lines gate_config wildcard logs)
for target in "${targets[@]}"; do
    case "$target" in
        policy) seed policy policies/*.json fixtures/malformed/*.json fixtures/readme/gate/*.json
            requests_fixtures policy ;;
        template) seed template $(find fixtures/templates -name '*.yml' -o -name 'template.json') ;;
        batch_lines) seed batch_lines fixtures/batch/*.jsonl
            requests_fixtures batch_lines ;;
        gate_config) seed gate_config policy-gate.yml fixtures/readme/gate/policy-gate.yml ;;
        # Structured input (arbitrary): any bytes make a case; the fixtures' resource
        # patterns are a start with real text in them.
        wildcard) seed wildcard policies/*.json ;;
        # Whole log files, and each record of them alone.
        logs) seed logs fixtures/logs/*.json fixtures/logs/*.log fixtures/audit/*/*.json
            log_records ;;
        *) echo "unknown target $target" >&2; exit 2 ;;
    esac
done

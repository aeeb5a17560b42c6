#!/usr/bin/env bash
# The peer benchmark on a policy-type workload: the seed identity policy with a bucket
# policy, a permissions boundary, two SCP levels and an RCP, for a Cognito role session,
# on N generated requests; policy-sim (`check --requests` with the flags) against
# iam-simulate's loop on the same requests, then the decisions compared.
#
#   bash benches/peers/policy_types.sh [N]       # default 20000
#   PS_REPEAT=5 PEER_REPEAT=3 bash benches/peers/policy_types.sh 20000
#
# The workload's files are in benches/peers/policy-types/ (see README.md, "Policy-type
# workload"); any of run.sh's variables may be set to change them. No session policy by
# default: iam-simulate's runUnsafeSimulation takes none (SESSION_POLICIES=... runs
# runSimulation only).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
W="$HERE/policy-types"

export PRINCIPAL="${PRINCIPAL:-arn:aws:sts::123456789012:assumed-role/CognitoAuthRole/CognitoIdentityCredentials}"
export RESOURCE_POLICY="${RESOURCE_POLICY:-$W/bucket-policy.json}"
export RESOURCE_ACCOUNT="${RESOURCE_ACCOUNT:-123456789012}"
export BOUNDARY="${BOUNDARY:-$W/boundary.json}"
export SCPS="${SCPS:-root=$W/scp-full-access.json workloads=$W/scp-full-access.json workloads=$W/scp-deny-delete.json}"
export RCPS="${RCPS:-root=$W/rcp-tls.json}"
if [ -n "${SESSION_POLICIES:-}" ]; then
  export PEERS="${PEERS:-iam-simulate}"
else
  export PEERS="${PEERS:-iam-simulate-unsafe iam-simulate}"
fi
exec bash "$HERE/run.sh" "$@"

#!/usr/bin/env node
// Runs every case of fixtures/authorization/ (the documentation-backed decisions across
// identity, resource, boundary, session, SCP and RCP policies) through the peer
// @cloud-copilot/iam-simulate (AGPL-3.0), as a black box through its public API. None of
// the peer's code is copied here.
//
// Usage:
//   node authorization_harness.mjs [--fixtures DIR] --out FILE.jsonl
//
// Output: one line per case,
//   {"file", "id", "decision": "Allow|ExplicitDeny|ImplicitDeny|Error|NotRun",
//    "error"?, "blocked_by"?, "ignored_context_keys"?, "unsafe_decision"?}
// and one JSON summary line on stdout.
//
// Mapping (see README.md, "Authorization fixtures"):
// - identity -> identityPolicies; resource -> resourcePolicy (one document); boundary ->
//   permissionBoundaryPolicies; session -> sessionPolicy (the peer takes one document: the
//   statements of every session policy are put in one, which is the fixtures' "any Allow of
//   any of them"); scps / rcps -> serviceControlPolicies / resourceControlPolicies, one
//   entry per level in the given order (the peer adds RCPFullAWSAccess to each RCP level).
// - The resource account is the case's resource_account, else the ARN's account, else the
//   principal's account (as policy-sim does).
// - The peer does not derive the principal's keys, so the harness adds the ones AWS always
//   sets and that can be derived from the principal ARN (aws:PrincipalArn, aws:PrincipalAccount,
//   aws:PrincipalType, aws:username for a user, aws:userid for an account or a federated
//   user), unless the case gives them; `identity` becomes cognito-identity.amazonaws.com:sub.
// - runSimulation validates the request and drops context keys its data does not list for
//   the action (ignored_context_keys); for those cases runUnsafeSimulation (no validation,
//   every key kept, but no session policy) is run too and reported as unsafe_decision.
// - A case without a principal cannot be given to the peer: NotRun.

import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate'
import {
  arnAccount,
  contextFor,
  describePrincipal,
  mergedDocument,
  orgLevels,
  peerVersion,
  resourcePolicyFor,
  toDecision
} from './peer_inputs.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))

function parseArgs(argv) {
  const args = { fixtures: path.join(HERE, '..', '..', 'fixtures', 'authorization') }
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]
    const value = argv[i + 1]
    if (value === undefined) throw new Error(`missing value for ${flag}`)
    switch (flag) {
      case '--fixtures': args.fixtures = value; break
      case '--out': args.out = value; break
      default: throw new Error(`unknown argument ${flag}`)
    }
  }
  if (!args.out) throw new Error('--out is required')
  return args
}

function simulationFor(group, testCase, principal, { unsafe }) {
  const resources = group.resource ?? []
  if (resources.length > 1) throw new Error(`case ${testCase.id}: more than one resource policy`)
  const simulation = {
    request: {
      principal: principal.arn,
      action: testCase.action,
      resource: {
        resource: testCase.resource,
        accountId: testCase.resource_account ?? arnAccount(testCase.resource) ?? principal.account
      },
      contextVariables: contextFor(principal, testCase.context, testCase.identity)
    },
    identityPolicies: (group.identity ?? []).map(({ name, document }) => ({ name, policy: document })),
    serviceControlPolicies: orgLevels(group.scps, false),
    resourceControlPolicies: orgLevels(group.rcps, unsafe)
  }
  if (resources.length === 1) simulation.resourcePolicy = resourcePolicyFor(resources[0], unsafe)
  if (group.boundary) {
    simulation.permissionBoundaryPolicies = [{ name: group.boundary.name, policy: group.boundary.document }]
  }
  if (!unsafe && (group.session ?? []).length > 0) simulation.sessionPolicy = mergedDocument(group.session)
  return simulation
}

async function runCase(file, group, testCase) {
  const row = { file, id: testCase.id }
  if (testCase.principal === undefined) {
    row.decision = 'NotRun'
    row.error = 'the peer needs a principal'
    return row
  }
  const principal = describePrincipal(testCase.principal)
  const response = await runSimulation(simulationFor(group, testCase, principal, { unsafe: false }), {})
  if (response.resultType === 'error') {
    row.decision = 'Error'
    row.error = JSON.stringify(response.errors)
    return row
  }
  row.decision = toDecision(response.overallResult)
  const analysis = response.resultType === 'single' ? response.result?.analysis : undefined
  if (analysis?.blockedBy?.length) row.blocked_by = analysis.blockedBy
  const ignored = response.resultType === 'single' ? (response.result?.ignoredContextKeys ?? []) : []
  if (ignored.length > 0) {
    row.ignored_context_keys = ignored
    if ((group.session ?? []).length === 0) {
      try {
        const unsafe = runUnsafeSimulation(simulationFor(group, testCase, principal, { unsafe: true }), {})
        row.unsafe_decision = toDecision(unsafe)
      } catch (err) {
        row.unsafe_decision = 'Error'
        row.unsafe_error = String(err?.message ?? err)
      }
    }
  }
  return row
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const files = fs
    .readdirSync(args.fixtures)
    .filter((f) => f.endsWith('.json'))
    .sort()
  const rows = []
  for (const file of files) {
    const fixture = JSON.parse(fs.readFileSync(path.join(args.fixtures, file), 'utf8'))
    for (const group of fixture.groups) {
      for (const testCase of group.cases) {
        try {
          rows.push(await runCase(file, group, testCase))
        } catch (err) {
          rows.push({ file, id: testCase.id, decision: 'Error', error: String(err?.message ?? err) })
        }
      }
    }
  }
  fs.mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true })
  fs.writeFileSync(args.out, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''))
  const mix = {}
  for (const r of rows) mix[r.decision] = (mix[r.decision] ?? 0) + 1
  console.log(JSON.stringify({ peer: 'iam-simulate', version: peerVersion(), cases: rows.length, decisions: mix }))
}

main().catch((err) => {
  console.error(err?.stack ?? String(err))
  process.exit(2)
})

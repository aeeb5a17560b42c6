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
// iam-simulate's own dependency: runUnsafeSimulation loads the resource policy without a
// name and fails on a plain document, so it is given as a validated policy with one.
import { createValidatedPolicy, validateResourcePolicy } from '@cloud-copilot/iam-policy'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const IDENTITY_KEY = 'cognito-identity.amazonaws.com:sub'
const RCP_FULL_AWS_ACCESS = {
  name: 'RCPFullAWSAccess',
  policy: {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }]
  }
}
const DECISIONS = {
  Allowed: 'Allow',
  ExplicitlyDenied: 'ExplicitDeny',
  ImplicitlyDenied: 'ImplicitDeny'
}

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

function peerVersion() {
  const pkg = path.join(HERE, 'node_modules', '@cloud-copilot', 'iam-simulate', 'package.json')
  return JSON.parse(fs.readFileSync(pkg, 'utf8')).version
}

// The caller as the peer gets it, its account, and the principal keys AWS sets on every
// request where the ARN alone determines them.
function caller(arn, account, principalArn, type, extra = {}) {
  return {
    arn,
    account,
    keys: {
      'aws:PrincipalArn': principalArn,
      'aws:PrincipalAccount': account,
      'aws:PrincipalType': type,
      ...extra
    }
  }
}

// Returns the caller for the four principal forms; anything else (a role ARN, for one)
// goes to the peer as given, with no keys.
function describePrincipal(text) {
  let m = /^arn:(aws|aws-cn|aws-us-gov):sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/.exec(text)
  if (m) return caller(text, m[2], `arn:${m[1]}:iam::${m[2]}:role/${m[3]}`, 'AssumedRole')
  m = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):user\/(?:.*\/)?([^/]+)$/.exec(text)
  if (m) return caller(text, m[2], text, 'User', { 'aws:username': m[3] })
  m = /^(?:arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):root|(\d{12}))$/.exec(text)
  if (m) {
    const account = m[2] ?? m[3]
    const root = `arn:${m[1] ?? 'aws'}:iam::${account}:root`
    return caller(root, account, root, 'Account', { 'aws:userid': account })
  }
  m = /^arn:(aws|aws-cn|aws-us-gov):sts::(\d{12}):federated-user\/(.+)$/.exec(text)
  if (m) return caller(text, m[2], text, 'FederatedUser', { 'aws:userid': `${m[2]}:${m[3]}` })
  return { arn: text, account: /^arn:[^:]*:[^:]*::(\d{12}):/.exec(text)?.[1], keys: {} }
}

function arnAccount(resource) {
  const parts = resource.split(':')
  return parts.length >= 6 && /^\d{12}$/.test(parts[4]) ? parts[4] : undefined
}

function mergedDocument(docs) {
  const statements = []
  for (const { document } of docs) {
    const s = document.Statement
    statements.push(...(Array.isArray(s) ? s : [s]))
  }
  return { Version: '2012-10-17', Statement: statements }
}

function levels(spec, addFull) {
  return (spec ?? []).map(([level, docs]) => ({
    orgIdentifier: level,
    policies: [
      ...(addFull ? [RCP_FULL_AWS_ACCESS] : []),
      ...docs.map(({ name, document }) => ({ name, policy: document }))
    ]
  }))
}

function contextFor(testCase, principal) {
  const context = {}
  for (const [key, value] of Object.entries(principal.keys)) context[key] = value
  const given = Object.keys(testCase.context ?? {}).map((k) => k.toLowerCase())
  for (const key of Object.keys(context)) {
    if (given.includes(key.toLowerCase())) delete context[key]
  }
  for (const [key, value] of Object.entries(testCase.context ?? {})) {
    context[key] = Array.isArray(value) ? value.map(String) : String(value)
  }
  if (testCase.identity !== undefined) context[IDENTITY_KEY] = String(testCase.identity)
  return context
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
      contextVariables: contextFor(testCase, principal)
    },
    identityPolicies: (group.identity ?? []).map(({ name, document }) => ({ name, policy: document })),
    serviceControlPolicies: levels(group.scps, false),
    // runSimulation adds RCPFullAWSAccess to every level itself; runUnsafeSimulation does not.
    resourceControlPolicies: levels(group.rcps, unsafe)
  }
  if (resources.length === 1) {
    const { name, document } = resources[0]
    simulation.resourcePolicy = unsafe
      ? createValidatedPolicy(document, validateResourcePolicy, { name })
      : document
  }
  if (group.boundary) {
    simulation.permissionBoundaryPolicies = [{ name: group.boundary.name, policy: group.boundary.document }]
  }
  if (!unsafe && (group.session ?? []).length > 0) simulation.sessionPolicy = mergedDocument(group.session)
  return simulation
}

function toDecision(peerResult) {
  const decision = DECISIONS[peerResult]
  if (!decision) throw new Error(`unexpected peer result ${JSON.stringify(peerResult)}`)
  return decision
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

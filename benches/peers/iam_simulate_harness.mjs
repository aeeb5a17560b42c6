#!/usr/bin/env node
// Benchmark harness for the peer @cloud-copilot/iam-simulate (AGPL-3.0), driven as a black
// box through its public API. None of the peer's code is copied here.
//
// Usage:
//   node iam_simulate_harness.mjs --policy FILE --requests FILE.jsonl --out FILE.jsonl
//        [--api runSimulation|runUnsafeSimulation] [--principal ARN] [--account ID]
//        [--resource-policy FILE] [--resource-account ID] [--boundary FILE]
//        [--session-policy FILE]... [--scp LEVEL=FILE]... [--rcp LEVEL=FILE]...
//
// Input: policy-sim's batch JSON Lines ({"id","identity","action","resource","context"}).
// `identity` becomes the context key cognito-identity.amazonaws.com:sub.
// Output: one {"id":...,"decision":"Allow|ExplicitDeny|ImplicitDeny"} line per request
// ("Error" plus an "error" field when the peer rejects the request), and one JSON summary
// line on stdout. Only the evaluation loop is timed: files are read and every request is
// parsed and turned into the peer's Simulation object before the clock starts, and the
// output is written after it stops.
//
// The policy-type flags take the same files as policy-sim's flags of the same names and
// apply to every request: --resource-policy -> resourcePolicy, --boundary ->
// permissionBoundaryPolicies, --session-policy -> sessionPolicy (one document with the
// statements of all of them; runSimulation only: runUnsafeSimulation takes none),
// --scp / --rcp -> serviceControlPolicies / resourceControlPolicies, files with the same
// LEVEL one level, levels in the order first given (RCPFullAWSAccess is added to each RCP
// level). The resource account is --resource-account, else the ARN's account, else
// --account. The principal keys AWS derives from the caller (aws:PrincipalArn,
// aws:PrincipalAccount, aws:PrincipalType, aws:userid/aws:username where the ARN
// determines them) are added to every request's context, as policy-sim's --principal
// does; a role ARN (the default) gets none.

import fs from 'node:fs'
import path from 'node:path'
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate'
import * as peer from './peer_inputs.mjs'

// Adds FILE to LEVEL in levels ([[LEVEL, [FILE, ...]], ...], levels in first-given order).
function addLevel(levels, spec, flag) {
  const at = spec.indexOf('=')
  if (at <= 0 || at === spec.length - 1) throw new Error(`${flag} takes LEVEL=FILE, found ${spec}`)
  const [label, file] = [spec.slice(0, at), spec.slice(at + 1)]
  const level = levels.find(([l]) => l === label)
  if (level) level[1].push(file)
  else levels.push([label, [file]])
}

function parseArgs(argv) {
  const args = {
    api: 'runSimulation',
    principal: 'arn:aws:iam::123456789012:role/auth',
    account: '123456789012',
    sessionPolicies: [],
    scps: [],
    rcps: []
  }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = argv[i + 1]
    if (value === undefined) throw new Error(`missing value for ${flag}`)
    switch (flag) {
      case '--policy': args.policy = value; break
      case '--requests': args.requests = value; break
      case '--out': args.out = value; break
      case '--api': args.api = value; break
      case '--principal': args.principal = value; break
      case '--account': args.account = value; break
      case '--resource-policy': args.resourcePolicy = value; break
      case '--resource-account': args.resourceAccount = value; break
      case '--boundary': args.boundary = value; break
      case '--session-policy': args.sessionPolicies.push(value); break
      case '--scp': addLevel(args.scps, value, flag); break
      case '--rcp': addLevel(args.rcps, value, flag); break
      default: throw new Error(`unknown argument ${flag}`)
    }
    i++
  }
  for (const required of ['policy', 'requests', 'out']) {
    if (!args[required]) throw new Error(`--${required} is required`)
  }
  if (!['runSimulation', 'runUnsafeSimulation'].includes(args.api)) {
    throw new Error(`--api must be runSimulation or runUnsafeSimulation, found ${args.api}`)
  }
  if (args.api === 'runUnsafeSimulation' && args.sessionPolicies.length > 0) {
    throw new Error('runUnsafeSimulation takes no session policy; use --api runSimulation')
  }
  return args
}

function named(file) {
  return { name: path.basename(file), document: JSON.parse(fs.readFileSync(file, 'utf8')) }
}

// The parts of every request's Simulation that come from the policy files and the caller.
function sharedInputs(args) {
  const unsafe = args.api === 'runUnsafeSimulation'
  const identity = named(args.policy)
  const shared = {
    identityPolicies: [{ name: identity.name, policy: identity.document }],
    serviceControlPolicies: peer.orgLevels(args.scps.map(([l, files]) => [l, files.map(named)]), false),
    resourceControlPolicies: peer.orgLevels(args.rcps.map(([l, files]) => [l, files.map(named)]), unsafe)
  }
  if (args.resourcePolicy) shared.resourcePolicy = peer.resourcePolicyFor(named(args.resourcePolicy), unsafe)
  if (args.boundary) {
    const boundary = named(args.boundary)
    shared.permissionBoundaryPolicies = [{ name: boundary.name, policy: boundary.document }]
  }
  if (args.sessionPolicies.length > 0) shared.sessionPolicy = peer.mergedDocument(args.sessionPolicies.map(named))
  return shared
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const shared = sharedInputs(args)
  const principal = peer.describePrincipal(args.principal)

  // Pre-parse every request into the peer's input shape (not timed).
  const ids = []
  const simulations = []
  const lines = fs.readFileSync(args.requests, 'utf8').split('\n')
  for (const line of lines) {
    if (line.trim() === '') continue
    const request = JSON.parse(line)
    ids.push(request.id ?? null)
    simulations.push({
      request: {
        principal: args.principal,
        action: request.action,
        resource: {
          resource: request.resource,
          accountId: args.resourceAccount ?? peer.arnAccount(request.resource) ?? args.account
        },
        contextVariables: peer.contextFor(principal, request.context, request.identity)
      },
      ...shared
    })
  }

  const results = new Array(simulations.length)
  const useUnsafe = args.api === 'runUnsafeSimulation'

  // ---- timed region: evaluation only ----
  const start = process.hrtime.bigint()
  for (let i = 0; i < simulations.length; i++) {
    if (useUnsafe) {
      results[i] = runUnsafeSimulation(simulations[i], {})
    } else {
      results[i] = await runSimulation(simulations[i], {})
    }
  }
  const elapsedNs = process.hrtime.bigint() - start
  // ---- end of timed region ----

  const out = []
  const ignored = {}
  for (let i = 0; i < results.length; i++) {
    const r = results[i]
    let row
    if (useUnsafe) {
      row = { id: ids[i], decision: peer.toDecision(r) }
    } else if (r.resultType === 'error') {
      row = { id: ids[i], decision: 'Error', error: r.errors }
    } else {
      row = { id: ids[i], decision: peer.toDecision(r.overallResult) }
      const keys = r.resultType === 'single' ? (r.result.ignoredContextKeys ?? []) : []
      for (const key of keys) ignored[key] = (ignored[key] ?? 0) + 1
    }
    out.push(JSON.stringify(row))
  }
  fs.mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true })
  fs.writeFileSync(args.out, out.join('\n') + (out.length ? '\n' : ''))

  // The peer drops context keys it does not list for the action; say so on stderr, since
  // that changes decisions (see README.md).
  for (const [key, count] of Object.entries(ignored)) {
    console.error(`iam-simulate: context key ${key} ignored by the peer in ${count} request(s)`)
  }

  const seconds = Number(elapsedNs) / 1e9
  console.log(
    JSON.stringify({
      peer: 'iam-simulate',
      version: peer.peerVersion(),
      api: args.api,
      requests: simulations.length,
      seconds: Number(seconds.toFixed(6)),
      decisions_per_second: seconds > 0 ? Math.round(simulations.length / seconds) : null
    })
  )
}

main().catch((err) => {
  console.error(err?.stack ?? String(err))
  process.exit(2)
})

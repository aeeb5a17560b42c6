#!/usr/bin/env node
// Benchmark harness for the peer @cloud-copilot/iam-simulate (AGPL-3.0), driven as a black
// box through its public API. None of the peer's code is copied here.
//
// Usage:
//   node iam_simulate_harness.mjs --policy FILE --requests FILE.jsonl --out FILE.jsonl
//        [--api runSimulation|runUnsafeSimulation] [--principal ARN] [--account ID]
//
// Input: policy-sim's batch JSON Lines ({"id","identity","action","resource","context"}).
// `identity` becomes the context key cognito-identity.amazonaws.com:sub.
// Output: one {"id":...,"decision":"Allow|ExplicitDeny|ImplicitDeny"} line per request
// ("Error" plus an "error" field when the peer rejects the request), and one JSON summary
// line on stdout. Only the evaluation loop is timed: files are read and every request is
// parsed and turned into the peer's Simulation object before the clock starts, and the
// output is written after it stops.

import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate'

const IDENTITY_KEY = 'cognito-identity.amazonaws.com:sub'

function parseArgs(argv) {
  const args = {
    api: 'runSimulation',
    principal: 'arn:aws:iam::123456789012:role/auth',
    account: '123456789012'
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
  return args
}

function peerVersion() {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const pkg = path.join(here, 'node_modules', '@cloud-copilot', 'iam-simulate', 'package.json')
  return JSON.parse(fs.readFileSync(pkg, 'utf8')).version
}

const DECISIONS = {
  Allowed: 'Allow',
  ExplicitlyDenied: 'ExplicitDeny',
  ImplicitlyDenied: 'ImplicitDeny'
}

function toDecision(peerResult) {
  const decision = DECISIONS[peerResult]
  if (!decision) throw new Error(`unexpected peer result ${JSON.stringify(peerResult)}`)
  return decision
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const policy = JSON.parse(fs.readFileSync(args.policy, 'utf8'))
  const policyName = path.basename(args.policy)

  // Pre-parse every request into the peer's input shape (not timed).
  const ids = []
  const simulations = []
  const lines = fs.readFileSync(args.requests, 'utf8').split('\n')
  for (const line of lines) {
    if (line.trim() === '') continue
    const request = JSON.parse(line)
    const contextVariables = {}
    for (const [key, value] of Object.entries(request.context ?? {})) {
      contextVariables[key] = Array.isArray(value) ? value.map(String) : String(value)
    }
    if (request.identity !== undefined && request.identity !== null) {
      contextVariables[IDENTITY_KEY] = String(request.identity)
    }
    ids.push(request.id ?? null)
    simulations.push({
      request: {
        principal: args.principal,
        action: request.action,
        resource: { resource: request.resource, accountId: args.account },
        contextVariables
      },
      identityPolicies: [{ name: policyName, policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: []
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
      row = { id: ids[i], decision: toDecision(r) }
    } else if (r.resultType === 'error') {
      row = { id: ids[i], decision: 'Error', error: r.errors }
    } else {
      row = { id: ids[i], decision: toDecision(r.overallResult) }
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
      version: peerVersion(),
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

// What both iam-simulate harnesses (iam_simulate_harness.mjs, authorization_harness.mjs)
// give the peer @cloud-copilot/iam-simulate (AGPL-3.0) besides the request itself: the
// caller and the principal keys AWS derives from it, the organization levels, the
// resource policy in the form each entry point takes, and the peer's result mapped onto
// policy-sim's decisions. None of the peer's code is copied here.

import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
// iam-simulate's own dependency: runUnsafeSimulation loads the resource policy without a
// name and fails on a plain document, so it is given as a validated policy with one.
import { createValidatedPolicy, validateResourcePolicy } from '@cloud-copilot/iam-policy'

const HERE = path.dirname(fileURLToPath(import.meta.url))

/** The context key policy-sim's `identity` (and `--identity`) sets. */
export const IDENTITY_KEY = 'cognito-identity.amazonaws.com:sub'

// runSimulation adds RCPFullAWSAccess to every RCP level itself; runUnsafeSimulation does not.
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

/** The peer's overall result as policy-sim's decision. */
export function toDecision(peerResult) {
  const decision = DECISIONS[peerResult]
  if (!decision) throw new Error(`unexpected peer result ${JSON.stringify(peerResult)}`)
  return decision
}

/** The installed peer's version. */
export function peerVersion() {
  const pkg = path.join(HERE, 'node_modules', '@cloud-copilot', 'iam-simulate', 'package.json')
  return JSON.parse(fs.readFileSync(pkg, 'utf8')).version
}

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

/**
 * The caller as the peer gets it ({arn, account, keys}): the peer does not derive the
 * principal keys AWS sets on every request, so `keys` holds the ones the ARN alone
 * determines for the four caller forms (role session, IAM user, account, federated user).
 * Anything else (a role ARN, for one) goes to the peer as given, with no keys.
 */
export function describePrincipal(text) {
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

/**
 * The peer's context: the principal's keys (unless the request gives a key of the same
 * name, in any letter case), then the request's context (arrays as multivalued keys),
 * then `identity` as cognito-identity.amazonaws.com:sub.
 */
export function contextFor(principal, context, identity) {
  const out = {}
  const given = new Set(Object.keys(context ?? {}).map((k) => k.toLowerCase()))
  for (const [key, value] of Object.entries(principal.keys)) {
    if (!given.has(key.toLowerCase())) out[key] = value
  }
  for (const [key, value] of Object.entries(context ?? {})) {
    out[key] = Array.isArray(value) ? value.map(String) : String(value)
  }
  if (identity !== undefined && identity !== null) out[IDENTITY_KEY] = String(identity)
  return out
}

/** The account of an ARN that names one, else undefined (S3 ARNs name none). */
export function arnAccount(resource) {
  const parts = resource.split(':')
  return parts.length >= 6 && /^\d{12}$/.test(parts[4]) ? parts[4] : undefined
}

/**
 * SCP or RCP levels ([[LEVEL, [{name, document}, ...]], ...], in order) as the peer's
 * org policies; `addFull` adds RCPFullAWSAccess to each level (for runUnsafeSimulation).
 */
export function orgLevels(levels, addFull) {
  return (levels ?? []).map(([level, docs]) => ({
    orgIdentifier: level,
    policies: [
      ...(addFull ? [RCP_FULL_AWS_ACCESS] : []),
      ...docs.map(({ name, document }) => ({ name, policy: document }))
    ]
  }))
}

/** The resource policy as runSimulation (plain) or runUnsafeSimulation (validated) takes it. */
export function resourcePolicyFor({ name, document }, unsafe) {
  return unsafe ? createValidatedPolicy(document, validateResourcePolicy, { name }) : document
}

/** Session policies as the peer's one document: the statements of all of them together. */
export function mergedDocument(docs) {
  const statements = []
  for (const { document } of docs) {
    const s = document.Statement
    statements.push(...(Array.isArray(s) ? s : [s]))
  }
  return { Version: '2012-10-17', Statement: statements }
}

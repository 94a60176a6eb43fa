/**
 * basic-auth: HTTP Basic credentials checked against the consumers' scrypt password hashes. scrypt is slow on
 * purpose, so it runs on the thread pool (verifyPassword) and successful checks are remembered in a bounded LRU
 * keyed by a SHA-256 of (credential id, password) — never the password itself — for the life of the snapshot.
 * Failures are remembered briefly too, so a client hammering a wrong password cannot keep the pool busy.
 */
import { createHash } from 'node:crypto'
import { type BasicAuthConfig, type ConfigEntities, verifyPassword } from '@turnpike/shared'
import { alreadyAuthenticated, anonymousOr } from '../../pipeline/auth.ts'
import { foreignId } from '../../pipeline/consumers.ts'
import { Lru } from '../../pipeline/lru.ts'
import { type AuthCredential, defineHandler, type PluginContext, type PluginResponse } from '../../pipeline/types.ts'

interface BasicCredential extends AuthCredential {
  consumerId: string
  password: string
}

/** Verification outcomes shared by every basic-auth instance of one snapshot. */
export interface PasswordChecks {
  byUsername: Map<string, BasicCredential>
  verified: Lru<string, true>
  rejected: Lru<string, true>
  inFlight: Map<string, Promise<boolean>>
}

const VERIFIED_MAX = 10_000
const REJECTED_MAX = 10_000
const REJECTED_TTL_MS = 5_000

export function buildPasswordChecks(entities: ConfigEntities): PasswordChecks {
  const byUsername = new Map<string, BasicCredential>()
  for (const row of entities.basicauth_credentials ?? []) {
    const consumerId = foreignId(row, 'consumer')
    if (typeof row.username !== 'string' || typeof row.password !== 'string' || consumerId === undefined) continue
    byUsername.set(row.username, {
      id: row.id,
      identifier: row.username,
      consumerId,
      password: row.password,
    })
  }
  return {
    byUsername,
    verified: new Lru(VERIFIED_MAX),
    rejected: new Lru(REJECTED_MAX, REJECTED_TTL_MS),
    inFlight: new Map(),
  }
}

/** `Basic <base64(user:pass)>` → [user, pass]; undefined when malformed (Kong: `([^:]+):(.*)`). */
export function parseBasic(header: string | undefined): [string, string] | undefined {
  if (header === undefined) return undefined
  const m = /^\s*[Bb]asic\s*(\S+)/.exec(header)
  if (!m) return undefined
  const decoded = Buffer.from(m[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon <= 0) return undefined
  return [decoded.slice(0, colon), decoded.slice(colon + 1)]
}

interface Compiled {
  conf: BasicAuthConfig
  checks: PasswordChecks
  unauthorized: PluginResponse
}

function cacheKey(credentialId: string, password: string): string {
  return createHash('sha256').update(credentialId).update('\0').update(password).digest('base64')
}

/** Whether `password` is the credential's: from the caches, else scrypt (concurrent checks of one pair share it). */
function check(checks: PasswordChecks, cred: BasicCredential, password: string): boolean | Promise<boolean> {
  const key = cacheKey(cred.id, password)
  if (checks.verified.get(key)) return true
  if (checks.rejected.get(key)) return false
  let pending = checks.inFlight.get(key)
  if (!pending) {
    pending = verifyPassword(password, cred.password).then(
      (ok) => {
        checks.inFlight.delete(key)
        if (ok) checks.verified.set(key, true)
        else checks.rejected.set(key, true)
        return ok
      },
      (err) => {
        checks.inFlight.delete(key)
        throw err
      },
    )
    checks.inFlight.set(key, pending)
  }
  return pending
}

function authenticate(
  ctx: PluginContext,
  c: Compiled,
): PluginResponse | undefined | Promise<PluginResponse | undefined> {
  const proxyAuth = ctx.request.header('proxy-authorization')
  const auth = ctx.request.header('authorization')
  if (proxyAuth === undefined && auth === undefined) return c.unauthorized
  // Proxy-Authorization first, then Authorization (Kong's order).
  let parsed = parseBasic(proxyAuth)
  let cred = parsed && c.checks.byUsername.get(parsed[0])
  if (parsed && c.conf.hide_credentials) ctx.upstream.clearHeader('proxy-authorization')
  if (!cred) {
    parsed = parseBasic(auth)
    cred = parsed && c.checks.byUsername.get(parsed[0])
    if (parsed && c.conf.hide_credentials) ctx.upstream.clearHeader('authorization')
  }
  if (!parsed || !cred) return c.unauthorized
  const found = cred
  const consumer = ctx.consumers.byId(found.consumerId)
  if (!consumer) return c.unauthorized
  const ok = check(c.checks, found, parsed[1])
  const finish = (valid: boolean) => {
    if (!valid) return c.unauthorized
    ctx.authenticate(consumer, found)
    return undefined
  }
  return typeof ok === 'boolean' ? finish(ok) : ok.then(finish)
}

export const basicAuthHandler = defineHandler<BasicAuthConfig, Compiled>({
  compile(conf, env) {
    return {
      conf,
      // Per snapshot (not carried over): a password change drops what was verified.
      checks: env.shared('basic-auth', null, () => buildPasswordChecks(env.entities)),
      unauthorized: {
        status: 401,
        body: { message: 'Unauthorized' },
        headers: { 'WWW-Authenticate': `Basic realm="${conf.realm}"` },
      },
    }
  },
  access(ctx, c) {
    if (alreadyAuthenticated(ctx, c.conf.anonymous)) return undefined
    const failure = authenticate(ctx, c)
    if (failure === undefined) return undefined
    if (failure instanceof Promise) return failure.then((f) => (f ? anonymousOr(ctx, c.conf.anonymous, f) : undefined))
    return anonymousOr(ctx, c.conf.anonymous, failure)
  },
})

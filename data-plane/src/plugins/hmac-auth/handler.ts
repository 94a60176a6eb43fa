/**
 * hmac-auth: `Authorization: hmac username="…", algorithm="hmac-sha256", headers="date request-line",
 * signature="…"` (or Proxy-Authorization), verified against the consumer's secret. The Date (or X-Date) header must
 * be within `clock_skew` seconds of the gateway's clock, which is what stops a captured request from being
 * replayed later; with `validate_request_body` the Digest header must match the body's SHA-256.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import type { ConfigEntities, HmacAlgorithm, HmacAuthConfig } from '@turnpike/shared'
import { alreadyAuthenticated, anonymousOr, challenge } from '../../pipeline/auth.ts'
import { foreignId } from '../../pipeline/consumers.ts'
import { type AuthCredential, defineHandler, type PluginContext, type PluginResponse } from '../../pipeline/types.ts'

export const MESSAGES = {
  missing: 'Unauthorized',
  date: 'HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication',
  invalid: 'HMAC signature cannot be verified',
  mismatch: 'HMAC signature does not match',
} as const

const DIGESTS: Record<HmacAlgorithm, string> = {
  'hmac-sha1': 'sha1',
  'hmac-sha256': 'sha256',
  'hmac-sha384': 'sha384',
  'hmac-sha512': 'sha512',
}

interface HmacCredential extends AuthCredential {
  consumerId: string
  secret: string
}

export function buildHmacIndex(entities: ConfigEntities): Map<string, HmacCredential> {
  const out = new Map<string, HmacCredential>()
  for (const row of entities.hmacauth_credentials ?? []) {
    const consumerId = foreignId(row, 'consumer')
    if (typeof row.username !== 'string' || typeof row.secret !== 'string' || consumerId === undefined) continue
    out.set(row.username, { id: row.id, identifier: row.username, consumerId, secret: row.secret })
  }
  return out
}

export interface HmacParams {
  username?: string
  algorithm?: string
  signature?: string
  headers: string[]
}

/** The fields of an `hmac k="v", …` authorization value; undefined when it is not one. */
export function parseHmacHeader(value: string | undefined): HmacParams | undefined {
  if (value === undefined) return undefined
  const m = /^\s*[Hh]mac\s+(.+)$/s.exec(value)
  if (!m) return undefined
  const fields: Record<string, string> = {}
  for (const f of m[1].matchAll(/([A-Za-z]+)\s*=\s*"([^"]*)"/g)) fields[f[1].toLowerCase()] = f[2]
  return {
    username: fields.username,
    algorithm: fields.algorithm,
    signature: fields.signature,
    // The draft-cavage default: only the date is signed.
    headers: fields.headers ? fields.headers.toLowerCase().split(/\s+/).filter(Boolean) : ['date'],
  }
}

/** Whether the header carries an HTTP date within `skew` seconds of now. */
function dateWithinSkew(value: string | undefined, skew: number): boolean {
  if (value === undefined) return false
  const t = Date.parse(value)
  return Number.isFinite(t) && Math.abs(Date.now() - t) / 1000 <= skew
}

/** The string the client signed: `name: value` lines, `request-line` as `METHOD /path?query HTTP/x.y`. */
export function signingString(ctx: PluginContext, headers: readonly string[]): string {
  const lines: string[] = []
  const req = ctx.request
  for (const name of headers) {
    const value = req.header(name)
    if (value !== undefined) lines.push(`${name}: ${value}`)
    else if (name === 'request-line') {
      const target = req.rawQuery === '' ? req.path : `${req.path}?${req.rawQuery}`
      lines.push(`${req.method} ${target} HTTP/${req.raw.httpVersion}`)
    } else lines.push(`${name}:`)
  }
  return lines.join('\n')
}

function signatureMatches(ctx: PluginContext, params: HmacParams, secret: string): boolean {
  const expected = createHmac(DIGESTS[params.algorithm as HmacAlgorithm], secret)
    .update(signingString(ctx, params.headers))
    .digest()
  const given = Buffer.from(params.signature ?? '', 'base64')
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/** Why the parameters are unusable under this config, or undefined. */
function paramsProblem(params: HmacParams, conf: HmacAuthConfig): string | undefined {
  if (!params.username || !params.signature) return 'username or signature missing'
  for (const h of conf.enforce_headers)
    if (!params.headers.includes(h.toLowerCase())) return 'enforced header not used for signature creation'
  if (!conf.algorithms.includes(params.algorithm as HmacAlgorithm)) return `algorithm ${params.algorithm} not supported`
  return undefined
}

interface Compiled {
  conf: HmacAuthConfig
  index: Map<string, HmacCredential>
  wwwAuthenticate: { 'WWW-Authenticate': string }
}

function unauthorized(c: Compiled, message: string): PluginResponse {
  return { status: 401, body: { message }, headers: c.wwwAuthenticate }
}

async function bodyDigestMatches(ctx: PluginContext): Promise<boolean> {
  const body = await ctx.request.readBody()
  const digest = ctx.request.header('digest')
  if (digest === undefined) return body.length === 0
  return digest === `SHA-256=${createHash('sha256').update(body).digest('base64')}`
}

function authenticate(
  ctx: PluginContext,
  c: Compiled,
): PluginResponse | undefined | Promise<PluginResponse | undefined> {
  const { conf } = c
  const proxyAuth = ctx.request.header('proxy-authorization')
  const auth = ctx.request.header('authorization')
  if (proxyAuth === undefined && auth === undefined) return unauthorized(c, MESSAGES.missing)
  if (
    !dateWithinSkew(ctx.request.header('x-date'), conf.clock_skew) &&
    !dateWithinSkew(ctx.request.header('date'), conf.clock_skew)
  )
    return unauthorized(c, MESSAGES.date)
  let params = parseHmacHeader(proxyAuth)
  if (params?.username) {
    if (conf.hide_credentials) ctx.upstream.clearHeader('proxy-authorization')
  } else {
    params = parseHmacHeader(auth)
    if (params && conf.hide_credentials) ctx.upstream.clearHeader('authorization')
  }
  if (!params) return unauthorized(c, MESSAGES.invalid)
  const problem = paramsProblem(params, conf)
  if (problem) {
    ctx.log.debug({ problem }, 'hmac parameters rejected')
    return unauthorized(c, MESSAGES.invalid)
  }
  const cred = c.index.get(params.username!)
  const consumer = cred && ctx.consumers.byId(cred.consumerId)
  if (!cred || !consumer) return unauthorized(c, MESSAGES.invalid)
  if (!signatureMatches(ctx, params, cred.secret)) return unauthorized(c, MESSAGES.mismatch)
  const succeed = () => {
    ctx.authenticate(consumer, cred)
    return undefined
  }
  if (!conf.validate_request_body) return succeed()
  return bodyDigestMatches(ctx).then((ok) => (ok ? succeed() : unauthorized(c, MESSAGES.mismatch)))
}

export const hmacAuthHandler = defineHandler<HmacAuthConfig, Compiled>({
  compile(conf, env) {
    return {
      conf,
      index: env.shared('hmac-auth', ['hmacauth_credentials'], () => buildHmacIndex(env.entities)),
      wwwAuthenticate: { 'WWW-Authenticate': challenge('hmac', conf.realm) },
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

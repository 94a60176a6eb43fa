/**
 * jwt: a JWT from the query (`uri_param_names`), cookies (`cookie_names`) or `Authorization: Bearer` headers
 * (`header_names`), matched to a consumer's `jwt_secrets` row by the `key_claim_name` claim (default `iss`) and
 * verified with that row's algorithm and secret or public key; then `claims_to_verify` and `maximum_expiration`.
 *
 * Turnpike extension: with `jwks_uri`, signatures are verified with the IdP's published keys (by `kid`), cached and
 * rotated (jwks.ts). The consumer is still the `jwt_secrets` row named by the key claim when there is one (e.g. one
 * consumer per issuer); without one the request is authenticated without a consumer, identified by `sub`.
 */
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto'
import type { ConfigEntities, JwtConfig } from '@turnpike/shared'
import { alreadyAuthenticated, anonymousOr, challenge } from '../../pipeline/auth.ts'
import { foreignId } from '../../pipeline/consumers.ts'
import { Lru } from '../../pipeline/lru.ts'
import { type AuthCredential, defineHandler, type PluginContext, type PluginResponse } from '../../pipeline/types.ts'
import { findJwk, type Jwk, prefetchJwks } from './jwks.ts'
import { type DecodedJwt, decodeJwt, exceedsMaximumExpiration, verifyClaims, verifySignature } from './token.ts'

/** One object per secret row: it is also the credential handed to `ctx.authenticate`. */
export interface JwtSecret extends AuthCredential {
  consumerId: string
  algorithm: string
  secret: string | null
  publicKeyPem: string | null
  /** Keys derived on first use and kept for the snapshot. */
  hmacKey?: KeyObject
  hmacKeyBase64?: KeyObject
  publicKey?: KeyObject | null
}

export function buildSecretIndex(entities: ConfigEntities): Map<string, JwtSecret> {
  const out = new Map<string, JwtSecret>()
  for (const row of entities.jwt_secrets ?? []) {
    const consumerId = foreignId(row, 'consumer')
    if (typeof row.key !== 'string' || consumerId === undefined) continue
    out.set(row.key, {
      id: row.id,
      identifier: row.key,
      consumerId,
      algorithm: typeof row.algorithm === 'string' ? row.algorithm : 'HS256',
      secret: typeof row.secret === 'string' ? row.secret : null,
      publicKeyPem: typeof row.rsa_public_key === 'string' ? row.rsa_public_key : null,
    })
  }
  return out
}

/** The verification key of a secret row, derived once. */
function keyOf(secret: JwtSecret, base64: boolean): KeyObject | undefined {
  if (secret.algorithm.startsWith('HS')) {
    if (secret.secret === null) return undefined
    const raw = Buffer.from(secret.secret, base64 ? 'base64' : 'utf8')
    if (raw.length === 0) return undefined
    if (base64) {
      secret.hmacKeyBase64 ??= createSecretKey(raw)
      return secret.hmacKeyBase64
    }
    secret.hmacKey ??= createSecretKey(raw)
    return secret.hmacKey
  }
  if (secret.publicKey === undefined) {
    try {
      secret.publicKey = secret.publicKeyPem === null ? null : createPublicKey(secret.publicKeyPem)
    } catch {
      secret.publicKey = null
    }
  }
  return secret.publicKey ?? undefined
}

/** A token whose signature checked out, and with what: reused while that key is still the one in force. */
interface Verified {
  jwt: DecodedJwt
  keyValue: string
  /** jwt_secrets path: the secret row (a new snapshot makes new rows, so an old entry cannot match). */
  secret: JwtSecret | undefined
  /** JWKS path: the key object (a refetched set makes new objects). */
  jwk: Jwk | undefined
}

const VERIFIED_MAX = 10_000

interface Compiled {
  conf: JwtConfig
  secrets: Map<string, JwtSecret>
  challenge: string
  challengeError: string
  claims: readonly string[]
  /**
   * Tokens verified before, per instance and snapshot: clients reuse a token for many requests, and a signature
   * check (an RSA verify especially) costs far more than the lookup. Claims are still checked on every request;
   * failures are never cached.
   */
  verified: Lru<string, Verified>
}

type Outcome = PluginResponse | undefined

function unauthorized(c: Compiled, message: string | undefined, errors?: Record<string, unknown>): PluginResponse {
  return {
    status: 401,
    body: errors ?? { message },
    headers: { 'WWW-Authenticate': message === 'Unauthorized' ? c.challenge : c.challengeError },
  }
}

function cookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/** Every distinct token the request carries where the config looks. */
export function findTokens(ctx: PluginContext, conf: JwtConfig): Set<string> {
  const tokens = new Set<string>()
  if (conf.uri_param_names.length && ctx.request.rawQuery !== '') {
    const q = ctx.request.query
    for (const name of conf.uri_param_names) {
      const v = q[name]
      if (typeof v === 'string') {
        if (v !== '') tokens.add(v)
      } else if (v) for (const t of v) if (t !== '') tokens.add(t)
    }
  }
  if (conf.cookie_names.length) {
    const header = ctx.request.header('cookie')
    for (const name of conf.cookie_names) {
      const v = cookie(header, name)
      if (v) tokens.add(v)
    }
  }
  for (const name of conf.header_names) {
    const v = ctx.request.header(name.toLowerCase())
    if (v === undefined) continue
    const m = /^\s*[Bb]earer\s+(.+)/.exec(v)
    if (m && m[1] !== '') tokens.add(m[1].trim())
  }
  return tokens
}

/** Claims, lifetime and consumer checks once the signature is good. */
function accept(
  ctx: PluginContext,
  c: Compiled,
  jwt: DecodedJwt,
  token: string,
  keyValue: string,
  secret?: JwtSecret,
): Outcome {
  const now = Math.floor(Date.now() / 1000)
  const errors = verifyClaims(jwt.claims, c.claims, now)
  if (errors) return unauthorized(c, undefined, errors)
  if (exceedsMaximumExpiration(jwt.claims, c.conf.maximum_expiration, now))
    return unauthorized(c, undefined, { exp: 'exceeds maximum allowed expiration' })
  ctx.shared.authenticated_jwt_token = token
  if (!secret) {
    // JWKS without a mapped consumer: authenticated by the token itself.
    const sub = typeof jwt.claims.sub === 'string' ? jwt.claims.sub : keyValue
    ctx.authenticate(undefined, { id: sub, identifier: sub })
    return undefined
  }
  const consumer = ctx.consumers.byId(secret.consumerId)
  if (!consumer)
    return { status: 401, body: { message: `Could not find consumer for '${c.conf.key_claim_name}=${keyValue}'` } }
  ctx.authenticate(consumer, secret)
  return undefined
}

function viaJwks(
  ctx: PluginContext,
  c: Compiled,
  jwt: DecodedJwt,
  token: string,
  keyValue: string,
): Outcome | Promise<Outcome> {
  const alg = jwt.header.alg as string
  if (alg.startsWith('HS')) return unauthorized(c, 'Invalid algorithm')
  const kid = typeof jwt.header.kid === 'string' ? jwt.header.kid : undefined
  const check = (found: Jwk | Jwk[] | undefined): Outcome => {
    if (!found) return unauthorized(c, kid === undefined ? "No mandatory 'kid' in header" : 'Invalid key/secret')
    const candidates = Array.isArray(found) ? found : [found]
    const usable = candidates.filter((k) => k.alg === undefined || k.alg === alg)
    if (!usable.length) return unauthorized(c, 'Invalid algorithm')
    const jwk = usable.find((k) => verifySignature(jwt, alg, k.key))
    if (!jwk) return unauthorized(c, 'Invalid signature')
    c.verified.set(token, { jwt, keyValue, secret: undefined, jwk })
    return accept(ctx, c, jwt, token, keyValue, c.secrets.get(keyValue))
  }
  const found = findJwk(c.conf.jwks_uri!, c.conf.jwks_cache_ttl, kid, ctx.log)
  return found instanceof Promise ? found.then(check) : check(found)
}

function authenticate(ctx: PluginContext, c: Compiled): Outcome | Promise<Outcome> {
  const { conf } = c
  const tokens = findTokens(ctx, conf)
  if (tokens.size === 0) return unauthorized(c, 'Unauthorized')
  if (tokens.size > 1) return unauthorized(c, 'Multiple tokens provided')
  const token = tokens.values().next().value as string
  const known = c.verified.get(token)
  if (known !== undefined) {
    if (known.secret !== undefined && c.secrets.get(known.keyValue) === known.secret)
      return accept(ctx, c, known.jwt, token, known.keyValue, known.secret)
    if (known.jwk !== undefined) {
      const kid = known.jwt.header.kid
      const current = findJwk(
        c.conf.jwks_uri!,
        c.conf.jwks_cache_ttl,
        typeof kid === 'string' ? kid : undefined,
        ctx.log,
      )
      const same = current === known.jwk || (Array.isArray(current) && current.includes(known.jwk))
      if (same) return accept(ctx, c, known.jwt, token, known.keyValue, c.secrets.get(known.keyValue))
    }
    c.verified.delete(token)
  }
  const jwt = decodeJwt(token)
  if ('error' in jwt) return unauthorized(c, `Bad token; ${jwt.error}`)
  const claimed = jwt.claims[conf.key_claim_name] ?? jwt.header[conf.key_claim_name]
  if (conf.jwks_uri !== null) return viaJwks(ctx, c, jwt, token, typeof claimed === 'string' ? claimed : '')
  if (claimed === undefined || claimed === null)
    return unauthorized(c, `No mandatory '${conf.key_claim_name}' in claims`)
  if (claimed === '') return unauthorized(c, `Invalid '${conf.key_claim_name}' in claims`)
  const keyValue = String(claimed)
  const secret = c.secrets.get(keyValue)
  if (!secret) return unauthorized(c, `No credentials found for given '${conf.key_claim_name}'`)
  if (jwt.header.alg !== secret.algorithm) return unauthorized(c, 'Invalid algorithm')
  const key = keyOf(secret, conf.secret_is_base64)
  if (!key) return unauthorized(c, 'Invalid key/secret')
  if (!verifySignature(jwt, secret.algorithm, key)) return unauthorized(c, 'Invalid signature')
  c.verified.set(token, { jwt, keyValue, secret, jwk: undefined })
  return accept(ctx, c, jwt, token, keyValue, secret)
}

export const jwtHandler = defineHandler<JwtConfig, Compiled>({
  compile(conf, env) {
    if (conf.jwks_uri !== null) prefetchJwks(conf.jwks_uri, conf.jwks_cache_ttl, env.logger)
    const base = challenge('Bearer', conf.realm)
    return {
      conf,
      secrets: env.shared('jwt', ['jwt_secrets'], () => buildSecretIndex(env.entities)),
      challenge: base,
      challengeError: `${base} error="invalid_token"`,
      claims: conf.claims_to_verify ?? [],
      verified: new Lru(VERIFIED_MAX),
    }
  },
  access(ctx, c) {
    if (!c.conf.run_on_preflight && ctx.request.method === 'OPTIONS') return undefined
    if (alreadyAuthenticated(ctx, c.conf.anonymous)) return undefined
    const failure = authenticate(ctx, c)
    if (failure === undefined) return undefined
    if (failure instanceof Promise) return failure.then((f) => (f ? anonymousOr(ctx, c.conf.anonymous, f) : undefined))
    return anonymousOr(ctx, c.conf.anonymous, failure)
  },
})

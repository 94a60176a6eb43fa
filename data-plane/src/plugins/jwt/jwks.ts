/**
 * Turnpike's JWKS extension: verification keys fetched from `jwks_uri`, cached for `jwks_cache_ttl` seconds and
 * refreshed in the background before they go stale, so requests do not wait on the IdP. A token whose `kid` is
 * unknown triggers one refetch (key rotation), at most every MIN_REFETCH_MS per URI; only such a request waits.
 */
import { createPublicKey, type KeyObject } from 'node:crypto'
import type { Logger } from '@turnpike/shared'
import { outboundRequest } from '../../pipeline/outbound.ts'

export interface Jwk {
  key: KeyObject
  /** The JWK's `alg`, when it names one; the token's alg must then match. */
  alg: string | undefined
  kty: string
}

const MIN_REFETCH_MS = 10_000
const FETCH_TIMEOUT_MS = 5_000
/** Refresh in the background once this share of the TTL has passed. */
const REFRESH_AT = 0.8

interface JwksState {
  keys: Map<string, Jwk>
  /** Keys without a kid, tried in order when the token has none. */
  anonymous: Jwk[]
  fetchedAt: number
  ttlMs: number
  inFlight: Promise<void> | null
  lastAttempt: number
  /** When an unknown kid last caused a fetch: those are rate-limited, scheduled refreshes are not. */
  lastKidRefetch: number
  lastError: string | undefined
}

const cache = new Map<string, JwksState>()

/** Parses a JWK Set document; keys that are not public verification keys are skipped. */
export function parseJwks(doc: unknown): { keys: Map<string, Jwk>; anonymous: Jwk[] } {
  const keys = new Map<string, Jwk>()
  const anonymous: Jwk[] = []
  const list = (doc as { keys?: unknown })?.keys
  if (!Array.isArray(list)) throw new Error('not a JWK Set (no "keys" array)')
  for (const raw of list) {
    const jwk = raw as Record<string, unknown>
    if (jwk.use !== undefined && jwk.use !== 'sig') continue
    if (!['RSA', 'EC', 'OKP'].includes(String(jwk.kty))) continue
    let key: KeyObject
    try {
      key = createPublicKey({ key: jwk as unknown as import('node:crypto').JsonWebKey, format: 'jwk' })
    } catch {
      continue
    }
    const entry: Jwk = { key, alg: typeof jwk.alg === 'string' ? jwk.alg : undefined, kty: String(jwk.kty) }
    if (typeof jwk.kid === 'string') keys.set(jwk.kid, entry)
    else anonymous.push(entry)
  }
  return { keys, anonymous }
}

function state(uri: string, ttlSec: number): JwksState {
  let s = cache.get(uri)
  if (!s) {
    s = {
      keys: new Map(),
      anonymous: [],
      fetchedAt: 0,
      ttlMs: ttlSec * 1000,
      inFlight: null,
      lastAttempt: 0,
      lastKidRefetch: 0,
      lastError: undefined,
    }
    cache.set(uri, s)
  }
  s.ttlMs = ttlSec * 1000
  return s
}

function refresh(uri: string, s: JwksState, logger: Logger): Promise<void> {
  if (s.inFlight) return s.inFlight
  s.lastAttempt = Date.now()
  s.inFlight = outboundRequest(uri, { timeoutMs: FETCH_TIMEOUT_MS, headers: { accept: 'application/json' } })
    .then((reply) => {
      if (reply.status !== 200) throw new Error(`JWKS endpoint answered ${reply.status}`)
      const parsed = parseJwks(JSON.parse(reply.body.toString('utf8')))
      s.keys = parsed.keys
      s.anonymous = parsed.anonymous
      s.fetchedAt = Date.now()
      s.lastError = undefined
      logger.debug({ jwks_uri: uri, keys: parsed.keys.size + parsed.anonymous.length }, 'JWKS fetched')
    })
    .catch((err: Error) => {
      s.lastError = err.message
      logger.warn({ jwks_uri: uri, err: err.message }, 'JWKS fetch failed; keeping the keys already known')
    })
    .finally(() => {
      s.inFlight = null
    })
  return s.inFlight
}

/** Starts fetching a key set ahead of the first request (at snapshot compile time). */
export function prefetchJwks(uri: string, ttlSec: number, logger: Logger): void {
  const s = state(uri, ttlSec)
  if (s.fetchedAt === 0 && !s.inFlight) void refresh(uri, s, logger)
}

/**
 * The key for `kid`: immediately when cached (a background refresh starts when it is getting old); after a
 * fetch when the set was never fetched, or when the kid is unknown and no refetch happened recently.
 */
export function findJwk(
  uri: string,
  ttlSec: number,
  kid: string | undefined,
  logger: Logger,
): Jwk | Jwk[] | undefined | Promise<Jwk | Jwk[] | undefined> {
  const s = state(uri, ttlSec)
  const now = Date.now()
  const lookup = () => (kid === undefined ? (s.anonymous.length ? s.anonymous : undefined) : s.keys.get(kid))
  if (s.fetchedAt !== 0 && now - s.fetchedAt > s.ttlMs * REFRESH_AT && now - s.lastAttempt > MIN_REFETCH_MS)
    void refresh(uri, s, logger)
  const found = lookup()
  if (found) return found
  if (s.inFlight) return s.inFlight.then(lookup)
  // Never fetched (or the last fetch failed): retry at most every MIN_REFETCH_MS; same for unknown kids.
  const last = s.fetchedAt === 0 ? s.lastAttempt : s.lastKidRefetch
  if (now - last < MIN_REFETCH_MS) return undefined
  if (s.fetchedAt !== 0) s.lastKidRefetch = now
  return refresh(uri, s, logger).then(lookup)
}

/** Forgets every cached key set (tests). */
export function clearJwksCache(): void {
  cache.clear()
}

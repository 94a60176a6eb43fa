/**
 * key-auth: a key in a header, the query string or the body, looked up among the consumers' keys. Keys are stored
 * as keyed hashes (`hmac-sha256:…` with the snapshot's keyring secret): the presented key is hashed once and found
 * in a map built per snapshot, so a lookup costs the same with one consumer or a million.
 */
import { createHash, hash } from 'node:crypto'
import { type ConfigEntities, hashApiKey, isHashedApiKey, type KeyAuthConfig } from '@turnpike/shared'
import { alreadyAuthenticated, anonymousOr, challenge } from '../../pipeline/auth.ts'
import { encodeBody } from '../../pipeline/body-codec.ts'
import { foreignId } from '../../pipeline/consumers.ts'
import { type AuthCredential, defineHandler, type PluginContext, type PluginResponse } from '../../pipeline/types.ts'

export const MESSAGES = {
  noKey: 'No API key found in request',
  invalid: 'Unauthorized',
  duplicate: 'Duplicate API key found',
} as const

/** One object per key: it is also the credential handed to `ctx.authenticate`. */
interface KeyEntry extends AuthCredential {
  consumerId: string
  /** Epoch seconds; null when the key does not expire (Kong's `ttl`). */
  expiresAt: number | null
}

const BLOCK = 64
const PREFIX = 'hmac-sha256:'

/**
 * `hashApiKey(secret, ·)` with the HMAC pads computed once per snapshot: two one-shot SHA-256 per key instead of a
 * node Hmac object, the largest single cost of key-auth on the hot path. Same output (a test compares them).
 */
export function keyHasher(secret: string): (key: string) => string {
  let k = Buffer.from(secret, 'utf8')
  if (k.length > BLOCK) k = createHash('sha256').update(k).digest()
  const inner = Buffer.alloc(BLOCK + 1024)
  const outer = Buffer.alloc(BLOCK + 32)
  for (let i = 0; i < BLOCK; i++) {
    const b = i < k.length ? k[i] : 0
    inner[i] = b ^ 0x36
    outer[i] = b ^ 0x5c
  }
  return (key) => {
    if (Buffer.byteLength(key) > inner.length - BLOCK) return hashApiKey(secret, key)
    const n = inner.write(key, BLOCK, 'utf8')
    hash('sha256', inner.subarray(0, BLOCK + n), 'buffer').copy(outer, BLOCK)
    return PREFIX + hash('sha256', outer, 'base64url')
  }
}

export interface KeyIndex {
  /** The keyring secret keys are hashed with; undefined when the snapshot has none. */
  secret: string | undefined
  /** Hashes a presented key as stored keys were; undefined without a keyring. */
  hashKey: ((key: string) => string) | undefined
  hashed: Map<string, KeyEntry>
  /** Keys stored in clear (a declarative file without a keyring): looked up as presented. */
  plain: Map<string, KeyEntry> | null
}

export function buildKeyIndex(entities: ConfigEntities): KeyIndex {
  const secret = (entities.keyring?.[0]?.secret as string | undefined) ?? undefined
  const hashed = new Map<string, KeyEntry>()
  let plain: Map<string, KeyEntry> | null = null
  for (const row of entities.keyauth_credentials ?? []) {
    const consumerId = foreignId(row, 'consumer')
    if (typeof row.key !== 'string' || consumerId === undefined) continue
    const expiresAt = typeof row.expires_at === 'number' ? row.expires_at : null
    const entry: KeyEntry = { id: row.id, identifier: row.id, consumerId, expiresAt }
    if (isHashedApiKey(row.key)) hashed.set(row.key, entry)
    else if (secret !== undefined) hashed.set(hashApiKey(secret, row.key), entry)
    else {
      plain ??= new Map()
      plain.set(row.key, entry)
    }
  }
  return { secret, hashKey: secret === undefined ? undefined : keyHasher(secret), hashed, plain }
}

export function findKey(index: KeyIndex, key: string): KeyEntry | undefined {
  const entry =
    index.plain?.get(key) ?? (index.hashKey === undefined ? undefined : index.hashed.get(index.hashKey(key)))
  if (entry?.expiresAt != null && entry.expiresAt <= Date.now() / 1000) return undefined
  return entry
}

interface Compiled {
  conf: KeyAuthConfig
  /** key_names lowercased, for header lookups. */
  headerNames: string[]
  index: KeyIndex
  wwwAuthenticate: { 'WWW-Authenticate': string }
}

function unauthorized(c: Compiled, message: string): PluginResponse {
  return { status: 401, body: { message }, headers: c.wwwAuthenticate }
}

/** A header's value, or 'duplicate' when the client sent it more than once. */
function headerValue(ctx: PluginContext, lower: string): string | 'duplicate' | undefined {
  const v = ctx.request.headers[lower]
  if (v === undefined || Array.isArray(v)) return v?.[0]
  // node joins repeated custom headers with ", "; only then is the distinct view worth building.
  // (HTTP/2 requests have no headersDistinct; a repeated header arrives joined there as well.)
  if (v.includes(',') && (ctx.request.raw.headersDistinct?.[lower]?.length ?? 0) > 1) return 'duplicate'
  return v
}

function verify(ctx: PluginContext, c: Compiled, key: string | undefined): PluginResponse | undefined {
  if (key === undefined || key === '') return unauthorized(c, MESSAGES.noKey)
  const entry = findKey(c.index, key)
  const consumer = entry && ctx.consumers.byId(entry.consumerId)
  if (!entry || !consumer) return unauthorized(c, MESSAGES.invalid)
  ctx.authenticate(consumer, entry)
  return undefined
}

function hideInQuery(ctx: PluginContext, name: string): void {
  const { [name]: _removed, ...rest } = ctx.request.query
  ctx.upstream.setQuery(rest)
}

/** Looks in the body (read on demand) for the names not found in headers and query. */
async function fromBody(ctx: PluginContext, c: Compiled): Promise<PluginResponse | undefined> {
  const body = await ctx.request.parsedBody()
  for (const name of c.conf.key_names) {
    const v = body?.[name]
    if (Array.isArray(v)) return unauthorized(c, MESSAGES.duplicate)
    if (typeof v !== 'string') continue
    if (c.conf.hide_credentials && body) {
      const { [name]: _removed, ...rest } = body
      const encoded = encodeBody(ctx.request.header('content-type'), rest)
      if (encoded !== undefined) ctx.upstream.setBody(encoded)
    }
    return verify(ctx, c, v)
  }
  return verify(ctx, c, undefined)
}

function authenticate(
  ctx: PluginContext,
  c: Compiled,
): PluginResponse | undefined | Promise<PluginResponse | undefined> {
  const { conf } = c
  const query = conf.key_in_query && ctx.request.rawQuery !== '' ? ctx.request.query : undefined
  for (let i = 0; i < conf.key_names.length; i++) {
    const name = conf.key_names[i]
    const fromHeader = conf.key_in_header ? headerValue(ctx, c.headerNames[i]) : undefined
    if (fromHeader === 'duplicate') return unauthorized(c, MESSAGES.duplicate)
    let v: string | string[] | undefined = fromHeader
    let inQuery = false
    if (v === undefined && query !== undefined) {
      v = query[name]
      inQuery = v !== undefined
    }
    if (Array.isArray(v)) return unauthorized(c, MESSAGES.duplicate)
    if (v === undefined) continue
    if (conf.hide_credentials) {
      if (inQuery) hideInQuery(ctx, name)
      else ctx.upstream.clearHeader(name)
    }
    return verify(ctx, c, v)
  }
  if (conf.key_in_body && ctx.request.hasBody) return fromBody(ctx, c)
  return verify(ctx, c, undefined)
}

export const keyAuthHandler = defineHandler<KeyAuthConfig, Compiled>({
  compile(conf, env) {
    return {
      conf,
      headerNames: conf.key_names.map((n) => n.toLowerCase()),
      index: env.shared('key-auth', ['keyauth_credentials', 'keyring'], () => buildKeyIndex(env.entities)),
      wwwAuthenticate: { 'WWW-Authenticate': challenge('Key', conf.realm) },
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

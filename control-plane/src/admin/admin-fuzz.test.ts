/**
 * Hammers the Admin API with random and malformed requests: wrong types, huge strings, 10k-deep nesting, invalid
 * UTF-8, duplicate and prototype-polluting keys, odd form keys. No answer may be a 5xx, every answer must be
 * Kong-shaped JSON, and a failed write must leave every table exactly as it was.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { entities, publicEntities } from '@turnpike/shared'
import { sql } from 'kysely'
import { testDatabases } from '../db/test-databases.ts'
import { type AdminResponse, openTestAdmin, type TestAdmin } from './test-admin.ts'

const ROUNDS = Number(process.env.TURNPIKE_FUZZ_ROUNDS ?? 250)
const SEED = Number(process.env.TURNPIKE_FUZZ_SEED ?? Date.now() % 1_000_000)

/** mulberry32: small, seeded, good enough to pick cases reproducibly. */
function prng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const NASTY_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', ' ', '@entity', 'id']
const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\uFFFD',
  '\uD800',
  '💥',
  '../../etc/passwd',
  '%00',
  "'; drop table services; --",
  '<script>',
  '~/(unclosed',
  '*.*.x',
  '1e400',
  'hmac-sha256:AAAA',
  'scrypt:1:1:1:AA==:AA==',
]

/** Any value as text (JSON for objects, whose own `toString` may be anything). */
const text = (v: unknown) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))

/** Percent-encoding; a lone surrogate becomes the invalid UTF-8 it would be. */
function enc(s: string): string {
  try {
    return encodeURIComponent(s)
  } catch {
    return '%ED%A0%80'
  }
}

function deepNest(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
}

for (const target of testDatabases) {
  describe(`Admin API fuzz on ${target.name}`, { skip: target.skip }, () => {
    let a: TestAdmin
    const rand = prng(SEED)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T
    const int = (n: number) => Math.floor(rand() * n)

    before(async () => {
      a = await openTestAdmin(target)
      // Some parents, so nested paths and references have something to hit.
      await a.call('POST', '/services', { name: 'fz-svc', host: 'fz.test' })
      await a.call('POST', '/services/fz-svc/routes', { name: 'fz-route', paths: ['/fz'] })
      await a.call('POST', '/consumers', { username: 'fz-user' })
      await a.call('POST', '/upstreams', { name: 'fz-up' })
      await a.call('POST', '/consumers/fz-user/key-auth', { key: 'fz-key' })
    })
    after(() => a?.close())

    const tables = entities.map((d) => d.name)
    async function counts(): Promise<string> {
      const q = sql<{ c: string }>`select concat_ws(',', ${sql.join(
        tables.map((t) => sql`(select count(*) from ${sql.table(t)})`),
      )}) as c`
      return (await q.execute(a.db.db)).rows[0]?.c ?? ''
    }

    /** A random JSON value, sometimes of the right shape for `field`. */
    function value(depth = 0): unknown {
      const r = int(12)
      if (depth > 4) return pick(NASTY_STRINGS)
      switch (r) {
        case 0:
          return null
        case 1:
          return rand() < 0.5
        case 2:
          return pick([0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, 65536, 99999])
        case 3:
          return pick(NASTY_STRINGS)
        case 4:
          return 'x'.repeat(pick([1, 255, 4096, 100_000]))
        case 5:
          return Array.from({ length: int(4) }, () => value(depth + 1))
        case 6:
          return Object.fromEntries(Array.from({ length: int(4) }, () => [pick(NASTY_KEYS), value(depth + 1)]))
        case 7:
          return { id: pick(['not-a-uuid', '00000000-0000-0000-0000-000000000000']) }
        case 8:
          return { name: 'fz-svc' }
        default:
          return pick(['http://x.test', 'fz.test', '/p', 'GET', 'rate-limiting', 'key-auth', 'fz-user', '10.0.0.1:80'])
      }
    }

    function jsonBody(fields: string[]): string {
      const r = int(8)
      if (r === 0) return deepNest(10_000, pick(['array', 'object'] as const))
      if (r === 1) return `{"host":${deepNest(10_000, 'array')}}`
      if (r === 2) return '{"name":"dup","name":"dup2","host":"dup.test","host":5}'
      if (r === 3)
        return '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"host":"p.test"}'
      if (r === 4) return pick(['', 'null', '[]', '"s"', '1', '{', '{"a":', '\u0000', 'NaN'])
      const body: Record<string, unknown> = {}
      for (let i = int(6); i >= 0; i--) body[rand() < 0.7 ? pick(fields) : pick(NASTY_KEYS)] = value()
      return JSON.stringify(body)
    }

    function formKey(fields: string[]): string {
      const parts = [rand() < 0.6 ? pick(fields) : pick(['a', '__proto__', 'constructor', '', 'config', 'x'])]
      for (let i = int(5); i > 0; i--)
        parts.push(pick(['[]', '[b]', '.c', '[1]', '[0]', '[99999999]', '.', '[', ']', '[__proto__]', '.prototype']))
      return parts.join('')
    }

    function formBody(fields: string[]): string {
      const r = int(6)
      if (r === 0) return `${'a['.repeat(5000)}=1`
      if (r === 1) return '%zz=%ff&host=%E0%A4%A'
      return Array.from({ length: 1 + int(6) }, () => `${enc(formKey(fields))}=${enc(text(value(3)))}`).join('&')
    }

    function multipartBody(fields: string[]): { body: string; type: string } {
      const b = `fz${int(1e6)}`
      const parts = Array.from(
        { length: int(4) },
        () => `--${b}\r\nContent-Disposition: form-data; name="${formKey(fields)}"\r\n\r\n${text(value(3))}\r\n`,
      )
      const end = rand() < 0.8 ? `--${b}--\r\n` : '--broken'
      return { body: parts.join('') + end, type: `multipart/form-data; boundary=${b}` }
    }

    /** Valid bodies per entity, which mutations then break in one place (reaching the store and the database). */
    let serial = 0
    const consumer = { username: 'fz-user' }
    const bases: Record<string, () => Record<string, unknown>> = {
      services: () => ({ name: `fz-s${serial}`, host: 'fz.test' }),
      routes: () => ({ name: `fz-r${serial}`, paths: [`/r${serial}`], service: { name: 'fz-svc' } }),
      consumers: () => ({ username: `fz-c${serial}` }),
      plugins: () => ({
        name: pick(['rate-limiting', 'cors', 'key-auth']),
        config: { minute: 1 },
        service: { name: 'fz-svc' },
      }),
      upstreams: () => ({ name: `fz-u${serial}.test` }),
      targets: () => ({ target: `10.0.${serial % 250}.1:80`, upstream: { name: 'fz-up' } }),
      keyauth_credentials: () => ({ consumer, key: pick([`k${serial}`, 'fz-key']) }),
      basicauth_credentials: () => ({ consumer, username: `fz-b${serial}`, password: 'p' }),
      hmacauth_credentials: () => ({ consumer, username: `fz-h${serial}` }),
      jwt_secrets: () => ({ consumer }),
      acls: () => ({ consumer, group: pick(['g1', 'g2', `g${serial}`]) }),
      snis: () => ({ name: `s${serial}.test`, certificate: { id: '00000000-0000-0000-0000-000000000000' } }),
    }
    const bigString = () =>
      randomBytes(pick([3000, 9000, 200_000]))
        .toString('base64')
        .slice(0, 600_000)

    function nearValid(name: string, fields: string[]): string {
      serial++
      const body = (bases[name] ?? (() => ({})))()
      const r = int(4)
      if (r === 1) body[pick(fields)] = value()
      if (r === 2) body[pick(Object.keys(body).length ? Object.keys(body) : fields)] = bigString()
      if (r === 3)
        body.tags = pick([[bigString()], ['a', 'a'], [''], 'x', Array.from({ length: 500 }, (_, i) => `t${i}`)])
      return JSON.stringify(body)
    }

    /** A random request against a random entity endpoint. */
    function request(): { method: string; url: string; payload?: string | Buffer; type?: string } {
      const def = pick(publicEntities)
      const fields = [...Object.keys(def.fields), 'url', 'snis', 'ttl', 'config']
      const base = `/${def.admin_path}`
      const key = pick([
        'fz-svc',
        'fz-user',
        'fz-key',
        '%00',
        '%ff',
        'x'.repeat(300),
        '00000000-0000-0000-0000-000000000000',
      ])
      const url = pick([
        base,
        base,
        `${base}/${key}`,
        `/consumers/fz-user/${def.nested_path ?? def.admin_path}`,
        `/services/fz-svc/${def.admin_path}`,
        `/schemas/${def.name}/validate`,
        '/schemas/plugins/validate',
        `${base}?size=${pick(['0', '-1', 'abc', '1001', '1e3'])}&tags=${enc(pick(['a,b/c', 'a,b,c,d,e,f', '\u0000']))}`,
        `${base}?ttl=${pick(['-1', 'abc', '1e9', '5'])}`,
      ])
      const method = pick(['POST', 'POST', 'PUT', 'PATCH', 'GET', 'DELETE'])
      const r = int(13)
      if (r >= 10)
        return {
          method: pick(['POST', 'POST', 'PUT']),
          url: pick([base, `${base}/${key}`]),
          payload: nearValid(def.name, fields),
          type: 'application/json',
        }
      if (r < 5) return { method, url, payload: jsonBody(fields), type: 'application/json' }
      if (r < 7) return { method, url, payload: formBody(fields), type: 'application/x-www-form-urlencoded' }
      if (r === 7) {
        const m = multipartBody(fields)
        return { method, url, payload: m.body, type: m.type }
      }
      if (r === 8)
        return {
          method,
          url,
          // Invalid UTF-8 inside an otherwise plausible JSON body.
          payload: Buffer.concat([
            Buffer.from('{"username":"'),
            Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0]),
            Buffer.from('","host":"u.test","name":"n\xff"}', 'latin1'),
          ]),
          type: 'application/json',
        }
      return {
        method,
        url,
        payload: 'x'.repeat(int(2000)),
        type: pick(['text/plain', 'application/xml', '', 'application/json; charset=bogus']),
      }
    }

    it(`answers ${ROUNDS} random and malformed requests without a 5xx or a half-written change (seed ${SEED})`, async () => {
      const statuses = new Map<number, number>()
      for (let i = 0; i < ROUNDS; i++) {
        const req = request()
        const before = await counts()
        const res: AdminResponse = await a.call(
          req.method,
          req.url,
          req.payload,
          req.type ? { 'content-type': req.type } : {},
        )
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
        const what = `#${i} ${req.method} ${req.url.slice(0, 120)} ${String(req.payload).slice(0, 120)} → ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`
        assert.ok(res.status < 500, what)
        if (res.status >= 400) {
          assert.equal(typeof res.body.message, 'string', what)
          assert.equal(await counts(), before, `failed write changed rows: ${what}`)
        }
      }
      // Prototype pollution would show up on every object.
      assert.equal(({} as Record<string, unknown>).polluted, undefined)
      assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false)
      // Still serving normally.
      assert.equal((await a.call('GET', '/services/fz-svc')).status, 200)
      const spread = [...statuses.entries()].sort((x, y) => x[0] - y[0])
      process.stdout.write(`# fuzz ${target.name}: seed ${SEED}, statuses ${JSON.stringify(spread)}\n`)
      assert.ok(statuses.size > 3, 'the cases reach varied outcomes')
    })
  })
}

/** The plugin runtime: precedence, consumer overlay, "any of" auth, phases, failures — through a real data plane. */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { request } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { hashApiKey, hashPassword, loadPluginDefinitions } from '@turnpike/shared'
import { eventually } from '../testing/harness.ts'
import { type Harness, routeRow, row, startHarness } from './test-harness.ts'

// Test-only plugins (testdata/plugins, loaded as plugins_dir by every proxy worker): one that throws, one that
// reports its phases on a BroadcastChannel, one that answers in rewrite.
const PLUGINS_DIR = fileURLToPath(new URL('./testdata/plugins', import.meta.url))
const events: string[] = []
const phases = new BroadcastChannel('turnpike-test-phases')
phases.onmessage = (e) => events.push(String((e as { data: unknown }).data))
phases.unref()

const termination = (status: number, scope: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  row('plugins', {
    name: 'request-termination',
    config: { status_code: status, message: `by ${status}` },
    ...scope,
    ...extra,
  })

describe('plugin pipeline', () => {
  let h: Harness
  const secret = 'ring'
  before(async () => {
    // The main thread validates configs with the definitions; the workers load the handlers too.
    await loadPluginDefinitions(PLUGINS_DIR)
    h = await startHarness({ plugins_dir: PLUGINS_DIR })
  })
  after(async () => {
    phases.close()
    await h.close()
  })

  it('picks the most specific instance: route+service, route, service, global; skips disabled ones', async () => {
    const other = row('services', { name: 'other', url: 'http://127.0.0.1:9' })
    const rs = routeRow(h.serviceId, { paths: ['/rs'] })
    const r = routeRow(h.serviceId, { paths: ['/r'] })
    const s = routeRow(h.serviceId, { paths: ['/s'] })
    const g = routeRow(other.id, { paths: ['/g'] })
    const off = routeRow(h.serviceId, { paths: ['/off'] })
    await h.publish({
      services: [other],
      routes: [rs, r, s, g, off],
      plugins: [
        termination(401, {}),
        termination(402, { service: { id: h.serviceId } }),
        termination(403, { route: { id: r.id } }),
        termination(404, { route: { id: rs.id }, service: { id: h.serviceId } }),
        termination(405, { route: { id: rs.id } }),
        termination(406, { route: { id: off.id } }, { enabled: false }),
      ],
    })
    assert.equal((await h.call('/rs')).status, 404)
    assert.equal((await h.call('/r')).status, 403)
    assert.equal((await h.call('/s')).status, 402)
    assert.equal((await h.call('/g')).status, 401)
    const disabled = await h.call('/off')
    assert.equal(disabled.status, 402)
    assert.deepEqual(disabled.json, { message: 'by 402' })
  })

  it('overlays consumer-scoped instances once auth identified the consumer (Kong precedence)', async () => {
    const vip = row('consumers', { username: 'vip' })
    const blocked = row('consumers', { username: 'blocked' })
    const plain = row('consumers', { username: 'plain' })
    const r1 = routeRow(h.serviceId, { paths: ['/c1'] })
    const r2 = routeRow(h.serviceId, { paths: ['/c2'] })
    const key = (c: { id: string }, k: string) =>
      row('keyauth_credentials', { consumer: { id: c.id }, key: hashApiKey(secret, k) })
    await h.publish({
      keyring: [{ id: randomUUID(), secret }],
      consumers: [vip, blocked, plain],
      routes: [r1, r2],
      keyauth_credentials: [key(vip, 'vip'), key(blocked, 'blocked'), key(plain, 'plain')],
      plugins: [
        row('plugins', { name: 'key-auth' }),
        row('plugins', { name: 'rate-limiting', config: { minute: 1000 } }),
        // Consumer-only beats route and global; route+consumer beats consumer-only.
        row('plugins', { name: 'rate-limiting', consumer: { id: vip.id }, config: { minute: 5000 } }),
        row('plugins', {
          name: 'rate-limiting',
          consumer: { id: vip.id },
          route: { id: r2.id },
          config: { minute: 7000 },
        }),
        termination(403, { consumer: { id: blocked.id } }),
        // route+service outranks consumer-only: `blocked` passes on /c2.
        row('plugins', {
          name: 'request-termination',
          route: { id: r2.id },
          service: { id: h.serviceId },
          config: { status_code: 200, body: 'rs wins' },
        }),
      ],
    })
    const limit = async (path: string, k: string) =>
      (await h.call(path, { headers: { apikey: k } })).headers['x-ratelimit-limit-minute']
    assert.equal(await limit('/c1', 'plain'), '1000')
    assert.equal(await limit('/c1', 'vip'), '5000')
    assert.equal(await limit('/c2', 'vip'), '7000')
    const b = await h.call('/c1', { headers: { apikey: 'blocked' } })
    assert.equal(b.status, 403)
    assert.deepEqual(b.json, { message: 'by 403' })
    assert.equal((await h.call('/c2', { headers: { apikey: 'blocked' } })).body, 'rs wins')
  })

  it('several auth plugins with anonymous work as "any of them"; anonymous can be refused', async () => {
    const anon = row('consumers', { username: 'anonymous' })
    const alice = row('consumers', { username: 'alice' })
    const route = routeRow(h.serviceId, { paths: ['/any'] })
    await h.publish({
      keyring: [{ id: randomUUID(), secret }],
      consumers: [anon, alice],
      routes: [route],
      keyauth_credentials: [row('keyauth_credentials', { consumer: { id: alice.id }, key: hashApiKey(secret, 'k') })],
      basicauth_credentials: [
        row('basicauth_credentials', {
          consumer: { id: alice.id },
          username: 'alice',
          password: await hashPassword('pw'),
        }),
      ],
      plugins: [
        row('plugins', { name: 'key-auth', route: { id: route.id }, config: { anonymous: anon.id } }),
        row('plugins', { name: 'basic-auth', route: { id: route.id }, config: { anonymous: 'anonymous' } }),
        row('plugins', {
          name: 'request-termination',
          consumer: { id: anon.id },
          config: { status_code: 401, message: 'Unauthorized' },
        }),
      ],
    })
    const byKey = await h.call('/any', { headers: { apikey: 'k' } })
    assert.equal(byKey.status, 200)
    assert.equal(byKey.upstream!.headers['x-credential-identifier'] !== 'alice', true)
    const byBasic = await h.call('/any', {
      headers: { authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` },
    })
    assert.equal(byBasic.status, 200)
    assert.equal(byBasic.upstream!.headers['x-credential-identifier'], 'alice')
    const neither = await h.call('/any', { headers: { apikey: 'wrong' } })
    assert.equal(neither.status, 401)
    assert.deepEqual(neither.json, { message: 'Unauthorized' })
  })

  it('a throwing handler is a 500 with a request id, and the data plane keeps serving', async () => {
    const sync = routeRow(h.serviceId, { paths: ['/boom'] })
    const async = routeRow(h.serviceId, { paths: ['/async-boom'] })
    const fine = routeRow(h.serviceId, { paths: ['/fine'] })
    await h.publish({
      routes: [sync, async, fine],
      plugins: [
        row('plugins', { name: 'test-boom', route: { id: sync.id } }),
        row('plugins', { name: 'test-boom', route: { id: async.id }, config: { when: 'async' } }),
      ],
    })
    for (const [path, headers] of [
      ['/boom', { 'x-boom': '1' }],
      ['/async-boom', {}],
    ] as const) {
      const r = await h.call(path, { headers })
      assert.equal(r.status, 500)
      assert.equal(r.json?.message, 'An unexpected error occurred')
      assert.match(String(r.json?.request_id), /^[0-9a-f]{32}$/)
    }
    assert.equal((await h.call('/boom')).status, 200)
    assert.equal((await h.call('/fine')).status, 200)
  })

  it('runs access, response and log in order, the log after the response went out', async () => {
    const route = routeRow(h.serviceId, { paths: ['/phases'] })
    const https = routeRow(h.serviceId, { paths: ['/https-only-plugin'] })
    await h.publish({
      routes: [route, https],
      plugins: [
        row('plugins', { name: 'test-phases', route: { id: route.id } }),
        row('plugins', { name: 'request-termination', route: { id: https.id }, protocols: ['https'] }),
      ],
    })
    events.length = 0
    const r = await h.call('/phases/x')
    assert.equal(r.status, 200)
    assert.equal(r.headers['x-from-access'], 'yes')
    await eventually(() => events.length >= 3, 'three phases reported')
    assert.deepEqual(events, ['access /phases/x', 'response 200 upstream', 'log 200 true'])
    // A plugin limited to https does not run on http.
    assert.equal((await h.call('/https-only-plugin')).status, 200)
  })

  it('runs global rewrite plugins before routing', async () => {
    const route = routeRow(h.serviceId, { paths: ['/rw'] })
    await h.publish({ routes: [route], plugins: [row('plugins', { name: 'test-rewrite' })] })
    const blocked = await h.call('/blocked-before-routing')
    assert.equal(blocked.status, 451)
    assert.deepEqual(blocked.json, { message: 'Unavailable for legal reasons' })
    const ok = await h.call('/rw')
    assert.equal(ok.upstream!.headers['x-rewritten'], '1')
    const none = await h.call('/nothing-here')
    assert.equal(none.status, 404)
    assert.deepEqual(none.json, { message: 'no Route matched with those values' })
  })

  it('applies the route plugins to WebSocket handshakes', async () => {
    const route = routeRow(h.serviceId, { paths: ['/ws'], protocols: ['ws'] })
    await h.publish({ routes: [route], plugins: [row('plugins', { name: 'key-auth', route: { id: route.id } })] })
    const { hostname, port } = new URL(h.dp.proxyUrl)
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({
        hostname,
        port,
        path: '/ws',
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
          'sec-websocket-version': '13',
        },
      })
      req.on('response', (res) => {
        let body = ''
        res.on('data', (c: Buffer) => {
          body += c.toString()
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      req.on('upgrade', () => reject(new Error('upgraded without a key')))
      req.on('error', reject)
      req.end()
    })
    assert.equal(answer.status, 401)
    assert.deepEqual(JSON.parse(answer.body), { message: 'No API key found in request' })
  })

  it('rejects a snapshot whose plugin config is invalid, keeping the last one', async () => {
    const route = routeRow(h.serviceId, { paths: ['/keep'] })
    await h.publish({ routes: [route] })
    await assert.rejects(
      h.publish({
        routes: [route],
        plugins: [{ id: randomUUID(), name: 'rate-limiting', config: { minute: 'lots' }, enabled: true }],
      }),
      /plugins\[.*\] \(rate-limiting\): config.minute: expected a number/,
    )
    assert.equal((await h.call('/keep')).status, 200)
  })
})

/**
 * Load balancing end to end: real upstream servers on loopback, a data plane fed in-process, services whose host
 * names an upstream. Spread, weights, hashing, least-connections, Host headers, passive and active health checks.
 */
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import type { ConfigEntities } from '@turnpike/shared'
import { call, eventually, json, startTestDataPlane, type TestDataPlane, uuid } from '../testing/harness.ts'

/** A backend that answers with its name and the Host it saw; `down` makes it answer 500, `stop` closes it. */
interface Backend {
  name: string
  port: number
  hits: number
  status: number
  delayMs: number
  server: Server
  stop(): Promise<void>
  start(): Promise<void>
}

async function backend(name: string): Promise<Backend> {
  const b: Backend = {
    name,
    port: 0,
    hits: 0,
    status: 200,
    delayMs: 0,
    server: createServer((req, res) => {
      if (req.url === '/health') {
        res.writeHead(b.status).end()
        return
      }
      b.hits++
      const answer = () => {
        res.writeHead(b.status, { 'content-type': 'application/json', 'x-backend': name })
        res.end(JSON.stringify({ name, host: req.headers.host }))
      }
      if (b.delayMs) setTimeout(answer, b.delayMs)
      else answer()
    }),
    stop: () =>
      new Promise((resolve) => {
        b.server.close(() => resolve())
        b.server.closeAllConnections()
      }),
    start: () =>
      new Promise((resolve) => {
        b.server.listen(b.port, '127.0.0.1', () => resolve())
      }),
  }
  await new Promise<void>((resolve) => b.server.listen(0, '127.0.0.1', () => resolve()))
  b.port = (b.server.address() as AddressInfo).port
  return b
}

const SERVICE = uuid(1)
const UPSTREAM = uuid(10)

function config(
  backends: readonly Backend[],
  upstream: Record<string, unknown> = {},
  weights: readonly number[] = backends.map(() => 100),
  service: Record<string, unknown> = {},
): ConfigEntities {
  return {
    services: [{ id: SERVICE, name: 'svc', protocol: 'http', host: 'pool.internal', port: 80, retries: 5, ...service }],
    routes: [{ id: uuid(2), paths: ['/'], service: { id: SERVICE } }],
    upstreams: [{ id: UPSTREAM, name: 'pool.internal', ...upstream }],
    targets: backends.map((b, i) => ({
      id: uuid(100 + i),
      upstream: { id: UPSTREAM },
      target: `127.0.0.1:${b.port}`,
      weight: weights[i],
    })),
  }
}

describe('load balancing', () => {
  let dp: TestDataPlane
  let backends: Backend[]

  before(async () => {
    dp = await startTestDataPlane()
    backends = await Promise.all(['a', 'b', 'c'].map(backend))
  })
  after(async () => {
    await dp.close()
    await Promise.all(backends.map((b) => b.stop()))
  })

  const reset = () => {
    for (const b of backends) {
      b.hits = 0
      b.status = 200
      b.delayMs = 0
    }
  }
  const send = (n: number, headers?: Record<string, string>) =>
    Promise.all(Array.from({ length: n }, () => call(dp.dp.proxyUrl, '/x', { headers })))

  it('spreads evenly over equal targets, and as the weights say', async () => {
    reset()
    await dp.apply(config(backends))
    for (let i = 0; i < 30; i++) await send(10)
    for (const b of backends) assert.ok(b.hits >= 80 && b.hits <= 120, `${b.name} got ${b.hits} of 300`)

    reset()
    await dp.apply(config(backends.slice(0, 2), {}, [100, 300]))
    for (let i = 0; i < 40; i++) await send(10)
    const [a, b] = backends
    assert.ok(a!.hits >= 70 && a!.hits <= 130, `weight 1 got ${a!.hits} of 400`)
    assert.equal(a!.hits + b!.hits, 400)
  })

  it('sends Host as the target names it, or host_header', async () => {
    reset()
    await dp.apply(config(backends.slice(0, 1)))
    const r = json(await call(dp.dp.proxyUrl, '/x'))
    assert.equal(r.host, `127.0.0.1:${backends[0]!.port}`)
    await dp.apply(config(backends.slice(0, 1), { host_header: 'api.example.com' }))
    assert.equal(json(await call(dp.dp.proxyUrl, '/x')).host, 'api.example.com')
  })

  it('drains a target at weight 0 and answers 503 when none is left', async () => {
    reset()
    await dp.apply(config(backends, {}, [100, 0, 100]))
    await send(30)
    assert.equal(backends[1]!.hits, 0)
    await dp.apply(config(backends, {}, [0, 0, 0]))
    const r = await call(dp.dp.proxyUrl, '/x')
    assert.equal(r.status, 503)
    assert.equal(json(r).message, 'failure to get a peer from the ring-balancer')
  })

  it('hashes on a header: sticky, and a removed target moves only its share', async () => {
    reset()
    const hashed = { hash_on: 'header', hash_on_header: 'x-user', algorithm: 'consistent-hashing' }
    await dp.apply(config(backends, hashed))
    const owner = new Map<string, string>()
    for (let u = 0; u < 90; u++) {
      const r = await call(dp.dp.proxyUrl, '/x', { headers: { 'x-user': `user-${u}` } })
      owner.set(`user-${u}`, json(r).name)
    }
    for (let u = 0; u < 90; u += 9) {
      const r = await call(dp.dp.proxyUrl, '/x', { headers: { 'x-user': `user-${u}` } })
      assert.equal(json(r).name, owner.get(`user-${u}`), 'same key, same target')
    }
    await dp.apply(config(backends.slice(0, 2), hashed))
    let moved = 0
    for (const [user, was] of owner) {
      const now = json(await call(dp.dp.proxyUrl, '/x', { headers: { 'x-user': user } })).name
      if (was !== 'c') assert.equal(now, was, `${user} stayed on ${was}`)
      else moved++
    }
    assert.ok(moved > 10 && moved < 50, `c's share moved (${moved} of 90)`)
  })

  it('hashes on a cookie it sets itself', async () => {
    reset()
    await dp.apply(config(backends, { hash_on: 'cookie', hash_on_cookie: 'lb', hash_on_cookie_path: '/app' }))
    const first = await call(dp.dp.proxyUrl, '/x')
    const cookie = String(first.headers['set-cookie'])
    assert.match(cookie, /^lb=[^;]+; Path=\/app/)
    const value = cookie.split(';')[0]!
    const name = json(first).name
    for (let i = 0; i < 10; i++) {
      const r = await call(dp.dp.proxyUrl, '/x', { headers: { cookie: value } })
      assert.equal(json(r).name, name)
      assert.equal(r.headers['set-cookie'], undefined)
    }
  })

  it('least-connections prefers the idle target', async () => {
    reset()
    backends[0]!.delayMs = 1000
    await dp.apply(config(backends.slice(0, 2), { algorithm: 'least-connections' }))
    const [a, b] = [backends[0]!, backends[1]!]
    // One request at a time until two of them hang on a (those on b come straight back).
    const held: Promise<unknown>[] = []
    for (let sent = 1; a.hits < 2; sent++) {
      const onA = a.hits
      const reply = call(dp.dp.proxyUrl, '/x')
      await eventually(() => a.hits + b.hits === sent, 'the request reached a target')
      if (a.hits > onA) held.push(reply)
      else await reply
    }
    const idleBefore = b.hits
    for (let i = 0; i < 10; i++) await call(dp.dp.proxyUrl, '/x')
    await Promise.all(held)
    assert.equal(a.hits, 2, 'busy a got nothing more')
    assert.equal(b.hits - idleBefore, 10, 'idle b got them all')
  })

  it('passive checks trip a failing target; retries hide a dead one', async () => {
    reset()
    const passive = {
      healthchecks: { passive: { unhealthy: { http_failures: 2, tcp_failures: 1, http_statuses: [500] } } },
    }
    await dp.apply(config(backends, passive))
    backends[2]!.status = 500
    const replies = []
    for (let i = 0; i < 60; i++) replies.push(await call(dp.dp.proxyUrl, '/x'))
    const failures = replies.filter((r) => r.status === 500).length
    assert.ok(failures <= 2, `only the tripping requests fail (${failures})`)
    assert.ok(
      replies.slice(-30).every((r) => r.status === 200),
      'c is out of rotation',
    )

    // A target that refuses connections: retried on the next one, tripped after one TCP failure.
    const dead = await backend('dead')
    await dead.stop()
    await dp.apply(config([backends[0]!, dead], passive))
    for (let i = 0; i < 20; i++) assert.equal((await call(dp.dp.proxyUrl, '/x')).status, 200)
  })

  it('active checks take a dead target out and bring it back', async () => {
    reset()
    const active = {
      healthchecks: {
        active: {
          http_path: '/health',
          timeout: 1,
          healthy: { interval: 0.1, successes: 1 },
          unhealthy: { interval: 0.1, http_failures: 1, tcp_failures: 1 },
        },
      },
    }
    await dp.apply(config(backends, active))
    backends[1]!.status = 503
    await eventually(async () => {
      const before = backends[1]!.hits
      await send(12)
      return backends[1]!.hits === before
    }, 'b taken out by the active checks')
    backends[1]!.status = 200
    await eventually(async () => {
      const before = backends[1]!.hits
      await send(12)
      return backends[1]!.hits > before
    }, 'b back in rotation')
  })
})

/** End to end: a real upstream, the data plane fed in-process, real HTTP clients. */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { type ConfigEntities, TURNPIKE_VERSION } from '@turnpike/shared'
import type { DataPlane } from './data-plane.ts'
import {
  call,
  eventually,
  json,
  lazyBody,
  startTestDataPlane,
  type TestDataPlane,
  type TestFeed,
} from './testing/harness.ts'

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const BIG = 24 * 1024 * 1024

const SVC = '00000000-0000-4000-8000-000000000001'
const SVC_SLOW = '00000000-0000-4000-8000-000000000002'
const SVC_DEAD = '00000000-0000-4000-8000-000000000003'
const route = (n: number, fields: Record<string, unknown>) => ({
  id: `00000000-0000-4000-8000-0000000000${String(n).padStart(2, '0')}`,
  ...fields,
})

describe('data plane end to end', () => {
  let upstream: Server
  let upstreamPort: number
  let deadPort: number
  let harness: TestDataPlane
  let feed: TestFeed
  let dp: DataPlane
  /** Waiters for the next upstream request to a path. */
  const arrivals = new Map<string, () => void>()
  const arrived = (path: string) => new Promise<void>((resolve) => arrivals.set(path, resolve))

  before(async () => {
    upstream = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://upstream')
      arrivals.get(url.pathname)?.()
      arrivals.delete(url.pathname)
      if (url.pathname === '/slow') {
        setTimeout(() => res.end('late'), 1000).unref()
        return
      }
      if (url.pathname === '/hang') {
        res.on('close', () => {
          if (!res.writableFinished) arrivals.get('/hang:aborted')?.()
        })
        return
      }
      if (url.pathname === '/big') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' })
        lazyBody(BIG).pipe(res)
        return
      }
      if (url.pathname === '/upload') {
        const hash = createHash('sha256')
        let bytes = 0
        req.on('data', (c: Buffer) => {
          bytes += c.length
          hash.update(c)
        })
        req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })))
        return
      }
      res.writeHead(200, {
        'content-type': 'application/json',
        server: 'test-upstream',
        connection: 'keep-alive, X-Up-Hop',
        'x-up-hop': 'secret',
        'x-up-plain': 'kept',
      })
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }))
    })
    upstream.listen(0, '127.0.0.1')
    await once(upstream, 'listening')
    upstreamPort = (upstream.address() as AddressInfo).port

    const closed = createServer()
    closed.listen(0, '127.0.0.1')
    await once(closed, 'listening')
    deadPort = (closed.address() as AddressInfo).port
    closed.close()

    // The default shutdown timeout, so a graceful close lets the slow in-flight request finish.
    harness = await startTestDataPlane({}, { shutdownTimeoutMs: 10_000 })
    dp = harness.dp
    feed = harness.feed
  })

  after(async () => {
    await harness?.close()
    upstream?.closeAllConnections()
    upstream?.close()
  })

  function config(): ConfigEntities {
    return {
      services: [
        { id: SVC, name: 'echo', host: '127.0.0.1', port: upstreamPort, protocol: 'http' },
        { id: SVC_SLOW, name: 'slow', host: '127.0.0.1', port: upstreamPort, protocol: 'http', read_timeout: 200 },
        { id: SVC_DEAD, name: 'dead', host: '127.0.0.1', port: deadPort, protocol: 'http', retries: 2 },
      ],
      routes: [
        route(1, { name: 'echo', paths: ['/echo'], service: { id: SVC } }),
        route(2, {
          name: 'preserve',
          paths: ['/preserve'],
          strip_path: false,
          preserve_host: true,
          service: { id: SVC },
        }),
        route(3, { name: 'files', paths: ['/files'], service: { id: SVC } }),
        route(4, { name: 'slow', paths: ['/slow'], strip_path: false, service: { id: SVC_SLOW } }),
        route(5, { name: 'hang', paths: ['/hang'], strip_path: false, service: { id: SVC } }),
        route(6, { name: 'dead', paths: ['/dead'], service: { id: SVC_DEAD } }),
        route(7, { name: 'tls-only', paths: ['/secure'], protocols: ['https'], service: { id: SVC } }),
        route(8, {
          name: 'tls-301',
          paths: ['/moved'],
          protocols: ['https'],
          https_redirect_status_code: 301,
          service: { id: SVC },
        }),
        route(9, { name: 'orphan', paths: ['/orphan'] }),
      ],
    }
  }

  it('answers 503 and reports not ready before any config', async () => {
    const res = await call(dp.proxyUrl, `/echo`)
    assert.equal(res.status, 503)
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8')
    assert.deepEqual(json(res), { message: 'no data plane configuration loaded yet' })
    const ready = await call(dp.statusUrl, `/status/ready`)
    assert.equal(ready.status, 503)
    assert.deepEqual(json(ready), { message: 'no configuration applied yet' })
  })

  it('applies a published snapshot and becomes ready', async () => {
    const snapshot = feed.publish(config())
    await eventually(async () => (await call(dp.statusUrl, `/status/ready`)).status === 200, 'readiness')
    const status = json(await call(dp.statusUrl, `/status`))
    assert.equal(status.configuration_hash, snapshot.hash)
    assert.equal(status.config_version, snapshot.version)
    assert.deepEqual(status.sync, { state: 'connected', control_plane: 'in-process', last_error: null })
    assert.equal(typeof status.memory.rss, 'number')
  })

  it('forwards with the stripped path, query, X-Forwarded-* and Via, dropping hop-by-hop headers', async () => {
    const proxyPort = new URL(dp.proxyUrl).port
    const res = await call(dp.proxyUrl, `/echo/a/./b/../c?x=1&y`, {
      headers: {
        Host: 'api.example.com',
        'X-Forwarded-For': '10.0.0.1',
        Connection: 'keep-alive, X-Hop',
        'X-Hop': 'drop me',
        'Keep-Alive': 'timeout=5',
        'Proxy-Authorization': 'Basic Zm9vOmJhcg==',
        TE: 'trailers',
        'X-Custom': 'kept',
      },
    })
    assert.equal(res.status, 200)
    const seen = json(res)
    assert.equal(seen.url, '/a/c?x=1&y')
    assert.equal(seen.headers.host, `127.0.0.1:${upstreamPort}`)
    // The client is not in trusted_ips: its X-Forwarded-For is replaced, not extended.
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1')
    assert.match(seen.headers['x-turnpike-request-id'], /^[0-9a-f]{32}$/)
    assert.equal(res.headers['x-turnpike-request-id'], seen.headers['x-turnpike-request-id'])
    assert.equal(seen.headers['x-forwarded-proto'], 'http')
    assert.equal(seen.headers['x-forwarded-host'], 'api.example.com')
    assert.equal(seen.headers['x-forwarded-port'], proxyPort)
    assert.equal(seen.headers['x-forwarded-path'], '/echo/a/./b/../c')
    assert.equal(seen.headers['x-forwarded-prefix'], '/echo')
    assert.equal(seen.headers.via, `1.1 turnpike/${TURNPIKE_VERSION}`)
    assert.equal(seen.headers['x-custom'], 'kept')
    for (const hop of ['x-hop', 'keep-alive', 'proxy-authorization', 'te', 'upgrade'])
      assert.equal(seen.headers[hop], undefined, `${hop} must not reach the upstream`)

    assert.equal(res.headers.via, `1.1 turnpike/${TURNPIKE_VERSION}`)
    assert.equal(res.headers.server, 'test-upstream')
    assert.equal(res.headers['x-up-hop'], undefined)
    assert.equal(res.headers['x-up-plain'], 'kept')
    assert.match(String(res.headers['x-turnpike-upstream-latency']), /^\d+$/)
    assert.match(String(res.headers['x-turnpike-proxy-latency']), /^\d+$/)
  })

  it('preserves the client Host and the full path when the route says so', async () => {
    const res = await call(dp.proxyUrl, `/preserve/x`, { headers: { Host: 'client.example:8443' } })
    const seen = json(res)
    assert.equal(seen.headers.host, 'client.example:8443')
    assert.equal(seen.url, '/preserve/x')
    assert.equal(seen.headers['x-forwarded-prefix'], undefined)
  })

  it('streams a large request body up and a large response body down', async () => {
    const up = await call(dp.proxyUrl, `/files/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: lazyBody(BIG),
    })
    assert.equal(up.status, 200)
    const expected = await new Promise<string>((resolve) => {
      const hash = createHash('sha256')
      lazyBody(BIG)
        .on('data', (c: Buffer) => hash.update(c))
        .on('end', () => resolve(hash.digest('hex')))
    })
    assert.deepEqual(json(up), { bytes: BIG, sha256: expected })

    const down = await call(dp.proxyUrl, `/files/big`)
    assert.equal(down.status, 200)
    assert.equal(down.body.length, BIG)
    assert.equal(sha256(down.body), expected)
  })

  it('answers 404 for unmatched requests, as Kong', async () => {
    const res = await call(dp.proxyUrl, `/nowhere`)
    assert.equal(res.status, 404)
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8')
    assert.equal(res.headers.server, `turnpike/${TURNPIKE_VERSION}`)
    assert.deepEqual(json(res), { message: 'no Route matched with those values' })
  })

  it('answers 502 when the upstream refuses connections', async () => {
    const res = await call(dp.proxyUrl, `/dead`)
    assert.equal(res.status, 502)
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8')
    assert.deepEqual(json(res), { message: 'An invalid response was received from the upstream server' })
  })

  it("answers 504 when the upstream exceeds the service's read_timeout", async () => {
    const res = await call(dp.proxyUrl, `/slow`)
    assert.equal(res.status, 504)
    assert.deepEqual(json(res), { message: 'The upstream server is timing out' })
  })

  it('answers 426 or redirects for https-only routes on plain http', async () => {
    const upgrade = await call(dp.proxyUrl, `/secure`, { headers: { Host: 'api.example.com' } })
    assert.equal(upgrade.status, 426)
    assert.equal(upgrade.headers.upgrade, 'TLS/1.2, HTTP/1.1')
    assert.deepEqual(json(upgrade), { message: 'Please use HTTPS protocol' })
    const moved = await call(dp.proxyUrl, `/moved/x?q=1`, { headers: { Host: 'api.example.com:8000' } })
    assert.equal(moved.status, 301)
    assert.equal(moved.headers.location, 'https://api.example.com/moved/x?q=1')
  })

  it('answers 503 for a route without a service', async () => {
    const res = await call(dp.proxyUrl, `/orphan`)
    assert.equal(res.status, 503)
    assert.deepEqual(json(res), { message: 'no Service found with those values' })
  })

  it('aborts the upstream request when the client goes away', async () => {
    const reached = arrived('/hang')
    const aborted = arrived('/hang:aborted')
    const req = request(`${dp.proxyUrl}/hang`, { agent: false })
    req.on('error', () => {})
    req.end()
    await reached
    req.destroy()
    await aborted
  })

  it('survives clients hanging up mid-upload, forwarded or not', async () => {
    for (const target of ['/files/upload', '/nowhere']) {
      const req = request(`${dp.proxyUrl}${target}`, {
        method: 'POST',
        agent: false,
        headers: { 'content-length': String(BIG) },
      })
      req.on('error', () => {})
      req.write(Buffer.alloc(256 * 1024))
      await new Promise((r) => setTimeout(r, 20))
      req.destroy()
    }
    assert.equal((await call(dp.proxyUrl, `/echo/still-up`)).status, 200)
  })

  it('keeps serving the old config when a bad snapshot arrives', async () => {
    const good = json(await call(dp.statusUrl, `/status`)).configuration_hash
    const broken = config()
    broken.routes.push(route(10, { paths: ['/bad'], service: { id: '00000000-0000-4000-8000-00000000dead' } }))
    feed.publish(broken)
    await eventually(async () => json(await call(dp.statusUrl, `/status`)).sync.last_error !== null, 'the rejection')
    const status = json(await call(dp.statusUrl, `/status`))
    assert.equal(status.configuration_hash, good)
    assert.match(status.sync.last_error, /does not exist in this snapshot/)
    assert.equal((await call(dp.proxyUrl, `/echo/ok`)).status, 200)
    assert.ok(status.server.total_requests > 0)
  })

  it('closes gracefully, letting an in-flight request finish', async () => {
    feed.publish(config())
    const slow = config()
    slow.services[1] = { ...slow.services[1], read_timeout: 10_000 }
    feed.publish(slow)
    await eventually(async () => {
      const s = json(await call(dp.statusUrl, `/status`))
      return s.sync.last_error === null && s.config_version === 4
    }, 'the slow-tolerant config')
    const reached = arrived('/slow')
    const inFlight = call(dp.proxyUrl, `/slow`)
    await reached
    await dp.close()
    const res = await inFlight
    assert.equal(res.status, 200)
    assert.equal(res.body.toString(), 'late')
    await assert.rejects(call(dp.proxyUrl, `/echo`), /ECONNREFUSED/)
  })
})

import assert from 'node:assert/strict'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { createServer as createHttp2Server, type Http2Server, type ServerHttp2Stream } from 'node:http2'
import { createServer as createHttpsServer } from 'node:https'
import { type AddressInfo, createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net'
import { after, describe, it } from 'node:test'
import { createLogger, generateSelfSigned, type Logger } from '@turnpike/shared'
import { pino } from 'pino'
import { eventually, member, sleep, upstreamRow } from '../testing/fixtures.ts'
import type { Member } from '../types.ts'
import { ActiveChecker } from './active-checker.ts'
import { UpstreamHealthState } from './upstream-health-state.ts'

const logger = createLogger('silent')
type ActivePatch = NonNullable<NonNullable<Parameters<typeof upstreamRow>[0]>['healthchecks']>['active']

const closers: (() => void)[] = []
after(() => {
  for (const c of closers) c()
})

function checker(members: Member[], active: ActivePatch, hostHeader: string | null = null) {
  return checkerWith(logger, members, active, hostHeader)
}

function checkerWith(log: Logger, members: Member[], active: ActivePatch, hostHeader: string | null = null) {
  const row = upstreamRow({ healthchecks: { active } })
  const state = new UpstreamHealthState({
    upstreamId: row.id,
    upstreamName: row.name,
    config: row.healthchecks,
    logger: log,
  })
  for (const m of members) state.member(m.key)
  const c = new ActiveChecker({ state, logger: log })
  c.configure(row.healthchecks.active, { members: () => members, hostHeader, useSrvName: false })
  closers.push(() => c.stop())
  return { c, state, health: (m: Member) => state.peek(m.key)! }
}

interface HttpBackend {
  server: Server
  port: number
  status: number
  hits: number
  last: { url: string | undefined; headers: IncomingHttpHeaders } | undefined
  /** Never answer (timeouts). */
  hang: boolean
}

async function httpBackend(): Promise<HttpBackend> {
  const b: HttpBackend = { server: undefined!, port: 0, status: 200, hits: 0, last: undefined, hang: false }
  b.server = createServer((req, res) => {
    b.hits++
    b.last = { url: req.url, headers: req.headers }
    if (!b.hang) res.writeHead(b.status).end('ok')
  })
  await new Promise<void>((r) => b.server.listen(0, '127.0.0.1', r))
  b.port = (b.server.address() as AddressInfo).port
  closers.push(() => b.server.close())
  closers.push(() => b.server.closeAllConnections())
  return b
}

const FAST = { healthy: { interval: 0.03, successes: 2 }, unhealthy: { interval: 0.03, http_failures: 2 } }

describe('active health checks', () => {
  it('takes a failing HTTP member out within interval × threshold and brings it back', async () => {
    const b = await httpBackend()
    const m = member(`127.0.0.1:${b.port}`)
    const { health } = checker([m], FAST)
    await eventually(() => b.hits >= 2, 'first probes')
    assert.equal(health(m).healthy, true)
    b.status = 500
    await eventually(() => !health(m).healthy, 'member unhealthy')
    b.status = 200
    await eventually(() => health(m).healthy, 'member healthy again')
  })

  it('sends GET http_path with the configured headers and the target host', async () => {
    const b = await httpBackend()
    const m = { ...member(`127.0.0.1:${b.port}`), target: `api.internal:${b.port}` }
    checker([m], { ...FAST, http_path: '/healthz', headers: { 'X-Probe': ['yes'] } })
    await eventually(() => b.last !== undefined, 'a probe')
    assert.equal(b.last?.url, '/healthz')
    assert.equal(b.last?.headers['x-probe'], 'yes')
    assert.equal(b.last?.headers.host, 'api.internal')
    const hh = await httpBackend()
    checker([member(`127.0.0.1:${hh.port}`)], FAST, 'front.example')
    await eventually(() => hh.last !== undefined, 'a probe')
    assert.equal(hh.last?.headers.host, 'front.example')
  })

  it('counts statuses in neither list as nothing', async () => {
    const b = await httpBackend()
    b.status = 418
    const m = member(`127.0.0.1:${b.port}`)
    const { health } = checker([m], {
      ...FAST,
      healthy: { interval: 0.03, successes: 1, http_statuses: [200] },
      unhealthy: { interval: 0.03, http_failures: 1, http_statuses: [500] },
    })
    await eventually(() => b.hits >= 5, 'several probes')
    assert.equal(health(m).healthy, true)
    assert.equal(health(m).httpFailures, 0)
  })

  it('counts probes that time out', async () => {
    const b = await httpBackend()
    b.hang = true
    const m = member(`127.0.0.1:${b.port}`)
    const { health } = checker([m], {
      timeout: 0.05,
      healthy: { interval: 0.03 },
      unhealthy: { interval: 0.03, timeouts: 2 },
    })
    await eventually(() => !health(m).healthy, 'member unhealthy by timeouts')
    assert.equal(health(m).cause, 'active')
  })

  it('probes only the healthy members with only healthy.interval set (Kong)', async () => {
    const b = await httpBackend()
    const m = member(`127.0.0.1:${b.port}`)
    const { state, health } = checker([m], { healthy: { interval: 0.03 }, unhealthy: { interval: 0 } })
    await eventually(() => b.hits >= 1, 'probe of a healthy member')
    state.override(health(m), false, m.key)
    await sleep(60)
    const hits = b.hits
    await sleep(150)
    assert.equal(b.hits, hits, 'an unhealthy member is not probed')
  })

  it('TCP: a closed port takes the member out, reopening brings it back', async () => {
    let server: TcpServer = createTcpServer((s) => s.destroy())
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as AddressInfo).port
    closers.push(() => server.close())
    const m = member(`127.0.0.1:${port}`)
    const { health } = checker([m], {
      type: 'tcp',
      healthy: { interval: 0.03, successes: 1 },
      unhealthy: { interval: 0.03, tcp_failures: 2 },
    })
    await sleep(100)
    assert.equal(health(m).healthy, true)
    await new Promise<void>((r) => server.close(() => r()))
    await eventually(() => !health(m).healthy, 'member unhealthy')
    server = createTcpServer((s) => s.destroy())
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
    closers.push(() => server.close())
    await eventually(() => health(m).healthy, 'member healthy again')
  })

  it('gRPC: SERVING is healthy, NOT_SERVING is not', async () => {
    let serving = true
    let seen: Record<string, unknown> = {}
    const server: Http2Server = createHttp2Server()
    server.on('stream', (stream: ServerHttp2Stream, headers) => {
      seen = headers
      stream.resume()
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true })
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }))
        stream.end(Buffer.from([0, 0, 0, 0, 2, 0x08, serving ? 1 : 2]))
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    closers.push(() => server.close())
    const port = (server.address() as AddressInfo).port
    const m = member(`127.0.0.1:${port}`)
    const { health } = checker([m], {
      type: 'grpc',
      healthy: { interval: 0.03, successes: 1 },
      unhealthy: { interval: 0.03, http_failures: 2 },
    })
    await eventually(() => seen[':path'] !== undefined, 'a probe')
    assert.equal(seen[':path'], '/grpc.health.v1.Health/Check')
    assert.equal(seen['content-type'], 'application/grpc')
    assert.equal(health(m).healthy, true)
    serving = false
    await eventually(() => !health(m).healthy, 'member unhealthy')
    serving = true
    await eventually(() => health(m).healthy, 'member healthy again')
  })

  it('HTTPS: verifies the certificate unless told not to', async () => {
    const { cert, key } = generateSelfSigned('probe.test', 1)
    let hits = 0
    const server = createHttpsServer({ cert, key }, (_req, res) => {
      hits++
      res.end('ok')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    closers.push(() => server.close())
    const port = (server.address() as AddressInfo).port
    const lax = member(`127.0.0.1:${port}`)
    const a = checker([lax], { ...FAST, type: 'https', https_verify_certificate: false, https_sni: 'probe.test' })
    await eventually(() => hits >= 3, 'probes over TLS')
    assert.equal(a.health(lax).healthy, true)
    a.c.stop()
    const strict = member(`127.0.0.1:${port}`)
    const s = checker([strict], {
      type: 'https',
      healthy: { interval: 0.03 },
      unhealthy: { interval: 0.03, tcp_failures: 2 },
    })
    await eventually(() => !s.health(strict).healthy, 'untrusted certificate: unhealthy')
  })

  it('runs at most `concurrency` probes at once, and stops when told', async () => {
    let open = 0
    let peak = 0
    let hits = 0
    const servers: Server[] = []
    const members: Member[] = []
    for (let i = 0; i < 6; i++) {
      const server = createServer((_req, res) => {
        hits++
        peak = Math.max(peak, ++open)
        setTimeout(() => {
          open--
          res.end('ok')
        }, 40)
      })
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      closers.push(() => server.close())
      servers.push(server)
      members.push(member(`127.0.0.1:${(server.address() as AddressInfo).port}`))
    }
    const { c } = checker(members, { concurrency: 2, healthy: { interval: 0.01 } })
    await eventually(() => hits >= 12, 'every member probed twice')
    assert.ok(peak <= 2, `peak ${peak} probes at once`)
    c.stop()
    await sleep(60)
    const stopped = hits
    await sleep(150)
    assert.equal(hits, stopped, 'no probes after stop')
    assert.equal(c.running, 0)
  })

  it('a probe that cannot even start counts as a failure', async () => {
    const sockets: Socket[] = []
    const server = createTcpServer((s) => sockets.push(s))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    closers.push(() => server.close())
    closers.push(() => {
      for (const s of sockets) s.destroy()
    })
    const m = member(`127.0.0.1:${(server.address() as AddressInfo).port}`)
    // A header value node refuses to send: the request throws before any I/O, and that is logged.
    const lines: string[] = []
    const { health } = checkerWith(pino({ level: 'warn' }, { write: (l: string) => lines.push(l) }), [m], {
      healthy: { interval: 0.03 },
      unhealthy: { interval: 0.03, tcp_failures: 1 },
      headers: { 'x-bad': ['a\r\nb'] },
    })
    await eventually(() => !health(m).healthy, 'member unhealthy')
    assert.ok(
      lines.some((l) => l.includes('health probe threw')),
      lines.join('\n'),
    )
  })
})

/**
 * HTTP semantics end to end: safe retries, request/response buffering, write_timeout, upstream TLS (verification,
 * CA certificates, depth, client certificates), the SSRF guard, trusted_ips and the `headers` settings.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import { type AddressInfo, createServer as createNetServer, type Server as NetServer } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { TURNPIKE_VERSION } from '@turnpike/shared'
import { call, json, lazyBody, startTestDataPlane, type TestDataPlane, uuid } from '../testing/harness.ts'
import { issueCertificate } from '../tls/self-signed.ts'

const port = (s: Server | HttpsServer | NetServer) => (s.address() as AddressInfo).port

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

describe('forwarding', () => {
  let upstream: Server
  let stalled: NetServer
  let t: TestDataPlane
  const attempts = new Map<string, number>()

  before(async () => {
    upstream = createServer(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x')
      if (url.pathname.startsWith('/flaky')) {
        const key = url.searchParams.get('case') ?? ''
        const n = (attempts.get(key) ?? 0) + 1
        attempts.set(key, n)
        const body = await readBody(req)
        // The first attempt dies with the connection, after the upstream has read the request.
        if (n === 1) return req.socket.destroy()
        return res.end(JSON.stringify({ attempt: n, body: body.toString() }))
      }
      const body = await readBody(req)
      res.setHeader('content-type', 'application/json')
      res.end(
        JSON.stringify({
          bytes: body.length,
          cl: req.headers['content-length'] ?? null,
          te: req.headers['transfer-encoding'] ?? null,
          headers: req.headers,
        }),
      )
    })
    // Reads the request head, then never reads again: the body backs up into the proxy.
    stalled = createNetServer((socket) => {
      socket.once('data', () => socket.pause())
      socket.on('error', () => {})
    })
    upstream.listen(0, '127.0.0.1')
    stalled.listen(0, '127.0.0.1')
    await Promise.all([once(upstream, 'listening'), once(stalled, 'listening')])
    t = await startTestDataPlane({ client_body_buffer_size: '64k' })
    await t.apply({
      services: [
        { id: uuid(1), host: '127.0.0.1', port: port(upstream), retries: 3 },
        { id: uuid(2), host: '127.0.0.1', port: port(stalled), write_timeout: 200 },
        { id: uuid(3), host: '169.254.169.254', port: 80 },
      ],
      routes: [
        { id: uuid(11), paths: ['/buffered'], service: { id: uuid(1) } },
        { id: uuid(12), paths: ['/streamed'], request_buffering: false, service: { id: uuid(1) } },
        { id: uuid(13), paths: ['/flaky'], strip_path: false, service: { id: uuid(1) } },
        {
          id: uuid(14),
          paths: ['/flaky-streamed'],
          strip_path: false,
          request_buffering: false,
          service: { id: uuid(1) },
        },
        { id: uuid(15), paths: ['/stalled'], request_buffering: false, service: { id: uuid(2) } },
        { id: uuid(16), paths: ['/metadata'], service: { id: uuid(3) } },
        { id: uuid(17), paths: ['/v1'], path_handling: 'v1', service: { id: uuid(1) } },
      ],
    })
  })

  after(async () => {
    await t?.close()
    upstream?.closeAllConnections()
    upstream?.close()
    stalled?.close()
  })

  it('retries a dropped connection for GET and a buffered PUT, never for POST or a streamed body', async () => {
    const get = await call(t.dp.proxyUrl, '/flaky?case=get')
    assert.equal(get.status, 200)
    assert.equal(json(get).attempt, 2)

    const put = await call(t.dp.proxyUrl, '/flaky?case=put', { method: 'PUT', body: 'payload' })
    assert.equal(put.status, 200)
    assert.deepEqual(json(put), { attempt: 2, body: 'payload' })

    const post = await call(t.dp.proxyUrl, '/flaky?case=post', { method: 'POST', body: 'payload' })
    assert.equal(post.status, 502)
    assert.equal(attempts.get('post'), 1)

    const streamed = await call(t.dp.proxyUrl, '/flaky-streamed?case=streamed', { method: 'PUT', body: 'payload' })
    assert.equal(streamed.status, 502)
    assert.equal(attempts.get('streamed'), 1)
  })

  it('reads small bodies whole on buffering routes and streams big ones and non-buffering routes', async () => {
    const small = json(await call(t.dp.proxyUrl, '/buffered/x', { method: 'POST', body: lazyBody(10_000) }))
    assert.deepEqual([small.bytes, small.cl, small.te], [10_000, '10000', null])
    const big = json(await call(t.dp.proxyUrl, '/buffered/x', { method: 'POST', body: lazyBody(1_000_000) }))
    assert.deepEqual([big.bytes, big.cl, big.te], [1_000_000, null, 'chunked'])
    const streamed = json(await call(t.dp.proxyUrl, '/streamed/x', { method: 'POST', body: lazyBody(10_000) }))
    assert.deepEqual([streamed.bytes, streamed.cl, streamed.te], [10_000, null, 'chunked'])
  })

  it('answers 504 when the upstream stops taking the body for write_timeout', async () => {
    const res = await call(t.dp.proxyUrl, '/stalled', { method: 'POST', body: lazyBody(256 * 1024 * 1024) }).catch(
      (err: NodeJS.ErrnoException) => ({ status: err.code, body: Buffer.alloc(0), headers: {} }),
    )
    assert.equal(res.status, 504)
  })

  it('refuses to connect to link-local and metadata addresses', async () => {
    const res = await call(t.dp.proxyUrl, '/metadata/latest/meta-data/')
    assert.equal(res.status, 502)
    assert.deepEqual(json(res), { message: 'An invalid response was received from the upstream server' })
  })

  it('joins paths the path_handling v1 way on v1 routes', async () => {
    const res = json(await call(t.dp.proxyUrl, '/v1/users'))
    assert.equal(res.headers['x-forwarded-prefix'], '/v1')
  })
})

describe('upstream TLS', () => {
  const root = { ...issueCertificate({ commonName: 'Upstream Root', ca: true }), commonName: 'Upstream Root' }
  const intermediate = {
    ...issueCertificate({ commonName: 'Upstream Intermediate', ca: true, issuer: root }),
    commonName: 'Upstream Intermediate',
  }
  const leaf = issueCertificate({ commonName: 'localhost', altNames: ['localhost'], issuer: intermediate })
  const clientCa = { ...issueCertificate({ commonName: 'Client CA', ca: true }), commonName: 'Client CA' }
  const client = issueCertificate({ commonName: 'turnpike-dp', issuer: clientCa })
  let server: HttpsServer
  let t: TestDataPlane

  before(async () => {
    server = createHttpsServer(
      {
        cert: leaf.cert + intermediate.cert,
        key: leaf.key,
        ca: clientCa.cert,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) =>
        res.end(
          JSON.stringify({ client: (req.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN }),
        ),
    )
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    t = await startTestDataPlane()
    const svc = (n: number, fields: Record<string, unknown>) => ({
      id: uuid(n),
      protocol: 'https',
      host: 'localhost',
      port: port(server),
      client_certificate: { id: uuid(90) },
      ...fields,
    })
    await t.apply({
      ca_certificates: [{ id: uuid(80), cert: root.cert }],
      certificates: [{ id: uuid(90), ...client }],
      services: [
        svc(1, { tls_verify: true, ca_certificates: [uuid(80)] }),
        svc(2, { tls_verify: true }),
        svc(3, {}),
        svc(4, { tls_verify: true, ca_certificates: [uuid(80)], tls_verify_depth: 0 }),
        svc(5, { tls_verify: true, ca_certificates: [uuid(80)], tls_verify_depth: 1 }),
        svc(6, { tls_verify: true, ca_certificates: [uuid(80)], client_certificate: null }),
      ],
      routes: [1, 2, 3, 4, 5, 6].map((n) => ({ id: uuid(10 + n), paths: [`/s${n}`], service: { id: uuid(n) } })),
    })
  })

  after(async () => {
    await t?.close()
    server?.close()
  })

  const status = async (n: number) => (await call(t.dp.proxyUrl, `/s${n}`)).status

  it('verifies against the service CA certificates and presents the client certificate', async () => {
    const res = await call(t.dp.proxyUrl, '/s1')
    assert.equal(res.status, 200)
    assert.deepEqual(json(res), { client: 'turnpike-dp' })
  })

  it('fails verification without the CA, skips it when tls_verify is off (Kong’s default)', async () => {
    assert.equal(await status(2), 502)
    assert.equal(await status(3), 200)
  })

  it('enforces tls_verify_depth', async () => {
    assert.equal(await status(4), 502)
    assert.equal(await status(5), 200)
  })

  it('fails when the upstream wants a client certificate and the service has none', async () => {
    assert.equal(await status(6), 502)
  })
})

describe('trusted_ips and the headers settings', () => {
  let upstream: Server
  let t: TestDataPlane

  before(async () => {
    upstream = createServer((req, res) => res.end(JSON.stringify(req.headers)))
    upstream.listen(0, '127.0.0.1')
    await once(upstream, 'listening')
    t = await startTestDataPlane({ trusted_ips: '127.0.0.1/32, ::1', headers: 'off', headers_upstream: 'off' })
    await t.apply({
      services: [{ id: uuid(1), host: '127.0.0.1', port: port(upstream) }],
      routes: [
        { id: uuid(11), paths: ['/api'], service: { id: uuid(1) } },
        {
          id: uuid(12),
          paths: ['/secure'],
          protocols: ['https'],
          https_redirect_status_code: 308,
          service: { id: uuid(1) },
        },
      ],
    })
  })

  after(async () => {
    await t?.close()
    upstream?.close()
  })

  it('extends and believes X-Forwarded-* from trusted clients', async () => {
    const res = await call(t.dp.proxyUrl, '/api/x', {
      headers: {
        'X-Forwarded-For': '203.0.113.7',
        'X-Forwarded-Proto': 'https',
        'X-Forwarded-Host': 'public.example',
        'X-Forwarded-Port': '443',
        'X-Forwarded-Path': '/edge/api/x',
        'X-Forwarded-Prefix': '/edge',
      },
    })
    const seen = json(res)
    assert.equal(seen['x-forwarded-for'], '203.0.113.7, 127.0.0.1')
    assert.equal(seen['x-forwarded-proto'], 'https')
    assert.equal(seen['x-forwarded-host'], 'public.example')
    assert.equal(seen['x-forwarded-port'], '443')
    assert.equal(seen['x-forwarded-path'], '/edge/api/x')
    assert.equal(seen['x-forwarded-prefix'], '/edge')
  })

  it('takes a trusted X-Forwarded-Proto for https-only routes and redirects to the forwarded host', async () => {
    assert.equal((await call(t.dp.proxyUrl, '/secure', { headers: { 'X-Forwarded-Proto': 'https' } })).status, 200)
    const moved = await call(t.dp.proxyUrl, '/secure/a?b=1', { headers: { 'X-Forwarded-Host': 'public.example' } })
    assert.equal(moved.status, 308)
    assert.equal(moved.headers.location, 'https://public.example/secure/a?b=1')
  })

  it('adds no Via, latency, request-id or Server headers when `headers` and `headers_upstream` are off', async () => {
    const res = await call(t.dp.proxyUrl, '/api/x')
    for (const h of ['via', 'x-turnpike-upstream-latency', 'x-turnpike-proxy-latency', 'x-turnpike-request-id'])
      assert.equal(res.headers[h], undefined, h)
    assert.equal(json(res)['x-turnpike-request-id'], undefined)
    // Upstream Via is not a response header: it still tells the upstream a proxy was on the way.
    assert.equal(json(res).via, `1.1 turnpike/${TURNPIKE_VERSION}`)
    const own = await call(t.dp.proxyUrl, '/nowhere')
    assert.equal(own.status, 404)
    assert.equal(own.headers.server, undefined)
    assert.equal(own.headers['x-turnpike-response-latency'], undefined)
  })
})

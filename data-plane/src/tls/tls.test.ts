/** TLS termination end to end: certificates by SNI (exact and wildcard), the default one, hot swaps, ALPN. */
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import { connect as h2connect } from 'node:http2'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { connect, type PeerCertificate } from 'node:tls'
import { startTestDataPlane, type TestDataPlane, uuid } from '../testing/harness.ts'
import { issueCertificate } from './self-signed.ts'

const ca = { ...issueCertificate({ commonName: 'Turnpike Test CA', ca: true }), commonName: 'Turnpike Test CA' }
const certA = issueCertificate({ commonName: 'a.test', issuer: ca })
const certB = issueCertificate({ commonName: 'wild.b.test', altNames: ['*.b.test'], issuer: ca })
const certA2 = issueCertificate({ commonName: 'a.test', issuer: ca })

const serial = (pem: string) => new X509Certificate(pem).serialNumber

/** Handshakes with `servername` and returns the served certificate and negotiated ALPN protocol. */
async function handshake(url: string, servername: string, alpn = ['h2', 'http/1.1']) {
  const { hostname, port } = new URL(url)
  const socket = connect({
    host: hostname,
    port: Number(port),
    servername,
    rejectUnauthorized: false,
    ALPNProtocols: alpn,
  })
  await once(socket, 'secureConnect')
  const cert: PeerCertificate = socket.getPeerCertificate()
  const protocol = socket.alpnProtocol
  socket.destroy()
  return { serial: cert.serialNumber, subject: cert.subject.CN, protocol }
}

/** One HTTPS request through the proxy, trusting the test CA; resolves with status and JSON body. */
async function get(url: string, path: string, servername: string) {
  const { hostname, port } = new URL(url)
  const socket = connect({ host: hostname, port: Number(port), servername, ca: ca.cert, ALPNProtocols: ['http/1.1'] })
  await once(socket, 'secureConnect')
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${servername}\r\nConnection: close\r\n\r\n`)
  const chunks: Buffer[] = []
  for await (const c of socket) chunks.push(c as Buffer)
  const text = Buffer.concat(chunks).toString()
  const body = text.slice(text.indexOf('\r\n\r\n') + 4)
  return { status: Number(text.slice(9, 12)), body: body.startsWith('{') ? JSON.parse(body) : body }
}

describe('TLS listeners', () => {
  let upstream: Server
  let t: TestDataPlane
  let https: string
  let h2: string

  const entities = (a: { cert: string; key: string }) => ({
    services: [{ id: uuid(1), host: '127.0.0.1', port: (upstream.address() as AddressInfo).port }],
    routes: [
      { id: uuid(11), paths: ['/any'], service: { id: uuid(1) } },
      { id: uuid(12), paths: ['/only-a'], protocols: ['https'], snis: ['a.test'], service: { id: uuid(1) } },
    ],
    certificates: [
      { id: uuid(21), ...a },
      { id: uuid(22), ...certB },
    ],
    snis: [
      { id: uuid(31), name: 'a.test', certificate: { id: uuid(21) } },
      { id: uuid(32), name: '*.b.test', certificate: { id: uuid(22) } },
    ],
  })

  before(async () => {
    upstream = createServer((req, res) =>
      res.end(JSON.stringify({ proto: req.headers['x-forwarded-proto'], path: req.url, version: req.httpVersion })),
    )
    upstream.listen(0, '127.0.0.1')
    await once(upstream, 'listening')
    t = await startTestDataPlane({ proxy_listen: '127.0.0.1:0 ssl, 127.0.0.1:0 ssl http2' })
    ;[https = '', h2 = ''] = t.dp.proxyUrls
    await t.apply(entities(certA))
  })

  after(async () => {
    await t?.close()
    upstream?.close()
  })

  it('selects certificates by exact and wildcard SNI', async () => {
    assert.equal((await handshake(https, 'a.test')).serial, serial(certA.cert))
    assert.equal((await handshake(https, 'x.b.test')).serial, serial(certB.cert))
  })

  it('serves the default certificate (self-signed under the prefix) for other names', async () => {
    const other = await handshake(https, 'unknown.test')
    assert.equal(other.subject, 'localhost')
    assert.notEqual(other.serial, serial(certA.cert))
  })

  it('proxies HTTPS with X-Forwarded-Proto https and matches routes on the TLS server name', async () => {
    const res = await get(https, '/any/x', 'x.b.test')
    assert.equal(res.status, 200)
    assert.equal(res.body.proto, 'https')
    assert.equal((await get(https, '/only-a/1', 'a.test')).status, 200)
    assert.equal((await get(https, '/only-a/1', 'x.b.test')).status, 404)
  })

  it('negotiates h2 with ALPN on http2 listeners, http/1.1 elsewhere and for HTTP/1.1-only clients', async () => {
    assert.equal((await handshake(h2, 'a.test')).protocol, 'h2')
    assert.equal((await handshake(h2, 'a.test', ['http/1.1'])).protocol, 'http/1.1')
    assert.equal((await handshake(https, 'a.test')).protocol, 'http/1.1')
    assert.equal((await get(h2, '/any/h1', 'a.test')).status, 200)
  })

  it('proxies HTTP/2 requests to an HTTP/1.1 upstream', async () => {
    const session = h2connect(h2, { ca: ca.cert, servername: 'a.test' })
    try {
      const stream = session.request({ ':path': '/any/over-h2', ':authority': 'a.test' })
      const [headers] = (await once(stream, 'response')) as [Record<string, string>]
      const chunks: Buffer[] = []
      for await (const c of stream) chunks.push(c as Buffer)
      assert.equal(headers[':status'], 200)
      assert.match(headers['x-turnpike-request-id'] ?? '', /^[0-9a-f]{32}$/)
      assert.equal(headers.via, `2.0 ${headers.via?.split(' ')[1]}`)
      const body = JSON.parse(Buffer.concat(chunks).toString())
      assert.deepEqual(body, { proto: 'https', path: '/over-h2', version: '1.1' })
    } finally {
      session.close()
    }
  })

  it('serves a replaced certificate from the next handshake, without a restart', async () => {
    await t.apply(entities(certA2))
    assert.equal((await handshake(https, 'a.test')).serial, serial(certA2.cert))
    assert.equal((await handshake(h2, 'a.test')).serial, serial(certA2.cert))
    // The unchanged wildcard certificate is still served.
    assert.equal((await handshake(https, 'y.b.test')).serial, serial(certB.cert))
  })
})

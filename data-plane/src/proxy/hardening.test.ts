/** Abuse sent raw over TCP: every shape gets a clear status code, and the proxy keeps serving. */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import { connect as h2connect } from 'node:http2'
import { type AddressInfo, createServer as createNetServer, type Server as NetServer } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { call, json, raw, startTestDataPlane, type TestDataPlane, uuid } from '../testing/harness.ts'

describe('proxy hardening (raw sockets)', () => {
  let upstream: Server
  let garbage: NetServer
  let t: TestDataPlane
  let port: number

  before(async () => {
    upstream = createServer((req, res) => {
      req.resume()
      req.on('end', () => res.end('ok'))
    })
    upstream.listen(0, '127.0.0.1')
    garbage = createNetServer((socket) => {
      socket.once('data', () => socket.end('this is not HTTP at all\r\n\r\n'))
    })
    garbage.listen(0, '127.0.0.1')
    await Promise.all([once(upstream, 'listening'), once(garbage, 'listening')])
    t = await startTestDataPlane({
      client_max_headers: '20',
      client_max_header_size: '4k',
      client_max_body_size: '1k',
      client_header_timeout: '300ms',
      client_body_timeout: '300ms',
      proxy_listen: '127.0.0.1:0, 127.0.0.1:0 http2',
    })
    port = Number(new URL(t.dp.proxyUrl).port)
    await t.apply({
      services: [
        { id: uuid(1), host: '127.0.0.1', port: (upstream.address() as AddressInfo).port },
        { id: uuid(2), host: '127.0.0.1', port: (garbage.address() as AddressInfo).port },
      ],
      routes: [
        { id: uuid(11), paths: ['/'], service: { id: uuid(1) } },
        { id: uuid(12), paths: ['/garbage'], service: { id: uuid(2) } },
        {
          id: uuid(13),
          paths: ['/stream'],
          request_buffering: false,
          service: { id: uuid(1) },
        },
        { id: uuid(14), paths: ['/tls-only'], protocols: ['https'], service: { id: uuid(1) } },
      ],
    })
  })

  after(async () => {
    await t?.close()
    upstream?.close()
    garbage?.close()
  })

  const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`
  const cases: [string, () => (string | Buffer | { pauseMs: number })[], number][] = [
    [
      'Content-Length with Transfer-Encoding',
      () => [head(['POST / HTTP/1.1', 'Host: a', 'Content-Length: 3', 'Transfer-Encoding: chunked']) + '0\r\n\r\n'],
      400,
    ],
    [
      'two different Content-Lengths',
      () => [`${head(['POST / HTTP/1.1', 'Host: a', 'Content-Length: 3', 'Content-Length: 4'])}abcd`],
      400,
    ],
    [
      'a repeated Content-Length',
      () => [`${head(['POST / HTTP/1.1', 'Host: a', 'Content-Length: 3', 'Content-Length: 3'])}abc`],
      400,
    ],
    ['a non-numeric Content-Length', () => [`${head(['POST / HTTP/1.1', 'Host: a', 'Content-Length: 3x'])}abc`], 400],
    ['a negative Content-Length', () => [head(['POST / HTTP/1.1', 'Host: a', 'Content-Length: -1'])], 400],
    [
      'a transfer coding other than chunked',
      () => [`${head(['POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: gzip, chunked'])}0\r\n\r\n`],
      501,
    ],
    ['an invalid method', () => [head(['FOO@ / HTTP/1.1', 'Host: a'])], 400],
    ['a target that is neither a path nor a URL', () => [head(['GET nowhere HTTP/1.1', 'Host: a'])], 400],
    ['OPTIONS *', () => [head(['OPTIONS * HTTP/1.1', 'Host: a'])], 400],
    ['a space in the target', () => [head(['GET /a b HTTP/1.1', 'Host: a'])], 400],
    ['a control character in a header value', () => [head(['GET / HTTP/1.1', 'Host: a', 'X-Bad: a\x01b'])], 400],
    ['a header name with a space', () => [head(['GET / HTTP/1.1', 'Host: a', 'X Bad: 1'])], 400],
    ['an obsolete line folding', () => [head(['GET / HTTP/1.1', 'Host: a', 'X-Fold: a', ' b'])], 400],
    ['a bare LF line ending', () => ['GET / HTTP/1.1\nHost: a\n\n'], 400],
    ['no Host on HTTP/1.1', () => [head(['GET / HTTP/1.1'])], 400],
    ['two Host headers', () => [head(['GET / HTTP/1.1', 'Host: a', 'Host: b'])], 400],
    ['CONNECT', () => [head(['CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443'])], 400],
    ['an unsupported HTTP version', () => [head(['GET / HTTP/3.0', 'Host: a'])], 400],
    [
      'a header over client_max_header_size',
      () => [head(['GET / HTTP/1.1', 'Host: a', `X-Big: ${'x'.repeat(5000)}`])],
      431,
    ],
    [
      'more headers than client_max_headers',
      () => [head(['GET / HTTP/1.1', 'Host: a', ...Array.from({ length: 25 }, (_, i) => `X-H${i}: ${i}`)])],
      431,
    ],
    [
      'a Content-Length over client_max_body_size',
      () => [head(['POST / HTTP/1.1', 'Host: a', 'Content-Length: 2000'])],
      413,
    ],
    [
      'a chunked body growing over client_max_body_size',
      () => [
        head(['POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked']),
        `800\r\n${'a'.repeat(0x800)}\r\n0\r\n\r\n`,
      ],
      413,
    ],
    [
      'a chunked body over the limit on a streaming route',
      () => [
        head(['POST /stream HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked']),
        `800\r\n${'a'.repeat(0x800)}\r\n0\r\n\r\n`,
      ],
      413,
    ],
    [
      'a body that stalls (buffering route)',
      () => [`${head(['POST / HTTP/1.1', 'Host: a', 'Content-Length: 100'])}0123456789`, { pauseMs: 1500 }],
      408,
    ],
    [
      'a body that stalls (streaming route)',
      () => [`${head(['POST /stream HTTP/1.1', 'Host: a', 'Content-Length: 100'])}0123456789`, { pauseMs: 1500 }],
      408,
    ],
    [
      'a head sent too slowly (slowloris)',
      () => ['GET / HTTP/1.1\r\nHost: a\r\n', { pauseMs: 1500 }, 'X-Late: 1\r\n\r\n'],
      408,
    ],
    ['an upstream answering garbage', () => [head(['GET /garbage HTTP/1.1', 'Host: a', 'Connection: close'])], 502],
  ]

  for (const [what, parts, status] of cases) {
    it(`${what} → ${status}`, async () => {
      const reply = await raw(port, ...parts())
      assert.equal(reply.status, status, reply.text.slice(0, 300))
    })
  }

  it('answers in Kong’s JSON shape', async () => {
    const reply = await raw(port, head(['POST / HTTP/1.1', 'Host: a', 'Content-Length: 2000']))
    assert.match(reply.text, /content-type: application\/json/i)
    assert.match(reply.text, /\{"message":"Payload too large"\}/)
  })

  it('gives HTTP/2 (h2c) clients the same answers', async () => {
    const session = h2connect(t.dp.proxyUrls[1]!)
    const ask = async (headers: Record<string, string>, body?: string) => {
      const stream = session.request(headers, { endStream: body === undefined })
      if (body !== undefined) stream.end(body)
      const [h] = (await once(stream, 'response')) as [Record<string, string>]
      stream.resume()
      await once(stream, 'close')
      return Number(h[':status'])
    }
    try {
      assert.equal(await ask({ ':path': '/x' }), 200)
      assert.equal(await ask({ ':path': '/tls-only' }), 426)
      assert.equal(await ask({ ':path': '/x', ':method': 'POST', 'content-length': '2000' }, 'x'.repeat(2000)), 413)
      assert.equal(await ask({ ':path': '/x', ':method': 'POST' }, 'x'.repeat(2000)), 413)
      assert.equal(await ask({ ':path': '/stream', ':method': 'POST' }, 'x'.repeat(2000)), 413)
      assert.equal(await ask({ ':path': '/x', ':method': 'POST' }, 'small'), 200)
    } finally {
      session.close()
    }
  })

  it('is still serving afterwards', async () => {
    const res = await call(t.dp.proxyUrl, '/x')
    assert.equal(res.status, 200)
    assert.equal(res.body.toString(), 'ok')
    const status = json(await call(t.dp.statusUrl, '/status'))
    assert.ok(status.server.total_requests > 0)
  })
})

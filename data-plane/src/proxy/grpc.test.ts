/** gRPC through the proxy: a real grpc-js server upstream, a grpc-js client over h2c and over TLS (ALPN h2). */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { grpc } from '@turnpike/proto'
import { call, startTestDataPlane, type TestDataPlane, uuid } from '../testing/harness.ts'

type Msg = { text: string; n?: number; meta?: Record<string, unknown> }
const ser = (m: Msg) => Buffer.from(JSON.stringify(m))
const de = (b: Buffer): Msg => JSON.parse(b.toString())
const method = (path: string, responseStream: boolean) => ({
  path,
  requestStream: false,
  responseStream,
  requestSerialize: ser,
  requestDeserialize: de,
  responseSerialize: ser,
  responseDeserialize: de,
})
const ECHO = {
  unary: method('/test.Echo/Unary', false),
  count: method('/test.Echo/Count', true),
  fail: method('/test.Echo/Fail', false),
} satisfies grpc.ServiceDefinition
const Echo = grpc.makeGenericClientConstructor(ECHO, 'Echo')

type EchoClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>

function unary(client: EchoClient, name: string, req: Msg, metadata = new grpc.Metadata()) {
  return new Promise<{ reply: Msg; headers: grpc.Metadata; trailers: grpc.Metadata }>((resolve, reject) => {
    let headers = new grpc.Metadata()
    let trailers = new grpc.Metadata()
    const c = client[name]!(req, metadata, (err: grpc.ServiceError | null, reply: Msg) => {
      if (err) reject(err)
      else setImmediate(() => resolve({ reply, headers, trailers }))
    }) as grpc.ClientUnaryCall
    c.on('metadata', (m: grpc.Metadata) => {
      headers = m
    })
    c.on('status', (s: grpc.StatusObject) => {
      trailers = s.metadata
    })
  })
}

describe('gRPC proxying', () => {
  let server: grpc.Server
  let t: TestDataPlane
  let h2c: EchoClient
  let h2tls: EchoClient

  before(async () => {
    server = new grpc.Server()
    server.addService(ECHO, {
      unary: (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
        call.sendMetadata(new grpc.Metadata())
        const trailer = new grpc.Metadata()
        trailer.set('x-trailer', 'after-the-body')
        const seen = call.metadata.getMap()
        cb(null, { text: `echo: ${call.request.text}`, meta: seen }, trailer)
      },
      count: (call: grpc.ServerWritableStream<Msg, Msg>) => {
        const n = call.request.n ?? 0
        for (let i = 1; i <= n; i++) call.write({ text: `message ${i}`, n: i })
        const trailer = new grpc.Metadata()
        trailer.set('x-count', String(n))
        call.end(trailer)
      },
      fail: (_call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
        cb({ code: grpc.status.NOT_FOUND, details: 'no such thing' })
      },
    })
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    )
    t = await startTestDataPlane({ proxy_listen: '127.0.0.1:0 http2, 127.0.0.1:0 ssl http2' })
    await t.apply({
      services: [{ id: uuid(1), protocol: 'grpc', host: '127.0.0.1', port }],
      routes: [
        {
          id: uuid(11),
          protocols: ['grpc', 'grpcs'],
          paths: ['/test.Echo/'],
          strip_path: false,
          service: { id: uuid(1) },
        },
        { id: uuid(12), protocols: ['grpcs'], hosts: ['secure.test'], service: { id: uuid(1) } },
      ],
    })
    const [plain = '', tls = ''] = t.dp.proxyUrls
    h2c = new Echo(new URL(plain).host, grpc.credentials.createInsecure()) as unknown as EchoClient
    const defaultCert = await readFile(join(t.prefix, 'ssl', 'turnpike-default.crt'))
    h2tls = new Echo(new URL(tls).host, grpc.credentials.createSsl(defaultCert), {
      'grpc.ssl_target_name_override': 'localhost',
    }) as unknown as EchoClient
  })

  after(async () => {
    h2c?.close()
    h2tls?.close()
    await t?.close()
    server?.forceShutdown()
  })

  it('proxies a unary call over h2c with metadata both ways and trailers', async () => {
    const md = new grpc.Metadata()
    md.set('x-client', 'abc')
    const { reply, trailers } = await unary(h2c, 'unary', { text: 'hi' }, md)
    assert.equal(reply.text, 'echo: hi')
    assert.equal(reply.meta?.['x-client'], 'abc')
    assert.match(String(reply.meta?.['x-turnpike-request-id']), /^[0-9a-f]{32}$/)
    assert.equal(reply.meta?.['x-forwarded-proto'], 'http')
    assert.deepEqual(trailers.get('x-trailer'), ['after-the-body'])
  })

  it('streams server messages and relays the final status and trailers', async () => {
    const stream = h2c.count({ text: '', n: 5 }) as grpc.ClientReadableStream<Msg>
    const got: number[] = []
    const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve))
    for await (const m of stream) got.push((m as Msg).n ?? 0)
    assert.deepEqual(got, [1, 2, 3, 4, 5])
    const s = await status
    assert.equal(s.code, grpc.status.OK)
    assert.deepEqual(s.metadata.get('x-count'), ['5'])
  })

  it('relays error statuses (trailers-only answers)', async () => {
    await assert.rejects(unary(h2c, 'fail', { text: 'x' }), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.NOT_FOUND)
      assert.equal(err.details, 'no such thing')
      return true
    })
  })

  it('proxies over TLS with ALPN h2', async () => {
    const { reply } = await unary(h2tls, 'unary', { text: 'secure' })
    assert.equal(reply.text, 'echo: secure')
    assert.equal(reply.meta?.['x-forwarded-proto'], 'https')
    const stream = h2tls.count({ text: '', n: 3 }) as grpc.ClientReadableStream<Msg>
    let n = 0
    for await (const _ of stream) n++
    assert.equal(n, 3)
  })

  it("answers Kong's gRPC mismatches", async () => {
    // A grpcs-only route reached over h2c: grpc-status 1 in a trailers-only answer.
    const onlyTls = new Echo(new URL(t.dp.proxyUrls[0]!).host, grpc.credentials.createInsecure(), {
      'grpc.default_authority': 'secure.test',
    }) as unknown as EchoClient
    try {
      await assert.rejects(unary(onlyTls, 'unary', { text: 'x' }), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.CANCELLED)
        assert.equal(err.details, 'gRPC request matched gRPCs route')
        return true
      })
    } finally {
      onlyTls.close()
    }
    // Not gRPC at all: 415; gRPC over HTTP/1.1: 426.
    const plain = await call(t.dp.proxyUrl, '/test.Echo/Unary', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    assert.equal(plain.status, 415)
    const h1 = await call(t.dp.proxyUrl, '/test.Echo/Unary', {
      method: 'POST',
      headers: { 'content-type': 'application/grpc' },
      body: '',
    })
    assert.equal(h1.status, 426)
    assert.equal(h1.headers.upgrade, 'HTTP/2')
  })
})

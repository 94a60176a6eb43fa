/** WebSocket proxying end to end: a tiny RFC 6455 echo upstream, Node's WebSocket client, close in both directions. */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { call, eventually, raw, startTestDataPlane, type TestDataPlane, uuid } from '../testing/harness.ts'

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

/** One unmasked server frame. */
function frame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length
  const head =
    len < 126 ? Buffer.from([0x80 | opcode, len]) : Buffer.from([0x80 | opcode, 126, (len >> 8) & 0xff, len & 0xff])
  return Buffer.concat([head, payload])
}

/** Parses masked client frames (payloads under 64 KiB) and calls `onFrame` for each. */
function readFrames(socket: Socket, onFrame: (opcode: number, payload: Buffer) => void): void {
  let buf: Buffer = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk])
    for (;;) {
      if (buf.length < 2) return
      let len = buf[1]! & 0x7f
      let offset = 2
      if (len === 126) {
        if (buf.length < 4) return
        len = buf.readUInt16BE(2)
        offset = 4
      }
      const masked = (buf[1]! & 0x80) !== 0
      const total = offset + (masked ? 4 : 0) + len
      if (buf.length < total) return
      const mask = masked ? buf.subarray(offset, offset + 4) : null
      const payload = Buffer.from(buf.subarray(total - len, total))
      if (mask) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!
      const opcode = buf[0]! & 0x0f
      buf = buf.subarray(total)
      onFrame(opcode, payload)
    }
  })
}

describe('WebSocket proxying', () => {
  let upstream: Server
  let t: TestDataPlane
  /** Upstream sockets by the path they were opened on, and a waiter for their close. */
  const upstreamClosed = new Map<string, Promise<void>>()
  /** What an upstream that refused to switch protocols received after its answer. */
  let afterRefusal = ''
  let refusals = 0

  before(async () => {
    upstream = createServer((_req, res) => res.end('plain'))
    upstream.on('upgrade', (req, socket: Socket) => {
      if (req.url === '/no-switch') {
        // Answers 200 and keeps the connection: anything more the proxy sends would be a tunnel.
        refusals++
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok')
        socket.on('data', (c: Buffer) => {
          afterRefusal += c.toString('latin1')
        })
        socket.on('error', () => {})
        return
      }
      if (req.url === '/deny') {
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\nConnection: close\r\n\r\ndenied')
        return
      }
      const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}${GUID}`).digest('base64')
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Seen-Path: ${req.url}\r\n\r\n`,
      )
      upstreamClosed.set(
        req.url ?? '',
        once(socket, 'close').then(() => {}),
      )
      socket.on('error', () => {})
      // The proxy's half-close (FIN) ends the upstream's side too, as a WebSocket server would.
      socket.on('end', () => socket.end())
      readFrames(socket, (opcode, payload) => {
        if (opcode === 0x8) {
          socket.end(frame(0x8, payload))
          return
        }
        if (opcode === 0x9) {
          socket.write(frame(0xa, payload))
          return
        }
        const text = payload.toString()
        // "bye" asks the server to close first, with a code of its own.
        if (opcode === 0x1 && text === 'bye') {
          const code = Buffer.alloc(2)
          code.writeUInt16BE(4001)
          socket.end(frame(0x8, Buffer.concat([code, Buffer.from('server says bye')])))
          return
        }
        socket.write(frame(opcode, payload))
      })
    })
    upstream.listen(0, '127.0.0.1')
    await once(upstream, 'listening')
    t = await startTestDataPlane()
    const port = (upstream.address() as AddressInfo).port
    await t.apply({
      services: [
        { id: uuid(1), host: '127.0.0.1', port },
        { id: uuid(2), host: '127.0.0.1', port, read_timeout: 300 },
      ],
      routes: [
        { id: uuid(11), paths: ['/ws'], service: { id: uuid(1) } },
        { id: uuid(12), paths: ['/idle'], strip_path: false, service: { id: uuid(2) } },
        { id: uuid(13), paths: ['/ws-only'], protocols: ['ws'], service: { id: uuid(1) } },
      ],
    })
  })

  after(async () => {
    await t?.close()
    upstream?.closeAllConnections()
    upstream?.close()
  })

  const wsUrl = (path: string) => `${t.dp.proxyUrl.replace(/^http/, 'ws')}${path}`

  async function open(path: string): Promise<WebSocket> {
    const ws = new WebSocket(wsUrl(path))
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve()
      ws.onerror = () => reject(new Error(`WebSocket to ${path} failed`))
    })
    return ws
  }

  const nextMessage = (ws: WebSocket) =>
    new Promise<unknown>((resolve) => {
      ws.onmessage = (e) => resolve(e.data)
    })
  const closed = (ws: WebSocket) =>
    new Promise<{ code: number; reason: string }>((resolve) => {
      ws.onclose = (e) => resolve({ code: e.code, reason: e.reason })
    })

  it('relays the handshake with Turnpike headers and echoes text and binary messages', async () => {
    const ws = await open('/ws/chat')
    let reply = nextMessage(ws)
    ws.send('hello through the gateway')
    assert.equal(await reply, 'hello through the gateway')
    ws.binaryType = 'arraybuffer'
    reply = nextMessage(ws)
    ws.send(new Uint8Array([1, 2, 3, 250]))
    assert.deepEqual([...new Uint8Array((await reply) as ArrayBuffer)], [1, 2, 3, 250])
    const done = closed(ws)
    ws.close(1000, 'done')
    assert.equal((await done).code, 1000)
    // The client's close reached the upstream, which closed its side.
    await upstreamClosed.get('/chat')
  })

  it('passes an upstream-initiated close on to the client', async () => {
    const ws = await open('/ws/server-closes')
    const done = closed(ws)
    ws.send('bye')
    assert.deepEqual(await done, { code: 4001, reason: 'server says bye' })
  })

  it('closes connections idle for the service read_timeout', async () => {
    const ws = await open('/idle')
    const done = closed(ws)
    // No traffic at all: the proxy drops both sides.
    assert.equal((await done).code, 1006)
    await upstreamClosed.get('/idle')
  })

  it('adds its headers to the 101 and relays a refused handshake as is', async () => {
    const port = Number(new URL(t.dp.proxyUrl).port)
    const handshake = (path: string) =>
      new Promise<{ status: number; headers: Record<string, unknown>; socket?: Socket }>((resolve, reject) => {
        const req = request({
          port,
          host: '127.0.0.1',
          path,
          headers: {
            Connection: 'Upgrade',
            Upgrade: 'websocket',
            'Sec-WebSocket-Version': '13',
            'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
          },
        })
        req.on('upgrade', (res, socket) => resolve({ status: res.statusCode ?? 0, headers: res.headers, socket }))
        req.on('response', (res) => {
          res.resume()
          resolve({ status: res.statusCode ?? 0, headers: res.headers })
        })
        req.on('error', reject)
        req.end()
      })
    const ok = await handshake('/ws/raw')
    assert.equal(ok.status, 101)
    assert.equal(ok.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=')
    assert.equal(ok.headers['x-seen-path'], '/raw')
    assert.match(String(ok.headers['x-turnpike-request-id']), /^[0-9a-f]{32}$/)
    assert.match(String(ok.headers.via), /^1\.1 turnpike\//)
    ok.socket?.destroy()
    const denied = await handshake('/ws/deny')
    assert.equal(denied.status, 403)
  })

  it('refuses plain requests on ws-only routes and keeps http routes serving plain requests', async () => {
    const res = await call(t.dp.proxyUrl, '/ws-only')
    assert.equal(res.status, 426)
    assert.equal(res.headers.upgrade, 'websocket')
    assert.equal((await call(t.dp.proxyUrl, '/ws/plain')).body.toString(), 'plain')
    const ws = await open('/ws-only/x')
    ws.close()
  })
  it('tunnels only after a 101 that switches to the asked protocol; anything else is relayed as HTTP and closed', async () => {
    const port = Number(new URL(t.dp.proxyUrl).port)
    const handshake =
      'GET /ws/no-switch HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'
    // The smuggled request rides in the same packet as the handshake, and again after the answer.
    const smuggled = 'GET /internal HTTP/1.1\r\nHost: x\r\nX-Consumer-ID: forged\r\n\r\n'
    const before = refusals
    const reply = await raw(port, handshake + smuggled, { pauseMs: 100 }, smuggled)
    assert.equal(reply.status, 200)
    assert.match(reply.text, /\r\nConnection: close\r\n/i)
    assert.doesNotMatch(reply.text, /keep-alive/i)
    await eventually(() => refusals === before + 1, 'the upstream saw the handshake')
    await new Promise((r) => setTimeout(r, 100))
    assert.equal(afterRefusal, '', 'nothing reached the upstream after its non-101 answer')
  })
})

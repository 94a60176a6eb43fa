/** HTTP/2 cancellation: a client's RST_STREAM reaches the upstream as an aborted request (CVE-2023-44487's first half). */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import { connect, constants } from 'node:http2'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { eventually, startTestDataPlane, type TestDataPlane, uuid } from '../testing/harness.ts'

describe('HTTP/2 stream reset', () => {
  let upstream: Server
  let t: TestDataPlane
  let arrived = 0
  let aborted = 0

  before(async () => {
    // Never answers: only a cancellation ends these requests.
    upstream = createServer((_req, res) => {
      arrived++
      res.on('close', () => {
        if (!res.writableFinished) aborted++
      })
    })
    upstream.listen(0, '127.0.0.1')
    await once(upstream, 'listening')
    t = await startTestDataPlane({ proxy_listen: '127.0.0.1:0 http2' })
    const port = (upstream.address() as AddressInfo).port
    await t.apply({
      services: [{ id: uuid(1), host: '127.0.0.1', port }],
      routes: [{ id: uuid(2), paths: ['/'], service: { id: uuid(1) } }],
    })
  })
  after(async () => {
    await t?.close()
    upstream?.closeAllConnections()
    upstream?.close()
  })

  it('aborts the upstream request when the client resets the stream', async () => {
    const session = connect(t.dp.proxyUrl)
    session.on('error', () => {})
    const streams = Array.from({ length: 5 }, () => session.request({ ':path': '/hang' }))
    for (const s of streams) s.on('error', () => {})
    await eventually(() => arrived === 5, 'five requests upstream')
    for (const s of streams) s.close(constants.NGHTTP2_CANCEL)
    await eventually(() => aborted === 5, 'every upstream request aborted')
    session.close()
    assert.equal(aborted, 5)
  })
  it('closes a connection that resets streams in a flood (rapid reset), and caps its concurrent streams', async () => {
    const session = connect(t.dp.proxyUrl)
    session.on('error', () => {})
    await once(session, 'remoteSettings')
    assert.equal(session.remoteSettings.maxConcurrentStreams, 128)
    const goaway = once(session, 'goaway')
    const before = arrived
    // HEADERS then RST_STREAM, over and over, each stream cancelled as soon as it was opened.
    for (let i = 0; i < 400 && !session.destroyed && !session.closed; i++) {
      const s = session.request({ ':path': '/hang' })
      s.on('error', () => {})
      s.close(constants.NGHTTP2_CANCEL)
      if (i % 20 === 0) await new Promise((r) => setImmediate(r))
    }
    const [code] = await goaway
    assert.equal(code, 0xb, 'GOAWAY ENHANCE_YOUR_CALM')
    assert.ok(arrived - before <= 400)
    session.destroy()
  })
})

import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { type Harness, routeRow, row, startHarness } from '../../pipeline/test-harness.ts'

describe('http-log', () => {
  let h: Harness
  let collector: Server
  const received: { headers: Record<string, unknown>; body: unknown }[] = []
  before(async () => {
    collector = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) })
        res.end()
      })
    })
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r))
    const port = (collector.address() as AddressInfo).port
    h = await startHarness()
    const one = routeRow(h.serviceId, { name: 'one', paths: ['/one'] })
    const batch = routeRow(h.serviceId, { name: 'batch', paths: ['/batch'] })
    await h.publish({
      routes: [one, batch],
      plugins: [
        row('plugins', {
          name: 'http-log',
          route: { id: one.id },
          config: { http_endpoint: `http://user:pw@127.0.0.1:${port}/one`, headers: { 'X-Tag': 'a' } },
        }),
        row('plugins', {
          name: 'http-log',
          route: { id: batch.id },
          config: {
            http_endpoint: `http://127.0.0.1:${port}/batch`,
            queue: { max_batch_size: 3, max_coalescing_delay: 0.05 },
          },
        }),
      ],
    })
  })
  after(async () => {
    await h.close()
    collector.close()
  })

  const waitFor = async (n: number) => {
    for (let i = 0; i < 200 && received.length < n; i++) await new Promise((r) => setTimeout(r, 10))
  }

  it('posts each entry as a JSON object with the configured headers and userinfo auth', async () => {
    const r = await h.call('/one/x')
    assert.equal(r.status, 200)
    await waitFor(1)
    const got = received.shift()!
    assert.equal((got.body as { request: { uri: string } }).request.uri, '/one/x')
    assert.equal(got.headers['x-tag'], 'a')
    assert.equal(got.headers.authorization, `Basic ${Buffer.from('user:pw').toString('base64')}`)
    assert.equal(got.headers['content-type'], 'application/json')
  })

  it('batches into arrays', async () => {
    await Promise.all([h.call('/batch/1'), h.call('/batch/2'), h.call('/batch/3')])
    await waitFor(1)
    const got = received.shift()!
    assert.ok(Array.isArray(got.body))
    assert.equal((got.body as unknown[]).length, 3)
  })
})

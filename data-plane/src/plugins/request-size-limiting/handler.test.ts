import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type Harness, routeRow, row, startHarness } from '../../pipeline/test-harness.ts'

describe('request-size-limiting', () => {
  let h: Harness
  before(async () => {
    h = await startHarness()
    const routes = ['/small', '/strict'].map((p) => routeRow(h.serviceId, { paths: [p] }))
    await h.publish({
      routes,
      plugins: [
        row('plugins', {
          name: 'request-size-limiting',
          route: { id: routes[0].id },
          config: { allowed_payload_size: 1, size_unit: 'kilobytes' },
        }),
        row('plugins', {
          name: 'request-size-limiting',
          route: { id: routes[1].id },
          config: { allowed_payload_size: 10, size_unit: 'bytes', require_content_length: true },
        }),
      ],
    })
  })
  after(() => h.close())

  it('limits by Content-Length, 417 with Expect: 100-continue', async () => {
    assert.equal((await h.call('/small', { method: 'POST', body: 'x'.repeat(1024) })).status, 200)
    const big = await h.call('/small', { method: 'POST', body: 'x'.repeat(1025) })
    assert.equal(big.status, 413)
    assert.deepEqual(big.json, { message: 'Request size limit exceeded' })
  })

  it('counts chunked bodies and forwards the ones that fit', async () => {
    const ok = await h.call('/small', { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, body: 'hello' })
    assert.equal(ok.status, 200)
    assert.equal(ok.upstream!.body, 'hello')
    const big = await h.call('/small', {
      method: 'POST',
      headers: { 'transfer-encoding': 'chunked' },
      body: 'y'.repeat(5000),
    })
    assert.equal(big.status, 413)
  })

  it('requires a Content-Length when configured', async () => {
    const r = await h.call('/strict', { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, body: 'abc' })
    assert.equal(r.status, 411)
    assert.deepEqual(r.json, { message: 'A valid Content-Length header is required' })
    assert.equal((await h.call('/strict', { method: 'POST', body: 'abc' })).status, 200)
  })
})

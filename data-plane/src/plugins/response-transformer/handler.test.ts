import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type Harness, routeRow, row, startHarness } from '../../pipeline/test-harness.ts'

describe('response-transformer', () => {
  let h: Harness
  before(async () => {
    h = await startHarness()
    const json = routeRow(h.serviceId, { paths: ['/json'] })
    const text = routeRow(h.serviceId, { paths: ['/status'], strip_path: false })
    await h.publish({
      routes: [json, text],
      plugins: [
        row('plugins', {
          name: 'response-transformer',
          service: { id: h.serviceId },
          config: {
            remove: { headers: ['x-upstream'], json: ['echo'] },
            add: { headers: ['x-added:1'], json: ['count:3', 'ok:true'], json_types: ['number', 'boolean'] },
            append: { json: ['tags:a'] },
          },
        }),
      ],
    })
  })
  after(() => h.close())

  it('rewrites JSON bodies and headers', async () => {
    const r = await h.call('/json')
    assert.equal(r.status, 200)
    assert.deepEqual(r.json, { count: 3, ok: true, tags: 'a' })
    assert.equal(r.headers['x-upstream'], undefined)
    assert.equal(r.headers['x-added'], '1')
    assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body))
  })

  it('streams other bodies untouched', async () => {
    const r = await h.call('/status/201')
    assert.equal(r.status, 201)
    assert.equal(r.body, 'status 201')
    assert.equal(r.headers['x-added'], '1')
  })
})

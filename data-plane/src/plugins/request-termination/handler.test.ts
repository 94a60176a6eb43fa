import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type Harness, routeRow, row, startHarness } from '../../pipeline/test-harness.ts'

describe('request-termination', () => {
  let h: Harness
  before(async () => {
    h = await startHarness()
    const routes = ['/default', '/custom', '/body', '/echo', '/trigger'].map((p) =>
      routeRow(h.serviceId, { paths: [p] }),
    )
    await h.publish({
      routes,
      plugins: [
        row('plugins', { name: 'request-termination', route: { id: routes[0].id } }),
        row('plugins', {
          name: 'request-termination',
          route: { id: routes[1].id },
          config: { status_code: 418, message: 'So long and thanks for all the fish!' },
        }),
        row('plugins', {
          name: 'request-termination',
          route: { id: routes[2].id },
          config: { status_code: 200, body: '<h1>maintenance</h1>', content_type: 'text/html' },
        }),
        row('plugins', {
          name: 'request-termination',
          route: { id: routes[3].id },
          config: { echo: true, status_code: 404 },
        }),
        row('plugins', { name: 'request-termination', route: { id: routes[4].id }, config: { trigger: 'X-Stop' } }),
      ],
    })
  })
  after(() => h.close())

  it('answers with Kong defaults, a message, or a raw body', async () => {
    const d = await h.call('/default')
    assert.equal(d.status, 503)
    assert.deepEqual(d.json, { message: 'Service unavailable' })
    const c = await h.call('/custom')
    assert.equal(c.status, 418)
    assert.deepEqual(c.json, { message: 'So long and thanks for all the fish!' })
    const b = await h.call('/body')
    assert.equal(b.status, 200)
    assert.equal(b.body, '<h1>maintenance</h1>')
    assert.equal(b.headers['content-type'], 'text/html')
  })

  it('echoes the request', async () => {
    const r = await h.call('/echo/x?a=1', { method: 'POST', headers: { 'x-h': 'v' }, body: 'hi' })
    assert.equal(r.status, 404)
    const req = (r.json as { request: Record<string, unknown> }).request
    assert.equal(req.path, '/echo/x')
    assert.deepEqual(req.query, { a: '1' })
    assert.equal(req.raw_body, 'hi')
    assert.equal((req.headers as Record<string, string>)['x-h'], 'v')
    assert.equal(r.json?.message, 'Not found')
    assert.ok(r.json?.matched_route)
  })

  it('only terminates requests carrying the trigger', async () => {
    assert.equal((await h.call('/trigger')).status, 200)
    assert.equal((await h.call('/trigger', { headers: { 'x-stop': '1' } })).status, 503)
    assert.equal((await h.call('/trigger?X-Stop')).status, 503)
  })
})

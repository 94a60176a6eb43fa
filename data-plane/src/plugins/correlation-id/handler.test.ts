import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type Harness, routeRow, row, startHarness } from '../../pipeline/test-harness.ts'

describe('correlation-id', () => {
  let h: Harness
  before(async () => {
    h = await startHarness()
    const routes = ['/counter', '/uuid', '/tracker'].map((p) => routeRow(h.serviceId, { paths: [p] }))
    await h.publish({
      routes,
      plugins: [
        row('plugins', { name: 'correlation-id', route: { id: routes[0].id } }),
        row('plugins', {
          name: 'correlation-id',
          route: { id: routes[1].id },
          config: { generator: 'uuid', header_name: 'X-Request-Trace', echo_downstream: true },
        }),
        row('plugins', { name: 'correlation-id', route: { id: routes[2].id }, config: { generator: 'tracker' } }),
        row('plugins', { name: 'request-termination', route: { id: routes[1].id }, config: { trigger: 'stop' } }),
      ],
    })
  })
  after(() => h.close())

  it('adds uuid#counter ids upstream and keeps one the client sent', async () => {
    const a = (await h.call('/counter')).upstream!.headers['kong-request-id'] as string
    const b = (await h.call('/counter')).upstream!.headers['kong-request-id'] as string
    assert.match(a, /^[0-9a-f-]{36}#\d+$/)
    assert.equal(a.split('#')[0], b.split('#')[0])
    assert.equal(Number(b.split('#')[1]), Number(a.split('#')[1]) + 1)
    const kept = await h.call('/counter', { headers: { 'kong-request-id': 'mine' } })
    assert.equal(kept.upstream!.headers['kong-request-id'], 'mine')
    assert.equal(kept.headers['kong-request-id'], undefined)
  })

  it('echoes downstream, also on plugin answers', async () => {
    const r = await h.call('/uuid')
    const id = r.upstream!.headers['x-request-trace'] as string
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    assert.equal(r.headers['x-request-trace'], id)
    const stopped = await h.call('/uuid', { headers: { stop: '1' } })
    assert.equal(stopped.status, 503)
    assert.ok(stopped.headers['x-request-trace'])
  })

  it('tracker ids name the connection', async () => {
    const id = (await h.call('/tracker')).upstream!.headers['kong-request-id'] as string
    assert.match(id, /^127\.0\.0\.1-\d+-\d+-\d+-1-\d+\.\d{3}$/)
  })
})

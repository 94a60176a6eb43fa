import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type Harness, routeRow, row, startHarness } from '../../pipeline/test-harness.ts'
import { normalizeOrigin } from './handler.ts'

describe('cors', () => {
  it('normalizes origins', () => {
    assert.deepEqual(normalizeOrigin('HTTPS://Example.com:443'), { origin: 'https://example.com', host: 'example.com' })
    assert.deepEqual(normalizeOrigin('http://a.test:8080'), { origin: 'http://a.test:8080', host: 'a.test' })
  })

  let h: Harness
  before(async () => {
    h = await startHarness()
    const routes = ['/any', '/list', '/continue', '/creds'].map((p) => routeRow(h.serviceId, { paths: [p] }))
    await h.publish({
      routes,
      plugins: [
        row('plugins', { name: 'cors', route: { id: routes[0].id } }),
        row('plugins', {
          name: 'cors',
          route: { id: routes[1].id },
          config: {
            origins: ['https://app.example.com', 'partner.test', 'https://.*\\.trusted\\.test'],
            methods: ['GET', 'POST'],
            headers: ['X-Custom', 'Content-Type'],
            exposed_headers: ['X-Upstream'],
            max_age: 600,
            credentials: true,
          },
        }),
        row('plugins', { name: 'cors', route: { id: routes[2].id }, config: { preflight_continue: true } }),
        row('plugins', { name: 'cors', route: { id: routes[3].id }, config: { credentials: true } }),
      ],
    })
  })
  after(() => h?.close())

  const preflight = (origin: string) => ({
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-a' },
  })

  it('answers preflights itself', async () => {
    const r = await h.call('/list', preflight('https://app.example.com'))
    assert.equal(r.status, 200)
    assert.equal(r.body, '')
    assert.equal(r.upstream, undefined)
    assert.equal(r.headers['access-control-allow-origin'], 'https://app.example.com')
    assert.equal(r.headers['access-control-allow-methods'], 'GET,POST')
    assert.equal(r.headers['access-control-allow-headers'], 'X-Custom,Content-Type')
    assert.equal(r.headers['access-control-max-age'], '600')
    assert.equal(r.headers['access-control-allow-credentials'], 'true')
    assert.equal(r.headers.vary, 'Origin')
    const any = await h.call('/any', preflight('https://x.test'))
    assert.equal(any.headers['access-control-allow-origin'], '*')
    assert.equal(any.headers['access-control-allow-headers'], 'x-a')
    assert.equal(any.headers['access-control-allow-methods'], 'GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT')
  })

  it('matches exact, host-only and regex origins on simple requests', async () => {
    for (const [origin, allowed] of [
      ['https://app.example.com', 'https://app.example.com'],
      ['http://partner.test:8080', 'http://partner.test:8080'],
      ['https://eu.trusted.test', 'https://eu.trusted.test'],
      ['https://evil.test', undefined],
      ['https://eu.trusted.test.evil', undefined],
    ] as const) {
      const r = await h.call('/list', { headers: { origin } })
      assert.equal(r.status, 200)
      assert.equal(r.headers['access-control-allow-origin'], allowed, origin)
      assert.equal(r.headers['access-control-expose-headers'], 'X-Upstream')
    }
  })

  it('passes preflights on with preflight_continue; echoes the origin with credentials and *', async () => {
    const r = await h.call('/continue', preflight('https://x.test'))
    assert.equal(r.status, 200)
    assert.equal(r.upstream?.method, 'OPTIONS')
    assert.equal(r.headers['access-control-allow-origin'], undefined)
    const c = await h.call('/creds', { headers: { origin: 'https://x.test' } })
    assert.equal(c.headers['access-control-allow-origin'], 'https://x.test')
    assert.equal(c.headers['access-control-allow-credentials'], 'true')
  })
})

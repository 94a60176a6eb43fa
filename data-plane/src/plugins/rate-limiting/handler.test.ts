import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { type Harness, routeRow, row, startHarness } from '../../pipeline/test-harness.ts'
import { awayFromMinuteEdge, redisUnavailable } from '../../testing/redis.ts'
import { clearLocalCounters, localIncrement, localUsage } from './local-counters.ts'
import { parseReply, redisClient } from './redis-client.ts'

const redisMissing = await redisUnavailable()

describe('rate-limiting', () => {
  it('parses RESP replies', () => {
    const buf = Buffer.from('*3\r\n:1\r\n$3\r\nabc\r\n$-1\r\n+OK\r\n')
    const r = parseReply(buf, 0)!
    assert.deepEqual(r.value, [1, 'abc', null])
    assert.deepEqual(parseReply(buf, r.next)?.value, 'OK')
    assert.equal(parseReply(Buffer.from('$5\r\nab'), 0), undefined)
  })

  it('sliding windows weigh the previous window in', () => {
    clearLocalCounters()
    const t0 = Date.UTC(2030, 0, 1, 0, 0, 0)
    for (let i = 0; i < 10; i++) localIncrement('k', ['minute'], t0 + 1000)
    assert.equal(localUsage('k', 'minute', true, t0 + 30_000), 10)
    // Half way into the next minute, half of the previous minute still counts.
    assert.equal(localUsage('k', 'minute', true, t0 + 90_000), 5)
    assert.equal(localUsage('k', 'minute', false, t0 + 90_000), 0)
    assert.equal(localUsage('k', 'minute', true, t0 + 150_000), 0)
  })

  let h: Harness
  const ids = { local: '', sliding: '', header: '', redis: '' }
  before(async () => {
    clearLocalCounters()
    h = await startHarness()
    const routes = ['/local', '/sliding', '/by-header', '/redis', '/down'].map((p) =>
      routeRow(h.serviceId, { paths: [p] }),
    )
    ids.local = routes[0].id
    const plugins = [
      row('plugins', { name: 'rate-limiting', route: { id: routes[0].id }, config: { minute: 3, hour: 100 } }),
      row('plugins', {
        name: 'rate-limiting',
        route: { id: routes[1].id },
        config: { minute: 2, window_type: 'sliding', error_message: 'slow down', error_code: 420 },
      }),
      row('plugins', {
        name: 'rate-limiting',
        route: { id: routes[2].id },
        config: { minute: 1, hour: 100, limit_by: 'header', header_name: 'x-tenant', hide_client_headers: true },
      }),
      row('plugins', {
        name: 'rate-limiting',
        route: { id: routes[4].id },
        config: { minute: 1, policy: 'redis', redis: { host: '127.0.0.1', port: 1, timeout: 200 } },
      }),
    ]
    if (!redisMissing)
      plugins.push(
        row('plugins', {
          name: 'rate-limiting',
          route: { id: routes[3].id },
          config: {
            minute: 2,
            policy: 'redis',
            redis: { host: '127.0.0.1', port: 6379 },
            limit_by: 'header',
            header_name: 'x-run',
          },
        }),
      )
    await h.publish({ routes, plugins })
  })
  after(() => {
    redisClient({
      host: '127.0.0.1',
      port: 6379,
      timeout: 2000,
      database: 0,
      username: null,
      password: null,
      ssl: false,
      ssl_verify: false,
      server_name: null,
    }).close()
    return h.close()
  })

  it('counts per period with Kong headers, then answers 429 with Retry-After', async () => {
    await awayFromMinuteEdge()
    for (let i = 1; i <= 3; i++) {
      const r = await h.call('/local')
      assert.equal(r.status, 200)
      assert.equal(r.headers['x-ratelimit-limit-minute'], '3')
      assert.equal(r.headers['x-ratelimit-remaining-minute'], String(3 - i))
      assert.equal(r.headers['x-ratelimit-limit-hour'], '100')
      assert.equal(r.headers['x-ratelimit-remaining-hour'], String(100 - i))
      assert.equal(r.headers['ratelimit-limit'], '3')
      assert.equal(r.headers['ratelimit-remaining'], String(3 - i))
      assert.ok(Number(r.headers['ratelimit-reset']) >= 1 && Number(r.headers['ratelimit-reset']) <= 60)
    }
    const r = await h.call('/local')
    assert.equal(r.status, 429)
    assert.deepEqual(r.json, { message: 'API rate limit exceeded' })
    assert.equal(r.headers['x-ratelimit-remaining-minute'], '0')
    assert.ok(Number(r.headers['retry-after']) >= 1)
    assert.equal(r.upstream, undefined)
  })

  it('custom status and message; sliding windows', async () => {
    await awayFromMinuteEdge()
    assert.equal((await h.call('/sliding')).status, 200)
    assert.equal((await h.call('/sliding')).status, 200)
    const r = await h.call('/sliding')
    assert.equal(r.status, 420)
    assert.deepEqual(r.json, { message: 'slow down' })
  })

  it('limits by header and can hide its headers', async () => {
    await awayFromMinuteEdge()
    const a = await h.call('/by-header', { headers: { 'x-tenant': 'a' } })
    assert.equal(a.status, 200)
    assert.equal(a.headers['x-ratelimit-limit-minute'], undefined)
    assert.equal((await h.call('/by-header', { headers: { 'x-tenant': 'a' } })).status, 429)
    assert.equal((await h.call('/by-header', { headers: { 'x-tenant': 'b' } })).status, 200)
  })

  it('is fault tolerant when Redis is down', async () => {
    const r = await h.call('/down')
    assert.equal(r.status, 200)
    assert.equal(r.headers['x-ratelimit-limit-minute'], undefined)
  })

  it('shares counters through Redis', { skip: redisMissing }, async () => {
    await awayFromMinuteEdge()
    const run = randomUUID()
    for (let i = 1; i <= 2; i++) {
      const r = await h.call('/redis', { headers: { 'x-run': run } })
      assert.equal(r.status, 200)
      assert.equal(r.headers['x-ratelimit-remaining-minute'], String(2 - i))
    }
    const r = await h.call('/redis', { headers: { 'x-run': run } })
    assert.equal(r.status, 429)
    assert.deepEqual(r.json, { message: 'API rate limit exceeded' })
  })
})

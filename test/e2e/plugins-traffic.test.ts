/**
 * Security and traffic plugins end to end (control plane + data plane processes): ip-restriction, cors,
 * bot-detection, request-size-limiting, request-termination, correlation-id, rate-limiting (local and Redis),
 * prometheus, request/response-transformer, http-log, file-log, config precedence, and a custom plugin loaded from
 * plugins_dir by both planes.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { awayFromMinuteEdge, redisUnavailable } from '@turnpike/data-plane/testing'
import { tempDir } from '../support/processes.ts'
import { type PluginCluster, startPluginCluster } from './plugins-cluster.ts'

const redisMissing = await redisUnavailable()

describe('traffic plugins end to end (control plane + data plane processes)', { timeout: 180_000 }, () => {
  let c: PluginCluster
  let collector: Server
  const logged: unknown[] = []
  const logFile = join(tempDir('plugins-file-log'), 'access.log')
  const redisKey = randomUUID()

  before(async () => {
    collector = createServer((req, res) => {
      let body = ''
      req.on('data', (d: Buffer) => {
        body += d.toString()
      })
      req.on('end', () => {
        logged.push(JSON.parse(body))
        res.end()
      })
    })
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r))
    c = await startPluginCluster('plugins-traffic')
    await c.form('POST', '/services', { name: 'echo', url: c.upstream.url }, 201)
    const routes = ['ip', 'cors', 'bots', 'size', 'stop', 'corr', 'limit', 'redis', 'xform', 'logs', 'prec', 'tenant']
    for (const name of routes) await c.form('POST', '/services/echo/routes', { name, paths: [`/${name}`] }, 201)

    await c.form('POST', '/routes/ip/plugins', { name: 'ip-restriction', 'config.deny': ['127.0.0.0/8', '::1'] }, 201)
    await c.form(
      'POST',
      '/routes/cors/plugins',
      {
        name: 'cors',
        'config.origins': ['https://app.example.com'],
        'config.exposed_headers': ['X-Total'],
        'config.max_age': '3600',
      },
      201,
    )
    await c.form('POST', '/routes/bots/plugins', { name: 'bot-detection' }, 201)
    await c.form(
      'POST',
      '/routes/size/plugins',
      {
        name: 'request-size-limiting',
        'config.allowed_payload_size': '16',
        'config.size_unit': 'bytes',
      },
      201,
    )
    await c.form('POST', '/routes/stop/plugins', { name: 'request-termination', 'config.status_code': '503' }, 201)
    await c.form('POST', '/routes/corr/plugins', { name: 'correlation-id', 'config.echo_downstream': 'true' }, 201)
    await c.form(
      'POST',
      '/routes/limit/plugins',
      { name: 'rate-limiting', 'config.minute': '2', 'config.limit_by': 'ip' },
      201,
    )
    if (!redisMissing)
      await c.form(
        'POST',
        '/routes/redis/plugins',
        {
          name: 'rate-limiting',
          'config.minute': '2',
          'config.policy': 'redis',
          'config.redis.host': '127.0.0.1',
          'config.redis.port': '6379',
          'config.limit_by': 'header',
          'config.header_name': 'x-run',
          'config.window_type': 'sliding',
        },
        201,
      )
    await c.json(
      'POST',
      '/routes/xform/plugins',
      {
        name: 'request-transformer',
        config: { add: { headers: ['x-added:yes'], querystring: ['v:2'] }, remove: { headers: ['x-secret'] } },
      },
      201,
    )
    await c.json(
      'POST',
      '/routes/xform/plugins',
      {
        name: 'response-transformer',
        config: { remove: { json: ['body'] }, add: { json: ['transformed:true'], json_types: ['boolean'] } },
      },
      201,
    )
    await c.form(
      'POST',
      '/routes/logs/plugins',
      {
        name: 'http-log',
        'config.http_endpoint': `http://127.0.0.1:${(collector.address() as AddressInfo).port}/log`,
      },
      201,
    )
    await c.form('POST', '/routes/logs/plugins', { name: 'file-log', 'config.path': logFile }, 201)
    await c.form(
      'POST',
      '/plugins',
      { name: 'prometheus', 'config.status_code_metrics': 'true', 'config.latency_metrics': 'true' },
      201,
    )
    // Precedence: global < service < route.
    await c.form('POST', '/plugins', { name: 'request-size-limiting', 'config.allowed_payload_size': '1' }, 201)
    await c.form(
      'POST',
      '/services/echo/plugins',
      { name: 'request-size-limiting', 'config.allowed_payload_size': '2' },
      201,
    )
    await c.form(
      'POST',
      '/routes/prec/plugins',
      { name: 'request-termination', 'config.status_code': '418', 'config.message': 'route wins' },
      201,
    )
    await c.form(
      'POST',
      '/services/echo/plugins',
      { name: 'request-termination', 'config.status_code': '402', enabled: 'false' },
      201,
    )
  })

  after(async () => {
    await c?.stop()
    collector?.close()
  })

  it('ip-restriction: 403 with Kong message', async () => {
    const r = await c.until('/ip', (x) => x.status === 403)
    assert.deepEqual(r.json, { message: 'Your IP address is not allowed' })
  })

  it('cors: preflight answered by the gateway; allowed origin echoed on responses', async () => {
    const pre = await c.until('/cors', (x) => x.status === 200 && x.headers.get('access-control-max-age') === '3600', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'PUT' },
    })
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example.com')
    assert.equal(
      pre.headers.get('access-control-allow-methods'),
      'GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT',
    )
    assert.equal(pre.text, '')
    const simple = await c.call('/cors', { headers: { origin: 'https://app.example.com' } })
    assert.equal(simple.headers.get('access-control-allow-origin'), 'https://app.example.com')
    assert.equal(simple.headers.get('access-control-expose-headers'), 'X-Total')
    const other = await c.call('/cors', { headers: { origin: 'https://evil.example' } })
    assert.equal(other.headers.get('access-control-allow-origin'), null)
  })

  it('bot-detection: crawlers get 403, browsers pass', async () => {
    const r = await c.until('/bots', (x) => x.status === 403, { headers: { 'user-agent': 'Googlebot/2.1' } })
    assert.deepEqual(r.json, { message: 'Forbidden' })
    assert.equal((await c.call('/bots', { headers: { 'user-agent': 'Mozilla/5.0 Firefox/128.0' } })).status, 200)
  })

  it('request-size-limiting: 413 over the limit; route config wins over service and global', async () => {
    const big = await c.until('/size', (x) => x.status === 413, { method: 'POST', body: 'x'.repeat(17) })
    assert.deepEqual(big.json, { message: 'Request size limit exceeded' })
    assert.equal((await c.call('/size', { method: 'POST', body: 'x'.repeat(16) })).status, 200)
  })

  it('request-termination, and precedence with a disabled service-level instance', async () => {
    const stop = await c.until('/stop', (x) => x.status === 503)
    assert.deepEqual(stop.json, { message: 'Service unavailable' })
    const prec = await c.until('/prec', (x) => x.status === 418)
    assert.deepEqual(prec.json, { message: 'route wins' })
    // Service-level size limit (2 MB) beats the global one (1 MB) on routes without their own.
    const body = 'x'.repeat(1024 * 1024 + 10)
    assert.equal((await c.call('/corr', { method: 'POST', body })).status, 200)
  })

  it('correlation-id: generated upstream, echoed downstream', async () => {
    const r = await c.until('/corr', (x) => x.headers.get('kong-request-id') !== null)
    assert.equal(r.upstream!.headers['kong-request-id'], r.headers.get('kong-request-id'))
    assert.match(String(r.headers.get('kong-request-id')), /#\d+$/)
  })

  it('rate-limiting (local): Kong headers, then 429 with Retry-After', async () => {
    await awayFromMinuteEdge()
    const first = await c.until('/limit', (x) => x.headers.get('x-ratelimit-limit-minute') === '2')
    assert.equal(first.headers.get('x-ratelimit-remaining-minute'), '1')
    assert.equal(first.headers.get('ratelimit-limit'), '2')
    const second = await c.call('/limit')
    assert.equal(second.headers.get('x-ratelimit-remaining-minute'), '0')
    const third = await c.call('/limit')
    assert.equal(third.status, 429)
    assert.deepEqual(third.json, { message: 'API rate limit exceeded' })
    assert.ok(Number(third.headers.get('retry-after')) >= 1)
  })

  it('rate-limiting (redis, sliding window)', { skip: redisMissing }, async () => {
    await awayFromMinuteEdge()
    const headers = { 'x-run': redisKey }
    await c.until('/redis', (x) => x.headers.get('x-ratelimit-limit-minute') === '2', {
      headers: { 'x-run': randomUUID() },
    })
    assert.equal((await c.call('/redis', { headers })).status, 200)
    assert.equal((await c.call('/redis', { headers })).status, 200)
    const r = await c.call('/redis', { headers })
    assert.equal(r.status, 429)
    assert.deepEqual(r.json, { message: 'API rate limit exceeded' })
  })

  it('request- and response-transformer', async () => {
    const r = await c.until('/xform/a?x=1', (x) => x.json.transformed === true, { headers: { 'x-secret': 's' } })
    assert.equal(r.json.url, '/a?x=1&v=2')
    assert.equal(r.json.body, undefined)
    const upstreamSaw = r.json.headers as Record<string, string>
    assert.equal(upstreamSaw['x-added'], 'yes')
    assert.equal(upstreamSaw['x-secret'], undefined)
  })

  it('http-log and file-log ship entries after the response', async () => {
    await c.until('/logs/x', (x) => x.status === 200 && logged.length > 0)
    const entry = logged.at(-1) as { request: { uri: string }; response: { status: number } }
    assert.equal(entry.request.uri, '/logs/x')
    assert.equal(entry.response.status, 200)
    const line = readFileSync(logFile, 'utf8').trim().split('\n').at(-1)!
    assert.equal(JSON.parse(line).request.uri, '/logs/x')
  })

  it('prometheus: Kong-named series on the data plane status listener', async () => {
    await c.call('/stop')
    const text = await (await fetch(`${c.status}/metrics`)).text()
    assert.match(
      text,
      /kong_http_requests_total\{service="echo",route="stop",code="503",source="kong",workspace="default",consumer=""\} \d+/,
    )
    assert.match(text, /kong_request_latency_ms_bucket\{service="echo",route="stop"/)
  })

  it('custom plugin from plugins_dir: validated by the control plane, run by the data plane', async () => {
    const bad = await c.form('POST', '/routes/tenant/plugins', { name: 'tenant-guard', 'config.pattern': '(' })
    assert.equal(bad.status, 400)
    assert.deepEqual(bad.json.fields, { config: { pattern: 'not a valid regex' } })
    await c.form('POST', '/routes/tenant/plugins', { name: 'tenant-guard' }, 201)
    const missing = await c.until('/tenant', (x) => x.status === 400)
    assert.deepEqual(missing.json, { message: 'X-Tenant header required' })
    const ok = await c.call('/tenant', { headers: { 'x-tenant': 'acme' } })
    assert.equal(ok.status, 200)
    assert.equal(ok.upstream!.headers['x-tenant-id'], 'acme')
    assert.equal(ok.headers.get('x-tenant'), 'acme')
  })
})

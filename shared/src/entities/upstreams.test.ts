import assert from 'node:assert/strict'
import { test } from 'node:test'
import { validateEntity } from '../schema/validate.ts'
import { targets } from './targets.ts'
import { upstreams } from './upstreams.ts'

const UPSTREAM = { id: '0f3a5bd4-9a0e-4d8a-9c43-6b1b61b2a1a2' }

test('upstream defaults include Kong health check defaults', () => {
  const r = validateEntity(upstreams, { name: 'backend.internal' })
  assert.ok(r.ok)
  assert.equal(r.value.algorithm, 'round-robin')
  assert.equal(r.value.hash_on, 'none')
  assert.equal(r.value.hash_on_cookie_path, '/')
  assert.equal(r.value.slots, 10000)
  assert.equal(r.value.use_srv_name, false)
  const hc = r.value.healthchecks as Record<string, Record<string, Record<string, unknown>>>
  assert.equal(hc.threshold as unknown, 0)
  assert.equal(hc.active.type as unknown, 'http')
  assert.equal(hc.active.timeout as unknown, 1)
  assert.equal(hc.active.concurrency as unknown, 10)
  assert.equal(hc.active.https_verify_certificate as unknown, true)
  assert.deepEqual(hc.active.healthy, { interval: 0, http_statuses: [200, 302], successes: 0 })
  assert.deepEqual(hc.active.unhealthy.http_statuses, [429, 404, 500, 501, 502, 503, 504, 505])
  assert.deepEqual(hc.passive.unhealthy, {
    http_statuses: [429, 500, 503],
    tcp_failures: 0,
    timeouts: 0,
    http_failures: 0,
  })
  assert.equal((hc.passive.healthy.http_statuses as number[]).length, 19)
})

test('hash_on switches the algorithm; least-connections drops the hash', () => {
  const hashed = validateEntity(upstreams, { name: 'u', hash_on: 'ip' })
  assert.ok(hashed.ok)
  assert.equal(hashed.value.algorithm, 'consistent-hashing')
  const lc = validateEntity(upstreams, { name: 'u', algorithm: 'least-connections', hash_on: 'ip' })
  assert.ok(lc.ok)
  assert.equal(lc.value.algorithm, 'least-connections')
  assert.equal(lc.value.hash_on, 'none')
})

test('upstream schema violations have Kong messages', () => {
  const r = validateEntity(upstreams, { name: '10.0.0.1', slots: 5, algorithm: 'random' })
  assert.ok(!r.ok)
  assert.deepEqual(r.errors, {
    name: "Invalid name ('10.0.0.1'); no ip addresses allowed",
    slots: 'value should be between 10 and 65536',
    algorithm: 'expected one of: consistent-hashing, least-connections, round-robin, latency',
  })
  const header = validateEntity(upstreams, { name: 'u', hash_on: 'header' })
  assert.ok(!header.ok)
  assert.deepEqual(header.errors, {
    '@entity': ["failed conditional validation given value of field 'hash_on'"],
    hash_on_header: 'required field missing',
  })
  const cookie = validateEntity(upstreams, { name: 'u', hash_on: 'cookie', hash_on_cookie: 'c', hash_fallback: 'ip' })
  assert.ok(!cookie.ok)
  assert.deepEqual(cookie.errors, {
    '@entity': ["failed conditional validation given value of field 'hash_on'"],
    hash_fallback: 'expected one of: none',
  })
  const port = validateEntity(upstreams, { name: 'u:80', healthchecks: { active: { http_path: 'x', concurrency: 0 } } })
  assert.ok(!port.ok)
  assert.deepEqual(port.errors, {
    name: "Invalid name ('u:80'); no port allowed",
    healthchecks: {
      active: { http_path: 'should start with: /', concurrency: 'value should be between 1 and 2147483648' },
    },
  })
})

test('target gets the default port and Kong normalization', () => {
  const r = validateEntity(targets, { upstream: UPSTREAM, target: 'example.com' })
  assert.ok(r.ok)
  assert.equal(r.value.target, 'example.com:8000')
  assert.equal(r.value.weight, 100)
  const v6 = validateEntity(targets, { upstream: UPSTREAM, target: '[2001:db8::1]:81' })
  assert.ok(v6.ok)
  assert.equal(v6.value.target, '[2001:0db8:0000:0000:0000:0000:0000:0001]:81')
  const bad = validateEntity(targets, { upstream: UPSTREAM, target: 'not valid', weight: 70000 })
  assert.ok(!bad.ok)
  assert.deepEqual(bad.errors, {
    target: "Invalid target ('not valid'); not a valid hostname or ip address",
    weight: 'value should be between 0 and 65535',
  })
  const missing = validateEntity(targets, { target: '10.0.0.1' })
  assert.ok(!missing.ok)
  assert.deepEqual(missing.errors, { upstream: 'required field missing' })
})

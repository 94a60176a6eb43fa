import assert from 'node:assert/strict'
import { test } from 'node:test'
import { routes, services } from '../entities/index.ts'
import { TurnpikeError } from '../errors.ts'
import { validateEntity } from './validate.ts'

test('service defaults and url shorthand', () => {
  const r = validateEntity(services, { name: 'example', url: 'https://example.com/api' })
  assert.ok(r.ok)
  assert.equal(r.value.protocol, 'https')
  assert.equal(r.value.host, 'example.com')
  assert.equal(r.value.port, 443)
  assert.equal(r.value.path, '/api')
  assert.equal(r.value.retries, 5)
  assert.equal(r.value.connect_timeout, 60000)
})

test('service schema violations have Kong messages', () => {
  const r = validateEntity(services, { path: 'nope', port: 'x', bogus: 1 })
  assert.ok(!r.ok)
  assert.deepEqual(r.errors, {
    bogus: 'unknown field',
    host: 'required field missing',
    path: 'should start with: /',
    port: 'expected an integer',
  })
  const e = TurnpikeError.schemaViolation(r.errors)
  assert.equal(e.status, 400)
  assert.match(e.message, /^4 schema violations \(/)
})

test('route needs a matching field for http', () => {
  const r = validateEntity(routes, { name: 'r' })
  assert.ok(!r.ok)
  assert.deepEqual(Object.keys(r.errors), ['@entity'])
  const ok = validateEntity(routes, { paths: ['/a', '~/b/(?<id>\\d+)'], hosts: ['*.example.com', 'a.b:8080'] })
  assert.ok(ok.ok)
  assert.deepEqual(ok.value.protocols, ['http', 'https'])
  assert.equal(ok.value.strip_path, true)
  const bad = validateEntity(routes, { paths: ['x'], hosts: ['*.*.com'] })
  assert.ok(!bad.ok)
  assert.ok((bad.errors.paths as string[])[0])
  assert.ok((bad.errors.hosts as string[])[0])
})

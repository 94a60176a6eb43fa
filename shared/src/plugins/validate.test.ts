import assert from 'node:assert/strict'
import { test } from 'node:test'
import { validatePlugin } from './validate.ts'

const ID = '2b1f4f7c-8c5e-4d0a-9a2b-3c4d5e6f7a8b'

test('a plugin entity gets its own protocol default and filled config', () => {
  const r = validatePlugin({ name: 'ip-restriction', config: { allow: ['10.0.0.1'] } })
  assert.ok(r.ok)
  assert.deepEqual(r.value.protocols, ['http', 'https', 'tcp', 'tls', 'grpc', 'grpcs'])
  assert.equal(r.value.enabled, true)
  assert.deepEqual(r.value.config, { allow: ['10.0.0.1'], deny: null, status: null, message: null })
  const ka = validatePlugin({ name: 'key-auth', route: { id: ID } })
  assert.ok(ka.ok)
  assert.deepEqual(ka.value.protocols, ['grpc', 'grpcs', 'http', 'https'])
  assert.deepEqual(ka.value.route, { id: ID })
})

test('plugin scopes, protocols and config errors come back together in Kong shape', () => {
  const r = validatePlugin({ name: 'key-auth', consumer: { id: ID }, protocols: ['tcp'], config: { key_in_body: 1 } })
  assert.ok(!r.ok)
  assert.deepEqual(r.errors, {
    protocols: ['expected one of: grpc, grpcs, http, https'],
    consumer: 'value must be null',
    config: { key_in_body: 'expected a boolean' },
  })
  const rl = validatePlugin({ name: 'rate-limiting', service: { id: ID } })
  assert.ok(!rl.ok)
  assert.deepEqual(rl.errors, {
    '@entity': [
      "at least one of these fields must be non-empty: 'config.second', 'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'",
    ],
  })
})

test('unknown or missing plugin names', () => {
  const unknown = validatePlugin({ name: 'oauth3' })
  assert.ok(!unknown.ok)
  assert.deepEqual(unknown.errors, {
    name: "plugin 'oauth3' not enabled; add it to the 'plugins' configuration property",
  })
  const missing = validatePlugin({ config: {} })
  assert.ok(!missing.ok)
  assert.deepEqual(missing.errors, { name: 'required field missing' })
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { TURNPIKE_VERSION } from '../version.ts'
import { pluginByName, pluginDefs } from './registry.ts'

test('registry is sorted by priority and carries Kong priorities', () => {
  const priorities = pluginDefs.map((d) => d.priority)
  assert.deepEqual(
    priorities,
    [...priorities].sort((a, b) => b - a),
  )
  assert.deepEqual(
    pluginDefs.map((d) => [d.name, d.priority]),
    [
      ['correlation-id', 100001],
      ['bot-detection', 2500],
      ['cors', 2000],
      ['jwt', 1450],
      ['key-auth', 1250],
      ['basic-auth', 1100],
      ['hmac-auth', 1030],
      ['ip-restriction', 990],
      ['request-size-limiting', 951],
      ['acl', 950],
      ['rate-limiting', 910],
      ['request-transformer', 801],
      ['response-transformer', 800],
      ['prometheus', 13],
      ['http-log', 12],
      ['file-log', 9],
      ['request-termination', 2],
    ],
  )
  assert.equal(pluginByName('key-auth')?.version, TURNPIKE_VERSION)
  assert.equal(pluginByName('nope'), undefined)
})

test('auth plugins, acl, cors and bot-detection cannot be consumer-scoped', () => {
  assert.deepEqual(
    pluginDefs.filter((d) => d.no_consumer).map((d) => d.name),
    ['bot-detection', 'cors', 'jwt', 'key-auth', 'basic-auth', 'hmac-auth', 'acl'],
  )
})

test('extension fields exist in their config', () => {
  for (const def of pluginDefs) for (const f of def.extensions ?? []) assert.ok(def.config[f], `${def.name}.${f}`)
})

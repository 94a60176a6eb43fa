import assert from 'node:assert/strict'
import { test } from 'node:test'
import { hashApiKey, isHashedApiKey } from '../credentials/api-key-hash.ts'
import { hashPassword, isHashedPassword, verifyPassword } from '../credentials/password-hash.ts'
import type { ConfigEntities } from '../snapshot/model.ts'
import { materializeEntities } from './materialize-entities.ts'
import { parseDeclarative } from './parse-declarative.ts'

function parsed(text: string): { entities: ConfigEntities; transform: boolean } {
  const r = parseDeclarative(text)
  if (!r.ok) assert.fail(r.errors.message)
  return r
}

const CREDENTIALS = `
_format_version: "3.0"
consumers:
- username: dana
  keyauth_credentials:
  - key: plain-key
  - key: ${hashApiKey('secret', 'already-hashed')}
  basicauth_credentials:
  - username: dana
    password: hunter2
  jwt_secrets:
  - key: dana-iss
`

test('plaintext secrets are hashed, hashed ones kept, generated ones filled, timestamps set', async () => {
  const { entities } = parsed(CREDENTIALS)
  const m = await materializeEntities(entities, { keyringSecret: 'secret', now: 1234 })
  assert.ok(m.ok)
  const keys = (m.entities.keyauth_credentials ?? []).map((k) => k.key).sort()
  assert.deepEqual(keys, [hashApiKey('secret', 'already-hashed'), hashApiKey('secret', 'plain-key')].sort())
  const [basic] = m.entities.basicauth_credentials ?? []
  assert.ok(isHashedPassword(basic?.password))
  assert.ok(await verifyPassword('hunter2', String(basic?.password)))
  const [jwt] = m.entities.jwt_secrets ?? []
  assert.match(String(jwt?.secret), /^[0-9a-f]{32}$/, 'a generated secret, as the store makes one')
  assert.equal(m.entities.consumers?.[0]?.created_at, 1234)
  assert.equal(m.entities.consumers?.[0]?.updated_at, 1234)
})

test('the replaced config carries over: same password hash, generated secrets, timestamps', async () => {
  const { entities } = parsed(CREDENTIALS)
  const first = await materializeEntities(entities, { keyringSecret: 'secret', now: 1000 })
  assert.ok(first.ok)
  const again = await materializeEntities(parsed(CREDENTIALS).entities, {
    keyringSecret: 'secret',
    current: first.entities,
    now: 2000,
  })
  assert.ok(again.ok)
  assert.deepEqual(again.entities, first.entities)

  const changed = await materializeEntities(parsed(CREDENTIALS.replace('hunter2', 'hunter3')).entities, {
    keyringSecret: 'secret',
    current: first.entities,
    now: 3000,
  })
  assert.ok(changed.ok)
  const [basic] = changed.entities.basicauth_credentials ?? []
  assert.ok(await verifyPassword('hunter3', String(basic?.password)))
  assert.equal(basic?.created_at, 1000)
  assert.equal(basic?.updated_at, 3000)
})

test('_transform: false wants stored forms; a missing keyring secret is an error for plaintext keys', async () => {
  const stored = await hashPassword('pw')
  const { entities } = parsed(`
_format_version: "3.0"
consumers:
- username: erin
  keyauth_credentials:
  - key: not-hashed
  basicauth_credentials:
  - username: erin
    password: "${stored}"
`)
  const untransformed = await materializeEntities(entities, { transform: false })
  assert.equal(untransformed.ok, false)
  if (!untransformed.ok) {
    assert.equal(untransformed.errors.flattened_errors.length, 1)
    assert.match(untransformed.errors.message, /expected a hashed value/)
  }
  const noSecret = await materializeEntities(entities, {})
  assert.equal(noSecret.ok, false)
  const fine = await materializeEntities(entities, { keyringSecret: 's' })
  assert.ok(fine.ok)
  assert.ok(isHashedApiKey(fine.entities.keyauth_credentials?.[0]?.key))
  assert.equal(fine.entities.basicauth_credentials?.[0]?.password, stored)
})

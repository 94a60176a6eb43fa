import assert from 'node:assert/strict'
import { test } from 'node:test'
import { TurnpikeError } from '../errors.ts'
import { validateEntity } from '../schema/validate.ts'
import { consumers } from './consumers.ts'

test('consumer needs a username or a custom_id', () => {
  const r = validateEntity(consumers, { tags: ['a'] })
  assert.ok(!r.ok)
  assert.deepEqual(r.errors, { '@entity': ["at least one of these fields must be non-empty: 'custom_id', 'username'"] })
  assert.equal(
    TurnpikeError.schemaViolation(r.errors).message,
    "schema violation (at least one of these fields must be non-empty: 'custom_id', 'username')",
  )
  const ok = validateEntity(consumers, { custom_id: 'c-1' })
  assert.ok(ok.ok)
  assert.equal(ok.value.username, null)
})

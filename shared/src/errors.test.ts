import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { ErrorCodes } from './errors.ts'

test('docs/errors.md lists every error code with its name and status', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')
  for (const { code, name, status } of Object.values(ErrorCodes))
    assert.match(
      doc,
      new RegExp(`\\| ${code} \\| ${name} \\| ${status} \\|`),
      `code ${code} missing from docs/errors.md`,
    )
})

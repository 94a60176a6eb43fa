/**
 * The scale check: 100k consumers with a key-auth credential each, imported, re-imported (a no-op) and
 * exported, with the time of every step. Minutes of work, so it runs only with TURNPIKE_LARGE_IMPORT=1:
 *   TURNPIKE_LARGE_IMPORT=1 node --test control-plane/src/declarative/import-large.test.ts
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { exportDeclarative, parseDeclarative } from '@turnpike/shared'
import { readConfig } from '../db/config-reader.ts'
import { testDatabases } from '../db/test-databases.ts'
import { diffCounts } from './diff-config.ts'
import { importDeclarative } from './import-config.ts'

const CONSUMERS = Number(process.env.TURNPIKE_LARGE_IMPORT_CONSUMERS ?? 100_000)
const skip =
  process.env.TURNPIKE_LARGE_IMPORT === '1' ? undefined : 'set TURNPIKE_LARGE_IMPORT=1 to import 100k consumers'

function bigConfig(): string {
  const lines = ['_format_version: "3.0"', 'consumers:']
  for (let i = 0; i < CONSUMERS; i++)
    lines.push(`- username: user-${i}`, '  keyauth_credentials:', `  - key: key-${i}-0123456789abcdef`)
  return `${lines.join('\n')}\n`
}

async function timed<T>(what: string, fn: () => Promise<T> | T, log: (line: string) => void): Promise<T> {
  const started = performance.now()
  const result = await fn()
  log(`${what}: ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return result
}

for (const target of testDatabases) {
  test(`import ${CONSUMERS} consumers with key-auth credentials (${target.name})`, {
    skip: skip ?? target.skip,
  }, async (t) => {
    const log = (line: string) => {
      t.diagnostic(line)
      process.stderr.write(`  [${target.name}] ${line}\n`)
    }
    const { db, close } = await target.open()
    t.after(close)
    const text = bigConfig()
    log(`file: ${(text.length / 1e6).toFixed(1)} MB of YAML`)
    const parsed = await timed('parse + validate', () => parseDeclarative(text, { filename: 'big.yaml' }), log)
    assert.ok(parsed.ok)
    const first = await timed(
      'import (hash, diff, write, one transaction)',
      () => importDeclarative(db, parsed.entities),
      log,
    )
    assert.deepEqual(diffCounts(first.diff), { create: 2 * CONSUMERS, update: 0, delete: 0 })
    const again = await timed('re-import (no-op)', () => importDeclarative(db, parsed.entities), log)
    assert.deepEqual(diffCounts(again.diff), { create: 0, update: 0, delete: 0 })
    const exported = await timed('read + export', async () => exportDeclarative((await readConfig(db)).entities), log)
    log(`export: ${(exported.length / 1e6).toFixed(1)} MB`)
    const reparsed = await timed('parse the export', () => parseDeclarative(exported, { filename: 'export.yaml' }), log)
    assert.ok(reparsed.ok)
    const roundTrip = await timed('import the export (no-op)', () => importDeclarative(db, reparsed.entities), log)
    assert.deepEqual(diffCounts(roundTrip.diff), { create: 0, update: 0, delete: 0 })
  })
}

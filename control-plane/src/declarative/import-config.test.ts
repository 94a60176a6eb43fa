import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ConfigEntities } from '@turnpike/shared'
import { exportDeclarative, parseDeclarative, publicEntities } from '@turnpike/shared'
import { sql } from 'kysely'
import { readConfig } from '../db/config-reader.ts'
import type { Database } from '../db/database.ts'
import { createEntityStore } from '../db/entity-store.ts'
import { testDatabases } from '../db/test-databases.ts'
import { formatDiff, summarizeDiff } from './diff-config.ts'
import { DeclarativeConfigError, importDeclarative } from './import-config.ts'

function entitiesOf(text: string): ConfigEntities {
  const r = parseDeclarative(text)
  if (!r.ok) assert.fail(r.errors.message)
  return r.entities
}

async function revision(db: Database): Promise<number> {
  const r = await db.selectFrom('config_revision').select('version').executeTakeFirstOrThrow()
  return Number(r.version)
}

async function exported(db: Database): Promise<string> {
  return exportDeclarative((await readConfig(db)).entities)
}

async function count(db: Database, table: string): Promise<number> {
  const r = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow()
  return Number(r.n)
}

const CONFIG = `
_format_version: "3.0"
services:
- name: orders
  url: http://orders.internal:8080
  routes:
  - name: orders-api
    paths: [/orders]
    plugins:
    - name: rate-limiting
      config: {minute: 20}
- name: billing
  host: billing.internal
consumers:
- username: ann
  keyauth_credentials:
  - key: ann-key
  basicauth_credentials:
  - username: ann
    password: s3cret
  acls:
  - group: staff
upstreams:
- name: pool
  targets:
  - target: 10.0.0.1:80
plugins:
- name: correlation-id
`

for (const target of testDatabases) {
  test(`declarative import (${target.name})`, { skip: target.skip }, async (t) => {
    const { db, close } = await target.open()
    t.after(close)

    await t.test('imports in one revision, and a re-import is a no-op', async () => {
      const first = await importDeclarative(db, entitiesOf(CONFIG))
      assert.equal(summarizeDiff(first.diff, true), '11 created, 0 updated, 0 deleted')
      assert.equal(first.version, 1)
      assert.equal(await revision(db), 1)
      const again = await importDeclarative(db, entitiesOf(CONFIG))
      assert.equal(summarizeDiff(again.diff), '0 to create, 0 to update, 0 to delete')
      assert.equal(again.version, undefined)
      assert.equal(await revision(db), 1, 'nothing written, no revision')
    })

    await t.test('secrets are stored hashed; the store finds the key by its plaintext', async () => {
      const { entities } = await readConfig(db)
      assert.match(String(entities.keyauth_credentials?.[0]?.key), /^hmac-sha256:/)
      assert.match(String(entities.basicauth_credentials?.[0]?.password), /^scrypt:/)
      const store = createEntityStore(db)
      const def = publicEntities.find((d) => d.name === 'keyauth_credentials')
      assert.ok(def)
      assert.ok(await store.select(def, 'ann-key'))
    })

    await t.test('export → import → export is byte-identical', async () => {
      const before = await exported(db)
      const r = await importDeclarative(db, entitiesOf(before))
      assert.equal(summarizeDiff(r.diff), '0 to create, 0 to update, 0 to delete')
      assert.equal(await exported(db), before)
    })

    await t.test('diff: updates name their fields, deletes come last, dry runs write nothing', async () => {
      const next = CONFIG.replace('paths: [/orders]', 'paths: [/orders, /v2/orders]')
        .replace(/- name: billing\n {2}host: billing.internal\n/, '')
        .replace('- name: correlation-id', '- name: correlation-id\n  config: {header_name: X-Trace}')
      const dry = await importDeclarative(db, entitiesOf(next), { dryRun: true })
      assert.deepEqual(formatDiff(dry.diff, [dry.current, dry.desired]), [
        '~ routes orders-api (paths)',
        '~ plugins correlation-id (config)',
        '- services billing',
      ])
      assert.equal(await revision(db), 1)
      const applied = await importDeclarative(db, entitiesOf(next))
      assert.equal(applied.version, 2)
      assert.equal(await count(db, 'services'), 1)
      const diff = await importDeclarative(db, entitiesOf(next), { dryRun: true })
      assert.equal(summarizeDiff(diff.diff), '0 to create, 0 to update, 0 to delete')
    })

    await t.test('a name changing hands between entities (delete + create with the same name)', async () => {
      // Explicit ids: the new `orders` service is another entity than the stored one.
      const swapped = CONFIG.replace('- name: orders\n', '- id: 1f0e4b8a-9a55-4d1e-8f2c-3b7a6c5d4e30\n  name: orders\n')
      const r = await importDeclarative(db, entitiesOf(swapped))
      assert.match(summarizeDiff(r.diff, true), /1 deleted/)
      const rows = (await readConfig(db)).entities.services ?? []
      assert.deepEqual(rows.find((s) => s.name === 'orders')?.id, '1f0e4b8a-9a55-4d1e-8f2c-3b7a6c5d4e30')
    })

    await t.test('a failure in the middle of the write leaves nothing written', async () => {
      const before = await exported(db)
      const version = await revision(db)
      // A database-side refusal the validator cannot foresee, part-way through the consumers.
      await sql`create function refuse_boom() returns trigger language plpgsql as $$
        begin if new.username = 'boom' then raise exception 'refused by test trigger'; end if; return new; end $$`.execute(
        db,
      )
      await sql`create trigger refuse_boom before insert on consumers for each row execute function refuse_boom()`.execute(
        db,
      )
      const lines = ['_format_version: "3.0"', 'services:', '- name: extra', '  host: extra.internal', 'consumers:']
      for (let i = 0; i < 2500; i++) lines.push(`- username: user-${i}`)
      lines.splice(1500, 0, '- username: boom')
      try {
        await assert.rejects(importDeclarative(db, entitiesOf(lines.join('\n'))), /refused by test trigger/)
      } finally {
        await sql`drop trigger refuse_boom on consumers`.execute(db)
      }
      assert.equal(await exported(db), before)
      assert.equal(await revision(db), version)
      assert.equal(await count(db, 'consumers'), 1)
    })

    await t.test('_transform: false with a plaintext key is refused before anything is written', async () => {
      const version = await revision(db)
      const r = parseDeclarative(`${CONFIG}\n_transform: false\n`)
      assert.ok(r.ok)
      await assert.rejects(importDeclarative(db, r.entities, { transform: false }), DeclarativeConfigError)
      assert.equal(await revision(db), version)
    })

    await t.test('an empty config deletes everything declarative (and nothing else)', async () => {
      const r = await importDeclarative(db, entitiesOf('_format_version: "3.0"'))
      assert.ok(r.version)
      for (const def of publicEntities) assert.equal(await count(db, def.name), 0, def.name)
      assert.equal(await count(db, 'keyring'), 1)
    })
  })
}

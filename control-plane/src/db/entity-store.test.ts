import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { routes, services, TurnpikeError } from '@turnpike/shared'
import { readConfig } from './config-reader.ts'
import { createEntityStore, decodeOffset, type EntityStore, encodeOffset, mergeRecord } from './entity-store.ts'
import { type TestDatabase, testDatabases } from './test-databases.ts'

/** Resolves to the TurnpikeError `fn` rejects with; fails when it resolves. */
async function failure(fn: () => Promise<unknown>): Promise<TurnpikeError> {
  try {
    await fn()
  } catch (err) {
    assert.ok(err instanceof TurnpikeError, `expected a TurnpikeError, got ${err}`)
    return err
  }
  assert.fail('expected a rejection')
}

describe('mergeRecord (PATCH semantics)', () => {
  const fields = {
    config: { type: 'record' as const, fields: { a: { type: 'integer' as const }, b: { type: 'integer' as const } } },
    list: { type: 'array' as const },
  }
  it('deep-merges nested records and replaces arrays', () => {
    const merged = mergeRecord(fields, { config: { a: 1, b: 2 }, list: [1, 2] }, { config: { b: 3 }, list: [9] })
    assert.deepEqual(merged, { config: { a: 1, b: 3 }, list: [9] })
  })
  it('replaces a record given as null', () => {
    assert.deepEqual(mergeRecord(fields, { config: { a: 1 } }, { config: null }), { config: null })
  })
})

describe('offset tokens', () => {
  it('round-trip an id and reject anything else with Kong’s error', () => {
    const id = randomUUID()
    assert.equal(decodeOffset(encodeOffset(id)), id)
    for (const bad of ['***', 'abc', encodeOffset('not-a-uuid')]) {
      assert.throws(
        () => decodeOffset(bad),
        (e: TurnpikeError) => e.code === 7 && e.message.includes('is not a valid offset'),
      )
    }
  })
})

for (const target of testDatabases) {
  describe(`entity store on ${target.name}`, { skip: target.skip }, () => {
    let t: TestDatabase
    let store: EntityStore
    const versions: number[] = []
    before(async () => {
      t = await target.open()
      store = createEntityStore(t.db)
      store.onWrite((v) => versions.push(v))
    })
    after(() => t?.close())

    it('inserts with defaults, timestamps and every field present', async () => {
      const s = await store.insert(services, { name: 'insert-defaults', host: 'example.com' })
      assert.match(s.id, /^[0-9a-f-]{36}$/)
      assert.equal(typeof s.created_at, 'number')
      assert.equal(s.updated_at, s.created_at)
      assert.equal(s.protocol, 'http')
      assert.equal(s.port, 80)
      assert.equal(s.retries, 5)
      assert.equal(s.path, null)
      assert.equal(s.tags, null)
      assert.deepEqual(Object.keys(s), Object.keys(services.fields))
      assert.deepEqual(await store.select(services, s.id), s)
      assert.deepEqual(await store.select(services, 'insert-defaults'), s)
      assert.equal(await store.select(services, 'nope'), undefined)
    })

    it('expands the url shorthand and keeps client ids', async () => {
      const id = randomUUID()
      const s = await store.insert(services, { id, url: 'https://api.example.com:8443/v1' })
      assert.equal(s.id, id)
      assert.deepEqual([s.protocol, s.host, s.port, s.path], ['https', 'api.example.com', 8443, '/v1'])
    })

    it('rejects schema violations in Kong’s shape', async () => {
      const e = await failure(() => store.insert(services, { name: 'bad', port: 'x' }))
      assert.equal(e.code, 2)
      assert.equal(e.status, 400)
      assert.deepEqual(e.fields, { host: 'required field missing', port: 'expected an integer' })
    })

    it('reports unique violations as 409 code 5 with Kong’s message', async () => {
      await store.insert(services, { name: 'dupe', host: 'a.example' })
      const e = await failure(() => store.insert(services, { name: 'dupe', host: 'b.example' }))
      assert.equal(e.code, 5)
      assert.equal(e.status, 409)
      assert.equal(e.message, `UNIQUE violation detected on '{name="dupe"}'`)
      assert.deepEqual(e.fields, { name: 'dupe' })
      const s = await store.select(services, 'dupe')
      const pk = await failure(() => store.insert(services, { id: s!.id, host: 'c.example' }))
      assert.equal(pk.code, 3)
    })

    it('resolves foreign references by name and maps dangling ones to Kong errors', async () => {
      const s = await store.insert(services, { name: 'fk-parent', host: 'example.com' })
      const r = await store.insert(routes, { name: 'fk-child', paths: ['/fk'], service: { name: 'fk-parent' } })
      assert.deepEqual(r.service, { id: s.id })

      const unresolved = await failure(() => store.insert(routes, { paths: ['/x'], service: { name: 'ghost' } }))
      assert.equal(unresolved.code, 13)
      assert.equal(
        unresolved.message,
        `foreign key unresolved (service.name: the foreign key cannot be resolved with '{name="ghost"}' for an existing 'services' entity)`,
      )

      const ghost = randomUUID()
      const dangling = await failure(() => store.insert(routes, { paths: ['/x'], service: { id: ghost } }))
      assert.equal(dangling.code, 4)
      assert.equal(
        dangling.message,
        `the foreign key '{id="${ghost}"}' does not reference an existing 'services' entity.`,
      )
      assert.deepEqual(dangling.fields, { service: { id: ghost } })
    })

    it('refuses to delete a service its routes reference, deletes missing entities quietly', async () => {
      const s = await store.insert(services, { name: 'del-parent', host: 'example.com' })
      const r = await store.insert(routes, { paths: ['/del'], service: { id: s.id } })
      const e = await failure(() => store.delete(services, 'del-parent'))
      assert.equal(e.code, 4)
      assert.equal(e.message, `an existing 'routes' entity references this 'services' entity`)
      assert.deepEqual(e.fields, { '@referenced_by': 'routes' })
      await store.delete(routes, r.id)
      await store.delete(services, 'del-parent')
      assert.equal(await store.select(services, s.id), undefined)
      const before = versions.length
      await store.delete(services, 'del-parent')
      await store.delete(services, randomUUID())
      assert.equal(versions.length, before, 'deleting nothing does not bump the revision')
    })

    it('upserts by endpoint key and by id, resetting omitted fields to defaults', async () => {
      const created = await store.upsert(services, 'put-me', { host: 'one.example', retries: 1, path: '/p' })
      assert.equal(created.name, 'put-me')
      assert.equal(created.retries, 1)
      const replaced = await store.upsert(services, 'put-me', { host: 'two.example', name: 'ignored' })
      assert.equal(replaced.id, created.id)
      assert.equal(replaced.created_at, created.created_at)
      assert.equal(replaced.name, 'put-me', 'the URL names the entity')
      assert.equal(replaced.host, 'two.example')
      assert.equal(replaced.retries, 5)
      assert.equal(replaced.path, null)

      const id = randomUUID()
      const byId = await store.upsert(services, id, { host: 'three.example' })
      assert.equal(byId.id, id)
      assert.equal(byId.name, null)
    })

    it('patches by merging into the existing entity', async () => {
      const s = await store.insert(services, { name: 'patch-me', host: 'example.com', tags: ['a', 'b'] })
      const patched = await store.update(services, 'patch-me', { retries: 9, tags: ['c'] })
      assert.equal(patched.retries, 9)
      assert.equal(patched.host, 'example.com')
      assert.deepEqual(patched.tags, ['c'])
      assert.equal(patched.created_at, s.created_at)
      const renamed = await store.update(services, s.id, { name: 'patched' })
      assert.equal(renamed.name, 'patched')
      const invalid = await failure(() => store.update(services, s.id, { port: 70000 }))
      assert.equal(invalid.code, 2)
      const missing = await failure(() => store.update(services, 'no-such-service', { retries: 1 }))
      assert.equal(missing.code, 6)
      assert.equal(missing.message, `could not find the entity with '{name="no-such-service"}'`)
    })

    it('pages by id with opaque offsets, filters by tags and by foreign key', async () => {
      const parent = await store.insert(services, { name: 'pager', host: 'example.com' })
      const made = []
      for (let i = 0; i < 5; i++)
        made.push(
          await store.insert(routes, {
            paths: [`/page${i}`],
            service: { id: parent.id },
            tags: i % 2 ? ['pg', 'odd'] : ['pg', 'even'],
          }),
        )
      const ids = made.map((r) => r.id).sort()
      const seen: string[] = []
      let offset: string | undefined
      do {
        const page = await store.page(routes, { size: 2, offset, foreign: { field: 'service', id: parent.id } })
        assert.ok(page.data.length <= 2)
        seen.push(...page.data.map((r) => r.id))
        offset = page.offset
      } while (offset)
      assert.deepEqual(seen, ids)

      const and = await store.page(routes, { size: 100, tags: { values: ['pg', 'odd'], mode: 'and' } })
      assert.equal(and.data.length, 2)
      const or = await store.page(routes, { size: 100, tags: { values: ['odd', 'even'], mode: 'or' } })
      assert.equal(or.data.length, 5)
      const bad = await failure(() => store.page(routes, { size: 1, offset: 'garbage!' }))
      assert.equal(bad.code, 7)
    })

    it('bumps the revision once per write and reads a consistent config', async () => {
      const start = (await readConfig(t.db)).version
      const count = versions.length
      const s = await store.insert(services, { name: 'rev', host: 'example.com' })
      await store.update(services, s.id, { retries: 2 })
      await store.delete(services, s.id)
      assert.deepEqual(versions.slice(count), [start + 1, start + 2, start + 3])
      const read = await readConfig(t.db)
      assert.equal(read.version, start + 3)
      assert.ok(read.entities.services!.every((x) => x.id !== s.id))
      assert.ok(read.entities.routes!.length > 0)
    })
  })
}

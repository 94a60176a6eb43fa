import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  consumers,
  keyauthCredentials,
  routes,
  type Snapshot,
  type SnapshotFeed,
  sealSnapshot,
  services,
} from '@turnpike/shared'
import { untrackedTables } from '../db/change-reader.ts'
import { type ConfigRead, readConfig } from '../db/config-reader.ts'
import { type Database, openDatabase } from '../db/database.ts'
import { createEntityStore } from '../db/entity-store.ts'
import { type TestDatabase, testDatabases, testLogger } from '../db/test-databases.ts'
import { type SnapshotBuilder, startSnapshotBuilder } from './snapshot-builder.ts'

/** The first snapshot (the current one included) satisfying `pred`. */
function snapshotWhere(feed: SnapshotFeed, pred: (s: Snapshot) => boolean): Promise<Snapshot> {
  return new Promise((resolve) => {
    const current = feed.current()
    if (current && pred(current)) return resolve(current)
    const stop = feed.subscribe((s) => {
      if (!pred(s)) return
      stop()
      resolve(s)
    })
  })
}

// A hang guard, not a timing assertion: NOTIFY-driven waits must not block the run forever.
const HANG_GUARD = { timeout: 30_000 }

for (const target of testDatabases) {
  describe(`snapshot builder on ${target.name}`, { skip: target.skip, ...HANG_GUARD }, () => {
    let t: TestDatabase
    let replica: Database
    const builders: SnapshotBuilder[] = []
    const start = async (database: Database, read?: () => Promise<ConfigRead>) => {
      const b = await startSnapshotBuilder({ database, logger: testLogger, read })
      builders.push(b)
      return b
    }

    before(async () => {
      t = await target.open()
      // A second CP replica: its own pool and LISTEN connection on Postgres; PGlite has one instance.
      replica = t.db.kind === 'postgres' ? await openDatabase(t.settings, testLogger) : t.db
    })
    after(async () => {
      for (const b of builders) await b.close()
      if (replica !== t.db) await replica?.destroy()
      await t?.close()
    })

    it('builds the current config at start and a new version after each local write', async () => {
      const builder = await start(t.db)
      const first = builder.current()!
      assert.equal(first.version, (await readConfig(t.db)).version)
      const store = createEntityStore(t.db)
      store.onWrite((v) => builder.request(v))

      const s = await store.insert(services, { name: 'built', host: 'built.test' })
      const v1 = await snapshotWhere(builder, (x) => x.version === first.version + 1)
      assert.deepEqual(
        v1.entities.services?.find((x) => x.id === s.id),
        s,
      )
      assert.notEqual(v1.hash, first.hash)
      await store.update(services, s.id, { retries: 1 })
      const v2 = await snapshotWhere(builder, (x) => x.version === first.version + 2)
      assert.equal(v2.entities.services?.find((x) => x.id === s.id)?.retries, 1)
    })

    it('follows writes made by another replica through NOTIFY', async () => {
      const here = await start(t.db)
      const there = await start(replica)
      // Neither builder is told about these writes directly: only NOTIFY can reach them.
      const writeThere = await createEntityStore(replica).insert(services, { host: 'there.test' })
      const seenHere = await snapshotWhere(
        here,
        (s) => s.entities.services?.some((x) => x.id === writeThere.id) ?? false,
      )
      const seenThere = await snapshotWhere(there, (s) => s.version === seenHere.version)
      assert.equal(seenThere.hash, seenHere.hash)

      const writeHere = await createEntityStore(t.db).insert(services, { host: 'here.test' })
      await snapshotWhere(there, (s) => s.entities.services?.some((x) => x.id === writeHere.id) ?? false)
    })

    it('coalesces requests: one build running, one more for everything asked meanwhile', async () => {
      let reads = 0
      let release: (() => void) | undefined
      let version = 1000
      // A read sees the database as it was when it started; the second one is held until released.
      const read = async (): Promise<ConfigRead> => {
        reads++
        const seen = version
        if (reads === 2) await new Promise<void>((r) => (release = r))
        return { version: seen, entities: {} }
      }
      const builder = await start(t.db, read)
      assert.equal(reads, 1)
      version = 1001
      builder.request(1001)
      for (let v = 1002; v <= 1010; v++) builder.request(v)
      version = 1010
      release!()
      await snapshotWhere(builder, (s) => s.version === 1010)
      assert.equal(reads, 3, 'the start, the held build, then one build for all nine requests')
    })

    it('builds incrementally from the changed rows, to exactly what a full read gives', async () => {
      assert.deepEqual(await untrackedTables(t.db), [], 'every snapshot table records its changes')
      const builder = await start(t.db)
      const store = createEntityStore(t.db)
      store.onWrite((v) => builder.request(v))
      /** The snapshot the builder made for the current revision, checked against a full read of it. */
      const same = async () => {
        const v = (await readConfig(t.db)).version
        const at = await snapshotWhere(builder, (s) => s.version === v)
        const full = await readConfig(t.db)
        assert.equal(at.hash, sealSnapshot(full.version, full.entities).hash, `version ${v}`)
        return at
      }
      const svc = await store.insert(services, { name: 'inc', host: 'inc.test' })
      const route = await store.insert(routes, { name: 'inc-r', paths: ['/inc'], service: { id: svc.id } })
      await same()
      const untouched = builder.current()!.entities.consumers
      await store.update(routes, route.id, { paths: ['/inc2'] })
      await same()
      assert.equal(builder.current()!.entities.consumers, untouched, 'untouched collections are carried over')
      const c = await store.insert(consumers, { username: 'inc-user' })
      await store.insert(keyauthCredentials, { consumer: { id: c.id }, key: 'inc-key' })
      await same()
      // The cascade deletes the credential through the database alone.
      await store.delete(consumers, c.id)
      await store.delete(routes, route.id)
      await store.delete(services, svc.id)
      const last = await same()
      assert.ok(!last.entities.services?.some((x) => x.id === svc.id))
    })

    it('keeps the last snapshot while the database cannot be read, and recovers', async () => {
      let down = false
      let failed: () => void = () => {}
      const firstFailure = new Promise<void>((r) => (failed = r))
      const read = () => {
        if (!down) return readConfig(t.db)
        failed()
        return Promise.reject(new Error('connection refused'))
      }
      const builder = await start(t.db, read)
      const before = builder.current()!
      down = true
      await createEntityStore(t.db).insert(services, { host: 'while-down.test' })
      await firstFailure
      assert.equal(builder.current(), before)
      down = false
      // The builder retries on its own; no further write or NOTIFY is needed.
      const after = await snapshotWhere(builder, (s) => s.version > before.version)
      assert.ok(after.entities.services?.some((x) => x.host === 'while-down.test'))
    })
  })
}

/**
 * Reads what changed in the config since a revision, from `config_changes` (migration 0003), as upserts and
 * deletes per collection — so a CP turns a one-row write into a one-row snapshot update instead of re-reading
 * every table. Answers `full` when it cannot say (too far behind, a truncate, a huge change, an untracked table),
 * and the caller reads everything.
 */
import type { ConfigChanges, EntityRow } from '@turnpike/shared'
import { entities, keyring } from '@turnpike/shared'
import { sql } from 'kysely'
import { EXPIRES_AT } from './columns.ts'
import { type ReadConfigOptions, snapshotRows } from './config-reader.ts'
import type { Database } from './database.ts'
import { readKeyring } from './keyring.ts'
import { CHANGE_RETENTION } from './migrations/0003-clustering.ts'

/** Past this many changed rows, one full read is as cheap and simpler. */
const MAX_CHANGED_ROWS = 20_000

export type ChangeRead = { full: true } | { full: false; version: number; changes: ConfigChanges; readAt: number }

const snapshotDefs = () => entities.filter((d) => d.in_snapshot)

/** Snapshot tables whose writes are not recorded in config_changes (none once migrated). */
export async function untrackedTables(db: Database): Promise<string[]> {
  const r = await sql<{ table: string }>`
    select distinct c.relname as table from pg_trigger t join pg_class c on c.oid = t.tgrelid
    where t.tgname like '%\\_config\\_changes\\_ins'`.execute(db)
  const tracked = new Set(r.rows.map((x) => x.table))
  return snapshotDefs()
    .map((d) => d.name)
    .filter((n) => !tracked.has(n))
}

/**
 * The changes after revision `since` up to the current one, in one REPEATABLE READ transaction. `expiredSince`
 * (epoch seconds of the previous read) also turns rows whose TTL ran out since then into deletes, as a full read
 * would leave them out.
 */
export async function readChangesSince(
  database: Database,
  since: number,
  expiredSince: number,
  options: ReadConfigOptions = {},
): Promise<ChangeRead> {
  return database
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx): Promise<ChangeRead> => {
      const revision = await trx.selectFrom('config_revision').select('version').executeTakeFirstOrThrow()
      const version = Number(revision.version)
      if (version < since || version - since >= CHANGE_RETENTION) return { full: true }
      const now = Math.floor(Date.now() / 1000)
      const touched = await trx
        .selectFrom('config_changes')
        .select(['collection', 'id'])
        .distinct()
        .where('version', '>', since)
        .where('version', '<=', version)
        .limit(MAX_CHANGED_ROWS + 1)
        .execute()
      if (touched.length > MAX_CHANGED_ROWS || touched.some((t) => t.id === '*')) return { full: true }
      const ids = new Map<string, string[]>()
      for (const t of touched) {
        const list = ids.get(t.collection as string) ?? []
        list.push(t.id as string)
        ids.set(t.collection as string, list)
      }
      const changes: ConfigChanges = {}
      for (const def of snapshotDefs()) {
        if (def === keyring) {
          // One row, and its secret may come from the settings: read it every time.
          changes[def.name] = { upserts: [await readKeyring(trx, options.keyringSecret)], deletes: [] }
          continue
        }
        const wanted = ids.get(def.name) ?? []
        const expired: string[] = []
        if (def.ttl) {
          const gone = await trx
            .selectFrom(def.name)
            .select('id')
            .where(EXPIRES_AT, '>', expiredSince)
            .where(EXPIRES_AT, '<=', now)
            .execute()
          for (const g of gone) expired.push(g.id as string)
        }
        if (wanted.length === 0 && expired.length === 0) continue
        let upserts: EntityRow[] = []
        if (wanted.length) {
          let q = trx.selectFrom(def.name).selectAll().where('id', 'in', wanted)
          if (def.ttl) q = q.where((eb) => eb.or([eb(EXPIRES_AT, 'is', null), eb(EXPIRES_AT, '>', now)]))
          upserts = snapshotRows(def, await q.execute())
        }
        const present = new Set(upserts.map((r) => r.id))
        const deletes = [...new Set([...wanted.filter((id) => !present.has(id)), ...expired])]
        const byId = (a: { id: string } | string, b: { id: string } | string) => {
          const [x, y] = [typeof a === 'string' ? a : a.id, typeof b === 'string' ? b : b.id]
          return x < y ? -1 : x > y ? 1 : 0
        }
        changes[def.name] = { upserts: upserts.sort(byId), deletes: deletes.sort(byId) }
      }
      return { full: false, version, changes, readAt: now }
    })
}

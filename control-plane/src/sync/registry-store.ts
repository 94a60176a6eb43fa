/** The `clustering_data_planes` table: batched upserts from this CP replica, pages for the Admin API, the purge. */
import { sql } from 'kysely'
import type { Database } from '../db/database.ts'
import { decodeOffset, encodeOffset } from '../db/entity-store.ts'
import type { DataPlaneStatus, SyncStatus } from './stream-state.ts'

const TABLE = 'clustering_data_planes'

/** A data plane as stored and listed (`GET /clustering/data-planes`). */
export interface DataPlaneRecord {
  id: string
  hostname: string
  ip: string
  version: string
  config_version: number
  config_hash: string
  last_seen: number
  sync_status: SyncStatus
  last_error: string | null
  labels: Record<string, string>
  cert_expiry: number | null
  connected: boolean
  control_plane_id: string
  created_at: number
  updated_at: number
}

export function recordOf(s: Readonly<DataPlaneStatus>, controlPlaneId: string, now: number): DataPlaneRecord {
  return {
    id: s.node_id,
    hostname: s.hostname,
    ip: s.ip,
    version: s.version,
    config_version: s.config_version,
    config_hash: s.config_hash,
    last_seen: s.last_seen,
    sync_status: s.sync_status,
    last_error: s.last_error,
    labels: s.labels,
    cert_expiry: s.cert_expiry,
    connected: s.connected,
    control_plane_id: controlPlaneId,
    created_at: now,
    updated_at: now,
  }
}

export interface RegistryStore {
  /** Inserts or updates rows; a disconnect never overwrites a row another CP has taken over since. */
  upsert(rows: DataPlaneRecord[]): Promise<void>
  page(size: number, offset?: string): Promise<{ data: DataPlaneRecord[]; offset?: string }>
  /** Deletes rows not seen since `before` (epoch seconds); returns how many. */
  purge(before: number): Promise<number>
}

function fromDb(row: Record<string, unknown>): DataPlaneRecord {
  return {
    ...(row as unknown as DataPlaneRecord),
    config_version: Number(row.config_version),
    last_seen: Number(row.last_seen),
    cert_expiry: row.cert_expiry === null ? null : Number(row.cert_expiry),
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
  }
}

export function createRegistryStore(db: Database): RegistryStore {
  return {
    async upsert(rows) {
      if (rows.length === 0) return
      const values = rows.map((r) => ({ ...r, labels: JSON.stringify(r.labels) }))
      await db
        .insertInto(TABLE)
        .values(values)
        .onConflict((oc) =>
          oc
            .column('id')
            .doUpdateSet((eb) => ({
              hostname: eb.ref('excluded.hostname'),
              ip: eb.ref('excluded.ip'),
              version: eb.ref('excluded.version'),
              config_version: eb.ref('excluded.config_version'),
              config_hash: eb.ref('excluded.config_hash'),
              last_seen: sql`greatest(${sql.ref(`${TABLE}.last_seen`)}, excluded.last_seen)`,
              sync_status: eb.ref('excluded.sync_status'),
              last_error: eb.ref('excluded.last_error'),
              labels: eb.ref('excluded.labels'),
              cert_expiry: eb.ref('excluded.cert_expiry'),
              connected: eb.ref('excluded.connected'),
              control_plane_id: eb.ref('excluded.control_plane_id'),
              updated_at: eb.ref('excluded.updated_at'),
            }))
            .where((eb) =>
              eb.or([
                eb('excluded.connected', '=', true),
                eb(`${TABLE}.control_plane_id`, '=', eb.ref('excluded.control_plane_id')),
              ]),
            ),
        )
        .execute()
    },

    async page(size, offset) {
      let q = db
        .selectFrom(TABLE)
        .selectAll()
        .orderBy('id')
        .limit(size + 1)
      if (offset !== undefined) q = q.where('id', '>', decodeOffset(offset))
      const rows = (await q.execute()).map(fromDb)
      const data = rows.slice(0, size)
      const last = data.at(-1)
      return rows.length > size && last ? { data, offset: encodeOffset(last.id) } : { data }
    },

    async purge(before) {
      const r = await db.deleteFrom(TABLE).where('last_seen', '<', before).executeTakeFirst()
      return Number(r.numDeletedRows)
    },
  }
}

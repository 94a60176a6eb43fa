/** Reads the whole data-plane config and its revision as one consistent picture. */
import type { ConfigEntities, EntityDef, EntityRow } from '@turnpike/shared'
import { entities, keyring } from '@turnpike/shared'
import { type Kysely, sql } from 'kysely'
import { EXPIRES_AT } from './columns.ts'
import type { Database, Tables } from './database.ts'
import { readKeyring } from './keyring.ts'
import { fromRow } from './row-codec.ts'

/** NOTIFY channel carrying each new config revision, so every CP replica rebuilds. */
export const CONFIG_CHANNEL = 'turnpike_config'

/** Bumps the config revision and NOTIFYs it, inside the writing transaction; returns the new version. */
export async function bumpConfigRevision(trx: Kysely<Tables>): Promise<number> {
  const bumped = await sql<{ version: number }>`
    with v as (update config_revision set version = version + 1 returning version)
    select v.version, pg_notify(${CONFIG_CHANNEL}, v.version::text) from v`.execute(trx)
  return Number(bumped.rows[0]?.version)
}

export interface ConfigRead {
  version: number
  entities: ConfigEntities
}

export interface ReadConfigOptions {
  /** Setting `keyring_secret`: replaces the database's secret in the `keyring` row data planes receive. */
  keyringSecret?: string
}

/**
 * One REPEATABLE READ transaction, so the version names exactly the rows read with it. Expired TTL rows are
 * left out; live ones carry `expires_at` (epoch seconds) when they have an expiry, so data planes can honour it
 * between snapshots.
 */
export async function readConfig(database: Database, options: ReadConfigOptions = {}): Promise<ConfigRead> {
  return database
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx) => {
      const revision = await trx.selectFrom('config_revision').select('version').executeTakeFirstOrThrow()
      const out: ConfigEntities = {}
      const now = Math.floor(Date.now() / 1000)
      for (const def of entities.filter((d) => d.in_snapshot)) {
        if (def === keyring) {
          out[def.name] = [await readKeyring(trx, options.keyringSecret)]
          continue
        }
        let q = trx.selectFrom(def.name).selectAll().orderBy('id')
        if (def.ttl) q = q.where((eb) => eb.or([eb(EXPIRES_AT, 'is', null), eb(EXPIRES_AT, '>', now)]))
        out[def.name] = snapshotRows(def, await q.execute())
      }
      return { version: Number(revision.version), entities: out }
    })
}

/** Snapshot rows: `expires_at` only where an expiry is set. */
export function snapshotRows(def: EntityDef, raw: Record<string, unknown>[]): EntityRow[] {
  return raw.map((r) => {
    const row = fromRow(def, r)
    if (def.ttl && row[EXPIRES_AT] === null) delete row[EXPIRES_AT]
    return row
  })
}

/** Reads the whole data-plane config and its revision as one consistent picture. */
import type { ConfigEntities } from '@turnpike/shared'
import { entities } from '@turnpike/shared'
import type { Database } from './database.ts'
import { fromRow } from './row-codec.ts'

/** NOTIFY channel carrying each new config revision, so every CP replica rebuilds. */
export const CONFIG_CHANNEL = 'turnpike_config'

export interface ConfigRead {
  version: number
  entities: ConfigEntities
}

/** One REPEATABLE READ transaction, so the version names exactly the rows read with it. */
export async function readConfig(database: Database): Promise<ConfigRead> {
  return database
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx) => {
      const revision = await trx.selectFrom('config_revision').select('version').executeTakeFirstOrThrow()
      const out: ConfigEntities = {}
      for (const def of entities.filter((d) => d.in_snapshot)) {
        const rows = await trx.selectFrom(def.name).selectAll().orderBy('id').execute()
        out[def.name] = rows.map((r) => fromRow(def, r))
      }
      return { version: Number(revision.version), entities: out }
    })
}

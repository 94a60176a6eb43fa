/** The cluster's API-key hashing secret (shared `keyring` entity): from the database, or the operator's setting. */
import type { EntityRow } from '@turnpike/shared'
import { TurnpikeError } from '@turnpike/shared'
import type { Kysely } from 'kysely'
import type { Tables } from './database.ts'

/** The keyring row migration 0002 created; `override` (setting `keyring_secret`) replaces its secret. */
export async function readKeyring(db: Kysely<Tables>, override?: string): Promise<EntityRow> {
  const row = await db.selectFrom('keyring').select(['id', 'secret']).executeTakeFirst()
  if (!row) throw new TurnpikeError('DATABASE_ERROR', 'the keyring table is empty; was migration 0002 run?')
  return { id: row.id as string, secret: override || (row.secret as string) }
}

export async function loadKeyringSecret(db: Kysely<Tables>): Promise<string> {
  return (await readKeyring(db)).secret as string
}

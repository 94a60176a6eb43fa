/** The entity store of a DB-less node: reads as usual, writes refused as Kong's `off` strategy refuses them. */
import type { EntityDef } from '@turnpike/shared'
import { TurnpikeError } from '@turnpike/shared'
import type { EntityStore } from '../db/entity-store.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Kong's 405: "cannot create 'routes' entities when not using a database" (`… by 'name'` for endpoint keys). */
function unsupported(operation: string, def: EntityDef, key?: string): TurnpikeError {
  const by = key !== undefined && !UUID.test(key) && def.endpoint_key ? ` by '${def.endpoint_key}'` : ''
  return new TurnpikeError(
    'OPERATION_UNSUPPORTED',
    `cannot ${operation} '${def.name}' entities${by} when not using a database`,
  )
}

export function readOnlyStore(store: EntityStore): EntityStore {
  return {
    ...store,
    insert: async (def) => {
      throw unsupported('create', def)
    },
    upsert: async (def, key) => {
      throw unsupported('create or update', def, key)
    },
    update: async (def, key) => {
      throw unsupported('update', def, key)
    },
    delete: async (def, key) => {
      throw unsupported('remove', def, key)
    },
  }
}

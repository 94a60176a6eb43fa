/**
 * Turns parsed declarative entities into stored/served rows: credential secrets in their hashed form (design §7),
 * generated keys and secrets, timestamps. Rows of the config they replace are carried over where the entity is
 * unchanged, so reloading or re-importing the same file changes nothing (same timestamps, same password hashes).
 */
import { isHashedApiKey } from '../credentials/api-key-hash.ts'
import { hashCredentialFields } from '../credentials/hash-fields.ts'
import { isHashedPassword, verifyPassword } from '../credentials/password-hash.ts'
import { fillAutoValues } from '../entities/auto-values.ts'
import { publicEntities } from '../entities/index.ts'
import type { EntityDef, EntityErrors } from '../schema/types.ts'
import type { ConfigEntities, EntityRow } from '../snapshot/model.ts'
import { changedFields } from './compare-entities.ts'
import {
  type DeclarativeErrors,
  declarativeErrors,
  type FlatEntityError,
  flatEntityError,
} from './declarative-errors.ts'

export interface MaterializeOptions {
  /** The cluster's keyring secret, which API keys are hashed with (required when the config has plaintext keys). */
  keyringSecret?: string
  /** Kong's `_transform`: when false, secrets must already be hashed (they are stored as given). */
  transform?: boolean
  /** The config being replaced, by collection: unchanged entities keep their rows. */
  current?: ConfigEntities
  /** Epoch seconds for new timestamps (defaults to now). */
  now?: number
}

export type MaterializeResult = { ok: true; entities: ConfigEntities } | { ok: false; errors: DeclarativeErrors }

// Password hashing runs on libuv's pool; a bounded fan-out keeps memory flat for big files.
const HASH_CONCURRENCY = 8

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T)
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

/** Materializes `entities` (as parseDeclarative gives them); errors name the entities whose secrets cannot be stored. */
export async function materializeEntities(
  entities: ConfigEntities,
  options: MaterializeOptions = {},
): Promise<MaterializeResult> {
  const now = options.now ?? Math.floor(Date.now() / 1000)
  const transform = options.transform ?? true
  const secret = options.keyringSecret
  const out: ConfigEntities = {}
  const tree: EntityErrors = {}
  const flattened: FlatEntityError[] = []
  const fail = (def: EntityDef, row: EntityRow, field: string, message: string) => {
    const errors = { [field]: message }
    const list = (tree[def.name] as unknown[] | undefined) ?? []
    list.push({ id: row.id, ...errors })
    tree[def.name] = list
    const { [field]: _secret, ...shown } = row
    flattened.push(flatEntityError(def.name, shown, errors))
  }

  for (const def of publicEntities) {
    const rows = entities[def.name] ?? []
    const current = new Map((options.current?.[def.name] ?? []).map((r) => [r.id, r]))
    const hashed = Object.entries(def.fields).filter(([, f]) => f.hashed)
    const generated = Object.entries(def.fields).filter(
      ([name, f]) => f.auto && f.type === 'string' && name !== 'id' && !f.uuid,
    )
    const pending: (() => Promise<void>)[] = []
    const result: EntityRow[] = []
    for (const source of rows) {
      const existing = current.get(source.id)
      const row: EntityRow = { ...source }
      // Generated keys and secrets an entity already has are kept; new ones are generated as the store does.
      for (const [name] of generated) if (row[name] === null || row[name] === undefined) row[name] = existing?.[name]
      fillAutoValues(def, row)
      let plaintext = false
      for (const [name, f] of hashed) {
        const v = row[name]
        if (typeof v !== 'string' || isHashedApiKey(v) || isHashedPassword(v)) continue
        if (!transform) fail(def, row, name, 'expected a hashed value (_transform is false)')
        else if (f.hashed === 'api_key' && secret === undefined) fail(def, row, name, 'cannot hash: no keyring secret')
        else plaintext = true
      }
      if (plaintext)
        pending.push(async () => {
          for (const [name, f] of hashed) {
            const v = row[name]
            const stored = existing?.[name]
            // A plaintext password matching the stored hash keeps it: re-importing does not rewrite every hash.
            if (f.hashed === 'password' && typeof v === 'string' && typeof stored === 'string' && !isHashedPassword(v))
              if (await verifyPassword(v, stored)) row[name] = stored
          }
          // Passwords need no secret; plaintext API keys without one already failed above.
          await hashCredentialFields(def, row, secret ?? '')
        })
      result.push(row)
    }
    await mapLimit(pending, HASH_CONCURRENCY, (task) => task())
    for (const row of result) {
      const existing = current.get(row.id)
      const unchanged = existing !== undefined && changedFields(def, existing, row).length === 0
      row.created_at = row.created_at ?? existing?.created_at ?? now
      row.updated_at = unchanged ? (existing.updated_at ?? now) : (row.updated_at ?? now)
    }
    out[def.name] = result
  }
  if (flattened.length) return { ok: false, errors: declarativeErrors(tree, flattened) }
  return { ok: true, entities: out }
}

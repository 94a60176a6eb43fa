/** Consumers and their ACL groups as the data plane looks them up: by id or username, in O(1). */
import type { ConfigEntities, EntityRow } from '@turnpike/shared'

/** A snapshot `consumers` row (unset fields are null, or absent in hand-written snapshots). */
export interface ConsumerRow {
  readonly id: string
  readonly username?: string | null
  readonly custom_id?: string | null
}

const NO_GROUPS: readonly string[] = Object.freeze([])

/** The id a foreign field (`consumer: {id}`) or its flat form (`consumer_id`) points at. */
export function foreignId(row: EntityRow, field: string): string | undefined {
  const ref = row[field] as { id?: unknown } | string | null | undefined
  if (ref && typeof ref === 'object' && typeof ref.id === 'string') return ref.id
  const flat = row[`${field}_id`]
  return typeof flat === 'string' ? flat : undefined
}

export class ConsumerIndex {
  readonly #byId = new Map<string, ConsumerRow>()
  readonly #byUsername = new Map<string, ConsumerRow>()
  readonly #groups = new Map<string, string[]>()

  constructor(entities: ConfigEntities) {
    for (const row of entities.consumers ?? []) {
      // The snapshot's own rows (no copies: with 10^5 consumers every object counts for GC).
      const c = row as unknown as ConsumerRow
      this.#byId.set(c.id, c)
      if (typeof c.username === 'string') this.#byUsername.set(c.username, c)
    }
    for (const row of entities.acls ?? []) {
      const consumer = foreignId(row, 'consumer')
      if (consumer === undefined || typeof row.group !== 'string') continue
      const list = this.#groups.get(consumer)
      if (list) list.push(row.group)
      else this.#groups.set(consumer, [row.group])
    }
  }

  get size(): number {
    return this.#byId.size
  }

  byId(id: string): ConsumerRow | undefined {
    return this.#byId.get(id)
  }

  /** Kong's `anonymous` and similar references: an id, else a username. */
  byIdOrUsername(ref: string): ConsumerRow | undefined {
    return this.#byId.get(ref) ?? this.#byUsername.get(ref)
  }

  /** The consumer's ACL groups, in snapshot order. */
  groups(consumerId: string): readonly string[] {
    return this.#groups.get(consumerId) ?? NO_GROUPS
  }
}

/** Consumers and their ACL groups as the data plane looks them up: by id or username, in O(1). */
import type { ConfigEntities, EntityRow } from '@turnpike/shared'

export interface ConsumerRow {
  readonly id: string
  readonly username: string | null
  readonly custom_id: string | null
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
      const c: ConsumerRow = {
        id: row.id,
        username: typeof row.username === 'string' ? row.username : null,
        custom_id: typeof row.custom_id === 'string' ? row.custom_id : null,
      }
      this.#byId.set(c.id, c)
      if (c.username !== null) this.#byUsername.set(c.username, c)
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

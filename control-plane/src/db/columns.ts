/** How an entity definition maps onto table columns; the migrations must match this (a test checks). */
import type { EntityDef, FieldDef } from '@turnpike/shared'

/** How a value is carried between the Admin JSON shape and its column. */
export type ColumnKind = 'scalar' | 'text_array' | 'json' | 'foreign'

export interface Column {
  field: string
  /** `service` is stored as `service_id`. */
  column: string
  /** Postgres type as information_schema spells it (`text[]` for arrays). */
  type: string
  nullable: boolean
  kind: ColumnKind
}

function columnType(def: FieldDef): { type: string; kind: ColumnKind } {
  switch (def.type) {
    case 'string':
      return { type: def.uuid ? 'uuid' : 'text', kind: 'scalar' }
    case 'integer':
      return { type: 'bigint', kind: 'scalar' }
    case 'number':
      return { type: 'double precision', kind: 'scalar' }
    case 'boolean':
      return { type: 'boolean', kind: 'scalar' }
    case 'foreign':
      return { type: 'uuid', kind: 'foreign' }
    case 'array':
    case 'set':
      // Arrays of strings stay queryable (tags use GIN + @>); anything richer is a JSON document.
      if (def.elements?.type === 'string') return { type: def.elements.uuid ? 'uuid[]' : 'text[]', kind: 'text_array' }
      return { type: 'jsonb', kind: 'json' }
    default:
      return { type: 'jsonb', kind: 'json' }
  }
}

/** Column (and snapshot row field, when set) holding a TTL entity's expiry in epoch seconds. */
export const EXPIRES_AT = 'expires_at'

const cache = new WeakMap<EntityDef, Column[]>()

/** The columns of an entity's table, in definition order (memoized: row conversion runs per row). */
export function entityColumns(def: EntityDef): Column[] {
  let cols = cache.get(def)
  if (!cols) {
    cols = Object.entries(def.fields).map(([field, f]) => ({
      field,
      column: f.type === 'foreign' ? `${field}_id` : field,
      ...columnType(f),
      nullable: !(f.required || f.auto),
    }))
    // TTL entities keep their absolute expiry (epoch seconds); the Admin API shows Kong's remaining `ttl`.
    if (def.ttl) cols.push({ field: EXPIRES_AT, column: EXPIRES_AT, type: 'bigint', nullable: true, kind: 'scalar' })
    cache.set(def, cols)
  }
  return cols
}

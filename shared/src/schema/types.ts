/** The vocabulary entity and plugin definitions are written in: one definition drives validation, storage and the snapshot. */

export type FieldType =
  | 'string'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'array'
  | 'set'
  | 'record'
  | 'map'
  | 'foreign'
  | 'json'

export interface FieldDef {
  type: FieldType
  required?: boolean
  default?: unknown
  /** Element definition of an array or set. */
  elements?: FieldDef
  /** Sub-fields of a record. */
  fields?: Record<string, FieldDef>
  /** Key and value definitions of a map. */
  keys?: FieldDef
  values?: FieldDef
  /** Entity a foreign field points to (stored as `<field>_id`). */
  reference?: string
  /** On delete of the referenced row: 'cascade' removes this row, 'restrict' refuses the delete. */
  on_delete?: 'cascade' | 'restrict' | 'null'
  one_of?: readonly (string | number)[]
  between?: readonly [number, number]
  gt?: number
  len_min?: number
  len_max?: number
  starts_with?: string
  /** Regex source the whole value must match; `match_message` is the error shown when it does not. */
  match?: string
  match_message?: string
  uuid?: boolean
  unique?: boolean
  /** Filled by the store (id, created_at, updated_at); accepted from clients where Kong accepts them. */
  auto?: boolean
  /** Never echoed back by the Admin API after creation (hashed secrets). */
  sensitive?: boolean
  /** Extra check on a present value; returns an error message or undefined. */
  custom?: (value: unknown) => string | undefined
  description?: string
}

export type EntityErrors = Record<string, unknown>

/** A whole-entity check: returns undefined when fine, or a message (goes under "@entity"), or field errors. */
export type EntityCheck = (entity: Record<string, unknown>) => string | Record<string, string> | undefined

export interface EntityDef {
  /** Collection name, as in the Admin API path and the declarative file (`services`, `key_auth_credentials` …). */
  name: string
  /** Admin API collection path segment (`services`, `key-auths` …). */
  admin_path: string
  /** Alternate key accepted in place of the id in URLs (`name`, `username` …). */
  endpoint_key?: string
  fields: Record<string, FieldDef>
  checks?: EntityCheck[]
  /** Input-only keys expanded into fields before validation (the `url` of a service). */
  shorthands?: Record<string, (value: unknown) => Record<string, unknown> | string>
  /** Fields whose combination is unique (Kong's cache_key), beyond single unique fields. */
  unique_together?: readonly (readonly string[])[]
  /** Whether a data plane needs this entity in its snapshot. */
  in_snapshot: boolean
  /** Kong's `ttl` support. */
  ttl?: boolean
}

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
  /** Minimum length; strings default to 1 (Kong rejects empty strings), `len_min: 0` allows ''. */
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
  /**
   * Stored hashed (design §7): `api_key` with the cluster's keyed hash (credentials/api-key-hash.ts), `password`
   * with scrypt (credentials/password-hash.ts). The plaintext is shown only in the response that set it.
   */
  hashed?: 'api_key' | 'password'
  /** Extra check on a present value; returns an error message or undefined. */
  custom?: (value: unknown) => string | undefined
  /** Whole-record checks of a record field (Kong's record-level `entity_checks`); errors nest under the field. */
  checks?: readonly EntityCheck[]
  description?: string
}

export type EntityErrors = Record<string, unknown>

/**
 * A whole-entity (or whole-record) check: undefined when fine, a message (goes under "@entity"), or field errors
 * (which may nest, and may carry their own "@entity" list).
 */
export type EntityCheck = (entity: Record<string, unknown>) => string | EntityErrors | undefined

export interface EntityDef {
  /** Collection name, as in the Admin API path and the declarative file (`services`, `key_auth_credentials` …). */
  name: string
  /**
   * Admin API collection path segment (`services`, `key-auths` …). Absent for internal entities (`keyring`):
   * no Admin API endpoints and no place in declarative files, only in the snapshot.
   */
  admin_path?: string
  /** Segment under a parent when it differs from `admin_path` (Kong's admin_api_nested_name: `/consumers/{c}/key-auth`). */
  nested_path?: string
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
  /** Kong's `ttl` support: rows may carry an expiry (`?ttl=` seconds); expired rows are invisible. */
  ttl?: boolean
  /**
   * Input-only lists of child endpoint keys created with the entity in one transaction (a certificate's `snis`),
   * echoed back on reads: `field` in the input, `child` entity, its `foreign` field pointing here, its `key` field.
   */
  transient_children?: readonly { field: string; child: string; foreign: string; key: string }[]
}

/** Generic CRUD over any entity definition, with Kong's semantics; every write bumps the config revision. */
import { randomUUID } from 'node:crypto'
import type { EntityDef, EntityRow, FieldDef } from '@turnpike/shared'
import { entityByName, TurnpikeError, validateEntity } from '@turnpike/shared'
import { type Kysely, sql, type Transaction } from 'kysely'
import { entityColumns } from './columns.ts'
import { CONFIG_CHANNEL } from './config-reader.ts'
import type { Database, Tables } from './database.ts'
import { luaPretty, mapDbError } from './db-errors.ts'
import { fromRow, toRow } from './row-codec.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function isUuid(s: string): boolean {
  return UUID.test(s)
}

export interface PageOptions {
  size: number
  /** Opaque token from a previous page. */
  offset?: string
  tags?: { values: string[]; mode: 'and' | 'or' }
  /** Only rows whose foreign `field` points at `id` (routes of a service). */
  foreign?: { field: string; id: string }
}

export interface Page {
  data: EntityRow[]
  /** Present when more rows follow. */
  offset?: string
}

export interface EntityStore {
  /** By id, or by endpoint key when `key` is not a UUID. */
  select(def: EntityDef, key: string): Promise<EntityRow | undefined>
  insert(def: EntityDef, input: Record<string, unknown>): Promise<EntityRow>
  /** PUT: creates or replaces; omitted fields take their defaults. */
  upsert(def: EntityDef, key: string, input: Record<string, unknown>): Promise<EntityRow>
  /** PATCH: merges into the existing entity (nested records deep-merged, arrays replaced). */
  update(def: EntityDef, key: string, input: Record<string, unknown>): Promise<EntityRow>
  /** Deleting a missing entity is not an error (Kong answers 204). */
  delete(def: EntityDef, key: string): Promise<void>
  page(def: EntityDef, options: PageOptions): Promise<Page>
  /** Called with the new config version after each committed write. */
  onWrite(listener: (version: number) => void): () => void
}

type Executor = Kysely<Tables> | Transaction<Tables>

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

const epochSeconds = () => Math.floor(Date.now() / 1000)

function keyFilter(def: EntityDef, key: string): { column: string; value: string } {
  if (isUuid(key)) return { column: 'id', value: key.toLowerCase() }
  if (def.endpoint_key) return { column: def.endpoint_key, value: key }
  throw new TurnpikeError('INVALID_PRIMARY_KEY', `invalid primary key: '{id="expected a valid UUID"}'`, {
    id: 'expected a valid UUID',
  })
}

function notFound(def: EntityDef, key: string): TurnpikeError {
  const { column, value } = keyFilter(def, key)
  const filter = { [column]: value }
  const message =
    column === 'id'
      ? `could not find the entity with primary key '${luaPretty(filter)}'`
      : `could not find the entity with '${luaPretty(filter)}'`
  return new TurnpikeError('NOT_FOUND', message, filter)
}

/** Kong's Schema:merge_values: nested records merge, everything else is replaced. */
export function mergeRecord(
  fields: Record<string, FieldDef>,
  existing: Record<string, unknown>,
  input: Record<string, unknown>,
): Record<string, unknown> {
  const out = { ...existing }
  for (const [k, v] of Object.entries(input)) {
    const f = fields[k]
    const old = existing[k]
    out[k] =
      f?.type === 'record' && f.fields && isPlainObject(v) && isPlainObject(old) ? mergeRecord(f.fields, old, v) : v
  }
  return out
}

function validated(def: EntityDef, candidate: Record<string, unknown>): Record<string, unknown> {
  const r = validateEntity(def, candidate)
  if (!r.ok) throw TurnpikeError.schemaViolation(r.errors)
  return r.value
}

export function encodeOffset(id: string): string {
  return Buffer.from(id).toString('base64url')
}

export function decodeOffset(token: string): string {
  const id = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString() : ''
  if (!isUuid(id)) throw new TurnpikeError('INVALID_OFFSET', `'${token}' is not a valid offset: bad base64 encoding`)
  return id
}

/** The store over `db`; unexpected database errors are rethrown for the caller to log with its context. */
export function createEntityStore(db: Database): EntityStore {
  const listeners = new Set<(version: number) => void>()

  async function selectRow(ex: Executor, def: EntityDef, key: string, lock = false) {
    const { column, value } = keyFilter(def, key)
    let q = ex.selectFrom(def.name).selectAll().where(column, '=', value)
    if (lock) q = q.forUpdate()
    const row = await q.executeTakeFirst()
    return row ? fromRow(def, row) : undefined
  }

  /** Turns `{name: "x"}` references into `{id}`; Kong's "foreign keys unresolved" when one does not exist. */
  async function resolveReferences(ex: Executor, def: EntityDef, input: Record<string, unknown>) {
    const out = { ...input }
    const unresolved: Record<string, Record<string, string>> = {}
    for (const [name, f] of Object.entries(def.fields)) {
      const v = input[name]
      const ref = f.type === 'foreign' && f.reference ? entityByName(f.reference) : undefined
      const key = ref?.endpoint_key
      if (!ref || !key || !isPlainObject(v) || 'id' in v) continue
      if (Object.keys(v).length !== 1 || typeof v[key] !== 'string') continue
      const row = await ex.selectFrom(ref.name).select('id').where(key, '=', v[key]).executeTakeFirst()
      if (row) out[name] = { id: row.id }
      else
        unresolved[name] = {
          [key]: `the foreign key cannot be resolved with '${luaPretty({ [key]: v[key] })}' for an existing '${ref.name}' entity`,
        }
    }
    const parts = Object.entries(unresolved).flatMap(([f, errs]) =>
      Object.entries(errs).map(([k, m]) => `${f}.${k}: ${m}`),
    )
    if (parts.length) {
      const head = parts.length === 1 ? 'foreign key unresolved' : `${parts.length} foreign keys unresolved`
      throw new TurnpikeError('FOREIGN_KEYS_UNRESOLVED', `${head} (${parts.join('; ')})`, unresolved)
    }
    return out
  }

  /** Runs `fn` in a transaction; when it reports a change, bumps the revision and NOTIFYs before commit. */
  async function write<T>(
    def: EntityDef,
    fn: (trx: Transaction<Tables>) => Promise<T | undefined>,
    context: { entity?: Record<string, unknown>; deleting?: boolean } = {},
  ): Promise<T | undefined> {
    let version: number | undefined
    try {
      const result = await db.transaction().execute(async (trx) => {
        const r = await fn(trx)
        if (r !== undefined) {
          const bumped = await sql<{ version: number }>`
            with v as (update config_revision set version = version + 1 returning version)
            select v.version, pg_notify(${CONFIG_CHANNEL}, v.version::text) from v`.execute(trx)
          version = Number(bumped.rows[0]?.version)
        }
        return r
      })
      if (version !== undefined) for (const l of listeners) l(version)
      return result
    } catch (err) {
      throw mapDbError(err, def, context) ?? err
    }
  }

  async function read<T>(def: EntityDef, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      throw mapDbError(err, def, {}) ?? err
    }
  }

  async function insertRow(trx: Transaction<Tables>, def: EntityDef, entity: Record<string, unknown>) {
    const row = await trx.insertInto(def.name).values(toRow(def, entity)).returningAll().executeTakeFirstOrThrow()
    return fromRow(def, row)
  }

  async function updateRow(trx: Transaction<Tables>, def: EntityDef, id: string, entity: Record<string, unknown>) {
    const row = await trx
      .updateTable(def.name)
      .set(toRow(def, entity))
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow()
    return fromRow(def, row)
  }

  return {
    select: (def, key) => read(def, () => selectRow(db, def, key)),

    async insert(def, input) {
      // Context for error messages; filled once validated.
      const context: { entity?: Record<string, unknown> } = {}
      const row = await write(
        def,
        async (trx) => {
          const body = await resolveReferences(trx, def, input)
          const now = epochSeconds()
          const entity = validated(def, {
            ...body,
            id: body.id ?? randomUUID(),
            created_at: body.created_at ?? now,
            updated_at: now,
          })
          context.entity = entity
          return insertRow(trx, def, entity)
        },
        context,
      )
      return row!
    },

    async upsert(def, key, input) {
      const context: { entity?: Record<string, unknown> } = {}
      const row = await write(
        def,
        async (trx) => {
          const existing = await selectRow(trx, def, key, true)
          const body = await resolveReferences(trx, def, input)
          const { column, value } = keyFilter(def, key)
          const now = epochSeconds()
          // The URL names the entity; the body cannot move it to another id or key.
          const entity = validated(def, {
            ...body,
            [column]: value,
            id: existing?.id ?? (column === 'id' ? value : (body.id ?? randomUUID())),
            created_at: existing?.created_at ?? body.created_at ?? now,
            updated_at: now,
          })
          context.entity = entity
          return existing ? updateRow(trx, def, existing.id, entity) : insertRow(trx, def, entity)
        },
        context,
      )
      return row!
    },

    async update(def, key, input) {
      const context: { entity?: Record<string, unknown> } = {}
      const row = await write(
        def,
        async (trx) => {
          const existing = await selectRow(trx, def, key, true)
          if (!existing) throw notFound(def, key)
          const body = await resolveReferences(trx, def, input)
          const entity = validated(def, {
            ...mergeRecord(def.fields, existing, body),
            id: existing.id,
            created_at: existing.created_at,
            updated_at: epochSeconds(),
          })
          context.entity = entity
          return updateRow(trx, def, existing.id, entity)
        },
        context,
      )
      return row!
    },

    async delete(def, key) {
      await write(
        def,
        async (trx) => {
          const existing = await selectRow(trx, def, key, true)
          if (!existing) return undefined
          await trx.deleteFrom(def.name).where('id', '=', existing.id).execute()
          return true
        },
        { deleting: true },
      )
    },

    page: (def, options) =>
      read(def, async () => {
        let q = db
          .selectFrom(def.name)
          .selectAll()
          .orderBy('id')
          .limit(options.size + 1)
        if (options.offset !== undefined) q = q.where('id', '>', decodeOffset(options.offset))
        const foreign = options.foreign
        if (foreign) {
          const column = entityColumns(def).find((c) => c.field === foreign.field)?.column ?? foreign.field
          q = q.where(column, '=', foreign.id)
        }
        const tags = options.tags
        if (tags) {
          const op = tags.mode === 'and' ? sql`@>` : sql`&&`
          q = q.where(sql<boolean>`tags ${op} ${tags.values}::text[]`)
        }
        const rows = await q.execute()
        const data = rows.slice(0, options.size).map((r) => fromRow(def, r))
        const last = data[data.length - 1]
        return rows.length > options.size && last ? { data, offset: encodeOffset(last.id) } : { data }
      }),

    onWrite(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

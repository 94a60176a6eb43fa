/** Generic CRUD over any entity definition, with Kong's semantics; every write bumps the config revision. */
import { randomUUID } from 'node:crypto'
import type { EntityDef, EntityRow, FieldDef } from '@turnpike/shared'
import {
  concreteEntityDef,
  entities,
  entityByName,
  fillAutoValues,
  hashCredentialFields,
  plugins,
  storedLookupValue,
  TurnpikeError,
  validateField,
  validateInput,
} from '@turnpike/shared'
import { type Kysely, sql, type Transaction } from 'kysely'
import { EXPIRES_AT, entityColumns } from './columns.ts'
import { bumpConfigRevision } from './config-reader.ts'
import type { Database, Tables } from './database.ts'
import { luaPretty, mapDbError } from './db-errors.ts'
import { loadKeyringSecret } from './keyring.ts'
import { fromRow, toRow } from './row-codec.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** Kong's bound on `ttl` (seconds). */
export const MAX_TTL = 100_000_000

function isUuid(s: string): boolean {
  return UUID.test(s)
}

/** A parent a nested endpoint names: `/consumers/{c}/acls/{group}` resolves `group` within consumer `c`. */
export interface Scope {
  /** The child's foreign field pointing at the parent (`consumer`). */
  field: string
  id: string
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

export interface WriteOptions {
  /** Seconds until a TTL entity expires (Kong's `ttl`); 0 means never. */
  ttl?: number
  /** Resolves a key that is unique only within a parent (see Scope). */
  scope?: Scope
}

export interface TagRow {
  entity_name: string
  entity_id: string
  tag: string
}

export interface TagPage {
  data: TagRow[]
  offset?: string
}

export interface EntityStore {
  /** By id, or by endpoint key when `key` is not a UUID (an API key is hashed first). */
  select(def: EntityDef, key: string, scope?: Scope): Promise<EntityRow | undefined>
  /** Creates; the response shows plaintext API keys this once. */
  insert(def: EntityDef, input: Record<string, unknown>, options?: WriteOptions): Promise<EntityRow>
  /** PUT: creates or replaces; omitted fields take their defaults. */
  upsert(def: EntityDef, key: string, input: Record<string, unknown>, options?: WriteOptions): Promise<EntityRow>
  /** PATCH: merges into the existing entity (nested records deep-merged, arrays replaced). */
  update(def: EntityDef, key: string, input: Record<string, unknown>, options?: WriteOptions): Promise<EntityRow>
  /** Deleting a missing entity is not an error (Kong answers 204). */
  delete(def: EntityDef, key: string, scope?: Scope): Promise<void>
  page(def: EntityDef, options: PageOptions): Promise<Page>
  /** Kong's `/tags` (every tagged entity) or `/tags/{tag}`, paged. */
  tags(options: { tag?: string; size: number; offset?: string }): Promise<TagPage>
  /** Names of the plugins configured anywhere in the cluster (Kong's `enabled_in_cluster`). */
  pluginNamesInUse(): Promise<string[]>
  /** Called with the new config version after each committed write. */
  onWrite(listener: (version: number) => void): () => void
}

type Executor = Kysely<Tables> | Transaction<Tables>

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

const epochSeconds = () => Math.floor(Date.now() / 1000)

/** Rows of TTL entities past their expiry are invisible (Kong filters them the same way). */
const alive = () => sql<boolean>`(${sql.ref(EXPIRES_AT)} is null or ${sql.ref(EXPIRES_AT)} > ${epochSeconds()})`

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

export function encodeOffset(id: string): string {
  return Buffer.from(id).toString('base64url')
}

export function decodeOffset(token: string): string {
  const id = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString() : ''
  if (!isUuid(id)) throw new TurnpikeError('INVALID_OFFSET', `'${token}' is not a valid offset: bad base64 encoding`)
  return id
}

function invalidOffset(token: string): TurnpikeError {
  return new TurnpikeError('INVALID_OFFSET', `'${token}' is not a valid offset: bad base64 encoding`)
}

/** Checks Kong's `ttl` option. */
export function checkTtl(value: unknown): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_TTL)
    throw new TurnpikeError('INVALID_OPTIONS', `invalid option (ttl: must be an integer between 0 and ${MAX_TTL})`, {
      ttl: `must be an integer between 0 and ${MAX_TTL}`,
    })
  return n
}

/** How a URL key selects a row: column conditions, and the entity field values the key stands for. */
interface KeyFilter {
  where: Record<string, string>
  /** For PUT: what the key sets on the entity (`{name: "x"}`, a plaintext API key, `{group, consumer}`). */
  sets: Record<string, unknown>
  /** The filter as Kong prints it in "could not find" messages. */
  shown: Record<string, string>
  byId: boolean
}

/** The column of field `f` of `def` (`service` → `service_id`). */
function columnOf(def: EntityDef, field: string): string {
  return entityColumns(def).find((c) => c.field === field)?.column ?? field
}

/** The field a key names within `scope`: the other half of a two-field unique group with the scope's field. */
function scopedKeyField(def: EntityDef, scope: Scope | undefined): string | undefined {
  if (!scope) return undefined
  for (const group of def.unique_together ?? [])
    if (group.length === 2 && group.includes(scope.field)) return group.find((f) => f !== scope.field)
  return undefined
}

/**
 * Validates an entity without storing it (also `POST /schemas/{entity}/validate`): fields, checks, a plugin's
 * config, and transient child lists (a certificate's `snis`), which come back separately.
 */
export function checkEntity(
  def: EntityDef,
  input: Record<string, unknown>,
): { entity: Record<string, unknown>; lists: Record<string, string[] | undefined> } {
  const body = { ...input }
  const lists: Record<string, string[] | undefined> = {}
  const errors: Record<string, unknown> = {}
  for (const t of def.transient_children ?? []) {
    const v = body[t.field]
    delete body[t.field]
    if (v === undefined) continue
    const keyDef = entityByName(t.child)?.fields[t.key] ?? { type: 'string' }
    const r = validateField({ type: 'array', elements: keyDef }, v === null ? [] : v)
    if (r.error !== undefined) errors[t.field] = r.error
    else {
      const names = r.value as string[]
      const dupe = names.find((n, i) => names.indexOf(n) !== i)
      if (dupe !== undefined) errors[t.field] = `${dupe} is duplicated`
      else lists[t.field] = names
    }
  }
  const r = validateInput(def, body)
  if (!r.ok || Object.keys(errors).length) throw TurnpikeError.schemaViolation({ ...(r.ok ? {} : r.errors), ...errors })
  return { entity: r.value, lists }
}

/** The store over `db`; unexpected database errors are rethrown for the caller to log with its context. */
export function createEntityStore(db: Database, options: { keyringSecret?: string } = {}): EntityStore {
  const listeners = new Set<(version: number) => void>()
  let keyring: Promise<string> | undefined

  /** The API-key hashing secret: the operator's, else the database's (read once, retried after a failure). */
  function keyringSecret(): Promise<string> {
    if (options.keyringSecret) return Promise.resolve(options.keyringSecret)
    keyring ??= loadKeyringSecret(db).catch((err) => {
      keyring = undefined
      throw err
    })
    return keyring
  }

  const needsKeyring = (def: EntityDef) => Object.values(def.fields).some((f) => f.hashed === 'api_key')

  async function keyFilter(def: EntityDef, key: string, scope?: Scope): Promise<KeyFilter> {
    if (isUuid(key)) {
      const id = key.toLowerCase()
      return { where: { id }, sets: { id }, shown: { id }, byId: true }
    }
    const scoped = scopedKeyField(def, scope)
    if (scope && scoped) {
      const value = await lookupValue(def, scoped, key)
      return {
        where: { [columnOf(def, scoped)]: value, [columnOf(def, scope.field)]: scope.id },
        sets: { [scoped]: key, [scope.field]: { id: scope.id } },
        shown: { [scoped]: key },
        byId: false,
      }
    }
    const field = def.endpoint_key
    if (field && def.fields[field]?.unique) {
      const value = await lookupValue(def, field, key)
      return { where: { [columnOf(def, field)]: value }, sets: { [field]: key }, shown: { [field]: key }, byId: false }
    }
    throw new TurnpikeError('INVALID_PRIMARY_KEY', `invalid primary key: '{id="expected a valid UUID"}'`, {
      id: 'expected a valid UUID',
    })
  }

  async function lookupValue(def: EntityDef, field: string, key: string): Promise<string> {
    return def.fields[field]?.hashed === 'api_key' ? storedLookupValue(def, field, key, await keyringSecret()) : key
  }

  function notFound(filter: KeyFilter): TurnpikeError {
    const message = filter.byId
      ? `could not find the entity with primary key '${luaPretty(filter.shown)}'`
      : `could not find the entity with '${luaPretty(filter.shown)}'`
    return new TurnpikeError('NOT_FOUND', message, filter.shown)
  }

  async function selectRow(ex: Executor, def: EntityDef, filter: KeyFilter, lock = false) {
    let q = ex.selectFrom(def.name).selectAll()
    for (const [column, value] of Object.entries(filter.where)) q = q.where(column, '=', value)
    if (def.ttl) q = q.where(alive())
    if (lock) q = q.forUpdate()
    const row = await q.executeTakeFirst()
    return row ? fromRow(def, row) : undefined
  }

  /** The Admin API's view of stored rows: Kong's remaining `ttl`, transient child lists. */
  async function present(ex: Executor, def: EntityDef, rows: EntityRow[]): Promise<EntityRow[]> {
    if (def.ttl) {
      const now = epochSeconds()
      for (const row of rows) {
        const expires = row[EXPIRES_AT] as number | null
        delete row[EXPIRES_AT]
        row.ttl = expires === null ? null : Math.max(0, expires - now)
      }
    }
    for (const t of def.transient_children ?? []) {
      const child = entityByName(t.child)
      if (!child || !rows.length) continue
      const keyColumn = columnOf(child, t.key)
      const fkColumn = columnOf(child, t.foreign)
      const children = await ex
        .selectFrom(child.name)
        .select([keyColumn, fkColumn])
        .where(
          fkColumn,
          'in',
          rows.map((r) => r.id),
        )
        .orderBy(keyColumn)
        .execute()
      for (const row of rows)
        row[t.field] = children.filter((c) => c[fkColumn] === row.id).map((c) => c[keyColumn] as string)
    }
    return rows
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
      const row = await ex
        .selectFrom(ref.name)
        .select('id')
        .where(key, '=', await lookupValue(ref, key, v[key]))
        .executeTakeFirst()
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
        if (r !== undefined) version = await bumpConfigRevision(trx)
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

  /** Replaces the parent's transient children with `lists`, in the parent's transaction. */
  async function writeTransients(
    trx: Transaction<Tables>,
    def: EntityDef,
    parentId: string,
    lists: Record<string, string[] | undefined>,
  ) {
    for (const t of def.transient_children ?? []) {
      const names = lists[t.field]
      const child = entityByName(t.child)
      if (names === undefined || !child) continue
      const keyColumn = columnOf(child, t.key)
      const fkColumn = columnOf(child, t.foreign)
      if (names.length) {
        const taken = await trx
          .selectFrom(child.name)
          .select([keyColumn, fkColumn])
          .where(keyColumn, 'in', names)
          .where(fkColumn, '!=', parentId)
          .executeTakeFirst()
        if (taken)
          throw TurnpikeError.schemaViolation({
            [t.field]: `${taken[keyColumn]} already associated with existing ${def.name.replace(/s$/, '')} '${taken[fkColumn]}'`,
          })
      }
      const existing = await trx.selectFrom(child.name).select([keyColumn]).where(fkColumn, '=', parentId).execute()
      const have = new Set(existing.map((r) => r[keyColumn] as string))
      const gone = [...have].filter((n) => !names.includes(n))
      if (gone.length)
        await trx.deleteFrom(child.name).where(fkColumn, '=', parentId).where(keyColumn, 'in', gone).execute()
      const now = epochSeconds()
      for (const name of names.filter((n) => !have.has(n))) {
        const r = validateInput(child, {
          [t.key]: name,
          [t.foreign]: { id: parentId },
          id: randomUUID(),
          created_at: now,
          updated_at: now,
        })
        if (!r.ok) throw TurnpikeError.schemaViolation({ [t.field]: r.errors })
        await trx.insertInto(child.name).values(toRow(child, r.value)).execute()
      }
    }
  }

  /**
   * Validates a candidate entity and readies it for storage: generated keys and secrets filled, credentials
   * hashed. Returns the row values and the plaintexts to show once.
   */
  async function prepare(
    def: EntityDef,
    candidate: Record<string, unknown>,
    ttl: number | null | undefined,
    secret: string,
  ) {
    const { entity, lists } = checkEntity(def, candidate)
    fillAutoValues(def, entity)
    const hashes = Object.values(def.fields).some((f) => f.hashed)
    const hashed = hashes ? await hashCredentialFields(def, entity, secret) : {}
    // A generated or given API key is shown once, here; a password never (its owner knows it).
    const plaintext = Object.fromEntries(Object.entries(hashed).filter(([f]) => def.fields[f]?.hashed === 'api_key'))
    if (def.ttl) entity[EXPIRES_AT] = ttl ? epochSeconds() + ttl : null
    return { entity, plaintext, lists }
  }

  async function storeRow(
    trx: Transaction<Tables>,
    def: EntityDef,
    entity: Record<string, unknown>,
    existingId: string | undefined,
  ) {
    const values = toRow(def, entity)
    const row = existingId
      ? await trx
          .updateTable(def.name)
          .set(values)
          .where('id', '=', existingId)
          .returningAll()
          .executeTakeFirstOrThrow()
      : await trx.insertInto(def.name).values(values).returningAll().executeTakeFirstOrThrow()
    return fromRow(def, row)
  }

  /** The stored row as the writer sees it: plaintexts shown once, Admin view applied. */
  async function finish(
    trx: Transaction<Tables>,
    def: EntityDef,
    row: EntityRow,
    plaintext: Record<string, string>,
    lists: Record<string, string[] | undefined>,
  ) {
    await writeTransients(trx, def, row.id, lists)
    const [shown] = await present(trx, def, [row])
    return { ...shown!, ...plaintext } as EntityRow
  }

  /** Drops expired rows of a TTL entity, so their unique values can be reused. */
  async function purgeExpired(trx: Transaction<Tables>, def: EntityDef) {
    if (def.ttl) await trx.deleteFrom(def.name).where(EXPIRES_AT, '<=', epochSeconds()).execute()
  }

  const ttlOf = (def: EntityDef, options: WriteOptions | undefined) =>
    def.ttl && options?.ttl !== undefined ? checkTtl(options.ttl) : undefined

  return {
    async select(def, key, scope) {
      const filter = await keyFilter(def, key, scope)
      return read(def, async () => {
        const row = await selectRow(db, def, filter)
        return row ? (await present(db, def, [row]))[0] : undefined
      })
    },

    async insert(def, input, options) {
      const ttl = ttlOf(def, options)
      // Read before the transaction: PGlite has a single connection.
      const secret = needsKeyring(def) ? await keyringSecret() : ''
      // Context for error messages; filled once validated.
      const context: { entity?: Record<string, unknown> } = {}
      const row = await write(
        def,
        async (trx) => {
          await purgeExpired(trx, def)
          const body = await resolveReferences(trx, def, input)
          const now = epochSeconds()
          const { entity, plaintext, lists } = await prepare(
            def,
            { ...body, id: body.id ?? randomUUID(), created_at: body.created_at ?? now, updated_at: now },
            ttl,
            secret,
          )
          context.entity = entity
          return finish(trx, def, await storeRow(trx, def, entity, undefined), plaintext, lists)
        },
        context,
      )
      return row!
    },

    async upsert(def, key, input, options) {
      const ttl = ttlOf(def, options)
      // Read before the transaction: PGlite has a single connection.
      const secret = needsKeyring(def) ? await keyringSecret() : ''
      const filter = await keyFilter(def, key, options?.scope)
      const context: { entity?: Record<string, unknown> } = {}
      const row = await write(
        def,
        async (trx) => {
          await purgeExpired(trx, def)
          const existing = await selectRow(trx, def, filter, true)
          const body = await resolveReferences(trx, def, input)
          const now = epochSeconds()
          // The URL names the entity; the body cannot move it to another id or key.
          const { entity, plaintext, lists } = await prepare(
            def,
            {
              ...body,
              ...filter.sets,
              id: existing?.id ?? (filter.byId ? filter.sets.id : (body.id ?? randomUUID())),
              created_at: existing?.created_at ?? body.created_at ?? now,
              updated_at: now,
            },
            ttl,
            secret,
          )
          context.entity = entity
          return finish(trx, def, await storeRow(trx, def, entity, existing?.id), plaintext, lists)
        },
        context,
      )
      return row!
    },

    async update(def, key, input, options) {
      const ttl = ttlOf(def, options)
      // Read before the transaction: PGlite has a single connection.
      const secret = needsKeyring(def) ? await keyringSecret() : ''
      const filter = await keyFilter(def, key, options?.scope)
      const context: { entity?: Record<string, unknown> } = {}
      const row = await write(
        def,
        async (trx) => {
          const existing = await selectRow(trx, def, filter, true)
          if (!existing) throw notFound(filter)
          const body = await resolveReferences(trx, def, input)
          const { [EXPIRES_AT]: expires, ...current } = existing
          // A plugin's config merges by its own definition, so its nested records merge too.
          const fields = concreteEntityDef(def, body.name ?? existing.name).fields
          const { entity, plaintext, lists } = await prepare(
            def,
            {
              ...mergeRecord(fields, current, body),
              id: existing.id,
              created_at: existing.created_at,
              updated_at: epochSeconds(),
            },
            ttl,
            secret,
          )
          // PATCH keeps the expiry unless a new ttl is given.
          if (def.ttl && ttl === undefined) entity[EXPIRES_AT] = expires ?? null
          context.entity = entity
          return finish(trx, def, await storeRow(trx, def, entity, existing.id), plaintext, lists)
        },
        context,
      )
      return row!
    },

    async delete(def, key, scope) {
      const filter = await keyFilter(def, key, scope)
      await write(
        def,
        async (trx) => {
          const existing = await selectRow(trx, def, filter, true)
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
        if (foreign) q = q.where(columnOf(def, foreign.field), '=', foreign.id)
        const tags = options.tags
        if (tags) {
          const op = tags.mode === 'and' ? sql`@>` : sql`&&`
          q = q.where(sql<boolean>`tags ${op} ${tags.values}::text[]`)
        }
        if (def.ttl) q = q.where(alive())
        const rows = await q.execute()
        const data = await present(
          db,
          def,
          rows.slice(0, options.size).map((r) => fromRow(def, r)),
        )
        const last = data[data.length - 1]
        return rows.length > options.size && last ? { data, offset: encodeOffset(last.id) } : { data }
      }),

    async tags(options) {
      const tagged = entities.filter((d) => d.admin_path !== undefined && d.fields.tags)
      let after: [string, string, string] | undefined
      if (options.offset !== undefined) {
        try {
          after = JSON.parse(Buffer.from(options.offset, 'base64url').toString())
        } catch {
          throw invalidOffset(options.offset)
        }
        if (!Array.isArray(after) || after.length !== 3 || !after.every((x) => typeof x === 'string'))
          throw invalidOffset(options.offset)
      }
      const parts = tagged.map((d) => {
        const live = d.ttl ? sql`and ${alive()}` : sql``
        return options.tag === undefined
          ? sql`select ${d.name}::text as entity_name, id::text as entity_id, unnest(tags) as tag
              from ${sql.table(d.name)} where tags is not null ${live}`
          : sql`select ${d.name}::text as entity_name, id::text as entity_id, ${options.tag}::text as tag
              from ${sql.table(d.name)} where tags @> array[${options.tag}::text] ${live}`
      })
      const cursor = after ? sql`where (entity_name, entity_id, tag) > (${after[0]}, ${after[1]}, ${after[2]})` : sql``
      const q = sql<TagRow>`select * from (${sql.join(parts, sql` union all `)}) t ${cursor}
        order by entity_name, entity_id, tag limit ${options.size + 1}`
      // Only connection failures can happen here; any definition maps them.
      const rows = await read(tagged[0]!, async () => (await q.execute(db)).rows)
      const data = rows.slice(0, options.size)
      const last = data[data.length - 1]
      return rows.length > options.size && last
        ? {
            data,
            offset: Buffer.from(JSON.stringify([last.entity_name, last.entity_id, last.tag])).toString('base64url'),
          }
        : { data }
    },

    async pluginNamesInUse() {
      const rows = await read(plugins, () =>
        db.selectFrom('plugins').select('name').distinct().orderBy('name').execute(),
      )
      return rows.map((r) => r.name as string)
    },

    onWrite(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

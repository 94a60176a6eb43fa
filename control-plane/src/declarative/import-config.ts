/**
 * Makes the database hold exactly a declarative config, in one transaction (all or nothing, one revision bump):
 * read what is stored, materialize the file against it (hashed secrets, kept timestamps), diff, then write the
 * diff with multi-row statements — one JSON parameter per batch (`jsonb_populate_recordset`), so 100k rows are
 * ~100 statements rather than 100k round trips.
 */
import type { ConfigEntities, EntityDef, EntityRow } from '@turnpike/shared'
import {
  type DeclarativeErrors,
  materializeEntities,
  publicEntities,
  TurnpikeError,
  uniqueConstraints,
  uniqueTuple,
} from '@turnpike/shared'
import { type Kysely, sql } from 'kysely'
import { EXPIRES_AT, entityColumns } from '../db/columns.ts'
import { bumpConfigRevision } from '../db/config-reader.ts'
import type { Database, Tables } from '../db/database.ts'
import { mapDbError } from '../db/db-errors.ts'
import { loadKeyringSecret } from '../db/keyring.ts'
import { fromRow } from '../db/row-codec.ts'
import { type ConfigDiff, diffConfig, hasDrift } from './diff-config.ts'

/** Rows per statement: big enough to amortize a round trip, small enough for steady progress and memory. */
const BATCH_ROWS = 1000

export interface ImportProgress {
  phase: 'read' | 'prepare' | 'write'
  /** Rows written so far (phase `write`). */
  done: number
  total: number
}

export interface ImportOptions {
  /** Setting `keyring_secret`, when it overrides the database's (as the entity store is told). */
  keyringSecret?: string
  /** The file's `_transform` (false: secrets are already hashed). */
  transform?: boolean
  /** Computes the diff without writing anything. */
  dryRun?: boolean
  onProgress?: (progress: ImportProgress) => void
}

export interface ImportResult {
  diff: ConfigDiff
  /** What the database held, and what it holds now (or would, on a dry run). */
  current: ConfigEntities
  desired: ConfigEntities
  /** The new config revision; undefined when nothing was written. */
  version?: number
}

/** A declarative config that cannot be stored as given (a secret that is not hashed under `_transform: false`). */
export class DeclarativeConfigError extends TurnpikeError {
  readonly errors: DeclarativeErrors
  constructor(errors: DeclarativeErrors) {
    super('DECLARATIVE_CONFIG', errors.message, errors.fields)
    this.errors = errors
  }
}

/** Every row of the declarative collections, expired TTL rows included (they are physically there). */
async function readStored(trx: Kysely<Tables>): Promise<ConfigEntities> {
  const out: ConfigEntities = {}
  for (const def of publicEntities) {
    const rows = await trx.selectFrom(def.name).selectAll().orderBy('id').execute()
    out[def.name] = rows.map((r) => fromRow(def, r))
  }
  return out
}

/** Column values for a row; JSON-typed columns stay objects, as the batch is one JSON document. */
function columnsOf(def: EntityDef, row: EntityRow): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const c of entityColumns(def)) {
    const v = row[c.field] ?? null
    out[c.column] = c.kind === 'foreign' && v !== null ? (v as { id: string }).id : v
  }
  return out
}

function batches<T>(items: T[]): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += BATCH_ROWS) out.push(items.slice(i, i + BATCH_ROWS))
  return out
}

/** Applies `diff`; `desired` and `current` give the rows for the placeholder step. */
async function applyDiff(
  trx: Kysely<Tables>,
  diff: ConfigDiff,
  desired: ConfigEntities,
  report: (rows: number) => void,
): Promise<void> {
  const defs = new Map(publicEntities.map((d) => [d.name, d]))
  const table = (def: EntityDef) => sql.table(def.name)
  const records = (def: EntityDef, rows: EntityRow[]) =>
    sql`jsonb_populate_recordset(null::${table(def)}, ${JSON.stringify(rows.map((r) => columnsOf(def, r)))}::jsonb)`
  const idList = (ids: string[]) => sql`(select (jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))::uuid)`
  const guard = async (def: EntityDef, fn: () => Promise<unknown>) => {
    try {
      await fn()
    } catch (err) {
      throw mapDbError(err, def, {}) ?? err
    }
  }

  // 1. Rows leaving a unique value (name, username, key …) that another entity of the file takes: move them
  //    aside first, so the value can change hands whatever order the statements run in.
  for (const c of diff.collections) {
    const def = defs.get(c.collection)
    if (!def) continue
    const leaving = [...c.delete, ...c.update.map((u) => u.before)]
    if (!leaving.length) continue
    for (const fields of uniqueConstraints(def)) {
      const column = fields.find((f) => def.fields[f]?.type === 'string' && !def.fields[f]?.uuid)
      if (!column) continue
      const owners = new Map<string, string>()
      for (const row of desired[def.name] ?? []) {
        const t = uniqueTuple(def, fields, row)
        if (t !== undefined) owners.set(t, row.id)
      }
      const moved = leaving.filter((row) => {
        const t = uniqueTuple(def, fields, row)
        const owner = t === undefined ? undefined : owners.get(t)
        return owner !== undefined && owner !== row.id
      })
      for (const batch of batches(moved.map((r) => r.id)))
        await guard(def, () =>
          sql`update ${table(def)} set ${sql.ref(column)} = '__turnpike_import_' || id::text where id in ${idList(batch)}`.execute(
            trx,
          ),
        )
    }
  }

  // 2. Creates and updates, referenced collections first.
  for (const c of diff.collections) {
    const def = defs.get(c.collection)
    if (!def) continue
    const cols = entityColumns(def)
    const names = sql.join(cols.map((col) => sql.ref(col.column)))
    for (const batch of batches(c.create)) {
      await guard(def, () =>
        sql`insert into ${table(def)} (${names}) select ${names} from ${records(def, batch)}`.execute(trx),
      )
      report(batch.length)
    }
    const assignments = sql.join(
      cols.filter((col) => col.column !== 'id').map((col) => sql`${sql.ref(col.column)} = v.${sql.ref(col.column)}`),
    )
    // A TTL row keeps its expiry: declarative files carry none.
    const updates = c.update.map((u) =>
      def.ttl ? { ...u.after, [EXPIRES_AT]: u.before[EXPIRES_AT] ?? null } : u.after,
    )
    for (const batch of batches(updates)) {
      await guard(def, () =>
        sql`update ${table(def)} as t set ${assignments} from ${records(def, batch)} as v where t.id = v.id`.execute(
          trx,
        ),
      )
      report(batch.length)
    }
  }

  // 3. Deletes, referencing collections first (a route goes before the service it restricts).
  for (const c of [...diff.collections].reverse()) {
    const def = defs.get(c.collection)
    if (!def) continue
    for (const batch of batches(c.delete.map((r) => r.id))) {
      await guard(def, () => sql`delete from ${table(def)} where id in ${idList(batch)}`.execute(trx))
      report(batch.length)
    }
  }
}

/**
 * Makes the database match `entities` (as parseDeclarative gives them): entities absent from them are deleted.
 * Concurrent Admin API writes wait for it (the revision row is locked first).
 */
export async function importDeclarative(
  db: Database,
  entities: ConfigEntities,
  options: ImportOptions = {},
): Promise<ImportResult> {
  const progress = options.onProgress ?? (() => {})
  const run = async (trx: Kysely<Tables>): Promise<ImportResult> => {
    if (!options.dryRun) await sql`select version from config_revision for update`.execute(trx)
    progress({ phase: 'read', done: 0, total: 0 })
    const current = await readStored(trx)
    const keyringSecret = options.keyringSecret || (await loadKeyringSecret(trx))
    progress({ phase: 'prepare', done: 0, total: 0 })
    const m = await materializeEntities(entities, { keyringSecret, transform: options.transform, current })
    if (!m.ok) throw new DeclarativeConfigError(m.errors)
    const diff = diffConfig(current, m.entities)
    if (options.dryRun || !hasDrift(diff)) return { diff, current, desired: m.entities }
    const total = diff.collections.reduce((n, c) => n + c.create.length + c.update.length + c.delete.length, 0)
    let done = 0
    progress({ phase: 'write', done, total })
    await applyDiff(trx, diff, m.entities, (rows) => {
      done += rows
      progress({ phase: 'write', done, total })
    })
    return { diff, current, desired: m.entities, version: await bumpConfigRevision(trx) }
  }
  if (options.dryRun)
    return db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(run)
  return db.transaction().execute(run)
}

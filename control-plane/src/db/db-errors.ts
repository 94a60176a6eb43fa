/** Maps Postgres errors to Kong's error kinds and messages (`kong/db/strategies/postgres/init.lua` toerror). */
import type { EntityDef } from '@turnpike/shared'
import { TurnpikeError } from '@turnpike/shared'
import { entityColumns } from './columns.ts'

interface PgError {
  code?: string
  constraint?: string
  table?: string
  message?: string
}

/** Lua-table rendering Kong uses in messages: `{name="x"}`, `{service={id="…"}}`. */
export function luaPretty(value: unknown): string {
  if (value === null || value === undefined) return 'null'
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value !== 'object') return String(value)
  if (Array.isArray(value)) return `{${value.map(luaPretty).join(',')}}`
  const parts = Object.keys(value)
    .sort()
    .map(
      (k) =>
        `${/^[A-Za-z_]\w*$/.test(k) ? k : `[${JSON.stringify(k)}]`}=${luaPretty((value as Record<string, unknown>)[k])}`,
    )
  return `{${parts.join(',')}}`
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE'])

/** Connection-level failures: the database is away, not the request wrong. */
export function isUnavailable(err: PgError): boolean {
  const code = err.code ?? ''
  return (
    UNAVAILABLE_CODES.has(code) ||
    code.startsWith('08') ||
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03' ||
    /Connection terminated|timeout exceeded when trying to connect|driver has already been destroyed/i.test(
      err.message ?? '',
    )
  )
}

function uniqueViolation(def: EntityDef, err: PgError, entity: Record<string, unknown>): TurnpikeError {
  const cols = entityColumns(def)
  const keyOf = (fields: readonly string[]) => {
    const key: Record<string, unknown> = {}
    for (const f of fields) key[f] = entity[f] ?? null
    return key
  }
  if (err.constraint === `${def.name}_pkey`) {
    const key = keyOf(['id'])
    return new TurnpikeError('PRIMARY_KEY_VIOLATION', `primary key violation on key '${luaPretty(key)}'`, key)
  }
  const candidates: (readonly string[])[] = [
    ...cols.filter((c) => def.fields[c.field]?.unique).map((c) => [c.field]),
    ...(def.unique_together ?? []),
  ]
  const columnName = (f: string) => cols.find((c) => c.field === f)?.column ?? f
  const fields = candidates.find((fs) => err.constraint === `${def.name}_${fs.map(columnName).join('_')}_key`)
  const key = keyOf(fields ?? [])
  return new TurnpikeError('UNIQUE_VIOLATION', `UNIQUE violation detected on '${luaPretty(key)}'`, key)
}

function foreignKeyViolation(def: EntityDef, err: PgError, entity: Record<string, unknown>): TurnpikeError {
  const col = entityColumns(def).find((c) => c.kind === 'foreign' && err.constraint === `${def.name}_${c.column}_fkey`)
  const field = col?.field ?? ''
  const ref = def.fields[field]?.reference ?? 'unknown'
  const key = { id: (entity[field] as { id?: string } | null)?.id ?? null }
  return new TurnpikeError(
    'FOREIGN_KEY_VIOLATION',
    `the foreign key '${luaPretty(key)}' does not reference an existing '${ref}' entity.`,
    { [field]: key },
  )
}

/**
 * The Kong-shaped error for a failed statement on `def`, or undefined when it is not a client's fault.
 * `entity` is what was being written; `deleting` tells a restricted delete from a dangling reference.
 */
export function mapDbError(
  err: unknown,
  def: EntityDef,
  context: { entity?: Record<string, unknown>; deleting?: boolean },
): TurnpikeError | undefined {
  if (err instanceof TurnpikeError) return err
  const e = err as PgError
  if (e.code === '23505') return uniqueViolation(def, e, context.entity ?? {})
  // 23001: newer Postgres reports ON DELETE RESTRICT as restrict_violation.
  if (e.code === '23001' || (e.code === '23503' && context.deleting)) {
    // Postgres names the referencing table, which is the referencing entity's name.
    const child = e.table ?? 'unknown'
    return new TurnpikeError(
      'FOREIGN_KEY_VIOLATION',
      `an existing '${child}' entity references this '${def.name}' entity`,
      { '@referenced_by': child },
    )
  }
  if (e.code === '23503') return foreignKeyViolation(def, e, context.entity ?? {})
  // Data exceptions (a NUL byte in text, an integer beyond bigint) are the input's fault.
  if (e.code?.startsWith('22')) return new TurnpikeError('BAD_REQUEST', `invalid value: ${e.message}`)
  // 54000: a value too large for its index (a unique name of many kilobytes).
  if (e.code === '54000')
    return new TurnpikeError('BAD_REQUEST', `invalid value: too large to be indexed (${e.message})`)
  if (isUnavailable(e)) return new TurnpikeError('DATABASE_UNAVAILABLE', `the database is unreachable: ${e.message}`)
  return undefined
}

/** Converts between the Admin JSON shape of an entity (`service: {id}`) and its table row (`service_id`). */
import type { EntityDef, EntityRow } from '@turnpike/shared'
import { entityColumns } from './columns.ts'

/** A validated entity as column values; JSON documents are passed as text so both drivers store them alike. */
export function toRow(def: EntityDef, entity: Record<string, unknown>): Record<string, unknown> {
  const row: Record<string, unknown> = {}
  for (const c of entityColumns(def)) {
    const v = entity[c.field] ?? null
    if (v === null) row[c.column] = null
    else if (c.kind === 'foreign') row[c.column] = (v as { id: string }).id
    else if (c.kind === 'json') row[c.column] = JSON.stringify(v)
    else row[c.column] = v
  }
  return row
}

/** A table row back in Admin JSON shape: every field present, unset ones as null (as Kong returns them). */
export function fromRow(def: EntityDef, row: Record<string, unknown>): EntityRow {
  const entity: Record<string, unknown> = {}
  for (const c of entityColumns(def)) {
    const v = row[c.column] ?? null
    entity[c.field] = c.kind === 'foreign' && v !== null ? { id: v } : v
  }
  return entity as EntityRow
}

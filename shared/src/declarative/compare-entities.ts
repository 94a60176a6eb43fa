/**
 * Field-by-field comparison of two versions of one entity, with the equivalences a declarative round trip needs:
 * timestamps are bookkeeping, an unset list or map equals an empty one, and sets ignore order.
 */
import type { EntityDef, FieldDef } from '../schema/types.ts'
import { canonicalJson } from '../snapshot/model.ts'

/** Fields that change on every write and say nothing about the config. */
export const BOOKKEEPING_FIELDS: ReadonlySet<string> = new Set(['created_at', 'updated_at'])

function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined) return true
  if (Array.isArray(v)) return v.length === 0
  return typeof v === 'object' && Object.keys(v).length === 0
}

/** The value as compared: empties as null where the field has no default, sets sorted, JSON canonical. */
function comparable(f: FieldDef | undefined, v: unknown): string {
  const noDefault = f?.default === undefined || f.default === null
  if (noDefault && isEmpty(v)) return 'null'
  if (f?.type === 'set' && Array.isArray(v)) return canonicalJson(v.map(canonicalJson).sort())
  return canonicalJson(v ?? null)
}

/** Whether one field holds the same value in both versions. */
export function sameField(f: FieldDef | undefined, a: unknown, b: unknown): boolean {
  if (a === b) return true
  return comparable(f, a) === comparable(f, b)
}

/** The fields (bookkeeping aside) whose values differ, in definition order. */
export function changedFields(
  def: EntityDef,
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): string[] {
  const out: string[] = []
  for (const [name, f] of Object.entries(def.fields)) {
    if (BOOKKEEPING_FIELDS.has(name)) continue
    if (!sameField(f, before[name], after[name])) out.push(name)
  }
  return out
}

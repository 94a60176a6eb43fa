/**
 * A definition in the shape Kong's `GET /schemas/{entity}` returns (its Lua schema as JSON: `fields` is a list of
 * one-key objects), so tools that read Kong's schemas read ours. Code-only rules (custom, checks) are left out.
 */
import type { EntityDef, FieldDef } from './types.ts'

type KongField = Record<string, unknown>

const COPIED = [
  'required',
  'default',
  'one_of',
  'between',
  'gt',
  'len_min',
  'len_max',
  'starts_with',
  'match',
  'uuid',
  'unique',
  'auto',
  'reference',
  'on_delete',
  'description',
] as const

export function kongField(def: FieldDef): KongField {
  const out: KongField = { type: def.type }
  for (const key of COPIED) if (def[key] !== undefined) out[key] = def[key]
  if (def.type === 'string' && def.len_min === undefined && !def.uuid) out.len_min = 1
  if (def.elements) out.elements = kongField(def.elements)
  if (def.keys) out.keys = kongField(def.keys)
  if (def.values) out.values = kongField(def.values)
  if (def.fields) out.fields = kongFields(def.fields)
  if (def.hashed) out.hashed = def.hashed
  return out
}

export function kongFields(fields: Record<string, FieldDef>): KongField[] {
  return Object.entries(fields).map(([name, f]) => ({ [name]: kongField(f) }))
}

/** The whole entity: `fields`, plus Kong's schema flags where they apply. */
export function kongEntitySchema(def: EntityDef): Record<string, unknown> {
  const out: Record<string, unknown> = { name: def.name, primary_key: ['id'], fields: kongFields(def.fields) }
  if (def.endpoint_key) out.endpoint_key = def.endpoint_key
  if (def.ttl) out.ttl = true
  if (def.unique_together?.length) out.cache_key = [...(def.unique_together[0] ?? [])]
  return out
}

/**
 * Kong's form-body syntax (`kong/api/arguments.lua`): `hosts[]=a`, `hosts=a` for an array field,
 * `hosts[1]=a`, `service.id=…`, `config.minute=10`, `a[b]=…`; values coerced by the field definition
 * (numbers, booleans), and an empty value meaning null.
 */
import type { EntityDef, FieldDef } from '@turnpike/shared'
import { TurnpikeError } from '@turnpike/shared'

/** Limits that keep a hostile form key from costing much: path depth, and the largest list index. */
const MAX_KEY_DEPTH = 32
const MAX_INDEX = 10_000

function badKey(key: string, why: string): TurnpikeError {
  return new TurnpikeError('BAD_REQUEST', `invalid form key '${key.slice(0, 100)}': ${why}`)
}

/** `a.b[]` → ['a', 'b', ''], `a[1][x]` → ['a', '1', 'x']. */
export function parseFormKey(key: string): string[] {
  const path: string[] = []
  for (const part of key.split('.')) {
    const m = /^([^[]*)((?:\[[^\]]*\])*)$/.exec(part)
    if (!m) {
      path.push(part)
      continue
    }
    if (m[1] || !m[2]) path.push(m[1] ?? '')
    for (const b of (m[2] ?? '').matchAll(/\[([^\]]*)\]/g)) path.push(b[1] ?? '')
  }
  return path
}

function coerce(def: FieldDef | undefined, raw: string): unknown {
  if (raw === '') return null
  switch (def?.type) {
    case 'integer':
    case 'number': {
      const n = Number(raw)
      return raw.trim() !== '' && Number.isFinite(n) ? n : raw
    }
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : raw
    default:
      return raw
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Places `raw` at `path` inside `node` (whose definition is `def`) and returns the updated node. */
function assign(node: unknown, def: FieldDef | undefined, path: string[], raw: string): unknown {
  const isList = def?.type === 'array' || def?.type === 'set'
  if (path.length === 0) {
    // A bare value for a list field is a one-element list; repeating the key appends.
    if (isList) return raw === '' ? null : [...(Array.isArray(node) ? node : []), coerce(def.elements, raw)]
    return coerce(def, raw)
  }
  const [token = '', ...rest] = path
  if (isList || (!def && (token === '' || /^\d+$/.test(token)))) {
    const list: unknown[] = Array.isArray(node) ? node : []
    // Indexed entries keep their order; `[]` appends.
    const at = token === '' ? list.length : Number(token)
    list[at] = assign(list[at], def?.elements, rest, raw)
    return list
  }
  const obj = isObject(node) ? node : {}
  const child = def?.type === 'record' ? def.fields?.[token] : def?.type === 'map' ? def.values : undefined
  obj[token] = assign(obj[token], child, rest, raw)
  return obj
}

/** Removes the holes left by 1-based or sparse indexes, recursively. */
function compact(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((_, i) => i in value).map(compact)
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, compact(v)]))
  return value
}

/** Decodes form fields (in order; keys may repeat) into an entity input shaped by its definition. */
export function decodeForm(def: EntityDef, fields: Iterable<[string, string]>): Record<string, unknown> {
  const root: Record<string, unknown> = {}
  for (const [key, raw] of fields) {
    const path = parseFormKey(key)
    if (path.length > MAX_KEY_DEPTH) throw badKey(key, `more than ${MAX_KEY_DEPTH} levels`)
    if (path.some((p) => /^\d+$/.test(p) && Number(p) > MAX_INDEX)) throw badKey(key, `index above ${MAX_INDEX}`)
    // Such keys would reach object prototypes; they are never fields.
    if (path.some((p) => p === '__proto__' || p === 'constructor' || p === 'prototype')) continue
    const [head = '', ...rest] = path
    root[head] = assign(root[head], def.fields[head], rest, raw)
  }
  return compact(root) as Record<string, unknown>
}

/**
 * Errors of a declarative config in Kong's shapes (`kong/db/errors.lua`): the nested `fields` tree mirroring the
 * input (`{services: [null, {host: "…"}]}`), and `flattened_errors`, one entry per failing entity.
 */
import type { EntityErrors } from '../schema/types.ts'

/** Where an entity sits in the input: `['services', 0, 'routes', 2]`. */
export type InputPath = readonly (string | number)[]

export interface FlatFieldError {
  type: 'field' | 'entity'
  field?: string
  message: string
}

/** One failing entity, as Kong's `?flatten_errors=1` reports it. */
export interface FlatEntityError {
  entity_type: string
  entity_name?: string
  entity_id?: string
  entity_tags?: string[]
  /** The entity as written in the input (nested children left out). */
  entity: Record<string, unknown>
  errors: FlatFieldError[]
}

export interface DeclarativeErrors {
  /** `declarative config is invalid: {…}` */
  message: string
  /** Kong's error tree, shaped like the input. */
  fields: EntityErrors
  flattened_errors: FlatEntityError[]
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Kong's `singular`: `services` → `service`, `acls` → `acl`. */
function singular(collection: string): string {
  return collection.endsWith('s') ? collection.slice(0, -1) : collection
}

function join(ns: string, field: string): string {
  return ns ? `${ns}.${field}` : field
}

/** Kong's categorize_errors: `@entity` messages, and field messages under dotted paths (array items 1-based). */
function categorize(errors: unknown, ns: string, out: FlatFieldError[]): void {
  if (typeof errors === 'string') {
    out.push(ns ? { type: 'field', field: ns, message: errors } : { type: 'entity', message: errors })
    return
  }
  if (Array.isArray(errors)) {
    errors.forEach((e, i) => {
      if (e !== undefined && e !== null) categorize(e, join(ns, String(i + 1)), out)
    })
    return
  }
  if (!errors || typeof errors !== 'object') return
  for (const [k, v] of Object.entries(errors as Record<string, unknown>)) {
    if (k === '@entity') {
      for (const m of Array.isArray(v) ? v : [v]) out.push({ type: 'entity', message: String(m) })
    } else categorize(v, join(ns, k), out)
  }
}

/** The flattened entry for one entity's errors. */
export function flatEntityError(
  collection: string,
  entity: Record<string, unknown>,
  errors: EntityErrors,
): FlatEntityError {
  const tags = entity.tags
  const errorList: FlatFieldError[] = []
  categorize(errors, '', errorList)
  // Kong's key order; the optional ones only when well-formed.
  return {
    entity_name: typeof entity.name === 'string' && entity.name ? entity.name : undefined,
    entity_id: typeof entity.id === 'string' && UUID.test(entity.id) ? entity.id : undefined,
    entity_tags: Array.isArray(tags) && tags.every((t) => typeof t === 'string') ? (tags as string[]) : undefined,
    entity_type: singular(collection),
    entity,
    errors: errorList,
  }
}

/** Places `errors` at `path` in Kong's tree (arrays keep the input's positions, holes are null). */
export function setErrorsAt(tree: EntityErrors, path: InputPath, errors: EntityErrors): void {
  let cur: Record<string | number, unknown> = tree
  for (let i = 0; i < path.length; i++) {
    const key = path[i]
    const last = i === path.length - 1
    const nextIsIndex = !last && typeof path[i + 1] === 'number'
    let next = cur[key]
    if (next === undefined || next === null) {
      next = last ? {} : nextIsIndex ? [] : {}
      cur[key] = next
    }
    if (last) {
      const target = next as Record<string, unknown>
      for (const [k, v] of Object.entries(errors)) {
        const old = target[k]
        target[k] = k === '@entity' && Array.isArray(old) && Array.isArray(v) ? [...old, ...v] : v
      }
    }
    cur = next as Record<string | number, unknown>
  }
  fillHoles(tree)
}

/** JSON has no sparse arrays: holes become null, as Kong's cjson renders them. */
function fillHoles(value: unknown): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (value[i] === undefined) value[i] = null
      else fillHoles(value[i])
    }
  } else if (value && typeof value === 'object') for (const v of Object.values(value)) fillHoles(v)
}

/** Lua-table rendering Kong's messages use (`pl.pretty.write(t, "")`). */
function luaTable(value: unknown): string {
  if (value === null || value === undefined) return 'nil'
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value !== 'object') return String(value)
  if (Array.isArray(value)) {
    const dense = value.every((v) => v !== null && v !== undefined)
    if (dense) return `{${value.map(luaTable).join(',')}}`
    return `{${value.flatMap((v, i) => (v === null || v === undefined ? [] : [`[${i + 1}]=${luaTable(v)}`])).join(',')}}`
  }
  const parts = Object.keys(value)
    .sort()
    .map((k) => {
      const key = /^[A-Za-z_]\w*$/.test(k) ? k : `[${JSON.stringify(k)}]`
      return `${key}=${luaTable((value as Record<string, unknown>)[k])}`
    })
  return `{${parts.join(',')}}`
}

/** Assembles the error report from the tree and the per-entity entries. */
export function declarativeErrors(fields: EntityErrors, flattened: FlatEntityError[]): DeclarativeErrors {
  return { message: `declarative config is invalid: ${luaTable(fields)}`, fields, flattened_errors: flattened }
}

/** One line per failing entity, for terminals and logs: `services 'example': host: required field missing`. */
export function describeDeclarativeErrors(errors: DeclarativeErrors): string[] {
  const lines: string[] = []
  for (const e of errors.flattened_errors) {
    const username = typeof e.entity.username === 'string' ? e.entity.username : undefined
    const who = e.entity_name ?? username ?? e.entity_id
    const label = who ? `${e.entity_type} '${who}'` : e.entity_type
    const parts = e.errors.map((f) => (f.field ? `${f.field}: ${f.message}` : f.message))
    lines.push(`${label}: ${parts.join('; ')}`)
  }
  // Errors outside any entity (the format version, an unknown top-level key, a parse failure).
  for (const [k, v] of Object.entries(errors.fields)) {
    if (typeof v === 'string') lines.push(k === 'error' ? v : `${k}: ${v}`)
  }
  return lines
}

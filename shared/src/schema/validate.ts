/** Validates input against a definition and fills defaults, producing Kong-shaped field errors. */
import type { EntityCheck, EntityDef, EntityErrors, FieldDef } from './types.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

type FieldResult = { value?: unknown; error?: unknown }

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: EntityErrors }

function typeError(def: FieldDef): string {
  switch (def.type) {
    case 'integer':
      return 'expected an integer'
    case 'number':
      return 'expected a number'
    case 'boolean':
      return 'expected a boolean'
    case 'string':
      return 'expected a string'
    case 'array':
      return 'expected an array'
    case 'set':
      return 'expected a set'
    case 'map':
      return 'expected a map'
    default:
      return 'expected a record'
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Validates one value; returns the normalized value or an error (string, or nested errors for records). */
export function validateField(def: FieldDef, value: unknown): FieldResult {
  switch (def.type) {
    case 'string': {
      if (typeof value !== 'string') return { error: typeError(def) }
      if (def.uuid && !UUID.test(value)) return { error: 'expected a valid UUID' }
      // Kong's strings are non-empty unless a definition says otherwise.
      const lenMin = def.len_min ?? 1
      if (value.length < lenMin) return { error: `length must be at least ${lenMin}` }
      if (def.len_max !== undefined && value.length > def.len_max)
        return { error: `length must be at most ${def.len_max}` }
      if (def.one_of && !def.one_of.includes(value)) return { error: `expected one of: ${def.one_of.join(', ')}` }
      if (def.starts_with !== undefined && !value.startsWith(def.starts_with))
        return { error: `should start with: ${def.starts_with}` }
      if (def.match !== undefined && !new RegExp(def.match, 'u').test(value))
        return { error: def.match_message ?? `invalid value: ${value}` }
      break
    }
    case 'integer':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value) || (def.type === 'integer' && !Number.isInteger(value)))
        return { error: typeError(def) }
      if (def.between && (value < def.between[0] || value > def.between[1]))
        return { error: `value should be between ${def.between[0]} and ${def.between[1]}` }
      if (def.gt !== undefined && value <= def.gt) return { error: `value must be greater than ${def.gt}` }
      if (def.one_of && !def.one_of.includes(value)) return { error: `expected one of: ${def.one_of.join(', ')}` }
      break
    }
    case 'boolean':
      if (typeof value !== 'boolean') return { error: typeError(def) }
      break
    case 'array':
    case 'set': {
      if (!Array.isArray(value)) {
        // Kong accepts an empty object as an empty array (Lua tables); so do we.
        if (isPlainObject(value) && Object.keys(value).length === 0) return { value: [] }
        return { error: typeError(def) }
      }
      if (def.len_min !== undefined && value.length < def.len_min)
        return { error: `length must be at least ${def.len_min}` }
      if (def.len_max !== undefined && value.length > def.len_max)
        return { error: `length must be at most ${def.len_max}` }
      const out: unknown[] = []
      const errors: unknown[] = []
      let failed = false
      for (const [i, item] of value.entries()) {
        const r: FieldResult = def.elements ? validateField(def.elements, item) : { value: item }
        if (r.error !== undefined) {
          failed = true
          errors[i] = r.error
        } else if (def.type === 'set' && out.some((o) => JSON.stringify(o) === JSON.stringify(r.value))) {
          // Sets drop duplicates silently, as Kong does.
        } else {
          out.push(r.value)
        }
      }
      if (failed) return { error: errors }
      return { value: out }
    }
    case 'record': {
      if (!isPlainObject(value)) return { error: typeError(def) }
      const r = validateRecord(def.fields ?? {}, value)
      if (!r.ok) return { error: r.errors }
      const errors = runChecks(def.checks ?? [], r.value)
      return errors ? { error: errors } : { value: r.value }
    }
    case 'map': {
      if (!isPlainObject(value)) return { error: typeError(def) }
      const out: Record<string, unknown> = {}
      const errors: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(value)) {
        if (def.keys) {
          const kr = validateField(def.keys, k)
          if (kr.error !== undefined) {
            errors[k] = kr.error
            continue
          }
        }
        const vr: FieldResult = def.values ? validateField(def.values, v) : { value: v }
        if (vr.error !== undefined) errors[k] = vr.error
        else out[k] = vr.value
      }
      return Object.keys(errors).length ? { error: errors } : { value: out }
    }
    case 'foreign': {
      if (!isPlainObject(value)) return { error: 'expected a record' }
      const keys = Object.keys(value)
      if (keys.length !== 1 || !('id' in value)) {
        // Name references ({name: …}) are resolved by the store before validation.
        if (keys.some((k) => k !== 'id')) return { error: { [keys.find((k) => k !== 'id') ?? '']: 'unknown field' } }
        return { error: { id: 'required field missing' } }
      }
      if (typeof value.id !== 'string' || !UUID.test(value.id)) return { error: { id: 'expected a valid UUID' } }
      return { value: { id: value.id.toLowerCase() } }
    }
    case 'json':
      break
  }
  if (def.custom) {
    const msg = def.custom(value)
    if (msg) return { error: msg }
  }
  return { value }
}

/** Validates a record's fields: unknown fields, required fields, defaults, per-field checks. */
export function validateRecord(
  fields: Record<string, FieldDef>,
  input: Record<string, unknown>,
): ValidationResult<Record<string, unknown>> {
  const errors: EntityErrors = {}
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(input)) if (!(key in fields)) errors[key] = 'unknown field'
  for (const [name, def] of Object.entries(fields)) {
    let v = input[name]
    if (v === undefined && def.default !== undefined) v = structuredClone(def.default)
    // Nested records are materialized so their own defaults apply, as Kong does.
    if (v === undefined && def.type === 'record' && def.fields) v = {}
    if (v === undefined || v === null) {
      if (def.required && !def.auto) errors[name] = 'required field missing'
      else out[name] = null
      continue
    }
    const r = validateField(def, v)
    if (r.error !== undefined) errors[name] = r.error
    else out[name] = r.value
  }
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, value: out }
}

/** Expands shorthands, validates fields, then runs entity checks. */
export function validateEntity(
  def: EntityDef,
  input: Record<string, unknown>,
): ValidationResult<Record<string, unknown>> {
  let source = input
  const shorthandErrors: EntityErrors = {}
  if (def.shorthands) {
    source = { ...input }
    for (const [key, expand] of Object.entries(def.shorthands)) {
      if (source[key] === undefined) continue
      const expanded = expand(source[key])
      delete source[key]
      if (typeof expanded === 'string') shorthandErrors[key] = expanded
      else Object.assign(source, expanded)
    }
  }
  const r = validateRecord(def.fields, source)
  if (!r.ok || Object.keys(shorthandErrors).length)
    return { ok: false, errors: { ...(r.ok ? {} : r.errors), ...shorthandErrors } }
  const errors = runChecks(def.checks ?? [], r.value)
  return errors ? { ok: false, errors } : r
}

/** Merges `source` errors into `target`: nested records merge, `@entity` lists concatenate. */
export function mergeErrors(target: EntityErrors, source: EntityErrors): void {
  for (const [k, v] of Object.entries(source)) {
    const t = target[k]
    if (k === '@entity' && Array.isArray(t) && Array.isArray(v)) target[k] = [...t, ...v]
    else if (isPlainObject(t) && isPlainObject(v)) mergeErrors(t, v)
    else target[k] = v
  }
}

/** Runs entity (or record) checks in order; undefined when all pass. */
function runChecks(checks: readonly EntityCheck[], value: Record<string, unknown>): EntityErrors | undefined {
  const errors: EntityErrors = {}
  for (const check of checks) {
    const res = check(value)
    if (typeof res === 'string') mergeErrors(errors, { '@entity': [res] })
    else if (res) mergeErrors(errors, res)
  }
  return Object.keys(errors).length ? errors : undefined
}

/** Flattens field errors into Kong's "(field: message; …)" summary parts. */
export function flattenErrors(errors: EntityErrors, prefix = ''): string[] {
  const out: string[] = []
  for (const [k, v] of Object.entries(errors)) {
    if (k === '@entity' && Array.isArray(v)) {
      out.push(...v.map(String))
      continue
    }
    const path = prefix ? `${prefix}.${k}` : k
    if (typeof v === 'string') out.push(`${path}: ${v}`)
    else if (Array.isArray(v))
      v.forEach((item, i) => {
        if (item === undefined || item === null) return
        if (typeof item === 'string') out.push(`${path}.${i + 1}: ${item}`)
        else out.push(...flattenErrors(item as EntityErrors, `${path}.${i + 1}`))
      })
    else if (v && typeof v === 'object') out.push(...flattenErrors(v as EntityErrors, path))
  }
  return out
}

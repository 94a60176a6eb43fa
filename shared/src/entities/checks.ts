/**
 * Kong's entity checks (`at_least_one_of`, `conditional` …) as composable rules with Kong's messages.
 * Field names may be dotted paths (`config.redis.host`); field errors nest accordingly.
 */
import type { EntityCheck, EntityErrors } from '../schema/types.ts'
import { mergeErrors } from '../schema/validate.ts'

/** What a failed rule reports: a message for `@entity`, and/or field errors. */
export interface CheckFailure {
  message?: string
  fields?: EntityErrors
}

export type Rule = (entity: Record<string, unknown>) => CheckFailure | undefined

export function getPath(obj: unknown, path: string): unknown {
  let cur = obj
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string, unknown>)[part]
  }
  return cur
}

function setPath(target: EntityErrors, path: string, value: unknown): void {
  const parts = path.split('.')
  let cur = target
  for (const part of parts.slice(0, -1)) {
    const next = cur[part]
    if (next === null || typeof next !== 'object') cur[part] = {}
    cur = cur[part] as EntityErrors
  }
  cur[parts[parts.length - 1]] = value
}

/** Kong's emptiness: null, absent, '' and empty arrays/objects are empty. */
export function isNonEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false
  if (Array.isArray(v)) return v.length > 0
  if (typeof v === 'object') return Object.keys(v).length > 0
  return true
}

const quoted = (names: readonly string[]) => names.map((n) => `'${n}'`).join(', ')

export function atLeastOneOf(names: readonly string[]): Rule {
  return (e) =>
    names.some((n) => isNonEmpty(getPath(e, n)))
      ? undefined
      : { message: `at least one of these fields must be non-empty: ${quoted(names)}` }
}

/** Exactly one must be set; skipped when all are absent (Kong leaves that to `at_least_one_of`). */
export function onlyOneOf(names: readonly string[]): Rule {
  return (e) => {
    const values = names.map((n) => getPath(e, n))
    if (values.every((v) => v === undefined || v === null)) return undefined
    return values.filter(isNonEmpty).length === 1
      ? undefined
      : { message: `only one of these fields must be non-empty: ${quoted(names)}` }
  }
}

export function mutuallyRequired(names: readonly string[]): Rule {
  return (e) => {
    const set = names.filter((n) => isNonEmpty(getPath(e, n))).length
    return set === 0 || set === names.length
      ? undefined
      : { message: `all or none of these fields must be set: ${quoted(names)}` }
  }
}

export function distinct(names: readonly string[]): Rule {
  return (e) => {
    const seen = new Set<string>()
    for (const n of names) {
      const v = getPath(e, n)
      if (!isNonEmpty(v)) continue
      const key = JSON.stringify(v)
      if (seen.has(key)) return { message: `values of these fields must be distinct: ${quoted(names)}` }
      seen.add(key)
    }
    return undefined
  }
}

export interface ConditionalSpec {
  if_field: string
  /** Whether the `if_field` value triggers the rule. */
  if_match: (value: unknown) => boolean
  then_field: string
  /** The `then_field` must be set. */
  then_required?: boolean
  /** Check on a present `then_field` value; returns the field's error message. */
  then_match?: (value: unknown) => string | undefined
}

/** Kong's `conditional`: the error lands on `then_field`, plus an `@entity` message naming `if_field`. */
export function conditional(spec: ConditionalSpec): Rule {
  return (e) => {
    if (!spec.if_match(getPath(e, spec.if_field))) return undefined
    const value = getPath(e, spec.then_field)
    let error: string | undefined
    if (value === undefined || value === null) error = spec.then_required ? 'required field missing' : undefined
    else error = spec.then_match?.(value)
    if (error === undefined) return undefined
    const fields: EntityErrors = {}
    setPath(fields, spec.then_field, error)
    return { message: `failed conditional validation given value of field '${spec.if_field}'`, fields }
  }
}

/** Equality and membership predicates for `if_match`. */
export const eq = (wanted: unknown) => (v: unknown) => v === wanted
export const oneOf =
  (options: readonly unknown[]) =>
  (v: unknown): string | undefined =>
    options.includes(v) ? undefined : `expected one of: ${options.join(', ')}`

/** Kong's `custom_entity_check`: a message for `@entity`. */
export function custom(fn: (entity: Record<string, unknown>) => string | undefined): Rule {
  return (e) => {
    const message = fn(e)
    return message === undefined ? undefined : { message }
  }
}

/** Runs rules in order and merges their failures into Kong's error shape (`@entity` list + field errors). */
export function runRules(rules: readonly Rule[], entity: Record<string, unknown>): EntityErrors | undefined {
  const messages: string[] = []
  const fields: EntityErrors = {}
  for (const rule of rules) {
    const f = rule(entity)
    if (!f) continue
    if (f.message !== undefined) messages.push(f.message)
    if (f.fields) mergeErrors(fields, f.fields)
  }
  if (!messages.length && !Object.keys(fields).length) return undefined
  return messages.length ? { '@entity': messages, ...fields } : fields
}

/** Folds rules into one EntityCheck (entity- or record-level). */
export function entityChecks(...rules: Rule[]): EntityCheck {
  return (entity) => runRules(rules, entity)
}

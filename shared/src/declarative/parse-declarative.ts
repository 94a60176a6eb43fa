/**
 * Kong's declarative config (`_format_version` 1.1/2.1/3.0, YAML or JSON) into flat, validated entities ready for
 * `sealSnapshot` (`kong/db/schema/others/declarative_config.lua`). Nested entities (routes under services, plugins
 * under services/routes/consumers, credentials under consumers, targets under upstreams, snis under certificates —
 * any child under any entity it has a foreign field to) are flattened; references by endpoint key or id are resolved
 * within the file, which is the whole config; entities without ids get deterministic ones (entity-id.ts). No I/O,
 * no database: both planes and the CLI use it.
 */
import { createHash } from 'node:crypto'
import { parse as parseYaml } from 'yaml'
import { publicEntities } from '../entities/index.ts'
import { validateInput } from '../entities/validate-input.ts'
import type { EntityDef, EntityErrors } from '../schema/types.ts'
import type { ConfigEntities, EntityRow } from '../snapshot/model.ts'
import { canonicalJson } from '../snapshot/model.ts'
import {
  type DeclarativeErrors,
  declarativeErrors,
  type FlatEntityError,
  flatEntityError,
  type InputPath,
  setErrorsAt,
} from './declarative-errors.ts'
import { declarativeId } from './entity-id.ts'

export const FORMAT_VERSIONS = ['1.1', '2.1', '3.0'] as const

/** A parsed, valid declarative config. */
export interface DeclarativeConfig {
  /** Every declarative collection (empty ones included), rows in Admin JSON shape (`service: {id}`), sorted by id. */
  entities: ConfigEntities
  format_version: string
  /** Kong's `_transform`: false says the file's credential secrets are already in their stored (hashed) form. */
  transform: boolean
  /** SHA-256 of the input as given; `POST /config?check_hash=1` compares it with the loaded config's. */
  hash: string
  /** What was accepted but not applied (`_workspace`, decK's `_info`, `ttl`). */
  warnings: string[]
}

export type DeclarativeParseResult = ({ ok: true } & DeclarativeConfig) | { ok: false; errors: DeclarativeErrors }

export interface DeclarativeParseOptions {
  /** Decides the syntax by extension (`.json`, `.yml`/`.yaml`) and names the file in parse errors. */
  filename?: string
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex')
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
// A placeholder reference while an unresolved one is reported, so validation does not add "required field missing".
const NIL_ID = '00000000-0000-0000-0000-000000000000'

function failure(fields: EntityErrors, flattened: FlatEntityError[] = []): DeclarativeParseResult {
  return { ok: false, errors: declarativeErrors(fields, flattened) }
}

/** Text to a document: JSON when the file says so (or looks like it, JSON being YAML too), else YAML 1.1 as lyaml. */
function decode(text: string, filename: string | undefined): unknown {
  const ext = filename?.toLowerCase().match(/\.(json|ya?ml)$/)?.[1]
  if (ext === 'json' || (ext === undefined && /^\s*\{/.test(text))) {
    try {
      return JSON.parse(text)
    } catch (err) {
      if (ext === 'json') throw err
    }
  }
  // YAML 1.1 as Kong's lyaml reads it (`yes`/`on` are booleans); duplicate keys and alias bombs are errors.
  return parseYaml(text, { version: '1.1', uniqueKeys: true, maxAliasCount: 100, prettyErrors: true })
}

/** The hash `?check_hash=1` compares: of the text as given, or of an already decoded document's canonical JSON. */
export function declarativeHash(input: string | Record<string, unknown>): string {
  return sha256(typeof input === 'string' ? input : canonicalJson(input))
}

/** Parses declarative config text (YAML or JSON) and loads it. */
export function parseDeclarative(text: string, options: DeclarativeParseOptions = {}): DeclarativeParseResult {
  let doc: unknown
  try {
    doc = decode(text, options.filename)
  } catch (err) {
    const where = options.filename ? ` file ${options.filename}` : ''
    return failure({ error: `failed parsing declarative configuration${where}: ${(err as Error).message}` })
  }
  return loadDeclarative(doc, { hash: declarativeHash(text) })
}

/** One entity found in the input, before and after validation. */
interface Item {
  def: EntityDef
  /** Its own keys: nested children, `_comment` and `_ignore` removed. */
  input: Record<string, unknown>
  /** Where it sits: the list's path and the index in it (joined only for errors). */
  list: InputPath
  index: number
  /** The entity it is nested under, and this entity's foreign field that points there. */
  parent?: { item: Item; field: string }
  errors: EntityErrors
  id: string
  row?: EntityRow
}

interface ChildLink {
  def: EntityDef
  field: string
}

/** For each collection, the collections that may nest under it (`services` → routes, plugins). */
function childLinks(defs: readonly EntityDef[]): Map<string, Map<string, ChildLink>> {
  const out = new Map<string, Map<string, ChildLink>>()
  for (const def of defs)
    for (const [field, f] of Object.entries(def.fields)) {
      if (f.type !== 'foreign' || !f.reference) continue
      let children = out.get(f.reference)
      if (!children) {
        children = new Map()
        out.set(f.reference, children)
      }
      if (!children.has(def.name)) children.set(def.name, { def, field })
    }
  return out
}

/** Referenced collections first, whatever the registry's order. */
function dependencyOrder(defs: readonly EntityDef[]): EntityDef[] {
  const byName = new Map(defs.map((d) => [d.name, d]))
  const out: EntityDef[] = []
  const seen = new Set<string>()
  const visit = (def: EntityDef) => {
    if (seen.has(def.name)) return
    seen.add(def.name)
    for (const f of Object.values(def.fields)) {
      const ref = f.type === 'foreign' && f.reference ? byName.get(f.reference) : undefined
      if (ref) visit(ref)
    }
    out.push(def)
  }
  for (const def of defs) visit(def)
  return out
}

/**
 * Kong's 3.0 path migration for 1.1/2.1 files: a path that is not plain (letters, digits, `.-_~/%`) was a regex,
 * which 3.0 marks with a leading `~`.
 */
function migrateRoutePaths(input: Record<string, unknown>): void {
  if (!Array.isArray(input.paths)) return
  input.paths = input.paths.map((p) =>
    typeof p === 'string' && !p.startsWith('~') && !/^[a-zA-Z0-9.\-_~/%]*$/.test(p) ? `~${p}` : p,
  )
}

/** Loads an already decoded declarative document (a `POST /config` JSON body, or what parseDeclarative read). */
export function loadDeclarative(doc: unknown, options: { hash?: string } = {}): DeclarativeParseResult {
  if (!isPlainObject(doc)) return failure({ error: 'failed parsing declarative configuration: expected an object' })
  const hash = options.hash ?? declarativeHash(doc)
  const defs = publicEntities
  const collections = new Map(defs.map((d) => [d.name, d]))
  const children = childLinks(defs)
  const warnings: string[] = []
  const topErrors: EntityErrors = {}

  // Top-level keys: the meta fields Kong knows, decK's, and one array per collection.
  const format = doc._format_version
  if (format === undefined || format === null) topErrors._format_version = 'required field missing'
  else if (typeof format !== 'string') topErrors._format_version = 'expected a string'
  else if (!(FORMAT_VERSIONS as readonly string[]).includes(format))
    topErrors._format_version = `expected one of: ${FORMAT_VERSIONS.join(', ')}`
  const transform = doc._transform ?? true
  if (typeof transform !== 'boolean') topErrors._transform = 'expected a boolean'
  for (const [k, v] of Object.entries(doc)) {
    if (k === '_format_version' || k === '_transform' || v === null) continue
    if (k === '_comment') {
      if (typeof v !== 'string') topErrors[k] = 'expected a string'
    } else if (k === '_ignore') {
      if (!Array.isArray(v)) topErrors[k] = 'expected an array'
    } else if (k === '_workspace') {
      if (typeof v !== 'string') topErrors[k] = 'expected a string'
      else if (v !== 'default') warnings.push(`_workspace '${v}' ignored: Turnpike has a single workspace`)
    } else if (k === '_info' || k === '_konnect') {
      warnings.push(`${k} ignored (decK metadata; select_tags and defaults are not applied)`)
    } else if (collections.has(k)) {
      if (!Array.isArray(v)) topErrors[k] = 'expected an array'
    } else topErrors[k] = 'unknown field'
  }

  // Walk the input, nested entities included, into per-collection lists.
  const items = new Map<string, Item[]>(defs.map((d) => [d.name, []]))
  const collect = (def: EntityDef, list: unknown[], path: InputPath, parent?: Item, parentField?: string) => {
    const kids = children.get(def.name)
    list.forEach((element, i) => {
      const errors: EntityErrors = {}
      let obj = element
      // A list of keys for children (`snis: [a.example]`, Kong's certificate shorthand).
      if (typeof element === 'string' && parent && def.endpoint_key) obj = { [def.endpoint_key]: element }
      const input: Record<string, unknown> = {}
      const nested: [ChildLink, unknown[], string][] = []
      if (!isPlainObject(obj)) errors['@entity'] = ['expected a record']
      else
        for (const [k, v] of Object.entries(obj)) {
          if (k === '_comment' || k === '_ignore') continue
          const kid = k in def.fields ? undefined : kids?.get(k)
          if (!kid) input[k] = v
          else if (Array.isArray(v)) nested.push([kid, v, k])
          else if (v !== null) errors[k] = 'expected an array'
        }
      if (parentField !== undefined) {
        // Kong's nested records: the link to the parent is implied and may not be given.
        if (input[parentField] !== undefined && input[parentField] !== null) errors[parentField] = 'value must be null'
        delete input[parentField]
      }
      if (def.ttl && 'ttl' in input) {
        warnings.push(`${def.name}: 'ttl' ignored; declarative entities do not expire`)
        delete input.ttl
      }
      const item: Item = {
        def,
        input,
        list: path,
        index: i,
        parent: parent && parentField !== undefined ? { item: parent, field: parentField } : undefined,
        errors,
        id: '',
      }
      items.get(def.name)?.push(item)
      for (const [kid, v, key] of nested) collect(kid.def, v, [...path, i, key], item, kid.field)
    })
  }
  for (const def of defs) {
    const list = doc[def.name]
    if (Array.isArray(list)) collect(def, list, [def.name])
  }

  // Resolve, validate and name each entity, referenced collections first.
  const byId = new Map<string, Map<string, Item>>(defs.map((d) => [d.name, new Map()]))
  const byKey = new Map<string, Map<string, Item>>(defs.map((d) => [d.name, new Map()]))
  const resolve = (collection: string, value: unknown): string | undefined => {
    const target = collections.get(collection)
    if (typeof value === 'string') {
      const hit = byKey.get(collection)?.get(value) ?? byId.get(collection)?.get(value.toLowerCase())
      return hit?.id
    }
    if (!isPlainObject(value)) return undefined
    if (typeof value.id === 'string') return byId.get(collection)?.get(value.id.toLowerCase())?.id
    const ek = target?.endpoint_key
    const keys = Object.keys(value)
    if (ek && keys.length === 1 && typeof value[ek] === 'string') return byKey.get(collection)?.get(value[ek])?.id
    return undefined
  }

  for (const def of dependencyOrder(defs)) {
    const foreign = Object.entries(def.fields).filter(([, f]) => f.type === 'foreign' && f.reference)
    const uniques = uniqueConstraints(def)
    const seen = uniques.map(() => new Map<string, Item>())
    const ids = byId.get(def.name) ?? new Map<string, Item>()
    const keys = byKey.get(def.name) ?? new Map<string, Item>()
    for (const item of items.get(def.name) ?? []) {
      const candidate: Record<string, unknown> = { ...item.input }
      if (def.name === 'routes' && format !== '3.0') migrateRoutePaths(candidate)
      const refErrors: string[] = []
      for (const [field, f] of foreign) {
        if (item.parent?.field === field) {
          candidate[field] = { id: item.parent.item.id }
          continue
        }
        const v = candidate[field]
        if (v === undefined || v === null) continue
        const id = resolve(f.reference as string, v)
        if (id) candidate[field] = { id }
        else {
          const shown = typeof v === 'string' ? v : JSON.stringify(v)
          refErrors.push(`invalid reference '${field}: ${shown}' (no such entry in '${f.reference}')`)
          candidate[field] = { id: NIL_ID }
        }
      }
      const r = validateInput(def, candidate)
      const errors: EntityErrors = { ...item.errors }
      if (!r.ok) Object.assign(errors, r.errors)
      if (refErrors.length) errors['@entity'] = [...((errors['@entity'] as string[] | undefined) ?? []), ...refErrors]

      const value = r.ok ? r.value : candidate
      const given = typeof value.id === 'string' && UUID.test(value.id) ? value.id.toLowerCase() : undefined
      item.id = given ?? declarativeId(def, value)
      if (r.ok && !Object.keys(errors).length) item.row = { ...r.value, id: item.id } as EntityRow

      // Within one file, as in one table: unique fields first (a duplicate name also duplicates the derived id).
      let duplicate: string | undefined
      uniques.forEach((fields, i) => {
        const tuple = uniqueTuple(def, fields, value)
        if (tuple === undefined || duplicate) return
        if (seen[i]?.has(tuple))
          duplicate = `uniqueness violation: '${def.name}' entity with ${fields.join(', ')} set to '${tuple}' already declared`
        else seen[i]?.set(tuple, item)
      })
      if (!duplicate && ids.has(item.id))
        duplicate = `uniqueness violation: '${def.name}' entity with primary key set to '${item.id}' already declared`
      if (duplicate) {
        errors['@entity'] = [...((errors['@entity'] as string[] | undefined) ?? []), duplicate]
        item.row = undefined
      }
      if (!ids.has(item.id)) ids.set(item.id, item)
      const ek = def.endpoint_key ? value[def.endpoint_key] : undefined
      if (typeof ek === 'string' && !keys.has(ek)) keys.set(ek, item)
      item.errors = errors
    }
  }

  const tree: EntityErrors = { ...topErrors }
  const flattened: FlatEntityError[] = []
  const entities: ConfigEntities = {}
  for (const def of defs) {
    const rows: EntityRow[] = []
    for (const item of items.get(def.name) ?? []) {
      if (Object.keys(item.errors).length) {
        setErrorsAt(tree, [...item.list, item.index], item.errors)
        flattened.push(flatEntityError(def.name, item.input, item.errors))
      } else if (item.row) rows.push(item.row)
    }
    entities[def.name] = rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }
  if (Object.keys(tree).length) return failure(tree, flattened)
  return { ok: true, entities, format_version: format as string, transform: transform as boolean, hash, warnings }
}

/** Single unique fields, then `unique_together` sets, each as a list of field names. */
export function uniqueConstraints(def: EntityDef): string[][] {
  const out: string[][] = []
  for (const [name, f] of Object.entries(def.fields)) if (f.unique && name !== 'id') out.push([name])
  for (const set of def.unique_together ?? []) out.push([...set])
  return out
}

/** The constraint's values as one string; undefined when a single field is unset (nulls never collide). */
export function uniqueTuple(def: EntityDef, fields: string[], row: Record<string, unknown>): string | undefined {
  const parts: string[] = []
  for (const name of fields) {
    const v = row[name]
    if (v === null || v === undefined) {
      if (fields.length === 1) return undefined
      parts.push('')
    } else parts.push(def.fields[name]?.type === 'foreign' ? String((v as { id?: unknown }).id ?? '') : String(v))
  }
  return parts.join(', ')
}

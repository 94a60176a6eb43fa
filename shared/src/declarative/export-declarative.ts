/**
 * A config as a `_format_version: "3.0"` file, nested as decK writes it: an entity whose only reference is to one
 * parent sits under that parent (routes under services, plugins under their single scope, credentials under
 * consumers, targets under upstreams, snis under certificates); anything else is top level and names its
 * references by endpoint key (or id). Collections follow the registry; entities are sorted by endpoint key, then
 * name, then id. Timestamps, default values, nulls and empty lists are left out, and so are ids that an import
 * would derive again (entity-id.ts), so export → import → export is byte-identical.
 */
import { publicEntities } from '../entities/index.ts'
import { concreteEntityDef } from '../plugins/plugin-entity.ts'
import type { EntityDef, FieldDef } from '../schema/types.ts'
import type { ConfigEntities, EntityRow } from '../snapshot/model.ts'
import { canonicalJson } from '../snapshot/model.ts'
import { BOOKKEEPING_FIELDS } from './compare-entities.ts'
import { declarativeId, identityKey } from './entity-id.ts'
import { writeYaml } from './yaml-writer.ts'

export interface ExportOptions {
  /** `yaml` (default) or `json`. */
  format?: 'yaml' | 'json'
}

function isEmpty(v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0
  return typeof v === 'object' && v !== null && Object.keys(v).length === 0
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The fields of a record worth writing: an import fills the rest back in the same way. */
function stripRecord(fields: Record<string, FieldDef>, value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, v] of Object.entries(value)) {
    const f = fields[name]
    if (!f) {
      out[name] = v
      continue
    }
    const kept = stripValue(f, v)
    if (kept !== undefined) out[name] = kept
  }
  return out
}

/** The value to write for a field, or undefined to leave it out. */
function stripValue(f: FieldDef, v: unknown): unknown {
  if (v === null || v === undefined) {
    // An explicit null survives only where an import would otherwise fill something in.
    const filled = (f.default !== undefined && f.default !== null) || (f.type === 'record' && f.fields)
    return filled ? null : undefined
  }
  if (f.auto) return v
  if (f.default !== undefined && canonicalJson(v) === canonicalJson(f.default)) return undefined
  if (f.type === 'record' && f.fields && isPlainObject(v)) {
    const inner = stripRecord(f.fields, v)
    return Object.keys(inner).length ? inner : undefined
  }
  if ((f.default === undefined || f.default === null) && isEmpty(v)) return undefined
  return v
}

interface Index {
  rows: Map<string, Map<string, EntityRow>>
}

function refId(v: unknown): string | undefined {
  return isPlainObject(v) && typeof v.id === 'string' ? v.id : undefined
}

/** How a reference is written at top level: the target's endpoint key when it names it uniquely, else its id. */
function reference(index: Index, def: EntityDef | undefined, id: string): string {
  const target = def ? index.rows.get(def.name)?.get(id) : undefined
  const ek = def?.endpoint_key
  const f = ek ? def?.fields[ek] : undefined
  const key = ek && target ? target[ek] : undefined
  return f?.unique && !f.hashed && typeof key === 'string' ? key : id
}

function sortKey(def: EntityDef, row: EntityRow): string {
  const ek = def.endpoint_key ? row[def.endpoint_key] : undefined
  if (typeof ek === 'string' && !def.fields[def.endpoint_key ?? '']?.hashed) return `0${ek}`
  const name = row.name
  return typeof name === 'string' ? `1${name}` : '2'
}

function sorted(def: EntityDef, rows: EntityRow[]): EntityRow[] {
  return rows
    .map((row) => ({ row, key: sortKey(def, row) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.row.id < b.row.id ? -1 : a.row.id > b.row.id ? 1 : 0))
    .map((x) => x.row)
}

/** The single foreign field a row points through, when it has exactly one set and its target is exported. */
function nestingField(def: EntityDef, row: EntityRow, index: Index): string | undefined {
  let found: string | undefined
  for (const [name, f] of Object.entries(def.fields)) {
    if (f.type !== 'foreign') continue
    const id = refId(row[name])
    if (!id) continue
    if (found !== undefined) return undefined
    if (!f.reference || !index.rows.get(f.reference)?.has(id)) return undefined
    found = name
  }
  return found
}

/** The declarative document for `entities`, as a plain object (what exportDeclarative writes). */
export function declarativeDocument(entities: ConfigEntities): Record<string, unknown> {
  const defs = publicEntities
  const index: Index = {
    rows: new Map(defs.map((d) => [d.name, new Map((entities[d.name] ?? []).map((r) => [r.id, r]))])),
  }
  // children.get(parentCollection).get(parentId) → [childDef, rows][]
  const nested = new Map<string, Map<string, Map<string, EntityRow[]>>>()
  const topLevel = new Map<string, EntityRow[]>()
  const nestedBy = new Map<EntityRow, string>()
  for (const def of defs) {
    const top: EntityRow[] = []
    for (const row of entities[def.name] ?? []) {
      const field = nestingField(def, row, index)
      const parentId = field ? refId(row[field]) : undefined
      const parentCollection = field ? def.fields[field]?.reference : undefined
      if (!field || !parentId || !parentCollection) {
        top.push(row)
        continue
      }
      nestedBy.set(row, field)
      let byParent = nested.get(parentCollection)
      if (!byParent) {
        byParent = new Map()
        nested.set(parentCollection, byParent)
      }
      let kids = byParent.get(parentId)
      if (!kids) {
        kids = new Map()
        byParent.set(parentId, kids)
      }
      const list = kids.get(def.name)
      if (list) list.push(row)
      else kids.set(def.name, [row])
    }
    topLevel.set(def.name, top)
  }

  const entityDoc = (def: EntityDef, row: EntityRow): Record<string, unknown> => {
    const out: Record<string, unknown> = {}
    const key = identityKey(def, row)
    if (key.startsWith('content:') || declarativeId(def, row) !== row.id) out.id = row.id
    const ek = def.endpoint_key
    if (ek && row[ek] !== null && row[ek] !== undefined) out[ek] = row[ek]
    const parentField = nestedBy.get(row)
    // A plugin's config and protocol defaults are its own, not the generic entity's.
    for (const [name, f] of Object.entries(concreteEntityDef(def, row.name).fields)) {
      if (name === 'id' || name === ek || name === parentField || BOOKKEEPING_FIELDS.has(name)) continue
      const v = row[name]
      if (f.type === 'foreign') {
        const id = refId(v)
        if (id)
          out[name] = reference(
            index,
            publicEntities.find((d) => d.name === f.reference),
            id,
          )
        continue
      }
      const kept = stripValue(f, v)
      if (kept !== undefined) out[name] = kept
    }
    const kids = nested.get(def.name)?.get(row.id)
    if (kids)
      for (const child of defs) {
        const list = kids.get(child.name)
        if (list?.length) out[child.name] = sorted(child, list).map((r) => entityDoc(child, r))
      }
    return out
  }

  const doc: Record<string, unknown> = { _format_version: '3.0' }
  for (const def of defs) {
    const top = topLevel.get(def.name) ?? []
    if (top.length) doc[def.name] = sorted(def, top).map((r) => entityDoc(def, r))
  }
  return doc
}

/** Writes `entities` as a declarative file (YAML unless asked for JSON). */
export function exportDeclarative(entities: ConfigEntities, options: ExportOptions = {}): string {
  const doc = declarativeDocument(entities)
  return options.format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : writeYaml(doc)
}

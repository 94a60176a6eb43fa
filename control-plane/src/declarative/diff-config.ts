/** What turning one config into another takes, per collection: entities to create, update (which fields), delete. */
import type { ConfigEntities, EntityDef, EntityRow } from '@turnpike/shared'
import { changedFields, publicEntities } from '@turnpike/shared'

export interface EntityUpdate {
  before: EntityRow
  after: EntityRow
  /** Changed fields, in definition order. */
  fields: string[]
}

export interface CollectionDiff {
  collection: string
  create: EntityRow[]
  update: EntityUpdate[]
  delete: EntityRow[]
}

/** Every declarative collection in registry (dependency) order, empty ones included. */
export interface ConfigDiff {
  collections: CollectionDiff[]
}

export interface DiffOptions {
  /** Fields not to compare, by collection (a remote diff cannot compare plaintext secrets with hashed ones). */
  ignore?: (def: EntityDef, before: EntityRow, after: EntityRow) => readonly string[]
}

/** Entities are matched by id; timestamps do not count as changes. */
export function diffConfig(current: ConfigEntities, desired: ConfigEntities, options: DiffOptions = {}): ConfigDiff {
  const collections: CollectionDiff[] = []
  for (const def of publicEntities) {
    const before = new Map((current[def.name] ?? []).map((r) => [r.id, r]))
    const d: CollectionDiff = { collection: def.name, create: [], update: [], delete: [] }
    const seen = new Set<string>()
    for (const row of desired[def.name] ?? []) {
      seen.add(row.id)
      const old = before.get(row.id)
      if (!old) {
        d.create.push(row)
        continue
      }
      let fields = changedFields(def, old, row)
      const ignored = options.ignore?.(def, old, row)
      if (ignored?.length) fields = fields.filter((f) => !ignored.includes(f))
      if (fields.length) d.update.push({ before: old, after: row, fields })
    }
    for (const row of current[def.name] ?? []) if (!seen.has(row.id)) d.delete.push(row)
    collections.push(d)
  }
  return { collections }
}

export function diffCounts(diff: ConfigDiff): { create: number; update: number; delete: number } {
  const out = { create: 0, update: 0, delete: 0 }
  for (const c of diff.collections) {
    out.create += c.create.length
    out.update += c.update.length
    out.delete += c.delete.length
  }
  return out
}

export function hasDrift(diff: ConfigDiff): boolean {
  const n = diffCounts(diff)
  return n.create + n.update + n.delete > 0
}

/** Names entities for people: endpoint key or name, else id; plus the parent for entities named only within one. */
function labeller(configs: ConfigEntities[]): (def: EntityDef, row: EntityRow) => string {
  const byId = new Map<string, EntityRow>()
  for (const config of configs) for (const rows of Object.values(config)) for (const r of rows) byId.set(r.id, r)
  const defs = new Map(publicEntities.map((d) => [d.name, d]))
  const own = (def: EntityDef, row: EntityRow): { text: string; unique: boolean } => {
    const ek = def.endpoint_key
    const f = ek ? def.fields[ek] : undefined
    const v = ek ? row[ek] : undefined
    if (typeof v === 'string' && !f?.hashed) return { text: v, unique: f?.unique === true }
    for (const name of ['name', 'username', 'group']) {
      const s = row[name]
      if (typeof s === 'string' && def.fields[name]) return { text: s, unique: def.fields[name]?.unique === true }
    }
    return { text: row.id, unique: false }
  }
  return (def, row) => {
    const { text, unique } = own(def, row)
    if (unique) return text
    const scopes: string[] = []
    for (const [name, f] of Object.entries(def.fields)) {
      const id = f.type === 'foreign' ? (row[name] as { id?: string } | null)?.id : undefined
      const target = id ? byId.get(id) : undefined
      const targetDef = f.reference ? defs.get(f.reference) : undefined
      if (id) scopes.push(`${name} ${target && targetDef ? own(targetDef, target).text : id}`)
    }
    return scopes.length ? `${text} (${scopes.join(', ')})` : text
  }
}

/** `+ services example`, `~ routes r1 (paths)`, `- consumers bob`: creates and updates first, deletes last. */
export function formatDiff(diff: ConfigDiff, context: ConfigEntities[] = []): string[] {
  const label = labeller(context)
  const defs = new Map(publicEntities.map((d) => [d.name, d]))
  const lines: string[] = []
  for (const c of diff.collections) {
    const def = defs.get(c.collection)
    if (!def) continue
    for (const row of c.create) lines.push(`+ ${c.collection} ${label(def, row)}`)
    for (const u of c.update) lines.push(`~ ${c.collection} ${label(def, u.after)} (${u.fields.join(', ')})`)
  }
  for (const c of [...diff.collections].reverse()) {
    const def = defs.get(c.collection)
    if (def) for (const row of c.delete) lines.push(`- ${c.collection} ${label(def, row)}`)
  }
  return lines
}

/** `2 to create, 1 to update, 0 to delete` (or the past tense once applied). */
export function summarizeDiff(diff: ConfigDiff, applied = false): string {
  const n = diffCounts(diff)
  const verb = applied ? ['created', 'updated', 'deleted'] : ['to create', 'to update', 'to delete']
  return `${n.create} ${verb[0]}, ${n.update} ${verb[1]}, ${n.delete} ${verb[2]}`
}

/**
 * Deterministic ids for declarative entities that carry none, so importing the same file twice changes nothing.
 * Kong's scheme (`declarative_config.lua` generate_ids): a UUID v5 per collection namespace over the endpoint key
 * or cache key, so named entities get the very ids Kong (and decK) would give them.
 */
import { createHash } from 'node:crypto'
import type { EntityDef } from '../schema/types.ts'
import { canonicalJson } from '../snapshot/model.ts'

/** Kong's root namespace for declarative entity ids. */
const KONG_ENTITIES_NAMESPACE = 'fd02801f-0957-4a15-a55a-c8d9606f30b5'

const namespaceBytes = new Map<string, Buffer>()

function uuidBytes(uuid: string): Buffer {
  let bytes = namespaceBytes.get(uuid)
  if (!bytes) {
    bytes = Buffer.from(uuid.replace(/-/g, ''), 'hex')
    namespaceBytes.set(uuid, bytes)
  }
  return bytes
}

/** RFC 4122 version-5 (SHA-1, name-based) UUID of `name` in `namespace`. */
export function uuidV5(namespace: string, name: string): string {
  const hash = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest()
  hash[6] = (hash[6] & 0x0f) | 0x50
  hash[8] = (hash[8] & 0x3f) | 0x80
  const h = hash.subarray(0, 16).toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

const namespaces = new Map<string, string>()

function collectionNamespace(collection: string): string {
  let ns = namespaces.get(collection)
  if (!ns) {
    ns = uuidV5(KONG_ENTITIES_NAMESPACE, collection)
    namespaces.set(collection, ns)
  }
  return ns
}

function foreignId(v: unknown): string {
  return (v as { id?: string } | null)?.id ?? ''
}

/**
 * The key an entity's id derives from, given its validated fields (foreign fields as `{id}`):
 * - the endpoint key (`name`, `username` …); when that is not globally unique (a target's address), suffixed with
 *   the ids of its cascading parents, as Kong does;
 * - else the first `unique_together` set (Kong's cache_key: `plugins:rate-limiting:<route>:<service>:<consumer>`);
 * - else a single unique field (`custom_id:…`, a CA's `cert_digest:…`);
 * - else the canonical content, so an unnamed entity keeps its id as long as it is unchanged.
 */
export function identityKey(def: EntityDef, entity: Record<string, unknown>): string {
  const ek = def.endpoint_key
  const ekValue = ek ? entity[ek] : undefined
  if (ek && typeof ekValue === 'string') {
    if (def.fields[ek]?.unique) return ekValue
    let key = ekValue
    for (const [name, f] of Object.entries(def.fields))
      if (f.type === 'foreign' && f.on_delete === 'cascade') key += `:${foreignId(entity[name])}`
    return key
  }
  const together = def.unique_together?.[0]
  if (together) {
    const parts = together.map((name) => {
      const v = entity[name]
      if (def.fields[name]?.type === 'foreign') return foreignId(v)
      return v === null || v === undefined ? '' : String(v)
    })
    return [def.name, ...parts].join(':')
  }
  for (const [name, f] of Object.entries(def.fields)) {
    if (!f.unique || f.type === 'foreign' || name === ek) continue
    const v = entity[name]
    if (typeof v === 'string') return `${name}:${v}`
  }
  const { id: _id, created_at: _c, updated_at: _u, ...content } = entity
  return `content:${canonicalJson(content)}`
}

/** The id an entity without one gets in a declarative file. */
export function declarativeId(def: EntityDef, entity: Record<string, unknown>): string {
  return uuidV5(collectionNamespace(def.name), identityKey(def, entity))
}

/** The config snapshot both planes agree on: a version, a canonical hash, per-part hashes and the entities. */
import { createHash } from 'node:crypto'
import { gunzipSync, gzipSync } from 'node:zlib'
import { entities as entityDefs } from '../entities/index.ts'
import { compareIds, partHashOf, registerRows, rowDigestString, writeDigests } from './digests.ts'

export type EntityRow = Record<string, unknown> & { id: string }

/** Entities keyed by collection name (`services`, `routes` …), each sorted by id. */
export type ConfigEntities = Record<string, EntityRow[]>

export interface Snapshot {
  version: number
  hash: string
  part_hashes: Record<string, string>
  entities: ConfigEntities
}

/** JSON with object keys sorted, so equal content always encodes (and hashes) the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const obj = value as Record<string, unknown>
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex')
}

/** Collections in the snapshot, in the registry's dependency order. */
export function snapshotCollections(): string[] {
  return entityDefs.filter((d) => d.in_snapshot).map((d) => d.name)
}

/**
 * Sorts each collection by id and computes the per-part and whole-config hashes. A part hash is the sha256 of
 * its rows' sha256 digests (digests.ts), so deltas re-hash only the rows they touch; a collection that is
 * already sealed (shared with an earlier snapshot) is reused as it is.
 */
export function sealSnapshot(version: number, input: ConfigEntities): Snapshot {
  const entities: ConfigEntities = {}
  const part_hashes: Record<string, string> = {}
  for (const name of snapshotCollections()) {
    const given = input[name] ?? []
    let rows = given
    let part = partHashOf(given)
    if (part === undefined) {
      rows = [...given].sort((a, b) => compareIds(a.id, b.id))
      part = registerRows(rows, writeDigests(rows.map((row) => rowDigestString(canonicalJson(row)))))
    }
    entities[name] = rows
    part_hashes[name] = part
  }
  return { version, hash: configHash(part_hashes), part_hashes, entities }
}

/** The whole-config hash: sha256 over the part hashes, in collection order. */
export function configHash(part_hashes: Record<string, string>): string {
  return sha256(
    snapshotCollections()
      .map((n) => part_hashes[n])
      .join(':'),
  )
}

/** The payload shipped on the wire: gzip of the canonical JSON entities. */
export function encodeEntities(entities: ConfigEntities): Uint8Array {
  return gzipSync(canonicalJson(entities))
}

export function decodeEntities(payload: Uint8Array): ConfigEntities {
  return JSON.parse(gunzipSync(payload).toString('utf8')) as ConfigEntities
}

/** A live source of snapshots: the control plane's builder exposes one; data planes consume it in-process or over gRPC. */
export interface SnapshotFeed {
  current(): Snapshot | undefined
  /** Calls `listener` with every new snapshot; returns an unsubscribe function. */
  subscribe(listener: (snapshot: Snapshot) => void): () => void
}

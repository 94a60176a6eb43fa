/** The config snapshot both planes agree on: a version, a canonical hash, per-part hashes and the entities. */
import { createHash } from 'node:crypto'
import { gunzipSync, gzipSync } from 'node:zlib'
import { entities as entityDefs } from '../entities/index.ts'

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

/** Sorts each collection by id and computes the per-part and whole-config hashes. */
export function sealSnapshot(version: number, input: ConfigEntities): Snapshot {
  const entities: ConfigEntities = {}
  const part_hashes: Record<string, string> = {}
  for (const name of snapshotCollections()) {
    const rows = [...(input[name] ?? [])].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    entities[name] = rows
    part_hashes[name] = sha256(canonicalJson(rows))
  }
  const hash = sha256(
    snapshotCollections()
      .map((n) => part_hashes[n])
      .join(':'),
  )
  return { version, hash, part_hashes, entities }
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

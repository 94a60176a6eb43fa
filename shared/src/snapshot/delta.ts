/**
 * Deltas between sealed snapshots: per-collection upserts and deletes by id. The control plane diffs consecutive
 * snapshots into a change log; a data plane applies a delta to the config it holds and re-seals it, re-hashing
 * only the rows the delta touches.
 */
import { compareIds, DIGEST_BYTES, digestsOf, registerRows, rowDigestString, writeDigests } from './digests.ts'
import { type ConfigEntities, canonicalJson, type EntityRow, type Snapshot, sealSnapshot } from './model.ts'

export interface CollectionChanges {
  /** Rows inserted or replaced, in id order. */
  upserts: EntityRow[]
  /** Digests of `upserts` (32 bytes each, same order) when already known; computed otherwise. */
  digests?: Buffer
  /** Ids removed, in id order. */
  deletes: string[]
}

/** Changes keyed by collection; collections without changes are absent. */
export type ConfigChanges = Record<string, CollectionChanges>

/** Runs `fn` cooperatively: `tick()` resolves after yielding to the event loop once a slice of work is used up. */
export function cooperative(sliceMs = 8): () => Promise<void> | undefined {
  let sliceStart = performance.now()
  return () => {
    if (performance.now() - sliceStart < sliceMs) return undefined
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        sliceStart = performance.now()
        resolve()
      }),
    )
  }
}

function sealedDigests(rows: readonly EntityRow[]): Buffer {
  const d = digestsOf(rows)
  if (!d) throw new Error('snapshot collections must be sealed (sealSnapshot) before diffing')
  return d
}

/** What changed from `prev` to `next`: only collections whose part hash differs are walked. */
export function diffSnapshots(prev: Snapshot, next: Snapshot): ConfigChanges {
  const out: ConfigChanges = {}
  for (const [name, rows] of Object.entries(next.entities)) {
    if (prev.part_hashes[name] === next.part_hashes[name]) continue
    const before = prev.entities[name] ?? []
    const [da, db] = [before.length ? sealedDigests(before) : Buffer.alloc(0), sealedDigests(rows)]
    const upserts: EntityRow[] = []
    const upsertDigests: Buffer[] = []
    const deletes: string[] = []
    let i = 0
    let j = 0
    while (i < before.length || j < rows.length) {
      const c = i >= before.length ? 1 : j >= rows.length ? -1 : compareIds(before[i]!.id, rows[j]!.id)
      if (c < 0) deletes.push(before[i++]!.id)
      else {
        const changed =
          c > 0 || da.compare(db, j * DIGEST_BYTES, (j + 1) * DIGEST_BYTES, i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES)
        if (changed) {
          upserts.push(rows[j]!)
          upsertDigests.push(db.subarray(j * DIGEST_BYTES, (j + 1) * DIGEST_BYTES))
        }
        if (c === 0) i++
        j++
      }
    }
    if (upserts.length || deletes.length) out[name] = { upserts, digests: Buffer.concat(upsertDigests), deletes }
  }
  return out
}

/** The index of the row with `id` in `rows` (in id order), or -1. */
function indexOf(rows: readonly EntityRow[], id: string): number {
  const at = lowerBound(rows, id, 0)
  return at < rows.length && rows[at]!.id === id ? at : -1
}

/**
 * What changed from `prev` to `next` among the rows `touched` names (a builder's changed ids): a precise diff in
 * O(touched · log n), where diffSnapshots walks whole collections. Rows written but left equal drop out.
 */
export function diffTouched(prev: Snapshot, next: Snapshot, touched: ConfigChanges): ConfigChanges {
  const out: ConfigChanges = {}
  for (const [name, t] of Object.entries(touched)) {
    if (prev.part_hashes[name] === next.part_hashes[name]) continue
    const [before, after] = [prev.entities[name] ?? [], next.entities[name] ?? []]
    const [da, db] = [before.length ? sealedDigests(before) : undefined, sealedDigests(after)]
    const ids = [...new Set([...t.upserts.map((r) => r.id), ...t.deletes])].sort(compareIds)
    const upserts: EntityRow[] = []
    const deletes: string[] = []
    for (const id of ids) {
      const [i, j] = [indexOf(before, id), indexOf(after, id)]
      if (j < 0) {
        if (i >= 0) deletes.push(id)
        continue
      }
      const same =
        i >= 0 &&
        da!.compare(db, j * DIGEST_BYTES, (j + 1) * DIGEST_BYTES, i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES) === 0
      if (!same) upserts.push(after[j]!)
    }
    if (upserts.length || deletes.length) out[name] = { upserts, deletes }
  }
  return out
}

/** `first` followed by `then`, as one set of changes (a later upsert or delete of an id wins). */
export function composeChanges(first: ConfigChanges, then: ConfigChanges): ConfigChanges {
  const out: ConfigChanges = { ...first }
  for (const [name, later] of Object.entries(then)) {
    const earlier = first[name]
    if (!earlier) {
      out[name] = later
      continue
    }
    const byId = new Map<string, EntityRow | null>()
    for (const id of earlier.deletes) byId.set(id, null)
    for (const row of earlier.upserts) byId.set(row.id, row)
    for (const id of later.deletes) byId.set(id, null)
    for (const row of later.upserts) byId.set(row.id, row)
    const ids = [...byId.keys()].sort(compareIds)
    out[name] = {
      upserts: ids.flatMap((id) => byId.get(id) ?? []),
      deletes: ids.filter((id) => byId.get(id) === null),
    }
  }
  return out
}

/** Number of rows a set of changes touches. */
export function changeCount(changes: ConfigChanges): number {
  let n = 0
  for (const c of Object.values(changes)) n += c.upserts.length + c.deletes.length
  return n
}

function checkOrder(name: string, what: string, ids: readonly string[]): void {
  for (let k = 1; k < ids.length; k++)
    if (compareIds(ids[k - 1]!, ids[k]!) >= 0)
      throw new Error(`${name}: ${what} are not in strictly increasing id order`)
}

/** First index in `rows` at or after `from` whose id is not below `id` (rows are in id order). */
function lowerBound(rows: readonly EntityRow[], id: string, from: number): number {
  let [lo, hi] = [from, rows.length]
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (rows[mid]!.id < id) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Applies `changes` to a sealed snapshot and seals the result as `version`. Untouched collections are shared with
 * `base`; in a touched one, the runs of rows between changes are copied whole, so a one-row change to a 100k-row
 * collection costs a copy, not 100k steps (yielding to the event loop between slices of work). Throws when the
 * changes are out of order or name a collection the snapshot does not have.
 */
export async function applyChanges(base: Snapshot, changes: ConfigChanges, version: number): Promise<Snapshot> {
  const tick = cooperative()
  const entities: ConfigEntities = { ...base.entities }
  for (const [name, change] of Object.entries(changes)) {
    const before = base.entities[name]
    if (!before) throw new Error(`unknown collection '${name}'`)
    const { upserts, deletes } = change
    checkOrder(
      name,
      'upserts',
      upserts.map((r) => r.id),
    )
    checkOrder(name, 'deletes', deletes)
    const upsertDigests = change.digests ?? writeDigests(upserts.map((row) => rowDigestString(canonicalJson(row))))
    if (before.length === 0 && deletes.length === 0) {
      // A whole collection (a full snapshot): the upserts are the collection.
      const rows = [...upserts]
      registerRows(rows, upsertDigests)
      entities[name] = rows
      continue
    }
    const oldDigests = before.length ? sealedDigests(before) : Buffer.alloc(0)
    const rows: EntityRow[] = []
    const digests = Buffer.allocUnsafe((before.length + upserts.length) * DIGEST_BYTES)
    /** Copies before[from, to) whole. */
    const keep = (from: number, to: number) => {
      oldDigests.copy(digests, rows.length * DIGEST_BYTES, from * DIGEST_BYTES, to * DIGEST_BYTES)
      for (let k = from; k < to; k++) rows.push(before[k]!)
    }
    let i = 0
    let u = 0
    let d = 0
    for (let step = 0; u < upserts.length || d < deletes.length; step++) {
      if ((step & 0x3f) === 0) await tick()
      const up = upserts[u]
      const del = deletes[d]
      // The next change by id; an upsert wins over a delete of the same id.
      const id = up && (del === undefined || up.id <= del) ? up.id : del!
      const at = lowerBound(before, id, i)
      keep(i, at)
      const present = at < before.length && before[at]!.id === id
      i = present ? at + 1 : at
      if (up && up.id === id) {
        upsertDigests.copy(digests, rows.length * DIGEST_BYTES, u * DIGEST_BYTES, (u + 1) * DIGEST_BYTES)
        rows.push(up)
        u++
      }
      if (del === id) d++
    }
    keep(i, before.length)
    const used = rows.length * DIGEST_BYTES
    registerRows(rows, used === digests.length ? digests : Buffer.from(digests.subarray(0, used)))
    entities[name] = rows
  }
  return sealSnapshot(version, entities)
}

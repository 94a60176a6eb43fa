/**
 * A snapshot cut into the messages a worker receives, serialized once for every worker: JSON text copies into a
 * worker's heap as one string, and the worker parses a chunk per event-loop turn.
 */
import type { Snapshot } from '@turnpike/shared'
import { ROWS_PER_MESSAGE } from './protocol.ts'

const cache = new WeakMap<Snapshot, Map<string, string[]>>()

/** The collection's rows as JSON arrays of at most ROWS_PER_MESSAGE rows each (one `[]` when it is empty). */
export function chunksOf(snapshot: Snapshot, collection: string): string[] {
  let bySnapshot = cache.get(snapshot)
  if (bySnapshot === undefined) {
    bySnapshot = new Map()
    cache.set(snapshot, bySnapshot)
  }
  let chunks = bySnapshot.get(collection)
  if (chunks === undefined) {
    const rows = snapshot.entities[collection] ?? []
    chunks = []
    for (let i = 0; i < rows.length || i === 0; i += ROWS_PER_MESSAGE)
      chunks.push(JSON.stringify(rows.slice(i, i + ROWS_PER_MESSAGE)))
    bySnapshot.set(collection, chunks)
  }
  return chunks
}

/**
 * Per-row digests of sealed collections. A collection's part hash is the sha256 of its rows' digests in id
 * order, so a delta re-hashes only the rows it touches and two snapshots diff by comparing 32-byte digests.
 * Digests live beside the (immutable) row arrays, so a collection shared by two snapshots shares them too.
 */
import { hash } from 'node:crypto'
import type { EntityRow } from './model.ts'

export const DIGEST_BYTES = 32

interface Sealed {
  /** One digest per row, concatenated in row order. */
  digests: Buffer
  partHash: string
}

const sealed = new WeakMap<readonly EntityRow[], Sealed>()

/** sha256 of a row's canonical JSON (text or bytes). */
export function rowDigest(canonical: string | Uint8Array): Buffer {
  return hash('sha256', canonical, 'buffer')
}

/**
 * The same digest as a 32-character binary string: for hundreds of thousands of rows, short strings cost the
 * garbage collector far less than a Buffer each. `writeDigests` packs them.
 */
export function rowDigestString(canonical: string | Uint8Array): string {
  return hash('sha256', canonical, 'binary')
}

/** Packs digest strings (rowDigestString) into one buffer, in order. */
export function writeDigests(digests: readonly string[]): Buffer {
  const out = Buffer.allocUnsafe(digests.length * DIGEST_BYTES)
  for (let i = 0; i < digests.length; i++) out.write(digests[i]!, i * DIGEST_BYTES, 'latin1')
  return out
}

/** Orders rows by id as every collection is ordered (UTF-16 code units, like `<`). */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Records the digests of `rows` (sorted by id, never mutated afterwards) and returns its part hash. */
export function registerRows(rows: readonly EntityRow[], digests: Buffer): string {
  if (digests.length !== rows.length * DIGEST_BYTES) throw new Error('one digest per row expected')
  const partHash = hash('sha256', digests, 'hex')
  sealed.set(rows, { digests, partHash })
  return partHash
}

/** The digests recorded for a sealed collection, if it is one. */
export function digestsOf(rows: readonly EntityRow[]): Buffer | undefined {
  return sealed.get(rows)?.digests
}

export function partHashOf(rows: readonly EntityRow[]): string | undefined {
  return sealed.get(rows)?.partHash
}

/**
 * Encoded snapshot and delta payloads, built once and shared by every DP that needs the same bytes: a
 * snapshot is serialized and compressed once per encoding, a delta once per (base, encoding).
 */
import {
  type ConfigChanges,
  compressPayload,
  encodeChangeLines,
  ROW_ENCODINGS,
  type RowEncoding,
  type Snapshot,
  snapshotAsChanges,
} from '@turnpike/shared'
import type { ConfigRef } from './stream-state.ts'

export interface EncodedPayload {
  encoding: RowEncoding
  payload: Buffer
  raw_size: number
}

/** The encoding to use with a DP: the first it announces of ours, else gzip (every DP decodes it). */
export function chooseEncoding(capabilities: readonly string[]): RowEncoding {
  return ROW_ENCODINGS.find((e) => capabilities.includes(`encoding:${e}`)) ?? 'rows+gzip'
}

type Cache = Map<string, Promise<EncodedPayload>>

export class PayloadCache {
  readonly #bySnapshot = new WeakMap<Snapshot, Cache>()
  readonly #raw = new WeakMap<Snapshot, Map<string, Promise<Buffer>>>()

  /** The whole `snapshot`. */
  snapshot(snapshot: Snapshot, encoding: RowEncoding): Promise<EncodedPayload> {
    return this.#encoded(snapshot, 'full', encoding, () => snapshotAsChanges(snapshot))
  }

  /** The changes from `base` to `snapshot`. */
  delta(snapshot: Snapshot, base: ConfigRef, changes: ConfigChanges, encoding: RowEncoding): Promise<EncodedPayload> {
    return this.#encoded(snapshot, `${base.version}:${base.hash}`, encoding, () => changes)
  }

  #encoded(snapshot: Snapshot, key: string, encoding: RowEncoding, changes: () => ConfigChanges) {
    let cache = this.#bySnapshot.get(snapshot)
    if (!cache) {
      cache = new Map()
      this.#bySnapshot.set(snapshot, cache)
    }
    let encoded = cache.get(`${key}/${encoding}`)
    if (!encoded) {
      let raws = this.#raw.get(snapshot)
      if (!raws) {
        raws = new Map()
        this.#raw.set(snapshot, raws)
      }
      let raw = raws.get(key)
      if (!raw) {
        raw = encodeChangeLines(changes())
        raws.set(key, raw)
      }
      encoded = raw.then(async (bytes) => ({
        encoding,
        payload: await compressPayload(bytes, encoding),
        raw_size: bytes.length,
      }))
      // The uncompressed lines are kept only while being compressed (they are several times larger).
      encoded.then(
        () => raws.delete(key),
        // A failed encoding is retried by the next push rather than cached.
        () => {
          raws.delete(key)
          cache.delete(`${key}/${encoding}`)
        },
      )
      cache.set(`${key}/${encoding}`, encoded)
    }
    return encoded
  }
}

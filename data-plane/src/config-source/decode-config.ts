/**
 * Turns wire Snapshot and Delta messages into sealed snapshots, refusing anything whose content does not match
 * the hashes the CP sent. Decompression runs off the main thread and parsing yields between slices, so even a
 * 100k-entity config never stalls the proxy's event loop for long.
 */
import type { Delta as WireDelta, Snapshot as WireSnapshot } from '@turnpike/proto'
import {
  applyChanges,
  type ConfigChanges,
  decodeChangeLines,
  decompressChunks,
  type RowEncoding,
  type Snapshot,
  sealSnapshot,
} from '@turnpike/shared'

/** The payload a snapshot arrived in, kept so the disk cache can store those bytes as they are. */
export interface ReceivedPayload {
  encoding: RowEncoding
  payload: Uint8Array
  raw_size: number
}

const received = new WeakMap<Snapshot, ReceivedPayload>()

export function receivedPayload(snapshot: Snapshot): ReceivedPayload | undefined {
  return received.get(snapshot)
}

function version(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${what} ${v} is too large`)
  return Number(v)
}

/** Decompressed and parsed chunk by chunk as it streams out of zlib's thread pool. */
function changesOf(m: WireSnapshot | WireDelta, maxRawBytes: number): Promise<ConfigChanges> {
  return decodeChangeLines(decompressChunks(m.payload, m.encoding, version(m.rawSize, 'raw_size'), maxRawBytes))
}

/** Re-sealing recomputed the hashes from the content actually received; they must be the CP's. */
function verify(snapshot: Snapshot, hash: string, partHashes: Record<string, string>): Snapshot {
  for (const [name, part] of Object.entries(partHashes))
    if (snapshot.part_hashes[name] !== part)
      throw new Error(`${name} hash mismatch: received ${part}, content hashes to ${snapshot.part_hashes[name]}`)
  if (snapshot.hash !== hash)
    throw new Error(`snapshot hash mismatch: received ${hash}, content hashes to ${snapshot.hash}`)
  return snapshot
}

/** A full snapshot. Throws an Error whose message is meant for the Nack. */
export async function decodeSnapshotMessage(m: WireSnapshot, maxRawBytes: number): Promise<Snapshot> {
  const changes = await changesOf(m, maxRawBytes)
  for (const [name, c] of Object.entries(changes))
    if (c.deletes.length) throw new Error(`a full snapshot cannot delete (${name})`)
  const snapshot = await applyChanges(sealSnapshot(0, {}), changes, version(m.version, 'version'))
  verify(snapshot, m.hash, m.partHashes)
  received.set(snapshot, { encoding: m.encoding as RowEncoding, payload: m.payload, raw_size: Number(m.rawSize) })
  return snapshot
}

/** A delta applied to `base`, the config this DP serves. Throws an Error whose message is meant for the Nack. */
export async function decodeDeltaMessage(
  m: WireDelta,
  base: Snapshot | undefined,
  maxRawBytes: number,
): Promise<Snapshot> {
  const from = version(m.fromVersion, 'from_version')
  if (!base || base.version !== from || base.hash !== m.fromHash)
    throw new Error(
      `delta base mismatch: this node serves ${base ? `version ${base.version} (${base.hash})` : 'nothing'}, the delta starts from version ${from} (${m.fromHash})`,
    )
  const changes = await changesOf(m, maxRawBytes)
  const snapshot = await applyChanges(base, changes, version(m.toVersion, 'to_version'))
  return verify(snapshot, m.hash, m.partHashes)
}

/** Turns a wire Snapshot message into the shared Snapshot, refusing anything whose content doesn't match its hash. */
import type { Snapshot as WireSnapshot } from '@turnpike/proto'
import { decodeEntities, type Snapshot, sealSnapshot } from '@turnpike/shared'

export const SNAPSHOT_ENCODING = 'json+gzip'

/** Throws an Error whose message is meant for the Nack. */
export function decodeSnapshotMessage(message: WireSnapshot): Snapshot {
  if (message.encoding !== SNAPSHOT_ENCODING)
    throw new Error(`unsupported snapshot encoding '${message.encoding}' (expected '${SNAPSHOT_ENCODING}')`)
  if (message.version > BigInt(Number.MAX_SAFE_INTEGER))
    throw new Error(`snapshot version ${message.version} is too large`)
  let entities: ReturnType<typeof decodeEntities>
  try {
    entities = decodeEntities(message.payload)
  } catch (err) {
    throw new Error(`snapshot payload could not be decoded: ${(err as Error).message}`)
  }
  if (entities === null || typeof entities !== 'object' || Array.isArray(entities))
    throw new Error('snapshot payload is not an object of entity collections')
  // Re-sealing recomputes the canonical hash from the content actually received.
  const snapshot = sealSnapshot(Number(message.version), entities)
  if (snapshot.hash !== message.hash)
    throw new Error(`snapshot hash mismatch: received ${message.hash}, content hashes to ${snapshot.hash}`)
  return snapshot
}

/** Test support: a raw data plane on the sync stream, with no logic of its own. */
import {
  ConfigSyncClient,
  type ConfigSyncClientStream,
  type ControlPlaneMessage,
  channelOptions,
  create,
  DataPlaneMessageSchema,
  grpc,
} from '@turnpike/proto'
import {
  applyChanges,
  decodeChangeLines,
  decompressPayload,
  type Snapshot,
  type SnapshotFeed,
  sealSnapshot,
} from '@turnpike/shared'

type StreamClient = grpc.Client & { stream(): ConfigSyncClientStream }
type MessageInit = Parameters<typeof create<typeof DataPlaneMessageSchema>>[1]

export interface RawDataPlane {
  /** Resolves with the status (or error) that ended the stream. */
  ended: Promise<grpc.StatusObject | Error>
  /** The next message from the CP, in arrival order. */
  next(): Promise<ControlPlaneMessage>
  send(message: MessageInit): void
  close(): void
}

export function connectRawDataPlane(
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): RawDataPlane {
  const client = new ConfigSyncClient(address, credentials, {
    ...channelOptions,
    ...options,
  }) as unknown as StreamClient
  const call = client.stream()
  const queue: ControlPlaneMessage[] = []
  const waiters: ((m: ControlPlaneMessage) => void)[] = []
  call.on('data', (m: ControlPlaneMessage) => {
    const waiter = waiters.shift()
    if (waiter) waiter(m)
    else queue.push(m)
  })
  const ended = new Promise<grpc.StatusObject | Error>((resolve) => {
    call.on('status', resolve)
    call.on('error', resolve)
  })
  return {
    ended,
    next: () => new Promise((resolve) => (queue.length ? resolve(queue.shift()!) : waiters.push(resolve))),
    send: (message) => call.write(create(DataPlaneMessageSchema, message)),
    close() {
      call.cancel()
      client.close()
    },
  }
}

/** Yields to the event loop until `pred` holds (state changes when the server reads a message). */
export async function until(pred: () => boolean): Promise<void> {
  while (!pred()) await new Promise((r) => setImmediate(r))
}

/** The config a Snapshot or Delta message carries, applied to `base` for a delta (as a DP would). */
export async function decodeConfig(message: ControlPlaneMessage, base?: Snapshot): Promise<Snapshot> {
  const kind = message.kind
  if (kind.case !== 'snapshot' && kind.case !== 'delta') throw new Error(`expected config, got ${kind.case}`)
  const m = kind.value
  const raw = await decompressPayload(m.payload, m.encoding, Number(m.rawSize), 1 << 30)
  const changes = await decodeChangeLines(raw)
  const version = Number(kind.case === 'snapshot' ? kind.value.version : kind.value.toVersion)
  const start = kind.case === 'delta' ? base : sealSnapshot(0, {})
  if (!start) throw new Error('a delta needs the base config')
  const snapshot = await applyChanges(start, changes, version)
  if (snapshot.hash !== m.hash) throw new Error(`hash mismatch: ${snapshot.hash} != ${m.hash}`)
  return snapshot
}

/** A UUID for test node ids, recognizable by its last digits. */
export const nodeUuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`

/** A feed the test publishes to by hand. */
export function manualFeed() {
  let current: Snapshot | undefined
  const listeners = new Set<(s: Snapshot) => void>()
  const feed: SnapshotFeed & { publish(s: Snapshot): void } = {
    current: () => current,
    subscribe(l) {
      listeners.add(l)
      return () => listeners.delete(l)
    },
    publish(s) {
      current = s
      for (const l of listeners) l(s)
    },
  }
  return feed
}

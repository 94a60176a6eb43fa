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

export function connectRawDataPlane(address: string): RawDataPlane {
  const client = new ConfigSyncClient(
    address,
    grpc.credentials.createInsecure(),
    channelOptions,
  ) as unknown as StreamClient
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

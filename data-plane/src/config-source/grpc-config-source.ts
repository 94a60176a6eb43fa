/**
 * Snapshots from the control plane's gRPC stream (role data_plane). The DP dials, says Hello with what it serves,
 * then answers every Snapshot with an Ack or a Nack. When the stream ends or fails it redials forever with
 * jittered exponential backoff; the config it serves stays live meanwhile.
 */
import { hostname } from 'node:os'
import {
  AckSchema,
  ConfigSyncClient,
  type ConfigSyncClientStream,
  type ControlPlaneMessage,
  channelOptions,
  create,
  type DataPlaneMessage,
  DataPlaneMessageSchema,
  grpc,
  HeartbeatSchema,
  HelloSchema,
  NackSchema,
  type Snapshot as WireSnapshot,
} from '@turnpike/proto'
import { type Logger, type Settings, TURNPIKE_VERSION, TurnpikeError } from '@turnpike/shared'
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './backoff.ts'
import type { ConfigRef, ConfigSource, SnapshotHandler, SyncState, SyncStatus } from './config-source.ts'
import { decodeSnapshotMessage } from './decode-snapshot.ts'
import { LatestOnlyQueue } from './latest-only-queue.ts'
import { loadNodeId } from './node-id.ts'

export interface GrpcConfigSourceOptions {
  settings: Pick<Settings, 'cluster_control_plane' | 'cluster_mtls' | 'prefix'>
  logger: Logger
  backoff?: BackoffOptions
  /** How often the DP reports its config on an open stream. */
  heartbeatMs?: number
}

const READY_DEADLINE_MS = 60_000

interface Pending {
  call: ConfigSyncClientStream
  message: WireSnapshot
}

type StreamClient = grpc.Client & { stream(): ConfigSyncClientStream }

export class GrpcConfigSource implements ConfigSource {
  readonly #address: string
  readonly #prefix: string
  readonly #logger: Logger
  readonly #backoff: BackoffOptions
  readonly #heartbeatMs: number
  readonly #credentials: grpc.ChannelCredentials
  #state: SyncState = 'disconnected'
  #lastError: string | null = null
  #stopped = true
  #attempt = 0
  #nodeId: Promise<string> | null = null
  #client: StreamClient | null = null
  #call: ConfigSyncClientStream | null = null
  #retryTimer: NodeJS.Timeout | null = null
  #heartbeatTimer: NodeJS.Timeout | null = null
  #onSnapshot: SnapshotHandler | null = null
  #current: () => ConfigRef | undefined = () => undefined
  readonly #queue: LatestOnlyQueue<Pending>

  constructor(opts: GrpcConfigSourceOptions) {
    const { settings } = opts
    if (settings.cluster_mtls !== 'off')
      throw new TurnpikeError(
        'INVALID_OPTIONS',
        `cluster_mtls = ${settings.cluster_mtls} is not supported by this data plane yet; set cluster_mtls = off`,
      )
    this.#address = settings.cluster_control_plane
    this.#prefix = settings.prefix
    this.#logger = opts.logger.child({ component: 'config-source', source: 'grpc', control_plane: this.#address })
    this.#backoff = opts.backoff ?? DEFAULT_BACKOFF
    this.#heartbeatMs = opts.heartbeatMs ?? 30_000
    this.#credentials = grpc.credentials.createInsecure()
    this.#queue = new LatestOnlyQueue(
      (p) => this.#applySnapshot(p),
      (err, p) => this.#logger.error({ err, version: String(p.message.version) }, 'handling snapshot failed'),
    )
  }

  start(onSnapshot: SnapshotHandler, current: () => ConfigRef | undefined): void {
    this.#onSnapshot = onSnapshot
    this.#current = current
    this.#stopped = false
    void this.#connect()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#retryTimer) clearTimeout(this.#retryTimer)
    this.#retryTimer = null
    this.#teardown()
    this.#state = 'disconnected'
    await this.#queue.idle()
  }

  status(): SyncStatus {
    return { state: this.#state, control_plane: this.#address, last_error: this.#lastError }
  }

  /** The node id sent in Hello (resolves once loaded or created). */
  nodeId(): Promise<string> {
    this.#nodeId ??= loadNodeId(this.#prefix)
    return this.#nodeId
  }

  async #connect(): Promise<void> {
    this.#retryTimer = null
    if (this.#stopped) return
    this.#state = 'connecting'
    let nodeId: string
    try {
      nodeId = await this.nodeId()
    } catch (err) {
      this.#nodeId = null
      this.#scheduleReconnect(`node id unavailable: ${(err as Error).message}`)
      return
    }
    if (this.#stopped) return
    // A fresh channel per attempt, so our backoff (not grpc-js's, which grows to minutes) paces reconnects.
    const client = new ConfigSyncClient(this.#address, this.#credentials, channelOptions) as unknown as StreamClient
    const call = client.stream()
    this.#client = client
    this.#call = call
    // Connected once the HTTP/2 transport is up (or the CP speaks first), even if the CP has nothing to send yet.
    client.waitForReady(Date.now() + READY_DEADLINE_MS, (err) => {
      if (!err) this.#markConnected(call)
    })
    call.on('metadata', () => this.#markConnected(call))
    call.on('data', (message: ControlPlaneMessage) => this.#onMessage(call, message))
    call.on('error', (err: grpc.ServiceError) => this.#onClosed(call, err.details || err.message))
    call.on('end', () => this.#onClosed(call, 'stream ended by the control plane'))
    const held = this.#current()
    this.#send(call, {
      case: 'hello',
      value: create(HelloSchema, {
        nodeId,
        hostname: hostname(),
        version: TURNPIKE_VERSION,
        configVersion: BigInt(held?.version ?? 0),
        configHash: held?.hash ?? '',
      }),
    })
  }

  #markConnected(call: ConfigSyncClientStream): void {
    if (call !== this.#call || this.#state === 'connected') return
    this.#state = 'connected'
    this.#lastError = null
    this.#logger.info('connected to control plane')
    this.#heartbeatTimer = setInterval(() => this.#heartbeat(call), this.#heartbeatMs)
    this.#heartbeatTimer.unref()
  }

  #onMessage(call: ConfigSyncClientStream, message: ControlPlaneMessage): void {
    if (call !== this.#call) return
    this.#markConnected(call)
    // The backoff resets only once the CP actually talks, so a CP that accepts and drops streams is still paced.
    this.#attempt = 0
    const kind = message.kind
    switch (kind.case) {
      case 'snapshot':
        this.#queue.push({ call, message: kind.value })
        break
      case 'heartbeat':
        this.#heartbeat(call)
        break
      case 'refusal':
        this.#lastError = `control plane refused this node (${kind.value.syncStatus}): ${kind.value.message}`
        this.#logger.warn(
          { sync_status: kind.value.syncStatus, message: kind.value.message },
          'control plane refused this node',
        )
        break
      default:
        break
    }
  }

  async #applySnapshot({ call, message }: Pending): Promise<void> {
    const { version, nonce } = message
    let error: string | undefined
    try {
      const snapshot = decodeSnapshotMessage(message)
      const result = await this.#onSnapshot!(snapshot)
      if (!result.ok) error = result.error
    } catch (err) {
      error = (err as Error).message
    }
    // An answer on a stream that has since been replaced would be stale.
    if (call !== this.#call) return
    if (error === undefined) {
      this.#send(call, { case: 'ack', value: create(AckSchema, { version, hash: message.hash, nonce }) })
    } else {
      this.#lastError = error
      this.#logger.warn({ version: String(version), error }, 'snapshot rejected (nack)')
      this.#send(call, { case: 'nack', value: create(NackSchema, { version, nonce, error }) })
    }
  }

  #heartbeat(call: ConfigSyncClientStream): void {
    const held = this.#current()
    this.#send(call, {
      case: 'heartbeat',
      value: create(HeartbeatSchema, {
        configVersion: BigInt(held?.version ?? 0),
        configHash: held?.hash ?? '',
        sentAtMs: BigInt(Date.now()),
      }),
    })
  }

  #send(call: ConfigSyncClientStream, kind: DataPlaneMessage['kind']): void {
    if (call !== this.#call || call.writableEnded || call.destroyed) return
    call.write(create(DataPlaneMessageSchema, { kind }))
  }

  #onClosed(call: ConfigSyncClientStream, reason: string): void {
    if (call !== this.#call) return
    this.#teardown()
    if (this.#stopped) return
    this.#scheduleReconnect(reason)
  }

  #scheduleReconnect(reason: string): void {
    this.#state = 'disconnected'
    this.#lastError = reason
    const delay = backoffDelay(this.#attempt++, this.#backoff)
    this.#logger.warn({ reason, retry_in_ms: delay }, 'control plane stream lost, keeping the current config')
    this.#retryTimer = setTimeout(() => void this.#connect(), delay)
  }

  #teardown(): void {
    if (this.#heartbeatTimer) clearInterval(this.#heartbeatTimer)
    this.#heartbeatTimer = null
    const call = this.#call
    const client = this.#client
    this.#call = null
    this.#client = null
    // The call's listeners stay attached (they ignore a replaced call), so its CANCELLED error is still handled.
    call?.cancel()
    client?.close()
  }
}

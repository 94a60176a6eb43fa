/**
 * Snapshots from the control plane's gRPC stream (role data_plane). The DP dials, says Hello with what it serves,
 * its plugins and capabilities, then answers every Snapshot or Delta with an Ack or a Nack. When the stream ends,
 * fails or falls silent past its deadline it redials forever, rotating through the configured control planes with
 * jittered exponential backoff; the config it serves stays live meanwhile. Given its balancers' health, it reports
 * it after Hello and after every change (coalesced), and applies the CP's manual overrides.
 */
import { hostname } from 'node:os'
import {
  AckSchema,
  ConfigSyncClient,
  type ConfigSyncClientStream,
  type ControlPlaneMessage,
  channelOptionsFor,
  create,
  type DataPlaneMessage,
  DataPlaneMessageSchema,
  grpc,
  HEALTH_CAPABILITY,
  type HealthOverride as HealthOverrideMessage,
  HeartbeatSchema,
  HelloSchema,
  NackSchema,
} from '@turnpike/proto'
import {
  checkSharedServer,
  type HealthOverride,
  healthReportMessage,
  type LocalHealth,
  type Logger,
  loadClusterIdentity,
  ROW_ENCODINGS,
  type Settings,
  type Snapshot,
  TURNPIKE_VERSION,
  type UpstreamHealth,
} from '@turnpike/shared'
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './backoff.ts'
import type { ConfigSource, SnapshotHandler, SyncState, SyncStatus } from './config-source.ts'
import { decodeDeltaMessage, decodeSnapshotMessage } from './decode-config.ts'
import { LatestOnlyQueue } from './latest-only-queue.ts'
import { loadNodeId } from './node-id.ts'
import { availablePlugins, type PluginVersion } from './plugin-set.ts'

export type GrpcSourceSettings = Pick<
  Settings,
  | 'cluster_control_plane'
  | 'cluster_mtls'
  | 'cluster_cert'
  | 'cluster_cert_key'
  | 'cluster_ca_cert'
  | 'cluster_server_name'
  | 'cluster_allowed_common_names'
  | 'cluster_dp_labels'
  | 'cluster_max_payload'
  | 'plugins'
  | 'prefix'
>

export interface GrpcConfigSourceOptions {
  settings: GrpcSourceSettings
  logger: Logger
  backoff?: BackoffOptions
  /** How often the DP reports its config unprompted on an open stream (it also answers every CP heartbeat). */
  heartbeatMs?: number
  /** A stream the CP has been silent on for this long is dropped and redialed (the CP heartbeats every 5 s). */
  deadlineMs?: number
  /** The plugins reported in Hello; defaults to the `plugins` setting over the shared definitions. */
  plugins?: PluginVersion[]
  /** This DP's balancers: their health is reported to the CP, which may send manual overrides back. */
  health?: LocalHealth
  /** Minimum gap between two health reports (default 250 ms); changes within it are coalesced into one. */
  healthReportMs?: number
}

const READY_DEADLINE_MS = 60_000
/** A decompressed payload may be this many times `cluster_max_payload` (configs compress ~5×). */
const RAW_PAYLOAD_FACTOR = 16

/** What this DP understands, announced in Hello (plus `health` when it has balancers to report on). */
export const CAPABILITIES = ['delta', ...ROW_ENCODINGS.map((e) => `encoding:${e}`)]

/** The balancers' report in its wire shape. */
function overrideOf(m: HealthOverrideMessage): HealthOverride {
  const o: HealthOverride = { upstream_id: m.upstreamId, target: m.target, healthy: m.healthy }
  if (m.address) o.address = m.address
  return o
}

type ConfigMessage = Extract<ControlPlaneMessage['kind'], { case: 'snapshot' | 'delta' }>

interface Pending {
  call: ConfigSyncClientStream
  message: ConfigMessage
}

type StreamClient = grpc.Client & { stream(): ConfigSyncClientStream }

export class GrpcConfigSource implements ConfigSource {
  readonly #addresses: string[]
  readonly #prefix: string
  readonly #logger: Logger
  readonly #backoff: BackoffOptions
  readonly #heartbeatMs: number
  readonly #deadlineMs: number
  readonly #credentials: grpc.ChannelCredentials
  readonly #channelOptions: grpc.ChannelOptions
  readonly #maxRawBytes: number
  readonly #labels: Record<string, string>
  readonly #plugins: PluginVersion[]
  readonly #health: LocalHealth | undefined
  readonly #healthReportMs: number
  readonly #capabilities: string[]
  #addressIndex = -1
  #state: SyncState = 'disconnected'
  #lastError: string | null = null
  #refusal: SyncStatus['refusal'] = null
  #stopped = true
  #attempt = 0
  #nodeId: Promise<string> | null = null
  #client: StreamClient | null = null
  #call: ConfigSyncClientStream | null = null
  #lastHeard = 0
  /** When this DP last sent a heartbeat. */
  #lastReport = 0
  #retryTimer: NodeJS.Timeout | null = null
  #heartbeatTimer: NodeJS.Timeout | null = null
  /** A health report waiting out the coalescing gap. */
  #healthTimer: NodeJS.Timeout | null = null
  #lastHealthReport = 0
  #onSnapshot: SnapshotHandler | null = null
  #current: () => Snapshot | undefined = () => undefined
  readonly #queue: LatestOnlyQueue<Pending>

  constructor(opts: GrpcConfigSourceOptions) {
    const { settings } = opts
    this.#addresses = settings.cluster_control_plane.split(',').map((a) => a.trim())
    this.#prefix = settings.prefix
    this.#logger = opts.logger.child({ component: 'config-source', source: 'grpc' })
    this.#backoff = opts.backoff ?? DEFAULT_BACKOFF
    this.#heartbeatMs = opts.heartbeatMs ?? 30_000
    this.#deadlineMs = opts.deadlineMs ?? 15_000
    this.#maxRawBytes = settings.cluster_max_payload * RAW_PAYLOAD_FACTOR
    this.#labels = settings.cluster_dp_labels
    this.#plugins = opts.plugins ?? availablePlugins(settings.plugins)
    this.#health = opts.health
    this.#healthReportMs = opts.healthReportMs ?? 250
    this.#capabilities = opts.health ? [...CAPABILITIES, HEALTH_CAPABILITY] : CAPABILITIES
    opts.health?.onChange(() => this.#scheduleHealthReport())
    this.#channelOptions = channelOptionsFor(settings.cluster_max_payload)
    // Throws at start, naming the setting, when the certificate material is missing or wrong.
    const identity = loadClusterIdentity(settings)
    if (!identity) {
      this.#logger.warn(
        'cluster_mtls=off: config arrives unauthenticated and unencrypted; use it on a trusted network only',
      )
      this.#credentials = grpc.credentials.createInsecure()
    } else {
      this.#credentials = grpc.credentials.createSsl(
        identity.ca,
        identity.key,
        identity.cert,
        identity.mode === 'shared' ? { checkServerIdentity: (_host, peer) => checkSharedServer(identity, peer) } : {},
      )
      if (identity.serverName) this.#channelOptions['grpc.ssl_target_name_override'] = identity.serverName
    }
    this.#queue = new LatestOnlyQueue(
      (p) => this.#applyConfig(p),
      (err) => this.#logger.error({ err }, 'handling a config message failed'),
    )
  }

  start(onSnapshot: SnapshotHandler, current: () => Snapshot | undefined): void {
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
    return {
      state: this.#state,
      control_plane: this.#addresses[Math.max(0, this.#addressIndex)]!,
      last_error: this.#lastError,
      refusal: this.#refusal,
    }
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
    // Each attempt goes to the next control plane, so a dead one is skipped.
    this.#addressIndex = (this.#addressIndex + 1) % this.#addresses.length
    const address = this.#addresses[this.#addressIndex]!
    // A fresh channel per attempt, so our backoff (not grpc-js's, which grows to minutes) paces reconnects.
    const client = new ConfigSyncClient(address, this.#credentials, this.#channelOptions) as unknown as StreamClient
    const call = client.stream()
    this.#client = client
    this.#call = call
    this.#lastHeard = Date.now()
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
        plugins: this.#plugins,
        labels: this.#labels,
        capabilities: this.#capabilities,
        configVersion: BigInt(held?.version ?? 0),
        configHash: held?.hash ?? '',
      }),
    })
    // Every stream starts with the full picture: changes made while no stream was up were never sent.
    this.#sendHealthReport()
    this.#heartbeatTimer = setInterval(() => this.#tick(call), Math.min(this.#heartbeatMs, this.#deadlineMs / 3))
    this.#heartbeatTimer.unref()
  }

  /** Sends one report per coalescing gap at most: the first change goes out at once, a burst as one more. */
  #scheduleHealthReport(): void {
    if (this.#healthTimer || !this.#call) return
    const wait = Math.max(0, this.#lastHealthReport + this.#healthReportMs - Date.now())
    this.#healthTimer = setTimeout(() => {
      this.#healthTimer = null
      this.#sendHealthReport()
    }, wait)
    this.#healthTimer.unref()
  }

  #sendHealthReport(): void {
    const call = this.#call
    if (!this.#health || !call) return
    let upstreams: UpstreamHealth[]
    try {
      upstreams = this.#health.report()
    } catch (err) {
      this.#logger.error({ err }, 'reading the balancers’ health failed; no report sent')
      return
    }
    this.#lastHealthReport = Date.now()
    this.#send(call, { case: 'healthReport', value: healthReportMessage(upstreams, this.#current()?.version ?? 0) })
  }

  #applyOverride(m: HealthOverrideMessage): void {
    const o = overrideOf(m)
    if (!this.#health) {
      this.#logger.warn({ override: o }, 'health override received, but this node reports no balancers; ignored')
      return
    }
    let applied = false
    try {
      applied = this.#health.override(o)
    } catch (err) {
      this.#logger.error({ err, override: o }, 'applying a health override failed')
      return
    }
    if (applied) this.#logger.info({ override: o }, 'health override from the control plane applied')
    else this.#logger.warn({ override: o }, 'health override names an upstream, target or address this node lacks')
  }

  #markConnected(call: ConfigSyncClientStream): void {
    if (call !== this.#call || this.#state === 'connected') return
    this.#state = 'connected'
    this.#lastError = null
    this.#logger.info({ control_plane: this.#addresses[this.#addressIndex] }, 'connected to control plane')
  }

  /** Drops a stream the CP has gone silent on; reports our config now and then. */
  #tick(call: ConfigSyncClientStream): void {
    if (call !== this.#call) return
    const now = Date.now()
    if (now - this.#lastHeard > this.#deadlineMs) {
      this.#teardown()
      this.#scheduleReconnect(`no message from the control plane for ${now - this.#lastHeard} ms`)
      return
    }
    if (now - this.#lastReport >= this.#heartbeatMs) this.#heartbeat(call)
  }

  #onMessage(call: ConfigSyncClientStream, message: ControlPlaneMessage): void {
    if (call !== this.#call) return
    this.#lastHeard = Date.now()
    this.#markConnected(call)
    // The backoff resets only once the CP actually talks, so a CP that accepts and drops streams is still paced.
    this.#attempt = 0
    const kind = message.kind
    switch (kind.case) {
      case 'snapshot':
      case 'delta':
        this.#queue.push({ call, message: kind })
        break
      case 'heartbeat':
        this.#heartbeat(call)
        break
      case 'healthOverride':
        this.#applyOverride(kind.value)
        break
      case 'refusal':
        this.#refusal = { sync_status: kind.value.syncStatus, message: kind.value.message }
        this.#lastError = `control plane refused to send config version ${kind.value.version} (${kind.value.syncStatus}): ${kind.value.message}`
        this.#logger.warn(
          { sync_status: kind.value.syncStatus, version: String(kind.value.version), reason: kind.value.message },
          'control plane refused to send config this node cannot run; keeping the current config',
        )
        break
      default:
        break
    }
  }

  async #applyConfig({ call, message }: Pending): Promise<void> {
    const m = message.value
    const version = message.case === 'snapshot' ? message.value.version : message.value.toVersion
    let error: string | undefined
    try {
      const snapshot =
        message.case === 'snapshot'
          ? await decodeSnapshotMessage(message.value, this.#maxRawBytes)
          : await decodeDeltaMessage(message.value, this.#current(), this.#maxRawBytes)
      error = this.#unavailablePlugins(snapshot)
      if (!error) {
        const result = await this.#onSnapshot!(snapshot)
        if (!result.ok) error = result.error
      }
    } catch (err) {
      error = (err as Error).message
    }
    // An answer on a stream that has since been replaced would be stale.
    if (call !== this.#call) return
    if (error === undefined) {
      this.#refusal = null
      this.#lastError = null
      this.#send(call, { case: 'ack', value: create(AckSchema, { version, hash: m.hash, nonce: m.nonce }) })
    } else {
      this.#lastError = error
      this.#logger.warn({ version: String(version), kind: message.case, error }, 'config rejected (nack)')
      this.#send(call, { case: 'nack', value: create(NackSchema, { version, nonce: m.nonce, error }) })
    }
  }

  /** A config using plugins this node does not run is refused here too, should the CP not have caught it. */
  #unavailablePlugins(snapshot: Snapshot): string | undefined {
    const have = new Set(this.#plugins.map((p) => p.name))
    const missing = [...new Set((snapshot.entities.plugins ?? []).map((p) => String(p.name)))].filter(
      (n) => !have.has(n),
    )
    return missing.length ? `plugins not available on this data plane: ${missing.sort().join(', ')}` : undefined
  }

  #heartbeat(call: ConfigSyncClientStream): void {
    this.#lastReport = Date.now()
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
    const next = this.#addresses[(this.#addressIndex + 1) % this.#addresses.length]
    this.#logger.warn(
      { reason, control_plane: this.#addresses[this.#addressIndex], next, retry_in_ms: delay },
      'control plane stream lost, keeping the current config',
    )
    this.#retryTimer = setTimeout(() => void this.#connect(), delay)
  }

  #teardown(): void {
    if (this.#heartbeatTimer) clearInterval(this.#heartbeatTimer)
    this.#heartbeatTimer = null
    if (this.#healthTimer) clearTimeout(this.#healthTimer)
    this.#healthTimer = null
    const call = this.#call
    const client = this.#client
    this.#call = null
    this.#client = null
    // The call's listeners stay attached (they ignore a replaced call), so its CANCELLED error is still handled.
    call?.cancel()
    client?.close()
  }
}

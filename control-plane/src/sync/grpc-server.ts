/**
 * Thin grpc-js transport for ConfigSync.Stream: checks the DP's certificate, decodes its messages into
 * StreamState calls, sends what StreamState decides (snapshots, deltas from the change log, refusals), and
 * runs the heartbeats that end silent streams. DPs' health reports go to the registry; manual health overrides
 * go out to the DPs that announced the `health` capability.
 */
import {
  type ConfigSyncStream,
  type ControlPlaneMessage,
  ControlPlaneMessageSchema,
  channelOptionsFor,
  configSyncService,
  create,
  type DataPlaneMessage,
  grpc,
  HEALTH_CAPABILITY,
  type Hello,
} from '@turnpike/proto'
import type {
  ClusterIdentity,
  ConfigChanges,
  HealthOverride,
  ListenAddress,
  Logger,
  Settings,
  Snapshot,
  SnapshotFeed,
} from '@turnpike/shared'
import { allPluginDefs, checkDataPlanePeer, TURNPIKE_VERSION, upstreamsOfReport } from '@turnpike/shared'
import { ChangeLog } from './change-log.ts'
import { DataPlaneRegistry } from './data-plane-registry.ts'
import { chooseEncoding, type EncodedPayload, PayloadCache } from './payloads.ts'
import { type DataPlaneHello, type Outgoing, StreamState } from './stream-state.ts'

export interface SyncServer {
  /** host:port actually bound (the port is real even when 0 was asked for). */
  address: string
  registry: DataPlaneRegistry
  changeLog: ChangeLog
  /**
   * Sends a manual health override to every connected DP that understands it (or only to `nodeId`); returns the
   * node ids it went to.
   */
  overrideHealth(override: HealthOverride, nodeId?: string): string[]
  /** Ends every stream (DPs reconnect elsewhere) and stops the server. */
  close(): Promise<void>
}

export interface SyncServerOptions {
  feed: SnapshotFeed
  logger: Logger
  listen: ListenAddress
  credentials: grpc.ServerCredentials
  /** The cluster certificate material; DPs are checked against it. Absent with cluster_mtls=off. */
  identity?: ClusterIdentity
  registry?: DataPlaneRegistry
  changeLog?: ChangeLog
  /** How often the CP sends a heartbeat on every stream (default 5 s). */
  heartbeatMs?: number
  /** A stream silent for this long is ended (default 3 heartbeats). */
  deadlineMs?: number
  /** `cluster_max_payload`. */
  maxPayload?: number
  /** The rows the builder read for an incremental snapshot, so the change log need not walk whole collections. */
  touched?: (snapshot: Snapshot) => { from: Snapshot; changes: ConfigChanges } | undefined
  /** The CP's version and plugin versions, checked against each DP's (defaults: this build's). */
  version?: string
  plugins?: ReadonlyMap<string, string>
}

/** Server credentials for `cluster_mtls`. Client certificates are requested but checked per stream, so a refused DP is logged. */
export function clusterCredentials(
  settings: Pick<Settings, 'cluster_mtls'>,
  identity: ClusterIdentity | undefined,
  logger: Logger,
): grpc.ServerCredentials {
  if (!identity) {
    logger.warn(
      `cluster_mtls=${settings.cluster_mtls}: the sync stream is unauthenticated and unencrypted; use it on a trusted network only`,
    )
    return grpc.ServerCredentials.createInsecure()
  }
  const provider = staticCertificates(identity)
  return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false)
}

/**
 * A grpc-js certificate provider for fixed PEM material. Listeners are called on the next tick: grpc-js adds
 * its own watcher only after registering them, and would miss a synchronous update.
 */
function staticCertificates(identity: ClusterIdentity): grpc.experimental.CertificateProvider {
  return {
    addCaCertificateListener: (listener) => queueMicrotask(() => listener({ caCertificate: identity.ca })),
    removeCaCertificateListener: () => {},
    addIdentityCertificateListener: (listener) =>
      queueMicrotask(() => listener({ certificate: identity.cert, privateKey: identity.key })),
    removeIdentityCertificateListener: () => {},
  }
}

/** `ipv4:1.2.3.4:5`, `1.2.3.4:5` or `[::1]:5` → the address alone. */
function peerIp(peer: string): string {
  const p = peer.replace(/^ipv[46]:/, '')
  if (p.startsWith('[')) return p.slice(1, p.indexOf(']'))
  const colon = p.lastIndexOf(':')
  return colon > 0 ? p.slice(0, colon) : p
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function helloInfo(hello: Hello, ip: string, certExpiry: number | null): DataPlaneHello {
  return {
    node_id: hello.nodeId.toLowerCase(),
    hostname: hello.hostname,
    ip,
    version: hello.version,
    labels: { ...hello.labels },
    config_version: Number(hello.configVersion),
    config_hash: hello.configHash,
    plugins: hello.plugins.map((p) => ({ name: p.name, version: p.version })),
    capabilities: [...hello.capabilities],
    cert_expiry: certExpiry,
  }
}

interface Session {
  call: ConfigSyncStream
  state?: StreamState
  /** When the DP last sent anything (ms). */
  heard: number
  ended: boolean
}

export async function startSyncServer(options: SyncServerOptions): Promise<SyncServer> {
  const { feed, identity } = options
  const log = options.logger.child({ component: 'sync-server' })
  const registry = options.registry ?? new DataPlaneRegistry()
  const changeLog = options.changeLog ?? new ChangeLog({}, log)
  const payloads = new PayloadCache()
  const heartbeatMs = options.heartbeatMs ?? 5000
  const deadlineMs = options.deadlineMs ?? 3 * heartbeatMs
  const version = options.version ?? TURNPIKE_VERSION
  const plugins = options.plugins ?? new Map(allPluginDefs().map((d) => [d.name, d.version]))
  const sessions = new Set<Session>()

  const initial = feed.current()
  if (initial) changeLog.record(initial)
  // One subscription for all streams, so the change log records a snapshot before any stream is offered it.
  const unsubscribe = feed.subscribe((snapshot) => {
    changeLog.record(snapshot, options.touched?.(snapshot))
    for (const session of sessions) if (session.state) send(session, session.state.offer(snapshot))
  })

  function end(session: Session, code: grpc.status, details: string): void {
    if (session.ended) return
    session.call.emit('error', { code, details })
  }

  function write(session: Session, message: ControlPlaneMessage): void {
    if (!session.ended) session.call.write(message)
  }

  function configMessage(out: Outgoing & { kind: 'snapshot' | 'delta' }, p: EncodedPayload): ControlPlaneMessage {
    const s = out.snapshot
    const common = {
      hash: s.hash,
      partHashes: s.part_hashes,
      nonce: out.nonce,
      encoding: p.encoding,
      payload: p.payload,
      rawSize: BigInt(p.raw_size),
    }
    return create(ControlPlaneMessageSchema, {
      kind:
        out.kind === 'snapshot'
          ? { case: 'snapshot', value: { ...common, version: BigInt(s.version) } }
          : {
              case: 'delta',
              value: {
                ...common,
                fromVersion: BigInt(out.base.version),
                fromHash: out.base.hash,
                toVersion: BigInt(s.version),
              },
            },
    })
  }

  function send(session: Session, out: Outgoing | undefined): void {
    const state = session.state
    if (!out || !state || session.ended) return
    if (out.kind === 'refusal') {
      registry.changed(state)
      log.warn(
        { node_id: state.nodeId, sync_status: out.sync_status, version: out.version, reason: out.message },
        'not pushing config the data plane cannot run',
      )
      write(
        session,
        create(ControlPlaneMessageSchema, {
          kind: {
            case: 'refusal',
            value: { syncStatus: out.sync_status, message: out.message, version: BigInt(out.version) },
          },
        }),
      )
      return
    }
    const encoding = chooseEncoding(state.view.capabilities)
    const changes = out.kind === 'delta' ? changeLog.changesSince(out.base, out.snapshot) : undefined
    const encoded =
      out.kind === 'delta' && changes
        ? payloads.delta(out.snapshot, out.base, changes, encoding)
        : payloads.snapshot(out.snapshot, encoding)
    if (out.kind === 'delta' && !changes) out = { kind: 'snapshot', snapshot: out.snapshot, nonce: out.nonce }
    const push = out
    encoded.then(
      (p) => {
        // Sent only if still the push in flight (the stream may have ended or moved on meanwhile).
        if (session.ended || state.view.pending?.nonce !== push.nonce) return
        log.debug(
          { node_id: state.nodeId, kind: push.kind, version: push.snapshot.version, bytes: p.payload.length },
          'pushing config',
        )
        write(session, configMessage(push, p))
      },
      (err) => {
        log.error({ err, node_id: state.nodeId }, 'encoding a config payload failed; dropping the stream')
        end(session, grpc.status.INTERNAL, 'the control plane could not encode the config')
      },
    )
  }

  function onHello(session: Session, hello: Hello, certExpiry: number | null): void {
    const { call } = session
    if (!UUID.test(hello.nodeId)) {
      end(session, grpc.status.INVALID_ARGUMENT, `node_id '${hello.nodeId}' is not a UUID`)
      return
    }
    const state = new StreamState(helloInfo(hello, peerIp(call.getPeer()), certExpiry), {
      version,
      plugins,
      canDelta: (base, snapshot) => changeLog.covers(base, snapshot),
    })
    session.state = state
    registry.connected(state)
    const v = state.view
    log.info(
      {
        node_id: v.node_id,
        hostname: v.hostname,
        ip: v.ip,
        version: v.version,
        config_version: v.config_version,
        labels: v.labels,
      },
      'data plane connected',
    )
    const refusal = state.handshake()
    if (refusal) {
      send(session, refusal)
      end(session, grpc.status.FAILED_PRECONDITION, refusal.message)
      return
    }
    const current = feed.current()
    if (current) send(session, state.offer(current))
  }

  function onMessage(session: Session, msg: DataPlaneMessage, certExpiry: number | null): void {
    session.heard = Date.now()
    const kind = msg.kind
    if (kind.case === 'hello') {
      if (session.state) end(session, grpc.status.FAILED_PRECONDITION, 'Hello was already sent on this stream')
      else onHello(session, kind.value, certExpiry)
      return
    }
    const state = session.state
    if (!state) {
      end(session, grpc.status.FAILED_PRECONDITION, 'the first message must be Hello')
      return
    }
    if (kind.case === 'ack') {
      const r = state.ack({ version: Number(kind.value.version), hash: kind.value.hash, nonce: kind.value.nonce })
      if (r.stale) log.debug({ node_id: state.nodeId, nonce: kind.value.nonce }, 'ignoring stale ack')
      else {
        log.info({ node_id: state.nodeId, version: Number(kind.value.version) }, 'data plane applied config')
        registry.changed(state)
      }
      send(session, r.next)
    } else if (kind.case === 'nack') {
      const delta = state.view.pending?.delta
      const r = state.nack({ nonce: kind.value.nonce, error: kind.value.error })
      if (r.stale) log.debug({ node_id: state.nodeId, nonce: kind.value.nonce }, 'ignoring stale nack')
      else {
        log.warn(
          { node_id: state.nodeId, version: Number(kind.value.version), error: kind.value.error, delta },
          delta
            ? 'data plane could not apply a delta; sending the full config'
            : 'data plane rejected config; it keeps serving its previous one',
        )
        registry.changed(state)
      }
      send(session, r.next)
    } else if (kind.case === 'heartbeat') {
      // Not echoed: the DP answers our heartbeats, so echoing its own would ping-pong forever.
      state.seen()
      registry.seen(state)
    } else if (kind.case === 'healthReport') {
      state.seen()
      registry.seen(state)
      registry.reportHealth(state, {
        upstreams: upstreamsOfReport(kind.value),
        config_version: Number(kind.value.configVersion),
      })
      log.debug({ node_id: state.nodeId, upstreams: kind.value.upstreams.length }, 'data plane reported health')
    }
  }

  function overrideHealth(override: HealthOverride, nodeId?: string): string[] {
    // The newest stream per DP: an older one may still be closing.
    const latest = new Map<string, Session>()
    for (const session of sessions) {
      const state = session.state
      if (!state || session.ended || !state.view.connected) continue
      if (!state.view.capabilities.includes(HEALTH_CAPABILITY)) continue
      if (nodeId === undefined || state.nodeId === nodeId) latest.set(state.nodeId, session)
    }
    const message = create(ControlPlaneMessageSchema, {
      kind: {
        case: 'healthOverride',
        value: {
          upstreamId: override.upstream_id,
          target: override.target,
          address: override.address ?? '',
          healthy: override.healthy,
        },
      },
    })
    for (const session of latest.values()) write(session, message)
    const sent = [...latest.keys()]
    log.info({ override, node_ids: sent }, 'health override sent to data planes')
    return sent
  }

  function serve(call: ConfigSyncStream): void {
    const session: Session = { call, heard: Date.now(), ended: false }
    let certExpiry: number | null = null
    if (identity) {
      const check = checkDataPlanePeer(identity, call.getAuthContext()?.sslPeerCertificate)
      if (!check.ok) {
        log.warn({ peer: call.getPeer(), reason: check.reason }, 'refused a data plane: invalid cluster certificate')
        call.on('error', () => {})
        call.emit('error', {
          code: grpc.status.UNAUTHENTICATED,
          details: `cluster certificate refused: ${check.reason}`,
        })
        return
      }
      certExpiry = check.expiry
    }
    sessions.add(session)
    call.on('data', (msg: DataPlaneMessage) => {
      if (!session.ended) onMessage(session, msg, certExpiry)
    })
    const cleanup = () => {
      if (session.ended) return
      session.ended = true
      sessions.delete(session)
      const state = session.state
      if (state) {
        state.disconnected()
        registry.disconnected(state)
        log.info({ node_id: state.nodeId }, 'data plane disconnected')
      }
    }
    call.on('end', () => {
      cleanup()
      call.end()
    })
    call.on('cancelled', cleanup)
    call.on('error', cleanup)
    call.on('close', cleanup)
  }

  // One timer for all streams: heartbeat each, end those silent past the deadline.
  const heartbeat = setInterval(() => {
    const now = Date.now()
    const current = feed.current()
    const beat = create(ControlPlaneMessageSchema, {
      kind: {
        case: 'heartbeat',
        value: {
          configVersion: BigInt(current?.version ?? 0),
          configHash: current?.hash ?? '',
          sentAtMs: BigInt(now),
        },
      },
    })
    for (const session of sessions) {
      if (now - session.heard > deadlineMs) {
        log.warn(
          { node_id: session.state?.nodeId, peer: session.call.getPeer(), silent_ms: now - session.heard },
          'data plane stream silent past its deadline; ending it',
        )
        end(session, grpc.status.UNAVAILABLE, `no message from the data plane for ${now - session.heard} ms`)
      } else write(session, beat)
    }
  }, heartbeatMs)
  heartbeat.unref()

  const server = new grpc.Server({
    ...channelOptionsFor(options.maxPayload ?? 128 * 1024 * 1024),
    // Server-side pings find DPs that vanished without closing their connection.
    'grpc.keepalive_time_ms': 10_000,
  })
  server.addService(configSyncService, { stream: serve })
  const host = options.listen.host.includes(':') ? `[${options.listen.host}]` : options.listen.host
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${options.listen.port}`, options.credentials, (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  )
  const address = `${host}:${port}`
  log.info({ address, mtls: identity?.mode ?? 'off' }, 'cluster sync server listening')

  return {
    address,
    registry,
    changeLog,
    overrideHealth,
    async close() {
      clearInterval(heartbeat)
      unsubscribe()
      for (const session of sessions) session.call.end()
      await new Promise<void>((resolve) => {
        // Streams were ended above; force whatever is left after a grace period.
        const timer = setTimeout(() => server.forceShutdown(), 5000)
        timer.unref()
        server.tryShutdown(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    },
  }
}

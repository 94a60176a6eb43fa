/** Thin grpc-js transport for ConfigSync.Stream: decodes DP messages into StreamState calls and sends what it decides. */

import {
  type ConfigSyncStream,
  type ControlPlaneMessage,
  ControlPlaneMessageSchema,
  channelOptions,
  configSyncService,
  create,
  type DataPlaneMessage,
  grpc,
  type Hello,
} from '@turnpike/proto'
import type { ListenAddress, Logger, Settings, Snapshot, SnapshotFeed } from '@turnpike/shared'
import { encodeEntities, TurnpikeError } from '@turnpike/shared'
import { DataPlaneRegistry } from './data-plane-registry.ts'
import { type Push, StreamState } from './stream-state.ts'

export const SNAPSHOT_ENCODING = 'json+gzip'

export interface SyncServer {
  /** host:port actually bound (the port is real even when 0 was asked for). */
  address: string
  registry: DataPlaneRegistry
  /** Ends every stream (DPs reconnect elsewhere) and stops the server. */
  close(): Promise<void>
}

/** Server credentials for `cluster_mtls`; only `off` exists so far, and it is loudly insecure. */
export function clusterCredentials(settings: Settings, logger: Logger): grpc.ServerCredentials {
  if (settings.cluster_mtls !== 'off')
    throw new TurnpikeError(
      'INVALID_OPTIONS',
      `cluster_mtls=${settings.cluster_mtls} is not supported yet; set cluster_mtls=off on a trusted network`,
    )
  logger.warn('cluster_mtls=off: the sync stream is unauthenticated and unencrypted; use it on a trusted network only')
  return grpc.ServerCredentials.createInsecure()
}

/** `ipv4:1.2.3.4:5`, `1.2.3.4:5` or `[::1]:5` → the address alone. */
function peerIp(peer: string): string {
  const p = peer.replace(/^ipv[46]:/, '')
  if (p.startsWith('[')) return p.slice(1, p.indexOf(']'))
  const colon = p.lastIndexOf(':')
  return colon > 0 ? p.slice(0, colon) : p
}

function helloInfo(hello: Hello, ip: string) {
  return {
    node_id: hello.nodeId,
    hostname: hello.hostname,
    ip,
    version: hello.version,
    labels: { ...hello.labels },
    config_version: Number(hello.configVersion),
    config_hash: hello.configHash,
  }
}

export async function startSyncServer(options: {
  feed: SnapshotFeed
  logger: Logger
  listen: ListenAddress
  credentials: grpc.ServerCredentials
  registry?: DataPlaneRegistry
}): Promise<SyncServer> {
  const { feed } = options
  const log = options.logger.child({ component: 'sync-server' })
  const registry = options.registry ?? new DataPlaneRegistry()
  const calls = new Set<ConfigSyncStream>()
  // Every DP gets the same bytes for a snapshot: compress once.
  const payloads = new WeakMap<Snapshot, Uint8Array>()

  function snapshotMessage({ snapshot, nonce }: Push): ControlPlaneMessage {
    let payload = payloads.get(snapshot)
    if (!payload) {
      payload = encodeEntities(snapshot.entities)
      payloads.set(snapshot, payload)
    }
    return create(ControlPlaneMessageSchema, {
      kind: {
        case: 'snapshot',
        value: {
          version: BigInt(snapshot.version),
          hash: snapshot.hash,
          partHashes: snapshot.part_hashes,
          nonce,
          encoding: SNAPSHOT_ENCODING,
          payload,
        },
      },
    })
  }

  function serve(call: ConfigSyncStream): void {
    calls.add(call)
    let state: StreamState | undefined
    let unsubscribe: (() => void) | undefined
    let ended = false
    const send = (push: Push | undefined) => {
      if (!push || !state || ended) return
      log.debug({ node_id: state.nodeId, version: push.snapshot.version, nonce: push.nonce }, 'pushing snapshot')
      call.write(snapshotMessage(push))
    }
    const fail = (details: string) => call.emit('error', { code: grpc.status.FAILED_PRECONDITION, details })

    call.on('data', (msg: DataPlaneMessage) => {
      if (ended) return
      const kind = msg.kind
      if (kind.case === 'hello') {
        if (state) return fail('Hello was already sent on this stream')
        const s = new StreamState(helloInfo(kind.value, peerIp(call.getPeer())))
        state = s
        registry.connected(s)
        log.info({ ...s.status, pending: undefined }, 'data plane connected')
        const current = feed.current()
        if (current) send(s.offer(current))
        unsubscribe = feed.subscribe((snapshot) => send(s.offer(snapshot)))
        return
      }
      if (!state) return fail('the first message must be Hello')
      if (kind.case === 'ack') {
        const r = state.ack({ version: Number(kind.value.version), hash: kind.value.hash, nonce: kind.value.nonce })
        if (r.stale) log.debug({ node_id: state.nodeId, nonce: kind.value.nonce }, 'ignoring stale ack')
        else log.info({ node_id: state.nodeId, version: Number(kind.value.version) }, 'data plane applied config')
        send(r.push)
      } else if (kind.case === 'nack') {
        const r = state.nack({ nonce: kind.value.nonce, error: kind.value.error })
        if (r.stale) log.debug({ node_id: state.nodeId, nonce: kind.value.nonce }, 'ignoring stale nack')
        else
          log.warn(
            { node_id: state.nodeId, version: Number(kind.value.version), error: kind.value.error },
            'data plane rejected config; it keeps serving its previous one',
          )
        send(r.push)
      } else if (kind.case === 'heartbeat') {
        // Not echoed: the DP answers our heartbeats, so echoing its own would ping-pong forever.
        state.seen()
      }
    })

    const cleanup = () => {
      if (ended) return
      ended = true
      calls.delete(call)
      unsubscribe?.()
      if (state) {
        state.disconnected()
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

  const server = new grpc.Server(channelOptions)
  server.addService(configSyncService, { stream: serve })
  const host = options.listen.host.includes(':') ? `[${options.listen.host}]` : options.listen.host
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${options.listen.port}`, options.credentials, (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  )
  const address = `${host}:${port}`
  log.info({ address }, 'cluster sync server listening')

  return {
    address,
    registry,
    async close() {
      for (const call of calls) call.end()
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

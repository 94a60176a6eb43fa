/**
 * One proxy worker: the proxy listeners, a compiled copy of the node's config and a follower of the node's
 * health authority, fed by the main thread over `port` (see protocol.ts). It opens its listeners with
 * SO_REUSEPORT, so the kernel spreads new connections over every worker of the node.
 */
import type { MessagePort } from 'node:worker_threads'
import { type ConfigEntities, createLogger, type EntityRow, type Logger, type Snapshot } from '@turnpike/shared'
import { PeerPools } from '../backend/peer-pools.ts'
import { BalancerRegistry } from '../balancer/balancer-registry.ts'
import { createNameResolver } from '../balancer/dns/name-resolver.ts'
import { loadCustomPlugins } from '../plugins/load-custom.ts'
import { exportSeries } from '../plugins/prometheus/metrics.ts'
import { attachLocalCounters } from '../plugins/rate-limiting/local-counters.ts'
import { ProxyServer } from '../proxy/proxy-server.ts'
import { SnapshotApplier } from '../runtime/snapshot-applier.ts'
import type { FromWorker, ToWorker, WorkerInit } from './protocol.ts'

/** A snapshot being received: its head, the collections taken from the live snapshot, the rows so far. */
interface Incoming {
  readonly head: Extract<ToWorker, { type: 'snapshot-begin' }>
  readonly entities: ConfigEntities
}

export async function runProxyWorker(port: MessagePort, init: WorkerInit): Promise<void> {
  const send = (m: FromWorker) => port.postMessage(m)
  const logger = createLogger(init.logLevel).child({ plane: 'data', worker: init.index })
  const { settings } = init
  attachLocalCounters(init.counters)
  try {
    if (settings.plugins_dir) await loadCustomPlugins(settings.plugins_dir, logger)
  } catch (err) {
    send({ type: 'failed', error: `custom plugins failed to load: ${(err as Error).message}` })
    return
  }
  const pools = new PeerPools(logger)
  const resolver = createNameResolver(settings, logger)
  const halfOpen = settings.upstream_passive_half_open
  const outcomes: Extract<FromWorker, { type: 'passive' }>['outcomes'] = []
  const balancers = new BalancerRegistry({
    resolver,
    logger,
    halfOpenAfterMs: halfOpen > 0 ? halfOpen * 1000 : undefined,
    allowLinkLocal: settings.upstream_allow_link_local,
    // Batched per turn: a burst of failures costs one message.
    relay: (upstreamId, key, outcome, trial) => {
      if (outcomes.length === 0) setImmediate(() => send({ type: 'passive', outcomes: outcomes.splice(0) }))
      outcomes.push([upstreamId, key, outcome, trial])
    },
  })
  const applier = new SnapshotApplier(
    {
      pools,
      allowLinkLocal: settings.upstream_allow_link_local,
      balancers: (upstreams, targets) => balancers.update(upstreams, targets),
    },
    logger,
  )
  const proxy = new ProxyServer(applier, logger, settings)
  let listening: Promise<void> | undefined
  const listen = () => {
    listening ??= openListeners(proxy, init, logger).then(
      (m) => send(m),
      (err: Error) => send({ type: 'failed', error: err.message }),
    )
    return listening
  }

  const incoming = new Map<number, Incoming>()
  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'snapshot-begin':
        incoming.set(m.seq, { head: m, entities: {} })
        break
      case 'snapshot-rows': {
        const into = incoming.get(m.seq)
        if (into === undefined) break
        const rows = JSON.parse(m.rows) as EntityRow[]
        const list = into.entities[m.collection]
        if (list === undefined) into.entities[m.collection] = rows
        else for (const row of rows) list.push(row)
        break
      }
      case 'snapshot-end': {
        const into = incoming.get(m.seq)
        incoming.delete(m.seq)
        if (into === undefined) break
        // A worker that waits for config opens its listeners once it has some.
        void applyIncoming(into, applier, send).then(() => {
          if (init.waitForConfig && applier.current !== undefined) void listen()
        })
        break
      }
      case 'verdicts':
        for (const [upstreamId, unhealthy] of m.upstreams) balancers.follow(upstreamId, unhealthy)
        break
      case 'stats':
        send({ type: 'stats', id: m.id, proxy: proxy.stats, series: exportSeries() })
        break
      case 'drain':
        void (async () => {
          await proxy.close(m.timeoutMs)
          await applier.close()
          balancers.close()
          resolver.close()
          await pools.closeAll(m.timeoutMs)
          send({ type: 'drained' })
          port.close()
        })()
        break
    }
  })
  if (!init.waitForConfig) await listen()
}

/** Applies a received snapshot, its reused collections taken from the live one, and reports the outcome. */
async function applyIncoming(
  { head, entities }: Incoming,
  applier: SnapshotApplier,
  send: (m: FromWorker) => void,
): Promise<void> {
  const live = applier.currentSnapshot()
  for (const collection of head.reuse) {
    const rows = live?.part_hashes[collection] === head.part_hashes[collection] && live?.entities[collection]
    if (!rows) {
      send({
        type: 'applied',
        seq: head.seq,
        result: { ok: false, error: 'stale base' },
        ref: applier.currentRef(),
        stale: true,
      })
      return
    }
    entities[collection] = rows
  }
  const snapshot: Snapshot = { version: head.version, hash: head.hash, part_hashes: head.part_hashes, entities }
  const result = await applier.apply(snapshot)
  send({ type: 'applied', seq: head.seq, result, ref: applier.currentRef() })
}

async function openListeners(
  proxy: ProxyServer,
  init: WorkerInit,
  logger: Logger,
): Promise<Extract<FromWorker, { type: 'listening' }>> {
  const urls = await proxy.listen(init.listen)
  logger.debug({ urls }, 'worker serving')
  return { type: 'listening', urls, bound: proxy.boundAddresses() }
}

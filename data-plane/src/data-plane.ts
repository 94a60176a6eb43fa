/**
 * Wires a data plane: on this thread the config source, the node's config and health authority and the Status
 * API; the proxy listeners on `worker_processes` worker threads (workers/).
 */
import type { LocalHealth, Logger, Settings, Snapshot } from '@turnpike/shared'
import { BalancerRegistry } from './balancer/balancer-registry.ts'
import { createNameResolver } from './balancer/dns/name-resolver.ts'
import type { ConfigSource } from './config-source/config-source.ts'
import { GrpcConfigSource } from './config-source/grpc-config-source.ts'
import { bootFromLocalConfig } from './config-source/local-config.ts'
import { SnapshotCache } from './config-source/snapshot-cache.ts'
import { loadCustomPlugins } from './plugins/load-custom.ts'
import { renderMetrics } from './plugins/prometheus/metrics.ts'
import { localCountersBuffer } from './plugins/rate-limiting/local-counters.ts'
import { StatusServer } from './status/status-server.ts'
import { NodeConfig } from './workers/node-config.ts'
import { ProxyWorkers } from './workers/proxy-workers.ts'

export interface DataPlaneOptions {
  settings: Settings
  logger: Logger
  /** Defaults to the control plane's gRPC stream at `settings.cluster_control_plane`. */
  source?: ConfigSource
  /** How long `close()` lets in-flight requests finish before dropping them (default 10 s). */
  shutdownTimeoutMs?: number
}

export interface DataPlane {
  /** URL of the first proxy listener ('' when proxy_listen is off). */
  proxyUrl: string
  /** URLs of every proxy listener, in `proxy_listen` order (https:// for `ssl` ones). */
  proxyUrls: string[]
  /** URL of the first status listener ('' when status_listen is off). */
  statusUrl: string
  /** Its upstreams' health (active and passive checks), and manual overrides. */
  health: LocalHealth
  /**
   * Replaces every proxy worker with one running `settings` (SIGHUP, `turnpike reload`) without closing the
   * proxy ports; settings the main thread holds (cluster, status listener, DNS) need a restart.
   */
  reload(settings: Settings): Promise<void>
  /** Graceful shutdown: stop accepting, drain in-flight requests (bounded), close the stream and upstream pools. */
  close(): Promise<void>
}

export async function startDataPlane(opts: DataPlaneOptions): Promise<DataPlane> {
  const { settings } = opts
  const logger = opts.logger.child({ plane: 'data' })
  const shutdownTimeoutMs = opts.shutdownTimeoutMs ?? 10_000
  // Custom plugins first: any snapshot validated below may configure them (the workers load them too).
  if (settings.plugins_dir) await loadCustomPlugins(settings.plugins_dir, logger)
  const resolver = createNameResolver(settings, logger)
  const halfOpen = settings.upstream_passive_half_open
  // The node's health authority: active checks run here once, every worker's proxied outcomes count here.
  const balancers: BalancerRegistry = new BalancerRegistry({
    resolver,
    logger,
    halfOpenAfterMs: halfOpen > 0 ? halfOpen * 1000 : undefined,
    allowLinkLocal: settings.upstream_allow_link_local,
    onVerdicts: (upstreamId, unhealthy) => workers.verdicts([[upstreamId, unhealthy]]),
  })
  const workers: ProxyWorkers = new ProxyWorkers({
    settings,
    logger,
    logLevel: opts.logger.level,
    counters: localCountersBuffer(),
    current: () => config.currentSnapshot(),
    verdicts: () => balancers.verdicts(),
    passive: (outcomes) => {
      for (const [upstreamId, key, outcome, trial] of outcomes) balancers.relayed(upstreamId, key, outcome, trial)
    },
  })
  const config = new NodeConfig(workers, balancers, logger)
  // The control plane hears this node's health, and may send overrides back.
  const source = opts.source ?? new GrpcConfigSource({ settings, logger, health: balancers })
  const stats = () => workers.stats()
  const status = new StatusServer(
    {
      config: () => config.currentRef(),
      ready: () => config.ready(),
      sync: () => source.status(),
      stats,
      metrics: async () => {
        const { server, series } = await stats()
        return renderMetrics(
          server,
          wantsTargetHealth(config.currentSnapshot()) ? balancers.report() : undefined,
          series,
        )
      },
    },
    logger,
  )

  let proxyUrls: string[]
  let statusUrls: string[]
  try {
    proxyUrls = settings.proxy_listen.length ? await workers.start() : []
    statusUrls = await status.listen(settings.status_listen)
  } catch (err) {
    await Promise.all([workers.close(0), status.close()])
    balancers.close()
    resolver.close()
    throw err
  }
  // A data plane fed by its control plane boots from its cache, else the fallback file, and persists every config.
  const cache = opts.source ? undefined : new SnapshotCache({ prefix: settings.prefix, logger })
  if (cache) {
    config.onApplied((snapshot) => cache.save(snapshot))
    await bootFromLocalConfig({
      cache,
      declarativeConfig: settings.declarative_config,
      keyringSecret: settings.keyring_secret,
      apply: (snapshot) => config.apply(snapshot),
      logger,
    })
  }
  source.start(
    (snapshot) => config.apply(snapshot),
    () => config.currentSnapshot(),
  )

  let closing: Promise<void> | undefined
  const shutdown = async () => {
    logger.info('data plane shutting down')
    await Promise.all([source.stop(), workers.close(shutdownTimeoutMs), status.close()])
    balancers.close()
    resolver.close()
    await cache?.flush()
    logger.info('data plane stopped')
  }
  return {
    proxyUrl: proxyUrls[0] ?? '',
    proxyUrls,
    statusUrl: statusUrls[0] ?? '',
    health: balancers,
    reload: (next) => workers.reload(next, shutdownTimeoutMs),
    close: () => {
      closing ??= shutdown()
      return closing
    },
  }
}

/** Whether an enabled prometheus instance asks for `kong_upstream_target_health` (`upstream_health_metrics`). */
function wantsTargetHealth(snapshot: Snapshot | undefined): boolean {
  const plugins = snapshot?.entities.plugins ?? []
  return plugins.some(
    (p) =>
      p.name === 'prometheus' &&
      p.enabled !== false &&
      (p.config as { upstream_health_metrics?: unknown } | null)?.upstream_health_metrics === true,
  )
}

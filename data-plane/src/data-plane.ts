/** Wires a data plane: config source → applier → proxy listeners, plus the Status API. */
import type { LocalHealth, Logger, Settings } from '@turnpike/shared'
import { PeerPools } from './backend/peer-pools.ts'
import { BalancerRegistry } from './balancer/balancer-registry.ts'
import { createNameResolver } from './balancer/dns/name-resolver.ts'
import type { ConfigSource } from './config-source/config-source.ts'
import { GrpcConfigSource } from './config-source/grpc-config-source.ts'
import { bootFromLocalConfig } from './config-source/local-config.ts'
import { SnapshotCache } from './config-source/snapshot-cache.ts'
import { loadCustomPlugins } from './plugins/load-custom.ts'
import { renderMetrics } from './plugins/prometheus/metrics.ts'
import { ProxyServer } from './proxy/proxy-server.ts'
import { SnapshotApplier } from './runtime/snapshot-applier.ts'
import { StatusServer } from './status/status-server.ts'

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
  /** Graceful shutdown: stop accepting, drain in-flight requests (bounded), close the stream and upstream pools. */
  close(): Promise<void>
}

export async function startDataPlane(opts: DataPlaneOptions): Promise<DataPlane> {
  const { settings } = opts
  const logger = opts.logger.child({ plane: 'data' })
  const shutdownTimeoutMs = opts.shutdownTimeoutMs ?? 10_000
  // Custom plugins first: any snapshot applied below may configure them.
  if (settings.plugins_dir) await loadCustomPlugins(settings.plugins_dir, logger)
  const pools = new PeerPools(logger)
  const resolver = createNameResolver(settings, logger)
  const halfOpen = settings.upstream_passive_half_open
  const balancers = new BalancerRegistry({
    resolver,
    logger,
    halfOpenAfterMs: halfOpen > 0 ? halfOpen * 1000 : undefined,
    allowLinkLocal: settings.upstream_allow_link_local,
  })
  // The control plane hears this node's health, and may send overrides back.
  const source = opts.source ?? new GrpcConfigSource({ settings, logger, health: balancers })
  const applier = new SnapshotApplier(
    {
      pools,
      allowLinkLocal: settings.upstream_allow_link_local,
      balancers: (upstreams, targets) => balancers.update(upstreams, targets),
    },
    logger,
  )
  const proxy = new ProxyServer(applier, logger, settings)
  const status = new StatusServer(
    {
      config: () => applier.currentRef(),
      sync: () => source.status(),
      proxy: proxy.stats,
      metrics: () => renderMetrics(proxy.stats, wantsTargetHealth(applier) ? balancers.report() : undefined),
    },
    logger,
  )

  let proxyUrls: string[]
  let statusUrls: string[]
  try {
    proxyUrls = await proxy.listen(settings.proxy_listen)
    statusUrls = await status.listen(settings.status_listen)
  } catch (err) {
    await Promise.all([proxy.close(0), status.close()])
    balancers.close()
    resolver.close()
    await pools.closeAll(0)
    throw err
  }
  // A data plane fed by its control plane boots from its cache, else the fallback file, and persists every config.
  const cache = opts.source ? undefined : new SnapshotCache({ prefix: settings.prefix, logger })
  if (cache) {
    applier.onApplied((snapshot) => cache.save(snapshot))
    await bootFromLocalConfig({
      cache,
      declarativeConfig: settings.declarative_config,
      keyringSecret: settings.keyring_secret,
      apply: (snapshot) => applier.apply(snapshot),
      logger,
    })
  }
  source.start(
    (snapshot) => applier.apply(snapshot),
    () => applier.currentSnapshot(),
  )

  let closing: Promise<void> | undefined
  const shutdown = async () => {
    logger.info('data plane shutting down')
    await Promise.all([source.stop(), proxy.close(shutdownTimeoutMs), status.close()])
    await applier.close()
    balancers.close()
    resolver.close()
    await cache?.flush()
    await pools.closeAll(shutdownTimeoutMs)
    logger.info('data plane stopped')
  }
  return {
    proxyUrl: proxyUrls[0] ?? '',
    proxyUrls,
    statusUrl: statusUrls[0] ?? '',
    health: balancers,
    close: () => {
      closing ??= shutdown()
      return closing
    },
  }
}

/** Whether an enabled prometheus instance asks for `kong_upstream_target_health` (`upstream_health_metrics`). */
function wantsTargetHealth(applier: SnapshotApplier): boolean {
  const plugins = applier.currentSnapshot()?.entities.plugins ?? []
  return plugins.some(
    (p) =>
      p.name === 'prometheus' &&
      p.enabled !== false &&
      (p.config as { upstream_health_metrics?: unknown } | null)?.upstream_health_metrics === true,
  )
}

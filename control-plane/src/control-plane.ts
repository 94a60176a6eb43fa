/** Wires the control plane: database and migrations, snapshot builder, Admin API, and the cluster sync server. */
import { randomUUID } from 'node:crypto'
import { HEALTH_CAPABILITY } from '@turnpike/proto'
import type { LocalHealth, Logger, Settings, SnapshotFeed } from '@turnpike/shared'
import { loadClusterIdentity, loadPluginDefinitions, TurnpikeError } from '@turnpike/shared'
import { buildAdminApi, listenAdminApi } from './admin/admin-api.ts'
import { readChangesSince } from './db/change-reader.ts'
import { readConfig } from './db/config-reader.ts'
import { openDatabase } from './db/database.ts'
import { createEntityStore } from './db/entity-store.ts'
import { runMigrations } from './db/migrate.ts'
import { clusterHealthSource, type HealthSource, LocalHealthSource } from './health/health-source.ts'
import { shutdownSteps } from './shutdown-steps.ts'
import { clusterMetrics } from './sync/cluster-metrics.ts'
import type { ClusteringRoutesOptions } from './sync/clustering-routes.ts'
import { DataPlaneRegistry } from './sync/data-plane-registry.ts'
import { clusterCredentials, startSyncServer } from './sync/grpc-server.ts'
import { createRegistryStore } from './sync/registry-store.ts'
import { startSnapshotBuilder } from './sync/snapshot-builder.ts'

export interface ControlPlane {
  /** Every new config snapshot; an in-process data plane (role traditional) reads it directly. */
  feed: SnapshotFeed
  /** Admin API base URL (`http://host:port`); '' when admin_listen is off. */
  adminUrl: string
  /** host:port of the sync server, when serving a cluster. */
  clusterAddress?: string
  /** Data planes seen on the sync stream, when serving a cluster. */
  registry?: DataPlaneRegistry
  /**
   * Gives the Admin API the in-process data plane's balancers (role traditional and DB-less), for
   * `/upstreams/{u}/health` and the manual overrides. A control plane shows its data planes' reports instead.
   */
  attachLocalHealth(health: LocalHealth): void
  /** DB-less: reads `declarative_config` again and serves it (SIGHUP, `turnpike reload`); throws naming its errors. */
  reloadDeclarative?(): Promise<void>
  /** Stops accepting, ends DP streams, stops the builder and closes the database. */
  close(): Promise<void>
}

/**
 * Starts a control plane. Pending migrations run first (kysely's migration lock makes concurrent
 * starts of several replicas safe). `serveCluster` starts the gRPC sync server on `cluster_listen`.
 */
export async function startControlPlane(options: {
  settings: Settings
  logger: Logger
  serveCluster: boolean
}): Promise<ControlPlane> {
  const { settings, logger } = options
  const log = logger.child({ component: 'control-plane' })
  const { push: addCloser, closeAll } = shutdownSteps(log)

  try {
    // Custom plugin definitions (plugins_dir) before anything validates a plugin config against them.
    if (settings.plugins_dir) await loadPluginDefinitions(settings.plugins_dir)
    const db = await openDatabase(settings, logger)
    addCloser(() => db.destroy())
    await runMigrations(db, logger, 'up')
    const keyringSecret = settings.keyring_secret || undefined
    const builder = await startSnapshotBuilder({
      database: db,
      logger,
      read: () => readConfig(db, { keyringSecret }),
      readChanges: (since, expiredSince) => readChangesSince(db, since, expiredSince, { keyringSecret }),
    })
    addCloser(builder.close)
    const store = createEntityStore(db, { keyringSecret })
    // NOTIFY would trigger the rebuild too; asking directly saves the round trip.
    store.onWrite((version) => builder.request(version))

    const nodeId = randomUUID()
    let cluster:
      | { address: string; registry: DataPlaneRegistry; clustering: ClusteringRoutesOptions; health: HealthSource }
      | undefined
    if (options.serveCluster) {
      const listen = settings.cluster_listen[0]
      if (!listen)
        throw new TurnpikeError('INVALID_OPTIONS', 'a control plane needs cluster_listen to serve data planes')
      const identity = loadClusterIdentity(settings)
      const registryStore = createRegistryStore(db)
      const registry = new DataPlaneRegistry({
        store: registryStore,
        logger,
        controlPlaneId: nodeId,
        purgeDelaySeconds: settings.cluster_data_plane_purge_delay,
      })
      registry.start()
      addCloser(() => registry.close())
      const sync = await startSyncServer({
        feed: builder,
        logger,
        listen,
        credentials: clusterCredentials(settings, identity, logger),
        identity,
        registry,
        maxPayload: settings.cluster_max_payload,
        touched: builder.touched,
      })
      addCloser(sync.close)
      const metrics = clusterMetrics(registry, builder)
      cluster = {
        address: sync.address,
        registry,
        clustering: { role: settings.role, registry, store: registryStore, metrics },
        health: clusterHealthSource(registry, sync.overrideHealth, HEALTH_CAPABILITY),
      }
    }

    const local = cluster ? undefined : new LocalHealthSource(nodeId)
    const admin = buildAdminApi({
      store,
      db,
      settings,
      logger,
      nodeId,
      feed: builder,
      clustering: cluster?.clustering ?? { role: settings.role },
      health: cluster?.health ?? local,
    })
    addCloser(() => admin.close())
    const exposed = settings.admin_listen.filter((a) => !/^(127\.|::1$|localhost$)/.test(a.host))
    if (exposed.length && !settings.admin_token)
      log.warn(
        { admin_listen: exposed },
        'the Admin API listens beyond loopback without admin_token: anyone who can reach it controls the gateway',
      )
    const adminUrl = await listenAdminApi(admin, settings.admin_listen, logger)

    let closing: Promise<void> | undefined
    return {
      feed: builder,
      adminUrl,
      clusterAddress: cluster?.address,
      registry: cluster?.registry,
      attachLocalHealth: (health) => {
        if (!local)
          throw new TurnpikeError('INVALID_OPTIONS', 'a control plane shows its data planes’ health, not its own')
        local.attach(health)
      },
      close: () => {
        closing ??= closeAll()
        return closing
      },
    }
  } catch (err) {
    await closeAll()
    throw err
  }
}

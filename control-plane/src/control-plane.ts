/** Wires the control plane: database and migrations, snapshot builder, Admin API, and the cluster sync server. */
import { randomUUID } from 'node:crypto'
import type { Logger, Settings, SnapshotFeed } from '@turnpike/shared'
import { TurnpikeError } from '@turnpike/shared'
import { buildAdminApi, listenAdminApi } from './admin/admin-api.ts'
import { openDatabase } from './db/database.ts'
import { createEntityStore } from './db/entity-store.ts'
import { runMigrations } from './db/migrate.ts'
import type { DataPlaneRegistry } from './sync/data-plane-registry.ts'
import { clusterCredentials, startSyncServer } from './sync/grpc-server.ts'
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
  const closers: (() => Promise<void>)[] = []
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) {
      try {
        await close()
      } catch (err) {
        log.error({ err }, 'shutdown step failed')
      }
    }
  }

  try {
    const db = await openDatabase(settings, logger)
    closers.push(() => db.destroy())
    await runMigrations(db, logger, 'up')
    const builder = await startSnapshotBuilder({ database: db, logger })
    closers.push(builder.close)
    const store = createEntityStore(db)
    // NOTIFY would trigger the rebuild too; asking directly saves the round trip.
    store.onWrite((version) => builder.request(version))

    let cluster: { address: string; registry: DataPlaneRegistry } | undefined
    if (options.serveCluster) {
      const listen = settings.cluster_listen[0]
      if (!listen)
        throw new TurnpikeError('INVALID_OPTIONS', 'a control plane needs cluster_listen to serve data planes')
      const sync = await startSyncServer({
        feed: builder,
        logger,
        listen,
        credentials: clusterCredentials(settings, logger),
      })
      closers.push(sync.close)
      cluster = sync
    }

    const admin = buildAdminApi({ store, db, settings, logger, nodeId: randomUUID(), feed: builder })
    closers.push(() => admin.close())
    const adminUrl = await listenAdminApi(admin, settings.admin_listen, logger)

    let closing: Promise<void> | undefined
    return {
      feed: builder,
      adminUrl,
      clusterAddress: cluster?.address,
      registry: cluster?.registry,
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

/** The control plane: Postgres/PGlite storage, the Kong-compatible Admin API, snapshots and the cluster sync server. */
export { type AdminApiOptions, buildAdminApi, listenAdminApi } from './admin/admin-api.ts'
export { type ControlPlane, startControlPlane } from './control-plane.ts'
export { CONFIG_CHANNEL, type ConfigRead, readConfig } from './db/config-reader.ts'
export { Database, openDatabase, type Tables } from './db/database.ts'
export { createEntityStore, type EntityStore, type Page, type PageOptions } from './db/entity-store.ts'
export { type MigrationReport, runMigrations } from './db/migrate.ts'
export { DataPlaneRegistry } from './sync/data-plane-registry.ts'
export { clusterCredentials, SNAPSHOT_ENCODING, type SyncServer, startSyncServer } from './sync/grpc-server.ts'
export { type SnapshotBuilder, startSnapshotBuilder } from './sync/snapshot-builder.ts'
export {
  type AnswerResult,
  type DataPlaneHello,
  type DataPlaneStatus,
  type Push,
  StreamState,
  type SyncStatus,
} from './sync/stream-state.ts'

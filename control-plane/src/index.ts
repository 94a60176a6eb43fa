/** The control plane: Postgres/PGlite storage, the Kong-compatible Admin API, snapshots and the cluster sync server. */
export { type AdminApiOptions, buildAdminApi, listenAdminApi } from './admin/admin-api.ts'
export { type ControlPlane, startControlPlane } from './control-plane.ts'
export { CONFIG_CHANNEL, type ConfigRead, type ReadConfigOptions, readConfig } from './db/config-reader.ts'
export { Database, openDatabase, type Tables } from './db/database.ts'
export {
  checkEntity,
  createEntityStore,
  type EntityStore,
  type Page,
  type PageOptions,
  type Scope,
  type WriteOptions,
} from './db/entity-store.ts'
export { readKeyring } from './db/keyring.ts'
export { type MigrationReport, runMigrations } from './db/migrate.ts'
export { fromRow, toRow } from './db/row-codec.ts'
export type { DeclarativeLoader } from './declarative/config-routes.ts'
export { readDeclarativeFile, startDeclarativeNode } from './declarative/dbless-node.ts'
export {
  type CollectionDiff,
  type ConfigDiff,
  diffConfig,
  diffCounts,
  type EntityUpdate,
  formatDiff,
  hasDrift,
  summarizeDiff,
} from './declarative/diff-config.ts'
export {
  DeclarativeConfigError,
  type ImportOptions,
  type ImportProgress,
  type ImportResult,
  importDeclarative,
} from './declarative/import-config.ts'
export { ChangeLog } from './sync/change-log.ts'
export { clusterMetrics } from './sync/cluster-metrics.ts'
export { DataPlaneRegistry } from './sync/data-plane-registry.ts'
export { clusterCredentials, type SyncServer, type SyncServerOptions, startSyncServer } from './sync/grpc-server.ts'
export { createRegistryStore, type DataPlaneRecord, type RegistryStore } from './sync/registry-store.ts'
export { type SnapshotBuilder, startSnapshotBuilder } from './sync/snapshot-builder.ts'
export {
  type AnswerResult,
  type DataPlaneHello,
  type DataPlaneStatus,
  type Outgoing,
  StreamState,
  type SyncStatus,
  versionSkew,
} from './sync/stream-state.ts'

/** The data plane: receives config snapshots, compiles them, and proxies traffic with Kong's routing semantics. */
export type {
  ApplyResult,
  ConfigRef,
  ConfigSource,
  SnapshotHandler,
  SyncState,
  SyncStatus,
} from './config-source/config-source.ts'
export { FeedConfigSource } from './config-source/feed-config-source.ts'
export { GrpcConfigSource, type GrpcConfigSourceOptions } from './config-source/grpc-config-source.ts'
export { loadNodeId } from './config-source/node-id.ts'
export { type DataPlane, type DataPlaneOptions, startDataPlane } from './data-plane.ts'
export { normalizePath } from './router/normalize-path.ts'
export { type CompiledRoute, type RouteMatch, Router, type RouterRequest } from './router/router.ts'
export type { ConfigRows, RouteRow, ServiceRow } from './runtime/entity-rows.ts'
export { type ValidationOutcome, validateSnapshotEntities } from './runtime/validate-snapshot.ts'

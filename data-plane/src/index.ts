/** The data plane: receives config snapshots, compiles them, and proxies traffic with Kong's routing semantics. */

export { PeerPools } from './backend/peer-pools.ts'
export type {
  ApplyResult,
  ConfigRef,
  ConfigSource,
  SnapshotHandler,
  SyncState,
  SyncStatus,
} from './config-source/config-source.ts'
export { decodeDeltaMessage, decodeSnapshotMessage } from './config-source/decode-config.ts'
export { FeedConfigSource } from './config-source/feed-config-source.ts'
export { GrpcConfigSource, type GrpcConfigSourceOptions } from './config-source/grpc-config-source.ts'
export { loadNodeId } from './config-source/node-id.ts'
export { availablePlugins } from './config-source/plugin-set.ts'
export { SnapshotCache } from './config-source/snapshot-cache.ts'
export { type DataPlane, type DataPlaneOptions, startDataPlane } from './data-plane.ts'
export type { Pipeline } from './pipeline/compile.ts'
export type { ConsumerRow } from './pipeline/consumers.ts'
export {
  type AuthCredential,
  type CompileEnv,
  defineHandler,
  type PhaseResult,
  type PluginContext,
  type PluginHandler,
  type PluginRequest,
  type PluginResponse,
  type ResponseView,
  type UpstreamRequest,
} from './pipeline/types.ts'
export { loadCustomPlugins } from './plugins/load-custom.ts'
export { handlerFor } from './plugins/registry.ts'
export { normalizePath } from './router/normalize-path.ts'
export { type CompiledRoute, type RouteMatch, Router, type RouterRequest } from './router/router.ts'
export type { ConfigRows, RouteRow, ServiceRow } from './runtime/entity-rows.ts'
export { SnapshotApplier } from './runtime/snapshot-applier.ts'
export { type ValidationOutcome, validateSnapshotEntities } from './runtime/validate-snapshot.ts'

/** Plugin definitions: the bundled ones, custom ones from plugins_dir, their config types and validation. */
export { type AclConfig, acl } from './acl.ts'
export { type BasicAuthConfig, basicAuth } from './basic-auth.ts'
export { type BotDetectionConfig, botDetection } from './bot-detection.ts'
export type { LogQueueConfig, RedisConfig } from './common-fields.ts'
export { type CorrelationIdConfig, correlationId } from './correlation-id.ts'
export { type CorsConfig, cors } from './cors.ts'
export { definePlugin } from './define.ts'
export { type FileLogConfig, fileLog } from './file-log.ts'
export { type HmacAlgorithm, type HmacAuthConfig, hmacAlgorithms, hmacAuth } from './hmac-auth.ts'
export { type HttpLogConfig, httpLog } from './http-log.ts'
export { type IpRestrictionConfig, ipRestriction } from './ip-restriction.ts'
export { type JwtConfig, jwt } from './jwt.ts'
export { type KeyAuthConfig, keyAuth } from './key-auth.ts'
export {
  type CustomPluginDir,
  customPluginDirs,
  loadPluginDefinitions,
  pluginDefProblem,
} from './load-definitions.ts'
export { concreteEntityDef, pluginEntityDef } from './plugin-entity.ts'
export { type PrometheusConfig, prometheus } from './prometheus.ts'
export { RATE_LIMIT_PERIODS, type RateLimitingConfig, type RateLimitPeriod, rateLimiting } from './rate-limiting.ts'
export {
  allPluginDefs,
  customPluginDefs,
  pluginByName,
  pluginDefs,
  registerPluginDefs,
} from './registry.ts'
export { type RequestSizeLimitingConfig, requestSizeLimiting, sizeUnits } from './request-size-limiting.ts'
export { type RequestTerminationConfig, requestTermination } from './request-termination.ts'
export { type RequestTransformerConfig, requestTransformer, splitPair } from './request-transformer.ts'
export { type ResponseTransformerConfig, responseTransformer } from './response-transformer.ts'
export type { PluginDef, PluginPhase, PluginProtocols } from './types.ts'
export { notEnabledError, validatePlugin, validatePluginConfig } from './validate.ts'

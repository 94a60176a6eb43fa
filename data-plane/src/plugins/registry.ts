/**
 * The data plane's plugin handlers by name: the bundled ones, plus custom ones from plugins_dir. A test keeps
 * this in step with the shared definitions.
 */
import type { PluginHandler } from '../pipeline/types.ts'
import { aclHandler } from './acl/handler.ts'
import { basicAuthHandler } from './basic-auth/handler.ts'
import { botDetectionHandler } from './bot-detection/handler.ts'
import { correlationIdHandler } from './correlation-id/handler.ts'
import { corsHandler } from './cors/handler.ts'
import { fileLogHandler } from './file-log/handler.ts'
import { hmacAuthHandler } from './hmac-auth/handler.ts'
import { httpLogHandler } from './http-log/handler.ts'
import { ipRestrictionHandler } from './ip-restriction/handler.ts'
import { jwtHandler } from './jwt/handler.ts'
import { keyAuthHandler } from './key-auth/handler.ts'
import { prometheusHandler } from './prometheus/handler.ts'
import { rateLimitingHandler } from './rate-limiting/handler.ts'
import { requestSizeLimitingHandler } from './request-size-limiting/handler.ts'
import { requestTerminationHandler } from './request-termination/handler.ts'
import { requestTransformerHandler } from './request-transformer/handler.ts'
import { responseTransformerHandler } from './response-transformer/handler.ts'

// biome-ignore lint/suspicious/noExplicitAny: the registry holds handlers of every config type
type AnyHandler = PluginHandler<any, any>

/** Bundled handlers; the folder name under plugins/ is the plugin name. */
export const bundledHandlers: ReadonlyMap<string, AnyHandler> = new Map<string, AnyHandler>([
  ['acl', aclHandler],
  ['basic-auth', basicAuthHandler],
  ['bot-detection', botDetectionHandler],
  ['correlation-id', correlationIdHandler],
  ['cors', corsHandler],
  ['file-log', fileLogHandler],
  ['hmac-auth', hmacAuthHandler],
  ['http-log', httpLogHandler],
  ['ip-restriction', ipRestrictionHandler],
  ['jwt', jwtHandler],
  ['key-auth', keyAuthHandler],
  ['prometheus', prometheusHandler],
  ['rate-limiting', rateLimitingHandler],
  ['request-size-limiting', requestSizeLimitingHandler],
  ['request-termination', requestTerminationHandler],
  ['request-transformer', requestTransformerHandler],
  ['response-transformer', responseTransformerHandler],
])

const custom = new Map<string, AnyHandler>()

export function handlerFor(name: string): AnyHandler | undefined {
  return bundledHandlers.get(name) ?? custom.get(name)
}

/** Adds a custom plugin's handler; a bundled name or another handler under a taken name throws. */
export function registerHandler(name: string, handler: AnyHandler): void {
  if (bundledHandlers.has(name)) throw new Error(`plugin '${name}' is bundled; a custom plugin cannot replace it`)
  const known = custom.get(name)
  if (known && known !== handler) throw new Error(`a handler for plugin '${name}' is already registered`)
  custom.set(name, handler)
}

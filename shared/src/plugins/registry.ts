/** The bundled plugin definitions, highest priority first (the order handlers run in a phase). */
import { acl } from './acl.ts'
import { basicAuth } from './basic-auth.ts'
import { botDetection } from './bot-detection.ts'
import { correlationId } from './correlation-id.ts'
import { cors } from './cors.ts'
import { fileLog } from './file-log.ts'
import { hmacAuth } from './hmac-auth.ts'
import { httpLog } from './http-log.ts'
import { ipRestriction } from './ip-restriction.ts'
import { jwt } from './jwt.ts'
import { keyAuth } from './key-auth.ts'
import { prometheus } from './prometheus.ts'
import { rateLimiting } from './rate-limiting.ts'
import { requestSizeLimiting } from './request-size-limiting.ts'
import { requestTermination } from './request-termination.ts'
import { requestTransformer } from './request-transformer.ts'
import { responseTransformer } from './response-transformer.ts'
import type { PluginDef } from './types.ts'

export const pluginDefs: readonly PluginDef[] = [
  acl,
  basicAuth,
  botDetection,
  correlationId,
  cors,
  fileLog,
  hmacAuth,
  httpLog,
  ipRestriction,
  jwt,
  keyAuth,
  prometheus,
  rateLimiting,
  requestSizeLimiting,
  requestTermination,
  requestTransformer,
  responseTransformer,
].sort((a, b) => b.priority - a.priority)

const byName = new Map(pluginDefs.map((d) => [d.name, d]))
let custom: PluginDef[] = []

/** A bundled or registered custom plugin definition by name. */
export function pluginByName(name: string): PluginDef | undefined {
  return byName.get(name)
}

/** Bundled and registered custom definitions, highest priority first. */
export function allPluginDefs(): readonly PluginDef[] {
  return custom.length ? [...pluginDefs, ...custom].sort((a, b) => b.priority - a.priority) : pluginDefs
}

/** Custom (plugins_dir) definitions registered in this process. */
export function customPluginDefs(): readonly PluginDef[] {
  return custom
}

/**
 * Makes custom plugin definitions known to validation and ordering. Registering the same definition object
 * again is a no-op (both planes of one process load the same directory); a different definition under a known
 * name throws.
 */
export function registerPluginDefs(defs: readonly PluginDef[]): void {
  for (const def of defs) {
    const known = byName.get(def.name)
    if (known === def) continue
    if (known) throw new Error(`plugin '${def.name}' is already defined${custom.includes(known) ? '' : ' (bundled)'}`)
    byName.set(def.name, def)
    custom = [...custom, def]
  }
}

/** The shape of a plugin definition: what the control plane needs to validate and order a plugin without its handler. */
import type { Rule } from '../entities/checks.ts'
import type { FieldDef } from '../schema/types.ts'

/** Request phases a handler can hook: Kong's header_filter/body_filter are folded into `response`. */
export type PluginPhase = 'rewrite' | 'access' | 'response' | 'log'

export interface PluginProtocols {
  /** Protocols the plugin may be enabled for (Kong's `protocols` field of the plugin schema). */
  allowed: readonly string[]
  /** Protocols it applies to when the instance names none. */
  default: readonly string[]
}

export interface PluginDef {
  name: string
  version: string
  /** Kong's PRIORITY: higher runs first within a phase. */
  priority: number
  phases: readonly PluginPhase[]
  /** Scopes the plugin cannot be attached to (Kong's `typedefs.no_consumer` and friends). */
  no_consumer?: boolean
  no_route?: boolean
  no_service?: boolean
  protocols: PluginProtocols
  /** Fields of `config`, with Kong's names, types and defaults. */
  config: Record<string, FieldDef>
  /** Kong's `config.custom_validator`: a whole-config check whose message is reported on `config`. */
  config_check?: (config: Record<string, unknown>) => string | undefined
  /** Kong's plugin `entity_checks`, run on `{config}`; field paths start with `config.`. */
  checks?: readonly Rule[]
  /** Kong's deprecated `shorthand_fields`: an input-only config key expanded (deep-merged) into real fields. */
  shorthands?: Record<string, (value: unknown) => Record<string, unknown>>
  /** Turnpike-only config fields (dotted paths below `config`): stripped when exporting for Kong. */
  extensions?: readonly string[]
}

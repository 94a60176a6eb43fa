/** Validation of plugin instances against their definitions, with Kong's error shapes. */

import { runRules } from '../entities/checks.ts'
import { plugins } from '../entities/plugins.ts'
import type { EntityErrors } from '../schema/types.ts'
import { type ValidationResult, validateEntity, validateField, validateRecord } from '../schema/validate.ts'
import { pluginByName } from './registry.ts'
import type { PluginDef } from './types.ts'

type Lookup = (name: string) => PluginDef | undefined

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function deepMerge(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(source)) {
    const t = target[k]
    if (isPlainObject(t) && isPlainObject(v)) deepMerge(t, v)
    else target[k] = isPlainObject(v) ? structuredClone(v) : v
  }
}

export function notEnabledError(name: string): EntityErrors {
  return { name: `plugin '${name}' not enabled; add it to the 'plugins' configuration property` }
}

/** Expands deprecated shorthand keys; explicit values of the real fields win over shorthands. */
function expandShorthands(def: PluginDef, input: Record<string, unknown>): Record<string, unknown> {
  if (!def.shorthands) return input
  const expanded: Record<string, unknown> = {}
  const rest: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(input)) {
    const expand = def.shorthands[k]
    if (expand && v !== undefined && v !== null) deepMerge(expanded, expand(v))
    else if (!expand) rest[k] = v
  }
  deepMerge(expanded, rest)
  return expanded
}

function checkConfig(def: PluginDef, config: unknown): ValidationResult<Record<string, unknown>> {
  const input = config === undefined || config === null ? {} : config
  if (!isPlainObject(input)) return { ok: false, errors: { config: 'expected a record' } }
  const r = validateRecord(def.config, expandShorthands(def, input))
  if (!r.ok) return { ok: false, errors: { config: r.errors } }
  const message = def.config_check?.(r.value)
  if (message) return { ok: false, errors: { config: message } }
  const errors = runRules(def.checks ?? [], { config: r.value })
  return errors ? { ok: false, errors } : r
}

/**
 * Validates a plugin's `config` and fills its defaults. Errors are shaped as on the plugin entity:
 * field errors under `config`, cross-field messages under `@entity`, an unknown plugin under `name`.
 */
export function validatePluginConfig(
  name: string,
  config: unknown,
  lookup: Lookup = pluginByName,
): ValidationResult<Record<string, unknown>> {
  const def = lookup(name)
  if (!def) return { ok: false, errors: notEnabledError(name) }
  return checkConfig(def, config)
}

/**
 * Validates a whole plugin entity: the generic fields, the plugin's protocols and scopes, then its config.
 * Returns the entity with defaults filled, `config` included.
 */
export function validatePlugin(
  input: Record<string, unknown>,
  lookup: Lookup = pluginByName,
): ValidationResult<Record<string, unknown>> {
  const def = typeof input.name === 'string' ? lookup(input.name) : undefined
  if (typeof input.name === 'string' && !def) return { ok: false, errors: notEnabledError(input.name) }
  // The plugin's own protocol default replaces the generic one.
  const source = def && input.protocols === undefined ? { ...input, protocols: [...def.protocols.default] } : input
  const base = validateEntity(plugins, source)
  if (!def) return base
  const errors: EntityErrors = base.ok ? {} : { ...base.errors }
  // The plugin may allow fewer protocols than the generic field.
  if (!('protocols' in errors) && Array.isArray(source.protocols)) {
    const r = validateField(
      { type: 'set', elements: { type: 'string', one_of: def.protocols.allowed } },
      source.protocols,
    )
    if (r.error !== undefined) errors.protocols = r.error
  }
  for (const scope of ['consumer', 'route', 'service'] as const)
    if (def[`no_${scope}`] && source[scope] !== undefined && source[scope] !== null)
      errors[scope] = 'value must be null'
  const config = checkConfig(def, input.config)
  if (!config.ok) {
    const { '@entity': entity, ...rest } = config.errors
    Object.assign(errors, rest)
    if (Array.isArray(entity)) errors['@entity'] = [...((errors['@entity'] as string[]) ?? []), ...entity]
  }
  if (Object.keys(errors).length) return { ok: false, errors }
  return { ok: true, value: { ...(base.ok ? base.value : {}), config: config.ok ? config.value : null } }
}

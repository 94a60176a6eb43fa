/** A plugin instance's full definition: the generic `plugins` entity with this plugin's `config` and protocols. */
import { plugins } from '../entities/plugins.ts'
import type { EntityDef, FieldDef } from '../schema/types.ts'
import { pluginByName } from './registry.ts'
import type { PluginDef } from './types.ts'

const cache = new WeakMap<PluginDef, EntityDef>()

/** The `plugins` entity as seen by one plugin: form decoding, PATCH merges and published schemas use it. */
export function pluginEntityDef(def: PluginDef): EntityDef {
  let out = cache.get(def)
  if (!out) {
    const config: FieldDef = { type: 'record', fields: def.config, description: `${def.name} configuration` }
    const protocols: FieldDef = {
      type: 'set',
      required: true,
      default: [...def.protocols.default],
      elements: { type: 'string', one_of: def.protocols.allowed },
    }
    out = { ...plugins, fields: { ...plugins.fields, config, protocols } }
    cache.set(def, out)
  }
  return out
}

/** The definition an entity of `def` is read with: a plugin's own one when `name` names a known plugin. */
export function concreteEntityDef(def: EntityDef, name: unknown): EntityDef {
  if (def !== plugins || typeof name !== 'string') return def
  const plugin = pluginByName(name)
  return plugin ? pluginEntityDef(plugin) : def
}

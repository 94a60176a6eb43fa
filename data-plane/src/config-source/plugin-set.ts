/** The plugins a data plane reports in its Hello: Kong's `plugins` setting over the shared definitions. */
import { customPluginDefs, pluginDefs } from '@turnpike/shared'
import { handlerFor } from '../plugins/registry.ts'

export interface PluginVersion {
  name: string
  version: string
}

/**
 * `bundled` stands for every bundled plugin, other entries name one each; custom plugins loaded from
 * `plugins_dir` always count. Only plugins with a handler here are reported; names this build does not know are
 * left out (the CP then refuses config using them).
 */
export function availablePlugins(setting: readonly string[]): PluginVersion[] {
  const bundled = setting.includes('bundled')
  const named = new Set(setting)
  return [...pluginDefs.filter((d) => bundled || named.has(d.name)), ...customPluginDefs()]
    .filter((d) => handlerFor(d.name))
    .map((d) => ({ name: d.name, version: d.version }))
}

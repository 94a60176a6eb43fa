import { TURNPIKE_VERSION } from '../version.ts'
import type { PluginDef } from './types.ts'

/** Checks a bundled plugin definition's shape at compile time; bundled plugins carry Turnpike's version. */
export function definePlugin(def: Omit<PluginDef, 'version'> & { version?: string }): PluginDef {
  return { ...def, version: def.version ?? TURNPIKE_VERSION }
}

/**
 * Custom plugins (`plugins_dir`): one folder per plugin holding `definition.ts` (a PluginDef, the part both planes
 * need) and `handler.ts` (the data plane's half). This reads and checks the definitions; the data plane loads the
 * handlers beside them.
 */
import { readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { TurnpikeError } from '../errors.ts'
import { TURNPIKE_VERSION } from '../version.ts'
import { registerPluginDefs } from './registry.ts'
import type { PluginDef, PluginPhase } from './types.ts'

const PHASES: ReadonlySet<string> = new Set<PluginPhase>(['rewrite', 'access', 'response', 'log'])
const NAME = /^[a-z0-9][a-z0-9_-]*$/

export interface CustomPluginDir {
  /** Folder name, which is the plugin name. */
  name: string
  /** Absolute path of the plugin's folder. */
  path: string
}

/** The plugin folders under `dir` (those holding a definition.ts), sorted by name. */
export function customPluginDirs(dir: string): CustomPluginDir[] {
  const root = resolve(dir)
  let names: string[]
  try {
    names = readdirSync(root)
  } catch (err) {
    throw new TurnpikeError('INVALID_OPTIONS', `plugins_dir '${dir}' cannot be read: ${(err as Error).message}`)
  }
  return names
    .filter((n) => !n.startsWith('.') && statSync(join(root, n)).isDirectory())
    .filter((n) => {
      try {
        return statSync(join(root, n, 'definition.ts')).isFile()
      } catch {
        return false
      }
    })
    .sort()
    .map((name) => ({ name, path: join(root, name) }))
}

/** Why a module's export is not a usable plugin definition, or undefined. */
export function pluginDefProblem(def: unknown, folder: string): string | undefined {
  if (!def || typeof def !== 'object') return 'definition.ts must export a PluginDef (export `definition` or default)'
  const d = def as Partial<PluginDef>
  if (d.name !== folder) return `its name '${String(d.name)}' differs from its folder '${folder}'`
  if (!NAME.test(folder)) return 'plugin names are lowercase letters, digits, - and _'
  if (typeof d.priority !== 'number' || !Number.isFinite(d.priority)) return 'priority must be a number'
  if (!Array.isArray(d.phases) || d.phases.some((p) => !PHASES.has(p)))
    return `phases must be a list of ${[...PHASES].join(', ')}`
  if (!d.config || typeof d.config !== 'object') return 'config must be a record of field definitions'
  if (!d.protocols || !Array.isArray(d.protocols.allowed) || !Array.isArray(d.protocols.default))
    return 'protocols must name allowed and default protocol lists'
  return undefined
}

const loaded = new Map<string, Promise<PluginDef[]>>()

/**
 * Imports every `<dir>/<name>/definition.ts`, checks it and registers it for validation. Calls for the same
 * directory share one load, so a control plane and a data plane in one process see the same objects.
 */
export function loadPluginDefinitions(dir: string): Promise<PluginDef[]> {
  const key = resolve(dir)
  let p = loaded.get(key)
  if (!p) {
    p = importDefinitions(key)
    loaded.set(key, p)
    p.catch(() => loaded.delete(key))
  }
  return p
}

async function importDefinitions(dir: string): Promise<PluginDef[]> {
  const defs: PluginDef[] = []
  for (const { name, path } of customPluginDirs(dir)) {
    const mod = (await import(pathToFileURL(join(path, 'definition.ts')).href)) as Record<string, unknown>
    const def = (mod.definition ?? mod.default) as PluginDef | undefined
    const problem = pluginDefProblem(def, name)
    if (problem) throw new TurnpikeError('INVALID_OPTIONS', `custom plugin '${name}' (${path}): ${problem}`)
    defs.push({ ...(def as PluginDef), version: (def as PluginDef).version ?? TURNPIKE_VERSION })
  }
  registerPluginDefs(defs)
  return defs
}

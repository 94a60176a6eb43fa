/**
 * Custom plugins for the data plane (`plugins_dir`): each `<name>/definition.ts` is registered with the shared
 * definitions (so snapshot validation knows it) and its `<name>/handler.ts` with the handler registry. A handler
 * must implement exactly the phases its definition lists (`response` may come with `body`).
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { type Logger, loadPluginDefinitions, type PluginDef, TurnpikeError } from '@turnpike/shared'
import type { PluginHandler } from '../pipeline/types.ts'
import { registerHandler } from './registry.ts'

const PHASE_METHODS = ['rewrite', 'access', 'response', 'log'] as const

/** Why a handler does not fit its definition, or undefined. */
export function handlerProblem(def: Pick<PluginDef, 'phases'>, handler: unknown): string | undefined {
  if (!handler || typeof handler !== 'object') return 'handler.ts must export a handler object (`handler` or default)'
  const h = handler as Record<string, unknown>
  for (const phase of PHASE_METHODS) {
    const listed = def.phases.includes(phase)
    const has = typeof h[phase] === 'function'
    if (listed && !has) return `definition lists phase '${phase}' but the handler has no ${phase}()`
    if (!listed && has) return `handler implements ${phase}() but the definition does not list phase '${phase}'`
  }
  if (typeof h.body === 'function' && !def.phases.includes('response'))
    return "handler implements body() without the 'response' phase"
  for (const k of ['compile', 'body'])
    if (h[k] !== undefined && typeof h[k] !== 'function') return `${k} must be a function`
  return undefined
}

/** Loads and registers every custom plugin under `dir`; returns their names. */
export async function loadCustomPlugins(dir: string, logger: Logger): Promise<string[]> {
  const defs = await loadPluginDefinitions(dir)
  for (const def of defs) {
    const file = join(dir, def.name, 'handler.ts')
    let mod: Record<string, unknown>
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>
    } catch (err) {
      throw new TurnpikeError(
        'INVALID_OPTIONS',
        `custom plugin '${def.name}': cannot load ${file}: ${(err as Error).message}`,
      )
    }
    const handler = mod.handler ?? mod.default
    const problem = handlerProblem(def, handler)
    if (problem) throw new TurnpikeError('INVALID_OPTIONS', `custom plugin '${def.name}' (${file}): ${problem}`)
    registerHandler(def.name, handler as PluginHandler)
  }
  if (defs.length)
    logger.info({ plugins_dir: dir, plugins: defs.map((d) => `${d.name}@${d.version}`) }, 'custom plugins loaded')
  return defs.map((d) => d.name)
}

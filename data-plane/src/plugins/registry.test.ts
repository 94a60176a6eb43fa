/** The shared definitions and the data plane's handlers must describe the same plugins with the same phases. */
import assert from 'node:assert/strict'
import { readdirSync, statSync } from 'node:fs'
import { test } from 'node:test'
import { pluginDefs } from '@turnpike/shared'
import { handlerProblem } from './load-custom.ts'
import { bundledHandlers } from './registry.ts'

/** Plugins defined in shared whose handler is knowingly missing, with the reason (none today). */
const PENDING: Record<string, string> = {}

const folders = readdirSync(new URL('.', import.meta.url)).filter((n) =>
  statSync(new URL(`./${n}`, import.meta.url)).isDirectory(),
)

test('every shared plugin definition has a handler and every handler a definition', () => {
  const defined = pluginDefs.filter((d) => d.phases.length > 0).map((d) => d.name)
  const handled = [...bundledHandlers.keys()]
  assert.deepEqual(
    defined.filter((n) => !handled.includes(n) && !(n in PENDING)),
    [],
    'definitions without a handler',
  )
  assert.deepEqual(
    handled.filter((n) => !defined.includes(n)),
    [],
    'handlers without a definition',
  )
})

test('each handler lives in plugins/<name>/handler.ts and implements exactly its phases', () => {
  assert.deepEqual(folders.sort(), [...bundledHandlers.keys()].sort())
  for (const def of pluginDefs) {
    const handler = bundledHandlers.get(def.name)
    if (!handler) continue
    assert.equal(handlerProblem(def, handler), undefined, def.name)
    assert.ok(statSync(new URL(`./${def.name}/handler.ts`, import.meta.url)).isFile())
  }
})

/** Test-only plugin: throws in access (synchronously on `x-boom`, or as a rejected promise with `when: async`). */
import type { PluginDef } from '@turnpike/shared'

export const definition: PluginDef = {
  name: 'test-boom',
  version: '0.0.0',
  priority: 5,
  phases: ['access'],
  protocols: { allowed: ['http', 'https'], default: ['http', 'https'] },
  config: { when: { type: 'string', default: 'always' } },
}

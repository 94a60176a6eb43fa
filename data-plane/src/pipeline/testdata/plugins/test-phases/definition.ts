/** Test-only plugin: reports each phase it runs on the `turnpike-test-phases` BroadcastChannel. */
import type { PluginDef } from '@turnpike/shared'

export const definition: PluginDef = {
  name: 'test-phases',
  version: '0.0.0',
  priority: 4,
  phases: ['access', 'response', 'log'],
  protocols: { allowed: ['http', 'https'], default: ['http', 'https'] },
  config: {},
}

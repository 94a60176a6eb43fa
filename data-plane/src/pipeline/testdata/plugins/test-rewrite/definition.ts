/** Test-only plugin: answers 451 in rewrite for one path (before routing), else marks the upstream request. */
import type { PluginDef } from '@turnpike/shared'

export const definition: PluginDef = {
  name: 'test-rewrite',
  version: '0.0.0',
  priority: 3000,
  phases: ['rewrite'],
  protocols: { allowed: ['http', 'https'], default: ['http', 'https'] },
  config: {},
}

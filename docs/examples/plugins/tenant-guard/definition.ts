/**
 * tenant-guard: an example custom plugin (docs/plugins.md). Requests must name their tenant in a header matching a
 * pattern; the tenant goes upstream under another header name and is echoed to the client.
 * This half is read by both planes: the control plane validates configs with it, data planes order and run it.
 */
import type { PluginDef } from '@turnpike/shared'

/** The validated config the handler receives (defaults filled in). */
export interface TenantGuardConfig {
  header_name: string
  pattern: string
  upstream_header: string
  echo_downstream: boolean
}

export const definition: PluginDef = {
  name: 'tenant-guard',
  version: '1.0.0',
  // After authentication (key-auth 1250) and acl (950), before rate limiting (910).
  priority: 920,
  phases: ['access', 'response'],
  protocols: { allowed: ['http', 'https'], default: ['http', 'https'] },
  config: {
    header_name: { type: 'string', required: true, default: 'X-Tenant' },
    pattern: {
      type: 'string',
      required: true,
      default: '^[a-z0-9-]{1,32}$',
      custom: (v) => {
        try {
          new RegExp(v as string)
          return undefined
        } catch {
          return 'not a valid regex'
        }
      },
    },
    upstream_header: { type: 'string', required: true, default: 'X-Tenant-Id' },
    echo_downstream: { type: 'boolean', required: true, default: true },
  },
}

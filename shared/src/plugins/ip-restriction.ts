import { atLeastOneOf } from '../entities/checks.ts'
import { protocols as allProtocols } from '../entities/fields.ts'
import { ipOrCidr } from '../entities/typedefs.ts'
import { definePlugin } from './define.ts'

/** ip-restriction's validated config. */
export interface IpRestrictionConfig {
  allow: string[] | null
  deny: string[] | null
  status: number | null
  message: string | null
}

/** ip-restriction: allows or denies clients by IP address or CIDR range. */
export const ipRestriction = definePlugin({
  name: 'ip-restriction',
  priority: 990,
  phases: ['access'],
  // Also meaningful for streams, so its default includes tcp and tls.
  protocols: { allowed: allProtocols, default: ['http', 'https', 'tcp', 'tls', 'grpc', 'grpcs'] },
  config: {
    allow: { type: 'array', elements: ipOrCidr },
    deny: { type: 'array', elements: ipOrCidr },
    // Status and body message for rejected requests; Kong's built-in ones when unset.
    status: { type: 'number' },
    message: { type: 'string' },
  },
  checks: [atLeastOneOf(['config.allow', 'config.deny'])],
})

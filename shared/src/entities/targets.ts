import { defineEntity } from '../schema/define.ts'
import { formatHost, normalizeIp } from './addresses.ts'

/** Port a target gets when it names none. */
export const DEFAULT_TARGET_PORT = 8000

/** Kong's stored form of a target: `host:port`, IPv4 normalized, IPv6 expanded in brackets, default port 8000. */
export function normalizeTarget(target: string): string | undefined {
  const r = normalizeIp(target)
  return r.ok ? formatHost(r.address, DEFAULT_TARGET_PORT) : undefined
}

/** Kong's `targets`: one backend address of an upstream, with a balancing weight. */
export const targets = defineEntity({
  name: 'targets',
  admin_path: 'targets',
  endpoint_key: 'target',
  in_snapshot: true,
  fields: {
    upstream: { type: 'foreign', reference: 'upstreams', required: true, on_delete: 'cascade' },
    target: {
      type: 'string',
      required: true,
      custom: (v) =>
        normalizeIp(v as string).ok ? undefined : `Invalid target ('${v}'); not a valid hostname or ip address`,
    },
    // 0 disables the target without removing it.
    weight: { type: 'integer', default: 100, between: [0, 65535] },
  },
  // Normalize before validation so uniqueness and the snapshot see one spelling of each address.
  shorthands: {
    target: (v) => ({ target: typeof v === 'string' ? (normalizeTarget(v) ?? v) : v }),
  },
  unique_together: [['upstream', 'target']],
})

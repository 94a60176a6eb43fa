import { defineEntity } from '../schema/define.ts'
import { host, port, protocols, timeout } from './fields.ts'

const HTTP_PROTOCOLS = new Set(['http', 'https', 'grpc', 'grpcs', 'ws', 'wss'])

/** Kong's `url` shorthand: protocol, host, port and path in one field. */
function expandUrl(value: unknown): Record<string, unknown> | string {
  if (typeof value !== 'string') return 'expected a string'
  let u: URL
  try {
    u = new URL(value)
  } catch {
    return `invalid url: ${value}`
  }
  const protocol = u.protocol.slice(0, -1)
  const defaults: Record<string, number> = { http: 80, https: 443, grpc: 80, grpcs: 443, ws: 80, wss: 443 }
  const out: Record<string, unknown> = {
    protocol,
    host: u.hostname,
    port: u.port ? Number(u.port) : (defaults[protocol] ?? 80),
  }
  if (u.pathname && u.pathname !== '/') out.path = u.pathname
  else if (value.replace(/^[a-z]+:\/\/[^/]+/i, '') === '/') out.path = '/'
  return out
}

/** Kong's `services`: an upstream API the gateway forwards to. */
export const services = defineEntity({
  name: 'services',
  admin_path: 'services',
  endpoint_key: 'name',
  in_snapshot: true,
  fields: {
    name: {
      type: 'string',
      unique: true,
      match: '^[\\w.~-]+$',
      match_message: 'invalid value: must only contain alphanumerics, ., -, _ or ~',
    },
    retries: { type: 'integer', default: 5, between: [0, 32767] },
    protocol: { type: 'string', required: true, default: 'http', one_of: protocols },
    host: { ...host, required: true },
    port: { ...port, required: true, default: 80 },
    path: { type: 'string', starts_with: '/' },
    connect_timeout: { ...timeout, default: 60000 },
    write_timeout: { ...timeout, default: 60000 },
    read_timeout: { ...timeout, default: 60000 },
    tls_verify: { type: 'boolean' },
    tls_verify_depth: { type: 'integer', between: [0, 64] },
    ca_certificates: { type: 'array', elements: { type: 'string', uuid: true } },
    // The certificate presented to the upstream for mTLS.
    client_certificate: { type: 'foreign', reference: 'certificates', on_delete: 'restrict' },
    enabled: { type: 'boolean', required: true, default: true },
  },
  shorthands: { url: expandUrl },
  checks: [
    (s) => (s.path != null && !HTTP_PROTOCOLS.has(s.protocol as string) ? { path: `value must be null` } : undefined),
  ],
})

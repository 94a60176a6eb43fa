/** Field types shared by several entities (Kong's typedefs). */
import type { FieldDef } from '../schema/types.ts'

const HOSTNAME =
  /^(?=.{1,253}$)([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)*\.?$/
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/

function isIPv6(s: string): boolean {
  return s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s) && (s.match(/::/g)?.length ?? 0) <= 1
}

export function isHostname(s: string): boolean {
  return (
    IPV4.test(s) || HOSTNAME.test(s) || (s.startsWith('[') && s.endsWith(']') && isIPv6(s.slice(1, -1))) || isIPv6(s)
  )
}

export const port: FieldDef = { type: 'integer', between: [0, 65535] }
export const timeout: FieldDef = { type: 'integer', between: [1, 2 ** 31 - 2] }
export const protocols = [
  'grpc',
  'grpcs',
  'http',
  'https',
  'tcp',
  'tls',
  'tls_passthrough',
  'udp',
  'ws',
  'wss',
] as const

export const host: FieldDef = {
  type: 'string',
  custom: (v) => (isHostname(v as string) ? undefined : `invalid value: ${v}`),
}

/** A route host: hostname with an optional port and at most one `*` in the leftmost or rightmost label. */
export const routeHost: FieldDef = {
  type: 'string',
  custom: (v) => {
    const s = v as string
    const m = /^(.*?)(?::(\d+))?$/.exec(s)
    const name = m?.[1] ?? s
    if (m?.[2] !== undefined && Number(m[2]) > 65535) return `invalid port number`
    const stars = name.split('*').length - 1
    if (stars > 1) return 'only one wildcard must be specified'
    if (stars === 1) {
      if (!name.startsWith('*.') && !name.endsWith('.*')) return 'wildcard must be leftmost or rightmost character'
      const rest = name.startsWith('*.') ? name.slice(2) : name.slice(0, -2)
      return isHostname(rest) ? undefined : `invalid hostname: ${s}`
    }
    return isHostname(name) ? undefined : `invalid hostname: ${s}`
  },
}

/** A route path: a prefix starting with `/`, or a `~`-prefixed regex that must compile. */
export const routePath: FieldDef = {
  type: 'string',
  custom: (v) => {
    const s = v as string
    if (s.startsWith('~')) {
      try {
        new RegExp(s.slice(1), 'u')
        return undefined
      } catch (e) {
        return `invalid regex: '${s.slice(1)}' (${(e as Error).message})`
      }
    }
    if (!s.startsWith('/')) return 'should start with: / (fixed path) or ~/ (regex path)'
    if (/%(?![0-9a-fA-F]{2})/.test(s)) return 'invalid url-encoded value'
    return undefined
  },
}

export const cidrPort: FieldDef = {
  type: 'record',
  fields: { ip: { type: 'string' }, port: port },
}

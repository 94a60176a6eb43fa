/** More of Kong's typedefs (`kong/db/schema/typedefs.lua`), with Kong's messages; complements fields.ts. */
import type { FieldDef } from '../schema/types.ts'
import { isIpOrCidr, normalizeIp } from './addresses.ts'
import { parseCertificate, parsePrivateKey } from './pem.ts'

const TOKEN = /^[A-Za-z0-9_-]+$/
const SEPARATORS = ' \t()<>@,;:\\"/?={}[]'

/** An RFC 7230 token: no control characters, nothing outside ASCII, no separators. */
function isHttpToken(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0
    if (c <= 0x1f || c >= 0x7f || SEPARATORS.includes(ch)) return false
  }
  return true
}

export function headerNameError(name: string): string | undefined {
  if (name === '') return 'no header name provided'
  return TOKEN.test(name) ? undefined : `bad header name '${name}', allowed characters are A-Z, a-z, 0-9, '_', and '-'`
}

/** An HTTP header name (`utils.validate_header_name`). */
export const headerName: FieldDef = { type: 'string', custom: (v) => headerNameError(v as string) }

/** A cookie name: an RFC 7230 token (`utils.validate_cookie_name`). */
export const cookieName: FieldDef = {
  type: 'string',
  custom: (v) => {
    const s = v as string
    if (s === '') return 'no token provided'
    return !isHttpToken(s)
      ? 'contains one or more invalid characters. ASCII control characters (0-31;127), space, tab and the characters ()<>@,;:\\"/?={}[] are not allowed.'
      : undefined
  },
}

/** A URL path: starts with `/`, no empty segments, RFC 3986 characters, valid percent-encoding. */
export const path: FieldDef = {
  type: 'string',
  starts_with: '/',
  custom: (v) => {
    const s = v as string
    if (s.includes('//')) return 'must not have empty segments'
    if (!/^\/[A-Za-z0-9._~/%:@!$&'()*+,;=-]*$/.test(s))
      return `invalid path: '${s}' (characters outside of the reserved list of RFC 3986 found)`
    const raw = s.replace(/%[0-9a-fA-F]{2}/g, '___')
    const i = raw.indexOf('%')
    return i >= 0 ? `invalid url-encoded value: '${raw.slice(i, i + 3)}'` : undefined
  },
}

function sniError(s: string, shown: string): string | undefined {
  const r = normalizeIp(s)
  if (!r.ok && r.error !== 'invalid port number') return `invalid value: ${shown}`
  if (r.ok && r.address.type !== 'name') return 'must not be an IP'
  if (!r.ok || r.address.port !== undefined) return 'must not have a port'
  return undefined
}

/** A TLS server name: a hostname without port, not an IP. */
export const sni: FieldDef = { type: 'string', custom: (v) => sniError(v as string, v as string) }

/** An SNI that may carry one `*` as its leftmost or rightmost character. */
export const wildcardHost: FieldDef = {
  type: 'string',
  custom: (v) => {
    const s = v as string
    const idx = s.indexOf('*')
    if (idx === -1) return sniError(s, s)
    if (idx !== 0 && idx !== s.length - 1) return 'wildcard must be leftmost or rightmost character'
    if (s.split('*').length > 2) return 'only one wildcard must be specified'
    const mock = s.replaceAll('*', 'wildcard')
    return sniError(mock, mock)
  },
}

/** Kong's `typedefs.host`: a hostname or IP without a port. */
export const hostWithoutPort: FieldDef = {
  type: 'string',
  custom: (v) => {
    const s = v as string
    const r = normalizeIp(s)
    if (!r.ok && r.error !== 'invalid port number') return `invalid value: ${s}`
    if (!r.ok || r.address.port !== undefined) return 'must not have a port'
    return undefined
  },
}

/** Kong's `typedefs.host_with_optional_port`. */
export const hostWithOptionalPort: FieldDef = {
  type: 'string',
  custom: (v) => {
    const r = normalizeIp(v as string)
    return r.ok ? undefined : r.error
  },
}

export const ipOrCidr: FieldDef = {
  type: 'string',
  custom: (v) => (isIpOrCidr(v as string) ? undefined : `invalid ip or cidr range: '${v}'`),
}

const URL_PARTS = /^(?:([A-Za-z][A-Za-z0-9+.-]*):)?(?:\/\/([^/?#]*))?/

/** Splits a URL the way LuaSocket's `url.parse` sees scheme, userinfo and host. */
export function urlParts(s: string): { scheme?: string; userinfo?: string; host?: string } {
  const m = URL_PARTS.exec(s)
  const authority = m?.[2]
  if (authority === undefined) return { scheme: m?.[1] }
  const at = authority.lastIndexOf('@')
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority
  const host = hostPort.startsWith('[') ? hostPort.slice(0, hostPort.indexOf(']') + 1) : hostPort.split(':')[0]
  return { scheme: m?.[1], userinfo: at >= 0 ? authority.slice(0, at) : undefined, host: host || undefined }
}

/** Kong's `typedefs.url`: needs a scheme and a host. */
export const url: FieldDef = {
  type: 'string',
  custom: (v) => {
    const parts = urlParts(v as string)
    if (!parts.host) return 'missing host in url'
    if (!parts.scheme) return 'missing scheme in url'
    return undefined
  },
}

/** A PEM certificate. */
export const certificate: FieldDef = {
  type: 'string',
  custom: (v) => {
    const r = parseCertificate(v as string)
    return typeof r === 'string' ? `invalid certificate: ${r}` : undefined
  },
}

/** A PEM private key. */
export const privateKey: FieldDef = {
  type: 'string',
  custom: (v) => {
    const r = parsePrivateKey(v as string)
    return typeof r === 'string' ? `invalid key: ${r}` : undefined
  },
}

/** Kong's `typedefs.utf8_name` (plugin `instance_name`). */
export const utf8Name: FieldDef = {
  type: 'string',
  unique: true,
  custom: (v) =>
    /^[A-Za-z0-9._~\u0080-\u{10FFFF}-]+$/u.test(v as string)
      ? undefined
      : `invalid value '${v}': the only accepted ascii characters are alphanumerics or ., -, _, and ~`,
}

export const httpMethod: FieldDef = { type: 'string', match: '^[A-Z]+$' }

/** Kong's `typedefs.timeout`: milliseconds, 0 allowed. */
export const msTimeout: FieldDef = { type: 'integer', between: [0, 2 ** 31 - 2] }

/** Kong's `typedefs.headers`: header name → list of values. */
export const headersMap: FieldDef = {
  type: 'map',
  keys: headerName,
  values: { type: 'array', elements: { type: 'string' } },
}

/** Kong's `typedefs.lua_code` (log plugins' `custom_fields_by_lua`): name → expression. */
export const luaCode: FieldDef = {
  type: 'map',
  keys: { type: 'string', len_min: 1 },
  values: { type: 'string', len_min: 1 },
}

/** Protocols served by the HTTP subsystem: Kong's `typedefs.protocols_http` and the plugins' default. */
export const httpProtocols = ['grpc', 'grpcs', 'http', 'https'] as const

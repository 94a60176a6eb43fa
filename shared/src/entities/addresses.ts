/** Kong's host/IP parsing (`normalize_ip`, `format_host`): the rules behind upstream names, targets, SNIs and hosts. */
import { isIP } from 'node:net'

export type AddressType = 'ipv4' | 'ipv6' | 'name'

export interface ParsedAddress {
  type: AddressType
  /** Normalized host: IPv4 without leading zeros, IPv6 fully expanded without brackets, names as given. */
  host: string
  port?: number
}

export type ParseResult = { ok: true; address: ParsedAddress } | { ok: false; error: string }

/** Kong's classification: more than one colon is IPv6, digits and dots are IPv4, anything else a name. */
export function hostnameType(s: string): AddressType {
  const colons = s.split(':').length - 1
  if (colons > 1) return 'ipv6'
  return /^[\d.]+$/.test(s.replaceAll(':', '')) ? 'ipv4' : 'name'
}

function parsePort(raw: string): number | string {
  const port = Number(raw)
  return port > 65535 ? 'invalid port number' : port
}

function normalizeIpv4(s: string): ParseResult {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?::(\d+))?$/.exec(s)
  if (!m) return { ok: false, error: `invalid ipv4 address: ${s}` }
  const octets = m.slice(1, 5).map(Number)
  if (octets.some((o) => o > 255)) return { ok: false, error: `invalid ipv4 address: ${s}` }
  const address: ParsedAddress = { type: 'ipv4', host: octets.join('.') }
  if (m[5] !== undefined) {
    const port = parsePort(m[5])
    if (typeof port === 'string') return { ok: false, error: port }
    address.port = port
  }
  return { ok: true, address }
}

function normalizeIpv6(s: string): ParseResult {
  let check = s
  let port: number | undefined
  const bracketed = /^\[([^\]]*)\](.*)$/.exec(s)
  if (bracketed) {
    check = bracketed[1]
    if (bracketed[2] !== '') {
      const pm = /^:(\d*)$/.exec(bracketed[2])
      if (!pm) return { ok: false, error: 'invalid ipv6 address' }
      const p = parsePort(pm[1])
      if (typeof p === 'string') return { ok: false, error: p }
      port = p
    }
  }
  if (check.startsWith(':')) check = `0${check}`
  if (check.endsWith(':')) check = `${check}0`
  if (check.includes('::')) {
    const colons = check.split(':').length - 1
    check = check.replace('::', `:${'0:'.repeat(8 - colons)}`)
  }
  const groups = check.split(':')
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g)))
    return { ok: false, error: `invalid ipv6 address: ${s}` }
  const host = groups.map((g) => g.toLowerCase().padStart(4, '0')).join(':')
  return { ok: true, address: port === undefined ? { type: 'ipv6', host } : { type: 'ipv6', host, port } }
}

function checkHostname(s: string): ParseResult {
  let name = s
  let port: number | undefined
  const pm = /:(\d+)$/.exec(s)
  if (pm) {
    name = s.slice(0, -(pm[1].length + 1))
    const p = parsePort(pm[1])
    if (typeof p === 'string') return { ok: false, error: p }
    port = p
  }
  if (!/^[A-Za-z0-9\-._]+$/.test(name)) return { ok: false, error: `invalid hostname: ${s}` }
  // Labels may not end with '-' and may not be empty, except a trailing dot (FQDN).
  const labels = name.split('.')
  for (const [i, label] of labels.entries())
    if (label.endsWith('-') || (label === '' && i !== labels.length - 1))
      return { ok: false, error: `invalid hostname: ${s}` }
  return { ok: true, address: port === undefined ? { type: 'name', host: name } : { type: 'name', host: name, port } }
}

/** Parses `ipv4[:port]`, `ipv6`, `[ipv6][:port]` or `name[:port]` with Kong's messages. */
export function normalizeIp(s: string): ParseResult {
  const type = hostnameType(s)
  if (type === 'ipv4') return normalizeIpv4(s)
  if (type === 'ipv6') return normalizeIpv6(s)
  return checkHostname(s)
}

/** `host[:port]` with IPv6 in brackets; `defaultPort` applies when the address has none. */
export function formatHost(address: ParsedAddress, defaultPort?: number): string {
  const port = address.port ?? defaultPort
  const host = address.type === 'ipv6' ? `[${address.host}]` : address.host
  return port === undefined ? host : `${host}:${port}`
}

/** An IP address or a CIDR range, v4 or v6. */
export function isIpOrCidr(s: string): boolean {
  const [ip, prefix, ...rest] = s.split('/')
  if (rest.length) return false
  const family = isIP(ip)
  if (!family) return false
  if (prefix === undefined) return true
  if (!/^\d{1,3}$/.test(prefix)) return false
  return Number(prefix) <= (family === 4 ? 32 : 128)
}

/** Stored targets (`host:port`, `[v6]:port`) taken apart, and member keys put together. */
import { isIP } from 'node:net'
import { normalizeHealthAddress } from '@turnpike/shared'

export interface TargetAddress {
  /** A name, or an IP literal without brackets. */
  readonly host: string
  readonly port: number
  /** Whether `host` is an IP literal (one member, no DNS). */
  readonly literal: boolean
}

/** Kong's default target port. */
const DEFAULT_PORT = 8000

export function parseTarget(target: string): TargetAddress {
  let host = target
  let port = DEFAULT_PORT
  if (target.startsWith('[')) {
    const close = target.indexOf(']')
    host = target.slice(1, close === -1 ? undefined : close)
    const rest = close === -1 ? '' : target.slice(close + 1)
    if (rest.startsWith(':')) port = Number(rest.slice(1))
  } else {
    const colon = target.lastIndexOf(':')
    // A bare IPv6 literal has colons but no port.
    if (colon !== -1 && isIP(target) !== 6) {
      host = target.slice(0, colon)
      port = Number(target.slice(colon + 1))
    }
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) port = DEFAULT_PORT
  return { host: isIP(host) === 0 ? host.toLowerCase() : host, port, literal: isIP(host) !== 0 }
}

/**
 * A member's key: `ip:port`, IPv6 fully expanded in brackets, the form manual overrides name addresses in (and the
 * same on every node, whichever way DNS or the target spelled the address).
 */
export function memberKey(address: string, port: number): string {
  if (isIP(address) !== 6) return `${address}:${port}`
  const r = normalizeHealthAddress(`[${address}]:${port}`)
  return r.ok ? r.address : `[${address}]:${port}`
}

/** A host as it goes in a Host header: IPv6 bracketed. */
export function hostForHeader(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host
}

/** Host parsing shared by route compilation and request matching. */

export interface HostPort {
  /** Lowercased host name; IPv6 literals keep their brackets. */
  name: string
  port: number | undefined
}

/** Splits `name[:port]` (or `[v6]:port`); a non-numeric port leaves the whole value as the name. */
export function splitHostPort(raw: string): HostPort {
  const value = raw.toLowerCase()
  const colon = value.lastIndexOf(':')
  if (colon === -1 || (value.charCodeAt(0) === 0x5b && value.indexOf(']') > colon))
    return { name: value, port: undefined }
  const portText = value.slice(colon + 1)
  const port = Number(portText)
  if (portText === '' || !Number.isInteger(port) || port < 0 || port > 65535) return { name: value, port: undefined }
  return { name: value.slice(0, colon), port }
}

export type HostPattern =
  | { kind: 'exact'; name: string; port: number | undefined }
  /** `*.example.com`: `suffix` is `.example.com`. */
  | { kind: 'suffix'; suffix: string; port: number | undefined }
  /** `example.*`: `prefix` is `example.`. */
  | { kind: 'prefix'; prefix: string; port: number | undefined }

/** Parses a route's `hosts` entry: a plain name, or one `*` as the leftmost or rightmost label, with an optional port. */
export function parseHostPattern(raw: string): HostPattern {
  const { name, port } = splitHostPort(raw)
  if (name.startsWith('*')) return { kind: 'suffix', suffix: name.slice(1), port }
  if (name.endsWith('*')) return { kind: 'prefix', prefix: name.slice(0, -1), port }
  return { kind: 'exact', name, port }
}

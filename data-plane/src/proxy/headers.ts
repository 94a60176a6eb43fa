/** Header rewriting in both directions: hop-by-hop removal, X-Forwarded-*, Via, latency headers. */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { TURNPIKE_VERSION } from '@turnpike/shared'

export const SERVER_TOKEN = `turnpike/${TURNPIKE_VERSION}`

/** Hop-by-hop headers (RFC 9110 §7.6.1, plus the Proxy-* ones): they describe one connection, never forwarded. */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

/** Request headers the proxy sets itself; `expect` was already answered by node:http (100 Continue). */
const REPLACED_UPSTREAM: ReadonlySet<string> = new Set([
  'host',
  'expect',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-path',
  'x-forwarded-prefix',
])

/** Extra header names listed in a Connection header, lowercased; null when there are none. */
function connectionTokens(value: string | string[] | undefined): Set<string> | null {
  if (value === undefined) return null
  let tokens: Set<string> | null = null
  for (const token of (Array.isArray(value) ? value.join(',') : value).split(',')) {
    const name = token.trim().toLowerCase()
    if (name === '' || name === 'close' || name === 'keep-alive') continue
    tokens ??= new Set()
    tokens.add(name)
  }
  return tokens
}

export interface ForwardedFields {
  /** Host header to send: the service's, or the client's with preserve_host. */
  host: string
  clientIp: string
  proto: 'http' | 'https'
  /** Client host without port (nginx's $host). */
  forwardedHost: string
  forwardedPort: number
  /** The request path as the client sent it, without the query. */
  forwardedPath: string
  /** The prefix strip_path removed, when not `/`. */
  forwardedPrefix: string | undefined
}

/** Upstream request headers as a flat [name, value, …] list, the client's order and case kept. */
export function upstreamRequestHeaders(req: IncomingMessage, fields: ForwardedFields): string[] {
  const raw = req.rawHeaders
  const extraHopByHop = connectionTokens(req.headers.connection)
  const out: string[] = []
  let forwardedFor: string | undefined
  let via: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]
    const lower = name.toLowerCase()
    if (lower === 'x-forwarded-for')
      forwardedFor = forwardedFor === undefined ? raw[i + 1] : `${forwardedFor}, ${raw[i + 1]}`
    else if (lower === 'via') via = via === undefined ? raw[i + 1] : `${via}, ${raw[i + 1]}`
    else if (!HOP_BY_HOP.has(lower) && !REPLACED_UPSTREAM.has(lower) && !extraHopByHop?.has(lower))
      out.push(name, raw[i + 1])
  }
  const viaToken = `${req.httpVersion} ${SERVER_TOKEN}`
  out.push(
    'Host',
    fields.host,
    'X-Forwarded-For',
    forwardedFor === undefined ? fields.clientIp : `${forwardedFor}, ${fields.clientIp}`,
    'X-Forwarded-Proto',
    fields.proto,
    'X-Forwarded-Host',
    fields.forwardedHost,
    'X-Forwarded-Port',
    String(fields.forwardedPort),
    'X-Forwarded-Path',
    fields.forwardedPath,
    'Via',
    via === undefined ? viaToken : `${via}, ${viaToken}`,
  )
  if (fields.forwardedPrefix !== undefined) out.push('X-Forwarded-Prefix', fields.forwardedPrefix)
  return out
}

/** Rewrites the upstream's response headers in place for the client. */
export function prepareResponseHeaders(
  headers: IncomingHttpHeaders,
  httpVersion: string,
  upstreamLatencyMs: number,
  proxyLatencyMs: number,
): IncomingHttpHeaders {
  const extraHopByHop = connectionTokens(headers.connection)
  for (const name of HOP_BY_HOP) if (headers[name] !== undefined) delete headers[name]
  if (extraHopByHop) for (const name of extraHopByHop) delete headers[name]
  const viaToken = `${httpVersion} ${SERVER_TOKEN}`
  const via = headers.via
  headers.via = via === undefined ? viaToken : `${Array.isArray(via) ? via.join(', ') : via}, ${viaToken}`
  headers['x-turnpike-upstream-latency'] = String(Math.round(upstreamLatencyMs))
  headers['x-turnpike-proxy-latency'] = String(Math.round(proxyLatencyMs))
  return headers
}

/** The client's address as it belongs in X-Forwarded-For (IPv4-mapped IPv6 shown as IPv4). */
export function clientAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? ''
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}

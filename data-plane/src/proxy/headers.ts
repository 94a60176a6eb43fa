/** Header rewriting in both directions: hop-by-hop removal, X-Forwarded-*, Via, request id, latency headers. */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { Http2ServerRequest } from 'node:http2'
import { DEFAULT_SWITCHES, type HeaderSwitches, SERVER_TOKEN } from '../http/header-switches.ts'
import { REQUEST_ID_HEADER } from '../http/respond.ts'

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
  'x-turnpike-request-id',
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
  /** The client's X-Forwarded-For chain is kept (and extended) only when its peer is in `trusted_ips`. */
  trusted: boolean
  /** X-Forwarded-Proto: the scheme, or a trusted client's value. */
  proto: string
  /** Client host without port (nginx's $host), or a trusted client's X-Forwarded-Host. */
  forwardedHost: string
  forwardedPort: string | number
  /** The request path as the client sent it, without the query (or a trusted client's value). */
  forwardedPath: string
  /** The prefix strip_path removed, when not `/` (or a trusted client's value). */
  forwardedPrefix: string | undefined
  /** Sent as X-Turnpike-Request-Id when `headers_upstream` asks for it. */
  requestId: string | undefined
  /** Keep `Connection: Upgrade`/`Upgrade` (a WebSocket handshake being forwarded). */
  upgrade?: boolean
}

/** Upstream request headers as a flat [name, value, …] list, the client's order and case kept. */
export function upstreamRequestHeaders(req: IncomingMessage | Http2ServerRequest, fields: ForwardedFields): string[] {
  const raw = req.rawHeaders
  const extraHopByHop = connectionTokens(req.headers.connection)
  const out: string[] = []
  let forwardedFor: string | undefined
  let via: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    const lower = name.toLowerCase()
    // HTTP/2 pseudo-headers (:method, :path, :authority…) are not headers for an HTTP/1.1 upstream.
    if (lower.charCodeAt(0) === 0x3a) continue
    if (lower === 'x-forwarded-for') {
      if (fields.trusted) forwardedFor = forwardedFor === undefined ? raw[i + 1] : `${forwardedFor}, ${raw[i + 1]}`
    } else if (lower === 'via') via = via === undefined ? raw[i + 1] : `${via}, ${raw[i + 1]}`
    else if (fields.upgrade === true && (lower === 'upgrade' || lower === 'connection')) {
      // Re-added below in their canonical form.
    } else if (!HOP_BY_HOP.has(lower) && !REPLACED_UPSTREAM.has(lower) && !extraHopByHop?.has(lower))
      out.push(name, raw[i + 1]!)
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
  if (fields.requestId !== undefined) out.push('X-Turnpike-Request-Id', fields.requestId)
  if (fields.upgrade === true) out.push('Connection', 'Upgrade', 'Upgrade', String(req.headers.upgrade))
  return out
}

/**
 * The upstream's response headers as the client gets them, adding what `headers` switches on. Copies rather than
 * deleting in place: a keep-alive upstream always sends hop-by-hop headers, and deleting keys would push every
 * response's header object onto V8's slow dictionary path.
 */
export function prepareResponseHeaders(
  upstream: IncomingHttpHeaders,
  httpVersion: string,
  upstreamLatencyMs: number,
  proxyLatencyMs: number,
  switches: HeaderSwitches = DEFAULT_SWITCHES,
  requestId?: string,
  upstreamStatus?: number,
): IncomingHttpHeaders {
  const extraHopByHop = connectionTokens(upstream.connection)
  const headers: IncomingHttpHeaders = {}
  for (const name in upstream)
    if (!HOP_BY_HOP.has(name) && !extraHopByHop?.has(name)) headers[name] = upstream[name] as string | string[]
  if (switches.via) {
    const viaToken = `${httpVersion} ${SERVER_TOKEN}`
    const via = headers.via
    headers.via = via === undefined ? viaToken : `${Array.isArray(via) ? via.join(', ') : via}, ${viaToken}`
  }
  if (switches.upstreamLatency) headers['x-turnpike-upstream-latency'] = String(Math.round(upstreamLatencyMs))
  if (switches.proxyLatency) headers['x-turnpike-proxy-latency'] = String(Math.round(proxyLatencyMs))
  if (switches.upstreamStatus && upstreamStatus !== undefined)
    headers['x-turnpike-upstream-status'] = String(upstreamStatus)
  if (switches.requestId && requestId !== undefined) headers[REQUEST_ID_HEADER] = requestId
  return headers
}

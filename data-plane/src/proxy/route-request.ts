/**
 * Routing: the request matched against the leased config's router, the route's protocol rules applied, and the
 * upstream request prepared (path, headers, body, timeouts). Nothing here compiles or allocates per config.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http'
import type { Http2ServerRequest } from 'node:http2'
import type { TLSSocket } from 'node:tls'
import type { ServiceBackend } from '../backend/service-backend.ts'
import { clientAddress } from '../http/client-address.ts'
import { MESSAGES } from '../http/messages.ts'
import { splitHostPort } from '../router/host.ts'
import { normalizePath } from '../router/normalize-path.ts'
import type { RouteMatch } from '../router/router.ts'
import type { ProxyDispatchOptions } from './exchange.ts'
import { upstreamRequestHeaders } from './headers.ts'
import type { RequestScope } from './request-scope.ts'

const REDIRECT_CODES = new Set([301, 302, 307, 308])

function hasBody(req: IncomingMessage): boolean {
  if (req.httpVersionMajor === 2) return !(req as unknown as Http2ServerRequest).stream.endAfterHeaders
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/** A routed request: where it goes, and the upstream request prepared for it. */
export interface Forward {
  readonly match: RouteMatch
  readonly backend: ServiceBackend
  readonly options: ProxyDispatchOptions
  /** The Host header routing put on `options` (the service's), which a balanced try replaces with its member's. */
  readonly defaultHost: string | null
}

/** What the proxy does with a request once routed: forward it, or answer it itself. */
export type RoutingOutcome =
  | ({ kind: 'forward' } & Forward)
  /** `empty`: headers only, no JSON body (gRPC statuses travel in headers). */
  | { kind: 'reply'; status: number; message: string; headers?: OutgoingHttpHeaders; empty?: boolean }
  | { kind: 'redirect'; status: number; location: string }

const BAD_REQUEST: RoutingOutcome = { kind: 'reply', status: 400, message: MESSAGES.badRequest }
const NO_ROUTE: RoutingOutcome = { kind: 'reply', status: 404, message: MESSAGES.noRoute }
const NO_SERVICE: RoutingOutcome = { kind: 'reply', status: 503, message: MESSAGES.noService }
const BAD_GATEWAY: RoutingOutcome = { kind: 'reply', status: 502, message: MESSAGES.badGateway }
const USE_HTTPS: RoutingOutcome = {
  kind: 'reply',
  status: 426,
  message: MESSAGES.useHttps,
  headers: { Connection: 'Upgrade', Upgrade: 'TLS/1.2, HTTP/1.1' },
}
const NON_GRPC: RoutingOutcome = { kind: 'reply', status: 415, message: MESSAGES.nonGrpc }
const USE_HTTP2: RoutingOutcome = {
  kind: 'reply',
  status: 426,
  message: MESSAGES.useHttp2,
  headers: { Connection: 'Upgrade', Upgrade: 'HTTP/2' },
}
const GRPCS_ONLY: RoutingOutcome = {
  kind: 'reply',
  status: 200,
  message: MESSAGES.grpcsOnly,
  headers: { 'Content-Type': 'application/grpc', 'grpc-status': '1', 'grpc-message': MESSAGES.grpcsOnly },
  empty: true,
}
const USE_WEBSOCKET: RoutingOutcome = {
  kind: 'reply',
  status: 426,
  message: MESSAGES.useWebSocket,
  headers: { Connection: 'Upgrade', Upgrade: 'websocket' },
}

/** A header's single value, or undefined (repeated headers arrive as arrays only for a few names). */
function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/** Whether the request asks to switch to WebSocket (or another protocol) on this connection. */
export function isUpgrade(req: IncomingMessage): boolean {
  return req.headers.upgrade !== undefined && /\bupgrade\b/i.test(req.headers.connection ?? '')
}

/** Routes a request and prepares the upstream call: path, headers, body and timeouts. */
export function routeRequest(scope: RequestScope): RoutingOutcome {
  const { req, scheme, env, config } = scope
  if (scope.path === null) return BAD_REQUEST
  const target = { path: scope.path, query: scope.query === '' ? '' : `?${scope.query}` }
  const h2 = req.httpVersionMajor === 2
  const hostHeader = (h2 ? one(req.headers[':authority']) : undefined) ?? req.headers.host ?? ''
  const host = splitHostPort(hostHeader)
  const listenerPort = req.socket.localPort ?? 0
  const method = req.method ?? 'GET'
  const sni = scheme === 'https' ? (req.socket as TLSSocket).servername : undefined
  const match = config.router.match({
    method,
    host: host.name,
    port: host.port ?? listenerPort,
    path: normalizePath(target.path),
    scheme,
    sni: typeof sni === 'string' ? sni.toLowerCase() : undefined,
    headers: req.headers,
    rawHeaders: req.rawHeaders,
  })
  if (!match) return NO_ROUTE

  // Kong: X-Forwarded-* sent by a trusted client win over what the proxy sees itself.
  const trusted = env.trusted.has(req.socket.remoteAddress)
  const h = req.headers
  const proto = (trusted && one(h['x-forwarded-proto'])) || scheme
  const forwardedHost = (trusted && one(h['x-forwarded-host'])) || host.name
  const route = match.route
  if (route.httpsOnly && proto !== 'https') {
    const status = route.row.https_redirect_status_code
    return REDIRECT_CODES.has(status)
      ? { kind: 'redirect', status, location: `https://${forwardedHost}${req.url}` }
      : USE_HTTPS
  }
  if (route.grpc) {
    if (!(h['content-type'] ?? '').startsWith('application/grpc')) return NON_GRPC
    if (!h2) return USE_HTTP2
    if (route.grpcsOnly && proto !== 'https') return GRPCS_ONLY
  }
  const upgrade = isUpgrade(req)
  if (route.websocketOnly) {
    if (!upgrade) return USE_WEBSOCKET
    if (route.wssOnly && proto !== 'https') return USE_HTTPS
  }
  const backend = route.service && config.backends.get(route.service.id)
  if (!backend) return NO_SERVICE
  const fixed = backend.fixed
  if (fixed?.peer.forbidden) {
    env.logger.warn(
      { service: route.service?.id, host: fixed.peer.host },
      'refusing to proxy to a link-local or metadata address; set upstream_allow_link_local=on to allow it',
    )
    return BAD_GATEWAY
  }
  // The service's Host; a balanced try puts its member's in its place unless the route preserves the client's.
  const serviceHost = fixed ? fixed.peer.hostHeader : route.service!.host
  const preserve = route.preserveHost && hostHeader !== ''

  const headers = upstreamRequestHeaders(req, {
    host: preserve ? hostHeader : serviceHost,
    clientIp: clientAddress(req),
    trusted,
    proto,
    forwardedHost,
    forwardedPort: (trusted && one(h['x-forwarded-port'])) || listenerPort,
    forwardedPath: (trusted && one(h['x-forwarded-path'])) || target.path,
    forwardedPrefix:
      (trusted && one(h['x-forwarded-prefix'])) || (match.strippedPrefix !== '/' ? match.strippedPrefix : undefined),
    requestId: env.headers.upstreamRequestId ? scope.requestId : undefined,
    upgrade: upgrade && route.websocket,
  })
  const options: ProxyDispatchOptions = {
    path: match.upstreamPath + target.query,
    method,
    headers,
    body: hasBody(req) ? req : null,
    headersTimeout: backend.settings.readTimeout,
    bodyTimeout: backend.settings.readTimeout,
    requestBuffering: route.requestBuffering,
    responseBuffering: route.responseBuffering,
  }
  return { kind: 'forward', match, backend, options, defaultHost: preserve || fixed ? null : serviceHost }
}

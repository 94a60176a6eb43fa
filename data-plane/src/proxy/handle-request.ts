/**
 * The proxy's request path: route against the leased config, apply the route's protocol rules, then hand over to
 * an Exchange with the upstream path, headers and timeouts. Nothing here compiles or allocates per config.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import type { TLSSocket } from 'node:tls'
import type { Logger } from '@turnpike/shared'
import { rewriteDone, runRewrite, takeOver } from '../pipeline/handle-plugins.ts'
import { splitHostPort } from '../router/host.ts'
import { normalizePath } from '../router/normalize-path.ts'
import type { RouteMatch } from '../router/router.ts'
import type { CompiledConfig, Upstream } from '../runtime/compiled-config.ts'
import { Exchange, type ProxyDispatchOptions } from './exchange.ts'
import { forwardGrpc } from './grpc-exchange.ts'
import { clientAddress, REQUEST_ID_HEADER, upstreamRequestHeaders } from './headers.ts'
import { DEFAULT_ENV, type ProxyEnv } from './proxy-env.ts'
import { MESSAGES, sendEmpty, sendMessage, sendRedirect } from './responses.ts'

const REDIRECT_CODES = new Set([301, 302, 307, 308])

/** Splits the request target into path and query (the query keeps its `?`); absolute-form targets are reduced to their path. */
function splitTarget(url: string): { path: string; query: string } | undefined {
  if (url.charCodeAt(0) !== 0x2f) {
    if (!/^https?:\/\//i.test(url)) return undefined
    const slash = url.indexOf('/', url.indexOf('//') + 2)
    url = slash === -1 ? '/' : url.slice(slash)
  }
  const q = url.indexOf('?')
  return q === -1 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q) }
}

function hasBody(req: IncomingMessage): boolean {
  if (req.httpVersionMajor === 2) return !(req as unknown as Http2ServerRequest).stream.endAfterHeaders
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/** What the proxy does with a request once routed: forward it, or answer it itself. */
export type RoutingOutcome =
  | { kind: 'forward'; match: RouteMatch; upstream: Upstream; options: ProxyDispatchOptions }
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

/**
 * Routes a request and prepares the upstream call: path, headers, body and timeouts. `env` carries the settings
 * (trusted_ips, header switches); the request id comes from the X-Turnpike-Request-Id the proxy put on the request.
 */
export function routeRequest(
  config: CompiledConfig,
  req: IncomingMessage,
  scheme: 'http' | 'https',
  env: ProxyEnv = DEFAULT_ENV,
): RoutingOutcome {
  const target = splitTarget(req.url ?? '/')
  if (!target) return BAD_REQUEST
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
  const upstream = route.service && config.upstreams.get(route.service.id)
  if (!upstream) return NO_SERVICE
  if (upstream.target.forbidden) {
    env.logger.warn(
      { service: route.service?.id, host: upstream.target.host },
      'refusing to proxy to a link-local or metadata address; set upstream_allow_link_local=on to allow it',
    )
    return BAD_GATEWAY
  }

  const headers = upstreamRequestHeaders(req, {
    host: route.preserveHost && hostHeader !== '' ? hostHeader : upstream.target.hostHeader,
    clientIp: clientAddress(req),
    trusted,
    proto,
    forwardedHost,
    forwardedPort: (trusted && one(h['x-forwarded-port'])) || listenerPort,
    forwardedPath: (trusted && one(h['x-forwarded-path'])) || target.path,
    forwardedPrefix:
      (trusted && one(h['x-forwarded-prefix'])) || (match.strippedPrefix !== '/' ? match.strippedPrefix : undefined),
    requestId: env.headers.upstreamRequestId ? one(h[REQUEST_ID_HEADER]) : undefined,
    upgrade: upgrade && route.websocket,
  })
  const options: ProxyDispatchOptions = {
    path: match.upstreamPath + target.query,
    method,
    headers,
    body: hasBody(req) ? req : null,
    headersTimeout: upstream.target.readTimeout,
    bodyTimeout: upstream.target.readTimeout,
    requestBuffering: route.requestBuffering,
    responseBuffering: route.responseBuffering,
  }
  return { kind: 'forward', match, upstream, options }
}

export function handleRequest(
  config: CompiledConfig,
  req: IncomingMessage,
  res: ServerResponse,
  startedAt: number,
  scheme: 'http' | 'https',
  logger: Logger,
  env: ProxyEnv = DEFAULT_ENV,
): void {
  const plugins = config.plugins
  if (plugins !== null && plugins.rewrite !== null && !rewriteDone(req)) {
    // Global rewrite plugins run before routing; routing resumes once they are done.
    runRewrite(plugins, req, res, startedAt, scheme, logger, env, () =>
      handleRequest(config, req, res, startedAt, scheme, logger, env),
    )
    return
  }
  const outcome = routeRequest(config, req, scheme, env)
  // Routes with plugins (and gateway answers global plugins watch) go through the plugin pipeline.
  if (plugins !== null && takeOver(plugins, outcome, req, res, startedAt, scheme, logger, env)) return
  switch (outcome.kind) {
    case 'forward':
      // gRPC services are reached over HTTP/2 with trailers; everything else through undici.
      if (outcome.upstream.h2 && req.httpVersionMajor === 2)
        forwardGrpc(
          req as unknown as Http2ServerRequest,
          res as unknown as Http2ServerResponse,
          outcome.upstream,
          outcome.options,
          startedAt,
          env,
        )
      else new Exchange(req, res, outcome.upstream, outcome.options, startedAt, logger, env).start()
      break
    case 'reply':
      if (outcome.empty) sendEmpty(res, outcome.status, outcome.headers ?? {}, startedAt)
      else sendMessage(res, outcome.status, outcome.message, startedAt, undefined, outcome.headers)
      break
    case 'redirect':
      sendRedirect(res, outcome.status, outcome.location, startedAt)
      break
  }
}

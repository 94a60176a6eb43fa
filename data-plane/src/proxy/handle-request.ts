/**
 * The proxy's request path: route against the leased config, apply the route's protocol rules, then hand over to
 * an Exchange with the upstream path, headers and timeouts. Nothing here compiles or allocates per config.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { Logger } from '@turnpike/shared'
import type { Dispatcher } from 'undici'
import { splitHostPort } from '../router/host.ts'
import { normalizePath } from '../router/normalize-path.ts'
import type { RouteMatch } from '../router/router.ts'
import type { CompiledConfig, Upstream } from '../runtime/compiled-config.ts'
import { Exchange } from './exchange.ts'
import { clientAddress, upstreamRequestHeaders } from './headers.ts'
import { MESSAGES, sendMessage, sendRedirect } from './responses.ts'

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
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/** What the proxy does with a request once routed: forward it, or answer it itself. */
export type RoutingOutcome =
  | { kind: 'forward'; match: RouteMatch; upstream: Upstream; options: Dispatcher.DispatchOptions }
  | { kind: 'reply'; status: number; message: string; headers?: OutgoingHttpHeaders }
  | { kind: 'redirect'; status: number; location: string }

const NO_ROUTE: RoutingOutcome = { kind: 'reply', status: 404, message: MESSAGES.noRoute }
const NO_SERVICE: RoutingOutcome = { kind: 'reply', status: 503, message: MESSAGES.noService }
const USE_HTTPS: RoutingOutcome = {
  kind: 'reply',
  status: 426,
  message: MESSAGES.useHttps,
  headers: { Connection: 'Upgrade', Upgrade: 'TLS/1.2, HTTP/1.1' },
}

/** Routes a request and prepares the upstream call: path, headers, body and timeouts. */
export function routeRequest(config: CompiledConfig, req: IncomingMessage, scheme: 'http' | 'https'): RoutingOutcome {
  const target = splitTarget(req.url ?? '/')
  if (!target) return NO_ROUTE
  const hostHeader = req.headers.host ?? ''
  const host = splitHostPort(hostHeader)
  const listenerPort = req.socket.localPort ?? 0
  const method = req.method ?? 'GET'
  const match = config.router.match({
    method,
    host: host.name,
    port: host.port ?? listenerPort,
    path: normalizePath(target.path),
    scheme,
    sni: undefined,
    headers: req.headers,
  })
  if (!match) return NO_ROUTE

  const route = match.route
  if (route.httpsOnly && scheme !== 'https') {
    const status = route.row.https_redirect_status_code
    return REDIRECT_CODES.has(status)
      ? { kind: 'redirect', status, location: `https://${host.name}${req.url}` }
      : USE_HTTPS
  }
  const upstream = route.service && config.upstreams.get(route.service.id)
  if (!upstream) return NO_SERVICE

  const headers = upstreamRequestHeaders(req, {
    host: route.preserveHost && hostHeader !== '' ? hostHeader : upstream.target.hostHeader,
    clientIp: clientAddress(req),
    proto: scheme,
    forwardedHost: host.name,
    forwardedPort: listenerPort,
    forwardedPath: target.path,
    forwardedPrefix: match.strippedPrefix !== '/' ? match.strippedPrefix : undefined,
  })
  const options: Dispatcher.DispatchOptions = {
    path: match.upstreamPath + target.query,
    method,
    headers,
    body: hasBody(req) ? req : null,
    headersTimeout: upstream.target.readTimeout,
    bodyTimeout: upstream.target.readTimeout,
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
): void {
  const outcome = routeRequest(config, req, scheme)
  switch (outcome.kind) {
    case 'forward':
      new Exchange(req, res, outcome.upstream, outcome.options, startedAt, logger).start()
      break
    case 'reply':
      sendMessage(res, outcome.status, outcome.message, startedAt, undefined, outcome.headers)
      break
    case 'redirect':
      sendRedirect(res, outcome.status, outcome.location, startedAt)
      break
  }
}

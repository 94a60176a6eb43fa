/** Responses the proxy generates itself, with Kong's status codes and messages. */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { Http2ServerResponse } from 'node:http2'
import { sendJson } from '../http/json-response.ts'
import { FORBIDDEN_ADDRESS } from '../upstream/address-guard.ts'
import { REQUEST_ID_HEADER, SERVER_TOKEN } from './headers.ts'
import { nextRequestId } from './request-id.ts'
import { requestIdOf, switchesOf } from './request-info.ts'

export const MESSAGES = {
  noConfig: 'no data plane configuration loaded yet',
  noRoute: 'no Route matched with those values',
  noService: 'no Service found with those values',
  useHttps: 'Please use HTTPS protocol',
  badGateway: 'An invalid response was received from the upstream server',
  gatewayTimeout: 'The upstream server is timing out',
  nameResolution: 'name resolution failed',
  unexpected: 'An unexpected error occurred',
  badRequest: 'Bad request',
  notImplemented: 'Not implemented',
  requestTimeout: 'Request timeout',
  payloadTooLarge: 'Payload too large',
  headersTooLarge: 'Request header fields too large',
  nonGrpc: 'Non-gRPC request matched gRPC route',
  useHttp2: 'Please use HTTP2 protocol',
  grpcsOnly: 'gRPC request matched gRPCs route',
  useWebSocket: 'Please use WebSocket protocol',
} as const

/** Server, response-latency and request-id headers of Turnpike's own answers, as the `headers` setting allows. */
export function ownHeaders(res: ServerResponse | Http2ServerResponse, startedAt: number): OutgoingHttpHeaders {
  const switches = switchesOf(res)
  const out: OutgoingHttpHeaders = {}
  if (switches.server) out.Server = SERVER_TOKEN
  if (switches.responseLatency) out['X-Turnpike-Response-Latency'] = String(Math.round(performance.now() - startedAt))
  const id = requestIdOf(res)
  if (switches.requestId && id !== undefined) out[REQUEST_ID_HEADER] = id
  return out
}

/** Writes a JSON `{message}` response marked as Turnpike's own (Server and response-latency headers). */
export function sendMessage(
  res: ServerResponse,
  status: number,
  message: string,
  startedAt: number,
  extra?: Record<string, unknown>,
  headers?: OutgoingHttpHeaders,
): void {
  if (res.headersSent || res.destroyed) return
  sendJson(res, status, extra ? { message, ...extra } : { message }, {
    ...(isHttp2(res) ? withoutConnectionHeaders(headers) : headers),
    ...ownHeaders(res, startedAt),
  })
}

/** A response on an HTTP/2 stream (node's compatibility API). */
export const isHttp2 = (res: ServerResponse | Http2ServerResponse): boolean =>
  (res as Http2ServerResponse).stream !== undefined

/** HTTP/2 has no connection-specific headers (RFC 9113 §8.2.2); node refuses to send them. */
function withoutConnectionHeaders(headers: OutgoingHttpHeaders | undefined): OutgoingHttpHeaders | undefined {
  if (!headers) return headers
  const out: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase()
    if (lower !== 'connection' && lower !== 'upgrade' && lower !== 'keep-alive') out[name] = value
  }
  return out
}

/** Kong's redirect for https-only routes: an empty response with a Location. */
export function sendRedirect(res: ServerResponse, status: number, location: string, startedAt: number): void {
  sendEmpty(res, status, { Location: location }, startedAt)
}

/** An answer without a body (redirects, gRPC statuses carried in headers). */
export function sendEmpty(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, startedAt: number): void {
  if (res.headersSent || res.destroyed) return
  if (isHttp2(res)) {
    // HTTP/2: one HEADERS frame with END_STREAM, which gRPC clients read as a trailers-only status.
    const all = { ...withoutConnectionHeaders(headers), ...ownHeaders(res, startedAt), ':status': status }
    ;(res as unknown as Http2ServerResponse).stream.respond(all, { endStream: true })
    return
  }
  res.writeHead(status, { ...headers, 'Content-Length': 0, ...ownHeaders(res, startedAt) })
  res.end()
}

/** The request's id when the proxy minted one, else a fresh one (32 hex characters, like Kong's). */
export function newRequestId(): string {
  return nextRequestId()
}

export interface UpstreamFailure {
  status: 502 | 503 | 504
  message: string
  /** Whether the request was certainly never processed upstream (no connection), so trying again is safe. */
  connectFailure: boolean
  /** A dropped connection: safe to retry only for idempotent requests without a body. */
  connectionReset: boolean
}

const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
])
const RESETS = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'])
const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'])
const DNS_FAILURES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL'])

/** Error code of a request body that outgrew `client_max_body_size` while streaming. */
export const BODY_TOO_LARGE = 'TURNPIKE_BODY_TOO_LARGE'
/** Error code of a client that stopped sending its body for `client_body_timeout`. */
export const BODY_TIMEOUT = 'TURNPIKE_BODY_TIMEOUT'
/** Error code of an upstream that stopped taking the request body for the service's `write_timeout`. */
export const WRITE_TIMEOUT = 'TURNPIKE_WRITE_TIMEOUT'

/** Maps an undici/socket error to Kong's answer: 504 on timeouts, 503 when the name doesn't resolve, else 502. */
export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const e = err as { code?: string; cause?: { code?: string } }
  const code = e?.code ?? e?.cause?.code ?? ''
  if (DNS_FAILURES.has(code))
    return { status: 503, message: MESSAGES.nameResolution, connectFailure: false, connectionReset: false }
  // Nothing was sent: the guard refused the address before connecting.
  if (code === FORBIDDEN_ADDRESS)
    return { status: 502, message: MESSAGES.badGateway, connectFailure: false, connectionReset: false }
  if (code === WRITE_TIMEOUT)
    return { status: 504, message: MESSAGES.gatewayTimeout, connectFailure: false, connectionReset: false }
  return {
    status: TIMEOUTS.has(code) ? 504 : 502,
    message: TIMEOUTS.has(code) ? MESSAGES.gatewayTimeout : MESSAGES.badGateway,
    connectFailure: CONNECT_FAILURES.has(code),
    connectionReset: RESETS.has(code),
  }
}

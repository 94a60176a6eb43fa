/**
 * The one writer of responses the gateway makes itself (its errors, redirects, plugin answers, the Status API):
 * content length, bodyless statuses, HEAD, HTTP/2's ban on connection headers, and the Server, response-latency
 * and request-id headers the `headers` setting switches on.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { Http2ServerResponse } from 'node:http2'
import { SERVER_TOKEN } from './header-switches.ts'
import { requestIdOf, switchesOf } from './request-info.ts'

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'
export const REQUEST_ID_HEADER = 'x-turnpike-request-id'

/** A response on an HTTP/2 stream (node's compatibility API). */
export const isHttp2 = (res: ServerResponse | Http2ServerResponse): boolean =>
  (res as Http2ServerResponse).stream !== undefined

/**
 * Server, response-latency and request-id headers of Turnpike's own answers, as the `headers` setting allows;
 * none on responses the proxy did not tag (the Status API's).
 */
export function ownHeaders(res: ServerResponse | Http2ServerResponse, startedAt: number): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {}
  const id = requestIdOf(res)
  if (id === undefined) return out
  const switches = switchesOf(res)
  if (switches.server) out.Server = SERVER_TOKEN
  if (switches.responseLatency) out['X-Turnpike-Response-Latency'] = String(Math.round(performance.now() - startedAt))
  if (switches.requestId) out[REQUEST_ID_HEADER] = id
  return out
}

/** HTTP/2 has no connection-specific headers (RFC 9113 §8.2.2); node refuses to send them. */
function withoutConnectionHeaders(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase()
    if (lower !== 'connection' && lower !== 'upgrade' && lower !== 'keep-alive') out[name] = value
  }
  return out
}

/**
 * Writes a whole response: `headers` (names in any case) plus the gateway's own headers; no body for 204/304 or a
 * HEAD request. Returns the body bytes sent.
 */
export function respond(
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  body: string | Buffer,
  startedAt: number,
): number {
  if (res.headersSent || res.destroyed) return 0
  const h2 = isHttp2(res)
  const out: OutgoingHttpHeaders = h2 ? withoutConnectionHeaders(headers) : { ...headers }
  Object.assign(out, ownHeaders(res, startedAt))
  const bodyless = status === 204 || status === 304
  const send = !bodyless && res.req?.method !== 'HEAD'
  const length = bodyless ? 0 : Buffer.byteLength(body)
  for (const name of Object.keys(out)) if (name.toLowerCase() === 'content-length') delete out[name]
  if (!bodyless) out['Content-Length'] = length
  if (h2 && (length === 0 || !send)) {
    // One HEADERS frame with END_STREAM, which gRPC clients read as a trailers-only status.
    ;(res as unknown as Http2ServerResponse).stream.respond({ ...out, ':status': status }, { endStream: true })
    return 0
  }
  res.writeHead(status, out)
  res.end(send ? body : undefined)
  return send ? length : 0
}

/** A JSON body, with Kong's content type. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: OutgoingHttpHeaders = {},
  startedAt = performance.now(),
): void {
  respond(res, status, { ...headers, 'Content-Type': JSON_CONTENT_TYPE }, JSON.stringify(body), startedAt)
}

/** Kong's `{"message": …}` answer, with extra fields (a request id) when given. */
export function sendMessage(
  res: ServerResponse,
  status: number,
  message: string,
  startedAt: number,
  extra?: Record<string, unknown>,
  headers?: OutgoingHttpHeaders,
): void {
  sendJson(res, status, extra ? { message, ...extra } : { message }, headers, startedAt)
}

/** An answer without a body: redirects, gRPC statuses carried in headers. */
export function sendEmpty(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, startedAt: number): void {
  respond(res, status, headers, '', startedAt)
}

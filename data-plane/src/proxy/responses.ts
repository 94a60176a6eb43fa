/** Responses the proxy generates itself, with Kong's status codes and messages. */
import { randomUUID } from 'node:crypto'
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { sendJson } from '../http/json-response.ts'
import { SERVER_TOKEN } from './headers.ts'

export const MESSAGES = {
  noConfig: 'no data plane configuration loaded yet',
  noRoute: 'no Route matched with those values',
  noService: 'no Service found with those values',
  useHttps: 'Please use HTTPS protocol',
  badGateway: 'An invalid response was received from the upstream server',
  gatewayTimeout: 'The upstream server is timing out',
  nameResolution: 'name resolution failed',
  unexpected: 'An unexpected error occurred',
} as const

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
    ...headers,
    Server: SERVER_TOKEN,
    'X-Turnpike-Response-Latency': String(Math.round(performance.now() - startedAt)),
  })
}

/** Kong's redirect for https-only routes: an empty response with a Location. */
export function sendRedirect(res: ServerResponse, status: number, location: string, startedAt: number): void {
  res.writeHead(status, {
    Location: location,
    'Content-Length': 0,
    Server: SERVER_TOKEN,
    'X-Turnpike-Response-Latency': String(Math.round(performance.now() - startedAt)),
  })
  res.end()
}

/** A request id for errors worth looking up in the logs (32 hex characters, like Kong's). */
export function newRequestId(): string {
  return randomUUID().replaceAll('-', '')
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

/** Maps an undici/socket error to Kong's answer: 504 on timeouts, 503 when the name doesn't resolve, else 502. */
export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const e = err as { code?: string; cause?: { code?: string } }
  const code = e?.code ?? e?.cause?.code ?? ''
  if (DNS_FAILURES.has(code))
    return { status: 503, message: MESSAGES.nameResolution, connectFailure: false, connectionReset: false }
  return {
    status: TIMEOUTS.has(code) ? 504 : 502,
    message: TIMEOUTS.has(code) ? MESSAGES.gatewayTimeout : MESSAGES.badGateway,
    connectFailure: CONNECT_FAILURES.has(code),
    connectionReset: RESETS.has(code),
  }
}

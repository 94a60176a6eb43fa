/** How upstream failures map to Kong's answers (502, 503, 504), and which of them a retry may fix. */
import { FORBIDDEN_ADDRESS } from '../backend/address-guard.ts'
import { MESSAGES } from '../http/messages.ts'

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

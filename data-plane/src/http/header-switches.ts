/** Which headers the gateway adds to what it sends (Kong's `headers` and `headers_upstream`). */
import { TURNPIKE_VERSION } from '@turnpike/shared'

/** The product token of `Server` and `Via`. */
export const SERVER_TOKEN = `turnpike/${TURNPIKE_VERSION}`

export interface HeaderSwitches {
  /** Downstream `Server` on Turnpike's own answers. */
  readonly server: boolean
  /** Downstream `Via` on proxied responses. */
  readonly via: boolean
  readonly proxyLatency: boolean
  readonly upstreamLatency: boolean
  readonly responseLatency: boolean
  readonly upstreamStatus: boolean
  /** Downstream `X-Turnpike-Request-Id`. */
  readonly requestId: boolean
  /** Upstream `X-Turnpike-Request-Id`. */
  readonly upstreamRequestId: boolean
}

export function headerSwitches(downstream: readonly string[], upstream: readonly string[]): HeaderSwitches {
  const on = new Set(downstream)
  const serverTokens = on.has('server_tokens')
  const latencyTokens = on.has('latency_tokens')
  return {
    server: serverTokens || on.has('server'),
    via: serverTokens || on.has('via'),
    proxyLatency: latencyTokens || on.has('x-turnpike-proxy-latency'),
    upstreamLatency: latencyTokens || on.has('x-turnpike-upstream-latency'),
    responseLatency: latencyTokens || on.has('x-turnpike-response-latency'),
    upstreamStatus: on.has('x-turnpike-upstream-status'),
    requestId: on.has('x-turnpike-request-id'),
    upstreamRequestId: upstream.includes('x-turnpike-request-id'),
  }
}

/** Kong's defaults: `server_tokens, latency_tokens, X-Kong-Request-Id` downstream, the request id upstream. */
export const DEFAULT_SWITCHES: HeaderSwitches = headerSwitches(
  ['server_tokens', 'latency_tokens', 'x-turnpike-request-id'],
  ['x-turnpike-request-id'],
)

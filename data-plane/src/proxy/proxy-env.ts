/** What the proxy needs from the settings, resolved once at start: header switches, limits, trusted clients. */
import { createLogger, type Logger, type Settings } from '@turnpike/shared'
import { compileTrustedIps, type TrustedIps } from './trusted-ips.ts'

/** Which headers the proxy adds (Kong's `headers` and `headers_upstream`). */
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

export interface ProxyEnv {
  readonly logger: Logger
  readonly headers: HeaderSwitches
  readonly trusted: TrustedIps
  /** Bytes; 0 = unlimited. */
  readonly maxBodySize: number
  /** Bodies up to this size are read whole before the upstream call when the route buffers requests. */
  readonly bodyBufferSize: number
  readonly maxHeaders: number
  /** Ms of client silence allowed while a request body is read or streamed. */
  readonly bodyTimeout: number
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

export function proxyEnv(settings: Settings, logger: Logger): ProxyEnv {
  return {
    logger,
    headers: headerSwitches(settings.headers, settings.headers_upstream),
    trusted: compileTrustedIps(settings.trusted_ips),
    maxBodySize: settings.client_max_body_size,
    bodyBufferSize: settings.client_body_buffer_size,
    maxHeaders: settings.client_max_headers,
    bodyTimeout: settings.client_body_timeout,
  }
}

/** The defaults (Kong's), for callers that route without a proxy server around them. */
export const DEFAULT_ENV: ProxyEnv = {
  logger: createLogger('silent'),
  headers: headerSwitches(['server_tokens', 'latency_tokens', 'x-turnpike-request-id'], ['x-turnpike-request-id']),
  trusted: compileTrustedIps([]),
  maxBodySize: 0,
  bodyBufferSize: 1024 * 1024,
  maxHeaders: 100,
  bodyTimeout: 60_000,
}

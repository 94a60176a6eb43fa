/** What the proxy needs from the settings, resolved once at start: header switches, limits, trusted clients. */
import { createLogger, type Logger, type Settings } from '@turnpike/shared'
import { DEFAULT_SWITCHES, type HeaderSwitches, headerSwitches } from '../http/header-switches.ts'
import { compileTrustedIps, type TrustedIps } from '../http/trusted-ips.ts'

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
  headers: DEFAULT_SWITCHES,
  trusted: compileTrustedIps([]),
  maxBodySize: 0,
  bodyBufferSize: 1024 * 1024,
  maxHeaders: 100,
  bodyTimeout: 60_000,
}

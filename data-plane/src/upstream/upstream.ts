/** Where a service's requests go: origin, Host header, timeouts, and the pool key its connections share. */
import type { ServiceRow } from '../runtime/entity-rows.ts'

/** Service protocols the HTTP proxy can forward to today. */
export const PROXYABLE_PROTOCOLS: ReadonlySet<string> = new Set(['http', 'https'])

const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443 }

export interface UpstreamTarget {
  readonly serviceId: string
  /** `scheme://host:port`, IPv6 literals bracketed. */
  readonly origin: string
  /** Host header sent upstream unless the route preserves the client's: the port is added when not the default. */
  readonly hostHeader: string
  readonly retries: number
  readonly connectTimeout: number
  readonly readTimeout: number
  readonly writeTimeout: number
  readonly tlsVerify: boolean
  /** Targets with equal keys share one connection pool, across snapshots too. */
  readonly poolKey: string
}

export function upstreamTarget(service: ServiceRow): UpstreamTarget {
  const host = service.host.includes(':') && !service.host.startsWith('[') ? `[${service.host}]` : service.host
  const origin = `${service.protocol}://${host}:${service.port}`
  const tlsVerify = service.tls_verify === true
  return {
    serviceId: service.id,
    origin,
    hostHeader: service.port === DEFAULT_PORTS[service.protocol] ? host : `${host}:${service.port}`,
    retries: service.retries,
    connectTimeout: service.connect_timeout,
    readTimeout: service.read_timeout,
    writeTimeout: service.write_timeout,
    tlsVerify,
    poolKey: `${origin}|${service.connect_timeout}|${tlsVerify ? 'verify' : 'noverify'}`,
  }
}

/** Where a service's requests go: origin, Host header, timeouts, TLS, and the pool key its connections share. */
import { createHash } from 'node:crypto'
import type { ConnectionOptions } from 'node:tls'
import { checkServerIdentity, type DetailedPeerCertificate, type PeerCertificate } from 'node:tls'
import type { CertificateRow, ServiceRow } from '../runtime/entity-rows.ts'
import { guardedLookup, isForbiddenAddress } from './address-guard.ts'

/** Service protocols the HTTP proxy forwards to: WebSocket services are HTTP ones, gRPC ones speak HTTP/2. */
export const PROXYABLE_PROTOCOLS: ReadonlySet<string> = new Set(['http', 'https', 'grpc', 'grpcs', 'ws', 'wss'])

const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443, grpc: 80, grpcs: 443, ws: 80, wss: 443 }
const SECURE: ReadonlySet<string> = new Set(['https', 'grpcs', 'wss'])

/** Upstream TLS as the service asks for it (Kong's tls_verify, tls_verify_depth, ca_certificates, client_certificate). */
export interface UpstreamTls {
  readonly rejectUnauthorized: boolean
  /** PEMs replacing the system trust store; undefined keeps it. */
  readonly ca: readonly string[] | undefined
  readonly cert: string | undefined
  readonly key: string | undefined
  /** Most intermediate CAs allowed between the server certificate and the trust anchor (OpenSSL's verify depth). */
  readonly verifyDepth: number | null
}

/** The snapshot's TLS material services refer to, by id. */
export interface TlsMaterials {
  readonly caCertificates: ReadonlyMap<string, string>
  readonly certificates: ReadonlyMap<string, CertificateRow>
}

export interface UpstreamTarget {
  readonly serviceId: string
  /** The service's protocol: http, https, grpc, grpcs, ws or wss. */
  readonly protocol: string
  /** `http(s)://host:port` as undici dials it, IPv6 literals bracketed. */
  readonly origin: string
  /** Host name without brackets, and port, for direct socket connections (WebSockets, HTTP/2). */
  readonly host: string
  readonly port: number
  /** TLS to the upstream (https, grpcs, wss). */
  readonly secure: boolean
  /** HTTP/2 upstream (grpc, grpcs). */
  readonly grpc: boolean
  /** Host header sent upstream unless the route preserves the client's: the port is added when not the default. */
  readonly hostHeader: string
  readonly retries: number
  readonly connectTimeout: number
  readonly readTimeout: number
  readonly writeTimeout: number
  readonly tlsVerify: boolean
  readonly tls: UpstreamTls | null
  /** The host is a literal link-local or metadata address and the SSRF guard is on: never dialled. */
  readonly forbidden: boolean
  /** Whether names are resolved through the SSRF guard. */
  readonly guarded: boolean
  /** Targets with equal keys share connections, across snapshots too. */
  readonly poolKey: string
}

function upstreamTls(service: ServiceRow, materials: TlsMaterials): UpstreamTls {
  const client = service.client_certificate_id ? materials.certificates.get(service.client_certificate_id) : undefined
  return {
    rejectUnauthorized: service.tls_verify === true,
    ca: service.ca_certificates?.length
      ? service.ca_certificates.map((id) => materials.caCertificates.get(id) ?? '')
      : undefined,
    cert: client?.cert,
    key: client?.key,
    verifyDepth: service.tls_verify_depth,
  }
}

/** The target for a service; `materials` resolves its CA and client certificate ids (validated beforehand). */
export function upstreamTarget(
  service: ServiceRow,
  materials: TlsMaterials = { caCertificates: new Map(), certificates: new Map() },
  allowLinkLocal = false,
): UpstreamTarget {
  const bare = service.host.startsWith('[') ? service.host.slice(1, -1) : service.host
  const host = bare.includes(':') ? `[${bare}]` : bare
  const secure = SECURE.has(service.protocol)
  const origin = `${secure ? 'https' : 'http'}://${host}:${service.port}`
  const tls = secure ? upstreamTls(service, materials) : null
  const tlsVerify = service.tls_verify === true
  const tlsKey = tls
    ? createHash('sha256')
        .update(
          JSON.stringify([tls.rejectUnauthorized, tls.verifyDepth, tls.ca ?? null, tls.cert ?? null, tls.key ?? null]),
        )
        .digest('base64url')
        .slice(0, 16)
    : 'plain'
  const grpc = service.protocol === 'grpc' || service.protocol === 'grpcs'
  return {
    serviceId: service.id,
    protocol: service.protocol,
    origin,
    host: bare,
    port: service.port,
    secure,
    grpc,
    hostHeader: service.port === DEFAULT_PORTS[service.protocol] ? host : `${host}:${service.port}`,
    retries: service.retries,
    connectTimeout: service.connect_timeout,
    readTimeout: service.read_timeout,
    writeTimeout: service.write_timeout,
    tlsVerify,
    tls,
    forbidden: !allowLinkLocal && isForbiddenAddress(bare),
    guarded: !allowLinkLocal,
    poolKey: `${origin}|${grpc ? 'h2' : 'h1'}|${service.connect_timeout}|${tlsKey}|${allowLinkLocal ? 'any' : 'guarded'}`,
  }
}

/** Socket options every upstream connection of a target uses: TLS material, verification, the SSRF guard. */
export function connectOptions(target: UpstreamTarget): ConnectionOptions & { lookup?: typeof guardedLookup } {
  const options: ConnectionOptions & { lookup?: typeof guardedLookup } = {}
  if (target.guarded) options.lookup = guardedLookup
  const tls = target.tls
  if (!tls) return options
  // Kong's tls_verify defaults to off; the service enables it.
  options.rejectUnauthorized = tls.rejectUnauthorized
  if (tls.ca) options.ca = [...tls.ca]
  if (tls.cert && tls.key) {
    options.cert = tls.cert
    options.key = tls.key
  }
  const depth = tls.verifyDepth
  if (depth !== null)
    options.checkServerIdentity = (hostname: string, cert: PeerCertificate) => {
      const err = checkServerIdentity(hostname, cert)
      if (err) return err
      // Certificates above the leaf, the trust anchor included; the anchor does not count against the depth.
      let above = 0
      let c = cert as DetailedPeerCertificate
      for (; c.issuerCertificate && c.issuerCertificate !== c; c = c.issuerCertificate) above++
      if (above - 1 > depth)
        return new Error(`certificate chain too long: ${above - 1} intermediate CAs, tls_verify_depth is ${depth}`)
      return undefined
    }
  return options
}

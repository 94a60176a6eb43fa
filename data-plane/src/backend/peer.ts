/** Where a service's requests go: its connection settings, and the peers (addresses) they are sent to. */
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

/** What every connection of a service shares, whichever address it goes to. */
export interface ServiceSettings {
  readonly serviceId: string
  /** The service's protocol: http, https, grpc, grpcs, ws or wss. */
  readonly protocol: string
  /** TLS to the upstream (https, grpcs, wss). */
  readonly secure: boolean
  /** HTTP/2 upstream (grpc, grpcs). */
  readonly grpc: boolean
  readonly retries: number
  readonly connectTimeout: number
  readonly readTimeout: number
  readonly writeTimeout: number
  readonly tls: UpstreamTls | null
  /** Whether names are resolved through the SSRF guard. */
  readonly guarded: boolean
  /** The part of a pool key these settings decide. */
  readonly key: string
}

/** One address requests are sent to: the service's own host, or a member of the upstream it names. */
export interface Peer {
  readonly settings: ServiceSettings
  /** `http(s)://host:port` as undici dials it, IPv6 literals bracketed. */
  readonly origin: string
  /** Host name or address without brackets, and port, for direct socket connections (WebSockets, HTTP/2). */
  readonly host: string
  readonly port: number
  /** Host header sent unless the route preserves the client's: the port is added when not the default. */
  readonly hostHeader: string
  /** TLS server name: the Host header's name, never an IP literal. */
  readonly servername: string | undefined
  /** The address is a literal link-local or metadata address and the SSRF guard is on: never dialled. */
  readonly forbidden: boolean
  /** Peers with equal keys share connections, across snapshots too. */
  readonly poolKey: string
}

function upstreamTls(service: ServiceRow, materials: TlsMaterials, clientCertificateId: string | null): UpstreamTls {
  const client = clientCertificateId ? materials.certificates.get(clientCertificateId) : undefined
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

/**
 * A service's connection settings; `materials` resolves its CA and client certificate ids (validated beforehand).
 * `clientCertificateId` overrides the service's client certificate (an upstream's `client_certificate`).
 */
export function serviceSettings(
  service: ServiceRow,
  materials: TlsMaterials = { caCertificates: new Map(), certificates: new Map() },
  allowLinkLocal = false,
  clientCertificateId: string | null = service.client_certificate_id,
): ServiceSettings {
  const secure = SECURE.has(service.protocol)
  const tls = secure ? upstreamTls(service, materials, clientCertificateId) : null
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
    secure,
    grpc,
    retries: service.retries,
    connectTimeout: service.connect_timeout,
    readTimeout: service.read_timeout,
    writeTimeout: service.write_timeout,
    tls,
    guarded: !allowLinkLocal,
    key: `${grpc ? 'h2' : 'h1'}|${service.connect_timeout}|${tlsKey}|${allowLinkLocal ? 'any' : 'guarded'}`,
  }
}

/** `host` without brackets, `host:port` unless the port is the protocol's default. */
export function hostHeaderFor(protocol: string, host: string, port: number): string {
  const bare = host.startsWith('[') ? host.slice(1, -1) : host
  const shown = bare.includes(':') ? `[${bare}]` : bare
  return port === DEFAULT_PORTS[protocol] ? shown : `${shown}:${port}`
}

const IP_LITERAL = /^[\d.]+$|:/

/** A peer at `host:port`; `hostHeader` defaults to the address itself. */
export function peerFor(settings: ServiceSettings, host: string, port: number, hostHeader?: string): Peer {
  const bare = host.startsWith('[') ? host.slice(1, -1) : host
  const shown = bare.includes(':') ? `[${bare}]` : bare
  const origin = `${settings.secure ? 'https' : 'http'}://${shown}:${port}`
  const header = hostHeader ?? hostHeaderFor(settings.protocol, bare, port)
  const name = header.startsWith('[') ? '' : header.replace(/:\d+$/, '')
  const servername = settings.secure && name !== '' && !IP_LITERAL.test(name) ? name : undefined
  return {
    settings,
    origin,
    host: bare,
    port,
    hostHeader: header,
    servername,
    forbidden: settings.guarded && isForbiddenAddress(bare),
    poolKey: `${origin}|${servername ?? ''}|${settings.key}`,
  }
}

/** Socket options every connection to a peer uses: TLS material, verification, server name, the SSRF guard. */
export function connectOptions(peer: Peer): ConnectionOptions & { lookup?: typeof guardedLookup } {
  const options: ConnectionOptions & { lookup?: typeof guardedLookup } = {}
  if (peer.settings.guarded) options.lookup = guardedLookup
  const tls = peer.settings.tls
  if (!tls) return options
  if (peer.servername !== undefined) options.servername = peer.servername
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

/**
 * The immutable, ready-to-serve form of one snapshot: the router, a backend per service (its own host, or the
 * balancer of the upstream its host names), and the certificates the TLS listeners pick by server name.
 */

import { PROXYABLE_PROTOCOLS, serviceSettings, type TlsMaterials } from '../backend/peer.ts'
import type { PeerPools } from '../backend/peer-pools.ts'
import { ServiceBackend } from '../backend/service-backend.ts'
import type { Balancer } from '../balancer/types.ts'
import { compilePipeline, type Pipeline, type PipelineInput } from '../pipeline/compile.ts'
import { Router } from '../router/router.ts'
import { CertificateIndex } from '../tls/certificate-index.ts'
import type { ConfigRows, RouteRow, ServiceRow, TargetRow, UpstreamRow } from './entity-rows.ts'
import { samePartHashes } from './validate-snapshot.ts'

/** Builds the balancers of a snapshot's upstreams (keyed by lowercased name), keeping the node's health state. */
export type BalancerFactory = (
  upstreams: readonly UpstreamRow[],
  targets: readonly TargetRow[],
) => ReadonlyMap<string, Balancer>

export interface CompiledConfig {
  readonly version: number
  readonly hash: string
  readonly router: Router
  /** Keyed by service id; only enabled services with a protocol the proxy speaks. */
  readonly backends: ReadonlyMap<string, ServiceBackend>
  /** The upstreams' balancers by lowercased name. */
  readonly balancers: ReadonlyMap<string, Balancer>
  /** Certificates by SNI for the TLS listeners. */
  readonly certificates: CertificateIndex
  readonly stats: { services: number; routes: number; skipped_routes: number; upstreams: number; targets: number }
  /** Plugin chains per route; null when the snapshot has no enabled plugin (the proxy's plugin-free path). */
  readonly plugins: Pipeline | null
  /** The validated rows this config was compiled from: the next snapshot reuses those of unchanged collections. */
  readonly rows: ConfigRows
  /** The routes in the router. */
  readonly routable: readonly RouteRow[]
  /** The snapshot's part hashes; undefined when compiled without them (nothing is then reused from this config). */
  readonly partHashes: Readonly<Record<string, string>> | undefined
}

/** What the router (and the routable routes, so the stats) is built from. */
const ROUTER_INPUTS = ['services', 'routes']
/** What the balancers are built from. */
export const BALANCER_INPUTS = ['upstreams', 'targets']
/** What the backends are built from: services, the TLS material they reference, the upstreams they name. */
const BACKEND_INPUTS = ['services', 'certificates', 'ca_certificates', ...BALANCER_INPUTS]
/** What the certificate index is built from. */
const CERTIFICATE_INPUTS = ['certificates', 'snis']
/**
 * Collections the plugin pipeline never reads (it gets every collection plus the routable routes, and the plugins
 * read consumers, acls, credentials, keyring …): when all the others are unchanged, the compiled pipeline is reused.
 * A collection missing from this list counts as an input, so a plugin that starts reading one stays correct.
 */
const NOT_PIPELINE_INPUTS = new Set(['certificates', 'snis', 'ca_certificates', 'upstreams', 'targets'])

/** Route protocols the HTTP router serves; stream routes (tcp, tls, udp) and their sources/destinations are not proxied. */
const HTTP_ROUTE_PROTOCOLS = new Set(['http', 'https', 'grpc', 'grpcs', 'ws', 'wss'])

/** Whether a route belongs in the HTTP router: Kong leaves out routes of disabled services too. */
function isRoutable(route: RouteRow, services: ReadonlyMap<string, ServiceRow>): boolean {
  if (!route.protocols.some((p) => HTTP_ROUTE_PROTOCOLS.has(p))) return false
  if (route.service_id === null) return true
  const service = services.get(route.service_id)!
  return service.enabled && PROXYABLE_PROTOCOLS.has(service.protocol)
}

/** No upstreams: the map every config without balancing shares. */
const NO_BALANCERS: ReadonlyMap<string, Balancer> = new Map()

/** Where the pieces a config is compiled with come from. */
export interface CompileDeps {
  readonly pools: PeerPools
  /** Kong's `upstream_allow_link_local`: whether the SSRF guard is off. */
  readonly allowLinkLocal?: boolean
  readonly balancers?: BalancerFactory
}

/**
 * Compiles validated rows; takes pool references that the caller gives back with `releaseBackends`.
 * `previous` (the config being replaced) lends its already-built TLS contexts for unchanged certificates, and —
 * given the snapshot's part hashes — its router, balancers, backends, certificate index and plugin pipeline wherever
 * the collections each is built from have the same part hashes (design.md §3/§5: compile only what changed).
 */
export function compileConfig(
  version: number,
  hash: string,
  rows: ConfigRows,
  deps: CompileDeps,
  previous?: CompiledConfig,
  plugins?: Omit<PipelineInput, 'routes'>,
): CompiledConfig {
  const partHashes = plugins?.partHashes
  const base = previous?.partHashes
  const same = (names: readonly string[]) => samePartHashes(partHashes, base, names)
  let byId: Map<string, ServiceRow> | undefined
  const services = () => (byId ??= new Map(rows.services.map((s) => [s.id, s])))
  const reuseRouter = previous !== undefined && same(ROUTER_INPUTS)
  const routable = reuseRouter ? previous.routable : rows.routes.filter((r) => isRoutable(r, services()))
  const router = reuseRouter ? previous.router : new Router(routable, services())
  // Before any pool is taken: a plugin config that fails to compile rejects the snapshot with nothing to release.
  let pipeline: Pipeline | null = null
  if (plugins) {
    const pipelineInputs = Object.keys({ ...partHashes, ...base }).filter((n) => !NOT_PIPELINE_INPUTS.has(n))
    pipeline =
      reuseRouter && same(pipelineInputs) ? previous.plugins : compilePipeline({ ...plugins, routes: routable })
  }
  const certificates =
    previous !== undefined && same(CERTIFICATE_INPUTS)
      ? previous.certificates
      : new CertificateIndex(rows.certificates ?? [], rows.snis ?? [], previous?.certificates)
  const balancers =
    previous !== undefined && same(BALANCER_INPUTS)
      ? previous.balancers
      : deps.balancers
        ? // Called with none too: the registry then retires the last upstream's checkers and health.
          deps.balancers(rows.upstreams, rows.targets)
        : NO_BALANCERS
  let backends: Map<string, ServiceBackend>
  if (previous !== undefined && same(BACKEND_INPUTS)) {
    // The same services and upstreams: the backends are shared, held once more for this config.
    backends = previous.backends as Map<string, ServiceBackend>
    for (const backend of backends.values()) backend.retain()
  } else backends = buildBackends(rows, services(), balancers, deps)
  return {
    version,
    hash,
    router,
    backends,
    balancers,
    certificates,
    stats: {
      services: rows.services.length,
      routes: routable.length,
      skipped_routes: rows.routes.length - routable.length,
      upstreams: rows.upstreams.length,
      targets: rows.targets.length,
    },
    plugins: pipeline,
    rows,
    routable,
    partHashes,
  }
}

function buildBackends(
  rows: ConfigRows,
  services: ReadonlyMap<string, ServiceRow>,
  balancers: ReadonlyMap<string, Balancer>,
  deps: CompileDeps,
): Map<string, ServiceBackend> {
  const materials: TlsMaterials = {
    caCertificates: new Map((rows.ca_certificates ?? []).map((c) => [c.id, c.cert])),
    certificates: new Map((rows.certificates ?? []).map((c) => [c.id, c])),
  }
  const upstreamRows = new Map(rows.upstreams.map((u) => [u.name.toLowerCase(), u]))
  const backends = new Map<string, ServiceBackend>()
  try {
    for (const service of services.values()) {
      if (!service.enabled || !PROXYABLE_PROTOCOLS.has(service.protocol)) continue
      // Kong: a service whose host is an upstream's name balances over that upstream's targets.
      const name = service.host.toLowerCase()
      const row = upstreamRows.get(name)
      const balancer = row && balancers.get(name)
      const settings = serviceSettings(
        service,
        materials,
        deps.allowLinkLocal,
        row?.client_certificate_id ?? service.client_certificate_id,
      )
      const to = row && balancer ? { row, balancer } : { host: service.host, port: service.port }
      backends.set(service.id, new ServiceBackend(settings, deps.pools, to))
    }
  } catch (err) {
    for (const backend of backends.values()) backend.release()
    throw err
  }
  return backends
}

/** The same compiled config under a new version (equal hash): shares everything, holding the backends again. */
export function withVersion(config: CompiledConfig, version: number): CompiledConfig {
  for (const backend of config.backends.values()) backend.retain()
  return { ...config, version }
}

export function releaseBackends(config: CompiledConfig): void {
  for (const backend of config.backends.values()) backend.release()
}

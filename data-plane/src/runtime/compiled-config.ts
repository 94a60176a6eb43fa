/**
 * The immutable, ready-to-serve form of one snapshot: the router, an upstream (target and pool) per service, and
 * the certificates the TLS listeners pick by server name.
 */
import type { Pool } from 'undici'
import { compilePipeline, type Pipeline, type PipelineInput } from '../pipeline/compile.ts'
import { Router } from '../router/router.ts'
import { CertificateIndex } from '../tls/certificate-index.ts'
import type { H2Origin } from '../upstream/h2-origin.ts'
import { PROXYABLE_PROTOCOLS, type TlsMaterials, type UpstreamTarget, upstreamTarget } from '../upstream/upstream.ts'
import type { UpstreamPools } from '../upstream/upstream-pools.ts'
import type { ConfigRows, RouteRow, ServiceRow } from './entity-rows.ts'
import { samePartHashes } from './validate-snapshot.ts'

export interface Upstream {
  readonly target: UpstreamTarget
  readonly pool: Pool
  /** gRPC services: the HTTP/2 session holder calls go through. */
  readonly h2: H2Origin | null
}

export interface CompiledConfig {
  readonly version: number
  readonly hash: string
  readonly router: Router
  /** Keyed by service id; only enabled services with a protocol the proxy speaks. */
  readonly upstreams: ReadonlyMap<string, Upstream>
  /** Certificates by SNI for the TLS listeners. */
  readonly certificates: CertificateIndex
  readonly stats: { services: number; routes: number; skipped_routes: number }
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
/** What the upstreams are built from: services and the TLS material they reference. */
const UPSTREAM_INPUTS = ['services', 'certificates', 'ca_certificates']
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

/**
 * Compiles validated rows; takes pool references that the caller gives back with `releaseUpstreams`.
 * `previous` (the config being replaced) lends its already-built TLS contexts for unchanged certificates, and —
 * given the snapshot's part hashes — its router, upstreams, certificate index and plugin pipeline wherever the
 * collections each is built from have the same part hashes (design.md §3/§5: compile only what changed).
 */
export function compileConfig(
  version: number,
  hash: string,
  rows: ConfigRows,
  pools: UpstreamPools,
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
  let upstreams: Map<string, Upstream>
  if (previous !== undefined && same(UPSTREAM_INPUTS)) {
    // The same targets: the map is shared, and its pools retained once more for this config.
    upstreams = previous.upstreams as Map<string, Upstream>
    for (const { target } of upstreams.values()) pools.acquire(target)
  } else {
    const materials: TlsMaterials = {
      caCertificates: new Map((rows.ca_certificates ?? []).map((c) => [c.id, c.cert])),
      certificates: new Map((rows.certificates ?? []).map((c) => [c.id, c])),
    }
    upstreams = new Map<string, Upstream>()
    try {
      for (const service of services().values()) {
        if (!service.enabled || !PROXYABLE_PROTOCOLS.has(service.protocol)) continue
        const target = upstreamTarget(service, materials, pools.allowLinkLocal)
        upstreams.set(service.id, { target, pool: pools.acquire(target), h2: pools.h2(target.poolKey) })
      }
    } catch (err) {
      for (const { target } of upstreams.values()) pools.release(target.poolKey)
      throw err
    }
  }
  return {
    version,
    hash,
    router,
    upstreams,
    certificates,
    stats: {
      services: rows.services.length,
      routes: routable.length,
      skipped_routes: rows.routes.length - routable.length,
    },
    plugins: pipeline,
    rows,
    routable,
    partHashes,
  }
}

/** The same compiled config under a new version (equal hash): shares everything, retaining the pools again. */
export function withVersion(config: CompiledConfig, version: number, pools: UpstreamPools): CompiledConfig {
  for (const { target } of config.upstreams.values()) pools.acquire(target)
  return { ...config, version }
}

export function releaseUpstreams(config: CompiledConfig, pools: UpstreamPools): void {
  for (const { target } of config.upstreams.values()) pools.release(target.poolKey)
}

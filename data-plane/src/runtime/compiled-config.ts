/** The immutable, ready-to-serve form of one snapshot: the router plus an upstream (target and pool) per service. */
import type { Pool } from 'undici'
import { Router } from '../router/router.ts'
import { PROXYABLE_PROTOCOLS, type UpstreamTarget, upstreamTarget } from '../upstream/upstream.ts'
import type { UpstreamPools } from '../upstream/upstream-pools.ts'
import type { ConfigRows, RouteRow, ServiceRow } from './entity-rows.ts'

export interface Upstream {
  readonly target: UpstreamTarget
  readonly pool: Pool
}

export interface CompiledConfig {
  readonly version: number
  readonly hash: string
  readonly router: Router
  /** Keyed by service id; only enabled services with a protocol the proxy speaks. */
  readonly upstreams: ReadonlyMap<string, Upstream>
  readonly stats: { services: number; routes: number; skipped_routes: number }
}

const HTTP_ROUTE_PROTOCOLS = new Set(['http', 'https'])

/** Whether a route belongs in the HTTP router: Kong leaves out routes of disabled services too. */
function isRoutable(route: RouteRow, services: ReadonlyMap<string, ServiceRow>): boolean {
  if (!route.protocols.some((p) => HTTP_ROUTE_PROTOCOLS.has(p))) return false
  if (route.service_id === null) return true
  const service = services.get(route.service_id)!
  return service.enabled && PROXYABLE_PROTOCOLS.has(service.protocol)
}

/** Compiles validated rows; takes pool references that the caller gives back with `releaseUpstreams`. */
export function compileConfig(version: number, hash: string, rows: ConfigRows, pools: UpstreamPools): CompiledConfig {
  const services = new Map(rows.services.map((s) => [s.id, s]))
  const routable = rows.routes.filter((r) => isRoutable(r, services))
  const router = new Router(routable, services)
  const upstreams = new Map<string, Upstream>()
  try {
    for (const service of services.values()) {
      if (!service.enabled || !PROXYABLE_PROTOCOLS.has(service.protocol)) continue
      const target = upstreamTarget(service)
      upstreams.set(service.id, { target, pool: pools.acquire(target) })
    }
  } catch (err) {
    for (const { target } of upstreams.values()) pools.release(target.poolKey)
    throw err
  }
  return {
    version,
    hash,
    router,
    upstreams,
    stats: { services: services.size, routes: routable.length, skipped_routes: rows.routes.length - routable.length },
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

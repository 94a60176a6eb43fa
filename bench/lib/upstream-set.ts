/**
 * Configs whose services balance over upstreams (Kong: a service whose `host` equals an upstream's `name`), and
 * their one-host twins, as validated Admin-API-shaped rows.
 */
import { type ConfigEntities, type EntityRow, routes, services, targets, upstreams } from '@turnpike/shared'
import { validRow } from './route-set.ts'

/** The upstream name the single-route bench configs balance through. */
export const BENCH_UPSTREAM = 'bench-upstream.internal'

/**
 * Kong's "single route" (`/`, no stripping, as buildRouteSet(1)) to one service balancing over `addresses`
 * (`ip:port`, equal weights). `upstream` and `service` override fields (algorithm, healthchecks, retries…).
 */
export function balancedRouteSet(
  addresses: readonly string[],
  upstream: Record<string, unknown> = {},
  service: Record<string, unknown> = {},
): ConfigEntities {
  const up = validRow(upstreams, { name: BENCH_UPSTREAM, ...upstream })
  // The service's port is ignored: each target names its own.
  const svc = validRow(services, { name: 'svc-0', protocol: 'http', host: BENCH_UPSTREAM, port: 80, ...service })
  const route = validRow(routes, { name: 'r-0', paths: ['/'], strip_path: false, service: { id: svc.id } })
  return {
    services: [svc],
    routes: [route],
    upstreams: [up],
    targets: addresses.map((target) => validRow(targets, { upstream: { id: up.id }, target })),
  }
}

/** A distinct loopback address per (service, target): 127.0.0.0/8 holds them all and nothing is ever dialled. */
const address = (s: number, t: number) => `127.${1 + (s >> 8)}.${s & 255}.${t + 1}`
const PORT = 8080

/**
 * `count` services with one route each (`/s<i>`). With `targetsEach` > 0 every service goes through its own
 * upstream of that many IP targets (round-robin, checks off: no DNS, no probes); with 0 it points at one host.
 */
export function buildApplySet(count: number, targetsEach: number): ConfigEntities {
  const svcRows: EntityRow[] = []
  const routeRows: EntityRow[] = []
  const upstreamRows: EntityRow[] = []
  const targetRows: EntityRow[] = []
  for (let s = 0; s < count; s++) {
    let host = address(s, 0)
    if (targetsEach > 0) {
      host = `pool-${s}.internal`
      const up = validRow(upstreams, { name: host })
      upstreamRows.push(up)
      for (let t = 0; t < targetsEach; t++)
        targetRows.push(validRow(targets, { upstream: { id: up.id }, target: `${address(s, t)}:${PORT}` }))
    }
    const svc = validRow(services, { name: `svc-${s}`, protocol: 'http', host, port: PORT })
    svcRows.push(svc)
    routeRows.push(validRow(routes, { name: `r-${s}`, paths: [`/s${s}`], service: { id: svc.id } }))
  }
  const entities: ConfigEntities = { services: svcRows, routes: routeRows }
  if (targetsEach > 0) Object.assign(entities, { upstreams: upstreamRows, targets: targetRows })
  return entities
}

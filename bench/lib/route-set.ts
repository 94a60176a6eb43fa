/**
 * Realistic route sets for the data-plane target and the router suite: validated Admin-API-shaped rows
 * (services + routes with ids) and, for every route, one request that matches it.
 */
import { randomUUID } from 'node:crypto'
import {
  type ConfigEntities,
  type EntityDef,
  type EntityRow,
  flattenErrors,
  routes,
  services,
  validateEntity,
} from '@turnpike/shared'
import type { LoadRequest } from './workload.ts'

const CREATED_AT = 1_700_000_000

export interface RouteProbe extends LoadRequest {
  method: string
  host: string
}

export interface RouteSet {
  entities: ConfigEntities
  /** probes[i] matches route i (and no route of higher priority). */
  probes: RouteProbe[]
}

/** An Admin-API-shaped row: `input` validated with its defaults filled, plus an id. Throws on a bad fixture. */
export function validRow(def: EntityDef, input: Record<string, unknown>): EntityRow {
  const r = validateEntity(def, input)
  if (!r.ok) throw new Error(`bench fixture rejected by ${def.name}: ${flattenErrors(r.errors).join('; ')}`)
  return { ...r.value, id: randomUUID() }
}

/**
 * `count` routes over count/10 services, all pointing at `upstreamUrl`. Shapes, by i % 10:
 * 0–4 prefix path per service, 5–6 exact host + prefix, 7 wildcard host, 8 prefix + methods, 9 `~` regex
 * (a plain prefix instead when `regex` is false).
 * With count = 1 it is Kong's "single route": `/` catches everything, no stripping.
 */
export function buildRouteSet(
  count: number,
  upstreamUrl = 'http://127.0.0.1:9',
  opts: { regex?: boolean } = {},
): RouteSet {
  const withRegex = opts.regex ?? true
  if (count === 1) {
    const svc = validRow(services, { name: 'svc-0', url: upstreamUrl })
    const route = validRow(routes, { name: 'r-0', paths: ['/'], strip_path: false, service: { id: svc.id } })
    return {
      entities: { services: [svc], routes: [route] },
      probes: [{ method: 'GET', host: 'bench.test', path: '/' }],
    }
  }
  const svcRows = Array.from({ length: Math.max(1, Math.ceil(count / 10)) }, (_, s) =>
    validRow(services, { name: `svc-${s}`, url: upstreamUrl }),
  )
  const routeRows: EntityRow[] = []
  const probes: RouteProbe[] = []
  for (let i = 0; i < count; i++) {
    const s = i % svcRows.length
    const base = { name: `r-${i}`, service: { id: svcRows[s].id } }
    let input: Record<string, unknown>
    let probe: RouteProbe
    switch (i % 10) {
      case 5:
      case 6:
        input = { ...base, hosts: [`api${i}.example.test`], paths: ['/v1'] }
        probe = { method: 'GET', host: `api${i}.example.test`, path: '/v1/orders/17' }
        break
      case 7:
        input = { ...base, hosts: [`*.t${i}.example.test`], paths: ['/'] }
        probe = { method: 'GET', host: `eu.t${i}.example.test`, path: '/status' }
        break
      case 8:
        input = { ...base, paths: [`/svc${s}/m${i}`], methods: ['GET', 'PUT'] }
        probe = { method: 'GET', host: 'bench.test', path: `/svc${s}/m${i}/items` }
        break
      case 9:
        if (!withRegex) {
          input = { ...base, paths: [`/svc${s}/x${i}`] }
          probe = { method: 'GET', host: 'bench.test', path: `/svc${s}/x${i}/items/42` }
          break
        }
        input = { ...base, paths: [`~/rx${i}/items/\\d+$`], regex_priority: i % 3 }
        probe = { method: 'GET', host: 'bench.test', path: `/rx${i}/items/42` }
        break
      default:
        input = { ...base, paths: [`/svc${s}/r${i}`] }
        probe = { method: 'GET', host: 'bench.test', path: `/svc${s}/r${i}/items?page=2` }
    }
    // created_at breaks priority ties as in Kong; Admin rows carry it, validateEntity does not add it.
    routeRows.push({ ...validRow(routes, input), created_at: CREATED_AT + i })
    probes.push(probe)
  }
  return { entities: { services: svcRows, routes: routeRows }, probes }
}

/**
 * Kong's route priority (traditional_compatible flavor, `kong/router/transform.lua` get_priority), as a sort order.
 * A route with several paths is split into one candidate per path, each ranked on its own.
 */
import type { RouteRow } from '../runtime/entity-rows.ts'

export interface PriorityKey {
  /** Number of non-empty matching fields among methods, hosts, headers, snis, paths. */
  weight: number
  /** Every host is plain (no wildcard). */
  plainHostsOnly: boolean
  headerCount: number
  regex: boolean
  /** Counts only for regex paths, as in Kong. */
  regexPriority: number
  /** Length of the plain prefix, 0 for regex and path-less candidates. */
  prefixLength: number
  /** Tie-breakers: oldest route first (Kong's traditional flavor), then id and path order, so ranks are stable. */
  createdAt: number
  routeId: string
  pathIndex: number
}

const nonEmpty = (v: unknown[] | Record<string, unknown> | null): boolean =>
  v != null && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0)

export function priorityKey(route: RouteRow, path: string | undefined, pathIndex: number): PriorityKey {
  const headerCount = route.headers ? Math.min(Object.keys(route.headers).length, 255) : 0
  const weight =
    Number(nonEmpty(route.methods)) +
    Number(nonEmpty(route.hosts)) +
    Number(headerCount > 0) +
    Number(nonEmpty(route.snis)) +
    Number(nonEmpty(route.paths))
  const regex = path?.startsWith('~') === true
  return {
    weight,
    // Kong tests `type(hosts) == "table"`: an empty list counts as plain hosts, null does not.
    plainHostsOnly: Array.isArray(route.hosts) && !route.hosts.some((h) => h.includes('*')),
    headerCount,
    regex,
    regexPriority: regex ? route.regex_priority : 0,
    prefixLength: path !== undefined && !regex ? path.length : 0,
    createdAt: route.created_at,
    routeId: route.id,
    pathIndex,
  }
}

/** Orders keys from highest to lowest priority. */
export function comparePriority(a: PriorityKey, b: PriorityKey): number {
  return (
    b.weight - a.weight ||
    Number(b.plainHostsOnly) - Number(a.plainHostsOnly) ||
    b.headerCount - a.headerCount ||
    Number(b.regex) - Number(a.regex) ||
    b.regexPriority - a.regexPriority ||
    b.prefixLength - a.prefixLength ||
    a.createdAt - b.createdAt ||
    (a.routeId < b.routeId ? -1 : a.routeId > b.routeId ? 1 : 0) ||
    a.pathIndex - b.pathIndex
  )
}

/**
 * The bodies of `GET /upstreams/{u}/health`, built from nodes' reports: Kong's per-target view (`health` and
 * `data.addresses[]` on each target row) and its balancer view (`?balancer_health=1`). With several data planes the
 * top level is the fleet's — the worst verdict any connected data plane gives, weights summed, addresses listed per
 * data plane — and `data_planes` holds each one's own view.
 */
import type { AddressHealth, EntityRow, TargetHealth, TargetHealthState, UpstreamHealth } from '@turnpike/shared'
import { targetHostPort as hostPort } from '@turnpike/shared'
import type { NodeHealth } from './health-source.ts'

type UpstreamState = UpstreamHealth['health']

export interface Weight {
  total: number
  available: number
  unavailable: number
}

/** An address as shown; `node_id` says whose it is in a fleet view. */
export type ShownAddress = AddressHealth & { node_id?: string }

/** Kong's `data` of a target: its balancer's status (`balancer:getTargetStatus`). */
export interface TargetData {
  host: string
  port: number
  nodeWeight: number
  weight: Weight
  addresses: ShownAddress[]
}

/** Kong's host in a balancer's status (`balancer:getStatus().hosts[]`): addresses say `healthy`, not `health`. */
export interface BalancerHost {
  host: string
  port: number
  nodeWeight: number
  weight: Weight
  addresses: { ip: string; port: number; weight: number; healthy: boolean; node_id?: string }[]
}

/** Kong's `get_balancer_health`; only `health` and `id` when the node has no balancer for the upstream. */
export interface BalancerView {
  health: UpstreamState
  balancer_health?: 'HEALTHY' | 'UNHEALTHY'
  id: string
  details?: { healthy: boolean; weight: Weight; hosts: BalancerHost[] }
}

// Worse verdicts rank higher; an unknown one (a newer DP's) counts as the worst.
const TARGET_RANK: Record<string, number> = { HEALTHCHECKS_OFF: 0, HEALTHY: 1, DNS_ERROR: 2, UNHEALTHY: 3 }
const rank = (s: string) => TARGET_RANK[s] ?? 3

function worst<T extends string>(values: T[], none: T): T {
  let out = none
  for (const v of values) if (rank(v) > rank(out)) out = v
  return out
}

const zero = (): Weight => ({ total: 0, available: 0, unavailable: 0 })

function addWeight(into: Weight, w: Weight): void {
  into.total += w.total
  into.available += w.available
  into.unavailable += w.unavailable
}

/** A target's weight over its addresses, as Kong keeps it: unhealthy addresses' weight is unavailable. */
function weightOf(addresses: readonly AddressHealth[]): Weight {
  const w = zero()
  for (const a of addresses) {
    w.total += a.weight
    if (a.health === 'UNHEALTHY') w.unavailable += a.weight
  }
  w.available = w.total - w.unavailable
  return w
}

function upstreamOf(node: NodeHealth, upstreamId: string): UpstreamHealth | undefined {
  return node.upstreams.find((u) => u.upstream_id === upstreamId)
}

function targetOf(u: UpstreamHealth, row: { id: string; target: string }): TargetHealth | undefined {
  return u.targets.find((t) => t.target_id === row.id) ?? u.targets.find((t) => t.target === row.target)
}

/** One target row with Kong's `health` and `data`, over the nodes counted (addresses tagged when `tag`). */
function targetWithHealth(row: EntityRow, nodes: readonly NodeHealth[], upstreamId: string, tag: boolean) {
  const target = { id: row.id, target: String(row.target) }
  const verdicts: TargetHealthState[] = []
  let data: TargetData | undefined
  for (const node of nodes) {
    const u = upstreamOf(node, upstreamId)
    // Kong: no balancer means no health checks; a target missing from the balancer failed to resolve.
    const t = u && targetOf(u, target)
    verdicts.push(!u ? 'HEALTHCHECKS_OFF' : t ? t.health : 'DNS_ERROR')
    if (!t) continue
    data ??= { ...hostPort(target.target), nodeWeight: t.weight, weight: zero(), addresses: [] }
    addWeight(data.weight, weightOf(t.addresses))
    for (const a of t.addresses) data.addresses.push(tag ? { ...a, node_id: node.node_id } : { ...a })
  }
  const shown: Record<string, unknown> = { ...row, health: worst(verdicts, 'HEALTHCHECKS_OFF') }
  if (data) shown.data = data
  return shown
}

/** Kong's threshold rule (`balancer:updateStatus`), for a balancer whose DP reports no checks. */
function meetsThreshold(w: Weight, threshold: number): boolean {
  return w.total > 0 && ((w.total - w.unavailable) / w.total) * 100 > threshold
}

function balancerOf(u: UpstreamHealth, threshold: number, nodeId?: string): Required<BalancerView> {
  const balancerHealth =
    u.health === 'HEALTHCHECKS_OFF' ? (meetsThreshold(u.weight, threshold) ? 'HEALTHY' : 'UNHEALTHY') : u.health
  return {
    health: u.health,
    balancer_health: balancerHealth,
    id: u.upstream_id,
    details: {
      healthy: balancerHealth === 'HEALTHY',
      weight: { ...u.weight },
      hosts: u.targets.map((t) => ({
        ...hostPort(t.target),
        nodeWeight: t.weight,
        weight: weightOf(t.addresses),
        addresses: t.addresses.map((a) => ({
          ip: a.ip,
          port: a.port,
          weight: a.weight,
          healthy: a.health !== 'UNHEALTHY',
          ...(nodeId === undefined ? {} : { node_id: nodeId }),
        })),
      })),
    },
  }
}

/** The balancer view over the nodes counted: worst verdicts, weights summed, hosts merged by target. */
function fleetBalancer(
  nodes: readonly NodeHealth[],
  upstreamId: string,
  threshold: number,
  tag: boolean,
): BalancerView {
  const views = nodes.flatMap((n) => {
    const u = upstreamOf(n, upstreamId)
    return u ? [balancerOf(u, threshold, tag ? n.node_id : undefined)] : []
  })
  if (!views.length) return { health: 'HEALTHCHECKS_OFF', id: upstreamId }
  const balancerHealth = worst(
    views.map((v) => v.balancer_health),
    'HEALTHY',
  )
  const weight = zero()
  const hosts = new Map<string, BalancerHost>()
  for (const v of views) {
    addWeight(weight, v.details.weight)
    for (const h of v.details.hosts) {
      const key = `${h.host}:${h.port}`
      const merged = hosts.get(key)
      if (!merged) hosts.set(key, { ...h, weight: { ...h.weight }, addresses: [...h.addresses] })
      else {
        addWeight(merged.weight, h.weight)
        merged.addresses.push(...h.addresses)
      }
    }
  }
  return {
    health: worst(
      views.map((v) => v.health),
      'HEALTHCHECKS_OFF',
    ),
    balancer_health: balancerHealth,
    id: upstreamId,
    details: { healthy: balancerHealth === 'HEALTHY', weight, hosts: [...hosts.values()] },
  }
}

function nodeHeader(n: NodeHealth) {
  return {
    node_id: n.node_id,
    hostname: n.hostname,
    connected: n.connected,
    reported_at: n.reported_at,
    config_version: n.config_version ?? null,
  }
}

export interface HealthViewInput {
  upstream: EntityRow
  /** Reports to show (already limited to one node when asked). */
  nodes: readonly NodeHealth[]
  /** Whether per-node views are added (`data_planes`) and addresses tagged with their node. */
  perNode: boolean
  /** Whether ended streams' reports count in the top-level view (yes when one node was asked for). */
  countDisconnected: boolean
}

const byNodeId = (a: NodeHealth, b: NodeHealth) => (a.node_id < b.node_id ? -1 : a.node_id > b.node_id ? 1 : 0)

/** The nodes in node id order (so answers are stable), and those counted in the top-level view. */
function nodesOf(input: HealthViewInput): { all: NodeHealth[]; counted: NodeHealth[] } {
  const all = [...input.nodes].sort(byNodeId)
  return { all, counted: input.countDisconnected ? all : all.filter((n) => n.connected) }
}

/** Kong's target rows with `health` and `data`, plus `data_planes` (each one's view of these targets). */
export function targetsHealthView(input: HealthViewInput, rows: readonly EntityRow[]) {
  const upstreamId = input.upstream.id
  const nodes = nodesOf(input)
  const data = rows.map((r) => targetWithHealth(r, nodes.counted, upstreamId, input.perNode))
  if (!input.perNode) return { data }
  const ids = new Set(rows.map((r) => r.id))
  const names = new Set(rows.map((r) => String(r.target)))
  const dataPlanes = nodes.all.map((n) => {
    const u = upstreamOf(n, upstreamId)
    return {
      ...nodeHeader(n),
      health: u?.health ?? 'HEALTHCHECKS_OFF',
      weight: u ? { ...u.weight } : zero(),
      // Only this page's targets, so the answer stays as bounded as the page.
      targets: (u?.targets ?? []).filter((t) => ids.has(t.target_id) || names.has(t.target)),
    }
  })
  return { data, data_planes: dataPlanes }
}

/** Kong's balancer view (`?balancer_health=1`), plus `data_planes` (each one's balancer). */
export function balancerHealthView(input: HealthViewInput) {
  const upstreamId = input.upstream.id
  const threshold = Number((input.upstream.healthchecks as { threshold?: number } | null)?.threshold ?? 0)
  const nodes = nodesOf(input)
  const data = fleetBalancer(nodes.counted, upstreamId, threshold, input.perNode)
  if (!input.perNode) return { data }
  const dataPlanes = nodes.all.map((n) => {
    const u = upstreamOf(n, upstreamId)
    const view: BalancerView = u ? balancerOf(u, threshold) : { health: 'HEALTHCHECKS_OFF', id: upstreamId }
    return { ...nodeHeader(n), ...view }
  })
  return { data, data_planes: dataPlanes }
}

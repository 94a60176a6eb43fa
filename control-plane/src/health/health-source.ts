/**
 * Where the Admin API's upstream health comes from: this node's own balancers (role traditional and DB-less, where
 * the data plane runs in-process and is attached once started), or every data plane's latest report (role
 * control_plane), which is also where manual overrides are sent.
 */
import { hostname } from 'node:os'
import type { HealthOverride, LocalHealth, UpstreamHealth } from '@turnpike/shared'
import type { DataPlaneRegistry } from '../sync/data-plane-registry.ts'

/** One node's view of its balancers. */
export interface NodeHealth {
  node_id: string
  hostname: string
  /** False for a data plane whose stream has ended: its last report is still shown, but not counted. */
  connected: boolean
  /** Epoch seconds when the report was read (local) or received (cluster). */
  reported_at: number
  /** The config version the node served as it reported, when known. */
  config_version?: number
  upstreams: readonly UpstreamHealth[]
}

export type OverrideOutcome = { ok: true; node_ids: string[] } | { ok: false; status: 400 | 404 | 503; message: string }

export interface HealthSource {
  /** `local`: this node's own balancers, answered as Kong does; `cluster`: one report per data plane. */
  readonly mode: 'local' | 'cluster'
  reports(): NodeHealth[]
  /** Applies (local) or sends (cluster) an override; `nodeId` limits it to one data plane. */
  override(o: HealthOverride, context: { upstreamName: string; nodeId?: string }): OverrideOutcome
}

/** Kong's answer for a node without a balancer for the upstream (`balancer.post_health`). */
const noBalancer = (name: string) => `Upstream ${name} has no balancer`

/** The in-process data plane's balancers, attached once it has started; until then, no balancer anywhere. */
export class LocalHealthSource implements HealthSource {
  readonly mode = 'local'
  readonly #nodeId: string
  #health: LocalHealth | undefined

  constructor(nodeId: string) {
    this.#nodeId = nodeId
  }

  attach(health: LocalHealth): void {
    this.#health = health
  }

  reports(): NodeHealth[] {
    if (!this.#health) return []
    return [
      {
        node_id: this.#nodeId,
        hostname: hostname(),
        connected: true,
        reported_at: Math.floor(Date.now() / 1000),
        upstreams: this.#health.report(),
      },
    ]
  }

  override(o: HealthOverride, context: { upstreamName: string; nodeId?: string }): OverrideOutcome {
    if (context.nodeId !== undefined && context.nodeId !== this.#nodeId)
      return { ok: false, status: 404, message: `node '${context.nodeId}' is not this node ('${this.#nodeId}')` }
    if (!this.#health) return { ok: false, status: 400, message: noBalancer(context.upstreamName) }
    if (!this.#health.override(o)) {
      const what = o.address ? `address ${o.address} of target ${o.target}` : `target ${o.target}`
      return {
        ok: false,
        status: 400,
        message: `the balancer of upstream ${context.upstreamName} on this node does not know ${what}`,
      }
    }
    return { ok: true, node_ids: [this.#nodeId] }
  }
}

/** A control plane's view: the latest report of each data plane this replica serves; overrides go to them. */
export function clusterHealthSource(
  registry: DataPlaneRegistry,
  send: (o: HealthOverride, nodeId?: string) => string[],
  capability: string,
): HealthSource {
  return {
    mode: 'cluster',
    reports: () =>
      registry.healthReports().map(({ dp, report }) => ({
        node_id: dp.node_id,
        hostname: dp.hostname,
        connected: dp.connected,
        reported_at: report.received_at,
        config_version: report.config_version,
        upstreams: report.upstreams,
      })),
    override(o, { nodeId }) {
      if (nodeId !== undefined) {
        const dp = registry.get(nodeId)
        if (!dp) return { ok: false, status: 404, message: `data plane '${nodeId}' is not known to this control plane` }
        if (!dp.connected)
          return {
            ok: false,
            status: 503,
            message: `data plane '${nodeId}' is not connected to this control plane; the override was not sent`,
          }
        if (!dp.capabilities.includes(capability))
          return {
            ok: false,
            status: 503,
            message: `data plane '${nodeId}' (version ${dp.version}) does not accept health overrides; the override was not sent`,
          }
      }
      const sent = send(o, nodeId)
      if (!sent.length)
        return {
          ok: false,
          status: 503,
          message:
            'no data plane that accepts health overrides is connected to this control plane; the override was not sent',
        }
      return { ok: true, node_ids: sent }
    },
  }
}

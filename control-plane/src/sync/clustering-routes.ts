/**
 * Admin API routes for the cluster, in Kong's shapes: `GET /clustering/data-planes` (paginated),
 * the deprecated `GET /clustering/status`, and the control plane's Prometheus metrics at `GET /metrics`.
 */
import type { Role } from '@turnpike/shared'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { Registry } from 'prom-client'
import { parsePageQuery } from '../admin/page-query.ts'
import { addPath } from '../admin/routing.ts'
import { decodeOffset, encodeOffset } from '../db/entity-store.ts'
import type { DataPlaneRegistry } from './data-plane-registry.ts'
import type { DataPlaneRecord, RegistryStore } from './registry-store.ts'

export interface ClusteringRoutesOptions {
  role: Role
  registry?: DataPlaneRegistry
  store?: RegistryStore
  metrics?: Registry
}

/** Kong's answer on a node that is not a control plane. */
const NOT_A_CP = 'this endpoint is only available when Turnpike is configured to run as Control Plane for the cluster'

/** Kong's row shape, plus Turnpike's config_version, last_error, connected and control_plane_id. */
function publicRow(r: DataPlaneRecord): Record<string, unknown> {
  const { cert_expiry, ...rest } = r
  return { ...rest, cert_details: { expiry_timestamp: cert_expiry } }
}

export function registerClusteringRoutes(app: FastifyInstance, options: ClusteringRoutesOptions): void {
  const { registry, store } = options
  const serving = options.role === 'control_plane' && registry
  const notACp = (reply: FastifyReply) => reply.code(400).send({ message: NOT_A_CP })

  /** One page from the database; this replica's own DPs when the database is away. */
  async function page(size: number, offset?: string): Promise<{ data: DataPlaneRecord[]; offset?: string }> {
    if (store) {
      try {
        return await store.page(size, offset)
      } catch (err) {
        app.log.warn({ err }, 'data plane registry unreadable; listing only this control plane’s data planes')
      }
    }
    const all = registry!.records()
    const after = offset === undefined ? undefined : decodeOffset(offset)
    const from = after === undefined ? 0 : all.findIndex((r) => r.id > after)
    const data = from < 0 ? [] : all.slice(from, from + size)
    const last = data.at(-1)
    return from >= 0 && from + size < all.length && last ? { data, offset: encodeOffset(last.id) } : { data }
  }

  addPath(app, '/clustering/data-planes', {
    GET: async (req, reply) => {
      if (!serving) return notACp(reply)
      const q = parsePageQuery(req.query as Record<string, unknown>)
      const p = await page(q.size, q.offset)
      const data = p.data.map(publicRow)
      if (!p.offset) return reply.send({ data, next: null })
      const next = `/clustering/data-planes?offset=${encodeURIComponent(p.offset)}&size=${q.size}`
      return reply.send({ data, offset: p.offset, next })
    },
  })

  addPath(app, '/clustering/status', {
    GET: async (_req, reply) => {
      if (!serving) return notACp(reply)
      reply.header('Deprecation', 'true')
      const out: Record<string, unknown> = {}
      let offset: string | undefined
      do {
        const p = await page(1000, offset)
        for (const r of p.data)
          out[r.id] = { config_hash: r.config_hash, hostname: r.hostname, ip: r.ip, last_seen: r.last_seen }
        offset = p.offset
      } while (offset)
      return reply.send(out)
    },
  })

  if (options.metrics) {
    const metrics = options.metrics
    addPath(app, '/metrics', {
      GET: async (_req, reply) => reply.header('Content-Type', metrics.contentType).send(await metrics.metrics()),
    })
  }
}

/**
 * Kong's upstream health endpoints (`kong/api/routes/upstreams.lua`): `GET /upstreams/{u}/health` (per target, or
 * the balancer with `?balancer_health=1`), `GET /upstreams/{u}/targets/all`, and the manual overrides
 * `PUT|POST /upstreams/{u}/targets/{t}[/{address}]/healthy|unhealthy`. On a control plane the health is every
 * data plane's (`data_planes`, `?node_id=` for one) and overrides go to the connected data planes.
 */
import type { EntityRow, HealthOverride } from '@turnpike/shared'
import { normalizeHealthAddress, targets, upstreams } from '@turnpike/shared'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { pageBody, parsePageQuery } from '../admin/page-query.ts'
import { addPath, type Handler, notFound } from '../admin/routing.ts'
import type { EntityStore } from '../db/entity-store.ts'
import type { HealthSource } from './health-source.ts'
import { balancerHealthView, targetsHealthView } from './health-view.ts'

const param = (req: FastifyRequest, name: string) => (req.params as Record<string, string>)[name] ?? ''

function queryValue(req: FastifyRequest, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name]
  const s = Array.isArray(v) ? v[0] : v
  return typeof s === 'string' ? s : undefined
}

const message = (reply: FastifyReply, status: number, text: string) => reply.code(status).send({ message: text })

export interface HealthRoutesOptions {
  store: EntityStore
  health: HealthSource
  /** This node's id, Kong's `node_id` in health answers. */
  nodeId: string
}

export function registerHealthRoutes(app: FastifyInstance, options: HealthRoutesOptions): void {
  const { store, health } = options
  const perNode = health.mode === 'cluster'

  const upstreamOf = (req: FastifyRequest) => store.select(upstreams, param(req, 'upstreams'))

  /** The target named in the URL (by id or `host:port`), only if it belongs to the upstream. */
  async function targetOf(req: FastifyRequest, upstream: EntityRow): Promise<EntityRow | undefined> {
    const t = await store.select(targets, param(req, 'targets'), { field: 'upstream', id: upstream.id })
    return t && (t.upstream as { id?: string } | null)?.id === upstream.id ? t : undefined
  }

  /** `?node_id=`, lowercased as node ids are stored. */
  const nodeIdOf = (req: FastifyRequest) => queryValue(req, 'node_id')?.toLowerCase()

  addPath(
    app,
    '/upstreams/{upstreams}/health',
    {
      GET: async (req, reply) => {
        const upstream = await upstreamOf(req)
        if (!upstream) return notFound(reply)
        const nodeId = nodeIdOf(req)
        let nodes = health.reports()
        if (nodeId !== undefined) {
          nodes = nodes.filter((n) => n.node_id === nodeId)
          if (!nodes.length) return message(reply, 404, `no health report from node '${nodeId}' on this node`)
        }
        const input = { upstream, nodes, perNode, countDisconnected: nodeId !== undefined }
        if (queryValue(req, 'balancer_health') === '1')
          return reply.send({ ...balancerHealthView(input), next: null, node_id: options.nodeId })
        const q = parsePageQuery(req.query as Record<string, unknown>)
        const page = await store.page(targets, { ...q, foreign: { field: 'upstream', id: upstream.id } })
        const body = pageBody(page, `/upstreams/${upstream.id}/health`, q, { node_id: nodeId })
        const view = targetsHealthView(input, page.data)
        return reply.send({ ...body, ...view, node_id: options.nodeId })
      },
    },
    {
      tag: 'upstreams',
      kind: 'other',
      summary: { GET: 'Health of the upstream’s targets (or of its balancer), per data plane on a control plane' },
      query: {
        balancer_health: '`1` for the balancer’s health instead of the targets’',
        node_id: 'Only this data plane’s report (control plane)',
        size: 'Page size (1–1000, default 100)',
        offset: 'Opaque token from the previous page',
      },
      responses: { GET: { type: 'object' } },
    },
  )

  addPath(
    app,
    '/upstreams/{upstreams}/targets/all',
    {
      GET: async (req, reply) => {
        const upstream = await upstreamOf(req)
        if (!upstream) return notFound(reply)
        const q = parsePageQuery(req.query as Record<string, unknown>)
        const page = await store.page(targets, { ...q, foreign: { field: 'upstream', id: upstream.id } })
        return reply.send(pageBody(page, `/upstreams/${upstream.id}/targets/all`, q))
      },
    },
    { tag: 'targets', kind: 'collection', entity: targets, summary: { GET: 'List every target of the upstream' } },
  )

  function setHealth(healthy: boolean, withAddress: boolean): Handler {
    return async (req, reply) => {
      const upstream = await upstreamOf(req)
      if (!upstream) return notFound(reply)
      const target = await targetOf(req, upstream)
      if (!target) return notFound(reply)
      const override: HealthOverride = { upstream_id: upstream.id, target: String(target.target), healthy }
      if (withAddress) {
        const raw = param(req, 'address')
        const parsed = normalizeHealthAddress(raw)
        if (!parsed.ok) return message(reply, 400, `invalid address '${raw}': ${parsed.error}`)
        override.address = parsed.address
      }
      const outcome = health.override(override, { upstreamName: String(upstream.name), nodeId: nodeIdOf(req) })
      if (!outcome.ok) return message(reply, outcome.status, outcome.message)
      return reply.code(204).send()
    }
  }

  for (const [suffix, healthy] of [
    ['healthy', true],
    ['unhealthy', false],
  ] as const) {
    for (const withAddress of [false, true]) {
      const path = `/upstreams/{upstreams}/targets/{targets}${withAddress ? '/{address}' : ''}/${suffix}`
      const handler = setHealth(healthy, withAddress)
      const what = `${withAddress ? 'one address of a target' : 'a target'} as ${suffix}`
      addPath(
        app,
        path,
        // Kong 3 takes PUT; POST is Kong 2's spelling, still used by older scripts.
        { PUT: handler, POST: handler },
        {
          tag: 'targets',
          kind: 'other',
          summary: { PUT: `Set ${what}`, POST: `Set ${what} (Kong 2 spelling)` },
          status: { PUT: 204, POST: 204 },
          query: { node_id: 'Only on this data plane (control plane)' },
        },
      )
    }
  }
}

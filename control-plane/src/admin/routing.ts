/**
 * Path registration with Kong's 404/405 answers for the methods a path does not serve, and a record of every
 * path served (with what it serves), from which `GET /endpoints` and `GET /openapi.json` are generated.
 */
import type { EntityDef } from '@turnpike/shared'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const
export type Method = (typeof METHODS)[number]
export type Handler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>

/** What a path serves, for the generated documentation. */
export interface EndpointDoc {
  /** OpenAPI tag (an entity name, `information`, `schemas` …). */
  tag: string
  /**
   * `collection` (`/services`), `entity` (`/services/{services}`), `parent` (`/routes/{routes}/service`, where
   * `entity` is the parent served), or `other` (its own schemas in `responses`).
   */
  kind: 'collection' | 'entity' | 'parent' | 'other'
  entity?: EntityDef
  /** Per-method one-line summaries. */
  summary?: Partial<Record<Method, string>>
  /** For `other` endpoints: the JSON Schema of a 200/201 response, by method. */
  responses?: Partial<Record<Method, Record<string, unknown>>>
  /** For `other` endpoints: the JSON Schema of the request body, by method. */
  requestBodies?: Partial<Record<Method, Record<string, unknown>>>
  /** For `other` endpoints: a success status other than 200 (201 for POST), by method; 204 has no body. */
  status?: Partial<Record<Method, number>>
  /** Query parameters (name → description). */
  query?: Record<string, string>
}

export interface Endpoint {
  /** Kong's spelling, `/services/{services}/routes`. */
  path: string
  methods: Method[]
  doc: EndpointDoc
}

const registry = new WeakMap<FastifyInstance, Endpoint[]>()

/** Every path served on `app`, in registration order. */
export function endpointsOf(app: FastifyInstance): readonly Endpoint[] {
  return registry.get(app) ?? []
}

export function notFound(reply: FastifyReply): FastifyReply {
  return reply.code(404).send({ message: 'Not found' })
}

export function methodNotAllowed(reply: FastifyReply): FastifyReply {
  return reply.code(405).send({ message: 'Method not allowed' })
}

/**
 * Serves `handlers` on `path` (`/services/{services}` or fastify's `/services/:services`); every other method
 * answers 405 instead of fastify's 404.
 */
export function addPath(
  app: FastifyInstance,
  path: string,
  handlers: Partial<Record<Method, Handler>>,
  doc?: EndpointDoc,
): void {
  const url = path.replace(/\{(\w+)\}/g, ':$1')
  for (const method of METHODS) {
    app.route({ method, url, handler: handlers[method] ?? (async (_req, reply) => methodNotAllowed(reply)) })
  }
  const list = registry.get(app) ?? []
  registry.set(app, list)
  list.push({
    path: path.replace(/:(\w+)/g, '{$1}'),
    methods: METHODS.filter((m) => handlers[m]),
    doc: doc ?? { tag: path.split('/')[1] || 'information', kind: 'other' },
  })
}

/** The Kong-compatible Admin API (fastify): node routes plus generated entity endpoints, errors in Kong's shape. */
import { randomUUID } from 'node:crypto'
import type { ListenAddress, Logger, Settings, SnapshotFeed } from '@turnpike/shared'
import { entities, TurnpikeError } from '@turnpike/shared'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from 'fastify'
import type { Database } from '../db/database.ts'
import type { EntityStore } from '../db/entity-store.ts'
import { configRoutes, type DeclarativeLoader } from '../declarative/config-routes.ts'
import { registerHealthRoutes } from '../health/health-routes.ts'
import { type HealthSource, LocalHealthSource } from '../health/health-source.ts'
import { type ClusteringRoutesOptions, registerClusteringRoutes } from '../sync/clustering-routes.ts'
import { requireAdminToken } from './admin-auth.ts'
import { registerEntityRoutes } from './entity-routes.ts'
import { registerMetaRoutes } from './meta-routes.ts'
import { registerNodeRoutes } from './node-routes.ts'
import { registerBodyParsers } from './request-body.ts'
import { notFound } from './routing.ts'

export interface AdminApiOptions {
  store: EntityStore
  db: Database
  settings: Settings
  logger: Logger
  nodeId: string
  /** Source of the configuration hash shown by GET /status. */
  feed?: SnapshotFeed
  /** `/clustering/*` and `/metrics`; absent, those paths are simply not served. */
  clustering?: ClusteringRoutesOptions
  /** DB-less nodes: `POST /config` replaces the config through this (DB-backed nodes answer 400, as Kong). */
  declarative?: DeclarativeLoader
  /** Upstream health for `/upstreams/{u}/health` and the overrides; absent, no balancer is known (HEALTHCHECKS_OFF). */
  health?: HealthSource
}

/** Fastify's own client errors (bad media type, oversized or malformed bodies) as Turnpike errors. */
function clientError(err: FastifyError, contentType: string | undefined): TurnpikeError | undefined {
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return new TurnpikeError('UNSUPPORTED_MEDIA_TYPE', `Unsupported Content-Type: ${contentType ?? '(none)'}`)
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new TurnpikeError('PAYLOAD_TOO_LARGE', err.message)
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)
    return new TurnpikeError('BAD_REQUEST', err.message)
  return undefined
}

/** Builds (does not start) the Admin API; `app.inject` works on the result. */
export function buildAdminApi(options: AdminApiOptions): FastifyInstance {
  const log: FastifyBaseLogger = options.logger.child({ component: 'admin' })
  const app = Fastify({
    loggerInstance: log,
    // Requests are not logged one by one; failures are, by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    // Keys in URLs (API keys, names) may be long; find-my-way's default cap is 100 characters.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 2048 },
    // Undecodable URLs are rejected before routing; answer them in Kong's error shape too.
    frameworkErrors: (err, _req, reply) => {
      const r = reply as FastifyReply
      r.code(400).send(new TurnpikeError('BAD_REQUEST', err.message).toJSON())
    },
  })
  requireAdminToken(app, options.settings.admin_token)
  registerBodyParsers(app)
  registerNodeRoutes(app, options)
  registerMetaRoutes(app, options.store)
  if (options.clustering) registerClusteringRoutes(app, options.clustering)
  registerEntityRoutes(app, options.store, entities)
  registerHealthRoutes(app, {
    store: options.store,
    health: options.health ?? new LocalHealthSource(options.nodeId),
    nodeId: options.nodeId,
  })
  app.register(configRoutes, { db: options.db, dbless: options.declarative })
  app.setNotFoundHandler((_req, reply) => notFound(reply))
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const known = err instanceof TurnpikeError ? err : clientError(err, req.headers['content-type'])
    if (known && known.status < 500) return reply.code(known.status).send(known.toJSON())
    req.log.error({ err, req_id: req.id, method: req.method, url: req.url }, 'admin request failed')
    if (known) return reply.code(known.status).send(known.toJSON())
    return reply.code(500).send({ message: 'An unexpected error occurred', request_id: req.id })
  })
  return app
}

/**
 * Starts listening on the first `admin_listen` address (port 0 picks a free port) and returns its
 * URL; '' when the Admin API is off.
 */
export async function listenAdminApi(
  app: FastifyInstance,
  addresses: ListenAddress[],
  logger: Logger,
): Promise<string> {
  const [first, ...rest] = addresses
  if (!first) {
    logger.info('admin_listen is off; no Admin API')
    return ''
  }
  if (rest.length || first.ssl)
    logger.warn({ admin_listen: addresses }, 'only the first plain-HTTP admin_listen address is served for now')
  await app.listen({ host: first.host, port: first.port })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : first.port
  const host = first.host.includes(':') ? `[${first.host}]` : first.host
  const url = `http://${host}:${port}`
  logger.info({ url }, 'Admin API listening')
  return url
}

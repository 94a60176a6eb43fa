/** `GET /` (node information) and `GET /status` (counters this process can actually measure), in Kong's shape. */
import { hostname } from 'node:os'
import type { Settings, SnapshotFeed } from '@turnpike/shared'
import { allPluginDefs, redactedSettings, TURNPIKE_VERSION } from '@turnpike/shared'
import type { FastifyInstance } from 'fastify'
import type { Database } from '../db/database.ts'
import type { EntityStore } from '../db/entity-store.ts'
import { addPath } from './routing.ts'

export function registerNodeRoutes(
  app: FastifyInstance,
  options: { db: Database; store: EntityStore; settings: Settings; nodeId: string; feed?: SnapshotFeed },
): void {
  const counters = { connections_active: 0, connections_accepted: 0, total_requests: 0 }
  app.server.on('connection', (socket) => {
    counters.connections_accepted++
    counters.connections_active++
    socket.once('close', () => counters.connections_active--)
  })
  app.addHook('onRequest', async () => {
    counters.total_requests++
  })

  addPath(app, '/', {
    GET: async () => ({
      tagline: 'Welcome to turnpike',
      version: TURNPIKE_VERSION,
      edition: 'community',
      hostname: hostname(),
      node_id: options.nodeId,
      pids: { master: process.pid, workers: [process.pid] },
      plugins: {
        available_on_server: Object.fromEntries(
          allPluginDefs().map((p) => [p.name, { version: p.version, priority: p.priority }]),
        ),
        enabled_in_cluster: await options.store.pluginNamesInUse().catch(() => []),
      },
      configuration: redactedSettings(options.settings),
    }),
  })

  addPath(app, '/status', {
    GET: async () => ({
      server: {
        connections_active: counters.connections_active,
        connections_accepted: counters.connections_accepted,
        // Node accepts every connection it is offered, so handled equals accepted.
        connections_handled: counters.connections_accepted,
        total_requests: counters.total_requests,
      },
      database: { reachable: await options.db.ping() },
      configuration_hash: options.feed?.current()?.hash ?? null,
    }),
  })
}

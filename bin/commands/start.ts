/** `turnpike start`: runs the node's role until SIGTERM/SIGINT, then drains and exits. */
import { startControlPlane, startDeclarativeNode } from '@turnpike/control-plane'
import { FeedConfigSource, startDataPlane } from '@turnpike/data-plane'
import { createLogger } from '@turnpike/shared'
import { parseCommand } from './options.ts'

const HELP = `Usage: turnpike start [-c FILE]

Starts a node in the role set by TURNPIKE_ROLE (or 'role' in the config file):
  traditional    Admin API + proxy in one process (default; embedded PGlite database
                 under TURNPIKE_PREFIX unless TURNPIKE_DATABASE=postgres)
  control_plane  Admin API + cluster sync server against Postgres
  data_plane     Proxy fed by TURNPIKE_CLUSTER_CONTROL_PLANE over gRPC

DB-less (role traditional, TURNPIKE_DATABASE=off): serves the declarative file
TURNPIKE_DECLARATIVE_CONFIG (Kong's _format_version 3.0 YAML/JSON; the start fails
listing every invalid entity); POST /config replaces it, GET /config exports it, and
entity writes through the Admin API answer 405.
`

export async function startCommand(args: string[]): Promise<number> {
  const { settings, help } = parseCommand(args)
  if (help) {
    process.stdout.write(HELP)
    return 0
  }
  const logger = createLogger(settings.log_level)
  const closers: (() => Promise<void>)[] = []

  if (settings.role !== 'data_plane') {
    // Kong's DB-less mode: the config is TURNPIKE_DECLARATIVE_CONFIG, replaced through POST /config.
    const cp =
      settings.database === 'off'
        ? await startDeclarativeNode({ settings, logger })
        : await startControlPlane({ settings, logger, serveCluster: settings.role === 'control_plane' })
    closers.unshift(cp.close)
    if (settings.role === 'traditional') {
      const dp = await startDataPlane({ settings, logger, source: new FeedConfigSource(cp.feed) })
      closers.unshift(dp.close)
      // The Admin API's /upstreams/{u}/health and overrides act on this node's own balancers, as in Kong.
      cp.attachLocalHealth(dp.health)
    }
  } else {
    const dp = await startDataPlane({ settings, logger })
    closers.unshift(dp.close)
  }
  logger.info({ role: settings.role, database: settings.database }, 'turnpike started')

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down')
      resolve()
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
  for (const close of closers) await close()
  logger.info('stopped')
  return 0
}

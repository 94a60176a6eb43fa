/** `turnpike start`: runs the node's role until SIGTERM/SIGINT, then drains and exits. */
import { startControlPlane, startDeclarativeNode } from '@turnpike/control-plane'
import { FeedConfigSource, startDataPlane } from '@turnpike/data-plane'
import { createLogger, type Logger, type Settings } from '@turnpike/shared'
import { parseCommand } from './options.ts'
import { removePidFile, writePidFile } from './pid-file.ts'

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

The node's pid is written to <prefix>/pids/turnpike.pid. SIGTERM/SIGINT drain and stop it;
SIGHUP (or \`turnpike reload\`) re-reads the settings and replaces the proxy workers
without closing the proxy ports.
`

export async function startCommand(args: string[]): Promise<number> {
  const { settings, help } = parseCommand(args)
  if (help) {
    process.stdout.write(HELP)
    return 0
  }
  const logger = createLogger(settings.log_level)
  const closers: (() => Promise<void>)[] = []
  const pidFile = writePidFile(settings.prefix)
  closers.push(async () => removePidFile(settings.prefix))
  let reloadDataPlane: ((next: Settings) => Promise<void>) | undefined
  let reloadDeclarative: (() => Promise<void>) | undefined

  if (settings.role !== 'data_plane') {
    // Kong's DB-less mode: the config is TURNPIKE_DECLARATIVE_CONFIG, replaced through POST /config.
    const cp =
      settings.database === 'off'
        ? await startDeclarativeNode({ settings, logger })
        : await startControlPlane({ settings, logger, serveCluster: settings.role === 'control_plane' })
    closers.unshift(cp.close)
    reloadDeclarative = cp.reloadDeclarative
    if (settings.role === 'traditional') {
      const dp = await startDataPlane({ settings, logger, source: new FeedConfigSource(cp.feed) })
      closers.unshift(dp.close)
      reloadDataPlane = dp.reload
      // The Admin API's /upstreams/{u}/health and overrides act on this node's own balancers, as in Kong.
      cp.attachLocalHealth(dp.health)
    }
  } else {
    const dp = await startDataPlane({ settings, logger })
    closers.unshift(dp.close)
    reloadDataPlane = dp.reload
  }
  logger.info({ role: settings.role, database: settings.database, pid_file: pidFile }, 'turnpike started')

  // Reloads run one at a time; a bad settings file is logged and the node keeps running as it was.
  let reloading = Promise.resolve()
  process.on('SIGHUP', () => {
    reloading = reloading.then(async () => {
      await reload(args, settings, logger, reloadDataPlane)
      if (!reloadDeclarative) return
      try {
        await reloadDeclarative()
        logger.info({ declarative_config: settings.declarative_config }, 'reload: declarative config loaded')
      } catch (err) {
        logger.error(
          { err: (err as Error).message },
          'reload: the declarative config does not load; the old one keeps serving',
        )
      }
    })
  })

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

/** Settings the proxy workers take on reload; any other change is reported as needing a restart. */
const RELOADABLE = new Set<keyof Settings>([
  'proxy_listen',
  'worker_processes',
  'trusted_ips',
  'headers',
  'headers_upstream',
  'ssl_cert',
  'ssl_cert_key',
  'client_max_body_size',
  'client_body_buffer_size',
  'client_max_header_size',
  'client_max_headers',
  'client_header_timeout',
  'client_body_timeout',
  'client_request_timeout',
  'upstream_allow_link_local',
  'upstream_passive_half_open',
  'log_level',
])

async function reload(
  args: string[],
  running: Settings,
  logger: Logger,
  reloadDataPlane: ((next: Settings) => Promise<void>) | undefined,
): Promise<void> {
  let next: Settings
  try {
    next = parseCommand(args).settings
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'reload: the settings do not load; nothing changed')
    return
  }
  const changed = (Object.keys(next) as (keyof Settings)[]).filter(
    (k) => JSON.stringify(next[k]) !== JSON.stringify(running[k]),
  )
  const needRestart = changed.filter((k) => !RELOADABLE.has(k))
  if (needRestart.length)
    logger.warn({ settings: needRestart }, 'reload: these settings take effect only after a restart')
  if (!reloadDataPlane) {
    logger.info({ changed }, 'reload: this node runs no proxy; nothing to reload')
    return
  }
  // The node's main thread keeps the settings it started with; the new workers get the reloadable ones.
  const applied = { ...running }
  for (const k of changed) if (RELOADABLE.has(k)) (applied as Record<string, unknown>)[k] = next[k]
  try {
    await reloadDataPlane(applied)
    logger.info({ changed: changed.filter((k) => RELOADABLE.has(k)) }, 'reload: proxy workers replaced')
  } catch (err) {
    logger.error(
      { err: (err as Error).message },
      'reload: the new proxy workers did not start; the old ones keep serving',
    )
  }
}

/**
 * A DB-less node (`database = off`, Kong's DB-less mode): its config is a declarative file, replaced as a whole
 * by `POST /config`. It is held in an in-memory PGlite that nothing but those loads writes to, so the Admin API's
 * reads, the snapshot builder and the feed are the very ones a database-backed node runs; entity writes answer
 * Kong's 405.
 */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { DeclarativeConfig, DeclarativeErrors, Logger, Settings } from '@turnpike/shared'
import { describeDeclarativeErrors, loadPluginDefinitions, parseDeclarative, TurnpikeError } from '@turnpike/shared'
import { buildAdminApi, listenAdminApi } from '../admin/admin-api.ts'
import type { ControlPlane } from '../control-plane.ts'
import { readConfig } from '../db/config-reader.ts'
import { type Database, openDatabase } from '../db/database.ts'
import { createEntityStore } from '../db/entity-store.ts'
import { runMigrations } from '../db/migrate.ts'
import { LocalHealthSource } from '../health/health-source.ts'
import { shutdownSteps } from '../shutdown-steps.ts'
import { startSnapshotBuilder } from '../sync/snapshot-builder.ts'
import type { DeclarativeLoader } from './config-routes.ts'
import { DeclarativeConfigError, importDeclarative } from './import-config.ts'
import { readOnlyStore } from './read-only-store.ts'

/** Reads and parses the node's `declarative_config` file; a bad file is an error listing every failing entity. */
export function readDeclarativeFile(path: string): DeclarativeConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new TurnpikeError('INVALID_OPTIONS', `cannot read declarative_config ${path}: ${(err as Error).message}`)
  }
  const parsed = parseDeclarative(text, { filename: path })
  if (!parsed.ok) throw invalidFile(path, parsed.errors)
  return parsed
}

function invalidFile(path: string, errors: DeclarativeErrors): TurnpikeError {
  const lines = describeDeclarativeErrors(errors)
  return new TurnpikeError(
    'DECLARATIVE_CONFIG',
    `invalid declarative config ${path} (${lines.length} error${lines.length === 1 ? '' : 's'}):\n  ${lines.join('\n  ')}`,
    errors.fields,
  )
}

/** Loads whole configs into `db` (one transaction each), remembering the last input's hash for `check_hash`. */
export function createDeclarativeLoader(
  db: Database,
  options: { keyringSecret?: string; logger: Logger },
): DeclarativeLoader {
  let hash: string | undefined
  return {
    currentHash: () => hash,
    async load(config) {
      const started = Date.now()
      const result = await importDeclarative(db, config.entities, {
        keyringSecret: options.keyringSecret,
        transform: config.transform,
      })
      hash = config.hash
      for (const warning of config.warnings) options.logger.warn(warning)
      options.logger.info({ version: result.version, ms: Date.now() - started }, 'declarative config loaded')
      return result.desired
    },
  }
}

/** Starts a DB-less node's control side: the config (from `declarative_config`, or empty), feed and Admin API. */
export async function startDeclarativeNode(options: { settings: Settings; logger: Logger }): Promise<ControlPlane> {
  const { settings, logger } = options
  const log = logger.child({ component: 'declarative' })
  const { push: addCloser, closeAll } = shutdownSteps(log)
  // Custom plugin definitions (plugins_dir) first: the file may configure them.
  if (settings.plugins_dir) await loadPluginDefinitions(settings.plugins_dir)
  // A bad file fails the start before anything is opened or listens.
  const file = settings.declarative_config
  const initial = file ? readDeclarativeFile(file) : undefined

  try {
    const db = await openDatabase({ ...settings, database: 'pglite' }, logger, { memory: true })
    addCloser(() => db.destroy())
    await runMigrations(db, logger, 'up')
    const keyringSecret = settings.keyring_secret || undefined
    const loader = createDeclarativeLoader(db, { keyringSecret, logger: log })
    if (initial && file) {
      try {
        await loader.load(initial)
      } catch (err) {
        throw err instanceof DeclarativeConfigError ? invalidFile(file, err.errors) : err
      }
    } else log.warn('no declarative_config file: serving an empty config until one is POSTed to /config')

    const builder = await startSnapshotBuilder({
      database: db,
      logger,
      read: () => readConfig(db, { keyringSecret }),
    })
    addCloser(builder.close)
    const nodeId = randomUUID()
    // The in-process data plane's balancers, once it has started (Kong's DB-less node has its own balancer).
    const health = new LocalHealthSource(nodeId)
    const admin = buildAdminApi({
      store: readOnlyStore(createEntityStore(db, { keyringSecret })),
      db,
      settings,
      logger,
      nodeId,
      feed: builder,
      clustering: { role: settings.role },
      declarative: loader,
      health,
    })
    addCloser(() => admin.close())
    const adminUrl = await listenAdminApi(admin, settings.admin_listen, logger)

    let closing: Promise<void> | undefined
    return {
      feed: builder,
      adminUrl,
      attachLocalHealth: (h) => health.attach(h),
      reloadDeclarative: async () => {
        if (!file) return
        try {
          await loader.load(readDeclarativeFile(file))
        } catch (err) {
          throw err instanceof DeclarativeConfigError ? invalidFile(file, err.errors) : err
        }
      },
      close: () => {
        closing ??= closeAll()
        return closing
      },
    }
  } catch (err) {
    await closeAll()
    throw err
  }
}

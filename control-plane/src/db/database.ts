/** The control plane's database: kysely over Postgres (pg pool) or embedded PGlite, plus LISTEN for change fan-out. */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import type { Logger, Settings } from '@turnpike/shared'
import { TurnpikeError } from '@turnpike/shared'
import { type Dialect, Kysely, PGliteDialect, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { lockDirectory } from './directory-lock.ts'

const INT8_OID = 20
const PING_TIMEOUT_MS = 2000
const LISTEN_RETRY_MAX_MS = 10_000

/** Tables are addressed generically by entity name, so the row type is open. */
export type Tables = Record<string, Record<string, unknown>>

type Listen = (channel: string, onNotify: (payload: string | undefined) => void) => Promise<() => Promise<void>>

/** A kysely instance that also knows its backend and can LISTEN for notifications. */
export class Database extends Kysely<Tables> {
  readonly kind: 'pglite' | 'postgres'
  readonly #listen: Listen
  readonly #listeners = new Set<() => Promise<void>>()

  readonly #onDestroy: (() => void) | undefined

  /** `onDestroy` runs once the connection is closed (the embedded directory's lock is released). */
  constructor(kind: 'pglite' | 'postgres', dialect: Dialect, listen: Listen, onDestroy?: () => void) {
    super({ dialect })
    this.kind = kind
    this.#listen = listen
    this.#onDestroy = onDestroy
  }

  /**
   * LISTENs on `channel` (over a dedicated connection on Postgres). `payload` is undefined after
   * that connection was re-established, when notifications may have been missed.
   */
  async listen(channel: string, onNotify: (payload: string | undefined) => void): Promise<() => Promise<void>> {
    const stop = await this.#listen(channel, onNotify)
    this.#listeners.add(stop)
    return async () => {
      if (this.#listeners.delete(stop)) await stop()
    }
  }

  /** Whether the database answers a trivial query within a short time. */
  async ping(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS)
    })
    const probe = sql`select 1`.execute(this).then(
      () => true,
      () => false,
    )
    try {
      return await Promise.race([probe, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Stops every listener, then closes the pool (or the embedded instance). */
  override async destroy(): Promise<void> {
    const stops = [...this.#listeners]
    this.#listeners.clear()
    await Promise.all(stops.map((stop) => stop()))
    await super.destroy()
    this.#onDestroy?.()
  }
}

/** bigint columns hold epoch seconds and counters far below 2^53, so they are read as numbers. */
const parseInt8 = (v: string) => Number(v)

/** Opens the database named by the settings; `memory` selects a throwaway in-memory PGlite (tests). */
export async function openDatabase(
  settings: Settings,
  logger: Logger,
  options: { memory?: boolean } = {},
): Promise<Database> {
  const log = logger.child({ component: 'db' })
  if (settings.database === 'postgres') return openPostgres(settings, log)
  if (settings.database === 'pglite') return openPGlite(settings, log, options.memory === true)
  throw new TurnpikeError('INVALID_OPTIONS', "database 'off' has no control-plane database")
}

async function openPGlite(settings: Settings, log: Logger, memory: boolean): Promise<Database> {
  const dataDir = memory ? undefined : join(settings.prefix, 'pglite')
  if (dataDir) mkdirSync(dataDir, { recursive: true })
  // One process per directory: a second one (a CLI next to a running node) is refused, not let in to corrupt it.
  const release = dataDir ? lockDirectory(dataDir) : undefined
  let pglite: PGlite
  try {
    pglite = await PGlite.create(dataDir, { parsers: { [INT8_OID]: parseInt8 } })
  } catch (err) {
    release?.()
    throw err
  }
  log.info({ data_dir: dataDir ?? 'memory' }, 'opened embedded PGlite database')
  // One embedded instance: its LISTEN never drops, so there is nothing to resume.
  return new Database(
    'pglite',
    new PGliteDialect({ pglite }),
    async (channel, onNotify) => {
      const unlisten = await pglite.listen(channel, (payload) => onNotify(payload))
      return async () => {
        if (!pglite.closed) await unlisten()
      }
    },
    release,
  )
}

async function openPostgres(settings: Settings, log: Logger): Promise<Database> {
  const config: pg.ClientConfig = {
    host: settings.pg_host,
    port: settings.pg_port,
    user: settings.pg_user,
    password: settings.pg_password,
    database: settings.pg_database,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
    },
  }
  const pool = new pg.Pool({ ...config, max: 10 })
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', (err) => log.warn({ err }, 'idle Postgres connection failed'))
  const db = new Database('postgres', new PostgresDialect({ pool }), (channel, onNotify) =>
    listenWithReconnect(config, channel, onNotify, log),
  )
  const where = `${settings.pg_host}:${settings.pg_port}/${settings.pg_database}`
  try {
    await sql`select 1`.execute(db)
  } catch (err) {
    await db.destroy()
    throw new TurnpikeError('DATABASE_UNAVAILABLE', `cannot connect to Postgres at ${where}: ${(err as Error).message}`)
  }
  log.info({ postgres: where }, 'connected to Postgres')
  return db
}

/** Keeps one LISTEN connection alive, reconnecting with backoff; the first connect must succeed. */
async function listenWithReconnect(
  config: pg.ClientConfig,
  channel: string,
  onNotify: (payload: string | undefined) => void,
  log: Logger,
): Promise<() => Promise<void>> {
  let client: pg.Client | undefined
  let stopped = false
  let retryTimer: NodeJS.Timeout | undefined
  let delay = 500

  const connect = async (): Promise<void> => {
    const c = new pg.Client(config)
    c.on('notification', (msg) => {
      if (msg.channel === channel) onNotify(msg.payload)
    })
    const lost = (err?: Error) => {
      if (client !== c) return
      log.warn({ err, channel }, 'LISTEN connection lost; reconnecting')
      client = undefined
      c.end().catch(() => {})
      scheduleRetry()
    }
    c.on('error', lost)
    c.on('end', () => lost())
    try {
      await c.connect()
      await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
    } catch (err) {
      await c.end().catch(() => {})
      throw err
    }
    if (stopped) {
      await c.end().catch(() => {})
      return
    }
    client = c
    delay = 500
  }

  const scheduleRetry = () => {
    if (stopped || retryTimer) return
    retryTimer = setTimeout(() => {
      retryTimer = undefined
      connect().then(
        () => {
          log.info({ channel }, 'LISTEN connection re-established')
          onNotify(undefined)
        },
        (err) => {
          log.debug({ err, channel }, 'LISTEN reconnect failed')
          delay = Math.min(delay * 2, LISTEN_RETRY_MAX_MS)
          scheduleRetry()
        },
      )
    }, delay)
    retryTimer.unref()
  }

  await connect()
  return async () => {
    stopped = true
    clearTimeout(retryTimer)
    const c = client
    client = undefined
    await c?.end().catch(() => {})
  }
}

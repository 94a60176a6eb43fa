/**
 * Keeps the current snapshot: rebuilt on NOTIFY from any CP replica and after local writes, with
 * builds coalesced (one running, at most one more queued). A failed build keeps the last snapshot.
 */
import type { Logger, Snapshot, SnapshotFeed } from '@turnpike/shared'
import { sealSnapshot } from '@turnpike/shared'
import { CONFIG_CHANNEL, type ConfigRead, readConfig } from '../db/config-reader.ts'
import type { Database } from '../db/database.ts'

const RETRY_MIN_MS = 500
const RETRY_MAX_MS = 15_000

export interface SnapshotBuilder extends SnapshotFeed {
  /** Asks for a rebuild; a known `version` the current snapshot already covers is ignored. */
  request(version?: number): void
  close(): Promise<void>
}

/**
 * Builds the first snapshot (throwing if the database cannot be read), then follows every change.
 * `read` replaces the database read (tests simulate outages with it).
 */
export async function startSnapshotBuilder(options: {
  database: Database
  logger: Logger
  read?: () => Promise<ConfigRead>
}): Promise<SnapshotBuilder> {
  const { database } = options
  const read = options.read ?? (() => readConfig(database))
  const log = options.logger.child({ component: 'snapshot-builder' })
  const listeners = new Set<(snapshot: Snapshot) => void>()
  let current: Snapshot | undefined
  // Highest version asked for and not yet built; Infinity when unknown (a resumed LISTEN, a retry).
  let wanted: number | undefined
  let running = false
  let loopDone: Promise<void> | undefined
  let retryTimer: NodeJS.Timeout | undefined
  let retryDelay = RETRY_MIN_MS
  let closed = false

  async function build(): Promise<void> {
    const config = await read()
    if (current && config.version <= current.version) return
    current = sealSnapshot(config.version, config.entities)
    log.info({ version: current.version, hash: current.hash }, 'config snapshot built')
    for (const listener of listeners) {
      try {
        listener(current)
      } catch (err) {
        log.error({ err }, 'snapshot subscriber failed')
      }
    }
  }

  async function loop(): Promise<void> {
    try {
      while (wanted !== undefined && !closed && !(current && wanted <= current.version)) {
        wanted = undefined
        await build()
        retryDelay = RETRY_MIN_MS
      }
    } catch (err) {
      log.warn({ err, retry_ms: retryDelay }, 'snapshot build failed; still serving the last snapshot')
      scheduleRetry()
    } finally {
      // Reset in the same tick as the last check, so a request arriving later always starts a new loop.
      wanted = undefined
      running = false
    }
  }

  function scheduleRetry(): void {
    if (closed || retryTimer) return
    retryTimer = setTimeout(() => {
      retryTimer = undefined
      request()
    }, retryDelay)
    retryTimer.unref()
    retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS)
  }

  function request(version?: number): void {
    const v = version ?? Number.POSITIVE_INFINITY
    if (closed || (current && v <= current.version)) return
    wanted = Math.max(wanted ?? 0, v)
    if (running) return
    running = true
    loopDone = loop()
  }

  const unlisten = await database.listen(CONFIG_CHANNEL, (payload) => {
    const version = payload === undefined ? Number.NaN : Number(payload)
    request(Number.isFinite(version) ? version : undefined)
  })
  try {
    await build()
  } catch (err) {
    await unlisten()
    throw err
  }

  return {
    current: () => current,
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    request,
    async close() {
      closed = true
      clearTimeout(retryTimer)
      await unlisten()
      await loopDone
    },
  }
}

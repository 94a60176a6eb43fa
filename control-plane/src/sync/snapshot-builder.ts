/**
 * Keeps the current snapshot: rebuilt on NOTIFY from any CP replica and after local writes, with
 * builds coalesced (one running, at most one more queued). A failed build keeps the last snapshot.
 * Builds are incremental where they can be: only the rows `config_changes` names are read and merged into the
 * previous snapshot; the first build, and one every `fullEveryMs`, reads everything.
 */
import type { ConfigChanges, Logger, Snapshot, SnapshotFeed } from '@turnpike/shared'
import { applyChanges, sealSnapshot } from '@turnpike/shared'
import { type ChangeRead, readChangesSince, untrackedTables } from '../db/change-reader.ts'
import { CONFIG_CHANNEL, type ConfigRead, readConfig } from '../db/config-reader.ts'
import type { Database } from '../db/database.ts'

const RETRY_MIN_MS = 500
const RETRY_MAX_MS = 15_000

/** The rows an incremental build read, and the snapshot it applied them to. */
export interface Touched {
  from: Snapshot
  changes: ConfigChanges
}

export interface SnapshotBuilder extends SnapshotFeed {
  /** Asks for a rebuild; a known `version` the current snapshot already covers is ignored. */
  request(version?: number): void
  /** For an incrementally built snapshot, the rows read to build it (the change log diffs only those). */
  touched(snapshot: Snapshot): Touched | undefined
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
  /** The changes since a version (incremental builds); absent when `read` is replaced, so tests see every read. */
  readChanges?: (since: number, expiredSince: number) => Promise<ChangeRead>
  /** A full read at least this often, as a safety net under the incremental builds (default 10 min). */
  fullEveryMs?: number
}): Promise<SnapshotBuilder> {
  const { database } = options
  const read = options.read ?? (() => readConfig(database))
  const log = options.logger.child({ component: 'snapshot-builder' })
  let readChanges =
    options.readChanges ?? (options.read ? undefined : (since, expired) => readChangesSince(database, since, expired))
  const fullEveryMs = options.fullEveryMs ?? 10 * 60_000
  if (readChanges) {
    const untracked = await untrackedTables(database).catch(() => ['(unknown)'])
    if (untracked.length) {
      log.warn({ untracked }, 'snapshot tables without change tracking: every build reads the whole config')
      readChanges = undefined
    }
  }
  const touched = new WeakMap<Snapshot, Touched>()
  let lastFull = 0
  let lastReadAt = 0
  const listeners = new Set<(snapshot: Snapshot) => void>()
  let current: Snapshot | undefined
  // Highest version asked for and not yet built; Infinity when unknown (a resumed LISTEN, a retry).
  let wanted: number | undefined
  let running = false
  let loopDone: Promise<void> | undefined
  let retryTimer: NodeJS.Timeout | undefined
  let retryDelay = RETRY_MIN_MS
  let closed = false

  /** The next snapshot from the changed rows alone, or undefined when a full read is needed. */
  async function incremental(base: Snapshot): Promise<Snapshot | null | undefined> {
    if (!readChanges || Date.now() - lastFull > fullEveryMs) return undefined
    const started = performance.now()
    const r = await readChanges(base.version, lastReadAt)
    if (r.full) return undefined
    if (r.version <= base.version) return null
    lastReadAt = r.readAt
    const next = await applyChanges(base, r.changes, r.version)
    touched.set(next, { from: base, changes: r.changes })
    const rows = Object.values(r.changes).reduce((n, c) => n + c.upserts.length + c.deletes.length, 0)
    log.debug({ version: r.version, rows, ms: Math.round(performance.now() - started) }, 'incremental build')
    return next
  }

  async function build(): Promise<void> {
    // Without incremental reads the full read starts synchronously, as callers (and tests) expect.
    let next = current && readChanges ? await incremental(current) : undefined
    if (next === null) return
    if (!next) {
      const startedAt = Math.floor(Date.now() / 1000)
      const config = await read()
      if (current && config.version <= current.version) return
      next = sealSnapshot(config.version, config.entities)
      lastFull = Date.now()
      lastReadAt = startedAt
    }
    current = next
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
    touched: (snapshot) => touched.get(snapshot),
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

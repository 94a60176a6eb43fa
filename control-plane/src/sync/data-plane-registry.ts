/**
 * The data planes this CP serves, kept in memory (their live stream state) and written to Postgres in batches
 * (`clustering_data_planes`), so every replica can list the whole cluster. Writes never block a stream: while
 * the database is away they wait for the next flush, and listing falls back to this replica's own DPs. Each DP's
 * latest health report is kept here too, in memory only, for as long as the DP itself.
 */
import type { Logger, UpstreamHealth } from '@turnpike/shared'
import { type DataPlaneRecord, type RegistryStore, recordOf } from './registry-store.ts'
import type { DataPlaneStatus, StreamState } from './stream-state.ts'

/** A DP's latest report of its balancers' health. */
export interface HealthReportRecord {
  upstreams: UpstreamHealth[]
  /** The config version the DP served as it reported. */
  config_version: number
  /** Epoch seconds when this CP received it. */
  received_at: number
}

export interface DataPlaneRegistryOptions {
  store?: RegistryStore
  logger?: Logger
  /** This CP's id, stored with the rows it writes. */
  controlPlaneId?: string
  /** How often changes are written (one statement per flush). */
  flushMs?: number
  /** A heartbeat rewrites `last_seen` at most this often per DP (Kong writes on every 30 s ping). */
  lastSeenEverySeconds?: number
  /** Seconds without contact before a DP is deleted (`cluster_data_plane_purge_delay`). */
  purgeDelaySeconds?: number
  now?: () => number
}

export class DataPlaneRegistry {
  readonly #streams = new Map<string, StreamState>()
  readonly #health = new Map<string, HealthReportRecord>()
  readonly #dirty = new Set<string>()
  readonly #listeners = new Set<(state: StreamState) => void>()
  /** last_seen as last written, per node id. */
  readonly #written = new Map<string, number>()
  readonly #store: RegistryStore | undefined
  readonly #log: Logger | undefined
  readonly #cpId: string
  readonly #flushMs: number
  readonly #lastSeenEvery: number
  readonly #purgeDelay: number
  readonly #now: () => number
  #flushTimer: NodeJS.Timeout | undefined
  #purgeTimer: NodeJS.Timeout | undefined
  #flushing: Promise<void> | undefined
  #failing = false

  constructor(options: DataPlaneRegistryOptions = {}) {
    this.#store = options.store
    this.#log = options.logger?.child({ component: 'dp-registry' })
    this.#cpId = options.controlPlaneId ?? 'local'
    this.#flushMs = options.flushMs ?? 1000
    this.#lastSeenEvery = options.lastSeenEverySeconds ?? 10
    this.#purgeDelay = options.purgeDelaySeconds ?? 1_209_600
    this.#now = options.now ?? Date.now
  }

  /** Starts the periodic flush and purge (only with a store). */
  start(): void {
    if (!this.#store) return
    this.#flushTimer = setInterval(() => void this.flush(), this.#flushMs)
    this.#flushTimer.unref()
    // Often enough that a short purge delay (tests) is honoured, rarely enough to cost nothing.
    const purgeEvery = Math.min(10 * 60_000, Math.max(1000, (this.#purgeDelay * 1000) / 4))
    this.#purgeTimer = setInterval(() => void this.purge(), purgeEvery)
    this.#purgeTimer.unref()
    void this.purge()
  }

  /** A DP (re)connected; its newest stream replaces an older one still closing. */
  connected(state: StreamState): void {
    this.#streams.set(state.nodeId, state)
    this.#dirty.add(state.nodeId)
  }

  /** Its sync state changed (Ack, Nack, Refusal). */
  changed(state: StreamState): void {
    if (this.#streams.get(state.nodeId) !== state) return
    this.#dirty.add(state.nodeId)
    for (const listener of this.#listeners) listener(state)
  }

  /** Calls `listener` on every change of a DP's sync state (benchmarks and tests wait on it); returns an unsubscribe. */
  onChanged(listener: (state: StreamState) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** It sent something; last_seen is written when it has moved on enough. */
  seen(state: StreamState): void {
    const written = this.#written.get(state.nodeId) ?? 0
    if (state.view.last_seen - written >= this.#lastSeenEvery) this.changed(state)
  }

  /** Its newest health report replaces the previous one (a report on a replaced stream is ignored). */
  reportHealth(state: StreamState, report: Omit<HealthReportRecord, 'received_at'>): void {
    if (this.#streams.get(state.nodeId) !== state) return
    this.#health.set(state.nodeId, { ...report, received_at: Math.floor(this.#now() / 1000) })
  }

  /** Every DP's latest health report, with the DP as it stands now (read-only views, not copies). */
  healthReports(): { dp: Readonly<DataPlaneStatus>; report: HealthReportRecord }[] {
    const out: { dp: Readonly<DataPlaneStatus>; report: HealthReportRecord }[] = []
    for (const [id, report] of this.#health) {
      const state = this.#streams.get(id)
      if (state) out.push({ dp: state.view, report })
    }
    return out
  }

  /** Its stream ended. Ended streams stay listed until purged. */
  disconnected(state: StreamState): void {
    this.changed(state)
  }

  /** Streams this replica holds, connected or recently ended. */
  states(): IterableIterator<StreamState> {
    return this.#streams.values()
  }

  list(): DataPlaneStatus[] {
    return [...this.#streams.values()].map((s) => s.status)
  }

  get(nodeId: string): DataPlaneStatus | undefined {
    return this.#streams.get(nodeId)?.status
  }

  /** This replica's DPs in the stored shape (the fallback listing while the database is away). */
  records(): DataPlaneRecord[] {
    const now = Math.floor(this.#now() / 1000)
    return [...this.#streams.values()]
      .map((s) => recordOf(s.view, this.#cpId, now))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
  }

  /** Writes pending changes in one statement; on failure they stay pending for the next flush. */
  flush(): Promise<void> {
    this.#flushing ??= this.#flush().finally(() => {
      this.#flushing = undefined
    })
    return this.#flushing
  }

  async #flush(): Promise<void> {
    if (!this.#store || this.#dirty.size === 0) return
    const ids = [...this.#dirty]
    this.#dirty.clear()
    const now = Math.floor(this.#now() / 1000)
    const rows = ids.flatMap((id) => {
      const s = this.#streams.get(id)
      return s ? [recordOf(s.view, this.#cpId, now)] : []
    })
    try {
      await this.#store.upsert(rows)
      for (const r of rows) this.#written.set(r.id, r.last_seen)
      if (this.#failing) this.#log?.info('data plane registry writes resumed')
      this.#failing = false
    } catch (err) {
      for (const id of ids) this.#dirty.add(id)
      if (!this.#failing) this.#log?.warn({ err }, 'cannot write the data plane registry; retrying')
      this.#failing = true
    }
  }

  /** Deletes DPs silent for longer than the purge delay, in the database and here. */
  async purge(): Promise<void> {
    const before = Math.floor(this.#now() / 1000) - this.#purgeDelay
    for (const [id, s] of this.#streams)
      if (!s.view.connected && s.view.last_seen < before) {
        this.#streams.delete(id)
        this.#written.delete(id)
        this.#health.delete(id)
      }
    if (!this.#store) return
    try {
      const n = await this.#store.purge(before)
      if (n) this.#log?.info({ purged: n, purge_delay: this.#purgeDelay }, 'purged stale data planes')
    } catch (err) {
      this.#log?.debug({ err }, 'data plane purge failed; will retry')
    }
  }

  /** Stops the timers after a last flush. */
  async close(): Promise<void> {
    clearInterval(this.#flushTimer)
    clearInterval(this.#purgeTimer)
    await this.flush()
  }
}

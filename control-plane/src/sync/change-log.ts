/**
 * A bounded, in-memory log of what changed between the consecutive snapshots this CP replica built. A DP that
 * holds a version still in the log (with the same hash) is sent only the changes since; any other DP, or one
 * so far behind that the changes would outweigh the config, gets the full snapshot.
 */
import {
  type ConfigChanges,
  changeCount,
  composeChanges,
  diffSnapshots,
  diffTouched,
  type Logger,
  type Snapshot,
} from '@turnpike/shared'
import type { ConfigRef } from './stream-state.ts'

interface Entry {
  from: ConfigRef
  to: ConfigRef
  changes: ConfigChanges
  rows: number
}

const ref = (s: Snapshot): ConfigRef => ({ version: s.version, hash: s.hash })

export interface ChangeLogOptions {
  /** Most consecutive diffs kept (Kong EE forces a full sync after 512 changes). */
  maxEntries?: number
  /** Most changed rows kept across all entries. */
  maxRows?: number
}

export class ChangeLog {
  readonly #maxEntries: number
  readonly #maxRows: number
  readonly #log: Logger | undefined
  #entries: Entry[] = []
  #rows = 0
  #latest: Snapshot | undefined
  #totalRows = 0
  /** Composed changes from a base to the latest snapshot, valid until the next record(). */
  #composed = new Map<string, ConfigChanges | null>()

  constructor(options: ChangeLogOptions = {}, logger?: Logger) {
    this.#maxEntries = options.maxEntries ?? 512
    this.#maxRows = options.maxRows ?? 200_000
    this.#log = logger
  }

  /**
   * Follows the snapshot feed: diffs the new snapshot against the previous one — only the rows `touched` names
   * when the builder says which rows it read to build it from that very snapshot.
   */
  record(next: Snapshot, touched?: { from: Snapshot; changes: ConfigChanges }): void {
    const prev = this.#latest
    this.#latest = next
    this.#composed.clear()
    this.#totalRows = Object.values(next.entities).reduce((n, rows) => n + rows.length, 0)
    if (!prev || next.version <= prev.version) {
      this.#entries = []
      this.#rows = 0
      return
    }
    const started = performance.now()
    const changes = touched?.from === prev ? diffTouched(prev, next, touched.changes) : diffSnapshots(prev, next)
    const rows = changeCount(changes)
    // Refs only: the log must not keep old snapshots alive.
    this.#entries.push({ from: ref(prev), to: ref(next), changes, rows })
    this.#rows += rows
    while (this.#entries.length > this.#maxEntries || (this.#rows > this.#maxRows && this.#entries.length > 1)) {
      this.#rows -= this.#entries.shift()!.rows
    }
    this.#log?.debug(
      { from: prev.version, to: next.version, rows, ms: Math.round(performance.now() - started) },
      'change log entry recorded',
    )
  }

  /** The changes from `base` to `to` (the latest snapshot), or undefined when the log cannot say. */
  changesSince(base: ConfigRef, to: Snapshot): ConfigChanges | undefined {
    if (to !== this.#latest) return undefined
    const key = `${base.version}:${base.hash}`
    const cached = this.#composed.get(key)
    if (cached !== undefined) return cached ?? undefined
    const at = this.#entries.findIndex((e) => e.from.version === base.version && e.from.hash === base.hash)
    let out: ConfigChanges | null = null
    if (at >= 0) {
      let changes = this.#entries[at]!.changes
      for (const e of this.#entries.slice(at + 1)) changes = composeChanges(changes, e.changes)
      // Past half the config, a full snapshot is as cheap to send and simpler to apply.
      if (changeCount(changes) <= this.#totalRows / 2 || changeCount(changes) <= 1000) out = changes
    }
    this.#composed.set(key, out)
    return out ?? undefined
  }

  /** Whether a delta from `base` to the latest snapshot can be sent. */
  covers(base: ConfigRef, to: Snapshot): boolean {
    return this.changesSince(base, to) !== undefined
  }

  get size(): number {
    return this.#entries.length
  }
}

/**
 * Snapshots from an in-process SnapshotFeed: the control plane and data plane share one process (role traditional).
 * The applier logs rejections; the last one also shows in /status.
 */
import type { Snapshot, SnapshotFeed } from '@turnpike/shared'
import type { ConfigSource, SnapshotHandler, SyncStatus } from './config-source.ts'
import { LatestOnlyQueue } from './latest-only-queue.ts'

export class FeedConfigSource implements ConfigSource {
  readonly #feed: SnapshotFeed
  #unsubscribe: (() => void) | null = null
  #queue: LatestOnlyQueue<Snapshot> | null = null
  #lastError: string | null = null

  constructor(feed: SnapshotFeed) {
    this.#feed = feed
  }

  start(onSnapshot: SnapshotHandler): void {
    const queue = new LatestOnlyQueue<Snapshot>(
      async (snapshot) => {
        const result = await onSnapshot(snapshot)
        this.#lastError = result.ok ? null : result.error
      },
      (err) => {
        this.#lastError = (err as Error).message
      },
    )
    this.#queue = queue
    // Subscribe before reading current(), so nothing published in between is missed; a repeat is a no-op apply.
    this.#unsubscribe = this.#feed.subscribe((s) => queue.push(s))
    const current = this.#feed.current()
    if (current) queue.push(current)
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.()
    this.#unsubscribe = null
    await this.#queue?.idle()
  }

  status(): SyncStatus {
    return {
      state: this.#unsubscribe ? 'connected' : 'disconnected',
      control_plane: 'in-process',
      last_error: this.#lastError,
    }
  }
}

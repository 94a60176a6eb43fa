/** The data planes this CP has seen, keyed by node id; in memory for now (GET /clustering/data-planes persists it later). */
import type { DataPlaneStatus, StreamState } from './stream-state.ts'

export class DataPlaneRegistry {
  readonly #streams = new Map<string, StreamState>()

  /** A DP (re)connected; its newest stream replaces an older one still closing. Ended streams stay listed. */
  connected(state: StreamState): void {
    this.#streams.set(state.nodeId, state)
  }

  list(): DataPlaneStatus[] {
    return [...this.#streams.values()].map((s) => s.status)
  }

  get(nodeId: string): DataPlaneStatus | undefined {
    return this.#streams.get(nodeId)?.status
  }
}

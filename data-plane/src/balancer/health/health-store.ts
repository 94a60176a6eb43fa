/**
 * The node's health state: one UpstreamHealthState per upstream id, kept across config swaps while the upstream
 * exists and dropped with it.
 */
import type { Logger } from '@turnpike/shared'
import type { UpstreamRow } from '../../runtime/entity-rows.ts'
import { UpstreamHealthState } from './upstream-health-state.ts'

export interface HealthStoreOptions {
  readonly logger: Logger
  /** Opt-in half-open retry of passively tripped members (see UpstreamHealthState); off when undefined. */
  readonly halfOpenAfterMs?: number
  /** Runs after any member's state flipped. */
  readonly onChange?: () => void
  readonly now?: () => number
}

export class HealthStore {
  readonly #upstreams = new Map<string, UpstreamHealthState>()
  readonly #o: HealthStoreOptions

  constructor(o: HealthStoreOptions) {
    this.#o = o
  }

  /** The upstream's state, created on first sight, configured with the row's healthchecks. */
  upstream(row: UpstreamRow): UpstreamHealthState {
    let state = this.#upstreams.get(row.id)
    if (state === undefined) {
      state = new UpstreamHealthState({
        upstreamId: row.id,
        upstreamName: row.name,
        config: row.healthchecks,
        logger: this.#o.logger,
        halfOpenAfterMs: this.#o.halfOpenAfterMs,
        onChange: this.#o.onChange,
        now: this.#o.now,
      })
      this.#upstreams.set(row.id, state)
    } else state.configure(row.name, row.healthchecks)
    return state
  }

  get(upstreamId: string): UpstreamHealthState | undefined {
    return this.#upstreams.get(upstreamId)
  }

  /** Drops the state of every upstream not in `ids`. */
  retain(ids: ReadonlySet<string>): void {
    for (const [id, state] of this.#upstreams)
      if (!ids.has(id)) {
        state.close()
        this.#upstreams.delete(id)
      }
  }

  get size(): number {
    return this.#upstreams.size
  }
}

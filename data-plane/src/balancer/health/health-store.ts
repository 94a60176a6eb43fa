/**
 * The node's health state: one UpstreamHealthState per upstream id, kept across config swaps while the upstream
 * exists and dropped with it. On a worker thread it is a follower (see UpstreamHealthState): it also keeps the
 * authority's verdicts for upstreams whose state it has not built yet.
 */
import type { Logger } from '@turnpike/shared'
import type { UpstreamRow } from '../../runtime/entity-rows.ts'
import { type PassiveRelay, UpstreamHealthState, type Verdicts } from './upstream-health-state.ts'

export interface HealthStoreOptions {
  readonly logger: Logger
  /** Opt-in half-open retry of passively tripped members (see UpstreamHealthState); off when undefined. */
  readonly halfOpenAfterMs?: number
  /** Runs after any member's state flipped. */
  readonly onChange?: (upstreamId: string) => void
  readonly now?: () => number
  /** Makes every state a follower relaying its outcomes here. */
  readonly relay?: PassiveRelay
}

export class HealthStore {
  readonly #upstreams = new Map<string, UpstreamHealthState>()
  /** Follower: the authority's verdicts by upstream id, including upstreams not built here yet. */
  readonly #verdicts = new Map<string, Verdicts>()
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
        relay: this.#o.relay,
        verdicts: this.#verdicts.get(row.id),
      })
      this.#upstreams.set(row.id, state)
    } else state.configure(row.name, row.healthchecks)
    return state
  }

  get(upstreamId: string): UpstreamHealthState | undefined {
    return this.#upstreams.get(upstreamId)
  }

  /** Follower: the authority's verdicts for one upstream, applied now or when its state is built. */
  follow(upstreamId: string, verdicts: Verdicts): void {
    if (verdicts.size === 0) this.#verdicts.delete(upstreamId)
    else this.#verdicts.set(upstreamId, verdicts)
    this.#upstreams.get(upstreamId)?.follow(verdicts)
  }

  /** Drops the state (and any verdicts followed) of every upstream not in `ids`. */
  retain(ids: ReadonlySet<string>): void {
    for (const [id, state] of this.#upstreams)
      if (!ids.has(id)) {
        state.close()
        this.#upstreams.delete(id)
      }
    for (const id of this.#verdicts.keys()) if (!ids.has(id)) this.#verdicts.delete(id)
  }

  /** Every upstream's state. */
  states(): IterableIterator<UpstreamHealthState> {
    return this.#upstreams.values()
  }

  get size(): number {
    return this.#upstreams.size
  }
}

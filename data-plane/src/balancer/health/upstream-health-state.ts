/**
 * The health of one upstream's members on this node, by member key. It outlives the balancers of successive
 * configs (the registry's HealthStore holds it by upstream id), so a config change keeps every verdict and
 * counter of the members that are still there; the current balancer prunes the rest.
 *
 * Half-open (opt-in, `halfOpenAfterMs`, off by default): Kong never brings back a member that only the passive
 * checks took out (it gets no traffic, so no successes) unless active checks or an operator do. With half-open on,
 * such a member is offered one request at a time once `halfOpenAfterMs` have passed since it tripped: a success
 * (by the passive healthy statuses, as many as `passive.healthy.successes`, at least one) brings it back, a
 * failure restarts the wait. Members taken out by active checks or by hand are never half-opened.
 */
import type { Logger } from '@turnpike/shared'
import type { HealthchecksConfig } from '../../runtime/entity-rows.ts'
import type { TryOutcome } from '../types.ts'
import { activeRules, type CheckRules, outcomeVerdict, passiveRules, type Verdict } from './check-rules.ts'
import { type HealthCause, MemberHealth } from './member-health.ts'

export interface UpstreamHealthOptions {
  readonly upstreamId: string
  readonly upstreamName: string
  readonly config: HealthchecksConfig
  readonly logger: Logger
  /** See the module comment; undefined (or ≤ 0) keeps Kong's behaviour. */
  readonly halfOpenAfterMs?: number
  /** Runs after any member's state flipped. */
  readonly onChange?: () => void
  /** Clock in ms (tests). */
  readonly now?: () => number
}

export class UpstreamHealthState {
  readonly upstreamId: string
  #name: string
  #config!: HealthchecksConfig
  #active!: CheckRules
  #passive!: CheckRules
  #activeOn = false
  readonly #members = new Map<string, MemberHealth>()
  readonly #log: Logger
  readonly #halfOpenMs: number
  readonly #onChange: (() => void) | undefined
  readonly #now: () => number
  #closed = false
  /** Bumped on every state flip: balancers cache what they derive from the states (available weight) by it. */
  version = 0

  constructor(o: UpstreamHealthOptions) {
    this.upstreamId = o.upstreamId
    this.#name = o.upstreamName
    this.#log = o.logger
    this.#halfOpenMs = o.halfOpenAfterMs !== undefined && o.halfOpenAfterMs > 0 ? o.halfOpenAfterMs : 0
    this.#onChange = o.onChange
    this.#now = o.now ?? (() => performance.now())
    this.configure(o.upstreamName, o.config)
  }

  configure(upstreamName: string, config: HealthchecksConfig): void {
    this.#name = upstreamName
    this.#config = config
    this.#active = activeRules(config.active)
    this.#passive = passiveRules(config.passive)
    this.#activeOn = config.active.healthy.interval > 0 || config.active.unhealthy.interval > 0
  }

  get config(): HealthchecksConfig {
    return this.#config
  }

  /** Active probing is on (either interval > 0). */
  get activeOn(): boolean {
    return this.#activeOn
  }

  /** Proxied outcomes are counted (a passive threshold > 0). */
  get passiveOn(): boolean {
    return this.#passive.counting
  }

  /** Kong's HEALTHCHECKS_OFF is the opposite. */
  get checked(): boolean {
    return this.#activeOn || this.#passive.counting
  }

  /** The member's health, created healthy on first sight. */
  member(key: string): MemberHealth {
    let h = this.#members.get(key)
    if (h === undefined) {
      h = new MemberHealth()
      if (!this.#closed) this.#members.set(key, h)
    }
    return h
  }

  peek(key: string): MemberHealth | undefined {
    return this.#members.get(key)
  }

  /** Forgets members not in `keys` (gone from DNS or config). */
  prune(keys: ReadonlySet<string>): void {
    for (const key of this.#members.keys()) if (!keys.has(key)) this.#members.delete(key)
  }

  get size(): number {
    return this.#members.size
  }

  /** Whether a request may go to the member now: healthy, or due a half-open trial. */
  admits(h: MemberHealth): boolean {
    if (h.healthy) return true
    if (this.#halfOpenMs === 0 || h.cause !== 'passive') return false
    const now = this.#now()
    if (now - h.changedAt < this.#halfOpenMs) return false
    // One trial at a time; a trial whose outcome never came back expires after the same wait.
    return h.trialAt < 0 || now - h.trialAt >= this.#halfOpenMs
  }

  /** The request `admits` let through goes out: an unhealthy member's is its half-open trial. */
  picked(h: MemberHealth): void {
    if (!h.healthy) h.trialAt = this.#now()
  }

  /** A proxied try's outcome (passive checks). */
  passive(h: MemberHealth, outcome: TryOutcome, key: string): void {
    const trial = h.trialAt >= 0
    if (!trial && !this.#passive.counting) return
    h.trialAt = -1
    if (this.#closed) return
    const verdict = outcomeVerdict(this.#passive, outcome)
    if (verdict === undefined) return
    if (trial && !h.healthy) {
      if (verdict !== 'success') {
        // A failed trial: wait again before the next one.
        h.changedAt = this.#now()
        h.record(verdict, this.#passive, false)
        return
      }
      if (this.#passive.successes === 0 || h.record(verdict, this.#passive, true))
        this.#flip(h, key, true, 'passive', verdict)
      return
    }
    if (h.record(verdict, this.#passive, false)) this.#flip(h, key, verdict === 'success', 'passive', verdict)
  }

  /** An active probe's verdict. */
  active(h: MemberHealth, verdict: Verdict, key: string): void {
    if (this.#closed) return
    if (h.record(verdict, this.#active, true)) this.#flip(h, key, verdict === 'success', 'active', verdict)
  }

  /** A manual override: the state is set and the counters cleared, as Kong's POST …/healthy|unhealthy. */
  override(h: MemberHealth, healthy: boolean, key: string): void {
    if (this.#closed) return
    const was = h.healthy
    h.set(healthy, 'manual', this.#now())
    this.version++
    this.#log.info({ upstream: this.#name, member: key, healthy }, 'member health set by hand')
    if (was !== healthy) this.#onChange?.()
  }

  /** The upstream is gone: later reports (in-flight requests of an old config) are dropped. */
  close(): void {
    this.#closed = true
    this.#members.clear()
  }

  #flip(h: MemberHealth, key: string, healthy: boolean, cause: HealthCause, verdict: Verdict): void {
    // A member already pruned (an old config's in-flight request reporting late) no longer matters.
    if (this.#members.get(key) !== h) return
    h.set(healthy, cause, this.#now())
    this.version++
    if (healthy) this.#log.info({ upstream: this.#name, member: key, check: cause }, 'member healthy')
    else this.#log.warn({ upstream: this.#name, member: key, check: cause, counter: verdict }, 'member unhealthy')
    this.#onChange?.()
  }
}

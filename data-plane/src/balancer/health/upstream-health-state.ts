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
 *
 * Workers: one state per node decides (the authority, on the node's main thread: it counts every worker's
 * proxied outcomes and runs the active checks), and each worker thread keeps a follower that relays its outcomes
 * to the authority and takes the authority's verdicts — the unhealthy members and why — as they change.
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
  readonly onChange?: (upstreamId: string) => void
  /** Clock in ms (tests). */
  readonly now?: () => number
  /** Set on a follower: where its proxied outcomes go instead of being counted here. */
  readonly relay?: PassiveRelay
  /** A follower's verdicts from the authority received before this state existed. */
  readonly verdicts?: Verdicts
}

/** A follower's proxied outcome, on its way to the authority; `trial` marks a half-open trial's outcome. */
export type PassiveRelay = (upstreamId: string, key: string, outcome: TryOutcome, trial: boolean) => void

/** The authority's unhealthy members by key, and what took each out. */
export type Verdicts = ReadonlyMap<string, HealthCause>

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
  readonly #onChange: ((upstreamId: string) => void) | undefined
  readonly #now: () => number
  readonly #relay: PassiveRelay | undefined
  /** Follower: the authority's last verdicts, applied to members as they appear. */
  #verdicts: Verdicts
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
    this.#relay = o.relay
    this.#verdicts = o.verdicts ?? new Map()
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
      const cause = this.#verdicts.get(key)
      if (cause !== undefined) h.set(false, cause, this.#now())
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

  /** A proxied try's outcome (passive checks): counted here, or relayed to the authority by a follower. */
  passive(h: MemberHealth, outcome: TryOutcome, key: string): void {
    const trial = h.trialAt >= 0
    if (!trial && !this.#passive.counting) return
    h.trialAt = -1
    if (this.#closed) return
    if (this.#relay === undefined) {
      this.#count(h, outcome, key, trial)
      return
    }
    // A failed trial waits again before the next one here too; the authority decides the rest.
    if (trial && !h.healthy && outcomeVerdict(this.#passive, outcome) !== 'success') h.changedAt = this.#now()
    this.#relay(this.upstreamId, key, outcome, trial)
  }

  /** A follower's relayed outcome (authority). */
  relayed(key: string, outcome: TryOutcome, trial: boolean): void {
    if (this.#closed || (!trial && !this.#passive.counting)) return
    this.#count(this.member(key), outcome, key, trial)
  }

  #count(h: MemberHealth, outcome: TryOutcome, key: string, trial: boolean): void {
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

  /** The unhealthy members and their causes (authority: what followers are sent). */
  verdicts(): [key: string, cause: HealthCause][] {
    const out: [string, HealthCause][] = []
    for (const [key, h] of this.#members) if (!h.healthy) out.push([key, h.cause ?? 'active'])
    return out
  }

  /** The authority's verdicts (follower): members flip to match, new members start from them. */
  follow(verdicts: Verdicts): void {
    if (this.#closed) return
    this.#verdicts = verdicts
    let flipped = false
    for (const [key, h] of this.#members) {
      const cause = verdicts.get(key)
      if (h.healthy === (cause === undefined)) continue
      h.set(cause === undefined, cause ?? 'active', this.#now())
      flipped = true
    }
    if (!flipped) return
    this.version++
    this.#onChange?.(this.upstreamId)
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
    if (was !== healthy) this.#onChange?.(this.upstreamId)
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
    this.#onChange?.(this.upstreamId)
  }
}

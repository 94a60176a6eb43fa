/**
 * The node's balancers: one UpstreamBalancer per upstream of the live config, the health state they share across
 * configs, and the active checkers. `update` is called once per applied snapshot whose upstreams or targets
 * changed; an upstream whose row and targets are the same keeps its balancer object, a changed one gets a new
 * balancer that takes over the unchanged members (in-flight counts, latency averages) and keeps the health state.
 * Balancers of replaced configs are retired: they stop following DNS but keep serving the requests still on them.
 *
 * Change notifications (health flips, DNS member changes, updates) are coalesced: listeners run once, at most
 * `changeDelayMs` (100 ms) after the first change of a burst.
 *
 * A node with worker threads has one authority registry on its main thread (active checks, every worker's passive
 * outcomes, overrides; `onVerdicts` publishes each upstream's unhealthy members as they change) and a follower in
 * each worker (`relay` set: no active checks, outcomes relayed, verdicts taken through `follow`).
 */
import type { HealthOverride, LocalHealth, Logger, UpstreamHealth } from '@turnpike/shared'
import type { TargetRow, UpstreamRow } from '../runtime/entity-rows.ts'
import { ActiveChecker } from './health/active-checker.ts'
import { HealthStore } from './health/health-store.ts'
import type { HealthCause } from './health/member-health.ts'
import type { PassiveRelay, UpstreamHealthState } from './health/upstream-health-state.ts'
import type { NameResolver, TryOutcome } from './types.ts'
import { UpstreamBalancer } from './upstream-balancer.ts'

export interface BalancerRegistryOptions {
  readonly resolver: NameResolver
  readonly logger: Logger
  /**
   * Opt-in half-open retry of members only passive checks took out (see UpstreamHealthState): after this many ms
   * one request at a time may try them again. Undefined (the default) keeps Kong's behaviour.
   */
  readonly halfOpenAfterMs?: number
  /** How long change notifications are gathered before listeners run, in ms (100). */
  readonly changeDelayMs?: number
  /** `upstream_allow_link_local`: whether active checks may probe link-local and metadata addresses. */
  readonly allowLinkLocal?: boolean
  /** Makes this registry a follower: outcomes go to `relay`, verdicts come through `follow`, nothing is probed. */
  readonly relay?: PassiveRelay
  /** Authority: called (once per upstream per turn) with an upstream's unhealthy members after any flip. */
  readonly onVerdicts?: (upstreamId: string, unhealthy: UpstreamVerdicts) => void
}

/** An upstream's unhealthy members (`key`, cause), as the authority sends them to its followers. */
export type UpstreamVerdicts = [key: string, cause: HealthCause][]

interface Entry {
  /** The row and targets the balancer was built from, serialized: equal means the balancer is reused. */
  readonly signature: string
  readonly balancer: UpstreamBalancer
  readonly health: UpstreamHealthState
  readonly checker: ActiveChecker | undefined
}

const DEFAULT_CHANGE_DELAY_MS = 100

export class BalancerRegistry implements LocalHealth {
  readonly #resolver: NameResolver
  readonly #log: Logger
  readonly #store: HealthStore
  readonly #changeDelayMs: number
  readonly #allowLinkLocal: boolean
  readonly #follower: boolean
  readonly #onVerdicts: BalancerRegistryOptions['onVerdicts']
  /** Upstreams whose verdicts changed since they were last published. */
  readonly #flipped = new Set<string>()
  #entries = new Map<string, Entry>()
  readonly #listeners = new Set<() => void>()
  #changeTimer: NodeJS.Timeout | undefined
  #closed = false

  constructor(o: BalancerRegistryOptions) {
    this.#resolver = o.resolver
    this.#log = o.logger.child({ component: 'balancer' })
    this.#changeDelayMs = o.changeDelayMs ?? DEFAULT_CHANGE_DELAY_MS
    this.#allowLinkLocal = o.allowLinkLocal ?? false
    this.#follower = o.relay !== undefined
    this.#onVerdicts = o.onVerdicts
    this.#store = new HealthStore({
      logger: this.#log,
      halfOpenAfterMs: o.halfOpenAfterMs,
      relay: o.relay,
      onChange: (upstreamId) => {
        this.#changed()
        if (this.#onVerdicts !== undefined) this.#publishSoon(upstreamId)
      },
    })
  }

  /** The balancers of a new config's upstreams, by lowercased name. */
  update(upstreams: readonly UpstreamRow[], targets: readonly TargetRow[]): ReadonlyMap<string, UpstreamBalancer> {
    const out = new Map<string, UpstreamBalancer>()
    if (this.#closed) return out
    const byUpstream = new Map<string, TargetRow[]>()
    for (const t of targets) {
      const list = byUpstream.get(t.upstream_id)
      if (list === undefined) byUpstream.set(t.upstream_id, [t])
      else list.push(t)
    }
    const next = new Map<string, Entry>()
    const retired: UpstreamBalancer[] = []
    for (const row of upstreams) {
      const rowTargets = byUpstream.get(row.id) ?? []
      const signature = JSON.stringify([row, rowTargets])
      const prev = this.#entries.get(row.id)
      const health = this.#store.upstream(row)
      let balancer: UpstreamBalancer
      if (prev !== undefined && prev.signature === signature) balancer = prev.balancer
      else {
        balancer = new UpstreamBalancer({
          row,
          targets: rowTargets,
          health,
          resolver: this.#resolver,
          logger: this.#log,
          previous: prev?.balancer,
          onMembersChanged: () => this.#changed(),
        })
        if (prev !== undefined) retired.push(prev.balancer)
      }
      let checker = prev?.checker
      if (health.activeOn && !this.#follower) {
        checker ??= new ActiveChecker({
          state: health,
          logger: this.#log.child({ upstream: row.name }),
          allowLinkLocal: this.#allowLinkLocal,
        })
        checker.configure(row.healthchecks.active, balancer)
      } else if (checker !== undefined) {
        checker.stop()
        checker = undefined
      }
      next.set(row.id, { signature, balancer, health, checker })
      out.set(row.name.toLowerCase(), balancer)
    }
    for (const [id, e] of this.#entries)
      if (!next.has(id)) {
        e.checker?.stop()
        retired.push(e.balancer)
      }
    this.#store.retain(new Set(next.keys()))
    // Only now: the new balancers watch their names already, so names still in use stay resolved.
    for (const b of retired) b.retire()
    this.#entries = next
    this.#changed()
    return out
  }

  /** Every upstream's health on this node (LocalHealth). */
  report(): UpstreamHealth[] {
    return Array.from(this.#entries.values(), (e) => e.balancer.report())
  }

  /** A manual override; false when the upstream, target or address is unknown here (LocalHealth). */
  override(o: HealthOverride): boolean {
    const entry = this.#entries.get(o.upstream_id)
    if (entry === undefined) return false
    const ok = entry.balancer.override(o)
    if (ok) this.#changed()
    return ok
  }

  /** Every upstream's unhealthy members (authority): what a new follower starts from. */
  verdicts(): [upstreamId: string, unhealthy: UpstreamVerdicts][] {
    return Array.from(this.#store.states(), (s) => [s.upstreamId, s.verdicts()])
  }

  /** A follower's proxied outcome (authority). */
  relayed(upstreamId: string, key: string, outcome: TryOutcome, trial: boolean): void {
    this.#store.get(upstreamId)?.relayed(key, outcome, trial)
  }

  /** The authority's verdicts on one upstream (follower). */
  follow(upstreamId: string, unhealthy: UpstreamVerdicts): void {
    if (!this.#closed) this.#store.follow(upstreamId, new Map(unhealthy))
  }

  /** `listener` runs (coalesced) after health or membership changes; returns the function that removes it. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Stops every checker and timer and lets go of every DNS name; the balancers keep serving what is in flight. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const e of this.#entries.values()) {
      e.checker?.stop()
      e.balancer.retire()
    }
    this.#entries = new Map()
    this.#store.retain(new Set())
    if (this.#changeTimer !== undefined) clearTimeout(this.#changeTimer)
    this.#changeTimer = undefined
    this.#listeners.clear()
  }

  #publishSoon(upstreamId: string): void {
    if (this.#flipped.size === 0)
      setImmediate(() => {
        for (const id of this.#flipped) {
          const state = this.#store.get(id)
          if (state !== undefined) this.#onVerdicts?.(id, state.verdicts())
        }
        this.#flipped.clear()
      })
    this.#flipped.add(upstreamId)
  }

  #changed(): void {
    if (this.#closed || this.#listeners.size === 0 || this.#changeTimer !== undefined) return
    this.#changeTimer = setTimeout(() => {
      this.#changeTimer = undefined
      for (const listener of this.#listeners)
        try {
          listener()
        } catch (err) {
          this.#log.error({ err }, 'health change listener threw')
        }
    }, this.#changeDelayMs)
    this.#changeTimer.unref()
  }
}

/**
 * Active health checks for one upstream (Kong's): every `healthy.interval` seconds the healthy members are probed,
 * every `unhealthy.interval` seconds the unhealthy ones; an interval of 0 stops that half. At most `concurrency`
 * probes run at once, a member is never probed twice at the same time, and the verdicts are counted against the
 * `active.*` thresholds in the upstream's health state. Timers are unref'd; stop() cancels probes in flight.
 */

import { isIP } from 'node:net'
import type { Logger } from '@turnpike/shared'
import { isForbiddenAddress } from '../../backend/address-guard.ts'
import { hostForHeader, parseTarget } from '../target-address.ts'
import type { Member } from '../types.ts'
import { activeRules, type CheckRules, statusVerdict, type Verdict } from './check-rules.ts'
import { type ActiveConfig, type ProbeResult, type ProbeTarget, probe } from './probe.ts'
import type { UpstreamHealthState } from './upstream-health-state.ts'

export interface ActiveCheckerOptions {
  readonly state: UpstreamHealthState
  readonly logger: Logger
  /** `upstream_allow_link_local`: off, link-local and metadata addresses are never probed (the SSRF guard). */
  readonly allowLinkLocal?: boolean
}

/** What the checker probes: the upstream's current members, and what their Host is made of. */
export interface ProbeSource {
  members(): readonly Member[]
  /** The upstream's `host_header`. */
  readonly hostHeader: string | null
  /** The upstream's `use_srv_name`. */
  readonly useSrvName: boolean
}

export class ActiveChecker {
  readonly #state: UpstreamHealthState
  readonly #log: Logger
  readonly #allowLinkLocal: boolean
  #config: ActiveConfig | undefined
  #rules: CheckRules | undefined
  #source: ProbeSource | undefined
  #intervals = ''
  #timers: NodeJS.Timeout[] = []
  #queue: Member[] = []
  /** Keys queued or being probed. */
  readonly #busy = new Set<string>()
  readonly #aborts = new Set<AbortController>()
  #running = 0
  #stopped = false

  constructor(o: ActiveCheckerOptions) {
    this.#state = o.state
    this.#log = o.logger
    this.#allowLinkLocal = o.allowLinkLocal ?? false
  }

  /** (Re)configures: new settings apply to the next probes; the timers restart only when an interval changed. */
  configure(config: ActiveConfig, source: ProbeSource): void {
    if (this.#stopped) return
    this.#config = config
    this.#rules = activeRules(config)
    this.#source = source
    const intervals = `${config.healthy.interval}/${config.unhealthy.interval}`
    if (intervals === this.#intervals) return
    this.#intervals = intervals
    this.#clearTimers()
    this.#every(config.healthy.interval, true)
    this.#every(config.unhealthy.interval, false)
  }

  /** Probes running now. */
  get running(): number {
    return this.#running
  }

  stop(): void {
    this.#stopped = true
    this.#clearTimers()
    this.#queue = []
    for (const a of this.#aborts) a.abort()
  }

  #every(seconds: number, healthy: boolean): void {
    if (!(seconds > 0)) return
    const timer = setInterval(() => this.#tick(healthy), Math.max(1, seconds * 1000))
    timer.unref()
    this.#timers.push(timer)
  }

  #clearTimers(): void {
    for (const t of this.#timers) clearInterval(t)
    this.#timers = []
  }

  #tick(healthy: boolean): void {
    if (this.#stopped || !this.#source) return
    for (const m of this.#source.members()) {
      if (m.weight <= 0 || this.#busy.has(m.key)) continue
      if (this.#state.member(m.key).healthy !== healthy) continue
      this.#busy.add(m.key)
      this.#queue.push(m)
    }
    this.#pump()
  }

  #pump(): void {
    const limit = Math.max(1, this.#config?.concurrency ?? 1)
    while (!this.#stopped && this.#running < limit && this.#queue.length > 0) void this.#run(this.#queue.shift()!)
  }

  async #run(m: Member): Promise<void> {
    this.#running++
    const abort = new AbortController()
    this.#aborts.add(abort)
    const config = this.#config!
    let verdict: Verdict | undefined
    try {
      // The proxy refuses these addresses (502); its probes do not reach them either.
      const result =
        !this.#allowLinkLocal && isForbiddenAddress(m.address)
          ? ({ kind: 'tcp_failure', error: 'link-local and metadata addresses are not probed' } as const)
          : await probe(probeTarget(m, config, this.#source!), config, abort.signal)
      verdict = this.#verdict(result)
      if (verdict !== 'success')
        this.#log.debug({ member: m.key, type: config.type, result, verdict }, 'health probe failed')
    } catch (err) {
      verdict = 'tcp_failure'
      this.#log.warn({ err, member: m.key, type: config.type }, 'health probe threw; counted as a TCP failure')
    } finally {
      this.#aborts.delete(abort)
      this.#running--
      this.#busy.delete(m.key)
    }
    const h = this.#state.peek(m.key)
    if (!this.#stopped && verdict !== undefined && h !== undefined) this.#state.active(h, verdict, m.key)
    this.#pump()
  }

  #verdict(r: ProbeResult): Verdict | undefined {
    switch (r.kind) {
      case 'status':
        return statusVerdict(this.#rules!, r.status)
      case 'connected':
        return 'success'
      case 'grpc':
        return r.serving ? 'success' : 'http_failure'
      default:
        return r.kind
    }
  }
}

/**
 * Where and as whom a member is probed, as the proxy sends to it: Host is `host_header`, else the SRV name
 * (`use_srv_name`), else the target's host; the server name is `https_sni`, else that name unless it is an IP.
 */
function probeTarget(m: Member, config: ActiveConfig, source: ProbeSource): ProbeTarget {
  const name = (source.useSrvName && m.srvName) || parseTarget(m.target).host
  const sni = config.https_sni ?? (isIP(name) === 0 ? name : undefined)
  return { address: m.address, port: m.port, host: source.hostHeader ?? hostForHeader(name), servername: sni }
}

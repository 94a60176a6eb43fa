/**
 * One upstream's balancer for one config: its targets expanded into members (an IP target is one member; a name
 * gives one per A/AAAA record with the target's port and weight, or one per SRV record with the record's), an
 * algorithm over them, and the health state it shares with the balancers of earlier and later configs.
 *
 * DNS answers only mark the member list stale; the next use rebuilds it in one step (members, algorithm, caches
 * swapped together), so a request never sees half a list. Members whose address, port, weight and target did not
 * change are the same objects across rebuilds and across configs (passed as `previous`), keeping their in-flight
 * counts and latency averages; requests still out on a dropped member end on its old object harmlessly.
 */
import {
  type AddressHealth,
  type HealthOverride,
  type Logger,
  normalizeHealthAddress,
  type TargetHealth,
  type UpstreamHealth,
} from '@turnpike/shared'
import type { TargetRow, UpstreamRow } from '../runtime/entity-rows.ts'
import { ALGORITHMS, type AlgorithmFactory } from './algorithms/algorithm-factory.ts'
import { hashString } from './algorithms/hash32.ts'
import { hashKey } from './hash-key.ts'
import type { ProbeSource } from './health/active-checker.ts'
import type { MemberHealth } from './health/member-health.ts'
import type { UpstreamHealthState } from './health/upstream-health-state.ts'
import { memberKey, parseTarget } from './target-address.ts'
import type { Algorithm, Balancer, HashInput, Member, NameResolver, Pick, TryOutcome } from './types.ts'

/**
 * What a connection failure feeds the latency algorithm at least (ms): a member refusing connections must not
 * look fast. Peak EWMA takes it at once and lets it fade over tens of seconds.
 */
const TCP_FAILURE_LATENCY_MS = 1000

/** A member as the balancer keeps it: the contract's fields, plus its health record. */
class BalancedMember implements Member {
  readonly key: string
  readonly targetId: string
  readonly target: string
  readonly address: string
  readonly port: number
  readonly weight: number
  readonly srvName: string | undefined
  inFlight = 0
  readonly health: MemberHealth
  /** Everything but the in-flight count: equal identities may share one object. */
  readonly identity: string

  constructor(spec: MemberSpec, health: MemberHealth) {
    this.key = spec.key
    this.targetId = spec.targetId
    this.target = spec.target
    this.address = spec.address
    this.port = spec.port
    this.weight = spec.weight
    this.srvName = spec.srvName
    this.health = health
    this.identity = identityOf(spec)
  }
}

interface MemberSpec {
  key: string
  targetId: string
  target: string
  address: string
  port: number
  weight: number
  srvName: string | undefined
}

function identityOf(s: MemberSpec): string {
  return `${s.key}|${s.weight}|${s.targetId}|${s.target}|${s.srvName ?? ''}`
}

interface TargetEntry {
  readonly row: TargetRow
  readonly host: string
  readonly port: number
  readonly literal: boolean
  /** From the last rebuild: the name failed to resolve and no stale answer is left. */
  dnsError: boolean
  /** From the last rebuild: the keys of the members this target gave. */
  keys: string[]
}

export interface UpstreamBalancerOptions {
  readonly row: UpstreamRow
  /** This upstream's targets. */
  readonly targets: readonly TargetRow[]
  readonly health: UpstreamHealthState
  readonly resolver: NameResolver
  readonly logger: Logger
  /** The balancer of the previous config for this upstream: its unchanged members are taken over. */
  readonly previous?: UpstreamBalancer
  /** Runs after DNS changed the members (not on construction). */
  readonly onMembersChanged?: () => void
}

export class UpstreamBalancer implements Balancer, ProbeSource {
  readonly row: UpstreamRow
  readonly #targets: TargetEntry[]
  readonly #health: UpstreamHealthState
  readonly #resolver: NameResolver
  readonly #log: Logger
  readonly #factory: AlgorithmFactory
  readonly #hashing: boolean
  readonly #onMembersChanged: (() => void) | undefined
  #members: BalancedMember[] = []
  #byKey = new Map<string, BalancedMember>()
  #algorithm: Algorithm
  #dirty = false
  #retired = false
  readonly #unwatch: (() => void)[] = []
  /** Available weight against `healthchecks.threshold`, cached per health version. */
  #totalWeight = 0
  #availableWeight = 0
  #weightVersion = -1
  /** The current pick's earlier tries (pick is synchronous, so one field serves every call). */
  #tried: readonly Member[] | null = null
  readonly #available = (m: Member): boolean => {
    const b = m as BalancedMember
    if (b.weight <= 0) return false
    if (!b.health.healthy && !this.#health.admits(b.health)) return false
    const tried = this.#tried
    if (tried !== null) for (let i = 0; i < tried.length; i++) if (tried[i].key === b.key) return false
    return true
  }

  constructor(o: UpstreamBalancerOptions) {
    this.row = o.row
    this.#health = o.health
    this.#resolver = o.resolver
    this.#log = o.logger
    this.#factory = ALGORITHMS[algorithmOf(o.row)] ?? ALGORITHMS['round-robin']
    this.#hashing = algorithmOf(o.row) === 'consistent-hashing' && o.row.hash_on !== 'none'
    this.#onMembersChanged = o.onMembersChanged
    this.#targets = o.targets.map((row) => {
      const t = parseTarget(row.target)
      return { row, host: t.host, port: t.port, literal: t.literal, dnsError: false, keys: [] }
    })
    // Watch before building (and before the previous balancer lets go), so names already resolved stay cached.
    const names = new Set(this.#targets.filter((t) => !t.literal).map((t) => t.host))
    for (const name of names) this.#unwatch.push(this.#resolver.watch(name, () => this.#invalidate()))
    this.#algorithm = this.#factory([], this.row.slots)
    this.#rebuild(o.previous, true)
  }

  pick(input: HashInput, tried: readonly Member[] | null): Pick | undefined {
    if (this.#dirty) this.#rebuild()
    if (this.#members.length === 0) return undefined
    if (this.row.healthchecks.threshold > 0 && !this.#meetsThreshold()) return undefined
    let hash: number | undefined
    let setCookie: string | undefined
    if (this.#hashing) {
      const key = hashKey(this.row, input)
      if (key !== undefined) {
        hash = hashString(key.value)
        setCookie = key.setCookie
      }
    }
    this.#tried = tried
    const m = this.#algorithm.pick(hash, this.#available) as BalancedMember | undefined
    this.#tried = null
    if (m === undefined) return undefined
    m.inFlight++
    if (!m.health.healthy) this.#health.picked(m.health)
    return { member: m, setCookie }
  }

  done(member: Member, outcome: TryOutcome, latencyMs: number): void {
    if (member.inFlight > 0) member.inFlight--
    const health = (member as Partial<BalancedMember>).health ?? this.#health.peek(member.key)
    if (health !== undefined) this.#health.passive(health, outcome, member.key)
    this.#algorithm.observe?.(
      member,
      outcome.kind === 'tcp_failure' ? Math.max(latencyMs, TCP_FAILURE_LATENCY_MS) : latencyMs,
    )
  }

  /** The current members (the active checker probes these). */
  members(): readonly Member[] {
    if (this.#dirty) this.#rebuild()
    return this.#members
  }

  get hostHeader(): string | null {
    return this.row.host_header
  }

  get useSrvName(): boolean {
    return this.row.use_srv_name
  }

  /** Kong's `/upstreams/{u}/health` view of this upstream on this node. */
  report(): UpstreamHealth {
    if (this.#dirty) this.#rebuild()
    const checked = this.#health.checked
    const addressHealth = (m: BalancedMember): AddressHealth['health'] =>
      !m.health.healthy ? 'UNHEALTHY' : checked ? 'HEALTHY' : 'HEALTHCHECKS_OFF'
    let anyUnhealthy = false
    const targets: TargetHealth[] = this.#targets.map((t) => {
      const addresses: AddressHealth[] = []
      for (const key of t.keys) {
        const m = this.#byKey.get(key)
        if (m === undefined) continue
        const health = addressHealth(m)
        if (health === 'UNHEALTHY') anyUnhealthy = true
        addresses.push({ ip: m.address, port: m.port, health, weight: m.weight })
      }
      return {
        target_id: t.row.id,
        target: t.row.target,
        weight: t.row.weight,
        health: t.dnsError ? 'DNS_ERROR' : targetHealth(addresses, checked),
        addresses,
      }
    })
    this.#refreshWeights()
    const total = this.#totalWeight
    const available = this.#availableWeight
    const healthy = available > 0 && available * 100 >= this.row.healthchecks.threshold * total
    return {
      upstream_id: this.row.id,
      upstream_name: this.row.name,
      health: !checked && !anyUnhealthy ? 'HEALTHCHECKS_OFF' : healthy ? 'HEALTHY' : 'UNHEALTHY',
      weight: { total, available, unavailable: total - available },
      targets,
    }
  }

  /**
   * A manual override for one of this upstream's targets (matched as stored, or by id): all its addresses, or the
   * one given (`ip:port`); false when the target or address is not here.
   */
  override(o: HealthOverride): boolean {
    if (this.#dirty) this.#rebuild()
    const wanted = o.target.toLowerCase()
    const target = this.#targets.find((t) => t.row.target.toLowerCase() === wanted || t.row.id === o.target)
    if (target === undefined) return false
    let address: string | undefined
    if (o.address !== undefined) {
      const r = normalizeHealthAddress(o.address)
      address = r.ok ? r.address : o.address
    }
    const members: BalancedMember[] = []
    for (const key of target.keys) {
      const m = this.#byKey.get(key)
      if (m !== undefined && (address === undefined || address === key)) members.push(m)
    }
    if (o.address !== undefined && members.length === 0) return false
    for (const m of members) this.#health.override(m.health, o.healthy, m.key)
    return true
  }

  /** This balancer's config was replaced: stop following DNS; in-flight requests may still end here. */
  retire(): void {
    if (this.#retired) return
    this.#retired = true
    this.#dirty = false
    for (const unwatch of this.#unwatch.splice(0)) unwatch()
  }

  get retired(): boolean {
    return this.#retired
  }

  /** Whether the available weight meets `healthchecks.threshold`. */
  #meetsThreshold(): boolean {
    this.#refreshWeights()
    return this.#availableWeight * 100 >= this.row.healthchecks.threshold * this.#totalWeight
  }

  /** Recounts the total and available weight when a member's health flipped since the last count. */
  #refreshWeights(): void {
    if (this.#weightVersion === this.#health.version) return
    let total = 0
    let available = 0
    for (const m of this.#members) {
      total += m.weight
      if (m.health.healthy) available += m.weight
    }
    this.#totalWeight = total
    this.#availableWeight = available
    this.#weightVersion = this.#health.version
  }

  #invalidate(): void {
    if (!this.#retired) this.#dirty = true
  }

  /** Re-expands the targets; `previous` (construction only) lends its unchanged members. */
  #rebuild(previous?: UpstreamBalancer, initial = false): void {
    this.#dirty = false
    const specs = new Map<string, MemberSpec>()
    for (const t of this.#targets) {
      t.keys = []
      t.dnsError = false
      if (t.literal) {
        addSpec(specs, t, t.host, t.port, t.row.weight, undefined)
        continue
      }
      const answer = this.#resolver.current(t.host)
      if (answer === undefined) continue
      const records = answer.ok ? answer.records : answer.stale
      if (records === undefined) {
        t.dnsError = true
        continue
      }
      for (const r of records) {
        // SRV records bring their own port and weight (weight 0 counts as 1); a weight-0 target stays drained.
        const srv = r.port !== undefined
        const weight = t.row.weight === 0 ? 0 : srv ? Math.max(1, r.weight ?? 1) : t.row.weight
        addSpec(specs, t, r.address, r.port ?? t.port, weight, r.srvName)
      }
    }
    const lender = previous === undefined ? this.#byKey : previous.#byKey
    const members: BalancedMember[] = []
    const byKey = new Map<string, BalancedMember>()
    let same = !initial && specs.size === this.#members.length
    for (const spec of specs.values()) {
      const health = this.#health.member(spec.key)
      const before = lender.get(spec.key)
      const m =
        before !== undefined && before.health === health && before.identity === identityOf(spec)
          ? before
          : new BalancedMember(spec, health)
      if (this.#byKey.get(spec.key) !== m) same = false
      members.push(m)
      byKey.set(spec.key, m)
    }
    if (same) return
    this.#members = members
    this.#byKey = byKey
    this.#algorithm = this.#factory(members, this.row.slots)
    this.#weightVersion = -1
    this.#health.prune(new Set(byKey.keys()))
    if (!initial) {
      this.#log.info({ upstream: this.row.name, members: members.length }, 'upstream members changed (DNS)')
      this.#onMembersChanged?.()
    }
  }
}

/**
 * Hashing on anything means consistent hashing, as Kong's `hash_on` shorthand makes it; a row that did not come
 * through the Admin API (a declarative file) may carry `hash_on` with the default algorithm still.
 */
function algorithmOf(row: UpstreamRow): UpstreamRow['algorithm'] {
  return row.hash_on !== 'none' && row.hash_on !== '' ? 'consistent-hashing' : row.algorithm
}

function addSpec(
  specs: Map<string, MemberSpec>,
  t: TargetEntry,
  address: string,
  port: number,
  weight: number,
  srvName: string | undefined,
): void {
  const key = memberKey(address, port)
  if (!t.keys.includes(key)) t.keys.push(key)
  const seen = specs.get(key)
  // Two targets (or records) naming one address: one member carrying both weights.
  if (seen !== undefined) seen.weight += weight
  else specs.set(key, { key, targetId: t.row.id, target: t.row.target, address, port, weight, srvName })
}

/**
 * A target's verdict from its addresses: healthy while any address is; HEALTHCHECKS_OFF when nothing is checked
 * and no address was taken out by hand; a name not resolved yet (no address) counts as unhealthy when checked.
 */
function targetHealth(addresses: readonly AddressHealth[], checked: boolean): TargetHealth['health'] {
  const up = addresses.some((a) => a.health !== 'UNHEALTHY')
  if (!checked) return up || addresses.length === 0 ? 'HEALTHCHECKS_OFF' : 'UNHEALTHY'
  return up ? 'HEALTHY' : 'UNHEALTHY'
}

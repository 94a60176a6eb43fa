/**
 * Target-name resolution for the balancer, as Kong's DNS client behaves for it: the hosts file first, then DNS by
 * `dns_order`; a watched name is re-resolved when its TTL runs out, and the last good answer is served (flagged
 * stale) for `dns_stale_ttl` seconds when re-resolving fails.
 *
 * Choices where node's resolver or our watch model differ from Kong's:
 * - TTL 0: Kong looks such a name up per request; a watched name is re-resolved every `ttl0Interval` seconds
 *   instead (default 1), which is also the floor of every retry delay, so `dns_error_ttl = 0` cannot spin.
 * - SRV and CNAME: node reports no TTL for either, so such an answer lives for the shortest TTL of the address
 *   records it led to, at most `MAX_UNKNOWN_TTL` seconds (`dns_valid_ttl`, when set, replaces it as any TTL).
 * - `dns_no_sync` is accepted and has no effect: one name has at most one query in flight, always (Kong's `off`).
 * - NXDOMAIN after a good answer is a failure like any other: the stale answer is kept, retried at
 *   `dns_not_found_ttl`.
 */
import { Resolver } from 'node:dns/promises'
import { isIP } from 'node:net'
import type { DnsOrderType, Logger, Settings } from '@turnpike/shared'
import type { DnsAnswer, NameResolver, ResolvedRecord } from '../types.ts'
import { readHostsFile } from './hosts-file.ts'

export type DnsSettings = Pick<
  Settings,
  | 'dns_resolver'
  | 'dns_hostsfile'
  | 'dns_order'
  | 'dns_valid_ttl'
  | 'dns_stale_ttl'
  | 'dns_not_found_ttl'
  | 'dns_error_ttl'
  | 'dns_no_sync'
>

/** Knobs kong.conf has no name for; the defaults suit production, tests shorten them. */
export interface NameResolverTuning {
  /** Seconds between re-resolutions of a TTL-0 answer, and the shortest delay before any re-resolution (1). */
  readonly ttl0Interval?: number
  /** Milliseconds one query attempt waits for a server (2000, Kong's resolver timeout). */
  readonly queryTimeout?: number
  /** Attempts per query and server (2). */
  readonly tries?: number
}

export interface DnsNameResolver extends NameResolver {
  /** Stops every timer and cancels queries in flight; watchers hear nothing more. */
  close(): void
}

/** Seconds an SRV or CNAME answer lives at most, its own TTL being unknown (see the module comment). */
export const MAX_UNKNOWN_TTL = 30

type QueryType = Exclude<DnsOrderType, 'LAST'>
type AddressType = 'A' | 'AAAA'

type Lookup =
  | {
      readonly kind: 'ok'
      readonly records: ResolvedRecord[]
      /** Seconds; Infinity for literals and hosts-file names, which are never re-resolved. */
      readonly ttl: number
      /** The type that answered, remembered for `LAST`; undefined when no DNS query answered. */
      readonly type: QueryType | undefined
    }
  | {
      readonly kind: 'not_found' | 'error'
      readonly error: string
      /** No server could be reached: other record types would fail the same way, so they are not tried. */
      readonly unreachable: boolean
    }

type Failure = Extract<Lookup, { kind: 'not_found' | 'error' }>

interface Watcher {
  readonly listener: (answer: DnsAnswer) => void
  /** Key of the answer this watcher was last given, so each hears every change exactly once. */
  seen: string | undefined
}

interface Entry {
  readonly name: string
  readonly watchers: Set<Watcher>
  answer: DnsAnswer | undefined
  key: string | undefined
  /** The last good records and the time (ms) until which they may still be served after failures. */
  good: readonly ResolvedRecord[] | undefined
  staleUntil: number
  last: QueryType | undefined
  timer: NodeJS.Timeout | undefined
  resolving: boolean
  /** What the last failure warning said, so an outage is logged when it starts or changes, not on every retry. */
  warned: string | undefined
}

const NOT_FOUND_CODES = new Set(['ENOTFOUND', 'ENODATA'])
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ETIMEOUT', 'ECANCELLED', 'EDESTRUCTION'])
/** setTimeout's largest delay; a longer TTL just re-resolves early. */
const MAX_TIMER_MS = 2 ** 31 - 1

export function createNameResolver(
  settings: DnsSettings,
  logger: Logger,
  tuning: NameResolverTuning = {},
): DnsNameResolver {
  const log = logger.child({ component: 'dns' })
  const ttl0Interval = tuning.ttl0Interval ?? 1
  const resolver = new Resolver({ timeout: tuning.queryTimeout ?? 2000, tries: tuning.tries ?? 2 })
  if (settings.dns_resolver.length > 0) resolver.setServers(settings.dns_resolver)
  const hosts = readHostsFile(settings.dns_hostsfile)
  if (hosts.error !== undefined)
    log.warn({ path: settings.dns_hostsfile, error: hosts.error }, 'hosts file not read; names resolve by DNS only')
  if (settings.dns_no_sync) log.info('dns_no_sync has no effect: queries for one name are always coalesced')

  const order = settings.dns_order
  const addressTypes = addressTypesOf(order)
  const entries = new Map<string, Entry>()
  let closed = false

  function fromHosts(name: string): Lookup | undefined {
    const entry = hosts.entries.get(name)
    if (!entry) return undefined
    for (const type of addressTypes) {
      const list = type === 'A' ? entry.ipv4 : entry.ipv6
      if (list.length > 0) return { kind: 'ok', records: list.map(plainRecord), ttl: Infinity, type: undefined }
    }
    return undefined
  }

  async function queryAddresses(name: string, type: AddressType): Promise<Lookup> {
    try {
      const found =
        type === 'A' ? await resolver.resolve4(name, { ttl: true }) : await resolver.resolve6(name, { ttl: true })
      if (found.length === 0) return { kind: 'not_found', error: `${type}: no records`, unreachable: false }
      return {
        kind: 'ok',
        records: found.map((r) => plainRecord(r.address)),
        ttl: Math.min(...found.map((r) => r.ttl)),
        type,
      }
    } catch (err) {
      return failure(type, err)
    }
  }

  /** A name's addresses only (SRV and CNAME targets): literal, hosts file, then A/AAAA as `dns_order` has them. */
  async function resolveAddresses(name: string): Promise<Lookup> {
    const local = literalOrHosts(name)
    if (local) return local
    const failures: Failure[] = []
    for (const type of addressTypes) {
      const r = await queryAddresses(name, type)
      if (r.kind === 'ok') return r
      failures.push(r)
      if (r.unreachable) break
    }
    return combine(name, failures)
  }

  async function querySrv(name: string): Promise<Lookup> {
    let found: { name: string; port: number; priority: number; weight: number }[]
    try {
      found = await resolver.resolveSrv(name)
    } catch (err) {
      return failure('SRV', err)
    }
    // A target of "." says the service is not offered at this name (RFC 2782).
    const usable = found.filter((r) => r.name !== '' && r.name !== '.')
    if (usable.length === 0) return { kind: 'not_found', error: 'SRV: no usable records', unreachable: false }
    const lowest = Math.min(...usable.map((r) => r.priority))
    const group = usable.filter((r) => r.priority === lowest)
    const targets = [...new Set(group.map((r) => normalizeName(r.name)))]
    const resolved = new Map(await Promise.all(targets.map(async (t) => [t, await resolveAddresses(t)] as const)))
    const records: ResolvedRecord[] = []
    const failures: Failure[] = []
    let ttl = MAX_UNKNOWN_TTL
    for (const target of targets) {
      const r = resolved.get(target)!
      if (r.kind !== 'ok') failures.push(r)
      else ttl = Math.min(ttl, r.ttl)
    }
    for (const srv of group) {
      const r = resolved.get(normalizeName(srv.name))!
      if (r.kind !== 'ok') continue
      // Kong counts an SRV weight of 0 as 1, so such a record still takes (a little) traffic.
      for (const { address } of r.records)
        records.push({ address, port: srv.port, weight: Math.max(srv.weight, 1), srvName: srv.name })
    }
    if (failures.length > 0)
      log.debug({ name, errors: failures.map((f) => f.error) }, 'some SRV targets did not resolve')
    if (records.length === 0) {
      const why = combine(name, failures)
      return { kind: 'error', error: `SRV targets did not resolve (${why.error})`, unreachable: why.unreachable }
    }
    return { kind: 'ok', records, ttl, type: 'SRV' }
  }

  async function queryCname(name: string): Promise<Lookup> {
    let targets: string[]
    try {
      targets = await resolver.resolveCname(name)
    } catch (err) {
      return failure('CNAME', err)
    }
    const target = targets[0]
    if (target === undefined) return { kind: 'not_found', error: 'CNAME: no record', unreachable: false }
    const r = await resolveAddresses(normalizeName(target))
    return r.kind === 'ok'
      ? { ...r, ttl: Math.min(r.ttl, MAX_UNKNOWN_TTL), type: 'CNAME' }
      : { ...r, error: `CNAME ${target}: ${r.error}` }
  }

  function query(name: string, type: QueryType): Promise<Lookup> {
    if (type === 'SRV') return querySrv(name)
    if (type === 'CNAME') return queryCname(name)
    return queryAddresses(name, type)
  }

  function literalOrHosts(name: string): Lookup | undefined {
    if (isIP(name) !== 0) return { kind: 'ok', records: [plainRecord(name)], ttl: Infinity, type: undefined }
    return fromHosts(name)
  }

  async function lookupName(name: string, last: QueryType | undefined): Promise<Lookup> {
    const local = literalOrHosts(name)
    if (local) return local
    const failures: Failure[] = []
    for (const type of queryOrder(order, last)) {
      const r = await query(name, type)
      if (r.kind === 'ok') return r
      failures.push(r)
      if (r.unreachable) break
    }
    return combine(name, failures)
  }

  async function refresh(entry: Entry): Promise<void> {
    if (entry.resolving) return
    entry.resolving = true
    let outcome: Lookup
    try {
      outcome = await lookupName(entry.name, entry.last)
    } catch (err) {
      outcome = { kind: 'error', error: (err as Error).message, unreachable: false }
    } finally {
      entry.resolving = false
    }
    // Unwatched (or closed) while the query ran: the answer has nobody to go to.
    if (entries.get(entry.name) !== entry) return
    settle(entry, outcome)
  }

  function settle(entry: Entry, outcome: Lookup): void {
    const now = Date.now()
    let answer: DnsAnswer
    let delay: number
    if (outcome.kind === 'ok') {
      const ttl = outcome.ttl === Infinity ? Infinity : (settings.dns_valid_ttl ?? outcome.ttl)
      if (outcome.type !== undefined) entry.last = outcome.type
      if (entry.warned !== undefined) log.info({ name: entry.name }, 'DNS resolution recovered')
      entry.warned = undefined
      const records = sortRecords(outcome.records)
      entry.good = records
      entry.staleUntil = now + (ttl + settings.dns_stale_ttl) * 1000
      answer = { ok: true, records }
      delay = ttl === 0 ? ttl0Interval : ttl
    } else {
      const stale = entry.good !== undefined && now < entry.staleUntil ? entry.good : undefined
      if (stale === undefined) entry.good = undefined
      answer = { ok: false, error: outcome.error, stale }
      delay = outcome.kind === 'not_found' ? settings.dns_not_found_ttl : settings.dns_error_ttl
      warnFailure(entry, outcome.error, stale, now)
    }
    entry.answer = answer
    const key = answerKey(answer)
    if (key !== entry.key) {
      entry.key = key
      for (const w of [...entry.watchers]) deliver(entry, w)
    }
    schedule(entry, delay)
  }

  function warnFailure(entry: Entry, error: string, stale: readonly ResolvedRecord[] | undefined, now: number): void {
    const state = `${stale ? 'stale' : 'none'}|${error}`
    if (entry.warned === state) {
      log.debug({ name: entry.name, error }, 'DNS resolution still failing')
      return
    }
    const lost = entry.warned?.startsWith('stale|') === true && !stale
    entry.warned = state
    if (stale)
      log.warn(
        { name: entry.name, error, staleForSeconds: Math.round((entry.staleUntil - now) / 1000) },
        'DNS resolution failed; serving the last good answer (stale)',
      )
    else if (lost) log.warn({ name: entry.name, error }, 'DNS resolution failed; the stale answer expired')
    else log.warn({ name: entry.name, error }, 'DNS resolution failed; no answer')
  }

  function schedule(entry: Entry, seconds: number): void {
    if (seconds === Infinity || closed) return
    const ms = Math.min(Math.max(seconds, ttl0Interval) * 1000, MAX_TIMER_MS)
    entry.timer = setTimeout(() => {
      entry.timer = undefined
      void refresh(entry)
    }, ms)
    // A watched name must not keep the process alive.
    entry.timer.unref()
  }

  function deliver(entry: Entry, w: Watcher): void {
    if (!entry.watchers.has(w) || entry.answer === undefined || w.seen === entry.key) return
    w.seen = entry.key
    try {
      w.listener(entry.answer)
    } catch (err) {
      log.error({ err, name: entry.name }, 'DNS answer listener threw')
    }
  }

  function drop(entry: Entry): void {
    if (entry.timer) clearTimeout(entry.timer)
    entry.timer = undefined
    if (entries.get(entry.name) === entry) entries.delete(entry.name)
  }

  return {
    current(name) {
      return entries.get(normalizeName(name))?.answer
    },

    watch(name, listener) {
      if (closed) return () => {}
      const key = normalizeName(name)
      let entry = entries.get(key)
      if (!entry) {
        entry = {
          name: key,
          watchers: new Set(),
          answer: undefined,
          key: undefined,
          good: undefined,
          staleUntil: 0,
          last: undefined,
          timer: undefined,
          resolving: false,
          warned: undefined,
        }
        entries.set(key, entry)
        void refresh(entry)
      }
      const watcher: Watcher = { listener, seen: undefined }
      entry.watchers.add(watcher)
      // A late joiner hears the answer already there, but not from inside watch().
      const joined = entry
      if (joined.answer !== undefined) queueMicrotask(() => deliver(joined, watcher))
      return () => {
        if (joined.watchers.delete(watcher) && joined.watchers.size === 0) drop(joined)
      }
    },

    close() {
      closed = true
      for (const entry of [...entries.values()]) drop(entry)
      resolver.cancel()
    },
  }
}

function plainRecord(address: string): ResolvedRecord {
  return { address, port: undefined, weight: undefined, srvName: undefined }
}

/** DNS names are case-insensitive and may end in the root dot; IPv6 literals may come bracketed. */
function normalizeName(name: string): string {
  const n = name.trim().toLowerCase()
  if (n.startsWith('[') && n.endsWith(']')) return n.slice(1, -1)
  return n.endsWith('.') ? n.slice(0, -1) : n
}

/** The address types a name (or SRV/CNAME target) is looked up by: `dns_order`'s, CNAME meaning both. */
function addressTypesOf(order: readonly DnsOrderType[]): AddressType[] {
  const types = new Set<AddressType>()
  for (const t of order) {
    if (t === 'A' || t === 'CNAME') types.add('A')
    if (t === 'AAAA' || t === 'CNAME') types.add('AAAA')
  }
  return types.size > 0 ? [...types] : ['A', 'AAAA']
}

/** `dns_order` with `LAST` replaced by the type that answered last time, each type once. */
function queryOrder(order: readonly DnsOrderType[], last: QueryType | undefined): QueryType[] {
  const out: QueryType[] = []
  for (const t of order) {
    const type = t === 'LAST' ? last : t
    if (type !== undefined && !out.includes(type)) out.push(type)
  }
  return out
}

function failure(type: QueryType, err: unknown): Failure {
  const code = (err as NodeJS.ErrnoException).code ?? ''
  return {
    kind: NOT_FOUND_CODES.has(code) ? 'not_found' : 'error',
    error: `${type}: ${code || (err as Error).message}`,
    unreachable: UNREACHABLE_CODES.has(code),
  }
}

/** Every type failed: not found only when each said so; any other error makes it an error (retried sooner). */
function combine(name: string, failures: readonly Failure[]): Failure {
  const allNotFound = failures.every((f) => f.kind === 'not_found')
  return {
    kind: allNotFound ? 'not_found' : 'error',
    error: `could not resolve '${name}' (${failures.map((f) => f.error).join(', ') || 'no record type to try'})`,
    unreachable: failures.some((f) => f.unreachable),
  }
}

function sortRecords(records: readonly ResolvedRecord[]): ResolvedRecord[] {
  const seen = new Set<string>()
  const out: ResolvedRecord[] = []
  for (const r of records) {
    const k = recordKey(r)
    if (seen.has(k)) continue
    seen.add(k)
    out.push(r)
  }
  return out.sort((a, b) => (recordKey(a) < recordKey(b) ? -1 : recordKey(a) > recordKey(b) ? 1 : 0))
}

function recordKey(r: ResolvedRecord): string {
  return `${r.address}|${r.port ?? ''}|${r.weight ?? ''}|${r.srvName ?? ''}`
}

/** What listeners compare: good, stale or none, and the records, already sorted (error text changes are quiet). */
function answerKey(answer: DnsAnswer): string {
  const records = answer.ok ? answer.records : answer.stale
  const state = answer.ok ? 'ok' : answer.stale ? 'stale' : 'none'
  return `${state}:${(records ?? []).map(recordKey).join(',')}`
}

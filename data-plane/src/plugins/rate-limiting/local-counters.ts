/**
 * Counters for the `local` policy, per (route, identifier) and period: one table in a SharedArrayBuffer that every
 * proxy worker of the node updates, so a limit holds per node, as Kong's shared dictionary does. Counters survive
 * config changes. Fixed windows count requests since the window started; sliding windows also keep the previous
 * window's count and weigh it by how much of it still overlaps the last period.
 *
 * The table is bounded: open addressing over `slots` slots, keys stored as two 32-bit hashes (two keys collide with
 * probability 2^-64; among 65,536 live keys, about 10^-10). A slot whose windows have all ended is free again; when
 * a key's probe run (8 slots) has no free slot, the slot whose windows end soonest is taken over and counted in
 * `localCounterEvictions()`. Each slot has a spin lock (Atomics.compareExchange): rolling a window forward and
 * counting happen under it, so two workers counting the same key at the same instant both count, and a rollover
 * never loses or doubles a count. The lock is held for a few dozen instructions, never across an await.
 */
import type { RateLimitPeriod } from '@turnpike/shared'
import { hashString } from '../../balancer/algorithms/hash32.ts'
import { PERIOD_SECONDS, windowStart } from './windows.ts'

const PERIOD_INDEX: Record<RateLimitPeriod, number> = { second: 0, minute: 1, hour: 2, day: 3, month: 4, year: 5 }
const PERIODS = 6
/** Int32 fields per slot: lock, key hash 1, key hash 2 (both 0: never used), padding. */
const INTS = 4
/** Float64 fields per slot: the latest window end (for reuse), then start, count, previous count per period. */
const FLOATS = 1 + 3 * PERIODS
const SLOT_BYTES = INTS * 4 + FLOATS * 8
const PROBES = 8
/**
 * 65,536 keys: 11 MiB of address space, close to Kong's 12m `kong_rate_limiting_counters` dictionary; the pages
 * are only resident once keys land on them.
 */
export const DEFAULT_COUNTER_SLOTS = 65_536

class CounterTable {
  readonly buffer: SharedArrayBuffer
  readonly #ints: Int32Array
  readonly #floats: Float64Array
  readonly #mask: number
  readonly #evictions: Int32Array

  constructor(buffer: SharedArrayBuffer) {
    const slots = slotsIn(buffer)
    this.buffer = buffer
    this.#mask = slots - 1
    this.#ints = new Int32Array(buffer, 0, slots * INTS)
    this.#floats = new Float64Array(buffer, slots * INTS * 4, slots * FLOATS)
    // The eviction counter is the last Int32 of the buffer (after the floats).
    this.#evictions = new Int32Array(buffer, slots * SLOT_BYTES, 1)
  }

  get evictions(): number {
    return Atomics.load(this.#evictions, 0)
  }

  /** The key's slot, or -1 when it has none (`claim` false) — with `claim`, one is taken for it. */
  slot(key: string, now: number, claim: boolean): number {
    const h1 = hashString(key, 0x9747b28c) | 0
    // Never both 0: that marks a slot no key ever used.
    const h2 = hashString(key, 0x5bd1e995) | 1
    const ints = this.#ints
    const start = h1 & this.#mask
    for (let i = 0; i < PROBES; i++) {
      const s = (start + i) & this.#mask
      if (ints[s * INTS + 1] === h1 && ints[s * INTS + 2] === h2 && this.#floats[s * FLOATS] > now) return s
    }
    if (!claim) return -1
    // No live slot for the key: take a free one in its run, else the one whose windows end soonest.
    let victim = start
    let soonest = Number.POSITIVE_INFINITY
    for (let i = 0; i < PROBES; i++) {
      const s = (start + i) & this.#mask
      this.#lock(s)
      const ends = this.#floats[s * FLOATS]
      if (ints[s * INTS + 1] === h1 && ints[s * INTS + 2] === h2 && ends > now) {
        // Another worker claimed it meanwhile.
        this.#unlock(s)
        return s
      }
      if (ends <= now) {
        this.#reset(s, h1, h2, now)
        this.#unlock(s)
        return s
      }
      this.#unlock(s)
      if (ends < soonest) {
        soonest = ends
        victim = s
      }
    }
    this.#lock(victim)
    this.#reset(victim, h1, h2, now)
    this.#unlock(victim)
    Atomics.add(this.#evictions, 0, 1)
    return victim
  }

  /** Requests counted in the slot's current window (sliding: plus the previous window's share). */
  usage(s: number, period: RateLimitPeriod, sliding: boolean, now: number): number {
    this.#lock(s)
    const at = this.#roll(s, period, now)
    const f = this.#floats
    let used = f[at + 1]
    if (sliding) used += f[at + 2] * (1 - (now - f[at]) / (PERIOD_SECONDS[period] * 1000))
    this.#unlock(s)
    return used
  }

  /** Counts one request in each listed period of the slot. */
  increment(s: number, periods: readonly RateLimitPeriod[], now: number): void {
    this.#lock(s)
    const f = this.#floats
    for (const period of periods) {
      const at = this.#roll(s, period, now)
      f[at + 1]++
      // Sliding windows still need this window's count during the next one.
      const end = f[at] + 2 * PERIOD_SECONDS[period] * 1000
      if (end > f[s * FLOATS]) f[s * FLOATS] = end
    }
    this.#unlock(s)
  }

  clear(): void {
    this.#ints.fill(0)
    this.#floats.fill(0)
    Atomics.store(this.#evictions, 0, 0)
  }

  /** Rolls the period's window forward to `now` (under the lock); returns the index of its start field. */
  #roll(s: number, period: RateLimitPeriod, now: number): number {
    const f = this.#floats
    const at = s * FLOATS + 1 + PERIOD_INDEX[period] * 3
    const start = windowStart(period, now)
    if (f[at] !== start) {
      const length = PERIOD_SECONDS[period] * 1000
      f[at + 2] = f[at] === start - length ? f[at + 1] : 0
      f[at + 1] = 0
      f[at] = start
    }
    return at
  }

  /** Gives the slot to a key; it stays live for a second until the count that follows sets its real end. */
  #reset(s: number, h1: number, h2: number, now: number): void {
    this.#ints[s * INTS + 1] = h1
    this.#ints[s * INTS + 2] = h2
    this.#floats.fill(0, s * FLOATS, (s + 1) * FLOATS)
    this.#floats[s * FLOATS] = now + 1000
  }

  #lock(s: number): void {
    while (Atomics.compareExchange(this.#ints, s * INTS, 0, 1) !== 0);
  }

  #unlock(s: number): void {
    Atomics.store(this.#ints, s * INTS, 0)
  }
}

function slotsIn(buffer: SharedArrayBuffer): number {
  const slots = (buffer.byteLength - 4) / SLOT_BYTES
  if (!Number.isInteger(slots) || slots < PROBES || (slots & (slots - 1)) !== 0)
    throw new Error('not a local rate-limiting counter table')
  return slots
}

/** A table for `slots` keys (rounded up to a power of two, at least 8), to share between the node's workers. */
export function createLocalCountersBuffer(slots = DEFAULT_COUNTER_SLOTS): SharedArrayBuffer {
  let n = PROBES
  while (n < slots) n *= 2
  return new SharedArrayBuffer(n * SLOT_BYTES + 4)
}

let table: CounterTable | undefined
const current = () => {
  table ??= new CounterTable(createLocalCountersBuffer())
  return table
}

/** The table this thread counts in: the node's main thread creates it and hands it to each worker. */
export function localCountersBuffer(): SharedArrayBuffer {
  return current().buffer
}

/** A worker thread counts in the node's table from now on. */
export function attachLocalCounters(buffer: SharedArrayBuffer): void {
  table = new CounterTable(buffer)
}

/** Requests counted in the current window (sliding: plus the previous window's share). */
export function localUsage(key: string, period: RateLimitPeriod, sliding: boolean, now: number): number {
  const t = current()
  const s = t.slot(key, now, false)
  return s < 0 ? 0 : t.usage(s, period, sliding, now)
}

/** Counts one request in each listed period. */
export function localIncrement(key: string, periods: readonly RateLimitPeriod[], now: number): void {
  const t = current()
  t.increment(t.slot(key, now, true), periods, now)
}

/** Keys pushed out of a full table since it was made. */
export function localCounterEvictions(): number {
  return current().evictions
}

/** Forgets every counter (tests). */
export function clearLocalCounters(): void {
  current().clear()
}

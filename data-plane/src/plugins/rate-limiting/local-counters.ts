/**
 * In-memory counters for the `local` policy, per (route, identifier) and period, surviving config changes as
 * Kong's shared-dict counters do. Fixed windows count requests since the window started; sliding windows also keep
 * the previous window's count and weigh it by how much of it still overlaps the last period.
 */
import type { RateLimitPeriod } from '@turnpike/shared'
import { PERIOD_SECONDS, windowStart } from './windows.ts'

const PERIOD_INDEX: Record<RateLimitPeriod, number> = { second: 0, minute: 1, hour: 2, day: 3, month: 4, year: 5 }
const SWEEP_MS = 60_000

class Counters {
  readonly start = new Float64Array(6)
  readonly count = new Float64Array(6)
  readonly prev = new Float64Array(6)
  /** Latest time any window of this set ends (for sweeping). */
  expires = 0
}

const store = new Map<string, Counters>()
let sweeper: NodeJS.Timeout | undefined

function sweep(): void {
  const now = Date.now()
  for (const [k, c] of store) if (c.expires <= now) store.delete(k)
  if (store.size === 0) {
    clearInterval(sweeper)
    sweeper = undefined
  }
}

function countersFor(key: string): Counters {
  let c = store.get(key)
  if (c === undefined) {
    c = new Counters()
    store.set(key, c)
    if (sweeper === undefined) {
      sweeper = setInterval(sweep, SWEEP_MS)
      sweeper.unref()
    }
  }
  return c
}

/** Rolls a period's window forward to `now`; the count of the window just before is kept for sliding. */
function roll(c: Counters, i: number, period: RateLimitPeriod, now: number): number {
  const start = windowStart(period, now)
  if (c.start[i] !== start) {
    const length = PERIOD_SECONDS[period] * 1000
    c.prev[i] = c.start[i] === start - length ? c.count[i] : 0
    c.count[i] = 0
    c.start[i] = start
  }
  return start
}

/** Requests counted in the current window (sliding: plus the previous window's share). */
export function localUsage(key: string, period: RateLimitPeriod, sliding: boolean, now: number): number {
  const c = store.get(key)
  if (c === undefined) return 0
  const i = PERIOD_INDEX[period]
  const start = roll(c, i, period, now)
  if (!sliding) return c.count[i]
  const length = PERIOD_SECONDS[period] * 1000
  return c.count[i] + c.prev[i] * (1 - (now - start) / length)
}

/** Counts one request in each listed period. */
export function localIncrement(key: string, periods: readonly RateLimitPeriod[], now: number): void {
  const c = countersFor(key)
  for (const period of periods) {
    const i = PERIOD_INDEX[period]
    const start = roll(c, i, period, now)
    c.count[i]++
    // Sliding windows still need this window's count during the next one.
    const end = start + 2 * PERIOD_SECONDS[period] * 1000
    if (end > c.expires) c.expires = end
  }
}

/** Forgets every counter (tests). */
export function clearLocalCounters(): void {
  store.clear()
}

// TEMPORARY (replaced by the shared-memory table being written): per-thread counters until then.
let buffer: SharedArrayBuffer | undefined
export function localCountersBuffer(): SharedArrayBuffer {
  buffer ??= new SharedArrayBuffer(8)
  return buffer
}
export function attachLocalCounters(shared: SharedArrayBuffer): void {
  buffer = shared
}
